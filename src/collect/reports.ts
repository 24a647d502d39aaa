import { hash } from 'node:crypto';
import { WirelockError } from '../errors.js';

/**
 * Ingest-side reading of the reports devices POST: wirelock's violation reports, lockdown's runtime
 * findings, and TrustKit's native pin-failure reports (iOS and Android). Pure: JSON values in,
 * normalized records or a WirelockError naming the JSON pointer out. Every field is attacker-chosen,
 * so every field is bounded and typed here, before anything reaches storage or a page.
 */

export type ReportFormat = 'wirelock' | 'trustkit';

export interface CollectedReport {
  format: ReportFormat;
  kind: string;
  host: string;
  port: number | null;
  notedHost: string | null;
  code: string;
  mode: 'enforce' | 'report-only' | null;
  blocked: boolean | null;
  message: string;
  appId: string;
  appVersion: string;
  appPlatform: string;
  /** TrustKit's per-install id (app-vendor-id), or wirelock's optional client id: how clients are counted. */
  clientId: string | null;
  reportedAt: string | null;
  servedChain: string[];
  validatedChain: string[];
  knownPins: string[];
  details: unknown;
  /** Same report resent (TrustKit retries) = same key: stored once. */
  dedupKey: string;
  /** Identity of the chain the client saw (validated if it has one, else served). */
  chainKey: string;
  /** Identities of each chain (null when empty): the store keeps each distinct chain once, reports refer to it. */
  servedKey: string | null;
  validatedKey: string | null;
}

/** Limits for one report; the HTTP layer bounds the body and the number of reports per request. */
export const LIMITS = {
  maxDepth: 8,
  maxString: 2048,
  maxMessage: 8192,
  maxPem: 16384,
  maxChain: 12,
  maxPins: 32,
  maxDetailsBytes: 16384,
} as const;

// TrustKit's TSKTrustEvaluationResult (TrustKit/Pinning/TSKPinningValidatorResult.h): the integer it POSTs.
const TRUSTKIT_RESULTS: Record<number, string> = {
  0: 'TRUSTKIT_SUCCESS',
  1: 'TRUSTKIT_NO_MATCHING_PIN',
  2: 'TRUSTKIT_INVALID_CERTIFICATE_CHAIN',
  3: 'TRUSTKIT_INVALID_PARAMETERS',
  4: 'TRUSTKIT_USER_DEFINED_TRUST_ANCHOR',
  5: 'TRUSTKIT_COULD_NOT_GENERATE_SPKI_HASH',
};

const WIRELOCK_KINDS = new Set(['violation', 'pins-expired', 'ct-list-stale', 'runtime-finding']);

const TRUSTKIT_KEYS = new Set([
  'app-bundle-id', 'app-version', 'app-platform', 'app-platform-version', 'app-vendor-id', 'trustkit-version',
  'date-time', 'hostname', 'port', 'noted-hostname', 'include-subdomains', 'enforce-pinning',
  'validated-certificate-chain', 'known-pins', 'validation-result', 'known-pins-expiration-date',
]);
const WIRELOCK_KEYS = new Set([
  ...TRUSTKIT_KEYS, 'kind', 'code', 'message', 'blocked', 'mode', 'served-certificate-chain', 'wirelock-version', 'details', 'client-id',
]);

// Host names and IP literals only: a report naming "<script>" as its host is not a report.
const HOST = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*\.?|\[?[0-9a-f:.]{2,45}\]?)$/i;
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const PEM = /^-----BEGIN CERTIFICATE-----\r?\n(?:[A-Za-z0-9+/=]{1,76}\r?\n)+-----END CERTIFICATE-----\r?\n?$/;

function invalid(pointer: string, what: string): never {
  throw new WirelockError('ERR_INPUT_INVALID', `report ${pointer || '/'}: ${what}`, { pointer });
}

