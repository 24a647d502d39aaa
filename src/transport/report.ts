import type { ErrorCode } from '../errors.js';
import { toPem } from '../x509/certificate.js';
import type { Mode, Policy } from '../policy/types.js';
import { VERSION } from '../version.js';

// Taken at load: a replaced process.emitWarning must not be what hears about a blocked connection.
const emitWarning = process.emitWarning;
const NODE_VERSION = process.version;

const diagnosticsChannel = process.getBuiltinModule('node:diagnostics_channel');

/**
 * What wirelock reports about a connection. The kebab-case keys are TrustKit's report format, so a
 * TrustKit report collector accepts these as they are; the rest is wirelock's superset.
 */
export type ReportKind = 'violation' | 'pins-expired' | 'ct-list-stale' | 'runtime-finding';

export interface ViolationReport {
  kind: ReportKind;
  code: ErrorCode | 'PINS_EXPIRED' | 'CT_LIST_STALE';
  message: string;
  /** True when the connection was blocked; false in report-only mode and for notices. */
  blocked: boolean;
  mode: Mode;
  hostname: string;
  port: number;
  'noted-hostname': string | null;
  'include-subdomains': boolean;
  'enforce-pinning': boolean;
  'validated-certificate-chain': string[];
  'served-certificate-chain': string[];
  'known-pins': string[];
  'validation-result': string;
  'date-time': string;
  'wirelock-version': string;
  'app-platform': string;
  /** From the policy's `report.app`: which app and release saw this (TrustKit's field names). */
  'app-bundle-id'?: string;
  'app-version'?: string;
  details?: Record<string, unknown>;
}

export interface ReportInput {
  kind: ReportKind;
  code: ViolationReport['code'];
  message: string;
  blocked: boolean;
  mode: Mode;
  host: string;
  port: number;
  domain: { name: string; includeSubdomains: boolean } | undefined;
  pins: string[];
  served: Uint8Array[];
  verified: Uint8Array[];
  now: Date;
  details?: Record<string, unknown>;
}

export function buildReport(input: ReportInput): ViolationReport {
  return {
    kind: input.kind,
    code: input.code,
    message: input.message,
    blocked: input.blocked,
    mode: input.mode,
    hostname: input.host,
    port: input.port,
    'noted-hostname': input.domain?.name ?? null,
    'include-subdomains': input.domain?.includeSubdomains ?? false,
    'enforce-pinning': input.mode === 'enforce',
    'validated-certificate-chain': input.verified.map((der) => toPem(der)),
    'served-certificate-chain': input.served.map((der) => toPem(der)),
    'known-pins': input.pins,
    'validation-result': input.code,
    'date-time': input.now.toISOString(),
    'wirelock-version': VERSION,
    'app-platform': `node ${NODE_VERSION}`,
    ...(input.details ? { details: input.details } : {}),
  };
}

/**
 * A lockdown finding as a report, for the same report URI: no destination (hostname "runtime"), no
 * chains; the finding's key, severity, title and evidence in `details`.
 */
export function buildRuntimeFindingReport(
  finding: { key: string; severity: string; title: string; evidence: Record<string, unknown> },
  blocked: boolean,
  now: Date,
): ViolationReport {
  return {
    kind: 'runtime-finding',
    code: 'ERR_ENV_COMPROMISED',
    message: `${finding.key}: ${finding.title}`,
    blocked,
    mode: blocked ? 'enforce' : 'report-only',
    hostname: 'runtime',
    port: 0,
    'noted-hostname': null,
    'include-subdomains': false,
    'enforce-pinning': false,
    'validated-certificate-chain': [],
    'served-certificate-chain': [],
    'known-pins': [],
    'validation-result': 'ERR_ENV_COMPROMISED',
    'date-time': now.toISOString(),
    'wirelock-version': VERSION,
    'app-platform': `node ${NODE_VERSION}`,
    details: { finding: finding.key, severity: finding.severity, title: finding.title, evidence: finding.evidence },
  };
}

/** diagnostics_channel names, stable: APM agents and tests subscribe to them. */
export const CHANNELS = Object.freeze({
  violation: diagnosticsChannel.channel('wirelock:violation'),
  connection: diagnosticsChannel.channel('wirelock:connection'),
} as const);

export interface ReporterOptions {
  onViolation?: ((report: ViolationReport) => void) | undefined;
  /** Sends the report body; fire-and-forget. Absent when the policy has no report URI. */
  send?: ((uri: string, body: string) => Promise<unknown>) | undefined;
  now?: () => number;
  /**
   * Process warnings for blocks and for report-only violations nobody hears (default true). Off
   * only where the caller shows every block itself, as the CLI does.
   */
  warnings?: boolean | undefined;
}

