/**
 * One error class for everything wirelock refuses. Callers branch on `code`, which is stable;
 * `message` is for humans and may change between releases.
 */
export const ERROR_CODES = Object.freeze([
  // policy
  'ERR_POLICY_INVALID',
  // transport
  'ERR_CLEARTEXT_BLOCKED',
  'ERR_HOST_NOT_ALLOWED',
  'ERR_TLS_VERSION',
  'ERR_CERT_UNTRUSTED',
  'ERR_CERT_EXPIRED',
  'ERR_CERT_HOSTNAME',
  'ERR_PIN_MISMATCH',
  // certificate transparency
  'ERR_CT_REQUIRED',
  'ERR_CT_LOG_LIST',
  'ERR_SCT_MALFORMED',
  // runtime integrity
  'ERR_ENV_COMPROMISED',
  // parsing and input
  'ERR_DER_MALFORMED',
  'ERR_CERT_MALFORMED',
  'ERR_PIN_FORMAT',
  'ERR_INPUT_INVALID',
  'ERR_USAGE',
  // supply chain
  'ERR_LOCKFILE_INVALID',
  'ERR_ADVISORY_DB',
  // mobile
  'ERR_GENERATE_UNSUPPORTED',
  // lab
  'ERR_LAB',
  // fleet collector (wirelock collect)
  'ERR_COLLECT',
  // transport through a proxy: the proxy answered the CONNECT with a refusal (407, 403, 502...)
  'ERR_PROXY_REFUSED',
  // transport: a request-chosen name would select another domain policy than the destination
  'ERR_SERVERNAME_MISMATCH',
  // transport: a client library path (proxy tunnel, HTTP/2) that would open TLS outside wirelock
  'ERR_CLIENT_BYPASS',
] as const);

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WirelockErrorDetails {
  /** Host the failure concerns, when there is one. */
  host?: string;
  port?: number;
  /** File the failure concerns (policy, lockfile, certificate). */
  file?: string;
  /** RFC 6901 JSON pointer inside `file`. */
  pointer?: string;
  [key: string]: unknown;
}

export class WirelockError extends Error {
  readonly code: ErrorCode;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly details: WirelockErrorDetails;

  constructor(code: ErrorCode, message: string, details: WirelockErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WirelockError';
    this.code = code;
    this.host = details.host;
    this.port = details.port;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details };
  }
}

export function isWirelockError(value: unknown, code?: ErrorCode): value is WirelockError {
  return value instanceof WirelockError && (code === undefined || value.code === code);
}
