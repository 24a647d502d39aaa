import { pemBlocks } from '../x509/certificate.js';
import { isIP, isLoopbackAddress, isPublicSuffix, normalizeHost } from './match.js';
import { parsePin } from './pins.js';
import { attachUrlCredentials, parseNoProxyEntry, parseProxyUrl } from './proxy.js';
import type {
  CertificateTransparencyConfig,
  DomainPolicy,
  Mode,
  Pin,
  NoProxyRule,
  Policy,
  PolicyIssue,
  ProxyConfig,
  ReportConfig,
  TlsVersion,
  TrustAnchorSource,
} from './types.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { isAbsolute, resolve } = process.getBuiltinModule('node:path');

/**
 * The pure validator: a parsed `wirelock.json` document in, every problem (with its JSON pointer)
 * and, when there is no error, the normalized Policy out. File access goes through `files` so the
 * core stays free of I/O.
 */
export interface PolicyFiles {
  /** Bytes of a file, or undefined when it cannot be read. */
  read(path: string): Uint8Array | undefined;
  exists(path: string): boolean;
}

export interface ValidateOptions {
  /** Directory that relative paths in the policy are resolved against. */
  baseDir: string;
  files: PolicyFiles;
  /** Today, for pin-expiry warnings. */
  now?: Date;
  /** Environment for `"proxy": "env"` (HTTPS_PROXY, NO_PROXY); none when absent. */
  env?: Record<string, string | undefined>;
}

export interface ValidationResult {
  policy: Policy | undefined;
  issues: PolicyIssue[];
}

type Json = unknown;
type JsonObject = Record<string, Json>;

const ROOT_KEYS = ['$schema', 'version', 'mode', 'minTlsVersion', 'cleartext', 'unlistedHosts', 'trustAnchors', 'report', 'certificateTransparency', 'domains', 'proxy'] as const;
const PROXY_KEYS = ['url', 'trustAnchors', 'noProxy', 'auth'] as const;
const DOMAIN_KEYS = ['includeSubdomains', 'mode', 'pins', 'pinsExpire', 'trustAnchors', 'cleartext', 'minTlsVersion', 'certificateTransparency'] as const;
const CT_KEYS = ['enforce', 'policy', 'logList', 'logListKey', 'maxListAgeDays', 'onStaleList', 'minScts'] as const;
const REPORT_KEYS = ['uri', 'rateLimitSeconds', 'app'] as const;
const REPORT_APP_KEYS = ['id', 'version'] as const;
const PIN_KEYS = ['pin', 'role'] as const;
const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];
const MODES: readonly Mode[] = ['enforce', 'report-only'];

