export { WirelockError, isWirelockError, ERROR_CODES, type ErrorCode, type WirelockErrorDetails } from './errors.js';
export { VERSION } from './version.js';
export { certificatePin, spkiPin } from './x509/certificate.js';
export type * from './policy/types.js';
export { definePolicy, loadPolicy, loadPolicySync, lintPolicyDocument, isPolicy } from './policy/define.js';
export { findDomainPolicy, normalizeHost } from './policy/match.js';
export { createFetch, type WirelockFetch } from './transport/fetch.js';
export { createAgent, createHttpAgent } from './transport/agent.js';
export { createDispatcher } from './transport/dispatcher.js';
export { axiosConfig, gotOptions, superagentPlugin, http2Connector, type AxiosWirelockConfig, type GotWirelockOptions } from './transport/clients.js';
export type { TransportOptions } from './transport/engine.js';
export { CHANNELS, type ViolationReport, type ReportKind } from './transport/report.js';
export { CtVerifier, type CtChainInput, type CtCheckOptions, type CtEvaluation } from './ct/verifier.js';
export { parseLogList, verifyLogListSignature, type LogList, type CtLog } from './ct/loglist.js';
export { readLogListFiles } from './ct/enforce.js';
export type { SctStatus, SctVerdict } from './ct/policy.js';
export { inspectEnvironment, lockdown, activeLockdown, FINDING_IDS, SEVERITIES, KNOWN_HOOKERS, CHANNELS_RUNTIME, type EnvironmentReport, type InspectOptions, type Lockdown, type LockdownOptions, type OnTamper, type FindingId, type RuntimeFinding, type Severity, type AllowList, type AllowEntry } from './runtime/index.js';
// Mobile generators and the supply-chain audit are separate entry points (`wirelock/mobile`,
// `wirelock/audit`), so an app that only enforces a policy never loads them or their dependencies.
