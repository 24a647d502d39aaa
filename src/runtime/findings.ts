import { deepFreeze } from '../freeze.js';

/**
 * The runtime-integrity vocabulary: finding ids, severities, the fix for each, and the allow-list
 * of known benign hookers. Pure data and functions; the probes live in ./probe.ts.
 */

// Frozen, as every exported object here: severityRank() orders findings by this array, and an
// array anyone can reverse() would let code decide what blocks.
export const SEVERITIES = Object.freeze(['info', 'low', 'medium', 'high', 'critical'] as const);
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/**
 * Stable ids (append only). A finding about one API or variable also has a `subject`
 * ("tls.connect", "HTTPS_PROXY"); `key` is `id:subject` and is what ERR_ENV_COMPROMISED names.
 */
export const FINDING_IDS = Object.freeze([
  'preload',
  'preload-scrubbed',
  'execargv-tampered',
  'loader-redirect',
  'inspector',
  'tls-keylog',
  'extra-ca',
  'system-ca',
  'ca-injected',
  'tls-verification-disabled',
  'proxy-env',
  'global-agent',
  'hooked-api',
  'dispatcher-swapped',
  'agent-replaced',
  'channel-subscriber',
  'ld-preload',
  'injected-library',
  'tracer',
  'tamper-attempt',
  'worker-started',
  'inspection-failed',
  'raw-binding',
  'cmdline-rewritten',
] as const);
export type FindingId = (typeof FINDING_IDS)[number];

export interface RuntimeFinding {
  id: FindingId;
  /** The API, variable or file concerned, when the id covers several. */
  subject?: string;
  /** `id` or `id:subject`: unique within one report and stable across runs. */
  key: string;
  severity: Severity;
  title: string;
  /** What was observed, as data (file names, flags, script URLs, certificate subjects). */
  evidence: Record<string, unknown>;
  fix: string;
  /** Name of the allow-list entry that accepted this finding (its severity is then `info`). */
  allowedBy?: string;
}

const FIXES: Record<FindingId, string> = {
  preload: 'Remove the --require/--import/--loader flag (command line or NODE_OPTIONS), or allow-list the tool by name if it is a known agent (wirelock env --allow NAME; lockdown allow.hookers; WIRELOCK_ALLOW for wirelock/register).',
  'preload-scrubbed': 'A preload removed itself from NODE_OPTIONS after running: treat the host as compromised; find who set NODE_OPTIONS at launch.',
  'execargv-tampered': 'process.execArgv was edited at run time to hide a flag: treat the process as compromised.',
  'loader-redirect': 'A module loader hook (module.register) serves a different module for a node: built-in: remove the --import/--loader that registers it.',
  inspector: 'Do not run production processes with --inspect; an open inspector lets anyone who reaches the port read memory and run code.',
  'tls-keylog': 'Remove --tls-keylog and any "keylog" listener: they write the TLS session keys that decrypt captured traffic.',
  'extra-ca': 'Unset NODE_EXTRA_CA_CERTS, or allow-list the certificate by its pin (shown in the evidence) if it is your corporate CA: wirelock env --trusted-ca sha256/PIN; lockdown allow.trustedCas; WIRELOCK_TRUSTED_CAS for wirelock/register. wirelock connections trust only the policy anchors.',
  'system-ca': 'Drop --use-system-ca/--use-openssl-ca and SSL_CERT_FILE/SSL_CERT_DIR unless you manage that store: any CA in it can intercept unprotected clients.',
  'ca-injected': 'Some code added CA certificates at run time (tls.setDefaultCACertificates or an agent "ca" option): find and remove it.',
  'tls-verification-disabled': 'Unset NODE_TLS_REJECT_UNAUTHORIZED: "0" turns off certificate verification for every unprotected TLS client in the process.',
  'proxy-env': 'Unset the proxy variable, or allow-list the proxy if it is your corporate egress proxy: wirelock env --proxy URL; lockdown allow.proxies; WIRELOCK_PROXIES for wirelock/register.',
  'global-agent': 'global-agent routes all http(s) through a proxy: remove its bootstrap unless it is a known corporate setup (allow "global-agent").',
  'hooked-api': 'A network function was replaced by code outside Node: find the file in the evidence and remove it, or allow-list a known agent by name.',
  'dispatcher-swapped': 'The undici global dispatcher (used by fetch) was replaced: find the setGlobalDispatcher call in the evidence.',
  'agent-replaced': 'http(s).globalAgent was replaced by a non-Node agent (proxy or recorder): find the assignment in the evidence.',
  'channel-subscriber': 'Code subscribes to network diagnostics channels (sees requests and bodies): expected for APM agents, otherwise find the subscriber.',
  'ld-preload': 'A shared library is preloaded into the process (LD_PRELOAD, /etc/ld.so.preload, DYLD_INSERT_LIBRARIES): remove it.',
  'injected-library': 'An instrumentation library (e.g. frida-agent) is mapped into the process: the host is compromised or under analysis.',
  tracer: 'A debugger or tracer (ptrace) is attached to the process: it can read all memory, keys included.',
  'tamper-attempt': 'Code tried to change a network function that lockdown guards: find the file in the evidence.',
  'cmdline-rewritten': 'The process title (--title, process.title) overwrote the command line before wirelock read it, so the start-up flags cannot be checked: drop --title, and set process.title only after wirelock/register (or lockdown()) has run.',
  'inspection-failed': 'An integrity check threw (for example a hostile getter on a watched property): find the code in the evidence; until then the process is treated as compromised.',
  'raw-binding': 'Code asked for one of Node\'s C++ network bindings (process.binding): sockets made with it bypass every guard. Find the caller in the evidence.',
  'worker-started': 'A worker thread has its own, unguarded network functions: make sure the code in the evidence is yours, or set blockAt to "medium" to refuse workers under lockdown.',
};

