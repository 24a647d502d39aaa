import type { ErrorCode } from '../errors.js';
import { toPem } from '../x509/certificate.js';
import type { Mode, Policy } from '../policy/types.js';
import { VERSION } from '../version.js';

const diagnosticsChannel = process.getBuiltinModule('node:diagnostics_channel');

/**
 * What wirelock reports about a connection. The kebab-case keys are TrustKit's report format, so a
 * TrustKit report collector accepts these as they are; the rest is wirelock's superset.
 */
export type ReportKind = 'violation' | 'pins-expired' | 'ct-list-stale';

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
    'app-platform': `node ${process.version}`,
    ...(input.details ? { details: input.details } : {}),
  };
}

/** diagnostics_channel names, stable: APM agents and tests subscribe to them. */
export const CHANNELS = {
  violation: diagnosticsChannel.channel('wirelock:violation'),
  connection: diagnosticsChannel.channel('wirelock:connection'),
} as const;

export interface ReporterOptions {
  onViolation?: ((report: ViolationReport) => void) | undefined;
  /** Sends the report body; fire-and-forget. Absent when the policy has no report URI. */
  send?: ((uri: string, body: string) => Promise<unknown>) | undefined;
  now?: () => number;
}

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

  emit(report: ViolationReport): void {
    if (CHANNELS.violation.hasSubscribers) CHANNELS.violation.publish(report);
    if (this.#options.onViolation) {
      try {
        this.#options.onViolation(report);
      } catch (error) {
        process.emitWarning(`wirelock onViolation callback threw: ${(error as Error).message}`, 'WirelockWarning');
      }
    }
    if (report.kind === 'pins-expired' && !this.#warned.has(report.hostname)) {
      // Expired pins silently stop protecting a host: say so loudly, once per host per process.
      this.#warned.add(report.hostname);
      process.emitWarning(`${report.message} (every connection to ${report.hostname} is reported)`, { type: 'WirelockWarning', code: 'WIRELOCK_PINS_EXPIRED' });
    }
    this.#post(report);
  }

  #post(report: ViolationReport): void {
    const uri = this.#policy.report?.uri;
    const send = this.#options.send;
    if (!uri || !send) return;
    const key = `${report.hostname}:${report.port}|${report.code}`;
    const now = this.#options.now?.() ?? Date.now();
    const last = this.#lastSent.get(key);
    if (last !== undefined && now - last < (this.#policy.report?.rateLimitSeconds ?? 60) * 1000) return;
    this.#lastSent.set(key, now);
    send(uri, JSON.stringify(report)).catch(() => {
      // A report endpoint that is down must not break the app; the callback and channel still fired.
    });
  }
}