/**
 * Depth of a JSON text without parsing it: JSON.parse recurses, so a hostile body of nested brackets
 * must be refused before it reaches the parser.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Jump over the string: its closing quote is the next one not escaped by an odd run of backslashes.
      for (;;) {
        const close = text.indexOf('"', i + 1);
        if (close < 0) return max; // unterminated: JSON.parse refuses it
        let slashes = 0;
        while (text.charCodeAt(close - 1 - slashes) === 0x5c) slashes++;
        i = close;
        if (slashes % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Parses a request body: one report or an array of reports. */
export function parseReportBody(text: string, maxReports: number): CollectedReport[] {
  if (jsonDepth(text) > LIMITS.maxDepth + 1) invalid('', `nested deeper than ${LIMITS.maxDepth} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    invalid('', `not JSON (${(error as Error).message})`);
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) invalid('', 'empty array: no report');
  if (items.length > maxReports) invalid('', `${items.length} reports in one request (at most ${maxReports})`);
  return items.map((item, index) => readReport(item, Array.isArray(value) ? `/${index}` : ''));
}

export function readReport(value: unknown, pointer = ''): CollectedReport {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(pointer, 'a report is a JSON object');
  const report = value as Record<string, unknown>;
  // wirelock's reports carry `kind`; TrustKit's never do (their keys are the kebab-case subset).
  const format: ReportFormat = 'kind' in report ? 'wirelock' : 'trustkit';
  const known = format === 'wirelock' ? WIRELOCK_KEYS : TRUSTKIT_KEYS;
  for (const key of Object.keys(report)) {
    if (!known.has(key)) invalid(`${pointer}/${escapePointer(key)}`, `unknown field for a ${format} report`);
  }
  const field = (key: string) => `${pointer}/${key}`;

  const host = string(report.hostname, field('hostname'), { required: true, max: 255 })!;
  if (!HOST.test(host)) invalid(field('hostname'), 'not a host name or IP address');
  const notedHost = string(report['noted-hostname'], field('noted-hostname'), { nullable: true, max: 255 });
  if (notedHost !== null && notedHost !== undefined && !HOST.test(notedHost)) invalid(field('noted-hostname'), 'not a host name');
  const port = integer(report.port, field('port'), 0, 65535);
  const reportedAt = date(report['date-time'], field('date-time'));
  const validatedChain = pemList(report['validated-certificate-chain'], field('validated-certificate-chain'));
  const knownPins = stringList(report['known-pins'], field('known-pins'), LIMITS.maxPins).map(normalizePin);
  const appId = string(report['app-bundle-id'], field('app-bundle-id'), { max: 255 }) ?? '';
  const appVersion = string(report['app-version'], field('app-version'), { max: 64 }) ?? '';
  const clientId = string(report['app-vendor-id'] ?? report['client-id'], field('app-vendor-id'), { nullable: true, max: 128 }) ?? null;
  bool(report['include-subdomains'], field('include-subdomains'));
  const enforcePinning = bool(report['enforce-pinning'], field('enforce-pinning'));
  string(report['trustkit-version'], field('trustkit-version'), { max: 64 });
  string(report['app-platform-version'], field('app-platform-version'), { max: 64 });
  string(report['known-pins-expiration-date'], field('known-pins-expiration-date'), { nullable: true, max: 32 });

  let kind = 'violation';
  let code: string;
  let mode: CollectedReport['mode'] = enforcePinning === undefined ? null : enforcePinning ? 'enforce' : 'report-only';
  let blocked: boolean | null = null;
  let message = '';
  let servedChain: string[] = [];
  let details: unknown = null;
  let appPlatform = string(report['app-platform'], field('app-platform'), { max: 64 }) ?? '';
  if (format === 'wirelock') {
    kind = string(report.kind, field('kind'), { required: true, max: 32 })!;
    if (!WIRELOCK_KINDS.has(kind)) invalid(field('kind'), `unknown report kind "${kind}"`);
    code = string(report.code, field('code'), { required: true, max: 64 })!;
    if (!CODE.test(code)) invalid(field('code'), 'not an error code');
    message = string(report.message, field('message'), { max: LIMITS.maxMessage }) ?? '';
    blocked = bool(report.blocked, field('blocked')) ?? null;
    const rawMode = string(report.mode, field('mode'), { max: 16 });
    if (rawMode !== undefined) {
      if (rawMode !== 'enforce' && rawMode !== 'report-only') invalid(field('mode'), 'mode is enforce or report-only');
      mode = rawMode;
    }
    servedChain = pemList(report['served-certificate-chain'], field('served-certificate-chain'));
    string(report['wirelock-version'], field('wirelock-version'), { max: 64 });
    string(report['validation-result'], field('validation-result'), { max: 64 });
    if (report.details !== undefined) {
      const text = JSON.stringify(report.details);
      if (text.length > LIMITS.maxDetailsBytes) invalid(field('details'), `larger than ${LIMITS.maxDetailsBytes} bytes`);
      storableJson(report.details, field('details'));
      details = report.details;
    }
    if (kind === 'runtime-finding' && !appPlatform) appPlatform = 'node';
  } else {
    const result = integer(report['validation-result'], field('validation-result'), 0, 255);
    if (result === null) invalid(field('validation-result'), 'required: TrustKit\'s validation result number');
    code = TRUSTKIT_RESULTS[result] ?? `TRUSTKIT_RESULT_${result}`;
    blocked = mode === 'enforce' && result !== 0;
    if (!appId) invalid(field('app-bundle-id'), 'required in a TrustKit report');
  }
  if (kind !== 'runtime-finding' && port === null) invalid(field('port'), 'required');

  const servedKey = chainKeyOf(servedChain);
  const validatedKey = chainKeyOf(validatedChain);
  const lowerHost = host.toLowerCase();
  const lowerNotedHost = notedHost ? notedHost.toLowerCase() : null;
  // The chains enter the dedup key through their identities (hashing a few KB of PEM text per report was the
  // ingest path's largest cost); the values in a fixed order, without keys or object copies.
  const identity = JSON.stringify([
    format, kind, lowerHost, port, lowerNotedHost, code, mode, blocked, message, appId, appVersion, appPlatform, clientId, reportedAt,
    servedKey, validatedKey, knownPins, details,
  ]);
  return {
    format, kind, host: lowerHost, port, notedHost: lowerNotedHost, code, mode, blocked, message,
    appId, appVersion, appPlatform, clientId, reportedAt, servedChain, validatedChain, knownPins, details,
    dedupKey: sha256(identity),
    chainKey: validatedKey ?? servedKey ?? 'none',
    servedKey,
    validatedKey,
  };
}

/**
 * PEM blocks already validated, each with a small id, and chain identities by those ids. A fleet reports the
 * same few chains over and over: a repeat costs a lookup and one comparison instead of two regular-expression
 * scans and a hash of a few KB. Looked up by the block's tail (its signature: short to hash, and distinct),
 * then compared whole. Bounded by the text they hold, because the chains are attacker-chosen.
 */
const validPems = new Map<string, { pem: string; id: number }>();
let validPemChars = 0;
let nextPemId = 0;
const chainKeys = new Map<string, string>();

function pemTail(pem: string): string {
  return pem.slice(-80);
}

function validPemId(pem: string): number | undefined {
  const entry = validPems.get(pemTail(pem));
  return entry !== undefined && entry.pem === pem ? entry.id : undefined;
}

function rememberPem(pem: string): void {
  if (validPemChars + pem.length > 4_000_000) {
    validPems.clear();
    chainKeys.clear(); // keyed by the ids just forgotten
    validPemChars = 0;
  }
  // A different block with the same tail replaces the entry, with a new id (ids are never reused).
  validPems.set(pemTail(pem), { pem, id: nextPemId++ });
  validPemChars += pem.length;
}

function chainKeyOf(chain: string[]): string | null {
  if (chain.length === 0) return null;
  let ids = '';
  for (const pem of chain) ids += `${validPemId(pem) ?? -1},`;
  let key = ids.includes('-1') ? undefined : chainKeys.get(ids);
  if (key === undefined) {
    // PEM blocks hold no "|", so the joined text is unambiguous.
    key = sha256(chain.map((pem) => pem.replace(/\s+/g, '')).join('|'));
    if (!ids.includes('-1')) {
      if (chainKeys.size >= 4096) chainKeys.clear();
      chainKeys.set(ids, key);
    }
  }
  return key;
}

function sha256(text: string): string {
  // One-shot: no Hash object per call (this runs twice per report).
  return hash('sha256', text, 'hex');
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1').slice(0, 64);
}

function string(value: unknown, pointer: string, options: { required?: boolean; nullable?: boolean; max: number }): string | undefined | null {
  if (value === undefined || (value === null && options.nullable)) {
    if (options.required) invalid(pointer, 'required');
    return value as undefined | null;
  }
  if (typeof value !== 'string') invalid(pointer, 'must be a string');
  if (value.length > options.max) invalid(pointer, `longer than ${options.max} characters`);
  // Control characters have no business in any report field and break logs and CSV alike.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) invalid(pointer, 'contains control characters');
  if (!wellFormed(value)) invalid(pointer, 'not well-formed Unicode (a lone surrogate)');
  return value;
}

/**
 * PostgreSQL refuses a lone surrogate in text and json, and NUL in jsonb: one such value would fail the whole
 * batch commit and turn every report sharing it into a 503. Refused here, per report, with its pointer.
 */
function wellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

function storableJson(value: unknown, pointer: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) invalid(pointer, 'contains a NUL character');
    if (!wellFormed(value)) invalid(pointer, 'not well-formed Unicode (a lone surrogate)');
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => storableJson(item, `${pointer}/${index}`));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      storableJson(key, `${pointer}/${escapePointer(key)}`);
      storableJson(item, `${pointer}/${escapePointer(key)}`);
    }
  }
}

function integer(value: unknown, pointer: string, min: number, max: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) invalid(pointer, `must be an integer from ${min} to ${max}`);
  return value;
}

function bool(value: unknown, pointer: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') invalid(pointer, 'must be true or false');
  return value;
}

function date(value: unknown, pointer: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > 40 || !/^\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})$/.test(value)) invalid(pointer, 'must be an ISO 8601 date-time');
  const time = Date.parse(value);
  if (Number.isNaN(time)) invalid(pointer, 'not a real date');
  return new Date(time).toISOString();
}

function stringList(value: unknown, pointer: string, max: number): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) invalid(pointer, 'must be an array');
  if (value.length > max) invalid(pointer, `more than ${max} entries`);
  return value.map((item, index) => string(item, `${pointer}/${index}`, { required: true, max: LIMITS.maxString })!);
}

function pemList(value: unknown, pointer: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) invalid(pointer, 'must be an array of PEM certificates');
  if (value.length > LIMITS.maxChain) invalid(pointer, `more than ${LIMITS.maxChain} certificates`);
  return value.map((item, index) => {
    if (typeof item === 'string' && validPemId(item) !== undefined) return item;
    const pem = string(item, `${pointer}/${index}`, { required: true, max: LIMITS.maxPem })!;
    if (!PEM.test(pem)) invalid(`${pointer}/${index}`, 'not one PEM CERTIFICATE block');
    rememberPem(pem);
    return pem;
  });
}

/** TrustKit sends `pin-sha256="<b64>"` (HPKP syntax); wirelock sends `sha256/<b64>`. Stored as the latter. */
function normalizePin(pin: string): string {
  const hpkp = /^pin-sha256="([A-Za-z0-9+/=]{44})"$/.exec(pin);
  return hpkp ? `sha256/${hpkp[1]}` : pin;
}