export function fixFor(id: FindingId): string {
  return FIXES[id];
}

export function makeFinding(
  id: FindingId,
  severity: Severity,
  title: string,
  evidence: Record<string, unknown>,
  subject?: string,
): RuntimeFinding {
  return { id, ...(subject ? { subject } : {}), key: subject ? `${id}:${subject}` : id, severity, title, evidence, fix: FIXES[id] };
}

/**
 * Known benign hookers. A hook is accepted only when the inspector attributes the replacing
 * function to one of these paths (never by a name the function itself claims), a preload only when
 * its specifier or path matches.
 */
export interface AllowEntry {
  name: string;
  /** Substrings of the script path of a wrapper/dispatcher/agent class. */
  paths?: string[];
  /** Substrings of a --require/--import/--loader value. */
  preloads?: string[];
  /** Finding ids this entry may downgrade besides hooks and preloads (e.g. channel-subscriber). */
  ids?: FindingId[];
}

export const KNOWN_HOOKERS: Readonly<Record<string, AllowEntry>> = deepFreeze({
  opentelemetry: {
    name: 'opentelemetry',
    paths: ['/node_modules/@opentelemetry/', '/node_modules/require-in-the-middle/', '/node_modules/import-in-the-middle/', '/node_modules/shimmer/'],
    preloads: ['@opentelemetry/', 'import-in-the-middle'],
    ids: ['channel-subscriber'],
  },
  datadog: { name: 'datadog', paths: ['/node_modules/dd-trace/', '/node_modules/dc-polyfill/'], preloads: ['dd-trace'], ids: ['channel-subscriber'] },
  newrelic: { name: 'newrelic', paths: ['/node_modules/newrelic/', '/node_modules/@newrelic/'], preloads: ['newrelic'], ids: ['channel-subscriber'] },
  'elastic-apm': { name: 'elastic-apm', paths: ['/node_modules/elastic-apm-node/'], preloads: ['elastic-apm-node'], ids: ['channel-subscriber'] },
  sentry: { name: 'sentry', paths: ['/node_modules/@sentry/'], preloads: ['@sentry/'], ids: ['channel-subscriber'] },
  nock: { name: 'nock', paths: ['/node_modules/nock/', '/node_modules/@mswjs/interceptors/'] },
  msw: { name: 'msw', paths: ['/node_modules/msw/', '/node_modules/@mswjs/interceptors/'] },
  'undici-mock': { name: 'undici-mock', paths: ['/node_modules/undici/lib/mock/'] },
  'global-agent': { name: 'global-agent', paths: ['/node_modules/global-agent/'], preloads: ['global-agent'], ids: ['global-agent'] },
  tsx: { name: 'tsx', paths: ['/node_modules/tsx/'], preloads: ['tsx'] },
});

export interface AllowList {
  /** Names from KNOWN_HOOKERS, or custom entries. */
  hookers?: Array<string | AllowEntry>;
  /** `sha256/...` SPKI pins of CA certificates that may be added (corporate CA). */
  trustedCas?: string[];
  /** Proxy URLs or host:port that proxy variables may name. */
  proxies?: string[];
}

export function resolveAllowEntries(hookers: AllowList['hookers'] = []): AllowEntry[] {
  return hookers.map((entry) => {
    if (typeof entry !== 'string') return entry;
    const known = KNOWN_HOOKERS[entry];
    // An unknown name allows nothing: a typo must not silently widen the allow-list.
    return known ?? { name: entry };
  });
}