export function pointerOf(...segments: Array<string | number>): string {
  return segments.map((segment) => `/${String(segment).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function isObject(value: Json): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length]!;
  };
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

class Collector {
  readonly issues: PolicyIssue[] = [];
  error(pointer: string, rule: string, message: string): void {
    this.issues.push({ pointer, rule, message, severity: 'error' });
  }
  warn(pointer: string, rule: string, message: string): void {
    this.issues.push({ pointer, rule, message, severity: 'warning' });
  }

  unknownKeys(object: JsonObject, allowed: readonly string[], base: string[]): void {
    for (const key of Object.keys(object)) {
      if (allowed.includes(key)) continue;
      const suggestion = closest(key, allowed);
      this.error(pointerOf(...base, key), 'schema/unknown-property', `unknown property "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; expected one of ${allowed.filter((k) => k !== '$schema').join(', ')}`);
    }
  }

  oneOf<T extends string>(object: JsonObject, key: string, allowed: readonly T[], base: string[]): T | undefined {
    const value = object[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      this.error(pointerOf(...base, key), 'schema/enum', `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, found ${describe(value)}`);
      return undefined;
    }
    return value as T;
  }

  bool(object: JsonObject, key: string, base: string[]): boolean | undefined {
    const value = object[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') {
      this.error(pointerOf(...base, key), 'schema/type', `expected true or false, found ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  positiveInteger(object: JsonObject, key: string, base: string[], min = 1): number | undefined {
    const value = object[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      this.error(pointerOf(...base, key), 'schema/type', `expected an integer >= ${min}, found ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  string(object: JsonObject, key: string, base: string[]): string | undefined {
    const value = object[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0) {
      this.error(pointerOf(...base, key), 'schema/type', `expected a non-empty string, found ${describe(value)}`);
      return undefined;
    }
    return value;
  }
}

// Collectors store these as labels (TrustKit's limits: 255 and 64 characters); control characters
// would forge lines in logs and CSV exports.
const APP_LABEL = /^[\x20-\x7e\u00a0-\uffff]+$/;

function reportApp(value: Json | undefined, c: Collector): ReportConfig['app'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    c.error('/report/app', 'schema/type', `expected an object with "id" and optional "version", found ${describe(value)}`);
    return undefined;
  }
  c.unknownKeys(value, REPORT_APP_KEYS, ['report', 'app']);
  if (value.id === undefined) c.error('/report/app/id', 'schema/required', 'missing "id": the app identifier reports carry (e.g. com.example.payments)');
  const label = (key: 'id' | 'version', max: number): string | undefined => {
    const text = c.string(value, key, ['report', 'app']);
    if (text === undefined) return undefined;
    if (text.length > max || !APP_LABEL.test(text)) {
      c.error(`/report/app/${key}`, 'report/app', `"${key}" must be 1-${max} printable characters without control characters`);
      return undefined;
    }
    return text;
  };
  const id = label('id', 255);
  const version = label('version', 64);
  return id === undefined ? undefined : { id, version };
}

function resolvePath(ref: string, baseDir: string): string {
  return isAbsolute(ref) ? ref : resolve(baseDir, ref);
}

function trustAnchors(value: Json, base: string[], c: Collector, options: ValidateOptions): TrustAnchorSource[] | undefined {
  const at = pointerOf(...base);
  if (!Array.isArray(value) || value.length === 0) {
    c.error(at, 'schema/type', `expected a non-empty array of "builtin" and PEM file paths, found ${describe(value)}`);
    return undefined;
  }
  const out: TrustAnchorSource[] = [];
  const seen = new Set<string>();
  value.forEach((entry: Json, index) => {
    const entryAt = pointerOf(...base, index);
    if (typeof entry !== 'string' || entry.trim() === '') {
      c.error(entryAt, 'schema/type', `expected "builtin" or a PEM file path, found ${describe(entry)}`);
      return;
    }
    if (seen.has(entry)) {
      c.error(entryAt, 'trust/duplicate', `trust anchor ${JSON.stringify(entry.slice(0, 60))} is listed twice`);
      return;
    }
    seen.add(entry);
    if (entry === 'builtin') {
      out.push({ kind: 'builtin' });
      return;
    }
    if (['system', 'user', 'os'].includes(entry.toLowerCase())) {
      c.error(entryAt, 'trust/platform-store', `"${entry}" trust is not supported: wirelock never trusts the OS or user store; use "builtin" and name private CAs by PEM file`);
      return;
    }
    if (entry.includes('-----BEGIN')) {
      const certificates = pemBlocks(entry);
      if (certificates.length === 0) c.error(entryAt, 'trust/no-certificate', 'inline PEM holds no CERTIFICATE block');
      else out.push({ kind: 'file', ref: 'inline PEM', path: undefined, certificates });
      return;
    }
    const path = resolvePath(entry, options.baseDir);
    const bytes = options.files.read(path);
    if (!bytes) {
      c.error(entryAt, 'trust/file-missing', `cannot read trust anchor file ${path}`);
      return;
    }
    const certificates = pemBlocks(Buffer.from(bytes).toString('latin1'));
    if (certificates.length === 0) {
      c.error(entryAt, 'trust/no-certificate', `${path} holds no PEM CERTIFICATE block`);
      return;
    }
    out.push({ kind: 'file', ref: entry, path, certificates });
  });
  return out;
}

function certificateTransparency(
  value: Json,
  base: string[],
  c: Collector,
  options: ValidateOptions,
  inherited: CertificateTransparencyConfig | undefined,
): CertificateTransparencyConfig | undefined {
  if (!isObject(value)) {
    c.error(pointerOf(...base), 'schema/type', `expected an object, found ${describe(value)}`);
    return undefined;
  }
  c.unknownKeys(value, CT_KEYS, base);
  const logListRef = c.string(value, 'logList', base);
  const logListKeyRef = c.string(value, 'logListKey', base);
  const config: CertificateTransparencyConfig = {
    enforce: c.bool(value, 'enforce', base) ?? inherited?.enforce ?? true,
    policy: c.oneOf(value, 'policy', ['chrome', 'apple'] as const, base) ?? inherited?.policy ?? 'chrome',
    logList: logListRef ? resolvePath(logListRef, options.baseDir) : inherited?.logList,
    logListKey: logListKeyRef ? resolvePath(logListKeyRef, options.baseDir) : inherited?.logListKey,
    maxListAgeDays: c.positiveInteger(value, 'maxListAgeDays', base) ?? inherited?.maxListAgeDays ?? 70,
    onStaleList: c.oneOf(value, 'onStaleList', ['fail-open-report', 'fail-closed'] as const, base) ?? inherited?.onStaleList ?? 'fail-open-report',
    minScts: c.positiveInteger(value, 'minScts', base) ?? inherited?.minScts,
  };
  if (config.enforce && !config.logList) {
    c.error(pointerOf(...base, 'logList'), 'ct/no-log-list', 'CT enforcement needs "logList": a v3 log list file the app controls (wirelock ships none for enforcement)');
  }
  for (const [key, path] of [['logList', config.logList], ['logListKey', config.logListKey]] as const) {
    if (path && value[key] !== undefined && !options.files.exists(path)) {
      c.error(pointerOf(...base, key), 'ct/file-missing', `cannot read ${path}`);
    }
  }
  const listPath = config.logList;
  if (listPath && value.logList !== undefined && options.files.exists(listPath)) {
    // A list that is not even a v3 log list would fail every connection at run time: say so now.
    const problem = logListShapeProblem(options.files.read(listPath));
    if (problem) c.error(pointerOf(...base, 'logList'), 'ct/log-list-invalid', `${listPath} is not a CT log list (v3 JSON): ${problem}`);
  }
  if (listPath && config.logListKey && value.logList !== undefined && options.files.exists(listPath)) {
    // The same two names the CT loader accepts: `<list>.sig`, or Google's `all_logs_list.sig` beside `all_logs_list.json`.
    const signatures = [`${listPath}.sig`, ...(listPath.endsWith('.json') ? [`${listPath.slice(0, -'.json'.length)}.sig`] : [])];
    if (!signatures.some((path) => options.files.exists(path))) {
      c.error(pointerOf(...base, 'logList'), 'ct/signature-missing', `no detached signature for ${listPath}: expected ${signatures.join(' or ')} (verified with "logListKey")`);
    }
  }
  if (config.logList && !config.logListKey) {
    c.warn(pointerOf(...base, 'logListKey'), 'ct/unsigned-log-list', 'no "logListKey": the log list\'s signature is not verified');
  }
  return config;
}

/** The first thing that keeps a file from being a v3 log list, checked as far as its shape. */
function logListShapeProblem(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes) return 'cannot read the file';
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return 'expected a JSON object';
  if (!Array.isArray((document as { operators?: unknown }).operators)) return 'no "operators" array';
  return undefined;
}