// Process-wide, so a process with many fetches or agents still warns once per window per host,
// port and code.
const lastBlockWarning = new Map<string, number>();
const reportOnlyWarned = new Set<string>();
// Bounded: a process that reaches very many distinct hosts must not grow these without limit.
const MAX_WARNING_KEYS = 4096;

/**
 * Delivers reports to the callback, the diagnostics channel and (rate-limited per host and code)
 * the policy's report URI. Delivery never delays or changes the blocking decision: callbacks that
 * throw are contained, and the POST is not awaited.
 */
export class Reporter {
  readonly #policy: Policy;
  readonly #options: ReporterOptions;
  readonly #lastSent = new Map<string, number>();
  readonly #warned = new Set<string>();

  constructor(policy: Policy, options: ReporterOptions = {}) {
    this.#policy = policy;
    this.#options = options;
  }

  emit(unlabelled: ViolationReport): void {
    const app = this.#policy.report?.app;
    const report: ViolationReport = app
      ? { ...unlabelled, 'app-bundle-id': app.id, ...(app.version !== undefined ? { 'app-version': app.version } : {}) }
      : unlabelled;
    if (CHANNELS.violation.hasSubscribers) CHANNELS.violation.publish(report);
    if (this.#options.onViolation) {
      try {
        this.#options.onViolation(report);
      } catch (error) {
        emitWarning(`wirelock onViolation callback threw: ${(error as Error).message}`, 'WirelockWarning');
      }
    }
    if (report.kind === 'violation' && this.#options.warnings !== false) this.#warn(report);
    if (report.kind === 'pins-expired' && !this.#warned.has(report.hostname)) {
      // Expired pins silently stop protecting a host: say so loudly, once per host per process.
      this.#warned.add(report.hostname);
      emitWarning(`${report.message} (every connection to ${report.hostname} is reported)`, { type: 'WirelockWarning', code: 'WIRELOCK_PINS_EXPIRED' });
    }
    this.#post(report);
  }

  /**
   * SDKs wrap transport errors ("fetch failed", "Connection error.") and report-only allows the
   * connection: a process warning tells the operator which host, port and code, wherever the
   * error itself ends up. Blocks warn once per rate-limit window; report-only violations warn once
   * per host and code when there is no sink (no onViolation, no report URI).
   */
  #warn(report: ViolationReport): void {
    const where = `${report.hostname}:${report.port}`;
    if (report.blocked) {
      const key = `${where}|${report.code}`;
      const now = this.#options.now?.() ?? Date.now();
      const last = lastBlockWarning.get(key);
      if (last !== undefined && now - last < (this.#policy.report?.rateLimitSeconds ?? 60) * 1000) return;
      if (lastBlockWarning.size >= MAX_WARNING_KEYS) lastBlockWarning.clear();
      lastBlockWarning.set(key, now);
      emitWarning(`wirelock blocked ${where}: ${report.code}: ${report.message}`, { type: 'WirelockWarning', code: 'WIRELOCK_BLOCKED' });
      return;
    }
    const heard = this.#options.onViolation !== undefined || (this.#policy.report?.uri !== undefined && this.#options.send !== undefined);
    const key = `${report.hostname}|${report.code}`;
    if (heard || reportOnlyWarned.has(key)) return;
    if (reportOnlyWarned.size >= MAX_WARNING_KEYS) reportOnlyWarned.clear();
    reportOnlyWarned.add(key);
    emitWarning(
      `wirelock report-only: ${where} would be blocked in enforce mode: ${report.code}: ${report.message} (shown once per host and code; set onViolation or report.uri to collect every violation)`,
      { type: 'WirelockWarning', code: 'WIRELOCK_REPORT_ONLY' },
    );
  }

  #post(report: ViolationReport): void {
    const uri = this.#policy.report?.uri;
    const send = this.#options.send;
    if (!uri || !send) return;
    // Runtime findings share host and code: each finding is its own stream, or the first would hide the rest.
    const key = `${report.hostname}:${report.port}|${report.code}${report.kind === 'runtime-finding' ? `|${String(report.details?.finding)}` : ''}`;
    const now = this.#options.now?.() ?? Date.now();
    const last = this.#lastSent.get(key);
    if (last !== undefined && now - last < (this.#policy.report?.rateLimitSeconds ?? 60) * 1000) return;
    this.#lastSent.set(key, now);
    send(uri, JSON.stringify(report)).catch(() => {
      // A report endpoint that is down must not break the app; the callback and channel still fired.
    });
  }
}