/** The allow entry whose paths contain `path`, if any. */
/** Packages named by an entry's path fragments ("/node_modules/@opentelemetry/" -> "@opentelemetry/"). */
function entryPackages(entry: AllowEntry): string[] {
  return (entry.paths ?? []).map((fragment) => /\/node_modules\/((?:@[^/]+\/)?[^/]*)/.exec(fragment)?.[1] ?? '').filter(Boolean);
}

function packageMatches(name: string, pattern: string): boolean {
  return pattern.endsWith('/') ? name.startsWith(pattern) : name === pattern;
}

/**
 * The packages a path is nested in, outermost first ("/a/node_modules/x/node_modules/@s/y/f.js"
 * -> ["x", "@s/y"]); pnpm's ".pnpm/<id>" store directories are skipped.
 */
export function packageChain(path: string): string[] {
  const parts = path.replace(/\\/g, '/').split('/node_modules/').slice(1);
  return parts
    .filter((part) => !part.startsWith('.pnpm/'))
    .map((part) => /^((?:@[^/]+\/)?[^/]+)/.exec(part)?.[1] ?? '')
    .filter(Boolean);
}

/**
 * The allow entry that accepts code at `path`: its fragment matches, and every package the file is
 * nested in belongs to that entry too, so a package cannot smuggle a fake "@opentelemetry/x" in
 * its own node_modules (bundledDependencies) and be trusted for it.
 */
export function allowedPath(entries: AllowEntry[], path: string | undefined): string | undefined {
  if (!path) return undefined;
  const normalized = path.replace(/\\/g, '/');
  const chain = packageChain(normalized);
  return entries.find((entry) => {
    if (!entry.paths?.some((fragment) => normalized.includes(fragment))) return false;
    const own = entryPackages(entry);
    return chain.slice(0, -1).every((name) => own.some((pattern) => packageMatches(name, pattern)));
  })?.name;
}

/**
 * A preload is accepted when it is the tool's bare specifier ("@opentelemetry/auto-instrumentations-node/register")
 * or a file inside its installed package, not merely a path that contains the name.
 */
/**
 * A path's segments with `.` and `..` applied (a file: URL's through the URL parser, which also
 * decodes `%2e%2e`): `node_modules/tsx/../../evil.cjs` names evil.cjs, not a file of tsx.
 */
function resolvedSegments(value: string): string {
  let path = value;
  if (path.startsWith('file:')) {
    try {
      path = decodeURIComponent(new URL(path).pathname);
    } catch {
      return '';
    }
  }
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '..') out.pop();
    else if (segment !== '.' && segment !== '') out.push(segment);
  }
  // Rooted, so packageChain sees `/node_modules/` even for a relative `./node_modules/...`.
  return `/${out.join('/')}`;
}

export function allowedPreload(entries: AllowEntry[], value: string): string | undefined {
  // Node's URL resolution of an --import value decodes %2e%2e into `..`, and on POSIX a backslash
  // is a file-name character, not a separator: neither can be judged by its text, so such a value
  // is never a known tool (it stays a high finding).
  if (value.includes('%') || (process.platform !== 'win32' && value.includes('\\'))) return undefined;
  const raw = value.replace(/\\/g, '/');
  const isPath = raw.startsWith('.') || raw.startsWith('/') || raw.startsWith('file:');
  // A package name followed by `..` leaves the package: such a specifier is never a known tool.
  if (!isPath && raw.split('/').includes('..')) return undefined;
  const normalized = isPath ? resolvedSegments(raw) : raw;
  return entries.find((entry) =>
    (entry.preloads ?? []).some((name) => {
      if (!isPath) return packageMatches(normalized, name) || (!name.endsWith('/') && normalized.startsWith(`${name}/`)) || (name.endsWith('/') && normalized.startsWith(name));
      const chain = packageChain(normalized);
      return chain.length > 0 && chain.every((pkg) => (entry.preloads ?? []).some((pattern) => packageMatches(pkg, pattern) || pkg === pattern));
    }),
  )?.name;
}

/** The npm package a script URL belongs to ("@scope/name" or "name"), for evidence. */
export function packageOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const normalized = url.replace(/\\/g, '/');
  const at = normalized.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  return /^((?:@[^/]+\/)?[^/]+)\//.exec(normalized.slice(at + '/node_modules/'.length))?.[1];
}

export function downgrade(finding: RuntimeFinding, allowedBy: string): RuntimeFinding {
  return { ...finding, severity: 'info', allowedBy, evidence: { ...finding.evidence, originalSeverity: finding.severity } };
}

export function isBlocking(finding: RuntimeFinding, threshold: Severity): boolean {
  return finding.allowedBy === undefined && severityRank(finding.severity) >= severityRank(threshold);
}
