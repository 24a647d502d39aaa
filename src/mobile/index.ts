/** Public API of the mobile generators (re-exported from the package root). */
export { generateAndroid, checkNetworkSecurityConfig, parseNetworkSecurityConfig, evaluateAndroid, type AndroidOptions } from './android.js';
export { generateIos, generateAtsDictionary, evaluateAts } from './ios.js';
export { generateTrustKit, generateRnPinningJson, generateTrustKitDictionary, type RnDomainOptions } from './trustkit.js';
export { generateTarget, type GenerateOptions, type MobileGeneration } from './generate.js';
export { checkEquivalence, hostMatrix, expectedRules, type EquivalenceReport, type Difference, type HostRules } from './equivalence.js';
export { checkDrift, type DriftReport } from './drift.js';
export { lintMobilePolicy } from './lint.js';
export type { GenerateResult, GenerateWarning, GeneratedFile, MobileTarget, Aspect, WarningScope } from './model.js';
