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
export type { EnvironmentReport, InspectOptions, Lockdown, LockdownOptions, OnTamper, FindingId, RuntimeFinding, Severity, AllowList, AllowEntry } from './runtime/index.js';
export { FINDING_IDS, SEVERITIES, KNOWN_HOOKERS } from './runtime/findings.js';
export { CHANNELS_RUNTIME } from './runtime/channels.js';
// The runtime checks are loaded at their first call (runtime/deferred.ts): an app that only uses
// createAgent or createFetch does not compile them at start. The baseline they compare against is
// still taken when wirelock loads.
import './runtime/builtins.js';
import { loadedRuntime, loadRuntime, type Runtime } from './runtime/deferred.js';

/** Findings about the process: hooks, preloads, inspectors, injected CAs, proxies (see docs/runtime.md). */
export async function inspectEnvironment(...args: Parameters<Runtime['inspectEnvironment']>): ReturnType<Runtime['inspectEnvironment']> {
  return loadRuntime().inspectEnvironment(...args);
}

/** Inspects the process, then guards every network path of it by the policy (see docs/runtime.md). */
export function lockdown(...args: Parameters<Runtime['lockdown']>): ReturnType<Runtime['lockdown']> {
  return loadRuntime().lockdown(...args);
}

/** The lockdown in force in this process (from `lockdown()` or `wirelock/register`), if any. */
export function activeLockdown(): ReturnType<Runtime['activeLockdown']> {
  // Not loaded means never called: no lockdown exists, and none is compiled just to say so.
  return loadedRuntime()?.activeLockdown();
}
// Mobile generators and the supply-chain audit are separate entry points (`wirelock/mobile`,
// `wirelock/audit`), so an app that only enforces a policy never loads them or their dependencies.
