import './builtins.js';
export { inspectEnvironment, collectFindings, loaderFindings, NETWORK_CHANNELS, type EnvironmentReport, type InspectOptions } from './inspect.js';
export { lockdown, activeLockdown, type Lockdown, type LockdownOptions, type OnTamper } from './lockdown.js';
export {
  FINDING_IDS,
  SEVERITIES,
  KNOWN_HOOKERS,
  severityRank,
  isBlocking,
  type FindingId,
  type RuntimeFinding,
  type Severity,
  type AllowList,
  type AllowEntry,
} from './findings.js';
export { CHANNELS_RUNTIME } from './channels.js';