/** First non-empty of the variables, with its name (for messages that must not show the value). */
function fromEnv(env: Record<string, string | undefined>, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

function noProxyRules(entries: ReadonlyArray<{ text: Json; at: string; from: string }>, c: Collector): NoProxyRule[] {
  const out: NoProxyRule[] = [];
  for (const { text, at, from } of entries) {
    if (typeof text !== 'string') {
      c.error(at, 'schema/type', `expected a host name, ".domain", IP range or "*", found ${describe(text)}`);
      continue;
    }
    const rule = parseNoProxyEntry(text);
    if (typeof rule === 'string') c.error(at, 'proxy/no-proxy', `${from}: ${rule}`);
    else out.push(rule);
  }
  return out;
}

/**
 * `"proxy"`: an object naming the proxy, or "env" (HTTPS_PROXY and NO_PROXY, read when the policy is
 * loaded). Messages never quote a proxy URL or an auth value: either may hold a password.
 */
function proxy(value: Json, c: Collector, options: ValidateOptions): ProxyConfig | undefined {
  const base = ['proxy'];
  const config: JsonObject | undefined = value === 'env' ? { url: 'env' } : isObject(value) ? value : undefined;
  if (!config) {
    const shown = typeof value === 'string' ? 'a string other than "env"' : describe(value);
    c.error('/proxy', 'schema/type', `expected "env" or an object with "url", found ${shown}`);
    return undefined;
  }
  if (value !== 'env') c.unknownKeys(config, PROXY_KEYS, base);
  const env = options.env ?? {};
  let parsed: ReturnType<typeof parseProxyUrl> | undefined;
  let origin: ProxyConfig['origin'] = 'policy';
  let noProxyFromEnv: Array<{ text: Json; at: string; from: string }> = [];
  const urlAt = pointerOf(...base, 'url');
  if (config.url === undefined) {
    c.error(urlAt, 'schema/required', 'missing "url": the proxy as "http://host:port" or "https://host:port", or "env"');
  } else if (typeof config.url !== 'string') {
    c.error(urlAt, 'schema/type', `expected a proxy URL or "env", found ${describe(config.url)}`);
  } else if (config.url === 'env') {
    origin = 'env';
    const variable = fromEnv(env, ['HTTPS_PROXY', 'https_proxy']);
    // No proxy variable: this environment has no proxy, connections go direct (a laptop outside the office).
    if (!variable) return undefined;
    parsed = parseProxyUrl(variable.value, true);
    if (!parsed.ok) c.error(value === 'env' ? '/proxy' : urlAt, 'proxy/url', `"proxy": "env": ${variable.name} ${parsed.reason}`);
    const noProxy = fromEnv(env, ['NO_PROXY', 'no_proxy']);
    if (noProxy) noProxyFromEnv = noProxy.value.split(',').filter((entry) => entry.trim() !== '').map((text) => ({ text, at: value === 'env' ? '/proxy' : urlAt, from: noProxy.name }));
  } else {
    parsed = parseProxyUrl(config.url, false);
    if (!parsed.ok) c.error(urlAt, 'proxy/url', `the proxy URL ${parsed.reason}`);
    else if (parsed.credentials !== undefined) {
      c.error(urlAt, 'proxy/credentials-in-url', 'the proxy URL holds credentials: a policy file is not a secret store; name a variable with "auth": "env:PROXY_AUTH" (user:password)');
    }
  }
  let auth: ProxyConfig['auth'];
  if (config.auth !== undefined) {
    const authAt = pointerOf(...base, 'auth');
    const match = typeof config.auth === 'string' ? /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(config.auth) : null;
    if (!match) {
      // Never echo it: a password written here by mistake must not end up in a log.
      c.error(authAt, 'proxy/auth', `expected "env:VARIABLE" (the variable holds user:password), found ${typeof config.auth === 'string' ? 'another string (not shown: it may be a credential)' : describe(config.auth)}`);
    } else {
      auth = { kind: 'env', variable: match[1]! };
    }
  }
  if (!auth && parsed?.ok && parsed.credentials !== undefined && origin === 'env') auth = { kind: 'url' };
  if (auth && parsed?.ok && parsed.protocol === 'http:') {
    c.warn(pointerOf(...base, 'auth'), 'proxy/cleartext-auth', 'the proxy is http://: its credentials (Basic) cross the network in cleartext; prefer an https:// proxy');
  }
  const anchors = config.trustAnchors === undefined ? [{ kind: 'builtin' } as const] : trustAnchors(config.trustAnchors, [...base, 'trustAnchors'], c, options) ?? [];
  if (config.trustAnchors !== undefined && parsed?.ok && parsed.protocol === 'http:') {
    c.warn(pointerOf(...base, 'trustAnchors'), 'proxy/anchors-unused', '"trustAnchors" verify an https:// proxy; this proxy is http:// and has no certificate');
  }
  const policyNoProxy: Array<{ text: Json; at: string; from: string }> = [];
  if (config.noProxy !== undefined) {
    if (!Array.isArray(config.noProxy)) c.error(pointerOf(...base, 'noProxy'), 'schema/type', `expected an array of host names, ".domain", IP ranges or "*", found ${describe(config.noProxy)}`);
    else config.noProxy.forEach((text: Json, index) => policyNoProxy.push({ text, at: pointerOf(...base, 'noProxy', index), from: 'noProxy' }));
  }
  const noProxy = noProxyRules([...policyNoProxy, ...noProxyFromEnv], c);
  if (!parsed?.ok) return undefined;
  const result: ProxyConfig = { protocol: parsed.protocol, host: parsed.host, port: parsed.port, display: parsed.display, trustAnchors: anchors, noProxy, auth, origin };
  if (auth?.kind === 'url' && parsed.credentials !== undefined) attachUrlCredentials(result, parsed.credentials);
  return result;
}

function pins(value: Json, base: string[], c: Collector): Pin[] | undefined {
  if (!Array.isArray(value)) {
    c.error(pointerOf(...base), 'schema/type', `expected an array of "sha256/<base64>" pins, found ${describe(value)}`);
    return undefined;
  }
  const out: Pin[] = [];
  const seen = new Set<string>();
  value.forEach((entry: Json, index) => {
    let text: Json = entry;
    let role: Pin['role'];
    let at = [...base, String(index)];
    if (isObject(entry)) {
      c.unknownKeys(entry, PIN_KEYS, at);
      role = c.oneOf(entry, 'role', ['leaf', 'ca'] as const, at);
      text = entry.pin;
      at = [...at, 'pin'];
    }
    if (typeof text !== 'string') {
      c.error(pointerOf(...at), 'schema/type', `expected a "sha256/<base64>" pin or {"pin", "role"}, found ${describe(text)}`);
      return;
    }
    const parsed = parsePin(text);
    if (!parsed.ok) {
      c.error(pointerOf(...at), parsed.reason.startsWith('placeholder') ? 'pins/placeholder' : 'pins/format', parsed.reason);
      return;
    }
    if (seen.has(parsed.pin)) {
      c.error(pointerOf(...at), 'pins/duplicate', `pin ${parsed.pin} is listed twice`);
      return;
    }
    seen.add(parsed.pin);
    out.push(role ? { pin: parsed.pin, digest: parsed.digest, role } : { pin: parsed.pin, digest: parsed.digest });
  });
  return out;
}

function pinsExpire(value: Json, at: string, c: Collector): { date: Date; text: string } | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    c.error(at, 'pins/expire-format', `expected a date "YYYY-MM-DD", found ${describe(value)}`);
    return undefined;
  }
  // Pins stay valid through the whole named day, UTC. (Android and TrustKit stop at the start of their date, so the mobile generators write the day after.)
  const date = new Date(`${value}T23:59:59.999Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    c.error(at, 'pins/expire-format', `"${value}" is not a calendar date`);
    return undefined;
  }
  return { date, text: value };
}

function domain(
  key: string,
  value: Json,
  c: Collector,
  options: ValidateOptions,
  defaults: { mode: Mode; minTlsVersion: TlsVersion; trustAnchors: TrustAnchorSource[]; ct: CertificateTransparencyConfig | undefined },
): DomainPolicy | undefined {
  const base = ['domains', key];
  const at = pointerOf(...base);
  if (key.startsWith('*.')) {
    c.error(at, 'domains/wildcard', `"${key}": write the parent domain with "includeSubdomains": true instead of a wildcard`);
    return undefined;
  }
  const name = normalizeHost(key);
  if (!name) {
    c.error(at, 'domains/invalid-host', `"${key}" is not a valid host name or IP address`);
    return undefined;
  }
  if (!isObject(value)) {
    c.error(at, 'schema/type', `expected an object, found ${describe(value)}`);
    return undefined;
  }
  c.unknownKeys(value, DOMAIN_KEYS, base);
  const includeSubdomains = c.bool(value, 'includeSubdomains', base) ?? false;
  if (includeSubdomains && isIP(name) !== 0) {
    c.error(pointerOf(...base, 'includeSubdomains'), 'domains/ip-subdomains', `"${key}" is an IP address: it has no subdomains`);
  } else if (includeSubdomains && isPublicSuffix(name)) {
    c.error(pointerOf(...base, 'includeSubdomains'), 'domains/public-suffix', `"${name}" is a public suffix: includeSubdomains would cover every site under it`);
  }
  const mode = c.oneOf(value, 'mode', MODES, base) ?? defaults.mode;
  const domainPins = value.pins === undefined ? [] : pins(value.pins, [...base, 'pins'], c) ?? [];
  if (mode === 'enforce' && value.pins !== undefined && Array.isArray(value.pins) && domainPins.length === 1) {
    c.error(pointerOf(...base, 'pins'), 'pins/no-backup', 'enforce mode needs at least 2 distinct pins: add a backup pin (a key not in the current chain) so a key rotation cannot lock the app out');
  }
  if (Array.isArray(value.pins) && value.pins.length === 0) {
    c.warn(pointerOf(...base, 'pins'), 'pins/empty', 'empty "pins": no pinning for this domain');
  }
  const expiry = value.pinsExpire === undefined ? undefined : pinsExpire(value.pinsExpire, pointerOf(...base, 'pinsExpire'), c);
  if (expiry && domainPins.length === 0) {
    c.warn(pointerOf(...base, 'pinsExpire'), 'pins/expire-without-pins', '"pinsExpire" without pins has no effect');
  }
  if (expiry && options.now && expiry.date < options.now) {
    c.warn(pointerOf(...base, 'pinsExpire'), 'pins/expired', `pins expired on ${expiry.text}: they are not enforced and every connection emits a pins-expired report`);
  }
  const anchors = value.trustAnchors === undefined ? defaults.trustAnchors : trustAnchors(value.trustAnchors, [...base, 'trustAnchors'], c, options) ?? [];
  const ct = value.certificateTransparency === undefined
    ? defaults.ct
    : certificateTransparency(value.certificateTransparency, [...base, 'certificateTransparency'], c, options, defaults.ct);
  return {
    name,
    includeSubdomains,
    mode,
    pins: domainPins,
    pinsExpire: expiry?.date,
    pinsExpireText: expiry?.text,
    trustAnchors: anchors,
    cleartext: c.oneOf(value, 'cleartext', ['allow', 'block'] as const, base),
    minTlsVersion: c.oneOf(value, 'minTlsVersion', TLS_VERSIONS, base) ?? defaults.minTlsVersion,
    certificateTransparency: ct,
    pointer: at,
  };
}

export function validatePolicy(document: Json, options: ValidateOptions): ValidationResult {
  const c = new Collector();
  if (!isObject(document)) {
    c.error('', 'schema/type', `a policy must be a JSON object, found ${describe(document)}`);
    return { policy: undefined, issues: c.issues };
  }
  c.unknownKeys(document, ROOT_KEYS, []);
  if (document.version === undefined) c.error('/version', 'schema/required', 'missing "version": expected 1');
  else if (document.version !== 1) c.error('/version', 'schema/version', `unsupported version ${describe(document.version)}: this wirelock reads version 1`);

  const mode = c.oneOf(document, 'mode', MODES, []) ?? 'enforce';
  if (typeof document.minTlsVersion === 'string' && /^TLSv1(\.[01])?$/.test(document.minTlsVersion)) {
    c.error('/minTlsVersion', 'tls/legacy-version', `${document.minTlsVersion} is broken and refused; the minimum is "TLSv1.2"`);
  }
  const minTlsVersion = (/^TLSv1(\.[01])?$/.test(String(document.minTlsVersion)) ? undefined : c.oneOf(document, 'minTlsVersion', TLS_VERSIONS, [])) ?? 'TLSv1.2';
  const cleartext = c.oneOf(document, 'cleartext', ['block', 'allow-loopback'] as const, []) ?? 'block';
  const unlistedHosts = c.oneOf(document, 'unlistedHosts', ['allow', 'block'] as const, []) ?? 'allow';
  const anchors = document.trustAnchors === undefined ? [{ kind: 'builtin' } as const] : trustAnchors(document.trustAnchors, ['trustAnchors'], c, options) ?? [];

  let report: Policy['report'];
  if (document.report !== undefined) {
    if (!isObject(document.report)) {
      c.error('/report', 'schema/type', `expected an object with "uri", found ${describe(document.report)}`);
    } else {
      c.unknownKeys(document.report, REPORT_KEYS, ['report']);
      const uri = c.string(document.report, 'uri', ['report']);
      if (document.report.uri === undefined) c.error('/report/uri', 'schema/required', 'missing "uri": the https URL reports are POSTed to');
      let parsed: URL | undefined;
      try {
        parsed = uri ? new URL(uri) : undefined;
      } catch {
        c.error('/report/uri', 'report/uri', `"${uri}" is not a URL`);
      }
      // A collector on this machine (`wirelock collect` on 127.0.0.1) never crosses a network: http is
      // accepted for a loopback IP literal only, never for a name a resolver could point elsewhere.
      const accepted = parsed && (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackAddress(parsed.hostname)));
      if (parsed && !accepted) c.error('/report/uri', 'report/cleartext', `reports carry certificate chains and host names: "${uri}" must be https (http only to a loopback address such as 127.0.0.1)`);
      const rateLimitSeconds = c.positiveInteger(document.report, 'rateLimitSeconds', ['report'], 0) ?? 60;
      const app = reportApp(document.report.app, c);
      if (parsed && accepted) report = { uri: parsed.href, rateLimitSeconds, app };
    }
  }

  const ct = document.certificateTransparency === undefined
    ? undefined
    : certificateTransparency(document.certificateTransparency, ['certificateTransparency'], c, options, undefined);

  const domains: DomainPolicy[] = [];
  if (document.domains !== undefined) {
    if (!isObject(document.domains)) {
      c.error('/domains', 'schema/type', `expected an object keyed by host name, found ${describe(document.domains)}`);
    } else {
      const byName = new Map<string, string>();
      for (const [key, value] of Object.entries(document.domains)) {
        const entry = domain(key, value, c, options, { mode, minTlsVersion, trustAnchors: anchors, ct });
        if (!entry) continue;
        const previous = byName.get(entry.name);
        if (previous !== undefined) {
          c.error(pointerOf('domains', key), 'domains/duplicate', `"${key}" and "${previous}" are the same host (${entry.name})`);
          continue;
        }
        byName.set(entry.name, key);
        domains.push(entry);
      }
    }
  }
  if (unlistedHosts === 'block' && domains.length === 0) {
    c.warn('/unlistedHosts', 'domains/block-all', '"unlistedHosts": "block" with no domains blocks every connection');
  }
  if (mode === 'report-only') {
    c.warn('/mode', 'mode/report-only', 'report-only: violations are reported but every connection is allowed');
  }

  const proxyConfig = document.proxy === undefined ? undefined : proxy(document.proxy, c, options);

  const hasError = c.issues.some((issue) => issue.severity === 'error');
  const policy: Policy | undefined = hasError
    ? undefined
    : { version: 1, mode, minTlsVersion, cleartext, unlistedHosts, trustAnchors: anchors, report, certificateTransparency: ct, domains, proxy: proxyConfig, source: undefined };
  return { policy, issues: c.issues };
}
