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
// The runtime checks are compiled at their first call (runtime/deferred.ts): an app that only uses
// createAgent or createFetch does not compile them at start. What they compare the process with
// (the baseline) is still taken here, when wirelock loads.
import './runtime/builtins.js';
import { loadedRuntime, loadRuntime } from './runtime/deferred.js';
import type { EnvironmentReport, InspectOptions, Lockdown, LockdownOptions } from './runtime/index.js';
import type { Policy } from './policy/types.js';

/**
 * A report of everything in this process that can read or redirect network traffic before
 * wirelock (or any TLS client) sees it: preloads, loader hooks, hooked APIs, CA and proxy
 * settings, the inspector, key logging, injected libraries and tracers.
 */
export async function inspectEnvironment(options: InspectOptions = {}): Promise<EnvironmentReport> {
  return loadRuntime().inspectEnvironment(options);
}

/**
 * Routes the whole process through the policy and watches its integrity (docs/runtime.md):
 * `tls.connect`, `net.Socket#connect`, `http.Agent#createConnection` and fetch's global dispatcher
 * run the policy; each new connection first compares a few cheap signals, and a change triggers
 * the full inspection (under `onTamper: "block"`, a finding at or above `blockAt` fails it with
 * ERR_ENV_COMPROMISED).
 */
export function lockdown(policy: Policy | unknown, options: LockdownOptions = {}): Lockdown {
  return loadRuntime().lockdown(policy, options);
}

/** The lockdown in force in this process (from `lockdown()` or `wirelock/register`), if any. */
export function activeLockdown(): Lockdown | undefined {
  // Not loaded means never called: no lockdown exists, and none is compiled just to say so.
  return loadedRuntime()?.activeLockdown();
}
// Mobile generators and the supply-chain audit are separate entry points (`wirelock/mobile`,
// `wirelock/audit`), so an app that only enforces a policy never loads them or their dependencies.
