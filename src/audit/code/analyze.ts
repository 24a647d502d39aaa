/**
 * What one JavaScript file can do, read from its syntax tree: the capabilities it uses (network,
 * child processes, environment, ...), the network APIs it replaces, and the signals that tell a
 * dropper from an SDK (a known out-of-band endpoint in a request, downloaded or decoded data
 * evaluated). Strings and comments are never code; module aliases, destructuring, computed
 * members with constant keys, `require`/`import()` of `node:` modules and interop helpers of
 * bundlers and compilers are followed. Pure: text in, facts out.
 */
import { matchesShell, shellWords } from '../shell-words.js';
import type { HookRule } from '../heuristics.js';
import { parseSource, type AstNode } from './parse.js';

export const CAPABILITIES = [
  'network',
  'child-process',
  'shell',
  'env',
  'recon',
  'fs-write-outside',
  'eval',
  'dynamic-require',
  'native-binary',
  'install-time',
  'obfuscation',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * Stronger facts behind a capability; severity comes from combinations of these.
 * - known-endpoint: a request goes to an out-of-band/exfiltration service (webhook.site, interactsh...)
 * - endpoint-mention: such a host only appears in a string
 * - env-serialize: the whole environment serialised or iterated; env-bulk: handed on whole
 * - env-secret: a secret-looking variable read (NPM_TOKEN, AWS_SECRET_ACCESS_KEY...)
 * - credential-read: a credential store read (~/.npmrc, ~/.ssh, browser token stores...)
 * - host-recon: hostname, user, interfaces, DNS servers, whoami, external IP lookups
 * - shell-network / shell-pipe: a shell command that downloads, or pipes a download to a shell
 * - spawn-shipped: a file shipped with the package is executed
 * - eval-downloaded: data from the network reaches eval/Function/vm/unserialize
 * - decoded-exec: a large encoded blob reaches eval/Function/vm/child_process
 * - encoded-blob, obfuscator: obfuscation signals
 * - encoded-name: a module or function name is built from encoded pieces
 * - dotenv-read: the project's own .env is read (what deploy tools and config loaders do)
 * - secret-flow: what was read from a credential store or .env reaches a request (URL, body, socket write)
 * - native-load: a native addon is loaded (require of a .node file, process.dlopen)
 * - encoded-dump: the whole environment dumped and encoded by a shell command
 */
export type Signal =
  | 'known-endpoint'
  | 'endpoint-mention'
  | 'raw-ip'
  | 'env-serialize'
  | 'env-bulk'
  | 'env-secret'
  | 'credential-read'
  | 'host-recon'
  | 'shell-network'
  | 'shell-pipe'
  | 'spawn-shipped'
  | 'eval-downloaded'
  | 'decoded-exec'
  | 'encoded-blob'
  | 'obfuscator'
  | 'encoded-name'
  | 'tls-disabled'
  | 'registry-request'
  | 'registry-token-read'
  | 'dotenv-read'
  | 'secret-flow'
  | 'native-load'
  | 'encoded-dump';

export interface Evidence {
  capability: Capability;
  signal?: Signal;
  line: number;
  column: number;
  /** What was seen, in words: "https.request", "exec(\"curl ... | sh\")". */
  detail: string;
  snippet: string;
}

export interface CodeHookHit {
  rule: HookRule;
  line: number;
  column: number;
  snippet: string;
}

export interface FileFacts {
  parsed: boolean;
  parseError?: string;
  evidence: Evidence[];
  hooks: CodeHookHit[];
  /** Relative module specifiers this file loads (to follow what an install script runs). */
  imports: string[];
}

// ---------------------------------------------------------------------------------------------
// Tables


/** Third-party clients whose every call is network traffic. */
const HTTP_LIBRARIES = new Set([
  'axios', 'got', 'node-fetch', 'request', 'needle', 'superagent', 'phin', 'bent', 'cross-fetch', 'isomorphic-fetch', 'ky', 'ofetch',
  'make-fetch-happen', 'minipass-fetch', 'undici', 'ws', 'socket.io-client', 'node-telegram-bot-api', 'telegraf', 'discord.js',
  'nodemailer', 'ftp', 'basic-ftp', 'ssh2', 'request-promise', 'request-promise-native', 'sync-request', 'then-request', 'urllib', 'httpie',
  'wretch', 'tiny-json-http', 'simple-get', 'hyperquest', 'xmlhttprequest', 'xhr2', 'form-data',
  'follow-redirects', 'centra', 'postman-request', '@hapi/wreck', 'wreck', 'node-libcurl', 'teeny-request', 'gaxios', 'fetch-h2', 'httpntlm', 'unfetch',
]);

const NETWORK_FUNCTIONS: Record<string, Set<string>> = {
  http: new Set(['request', 'get']),
  https: new Set(['request', 'get']),
  http2: new Set(['connect']),
  net: new Set(['connect', 'createConnection', 'Socket']),
  tls: new Set(['connect', 'TLSSocket']),
  dgram: new Set(['createSocket']),
  dns: new Set(['lookup', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveTxt', 'resolveCname', 'resolveMx', 'resolveNs', 'resolveSrv', 'reverse', 'lookupService', 'Resolver']),
};

const CHILD_FUNCTIONS = new Set(['exec', 'execSync', 'spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork']);
const SHELL_FUNCTIONS = new Set(['exec', 'execSync']);
const SHELLS = /^(?:.*[\\/])?(?:sh|bash|zsh|dash|ksh|cmd(?:\.exe)?|powershell(?:\.exe)?|pwsh(?:\.exe)?)$/i;

const FS_WRITES = new Set(['writeFile', 'writeFileSync', 'appendFile', 'appendFileSync', 'createWriteStream', 'copyFile', 'copyFileSync', 'cp', 'cpSync', 'symlink', 'symlinkSync', 'outputFile', 'outputFileSync', 'rename', 'renameSync']);
const FS_READS = new Set(['readFile', 'readFileSync', 'createReadStream', 'readdir', 'readdirSync', 'open', 'openSync', 'copyFile', 'copyFileSync', 'cp', 'cpSync']);
const FS_MODULES = new Set(['fs', 'fs-extra', 'graceful-fs', 'original-fs']);

const RECON_OS = new Set(['hostname', 'userInfo', 'networkInterfaces']);
const VM_FUNCTIONS = new Set(['runInThisContext', 'runInNewContext', 'runInContext', 'compileFunction', 'Script', 'createScript', 'SourceTextModule']);
const ZLIB_DECODERS = new Set(['inflateSync', 'gunzipSync', 'brotliDecompressSync', 'inflateRawSync', 'unzipSync', 'inflate', 'gunzip', 'brotliDecompress']);
const DESERIALIZERS = new Set(['unserialize']);

const WINDOW_NAMES = new Set(['globalThis', 'global', 'window', 'self', 'frames', 'GLOBAL', 'root']);
const GLOBALS = new Set(['arguments', 'require', 'module', 'process', 'fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'navigator', 'eval', 'Function', 'Buffer', 'atob', 'btoa', 'Reflect', 'Object', 'JSON', 'String', 'Symbol', 'setTimeout', 'setInterval', 'setImmediate', 'unescape', 'escape', 'decodeURIComponent', 'decodeURI', 'encodeURIComponent', 'URL', 'URLSearchParams', 'Request', 'Headers', 'Response', '__non_webpack_require__', ...WINDOW_NAMES]);

/**
 * A name's length and first and last characters as a small integer: a Set of these answers "surely
 * not one of these names" without hashing the name (every identifier of a file is asked).
 */
function nameKey(name: string): number {
  return ((name.length & 0x3ff) << 16) | ((name.charCodeAt(0) & 0xff) << 8) | (name.charCodeAt(name.length - 1) & 0xff);
}
const GLOBAL_KEYS = new Set([...GLOBALS].map(nameKey));

/** Interop helpers of bundlers and compilers: a call of one is its first argument (a Set: every named call is asked). */
const INTEROP = new Set(['__importDefault', '__importStar', '_interopRequireDefault', '_interopRequireWildcard', '__toESM', '__toCommonJS', '_interop_require_default', '_interop_require_wildcard', '__require', '_interopNamespace', '_interopDefault', 'interopRequireDefault', 'interopRequireWildcard']);

/**
 * Out-of-band interaction and exfiltration services, matched as whole DNS labels anywhere in a
 * host (so the defanged `x.oast.fun.invalid` of a sample still counts, and `notwebhook.site` does not).
 */
const EXFIL_DOMAINS = [
  'webhook\\.site', 'pipedream\\.net', 'requestbin\\.(?:net|com)', 'requestcatcher\\.com', 'interact\\.sh', 'interactsh\\.com',
  'oast\\.(?:fun|live|me|online|pro|site)', 'oastify\\.com', 'burpcollaborator\\.net', 'canarytokens\\.(?:com|org)', 'dnslog\\.(?:cn|link)',
  'ceye\\.io', 'ngrok(?:-free)?\\.(?:io|app|dev)', 'beeceptor\\.com', 'hookbin\\.com', 'trycloudflare\\.com', 'serveo\\.net', 'loca\\.lt',
  'localtunnel\\.me', 'transfer\\.sh', 'bashupload\\.com', 'free\\.beeceptor\\.com', 'pastebin\\.com/raw', 'ipfs\\.io/ipfs', 'discord(?:app)?\\.com(?:\\.[a-z.]+)?/api/webhooks',
  'api\\.telegram\\.org(?:\\.[a-z.]+)?/bot', 'hooks\\.slack\\.com(?:\\.[a-z.]+)?/services', 'eo[a-z0-9]+\\.m\\.pipedream', 'bit\\.ly', 'rentry\\.co', 'file\\.io', '0x0\\.st', 'temp\\.sh', 'oshi\\.at', 'anonfiles\\.com', 'gofile\\.io',
];
const EXFIL_RE = new RegExp(`(?<![a-z0-9-])(?:[a-z0-9-]+\\.)*(?:${EXFIL_DOMAINS.join('|')})(?![a-z0-9-])`, 'i');
/** The out-of-band services whose names cannot come together by accident from short pieces of text. */
const FOLDED_RE = new RegExp(
  `(?:${['webhook\\.site', 'pipedream\\.net', 'requestbin\\.(?:net|com)', 'interact\\.sh', 'interactsh\\.com', 'oast\\.(?:fun|live|me|online|pro|site)', 'oastify\\.com', 'burpcollaborator\\.net', 'canarytokens\\.(?:com|org)', 'dnslog\\.(?:cn|link)', 'ngrok(?:-free)?\\.(?:io|app|dev)', 'beeceptor\\.com', 'hookbin\\.com', 'discord(?:app)?\\.com(?:\\.[a-z.]+)?/api/webhooks', 'api\\.telegram\\.org(?:\\.[a-z.]+)?/bot', 'hooks\\.slack\\.com(?:\\.[a-z.]+)?/services'].join('|')})`,
  'gi',
);
const EXFIL_HINT = /webhook|pipedream|request|interact|oast|burp|canary|dnslog|ceye|ngrok|beeceptor|hookbin|cloudflare|serveo|loca\.lt|localtunnel|transfer|bashupload|pastebin|ipfs|discord|telegram|slack|bit\.ly|rentry|file\.io|0x0\.st|temp\.sh|oshi\.at|anonfiles|gofile/i;
const IP_LOOKUP_RE = /(?<![a-z0-9-])(?:api\d*\.ipify\.org|ipinfo\.io|ifconfig\.(?:me|co)|icanhazip\.com|checkip\.amazonaws\.com|ip-api\.com|ipapi\.co|myexternalip\.com|wtfismyip\.com)(?![a-z0-9-])/i;
const RAW_IP_URL = /\b(?:https?|wss?|tcp):\/\/(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b/i;

const SECRET_ENV = /(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?:_|$)|^(?:AWS_|NPM_TOKEN|GITHUB_TOKEN|GH_TOKEN|GITLAB_|CI_JOB_TOKEN|SLACK_|DISCORD_|OPENAI_API|AZURE_|GOOGLE_APPLICATION)/i;
// Browser stores keep their exact case and are whole path segments (Chromium's Default/Cookies), so
// ./cookies.json is not one; `.env` is a file name, never the `.env` of the words `process.env`.
const CREDENTIAL_PATH_ANY_CASE = /\.npmrc|\.ssh\b|id_rsa|id_ed25519|\.aws[\\/]|\.aws\b|\.azure\b|\.kube[\\/]config|\.docker[\\/]config|\.gitconfig|\.git-credentials|\.bash_history|\.zsh_history|\/etc\/passwd|\/etc\/shadow|\.config[\\/]gcloud|\.ethereum|keystore|wallet\.dat|\.netrc|\.pgpass|(?:^|[\\/'"\s\0~])\.env(?:\.[\w-]+)?(?=$|[\\/'"\s\0;&|)])|Keychains/i;
const CREDENTIAL_PATH_EXACT = /Local Storage[\\/]leveldb|(?:^|[\\/'"\s\0])(?:Login Data|Cookies|Web Data)(?=$|[\\/'"\s\0])|Exodus[\\/]/;
const DOTENV_FILE = /(?:^|[\\/'"\s\0])\.env(?:\.[\w-]+)?(?=$|[\\/'"\s\0])/i;
const DOTENV_FILES = /(?:^|[\\/'"\s\0])\.env(?:\.[\w-]+)?(?=$|[\\/'"\s\0])/gi;
const REGISTRY_TOKEN_FILE = /(?:^|[\\/'"\s\0~])\.(?:npmrc|env)(?=$|[\\/'"\s\0])/i;
const REGISTRY_TOKEN_FILES = /(?:^|[\\/'"\s\0~])\.(?:npmrc|env)(?=$|[\\/'"\s\0])/gi;
/** A request whose URL is, by its folded prefix, on the public npm registry. */
const NPM_REGISTRY_URL = /^https:\/\/(?:registry\.npmjs\.org|registry\.npmjs\.com|registry\.yarnpkg\.com)(?::443)?(?:\/|$)/i;
const CREDENTIAL_PATH = { test: (text: string): boolean => CREDENTIAL_PATH_ANY_CASE.test(text) || CREDENTIAL_PATH_EXACT.test(text) };
const NETWORK_TOOLS = /(?:^|[\s;&|(`'"/\\])(?:curl|wget|nc|ncat|netcat|nslookup|dig|host|ping|Invoke-WebRequest|iwr|Invoke-RestMethod|irm|certutil|bitsadmin|ftp|tftp|scp|telnet)(?:\.exe)?(?=$|[\s;&|)`'"])|\/dev\/(?:tcp|udp)\//i;
const RECON_TOOLS = /(?:^|[\s;&|(`'"/\\])(?:whoami|hostname|uname|ipconfig|ifconfig|systeminfo|id|env|printenv|set)(?:\.exe)?(?=$|[\s;&|)`'"])|\/etc\/passwd|\$\(\s*(?:whoami|hostname)/i;
const PIPE_TO_SHELL = /(?:curl|wget)\b[^;&|]*?(?:\s-[A-Za-z]*[oO]\b|\s--output\b|>)[^;&|]*(?:&&|;|\|\|)\s*(?:sudo\s+)?(?:python\d?|node|sh|bash|chmod|\.\/|start|cmd|powershell|rundll32|wscript|cscript)\b|(?:curl|wget|iwr|Invoke-WebRequest|irm)\b[^|;&]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|(?:curl|wget)\b[^|;&]*\|\s*(?:node|python\d?|perl|ruby)\b|\bbase64\s+(?:-d|--decode|-D)\b[^;&]*\|\s*(?:sudo\s+)?(?:(?:ba|z|da)?sh|node|python\d?|perl)\b|\biex\b|Invoke-Expression|powershell[^;&|]*-(?:e|enc|encodedcommand)\b/i;
/** The environment dumped by a shell command: a pipe, redirect or substitution of printenv/env/set/export -p. */
const ENV_DUMP = /(?:^|[\s;&|(`])(?:printenv|env|set|export\s+-p|declare\s+-x|(?:Get-ChildItem|gci|dir|ls)\s+env:)\s*(?=$|[|>;&)`])/i;
const ENV_DUMP_ENCODED = /(?:^|[\s;&|(`])(?:printenv|env|set|export\s+-p|declare\s+-x|(?:Get-ChildItem|gci|dir|ls)\s+env:)\s*\|[^;&]*?\b(?:base64|gzip|bzip2|xz|zstd|xxd|hexdump|od|openssl|certutil\s+-encode|ConvertTo-Base64|\[Convert\]::ToBase64String)\b/i;
/** $NAME, ${NAME}, %NAME%, $env:NAME: a variable a shell command expands. */
const SHELL_VARIABLE = /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?|%([A-Za-z_][A-Za-z0-9_]*)%|\$env:([A-Za-z_][A-Za-z0-9_]*)/g;
const SHIPPED_BINARY = /\.(?:exe|dll|bat|cmd|ps1|vbs|scr|sh|bin|elf|so|dylib|msi|jar|apk|app)$/i;

const BLOB_MIN = 512;
const ESCAPED_PRINTABLE = /\\x(?:[2-6][0-9a-f]|7[0-9a-e])|\\u00(?:[2-6][0-9a-f]|7[0-9a-e])/i;

// ---------------------------------------------------------------------------------------------
// Values the analysis tracks

/** A reference to something powerful: `mod:https` + ['request'], `g:process` + ['env']. */
interface Ref {
  root: string;
  path: string[];
  /** The name was built from encoded pieces (Buffer.from(b64), fromCharCode, reversed strings). */
  encoded?: boolean;
  /** Loaded by a call that is not known to be require (its lone argument names the module): a capability, never a hook. */
  guessed?: boolean;
}
/**
 * download: came from the network; blob/decoded: a large encoded payload (decoded); secret: read
 * from a credential store; dotenv: read from the project's .env; shipped: data from the package's
 * own files (a relative require, a file next to the code), which only matters once it is decoded.
 */
type Taint = 'download' | 'blob' | 'decoded' | 'secret' | 'dotenv' | 'shipped';
/** Taint kinds as bits of one number: the analysis asks for taint at most nodes, and a number costs no allocation. */
type Taints = number;
const T: Record<Taint, Taints> = { download: 1, blob: 2, decoded: 4, secret: 8, dotenv: 16, shipped: 32 };
type Val =
  | { t: 'text'; v: string }
  | { t: 'decoder'; encoding: string }
  | { t: 'ref'; ref: Ref }
  | { t: 'str'; v: string; encoded: boolean }
  | { t: 'taint'; kinds: Taints }
  | { t: 'blob'; v?: string }
  /** An object or array literal holding references (`{ r: require }`, `[require]`): members are followed. */
  | { t: 'obj'; props: Map<string, Val | null> }
  /** An array literal of literals (character codes, pieces of a name), folded when used. */
  | { t: 'arr'; node: AstNode }
  /** The first parameter of a `new Promise` executor: what it is called with is what the promise yields. */
  | { t: 'resolver'; promise: AstNode };

class Scope {
  readonly vars = new Map<string, Val | null>();
  /** Functions declared or bound by name here, for their return values. */
  fns: Map<string, AstNode> | undefined;
  /** A function's own scope: the function (its parameters are found by position when needed). */
  fnNode: AstNode | undefined;
  constructor(readonly parent: Scope | undefined) {}
  // No binding holds `undefined` (a name is bound to a value or to null), so one `get` per scope
  // answers both "bound here?" and "to what?" (a `has` and a `get` hashed the name twice).
  lookup(name: string): Val | null | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const val = s.vars.get(name);
      if (val !== undefined) return val;
    }
    return undefined;
  }
  /** The function a name is bound to, and the scope it was declared in (where its body resolves names). */
  fn(name: string): { node: AstNode; scope: Scope } | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      if (s.vars.get(name) !== undefined) {
        const node = s.fns?.get(name);
        return node ? { node, scope: s } : undefined;
      }
    }
    return undefined;
  }
  bindFn(name: string, node: AstNode): void {
    (this.fns ??= new Map()).set(name, node);
  }
  owner(name: string): Scope | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) if (s.vars.get(name) !== undefined) return s;
    return undefined;
  }
}

function moduleName(spec: string): string {
  let name = spec.startsWith('node:') ? spec.slice(5) : spec;
  if (name.startsWith('@')) name = name.split('/').slice(0, 2).join('/');
  else name = name.split('/')[0]!;
  return name;
}

/** `mod:<name>` per specifier, kept: the same few hundred specifiers are required again and again. */
const moduleRoots = new Map<string, string>();
function moduleRoot(spec: string): string {
  let root = moduleRoots.get(spec);
  if (root === undefined) {
    root = `mod:${moduleName(spec)}`;
    if (spec.length <= 256) {
      if (moduleRoots.size >= 4096) moduleRoots.clear();
      moduleRoots.set(spec, root);
    }
  }
  return root;
}

/** A module's reference, marked when its name was built from encoded pieces. */
function moduleRef(spec: string, encoded: boolean): Ref {
  const ref: Ref = { root: moduleRoot(spec), path: [] };
  if (encoded) ref.encoded = true;
  return ref;
}

/** `g:globalThis`, `g:window`...: the global object's own names, as reference roots. */
const WINDOW_ROOTS = new Set([...WINDOW_NAMES].map((name) => `g:${name}`));

/** The callers hand in a reference of their own making: it is returned as it is when nothing changes. */
function normalize(ref: Ref): Ref {
  let { root, path } = ref;
  for (;;) {
    if (path.length > 0 && WINDOW_ROOTS.has(root)) {
      root = `g:${path[0]}`;
      path = path.slice(1);
      continue;
    }
    if (root.startsWith('mod:') && path[0] === 'default') {
      path = path.slice(1);
      continue;
    }
    if (root === 'mod:fs' && path[0] === 'promises') {
      path = path.slice(1);
      continue;
    }
    if ((root === 'mod:dns' || root === 'mod:child_process') && path[0] === 'promises') {
      path = path.slice(1);
      continue;
    }
    if (root === 'g:process' && path[0] === 'mainModule' && path[1] === 'require') {
      root = 'g:require';
      path = path.slice(2);
      continue;
    }
    if ((root === 'g:module' && path[0] === 'require') || (root === 'g:process' && path[0] === 'mainModule' && path[1] === 'constructor' && path[2] === '_load')) {
      root = 'g:require';
      path = path.slice(path[0] === 'require' ? 1 : 3);
      continue;
    }
    if ((root === 'g:module' && path[0] === 'constructor' && path[1] === '_load') || (root === 'mod:module' && path[0] === '_load')) {
      path = path.slice(root === 'g:module' ? 2 : 1);
      root = 'g:require';
      continue;
    }
    // require.main is the entry module: require.main.require(spec) loads spec.
    if (root === 'g:require' && path[0] === 'main' && path[1] === 'require') {
      path = path.slice(2);
      continue;
    }
    if (root === 'g:arguments' && (path[0] === '1' || path[0] === '2')) {
      // Top-level `arguments` of a CommonJS module: (exports, require, module, __filename, __dirname).
      root = path[0] === '1' ? 'g:require' : 'g:module';
      path = path.slice(1);
      continue;
    }
    if (root === 'g:Function' && path[0] === 'prototype' && path[1] === 'constructor') {
      path = path.slice(2);
      continue;
    }
    break;
  }
  // `x.constructor.constructor` of any value is Function.
  const at = path.lastIndexOf('constructor');
  if (at > 0 && path[at - 1] === 'constructor') {
    const fn: Ref = { root: 'g:Function', path: path.slice(at + 1) };
    if (ref.encoded) fn.encoded = true;
    return fn;
  }
  if (root === ref.root && path === ref.path) return ref;
  const out: Ref = { root, path };
  if (ref.encoded) out.encoded = true;
  if (ref.guessed) out.guessed = true;
  return out;
}

/** One reference per global name, shared: references are never changed once made. */
const globalRefs = new Map<string, Ref>();
function globalRef(name: string): Ref {
  let ref = globalRefs.get(name);
  if (!ref) globalRefs.set(name, (ref = Object.freeze({ root: `g:${name}`, path: Object.freeze([]) as unknown as string[] })));
  return ref;
}

// ---------------------------------------------------------------------------------------------

class LineIndex {
  private readonly starts: number[] = [0];
  constructor(private readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1 + this.lineOffset, column: offset - this.starts[lo]! + 1 };
  }
  lineOffset = 0;
  snippet(start: number, end: number): string {
    const lineStart = this.text.lastIndexOf('\n', start - 1) + 1;
    let lineEnd = this.text.indexOf('\n', start);
    if (lineEnd < 0) lineEnd = this.text.length;
    const line = this.text.slice(lineStart, lineEnd);
    const trimmed = line.trim();
    if (trimmed.length <= 160) return trimmed;
    const from = Math.max(0, start - lineStart - 40);
    return `…${line.slice(from, from + Math.max(120, Math.min(160, end - start + 40))).trim()}…`;
  }
}

const MAX_PER_CAPABILITY = 8;
/** References kept per value (see FileAnalyzer.ref); more are computed again when asked. */
const REF_MEMO_SIZE = 16;
const MAX_DEPTH = 3;

class FileAnalyzer {
  readonly evidence: Evidence[] = [];
  readonly hooks: CodeHookHit[] = [];
  readonly imports = new Set<string>();
  private readonly counts = new Map<string, number>();
  private lineIndex: LineIndex | undefined;
  /** Callbacks whose parameters receive tainted data (a response, a file read), and which taint. */
  private readonly taintParams = new WeakMap<AstNode, Taints>();
  /** Per function: which parameters reach a request or an evaluator. */
  private readonly paramSinks = new WeakMap<AstNode, Map<number, Set<'request' | 'eval'>>>();
  /** Calls of this file's functions with arguments, checked against paramSinks at the end. */
  private readonly localCalls: Array<{ node: AstNode; scope: Scope; fn: AstNode }> = [];
  /** Callbacks whose first parameter is a module (`import('x').then((m) => ...)`). */
  private readonly paramRefs = new WeakMap<AstNode, Ref>();
  /** `new Promise(executor)`: the executor's resolver marks the promise (`resolve(data)`). */
  private readonly executors = new WeakMap<AstNode, AstNode>();
  private readonly promiseTaint = new WeakMap<AstNode, Taints>();
  /** What a function returns, as taint, known once its body has been walked. */
  private readonly fnTaint = new WeakMap<AstNode, Taints>();
  /** Return statements of the functions being walked (innermost last). */
  private readonly fnStack: AstNode[] = [];
  private readonly returnStack: Array<Array<[AstNode, Scope]> | undefined> = [];
  /** Requests, credential reads, tainted callbacks seen so far: until one is, nothing can be tainted by them. */
  private taintSources = 0;
  /** Promise executors' resolvers bound so far (see call()). */
  private resolvers = 0;
  /** What a function returns as a reference or constant, computed on first call. */
  private readonly fnResult = new WeakMap<AstNode, Val | null>();
  private readonly fnComputing = new WeakSet<AstNode>();
  /** While set, constant() reads a variable holding a large encoded string as its text (to decode a data: URL). */
  private blobsAsText = false;
  /** Names ever bound to an object/array literal holding references. */
  private readonly objNames = new Set<string>();
  /** Short string literals in order (a newline between runs), to find hosts split across literals, and where each is. */
  private readonly shortLiterals: string[] = [];
  private readonly shortLiteralNodes: AstNode[] = [];
  private obfuscatorNames = 0;
  private obfuscatorAt: AstNode | undefined;
  private blobAt: AstNode | undefined;

  constructor(
    private readonly source: string,
    private readonly depth: number,
    private readonly lineOffset: number,
    private readonly precise = true,
  ) {}

  /** Built on the first report: most files report nothing, and the index is a pass over the text. */
  private get lines(): LineIndex {
    if (!this.lineIndex) {
      this.lineIndex = new LineIndex(this.source);
      this.lineIndex.lineOffset = this.lineOffset;
    }
    return this.lineIndex;
  }

  // ---- reporting

  private add(capability: Capability, node: AstNode, detail: string, signal?: Signal): void {
    const key = `${capability}/${signal ?? ''}`;
    const count = this.counts.get(key) ?? 0;
    if (count >= MAX_PER_CAPABILITY) return;
    this.counts.set(key, count + 1);
    const { start, end } = this.span(node);
    const { line, column } = this.lines.at(start);
    this.evidence.push({ capability, ...(signal ? { signal } : {}), line, column, detail, snippet: this.lines.snippet(start, end) });
    if (!this.precise && signal !== undefined && PRECISE_SIGNALS.has(signal)) throw NEEDS_OFFSETS;
  }

  private hook(rule: HookRule, node: AstNode): void {
    const { start, end } = this.span(node);
    const { line, column } = this.lines.at(start);
    if (this.hooks.some((h) => h.line === line && h.column === column && h.rule === rule)) return;
    this.hooks.push({ rule, line, column, snippet: this.lines.snippet(start, end) });
    if (!this.precise) throw NEEDS_OFFSETS;
  }

  private readonly cursors = new Map<string, number>();

  /**
   * Where a node is. With offsets (the precise pass) that is exact; without, the node's name is
   * looked up in the text in order, which is right for ordinary code and close in minified lines.
   */
  private span(node: AstNode): { start: number; end: number } {
    if (this.precise && typeof node.start === 'number') return { start: node.start, end: node.end };
    const needle = needleOf(node);
    if (!needle) return { start: 0, end: 0 };
    let at = this.find(needle, this.cursors.get(needle) ?? 0);
    if (at < 0) at = this.find(needle, 0);
    if (at < 0) return { start: 0, end: 0 };
    this.cursors.set(needle, at + 1);
    return { start: at, end: at + needle.length };
  }

  /** The next occurrence of a name as a whole word (`get` is not found in `getOwnPropertyDescriptor`). */
  private find(needle: string, from: number): number {
    const word = /^[\w$]/.test(needle) && /[\w$]$/.test(needle);
    for (let at = this.source.indexOf(needle, from); at >= 0; at = this.source.indexOf(needle, at + 1)) {
      if (!word) return at;
      const before = at > 0 ? this.source.charCodeAt(at - 1) : 32;
      const after = this.source.charCodeAt(at + needle.length);
      if (!isWordChar(before) && !isWordChar(after)) return at;
    }
    return -1;
  }

  private text(node: AstNode | undefined, max = 80): string {
    const raw = print(node);
    return raw.length <= max ? raw : `${raw.slice(0, max - 1)}…`;
  }

  // ---- constant folding

  /** A string (or number) the expression always evaluates to, with "built from encoded pieces". */
  constant(node: AstNode | null | undefined, scope: Scope, depth = 0): { v: string; encoded: boolean } | undefined {
    if (!node || depth > 24) return undefined;
    switch (node.type) {
      case 'Literal':
        // Printable characters written as \x63 / \u0063 in source: nobody types a module name that way.
        if (typeof node.value === 'string') return { v: node.value, encoded: typeof node.raw === 'string' && ESCAPED_PRINTABLE.test(node.raw) };
        if (typeof node.value === 'number') return { v: String(node.value), encoded: false };
        return undefined;
      case 'TemplateLiteral': {
        let out = '';
        let encoded = false;
        for (let i = 0; i < node.quasis.length; i++) {
          out += node.quasis[i].value.cooked ?? '';
          if (i < node.expressions.length) {
            const part = this.constant(node.expressions[i], scope, depth + 1);
            if (!part) return undefined;
            out += part.v;
            encoded ||= part.encoded;
          }
        }
        return { v: out, encoded };
      }
      case 'BinaryExpression': {
        if (node.operator !== '+') return undefined;
        const left = this.constant(node.left, scope, depth + 1);
        const right = left && this.constant(node.right, scope, depth + 1);
        return left && right ? { v: left.v + right.v, encoded: left.encoded || right.encoded } : undefined;
      }
      case 'Identifier': {
        const val = scope.lookup(node.name);
        if (val?.t === 'blob' && this.blobsAsText && val.v !== undefined) return { v: val.v, encoded: false };
        return val && val.t === 'str' ? { v: val.v, encoded: val.encoded } : undefined;
      }
      case 'ChainExpression':
      case 'ParenthesizedExpression':
        return this.constant(node.expression, scope, depth + 1);
      case 'SequenceExpression':
        return this.constant(node.expressions.at(-1), scope, depth + 1);
      case 'CallExpression':
        return this.constantCall(node, scope, depth);
      default:
        return undefined;
    }
  }

  private constantArray(node: AstNode, scope: Scope, depth: number): { v: string[]; encoded: boolean } | undefined {
    if (depth > 24) return undefined;
    if (node.type === 'Identifier') {
      const val = scope.lookup(node.name);
      return val?.t === 'arr' ? this.constantArray(val.node, scope, depth + 1) : undefined;
    }
    if (node.type === 'ArrayExpression') {
      const out: string[] = [];
      let encoded = false;
      for (const element of node.elements) {
        const part = this.constant(element, scope, depth + 1);
        if (!part) return undefined;
        out.push(part.v);
        encoded ||= part.encoded;
      }
      return { v: out, encoded };
    }
    if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression') {
      const method = this.key(node.callee, scope);
      if (method === 'split') {
        const base = this.constant(node.callee.object, scope, depth + 1);
        const sep = node.arguments.length ? this.constant(node.arguments[0], scope, depth + 1) : { v: '', encoded: false };
        if (base && sep) return { v: base.v.split(sep.v), encoded: base.encoded };
      }
      if (method === 'reverse' || method === 'sort') {
        const base = this.constantArray(node.callee.object, scope, depth + 1);
        if (base) return { v: method === 'reverse' ? [...base.v].reverse() : [...base.v].sort(), encoded: true };
      }
      if (method === 'map') {
        // [119, 101, ...].map((c) => String.fromCharCode(c)): the callback run on each constant element.
        const base = this.constantArray(node.callee.object, scope, depth + 1);
        const body = base && base.v.length <= 256 ? callbackBody(node.arguments[0]) : undefined;
        if (!base || !body) return undefined;
        const out: string[] = [];
        for (let i = 0; i < base.v.length; i++) {
          const each = new Scope(scope);
          body.params.forEach((param, index) => each.vars.set(param, { t: 'str', v: index === 0 ? base.v[i]! : String(i), encoded: false }));
          const part = this.constant(body.expression, each, depth + 1);
          if (!part) return undefined;
          out.push(part.v);
        }
        return { v: out, encoded: true };
      }
      if (method === 'filter') return undefined;
    }
    return undefined;
  }

  private constantCall(node: AstNode, scope: Scope, depth: number): { v: string; encoded: boolean } | undefined {
    const callee = node.callee;
    const args: AstNode[] = node.arguments;
    if (callee.type === 'MemberExpression') {
      const method = this.key(callee, scope);
      if (method === 'join') {
        const base = this.constantArray(callee.object, scope, depth + 1);
        const sep = args.length ? this.constant(args[0], scope, depth + 1) : { v: ',', encoded: false };
        if (base && sep) return { v: base.v.join(sep.v), encoded: base.encoded };
        return undefined;
      }
      if (method === 'reduce' || method === 'reduceRight') {
        // codes.reduce((s, c) => s + String.fromCharCode(c), '')
        const base = this.constantArray(callee.object, scope, depth + 1);
        const body = base && base.v.length <= 256 ? callbackBody(args[0]) : undefined;
        let acc = args.length >= 2 ? this.constant(args[1], scope, depth + 1) : undefined;
        if (!base || !body || !acc || body.params.length < 2) return undefined;
        const items = method === 'reduce' ? base.v : [...base.v].reverse();
        for (const item of items) {
          const each = new Scope(scope);
          each.vars.set(body.params[0]!, { t: 'str', v: acc.v, encoded: acc.encoded });
          each.vars.set(body.params[1]!, { t: 'str', v: item, encoded: false });
          acc = this.constant(body.expression, each, depth + 1);
          if (!acc || acc.v.length > 4096) return undefined;
        }
        return { v: acc.v, encoded: true };
      }
      if (method === 'toString' || method === 'toLowerCase' || method === 'toUpperCase' || method === 'trim') {
        const inner = this.decoded(callee.object, scope, depth + 1) ?? this.constant(callee.object, scope, depth + 1);
        if (!inner) return undefined;
        const v = method === 'toLowerCase' ? inner.v.toLowerCase() : method === 'toUpperCase' ? inner.v.toUpperCase() : method === 'trim' ? inner.v.trim() : inner.v;
        return { v, encoded: inner.encoded };
      }
      if (method === 'concat') {
        let base = this.constant(callee.object, scope, depth + 1);
        for (const arg of args) {
          const part = this.constant(arg, scope, depth + 1);
          if (!base || !part) return undefined;
          base = { v: base.v + part.v, encoded: base.encoded || part.encoded };
        }
        return base;
      }
      if (method === 'replace' || method === 'replaceAll') {
        const base = this.constant(callee.object, scope, depth + 1);
        const to = this.constant(args[1], scope, depth + 1);
        if (!base || !to) return undefined;
        if (args[0]?.type === 'Literal' && args[0].regex) {
          try {
            return { v: base.v.replace(new RegExp(args[0].regex.pattern, args[0].regex.flags), to.v), encoded: base.encoded || to.encoded };
          } catch {
            return undefined;
          }
        }
        const from = this.constant(args[0], scope, depth + 1);
        return from ? { v: method === 'replace' ? base.v.replace(from.v, to.v) : base.v.split(from.v).join(to.v), encoded: base.encoded || to.encoded } : undefined;
      }
      if (method === 'slice' || method === 'substring' || method === 'substr' || method === 'repeat' || method === 'padStart' || method === 'at' || method === 'charAt') {
        const base = this.constant(callee.object, scope, depth + 1);
        const nums = args.map((a) => this.constant(a, scope, depth + 1)).map((c) => (c ? Number(c.v) : Number.NaN));
        if (!base || nums.some((n) => Number.isNaN(n))) return undefined;
        const v =
          method === 'repeat' ? base.v.repeat(Math.min(nums[0]!, 64)) : method === 'at' || method === 'charAt' ? (base.v.at(nums[0]!) ?? '') : method === 'padStart' ? base.v : method === 'substr' ? base.v.substr(nums[0]!, nums[1]) : base.v[method](nums[0]!, nums[1]);
        return { v, encoded: base.encoded };
      }
      if (method === 'fromCharCode' || method === 'fromCodePoint') {
        const codes: number[] = [];
        for (const arg of args) {
          if (arg.type === 'SpreadElement') {
            const arr = this.constantArray(arg.argument, scope, depth + 1);
            if (!arr) return undefined;
            for (const c of arr.v) codes.push(Number(c));
          } else {
            const c = this.constant(arg, scope, depth + 1);
            if (!c) return undefined;
            codes.push(Number(c.v));
          }
        }
        if (codes.some((c) => !Number.isInteger(c) || c < 0 || c > 0x10ffff)) return undefined;
        return { v: String.fromCodePoint(...codes), encoded: true };
      }
    }
    const fn = args.length === 0 ? this.calledFunction(callee, scope) : undefined;
    if (fn) {
      const result = this.returnValue(fn);
      if (result?.t === 'str') return { v: result.v, encoded: result.encoded };
    }
    if (callee.type === 'Identifier') {
      const bound = scope.lookup(callee.name);
      if (bound === undefined && callee.name === 'String' && args.length === 1) return this.constant(args[0], scope, depth + 1);
      if (bound?.t === 'decoder') {
        const arg = this.constant(args[0], scope, depth + 1);
        if (!arg) return undefined;
        try {
          return { v: bound.encoding === 'atob' ? Buffer.from(arg.v, 'base64').toString('latin1') : Buffer.from(arg.v, bound.encoding as BufferEncoding).toString('utf8'), encoded: true };
        } catch {
          return undefined;
        }
      }
    }
    return this.decoded(node, scope, depth + 1);
  }

  /** atob / Buffer.from(x, 'base64'|'hex') / decodeURIComponent of a constant. */
  private decoded(node: AstNode, scope: Scope, depth: number): { v: string; encoded: boolean } | undefined {
    if (node.type !== 'CallExpression' || depth > 24) return undefined;
    const ref = this.ref(node.callee, scope);
    if (!ref) return undefined;
    const name = ref.path.length === 0 ? ref.root : `${ref.root}.${ref.path.join('.')}`;
    const arg = this.constant(node.arguments[0], scope, depth + 1);
    if (!arg) return undefined;
    try {
      if (name === 'g:atob') return { v: Buffer.from(arg.v, 'base64').toString('latin1'), encoded: true };
      if (name === 'g:decodeURIComponent' || name === 'g:decodeURI') return { v: decodeURIComponent(arg.v), encoded: true };
      if (name === 'g:unescape') return { v: unescape(arg.v), encoded: true };
      if (name === 'g:Buffer.from' || name === 'mod:buffer.Buffer.from') {
        const enc = this.constant(node.arguments[1], scope, depth + 1)?.v ?? 'utf8';
        if (!Buffer.isEncoding(enc)) return undefined;
        return { v: Buffer.from(arg.v, enc as BufferEncoding).toString('utf8'), encoded: enc !== 'utf8' && enc !== 'utf-8' };
      }
    } catch {
      return undefined;
    }
    return undefined;
  }

  /** Partial text of a string expression: constant parts kept, unknown parts as "\u0000". */
  /** `notConstant`: the caller has just found the node is no constant (it is not asked again). */
  partial(node: AstNode | null | undefined, scope: Scope, depth = 0, notConstant = false): string {
    if (!node || depth > 12) return '\0';
    const whole = notConstant ? undefined : this.constant(node, scope, depth);
    if (whole) return whole.v;
    if (node.type === 'TemplateLiteral') {
      let out = '';
      node.quasis.forEach((q: AstNode, i: number) => {
        out += q.value.cooked ?? '';
        if (i < node.expressions.length) out += this.partial(node.expressions[i], scope, depth + 1);
      });
      return out;
    }
    if (node.type === 'BinaryExpression' && node.operator === '+') return this.partial(node.left, scope, depth + 1) + this.partial(node.right, scope, depth + 1);
    if (node.type === 'NewExpression' && node.callee.type === 'Identifier' && node.callee.name === 'URL') return node.arguments.map((a: AstNode) => this.partial(a, scope, depth + 1)).join('');
    if (node.type === 'ObjectExpression') {
      const parts: string[] = [];
      for (const prop of node.properties) {
        if (prop.type !== 'Property') continue;
        const key = prop.computed ? this.constant(prop.key, scope)?.v : prop.key.name ?? prop.key.value;
        if (key === 'hostname' || key === 'host' || key === 'url' || key === 'baseURL' || key === 'path' || key === 'uri') parts.push(this.partial(prop.value, scope, depth + 1));
      }
      return parts.join(' ');
    }
    if (node.type === 'Identifier') {
      const val = scope.lookup(node.name);
      if (val && (val.t === 'str' || val.t === 'text')) return val.v;
      return '\0';
    }
    if (node.type === 'LogicalExpression') return `${this.partial(node.left, scope, depth + 1)}|${this.partial(node.right, scope, depth + 1)}`;
    if (node.type === 'MemberExpression') {
      const ref = this.ref(node, scope);
      // Paths built from the environment keep the variable's name: $APPDATA/discord/...
      if (ref?.root === 'g:process' && ref.path[0] === 'env' && ref.path.length === 2) return `$${ref.path[1]}`;
      return '\0';
    }
    if (node.type === 'CallExpression') {
      const ref = this.ref(node.callee, scope);
      if (ref?.root === 'mod:path' && (ref.path[0] === 'join' || ref.path[0] === 'resolve' || ref.path[0] === 'normalize')) return node.arguments.map((a: AstNode) => this.partial(a, scope, depth + 1)).join('/');
      if (ref?.root === 'mod:os' && ref.path[0] === 'homedir') return '~';
      if (ref?.root === 'mod:os' && ref.path[0] === 'tmpdir') return '$TMPDIR';
    }
    if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression' && this.key(node.callee, scope) === 'join' && node.callee.object.type === 'ArrayExpression') {
      return node.callee.object.elements.map((e: AstNode) => this.partial(e, scope, depth + 1)).join('\0');
    }
    return '\0';
  }

  // ---- references

  key(member: AstNode, scope: Scope): string | undefined {
    if (!member.computed) return member.property.type === 'Identifier' ? member.property.name : member.property.type === 'PrivateIdentifier' ? undefined : undefined;
    return this.symbolOrConstant(member.property, scope);
  }

  private symbolOrConstant(node: AstNode, scope: Scope): string | undefined {
    if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression') {
      const ref = this.ref(node.callee, scope);
      if (ref && ref.root === 'g:Symbol' && ref.path.join('.') === 'for') {
        const name = this.constant(node.arguments[0], scope);
        return name ? `@@${name.v}` : undefined;
      }
    }
    const c = this.constant(node, scope);
    if (c) return c.v;
    if (node.type === 'Identifier') {
      const val = scope.lookup(node.name);
      if (val && val.t === 'ref' && val.ref.root.startsWith('sym:')) return `@@${val.ref.root.slice(4)}`;
    }
    return undefined;
  }

  /** Names ever bound to a module or global: everything else cannot start a reference. */
  private readonly refNames = new Set<string>();
  private readonly refNameKeys = new Set<number>();

  /** The keys of the globals and of refNames: most identifiers are none of these, and one question says so. */
  // The globals' own Set until the file binds its first reference: copying it for every file (most
  // bind none) cost more than the lookups it serves.
  private startKeys: Set<number> = GLOBAL_KEYS;

  private addRefName(name: string): void {
    const key = nameKey(name);
    this.refNames.add(name);
    this.refNameKeys.add(key);
    if (this.startKeys === GLOBAL_KEYS) this.startKeys = new Set(GLOBAL_KEYS);
    this.startKeys.add(key);
  }

  private isRefName(name: string, key = nameKey(name)): boolean {
    return this.refNameKeys.has(key) && this.refNames.has(name);
  }

  /**
   * While valueOf() works out one value nothing changes what a name holds, and its folds ask for
   * the same callee's reference up to four times: top-level answers in its scope are kept for it.
   */
  private refMemoScope: Scope | undefined;
  // A handful of nodes per value: a short list searched by identity costs less than hashing nodes
  // into a Map (and growing and clearing it) for every declaration and assignment of a file.
  private readonly refMemoNodes: AstNode[] = [];
  private readonly refMemoRefs: Array<Ref | undefined> = [];
  private refMemoSize = 0;

  ref(node: AstNode | null | undefined, scope: Scope, depth = 0): Ref | undefined {
    if (depth === 0 && node && scope === this.refMemoScope) {
      const nodes = this.refMemoNodes;
      for (let i = 0; i < this.refMemoSize; i++) if (nodes[i] === node) return this.refMemoRefs[i];
      const ref = this.refOf(node, scope, 0);
      if (this.refMemoSize < REF_MEMO_SIZE) {
        nodes[this.refMemoSize] = node;
        this.refMemoRefs[this.refMemoSize++] = ref;
      }
      return ref;
    }
    return this.refOf(node, scope, depth);
  }

  private refOf(node: AstNode | null | undefined, scope: Scope, depth: number): Ref | undefined {
    if (!node || depth > 24) return undefined;
    switch (node.type) {
      case 'Identifier': {
        const key = nameKey(node.name);
        if (!this.startKeys.has(key) || (!GLOBALS.has(node.name) && !this.refNames.has(node.name))) return undefined;
        const val = scope.lookup(node.name);
        if (val === undefined) {
          if (node.name === '__non_webpack_require__') return globalRef('require');
          return GLOBALS.has(node.name) ? globalRef(node.name) : undefined;
        }
        return val && val.t === 'ref' ? val.ref : undefined;
      }
      case 'MemberExpression': {
        const object = this.ref(node.object, scope, depth + 1);
        if (!object) {
          const key = this.key(node, scope);
          if (key === undefined) return undefined;
          // { r: require }.r, [require][0]: a reference kept in an object or array literal.
          const holder = this.objectOf(node.object, scope, depth + 1);
          if (holder) {
            const held = holder.props.get(key);
            return held?.t === 'ref' ? held.ref : undefined;
          }
          // The constructor of any function is Function (AsyncFunction, GeneratorFunction: the same power).
          if (key === 'constructor' && this.isFunctionish(node.object, scope, depth + 1)) return { root: 'g:Function', path: [] };
          return undefined;
        }
        const key = this.key(node, scope);
        if (key === undefined) return undefined;
        if (key === 'constructor' && isFunctionRef(object)) return { root: 'g:Function', path: [] };
        const keyEncoded = node.computed && this.constant(node.property, scope)?.encoded;
        const member: Ref = { root: object.root, path: [...object.path, key] };
        if (object.encoded || keyEncoded) member.encoded = true;
        if (object.guessed) member.guessed = true;
        return normalize(member);
      }
      case 'CallExpression': {
        let callee = this.ref(node.callee, scope, depth + 1);
        let args: AstNode[] = node.arguments;
        // require.call(_, spec), require.apply(_, [spec]), Reflect.apply(require, _, [spec]) load spec like require(spec).
        if (callee?.root === 'g:Reflect' && callee.path.join('.') === 'apply') {
          const target = this.ref(args[0], scope, depth + 1);
          if (target?.root === 'g:require' && target.path.length === 0) {
            callee = target;
            args = args[2]?.type === 'ArrayExpression' ? args[2].elements : [];
          }
        } else if (callee?.root === 'g:require' && callee.path.length === 1 && (callee.path[0] === 'call' || callee.path[0] === 'apply')) {
          args = callee.path[0] === 'call' ? args.slice(1) : args[1]?.type === 'ArrayExpression' ? args[1].elements : [];
          callee = { root: 'g:require', path: [] };
        }
        // Function('return process')(): the code names a global.
        if (!callee && (node.callee.type === 'CallExpression' || node.callee.type === 'NewExpression')) {
          const maker = this.ref(node.callee.callee, scope, depth + 1);
          if (maker?.root === 'g:Function' && maker.path.length === 0) {
            const body = this.constant(node.callee.arguments.at(-1), scope);
            const name = body && /^\s*return\s*\(?\s*([A-Za-z_$][\w$]*)\s*\)?\s*;?\s*$/.exec(body.v)?.[1];
            if (name) return { root: `g:${name === 'this' ? 'globalThis' : name}`, path: [] };
          }
        }
        if (callee?.root === 'g:require' && callee.path.length === 0) {
          const spec = this.constant(args[0], scope);
          return spec ? moduleRef(spec.v, spec.encoded) : undefined;
        }
        if (callee?.root === 'mod:module' && callee.path.join('.') === 'createRequire') return { root: 'g:require', path: [] };
        if (callee?.root === 'g:process' && (callee.path[0] === 'binding' || callee.path[0] === '_linkedBinding') && callee.path.length === 1) {
          const name = this.constant(args[0], scope);
          return name ? { root: `binding:${name.v}`, path: [] } : undefined;
        }
        if (callee?.root === 'g:Symbol' && callee.path.join('.') === 'for') {
          const name = this.constant(args[0], scope);
          return name ? { root: `sym:${name.v}`, path: [] } : undefined;
        }
        if (callee?.root === 'g:Reflect' && callee.path.join('.') === 'get' && args.length >= 2) {
          const target = this.ref(args[0], scope, depth + 1);
          const key = this.symbolOrConstant(args[1]!, scope);
          return target && key !== undefined ? normalize({ root: target.root, path: [...target.path, key] }) : undefined;
        }
        const calleeName = node.callee.type === 'Identifier' ? node.callee.name : node.callee.type === 'MemberExpression' && !node.callee.computed ? node.callee.property.name : undefined;
        if (calleeName === '__require' && !callee) {
          const spec = this.constant(args[0], scope);
          if (spec) return moduleRef(spec.v, false);
        }
        if (calleeName && INTEROP.has(calleeName) && args.length >= 1) return this.ref(args[0], scope, depth + 1);
        // f.bind(x) is f
        if (node.callee.type === 'MemberExpression' && this.key(node.callee, scope) === 'bind') return this.ref(node.callee.object, scope, depth + 1);
        // process.getBuiltinModule('https') (Node 22): require under another name.
        if (callee?.root === 'g:process' && callee.path.length === 1 && callee.path[0] === 'getBuiltinModule') {
          const spec = this.constant(args[0], scope);
          return spec ? moduleRef(spec.v, false) : undefined;
        }
        if (callee) return undefined;
        // A function of this file that returns require or a module (`function loader() { return require }`);
        // called without arguments, as such loaders are (with arguments the result would depend on them).
        const fn = args.length === 0 ? this.calledFunction(node.callee, scope) : undefined;
        if (fn) {
          const result = this.returnValue(fn);
          if (result?.t === 'ref') return result.ref;
        }
        // Whatever the callee is, a call whose one argument is a network or process module's name loads it:
        // require passed through containers, closures or callbacks this analysis does not follow.
        // (Only names written as strings, joined or held in a variable: folding every nested call here would be quadratic.)
        if (args.length === 1 && isFoldableName(args[0]!.type)) {
          const spec = this.constant(args[0], scope);
          if (spec && LOADABLE_BY_NAME.test(spec.v)) return { root: moduleRoot(spec.v), path: [], guessed: true, ...(spec.encoded ? { encoded: true } : {}) };
        }
        return undefined;
      }
      case 'ImportExpression': {
        const spec = this.constant(node.source, scope);
        return spec ? moduleRef(spec.v, false) : undefined;
      }
      case 'AwaitExpression':
        return this.ref(node.argument, scope, depth + 1);
      case 'ChainExpression':
      case 'ParenthesizedExpression':
        return this.ref(node.expression, scope, depth + 1);
      case 'SequenceExpression':
        return this.ref(node.expressions.at(-1), scope, depth + 1);
      case 'LogicalExpression':
        return this.ref(node.left, scope, depth + 1) ?? this.ref(node.right, scope, depth + 1);
      case 'ConditionalExpression':
        return this.ref(node.consequent, scope, depth + 1) ?? this.ref(node.alternate, scope, depth + 1);
      case 'AssignmentExpression':
        return node.operator === '=' ? this.ref(node.right, scope, depth + 1) : undefined;
      default:
        return undefined;
    }
  }

  /** `o.r = require`, `a[0] = require`: the name now holds a reference in that member. */
  private storeInHolder(member: AstNode, value: AstNode, scope: Scope): void {
    const ref = this.ref(value, scope);
    if (!ref || ref.root === 'mod:.' || ref.root === 'mod:..') return;
    const name = member.object.name as string;
    const owner = scope.owner(name);
    const key = this.key(member, scope);
    if (!owner || key === undefined) return;
    const current = owner.vars.get(name);
    if (current?.t === 'obj') current.props.set(key, { t: 'ref', ref });
    else if (current === null || current?.t === 'text') {
      owner.vars.set(name, { t: 'obj', props: new Map([[key, { t: 'ref', ref }]]) });
      this.objNames.add(name);
    }
  }

  /** The object/array literal a name (or a member of one) holds, when it holds references. */
  private objectOf(node: AstNode, scope: Scope, depth: number): Extract<Val, { t: 'obj' }> | undefined {
    if (depth > 24) return undefined;
    if (node.type === 'Identifier') {
      if (!this.objNames.has(node.name)) return undefined;
      const val = scope.lookup(node.name);
      return val?.t === 'obj' ? val : undefined;
    }
    if (node.type === 'MemberExpression') {
      const outer = this.objectOf(node.object, scope, depth + 1);
      const key = outer && this.key(node, scope);
      const inner = key === undefined ? undefined : outer!.props.get(key);
      return inner?.t === 'obj' ? inner : undefined;
    }
    return undefined;
  }

  /** Cheap, allocation-free: could this literal hold a reference (a name bound to a module or global, require(...))? */
  private mayHoldRef(node: AstNode | null | undefined, depth: number): boolean {
    if (!node || depth > 4) return false;
    switch (node.type) {
      case 'Identifier':
        return GLOBALS.has(node.name) || this.isRefName(node.name);
      case 'MemberExpression':
        return this.mayHoldRef(node.object, depth + 1);
      case 'CallExpression':
        return this.mayHoldRef(node.callee, depth + 1) || (node.callee.type === 'Identifier' && node.arguments.length === 1 && node.arguments[0].type === 'Literal');
      case 'ImportExpression':
        return true;
      case 'ArrayExpression':
        if (node.elements.length > 64) return false;
        for (const el of node.elements) if (this.mayHoldRef(el, depth + 1)) return true;
        return false;
      case 'ObjectExpression':
        if (node.properties.length > 64) return false;
        for (const prop of node.properties) if (prop.type === 'Property' && this.mayHoldRef(prop.value, depth + 1)) return true;
        return false;
      default:
        return false;
    }
  }

  /** An object or array literal with references in it (`{ r: require }`, `[require]`), else undefined. */
  private holderOf(node: AstNode, scope: Scope, depth = 0): Extract<Val, { t: 'obj' }> | undefined {
    if (depth > 4) return undefined;
    const entries: Array<[string, AstNode]> = [];
    if (node.type === 'ArrayExpression') {
      if (node.elements.length > 64) return undefined;
      node.elements.forEach((el: AstNode | null, i: number) => el && el.type !== 'SpreadElement' && entries.push([String(i), el]));
    } else if (node.type === 'ObjectExpression') {
      if (node.properties.length > 64) return undefined;
      for (const prop of node.properties) {
        if (prop.type !== 'Property') continue;
        const key = prop.computed ? this.constant(prop.key, scope)?.v : (prop.key.name ?? (prop.key.value === undefined ? undefined : String(prop.key.value)));
        if (key !== undefined) entries.push([key, prop.value]);
      }
    } else return undefined;
    let holds = false;
    const props = new Map<string, Val | null>();
    for (const [key, value] of entries) {
      if (value.type === 'Identifier' || value.type === 'MemberExpression' || value.type === 'CallExpression') {
        const ref = this.ref(value, scope);
        if (ref && ref.root !== 'mod:.' && ref.root !== 'mod:..') {
          props.set(key, { t: 'ref', ref });
          holds = true;
        }
      } else if (value.type === 'ObjectExpression' || value.type === 'ArrayExpression') {
        const inner = this.holderOf(value, scope, depth + 1);
        if (inner) {
          props.set(key, inner);
          holds = true;
        }
      }
    }
    return holds ? { t: 'obj', props } : undefined;
  }

  /** A function value: a literal, a class, a function of this file, the prototype of one. */
  private isFunctionish(node: AstNode, scope: Scope, depth: number): boolean {
    if (depth > 24) return false;
    switch (node.type) {
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
      case 'ClassExpression':
        return true;
      case 'Identifier':
        return scope.fn(node.name) !== undefined;
      case 'MemberExpression': {
        const key = this.key(node, scope);
        // [].constructor.constructor, f.__proto__.constructor
        if (key === 'constructor') return true;
        if (key === '__proto__') return this.isFunctionish(node.object, scope, depth + 1);
        const ref = this.ref(node, scope, depth + 1);
        return ref !== undefined && isFunctionRef(ref);
      }
      case 'CallExpression': {
        // Object.getPrototypeOf(async function () {}): AsyncFunction.prototype, whose constructor is AsyncFunction.
        const ref = this.ref(node.callee, scope, depth + 1);
        const name = ref ? `${ref.root}.${ref.path.join('.')}` : '';
        return (name === 'g:Object.getPrototypeOf' || name === 'g:Reflect.getPrototypeOf') && node.arguments[0] !== undefined && this.isFunctionish(node.arguments[0], scope, depth + 1);
      }
      default:
        return false;
    }
  }

  /**
   * What a function of this file returns, when every return gives the same reference or constant
   * (`function loader() { return require }`, `(() => 'node:' + 'https')()`). Computed once, from the
   * scope the function was declared in; parameters are unknown.
   */
  private returnValue(fn: { node: AstNode; scope: Scope }): Val | null {
    const known = this.fnResult.get(fn.node);
    if (known !== undefined || this.fnComputing.has(fn.node)) return known ?? null;
    this.fnComputing.add(fn.node);
    let result: Val | null = null;
    const inner = new Scope(fn.scope);
    for (const param of fn.node.params) this.bindPattern(param, null, undefined, inner, inner);
    inner.vars.set('arguments', null);
    const returns: AstNode[] = [];
    const body = fn.node.body;
    if (body.type !== 'BlockStatement') returns.push(body);
    else if (body.body.length <= 32) {
      // Locals are unknown (a loop may have changed them): only what the returns name from outside counts.
      let budget = 200;
      const collect = (statement: AstNode | null | undefined): void => {
        if (!statement || --budget < 0) return;
        switch (statement.type) {
          case 'ReturnStatement':
            if (statement.argument) returns.push(statement.argument);
            return;
          case 'VariableDeclaration':
            for (const d of statement.declarations) this.bindPattern(d.id, null, undefined, inner, inner);
            return;
          case 'FunctionDeclaration':
          case 'ClassDeclaration':
            if (statement.id) inner.vars.set(statement.id.name, null);
            return;
          case 'ExpressionStatement':
          case 'EmptyStatement':
          case 'ThrowStatement':
            return;
          case 'BlockStatement':
            for (const s of statement.body) collect(s);
            return;
          case 'IfStatement':
            collect(statement.consequent);
            collect(statement.alternate);
            return;
          case 'TryStatement':
            collect(statement.block);
            collect(statement.handler?.body);
            collect(statement.finalizer);
            return;
          default:
            // Loops, switch, labels: returns this walk does not follow, so no single value is claimed.
            budget = -1;
        }
      };
      for (const statement of body.body) collect(statement);
      if (budget < 0) returns.length = 0;
    }
    for (const argument of returns) {
      const ref = this.ref(argument, inner);
      const c = ref ? undefined : this.constant(argument, inner);
      const value: Val | null = ref ? { t: 'ref', ref } : c ? { t: 'str', v: c.v, encoded: c.encoded } : null;
      if (!value || (result && JSON.stringify(result) !== JSON.stringify(value))) {
        result = null;
        break;
      }
      result = value;
    }
    this.fnResult.set(fn.node, result);
    this.fnComputing.delete(fn.node);
    return result;
  }

  // ---- taint (downloaded / encoded data) ----

  private isBlobLiteral(node: AstNode): boolean {
    if (node.type === 'Literal' && typeof node.value === 'string') return isBlob(node.value);
    if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return isBlob(node.quasis[0]?.value.cooked ?? '');
    if (node.type === 'ArrayExpression' && node.elements.length >= 200) {
      let numbers = 0;
      for (const el of node.elements) if (el && el.type === 'Literal' && typeof el.value === 'number') numbers++;
      return numbers >= 200;
    }
    return false;
  }

  taint(node: AstNode | null | undefined, scope: Scope, depth = 0): Taints {
    if (!node || depth > 16) return 0;
    let out: Taints = 0;
    switch (node.type) {
      case 'Identifier': {
        const val = scope.lookup(node.name);
        if (val?.t === 'taint') out |= val.kinds;
        if (val?.t === 'blob' || (val?.t === 'str' && isBlob(val.v))) out |= T.blob;
        if (val?.t === 'ref' && (val.ref.root === 'mod:.' || val.ref.root === 'mod:..')) out |= T.shipped;
        return out;
      }
      case 'ObjectExpression':
        // Until the file has made a request or read a secret, no object literal can carry one.
        if (this.taintSources > 0) for (const prop of node.properties) out |= this.taint(prop.type === 'SpreadElement' ? prop.argument : prop.value, scope, depth + 1);
        return out;
      case 'Literal':
      case 'TemplateLiteral':
      case 'ArrayExpression':
        if (this.isBlobLiteral(node)) return T.blob;
        if (node.type === 'TemplateLiteral') for (const e of node.expressions) out |= this.taint(e, scope, depth + 1);
        if (node.type === 'ArrayExpression') for (const e of node.elements) out |= this.taint(e, scope, depth + 1);
        return out;
      case 'CallExpression':
      case 'NewExpression': {
        const method = node.callee.type === 'MemberExpression' ? this.key(node.callee, scope) : undefined;
        const ref = this.calleeRef(node, scope, method);
        if (this.networkOf(ref)) out |= T.download;
        if (method !== undefined && FILE_READS.has(method)) {
          const path = this.partial(node.arguments[0], scope);
          // Data hidden in a picture or binary file shipped with the package (steganography).
          if (/\.(?:png|jpe?g|gif|ico|bmp|webp|wav|mp3|ttf|woff2?|dat|bin)\b/i.test(path)) out |= T.blob;
          const store = readKind(path);
          if (store) out |= T[store];
          else if (/^(?:\.{1,2}[\\/]|\0[\\/])/.test(path) && this.mentionsDirname(node.arguments[0], scope)) out |= T.shipped;
        }
        // A relative module's value is the package's own data (a payload split across files).
        if (ref?.root === 'g:require' && ref.path.length === 0 && /^\.{1,2}(?:\/|$)/.test(this.constant(node.arguments[0], scope)?.v ?? '')) out |= T.shipped;
        // What a function of this file returns, what a promise resolves with.
        const fn = this.calledFunction(node.callee, scope);
        if (fn) out |= this.fnTaint.get(fn.node) ?? 0;
        if (node.type === 'NewExpression') out |= this.promiseTaint.get(node) ?? 0;
        for (const a of node.arguments) out |= this.taint(a, scope, depth + 1);
        out |= this.taint(node.callee.type === 'MemberExpression' ? node.callee.object : undefined, scope, depth + 1);
        if (out & T.blob && this.isDecoder(node, scope)) out |= T.decoded;
        if (out & T.shipped && this.realDecoder(ref, node, scope)) out |= T.decoded;
        return out;
      }
      case 'MemberExpression':
        // What an HTTP server receives is remote data too (backdoors that run code from headers or cookies).
        if (node.object.type === 'Identifier' && REQUEST_NAMES.has(node.object.name) && !node.computed && REQUEST_PARTS.has(node.property.name)) out |= T.download;
        return out | this.taint(node.object, scope, depth + 1);
      case 'AwaitExpression':
      case 'SpreadElement':
      case 'UnaryExpression':
      case 'ChainExpression':
        return this.taint(node.argument ?? node.expression, scope, depth + 1);
      case 'BinaryExpression':
      case 'LogicalExpression':
        return this.taint(node.left, scope, depth + 1) | this.taint(node.right, scope, depth + 1);
      case 'ConditionalExpression':
        return this.taint(node.consequent, scope, depth + 1) | this.taint(node.alternate, scope, depth + 1);
      case 'SequenceExpression':
        return this.taint(node.expressions.at(-1), scope, depth + 1);
      case 'AssignmentExpression':
        return this.taint(node.right, scope, depth + 1);
      default:
        return 0;
    }
  }

  /** Apart from taint(): a closure there would cost taint() a context allocation on every call. */
  private realDecoder(ref: Ref | undefined, node: AstNode, scope: Scope): boolean {
    return isRealDecoder(ref, node, (n) => this.constant(n, scope)?.v);
  }

  /**
   * Any call that takes a blob decodes it: atob, Buffer.from, zlib, fromCharCode, and the xor loops
   * and custom alphabets a package writes itself.
   */
  private isDecoder(node: AstNode, scope: Scope): boolean {
    void node;
    void scope;
    return true;
  }

  // ---- classification of calls ----

  networkCall(node: AstNode, scope: Scope): string | undefined {
    return this.networkOf(this.calleeRef(node, scope));
  }

  /** The function a call reaches when it is one of this file's (by name, or a function literal called in place). */
  private calledFunction(callee: AstNode, scope: Scope): { node: AstNode; scope: Scope } | undefined {
    if (callee.type === 'Identifier') return scope.fn(callee.name);
    if (callee.type === 'FunctionExpression' || callee.type === 'ArrowFunctionExpression') return { node: callee, scope };
    if (callee.type === 'ParenthesizedExpression') return this.calledFunction(callee.expression, scope);
    return undefined;
  }

  private networkOf(ref: Ref | undefined): string | undefined {
    if (!ref) return undefined;
    const mod = ref.root.startsWith('mod:') ? ref.root.slice(4) : undefined;
    if (mod && NETWORK_FUNCTIONS[mod]?.has(ref.path[0] ?? '') && ref.path.length === 1) return `${mod}.${ref.path[0]}`;
    // Any module's drop-in http/https (follow-redirects style): <mod>.https.request(...).
    if (mod && ref.path.length === 2 && (ref.path[0] === 'http' || ref.path[0] === 'https') && (ref.path[1] === 'request' || ref.path[1] === 'get')) return `${mod}.${ref.path.join('.')}`;
    if (mod && HTTP_LIBRARIES.has(mod) && !(mod === 'form-data' && ref.path.length === 0)) return mod === 'form-data' ? (ref.path.at(-1) === 'submit' ? 'form-data submit' : undefined) : `${mod}${ref.path.length ? `.${ref.path.join('.')}` : ''}`;
    if (ref.path.length === 0 && (ref.root === 'g:fetch' || ref.root === 'g:XMLHttpRequest' || ref.root === 'g:WebSocket' || ref.root === 'g:EventSource')) return ref.root.slice(2);
    if (ref.root === 'g:navigator' && ref.path.join('.') === 'sendBeacon') return 'navigator.sendBeacon';
    return undefined;
  }

  /** `method`: the callee's member key, when the caller has it already. */
  private calleeRef(node: AstNode, scope: Scope, method?: string): Ref | undefined {
    let callee = node.callee;
    if (callee.type === 'MemberExpression') {
      const key = method ?? this.key(callee, scope);
      if (key === 'call' || key === 'apply') {
        const inner = this.ref(callee.object, scope);
        if (inner) return inner;
      }
    }
    if (callee.type === 'SequenceExpression') callee = callee.expressions.at(-1);
    const ref = this.ref(callee, scope);
    // Reflect.apply(f, this, args) calls f; Reflect.construct(F, args) is new F(...args).
    return isReflectCall(ref) ? this.ref(node.arguments[0], scope) : ref;
  }

  /** The arguments the called function gets, set by calleeAndArguments() (no pair allocated per call). */
  private calledWith: AstNode[] = [];

  /**
   * calleeRef() and, in calledWith, the arguments the called function receives: `f.call(_, a)` gets
   * [a], `Reflect.apply(f, _, [a])` too. The callee's reference is folded once for both.
   */
  private calleeAndArguments(node: AstNode, scope: Scope, method: string | undefined): Ref | undefined {
    const callee = node.callee;
    const args: AstNode[] = node.arguments;
    if (callee.type === 'MemberExpression' && (method === 'call' || method === 'apply')) {
      this.calledWith = method === 'call' ? args.slice(1) : args[1]?.type === 'ArrayExpression' ? args[1].elements : [];
      const inner = this.ref(callee.object, scope);
      if (inner) return inner;
      const ref = this.ref(callee, scope);
      return isReflectCall(ref) ? this.ref(args[0], scope) : ref;
    }
    const direct = this.ref(callee, scope);
    this.calledWith = direct?.root === 'g:Reflect' && direct.path.length === 1 && direct.path[0] === 'apply' ? (args[2]?.type === 'ArrayExpression' ? args[2].elements : [])
      : direct?.root === 'g:Reflect' && direct.path.length === 1 && direct.path[0] === 'construct' ? (args[1]?.type === 'ArrayExpression' ? args[1].elements : [])
      : args;
    const ref = callee.type === 'SequenceExpression' ? this.ref(callee.expressions.at(-1), scope) : direct;
    return isReflectCall(ref) ? this.ref(args[0], scope) : ref;
  }

  private command(node: AstNode | undefined, scope: Scope, depth: number): void {
    if (node) this.commandText(this.partial(node, scope), node, depth);
  }

  commandLine(text: string, node: AstNode): void {
    this.commandText(text, node, 0);
  }

  private commandText(raw: string, node: AstNode, depth: number): void {
    const text = raw.replace(/\0/g, '…');
    if (text === '…') return;
    if (matchesShell(PIPE_TO_SHELL, text)) this.add('shell', node, `runs "${clip(text)}"`, 'shell-pipe');
    if (matchesShell(NETWORK_TOOLS, text)) this.add('network', node, `shell command "${clip(text)}"`, 'shell-network');
    if (matchesShell(RECON_TOOLS, text)) this.add('recon', node, `shell command "${clip(text)}"`, 'host-recon');
    if (CREDENTIAL_PATH.test(text)) this.add('recon', node, `shell command reads "${clip(text)}"`, 'credential-read');
    // printenv | ..., $(env), `set`: the whole environment as text; encoded on its way, it is being hidden.
    if (matchesShell(ENV_DUMP, text)) {
      this.add('env', node, `shell command dumps the whole environment: "${clip(text)}"`, 'env-serialize');
      if (matchesShell(ENV_DUMP_ENCODED, text)) this.add('obfuscation', node, `shell command encodes a dump of the environment: "${clip(text)}"`, 'encoded-dump');
    }
    for (const m of shellWords(text).matchAll(SHELL_VARIABLE)) {
      const name = m[1] ?? m[2] ?? m[3] ?? '';
      if (SECRET_ENV.test(name)) {
        this.add('env', node, `shell command uses the secret variable ${name}`, 'env-secret');
        break;
      }
    }
    this.endpoints(text, node, true);
    // `node -e "<code>"` inside a command: the code is code.
    const inline = /\bnode(?:\.exe)?\s+(?:-e|--eval|-p|--print)\s+(['"])([\s\S]*)\1/.exec(text);
    if (inline && depth < MAX_DEPTH) this.nested(inline[2]!, node, depth);
  }

  private spawned(node: AstNode | undefined, scope: Scope, rest: AstNode[] = []): void {
    if (!node) return;
    const candidates = [node, ...(rest[0]?.type === 'ArrayExpression' ? rest[0].elements.filter(Boolean) : [])];
    for (const candidate of candidates) {
      const text = this.partial(candidate, scope);
      const words = text.replace(/\0/g, '').split(/[\s,]+/).filter(Boolean);
      const shipped = /^(?:\.{1,2}[\\/]|\0[\\/])/.test(text) || words.some((w) => SHIPPED_BINARY.test(w.replace(/['"]/g, ''))) || this.mentionsDirname(candidate, scope);
      if (shipped) {
        this.add('child-process', candidate, `runs a file shipped with the package: ${clip(this.text(candidate))}`, 'spawn-shipped');
        return;
      }
    }
  }

  private mentionsDirname(node: AstNode, scope: Scope, depth = 0): boolean {
    if (!node || depth > 8) return false;
    if (node.type === 'Identifier') return node.name === '__dirname' || node.name === '__filename';
    if (node.type === 'MemberExpression') return node.object.type === 'MetaProperty' || this.mentionsDirname(node.object, scope, depth + 1);
    if (node.type === 'CallExpression') return node.arguments.some((a: AstNode) => this.mentionsDirname(a, scope, depth + 1));
    if (node.type === 'BinaryExpression') return this.mentionsDirname(node.left, scope, depth + 1) || this.mentionsDirname(node.right, scope, depth + 1);
    if (node.type === 'TemplateLiteral') return node.expressions.some((e: AstNode) => this.mentionsDirname(e, scope, depth + 1));
    return false;
  }

  private outside(node: AstNode | undefined, scope: Scope): string | undefined {
    if (!node) return undefined;
    const text = this.partial(node, scope);
    const source = `${this.text(node, 200)} ${text.replace(/\0/g, '…')}`;
    if (/homedir|tmpdir|USERPROFILE|APPDATA|LOCALAPPDATA|\bHOME\b|TEMP|TMPDIR|\.bashrc|\.profile|\.zshrc|Startup|autostart|LaunchAgents|crontab|(?:^|\s)~|(?:^|[\\/])\.\.(?:[\\/]|$)/i.test(source)) return clip(source);
    const first = text.split('\0')[0]!;
    if (/^(?:\/|~|[A-Za-z]:[\\/]|\\\\)/.test(first) && !/^\/dev\/null$/.test(first)) return clip(first);
    return undefined;
  }

  private endpoints(text: string, node: AstNode, inRequest: boolean): void {
    if (!text.includes('.')) return;
    const exfil = EXFIL_HINT.test(text) ? EXFIL_RE.exec(text) : null;
    if (exfil) this.add('network', node, `${inRequest ? 'request to' : 'mentions'} out-of-band service ${exfil[0]}`, inRequest ? 'known-endpoint' : 'endpoint-mention');
    if (!inRequest) return;
    const lookup = IP_LOOKUP_RE.exec(text);
    if (lookup) this.add('recon', node, `asks ${lookup[0]} for the machine's public IP`, 'host-recon');
    const ip = RAW_IP_URL.exec(text);
    if (ip && isPublicIp(ip.slice(1, 5).map(Number))) this.add('network', node, `request to a raw IP address ${ip[0]}`, 'raw-ip');
  }

  private nested(code: string, node: AstNode, depth: number): void {
    // Like every position of the offset-free walk, approximate (from the top of the file) even when the
    // tree happens to carry offsets: the result must not depend on how the file was parsed.
    const { line } = this.lines.at(this.precise ? node.start : 0);
    const facts = analyzeSource(code, { depth: depth + 1, lineOffset: line - 1, module: false });
    for (const ev of facts.evidence) this.evidence.push({ ...ev, detail: `${ev.detail} (in code built from a string)` });
    for (const hook of facts.hooks) this.hooks.push(hook);
  }

  private call(node: AstNode, scope: Scope): void {
    // Until the file has a taint source no call is kept: the name is not looked up before.
    if (this.taintSources > 0 && node.arguments.length > 0 && node.callee.type === 'Identifier' && this.localCalls.length < 100_000) {
      const local = scope.fn(node.callee.name);
      if (local && local.node.params.length > 0) this.localCalls.push({ node, scope, fn: local.node });
    }
    const method = node.callee.type === 'MemberExpression' ? this.key(node.callee, scope) : undefined;
    const ref = this.calleeAndArguments(node, scope, method);
    const args = this.calledWith;
    const isNew = node.type === 'NewExpression';
    if (ref && args[0]?.type === 'ObjectExpression' && /^(?:g:JSON\.stringify|g:Buffer\.from|g:URLSearchParams|g:btoa|mod:querystring\.(?:stringify|encode)|g:Object\.(?:keys|entries|values))$/.test(`${ref.root}${ref.path.length ? `.${ref.path.join('.')}` : ''}`)) this.serialized.add(args[0]);

    const network = this.networkOf(ref);
    if (network) {
      // Only reads: a PUT/POST to the registry with a stolen token is how a worm publishes itself.
      const registryRead = NPM_REGISTRY_URL.test(this.partial(args[0], scope)) && args.slice(1).every((a) => a?.type === 'ObjectExpression' && a.properties.every((p: AstNode) => p.type === 'Property' && !/^(?:method|body|data|json|form)$/i.test(String(p.key?.name ?? p.key?.value ?? '')))) && !/\.(?:post|put|patch|delete|request)\b/i.test(network);
      this.taintSources++;
      this.add('network', node, network, registryRead ? 'registry-request' : undefined);
      this.endpoints(args.map((a) => this.partial(a, scope)).join(' '), node, true);
      this.secretFlow(node, args, scope, registryRead, network);
      // What a request hands to its callbacks came from the network.
      for (const arg of node.arguments) if (arg.type === 'FunctionExpression' || arg.type === 'ArrowFunctionExpression') this.taintParams.set(arg, T.download);
    } else if (method === 'then' || method === 'on' || method === 'once' || method === 'pipe') {
      // import('node:https').then((h) => h.get(...)): the callback receives the module.
      const loaded = method === 'then' ? this.ref(node.callee.object, scope) : undefined;
      const callback = node.arguments[0];
      if (loaded?.root.startsWith('mod:') && loaded.path.length === 0 && (callback?.type === 'FunctionExpression' || callback?.type === 'ArrowFunctionExpression')) this.paramRefs.set(callback, loaded);
      const kinds = this.taint(node.callee.object, scope) & ~(T.blob | T.decoded | T.shipped);
      if (kinds) for (const arg of node.arguments) if (arg.type === 'FunctionExpression' || arg.type === 'ArrowFunctionExpression') this.taintParams.set(arg, kinds);
    }
    if (node.callee.type === 'Identifier' && node.arguments.length > 0) {
      // Only a Promise executor's parameter holds a resolver: none bound, no name to look up.
      const bound = this.resolvers > 0 ? scope.lookup(node.callee.name) : undefined;
      if (bound?.t === 'resolver') {
        const kinds = this.taint(node.arguments[0], scope);
        if (kinds) this.promiseTaint.set(bound.promise, (this.promiseTaint.get(bound.promise) ?? 0) | kinds);
      }
    }
    // req.end(data) / req.write(data) / socket.write(data) on a request or connection this file opened.
    if (!network && this.taintSources > 0 && node.callee.type === 'MemberExpression' && node.arguments.length > 0) {
      const method = node.callee.computed ? this.key(node.callee, scope) : node.callee.property.name;
      if ((method === 'end' || method === 'write' || method === 'send') && this.taint(node.callee.object, scope) & T.download) this.secretFlow(node, node.arguments, scope, false, `request .${method}()`);
    }
    if (!ref) {
      // `x._compile(code, file)`: Module#_compile on any module object.
      if (method === '_compile') this.sink(node, args[0], scope, 'Module#_compile');
      return;
    }
    const { root, path } = ref;
    const mod = root.startsWith('mod:') ? root.slice(4) : undefined;
    const fn = path[0] ?? '';
    if (ref.encoded) this.add('obfuscation', node, `calls ${describe(ref)} through a name built from encoded pieces`, 'encoded-name');

    if (root === 'g:require' && path.length === 0) {
      const spec = this.constant(args[0], scope);
      if (!spec) {
        this.add('dynamic-require', node, `require(${this.text(args[0] ?? node, 60)})`);
        this.sinkTaint(node, args[0], scope, 'require', false);
        // require(path.join(__dirname, 'test', 'helper')): a file of the package, wherever its name was built.
        const text = args[0] ? this.partial(args[0], scope) : '';
        const local = /^\0[\\/]+([^\0]+)$/.exec(text);
        if (local && args[0] && this.mentionsDirname(args[0], scope) && !local[1]!.includes('..')) this.imports.add(`./${local[1]!.replace(/\\/g, '/').replace(/\/{2,}/g, '/')}`);
        if (/\.node$/.test(text)) this.add('native-binary', node, `loads native addon ${clip(text.replace(/\0/g, '…'))}`, 'native-load');
      }
      else {
        if (spec.v.startsWith('.')) this.imports.add(spec.v);
        if (spec.v.endsWith('.node')) this.add('native-binary', node, `loads native addon ${spec.v}`, 'native-load');
        if (spec.encoded) this.add('obfuscation', node, `require of an encoded module name (${spec.v})`, 'encoded-name');
      }
      return;
    }
    if (mod === 'child_process' && CHILD_FUNCTIONS.has(fn) && path.length === 1) {
      this.add('child-process', node, `child_process.${fn}(${this.text(args[0] ?? node, 60)})`);
      const shellOption = args.some((a) => a?.type === 'ObjectExpression' && a.properties.some((p: AstNode) => p.type === 'Property' && (p.key.name ?? p.key.value) === 'shell' && !(p.value.type === 'Literal' && p.value.value === false)));
      const program = this.constant(args[0], scope)?.v ?? '';
      if (SHELL_FUNCTIONS.has(fn) || shellOption || SHELLS.test(program)) {
        this.add('shell', node, `shell command via child_process.${fn}`);
        const commandArg = SHELLS.test(program) && args[1]?.type === 'ArrayExpression' ? args[1].elements.at(-1) : args[0];
        this.command(commandArg, scope, this.depth);
      } else {
        this.command(args[0], scope, this.depth);
        if (args[1]?.type === 'ArrayExpression') this.commandText(`${this.partial(args[0], scope)} ${args[1].elements.map((e: AstNode) => this.partial(e, scope)).join(' ')}`, args[1], this.depth);
        // spawn(process.execPath | 'node', ['-e', code]) and fork's execArgv: the code argument is code.
        if (args[1]?.type === 'ArrayExpression') {
          const list: AstNode[] = args[1].elements;
          list.forEach((element, index) => {
            const flag = this.constant(element, scope)?.v;
            const code = flag && /^(?:-e|--eval|-p|--print)$/.test(flag) ? this.constant(list[index + 1], scope)?.v : undefined;
            if (code && this.depth < MAX_DEPTH) this.nested(code, list[index + 1]!, this.depth);
          });
        }
      }
      this.spawned(args[0], scope, args.slice(1));
      this.sinkTaint(node, args[0], scope, `child_process.${fn}`, true);
      return;
    }
    // new Worker(code, { eval: true }) runs a string; new Worker('data:...') / new Worker(new URL('data:...')) too.
    if (mod === 'worker_threads' && fn === 'Worker' && path.length === 1) {
      const evalOption = args.slice(1).some((a) => a?.type === 'ObjectExpression' && a.properties.some((p: AstNode) => p.type === 'Property' && (p.key.name ?? p.key.value) === 'eval' && !(p.value.type === 'Literal' && !p.value.value)));
      if (evalOption) return this.sink(node, args[0], scope, 'new Worker(eval)');
      const target = args[0]?.type === 'NewExpression' && args[0].callee.type === 'Identifier' && args[0].callee.name === 'URL' ? args[0].arguments[0] : args[0];
      const spec = this.constant(target, scope) ?? this.dataUrlText(target, scope);
      if (spec && /^data:/i.test(spec.v)) this.dataUrl(spec, node, 'new Worker()');
      else if (target && !spec && this.partial(target, scope).startsWith('data:')) {
        this.add('eval', node, 'new Worker() of a data: URL built at run time (code in a string)');
        this.sinkTaint(node, target, scope, 'new Worker(data:)', false);
      }
      return;
    }
    if (root === 'binding:spawn_sync' || root === 'binding:process_wrap') {
      this.add('child-process', node, `process.binding('${root.slice(8)}')`);
      return;
    }
    if (mod === 'os' && RECON_OS.has(fn)) {
      this.add('recon', node, `os.${fn}()`, 'host-recon');
      return;
    }
    if (mod === 'dns' && fn === 'getServers') {
      this.add('recon', node, 'dns.getServers()', 'host-recon');
      return;
    }
    if (mod && FS_MODULES.has(mod)) {
      if (FS_WRITES.has(fn)) {
        const target = this.outside(args[fn.startsWith('copyFile') || fn.startsWith('cp') || fn.startsWith('rename') || fn.startsWith('symlink') ? 1 : 0], scope);
        if (target) this.add('fs-write-outside', node, `${mod}.${fn} to ${target}`);
      }
      if (FS_READS.has(fn)) {
        // Only the folded path: the source text `process.env.X_FILE` is not a path.
        const text = args[0] ? this.partial(args[0], scope) : '';
        // ~/.npmrc and the project's .env are what registry clients and deploy tools read for their own token.
        const store = readKind(text);
        if (store) {
          this.taintSources++;
          const signal: Signal = store === 'dotenv' ? 'dotenv-read' : REGISTRY_TOKEN_FILE.test(text) && !CREDENTIAL_PATH.test(text.replace(REGISTRY_TOKEN_FILES, '')) ? 'registry-token-read' : 'credential-read';
          this.add('recon', node, `${mod}.${fn}(${clip(this.text(args[0] ?? node, 80))}) reads ${store === 'dotenv' ? "the project's .env" : 'a credential store'}`, signal);
          // fs.readFile(path, (err, data) => ...): the callback receives what was read.
          for (const arg of node.arguments) if (arg.type === 'FunctionExpression' || arg.type === 'ArrowFunctionExpression') this.taintParams.set(arg, T[store]);
        }
      }
      return;
    }
    if (root === 'g:process' && fn === 'dlopen') {
      this.add('native-binary', node, 'process.dlopen', 'native-load');
      return;
    }
    if (root === 'g:eval' && path.length === 0) return this.sink(node, args[0], scope, 'eval');
    if (root === 'g:Function' && path.length === 0) return this.sink(node, args.at(-1), scope, isNew ? 'new Function' : 'Function');
    if ((root === 'g:setTimeout' || root === 'g:setInterval' || root === 'g:setImmediate') && path.length === 0) {
      const first = args[0];
      if (first && first.type !== 'FunctionExpression' && first.type !== 'ArrowFunctionExpression' && first.type !== 'Identifier' && first.type !== 'MemberExpression' && first.type !== 'CallExpression') this.sink(node, first, scope, root.slice(2));
      return;
    }
    if (mod === 'vm' && VM_FUNCTIONS.has(fn)) return this.sink(node, args[0], scope, `vm.${fn}`);
    if (mod === 'module' && fn === 'prototype' && path[1] === '_compile') return this.sink(node, args[0], scope, 'Module#_compile');
    // new module.constructor() / new Module(): a fresh module to compile a string into (require-from-string).
    if (isNew && ((root === 'g:module' && fn === 'constructor' && path.length === 1) || (mod === 'module' && (path.length === 0 || (fn === 'Module' && path.length === 1))))) {
      this.add('eval', node, 'creates a Module to compile code from a string');
      return;
    }
    if ((root === 'g:Object' || root === 'g:Reflect') && (fn === 'defineProperty' || fn === 'defineProperties' || fn === 'assign' || fn === 'set') && path.length === 1) {
      // Object.assign(snapshot, process.env): snapshot is now a copy of the environment.
      if (root === 'g:Object' && fn === 'assign' && args[0]?.type === 'Identifier' && args.slice(1).some((a) => this.isEnv(a, scope))) {
        const owner = scope.owner(args[0].name);
        if (owner) {
          owner.vars.set(args[0].name, { t: 'ref', ref: ENV_COPY });
          this.addRefName(args[0].name);
        }
      }
      const target = this.ref(args[0], scope);
      if (!target) return;
      if (fn === 'defineProperty' || fn === 'set') {
        const key = args[1] ? this.symbolOrConstant(args[1], scope) : undefined;
        if (key !== undefined) this.assigned(normalize({ root: target.root, path: [...target.path, key] }), node, 'define');
      } else if (args[1]?.type === 'ObjectExpression') {
        for (const prop of args[1].properties) {
          const key = prop.type === 'Property' ? (prop.computed ? this.symbolOrConstant(prop.key, scope) : (prop.key.name ?? prop.key.value)) : undefined;
          if (key !== undefined) this.assigned(normalize({ root: target.root, path: [...target.path, String(key)] }), node, 'define');
        }
      }
      return;
    }
    if (mod === 'undici' && fn === 'setGlobalDispatcher') {
      this.hook('replace-undici-dispatcher', node);
      return;
    }
    if (DESERIALIZERS.has(path.at(-1) ?? '') || (mod && /serialize/.test(mod) && fn === 'unserialize')) this.sink(node, args[0], scope, `${describe(ref)}`, true);
  }

  /**
   * What a request carries that was read from a credential store (~/.npmrc, ~/.ssh, ~/.aws...) or
   * the project's .env: stolen, however far the read is from the request. A .env value only in the
   * request's headers is how a deploy tool authenticates to its service, and a registry token in
   * the headers of a GET to the npm registry is how an npm client does; neither is theft.
   */
  private secretFlow(node: AstNode, args: AstNode[], scope: Scope, registryRead: boolean, what: string): void {
    let carried: Taints = 0;
    for (const arg of args) {
      if (arg?.type === 'ObjectExpression') {
        for (const prop of arg.properties) {
          const key = prop.type === 'Property' && !prop.computed ? (prop.key.name ?? prop.key.value) : undefined;
          let kinds = this.taint(prop.type === 'SpreadElement' ? prop.argument : prop.value, scope);
          if (key === 'headers') {
            kinds &= ~T.dotenv;
            if (registryRead) kinds &= ~T.secret;
          }
          carried |= kinds;
        }
      } else carried |= this.taint(arg, scope);
    }
    if (carried & (T.secret | T.dotenv)) this.add('recon', node, `${what} sends what it read from ${carried & T.secret ? 'a credential store' : "the project's .env"}`, 'secret-flow');
    // function send(data) { req.end(data) }: what callers pass as `data` is sent (checked once the file is walked).
    for (const arg of args) if (arg?.type !== 'ObjectExpression') this.markParamSinks(arg, scope, 'request');
    for (const arg of args) if (arg?.type === 'ObjectExpression') for (const prop of arg.properties) if (prop.type === 'Property' && (prop.key?.name ?? prop.key?.value) !== 'headers') this.markParamSinks(prop.value, scope, 'request');
  }

  /** Parameters of the enclosing functions that an expression carries into a request or an evaluator. */
  private markParamSinks(node: AstNode | undefined, scope: Scope, sink: 'request' | 'eval', depth = 0): void {
    if (!node || depth > 4) return;
    switch (node.type) {
      case 'Identifier': {
        const owner = scope.owner(node.name);
        const index = owner?.fnNode ? owner.fnNode.params.findIndex((p: AstNode) => (p.type === 'AssignmentPattern' ? p.left : p).type === 'Identifier' && (p.type === 'AssignmentPattern' ? p.left : p).name === node.name) : -1;
        if (owner?.fnNode && index >= 0) {
          const sinks = this.paramSinks.get(owner.fnNode) ?? new Map<number, Set<'request' | 'eval'>>();
          (sinks.get(index) ?? sinks.set(index, new Set()).get(index)!).add(sink);
          this.paramSinks.set(owner.fnNode, sinks);
        }
        return;
      }
      case 'MemberExpression':
        return this.markParamSinks(node.object, scope, sink, depth + 1);
      case 'CallExpression':
        for (const a of node.arguments) this.markParamSinks(a, scope, sink, depth + 1);
        if (node.callee.type === 'MemberExpression') this.markParamSinks(node.callee.object, scope, sink, depth + 1);
        return;
      case 'BinaryExpression':
      case 'LogicalExpression':
        this.markParamSinks(node.left, scope, sink, depth + 1);
        this.markParamSinks(node.right, scope, sink, depth + 1);
        return;
      case 'TemplateLiteral':
        for (const e of node.expressions) this.markParamSinks(e, scope, sink, depth + 1);
        return;
      case 'AwaitExpression':
      case 'SpreadElement':
        return this.markParamSinks(node.argument, scope, sink, depth + 1);
      default:
    }
  }

  /** Calls of this file's functions with tainted arguments, against what each parameter reaches. */
  private checkParamFlows(): void {
    for (const { node, scope, fn } of this.localCalls) {
      const sinks = this.paramSinks.get(fn);
      if (!sinks) continue;
      for (const [index, kinds] of sinks) {
        const arg = node.arguments[index];
        if (!arg || arg.type === 'SpreadElement') continue;
        const taint = this.taint(arg, scope);
        const name = fn.id?.name ?? print(node.callee);
        if (kinds.has('request') && taint & (T.secret | T.dotenv)) this.add('recon', node, `passes what it read from ${taint & T.secret ? 'a credential store' : "the project's .env"} to ${name}(), which sends it in a request`, 'secret-flow');
        if (kinds.has('eval') && taint & T.download) this.add('eval', node, `passes data downloaded by this code to ${name}(), which evaluates it`, 'eval-downloaded');
      }
    }
  }

  /** shimmer.wrap(https, 'request', ...) and friends, whatever the wrapper is called. */
  private wrapCall(node: AstNode, scope: Scope): void {
    const callee = node.callee;
    if (node.arguments.length < 2) return;
    const name = callee.type === 'Identifier' ? callee.name : callee.type === 'MemberExpression' ? this.key(callee, scope) : undefined;
    if (!name || !/^(?:_?wrap|massWrap|patch|_patch|replace|intercept|hook)$/i.test(name) || node.arguments.length < 2) return;
    const target = this.ref(node.arguments[0], scope);
    const key = this.constant(node.arguments[1], scope);
    if (!target || !key) return;
    if (target.guessed) return;
    const rule = hookRuleFor(normalize({ root: target.root, path: [...target.path, key.v] }));
    if (rule) this.hook('wrap-network-function', node);
  }

  /** A data: URL whose payload sits in a variable holding a large base64 string (bundlers inline workers this way). */
  private dataUrlText(node: AstNode | undefined, scope: Scope): { v: string; encoded: boolean } | undefined {
    if (!node || !this.partial(node, scope).startsWith('data:')) return undefined;
    this.blobsAsText = true;
    try {
      const text = this.constant(node, scope);
      return text && /^data:/i.test(text.v) ? text : undefined;
    } finally {
      this.blobsAsText = false;
    }
  }

  /**
   * import('data:text/javascript;base64,...'), new Worker(new URL('data:...')): the URL's payload
   * is code and is analysed as code. Bundlers inline workers as base64 data: URLs (Vite, Sentry's
   * ANR worker), so the encoding alone is no alarm; what the payload does decides, and a payload
   * that collects host data, reads secrets, runs processes or evaluates more code is a decoded payload run.
   */
  private dataUrl(spec: { v: string; encoded: boolean }, node: AstNode, what: string): void {
    const match = /^data:([^,]*),([\s\S]*)$/i.exec(spec.v);
    if (!match) return;
    const base64 = /;base64$/i.test(match[1]!);
    let code: string;
    try {
      code = base64 ? Buffer.from(match[2]!, 'base64').toString('utf8') : decodeURIComponent(match[2]!);
    } catch {
      return;
    }
    this.add('eval', node, `${what} of a data: URL (code in a string)`);
    const before = this.evidence.length;
    if (this.depth < MAX_DEPTH && code.trim()) this.nested(code, node, this.depth);
    const strong = this.evidence.slice(before).some((e) => e.capability === 'child-process' || e.capability === 'eval' || e.capability === 'recon' || (e.signal !== undefined && DATA_URL_ALARMS.has(e.signal)));
    if ((base64 || spec.encoded) && strong) {
      this.add('obfuscation', node, `${what} of code decoded from a base64 data: URL`, 'encoded-name');
      this.add('eval', node, `${what} of code decoded from a base64 data: URL`, 'decoded-exec');
    }
  }

  /** Code reaching an evaluator: constant code is analysed as code; data from the network or a blob is the alarm. */
  private sink(node: AstNode, arg: AstNode | undefined, scope: Scope, what: string, deserializer = false): void {
    if (!arg) return;
    const code = this.constant(arg, scope);
    if (code && !deserializer) {
      if (code.encoded) this.add('obfuscation', node, `${what} of code decoded from a constant`, 'encoded-name');
      if (this.depth < MAX_DEPTH && code.v.length > 0) this.nested(code.v, node, this.depth);
      if (code.encoded) this.add('eval', node, `${what}(<decoded constant>)`, 'decoded-exec');
      return;
    }
    if (!deserializer) this.add('eval', node, `${what}(${this.text(arg, 50)})`);
    this.sinkTaint(node, arg, scope, what, deserializer);
  }

  private sinkTaint(node: AstNode, arg: AstNode | undefined, scope: Scope, what: string, alwaysReport: boolean): void {
    const taint = this.taint(arg, scope);
    this.markParamSinks(arg, scope, 'eval');
    if (taint & T.download) this.add('eval', node, `${what} of data downloaded by this code`, 'eval-downloaded');
    if (taint & (T.blob | T.decoded)) {
      this.add('obfuscation', node, `${what} of a large encoded blob`, 'decoded-exec');
      this.add('eval', node, `${what} of a large encoded blob`, 'decoded-exec');
    }
    if (alwaysReport && !taint && what.includes('unserialize') && arg) this.add('eval', node, `${what}(${this.text(arg, 50)})`);
  }

  // ---- assignments: network hooks ----

  private assigned(target: Ref, node: AstNode, how: 'assign' | 'define'): void {
    if (target.guessed) return;
    const rule = hookRuleFor(target);
    if (rule) this.hook(rule, node);
    if (target.root === 'g:process' && target.path[0] === 'env' && (target.path[1] === 'NODE_TLS_REJECT_UNAUTHORIZED' || target.path[1] === 'NODE_EXTRA_CA_CERTS')) {
      this.hook('disable-tls-verification', node);
      this.add('network', node, `sets process.env.${target.path[1]}`, 'tls-disabled');
    }
    void how;
  }

  // ---- process.env ----

  private envUse(node: AstNode, parent: AstNode | undefined, grand: AstNode | undefined, scope: Scope): void {
    if (!parent) return;
    if (parent.type === 'MemberExpression' && parent.object === node) {
      const key = this.key(parent, scope);
      if (key !== undefined) {
        if (SECRET_ENV.test(key)) this.add('env', parent, `reads process.env.${key}`, 'env-secret');
      }
      return;
    }
    if (parent.type === 'VariableDeclarator' && parent.init === node) {
      if (parent.id.type === 'ObjectPattern') {
        for (const prop of parent.id.properties) {
          const key = prop.type === 'Property' ? (prop.computed ? this.constant(prop.key, scope)?.v : (prop.key.name ?? prop.key.value)) : undefined;
          if (typeof key === 'string' && SECRET_ENV.test(key)) this.add('env', prop, `reads process.env.${key}`, 'env-secret');
          if (prop.type === 'RestElement') this.add('env', node, 'copies the whole environment', 'env-bulk');
        }
      }
      return;
    }
    if (parent.type === 'AssignmentExpression' && parent.left === node) return;
    if (parent.type === 'Property' && parent.value === node && (parent.key.name ?? parent.key.value) === 'env') return;
    if (parent.type === 'SpreadElement' && grand?.type === 'ObjectExpression') {
      // {...process.env, X: 1} as a child's env: checked by the caller seeing the `env:` key.
      if (this.envObjectContext.has(grand)) return;
      if (this.serialized.has(grand)) this.add('env', node, 'the whole environment copied into data that is serialised', 'env-serialize');
      else this.add('env', node, 'copies the whole environment', 'env-bulk');
      return;
    }
    if (parent.type === 'CallExpression' && parent.arguments[0] === node) {
      const callee = this.ref(parent.callee, scope);
      const name = callee ? `${callee.root}${callee.path.length ? `.${callee.path.join('.')}` : ''}` : this.text(parent.callee, 40);
      if (callee?.root === 'g:Object' && callee.path[0] === 'assign') return; // writing into env
      if (/^(?:g:JSON\.stringify|g:Object\.(?:keys|entries|values|getOwnPropertyNames)|g:Buffer\.from|g:btoa|g:encodeURIComponent|g:URLSearchParams|mod:querystring\.(?:stringify|encode)|mod:util\.inspect|g:Reflect\.ownKeys)$/.test(name)) {
        this.add('env', node, `${name.replace(/^(?:g|mod):/, '')}(process.env): the whole environment serialised`, 'env-serialize');
        return;
      }
    }
    if (parent.type === 'NewExpression' && parent.arguments[0] === node && this.ref(parent.callee, scope)?.root === 'g:URLSearchParams') {
      this.add('env', node, 'new URLSearchParams(process.env): the whole environment serialised', 'env-serialize');
      return;
    }
    if (parent.type === 'ForInStatement' && parent.right === node) {
      this.add('env', node, 'iterates over every environment variable', 'env-serialize');
      return;
    }
    if (parent.type === 'TemplateLiteral' || (parent.type === 'BinaryExpression' && parent.operator === '+')) {
      this.add('env', node, 'the whole environment in a string', 'env-serialize');
      return;
    }
    if (parent.type === 'MemberExpression' || parent.type === 'ChainExpression') return;
    this.add('env', node, `the whole environment handed on (${this.text(parent, 60)})`, 'env-bulk');
  }

  private readonly envObjectContext = new WeakSet<AstNode>();
  /** Object literals handed to JSON.stringify, URLSearchParams, Buffer.from... */
  private readonly serialized = new WeakSet<AstNode>();

  // ---- the walk ----

  private bindPattern(pattern: AstNode, value: Val | null, base: Ref | undefined, scope: Scope, into: Scope): void {
    if (!pattern) return;
    switch (pattern.type) {
      case 'Identifier':
        into.vars.set(pattern.name, value);
        if (value?.t === 'ref') this.addRefName(pattern.name);
        else if (value?.t === 'obj') this.objNames.add(pattern.name);
        return;
      case 'AssignmentPattern':
        this.bindPattern(pattern.left, value, base, scope, into);
        return;
      case 'ObjectPattern':
        for (const prop of pattern.properties) {
          if (prop.type === 'RestElement') {
            this.bindPattern(prop.argument, base ? { t: 'ref', ref: base } : null, undefined, scope, into);
            continue;
          }
          const key = prop.computed ? this.symbolOrConstant(prop.key, scope) : (prop.key.name ?? String(prop.key.value));
          const ref = base && key !== undefined ? normalize({ root: base.root, path: [...base.path, key] }) : undefined;
          this.bindPattern(prop.value, ref ? { t: 'ref', ref } : value?.t === 'taint' ? value : null, ref, scope, into);
        }
        return;
      case 'ArrayPattern':
        for (const el of pattern.elements) if (el) this.bindPattern(el.type === 'RestElement' ? el.argument : el, value?.t === 'taint' ? value : null, undefined, scope, into);
        return;
      case 'RestElement':
        this.bindPattern(pattern.argument, null, undefined, scope, into);
        return;
      default:
    }
  }

  /** process.env, or a copy of it. */
  private isEnv(node: AstNode | undefined, scope: Scope): boolean {
    const ref = node && (node.type === 'Identifier' || node.type === 'MemberExpression') ? this.ref(node, scope) : undefined;
    return ref !== undefined && ((ref.root === 'g:process' && ref.path.length === 1 && ref.path[0] === 'env') || ref.root === 'copy:env');
  }

  /** { ...process.env }, Object.assign({}, process.env): a copy that is serialised later is the environment serialised. */
  private envCopy(node: AstNode, scope: Scope): boolean {
    if (node.type === 'ObjectExpression') return node.properties.length <= 64 && node.properties.some((p: AstNode) => p.type === 'SpreadElement' && this.isEnv(p.argument, scope));
    // structuredClone(process.env) copies it too.
    if (node.type === 'CallExpression' && node.arguments.length === 1 && node.callee.type === 'Identifier' && node.callee.name === 'structuredClone') return this.isEnv(node.arguments[0], scope);
    if (node.type === 'CallExpression' && node.arguments.length >= 2) {
      const ref = this.ref(node.callee, scope);
      return ref?.root === 'g:Object' && ref.path.length === 1 && ref.path[0] === 'assign' && node.arguments.slice(1).some((a: AstNode) => this.isEnv(a, scope));
    }
    return false;
  }

  valueOf(node: AstNode | null | undefined, scope: Scope): Val | null {
    if (!node) return null;
    if (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression') return decoderOf(node);
    // Not re-entered (the walk asks, not the folds); the memo is emptied for the next value.
    this.refMemoScope = scope;
    try {
      return this.valueIn(node, scope);
    } finally {
      this.refMemoScope = undefined;
      // The nodes stay in the list until overwritten: only the first refMemoSize entries are read.
      this.refMemoSize = 0;
    }
  }

  private valueIn(node: AstNode, scope: Scope): Val | null {
    if (node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression') return decoderOf(node);
    if ((node.type === 'ObjectExpression' || node.type === 'CallExpression') && this.envCopy(node, scope)) return { t: 'ref', ref: ENV_COPY };
    const ref = this.ref(node, scope);
    if (ref) return { t: 'ref', ref };
    const c = this.constant(node, scope);
    if (c) return isBlob(c.v) ? { t: 'blob', v: c.v } : { t: 'str', v: c.v.length > 4096 ? c.v.slice(0, 4096) : c.v, encoded: c.encoded };
    if ((node.type === 'ObjectExpression' || node.type === 'ArrayExpression') && !this.isBlobLiteral(node)) {
      const holder = this.mayHoldRef(node, 0) ? this.holderOf(node, scope) : undefined;
      if (holder) return holder;
      if (node.type === 'ArrayExpression' && node.elements.length <= 256 && node.elements.length > 0 && node.elements.every((el: AstNode | null) => el?.type === 'Literal')) return { t: 'arr', node };
    }
    const taint = this.taint(node, scope);
    if (taint) return { t: 'taint', kinds: taint };
    if (node.type === 'CallExpression' || node.type === 'BinaryExpression' || node.type === 'TemplateLiteral' || node.type === 'LogicalExpression' || node.type === 'MemberExpression') {
      const text = this.partial(node, scope, 0, true);
      if (/[^\0|/]/.test(text)) return { t: 'text', v: text.length > 1024 ? text.slice(0, 1024) : text };
    }
    return null;
  }

  private declare(node: AstNode, scope: Scope, functionScope: Scope): void {
    const into = node.kind === 'var' ? functionScope : scope;
    const declarations: AstNode[] = node.declarations;
    for (let i = 0; i < declarations.length; i++) {
      const decl = declarations[i]!;
      const value = this.valueOf(decl.init, scope);
      this.bindPattern(decl.id, value, value?.t === 'ref' ? value.ref : undefined, scope, into);
      if (decl.id.type === 'Identifier' && decl.init && (decl.init.type === 'FunctionExpression' || decl.init.type === 'ArrowFunctionExpression')) into.bindFn(decl.id.name, decl.init);
    }
  }

  /** Hoisting, approximately: a body's own declarations are bound before its statements run. */
  private hoist(body: AstNode[], scope: Scope): void {
    for (const statement of body) {
      const decl = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
      if (!decl) continue;
      if (decl.type === 'VariableDeclaration') {
        for (const d of decl.declarations) this.bindPattern(d.id, null, undefined, scope, scope);
      } else if (decl.type === 'FunctionDeclaration' && decl.id) {
        scope.vars.set(decl.id.name, decoderOf(decl));
        scope.bindFn(decl.id.name, decl);
      }
      else if (decl.type === 'ClassDeclaration' && decl.id) scope.vars.set(decl.id.name, null);
      else if (decl.type === 'ImportDeclaration') this.importDecl(decl, scope);
    }
    for (const statement of body) {
      const decl = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
      if (decl?.type === 'VariableDeclaration') this.declare(decl, scope, scope);
    }
  }

  private importDecl(node: AstNode, scope: Scope): void {
    const spec = String(node.source.value);
    if (spec.startsWith('.')) this.imports.add(spec);
    const root = moduleRoot(spec);
    for (const s of node.specifiers) {
      this.addRefName(s.local.name);
      if (s.type === 'ImportDefaultSpecifier' || s.type === 'ImportNamespaceSpecifier') scope.vars.set(s.local.name, { t: 'ref', ref: { root, path: [] } });
      else {
        const imported = s.imported.name ?? s.imported.value;
        scope.vars.set(s.local.name, { t: 'ref', ref: normalize({ root, path: [imported] }) });
      }
    }
  }

  private declareParams(fn: AstNode, scope: Scope): void {
    const kinds = this.taintParams.get(fn);
    const promise = this.executors.get(fn);
    scope.fnNode = fn;
    const moduleRef = this.paramRefs.get(fn);
    const params: AstNode[] = fn.params;
    for (let index = 0; index < params.length; index++) {
      const param = params[index]!;
      if (promise && index === 0 && param.type === 'Identifier') {
        scope.vars.set(param.name, { t: 'resolver', promise });
        this.resolvers++;
      }
      else if (moduleRef && index === 0) this.bindPattern(param, { t: 'ref', ref: moduleRef }, moduleRef, scope, scope);
      else this.bindPattern(param, kinds !== undefined ? { t: 'taint', kinds } : null, undefined, scope, scope);
    }
  }

  private literalRun(text: string, node: AstNode, whole: boolean): void {
    if (whole || text.length > 12) {
      if (this.shortLiterals.length > 0 && this.shortLiterals.at(-1) !== '\n') {
        this.shortLiterals.push('\n');
        this.shortLiteralNodes.push(node);
      }
      if (!whole) return;
      this.shortLiterals.push(text, '\n');
      this.shortLiteralNodes.push(node, node);
      return;
    }
    this.shortLiterals.push(text);
    this.shortLiteralNodes.push(node);
  }

  /**
   * An out-of-band host assembled from pieces ('web' + 'hook' + '.si' + 'te' in a loop, a table of
   * character codes): nobody splits such a name by accident. With a request in the same file, the
   * pieces are where the request goes.
   */
  private foldedEndpoints(): void {
    if (this.shortLiterals.length < 2) return;
    const joined = this.shortLiterals.join('');
    if (!EXFIL_HINT.test(joined)) return;
    const ends: number[] = [];
    let at = 0;
    for (const piece of this.shortLiterals) ends.push((at += piece.length));
    const requests = this.evidence.some((e) => e.capability === 'network' && e.signal !== 'endpoint-mention' && e.signal !== 'tls-disabled');
    FOLDED_RE.lastIndex = 0;
    for (let m = FOLDED_RE.exec(joined); m; m = FOLDED_RE.exec(joined)) {
      const start = m.index;
      const end = start + m[0].length;
      // The piece holding the match's first character; a match inside one literal was seen as that literal.
      let first = 0;
      while (ends[first]! <= start) first++;
      let last = first;
      while (ends[last]! < end) last++;
      const whole = this.shortLiterals[first]!.length > 12;
      if (!whole && last === first) continue;
      // Whole DNS labels: the name starts and ends at a piece's edge or next to a character no label has.
      const label = /[a-z0-9-]/i;
      const startOk = start === (first > 0 ? ends[first - 1] : 0) || !label.test(joined[start - 1]!);
      const endOk = end === ends[last] || !label.test(joined[end] ?? '');
      if (!startOk || !endOk) continue;
      this.add('network', this.shortLiteralNodes[first]!, `${requests ? 'request to' : 'mentions'} out-of-band service ${m[0]} (its name assembled from pieces)`, requests ? 'known-endpoint' : 'endpoint-mention');
    }
  }

  private program = new Scope(undefined);

  walk(root: AstNode): void {
    const program = this.program;
    this.hoist(root.body, program);
    this.visit(root, undefined, undefined, program, program);
    this.checkParamFlows();
    this.foldedEndpoints();
    if (this.obfuscatorNames >= 10 && this.obfuscatorAt) this.add('obfuscation', this.obfuscatorAt, `${this.obfuscatorNames} obfuscator-style identifiers (_0x…)`, 'obfuscator');
    if (this.blobAt) this.add('obfuscation', this.blobAt, `large encoded string (${String(this.blobAt.value).length} characters)`, 'encoded-blob');
  }

  /**
   * Recursive on purpose: no allocation per node. Too deep a tree throws RangeError (caught by the caller).
   * Identifiers and literals (about half of all nodes) have no children: they are handled here, in a
   * small frame, without the generic walk over their keys.
   */
  private visit(node: AstNode, parent: AstNode | undefined, grand: AstNode | undefined, outer: Scope, outerFn: Scope): void {
    switch (node.type) {
      case 'Identifier':
        this.identifier(node, parent, grand, outer);
        return;
      // The commonest nodes with children, whole here: none opens a scope, and visitNode()'s large
      // frame costs more than their rule and children do.
      case 'MemberExpression':
        // process.env, however it is reached (process.env, globalThis['process'].env, an alias).
        if (node.computed || node.property.name === 'env') this.envCandidate(node, parent, grand, outer);
        this.visit(node.object, node, parent, outer, outerFn);
        if (!node.computed && node.property.type === 'Identifier') this.name(node.property);
        else this.visit(node.property, node, parent, outer, outerFn);
        return;
      case 'Literal':
        this.literal(node, parent);
        return;
      case 'CallExpression':
      case 'NewExpression':
        this.callExpression(node, outer);
        this.visit(node.callee, node, parent, outer, outerFn);
        this.visitAll(node.arguments, node, parent, outer, outerFn);
        return;
      case 'ExpressionStatement':
        this.visit(node.expression, node, parent, outer, outerFn);
        return;
      case 'BinaryExpression':
      case 'LogicalExpression':
        this.visit(node.left, node, parent, outer, outerFn);
        this.visit(node.right, node, parent, outer, outerFn);
        return;
      case 'ThisExpression':
      case 'Super':
      case 'EmptyStatement':
      case 'DebuggerStatement':
      case 'TemplateElement':
      case 'PrivateIdentifier':
        return;
      default:
        this.visitNode(node, parent, grand, outer, outerFn);
    }
  }

  private identifier(node: AstNode, parent: AstNode | undefined, grand: AstNode | undefined, scope: Scope): void {
    this.name(node);
    // process.env through an alias (const p = process; p.env).
    if (
      this.isRefName(node.name) &&
      scope.lookup(node.name)?.t === 'ref' &&
      !(parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) &&
      !(parent?.type === 'Property' && parent.key === node && !parent.computed) &&
      !(parent?.type === 'VariableDeclarator' && parent.id === node) &&
      !(parent && /Pattern$|^RestElement$|Function|^ImportSpecifier$/.test(parent.type))
    ) {
      this.envCandidate(node, parent, grand, scope);
    }
  }

  /**
   * An identifier where it names no value (a member's or property's key, a declared name, a
   * parameter): what identifier() does there, since none of these can be an alias in use. Called
   * straight from the walk, without visit()'s dispatch: a third of all identifiers are such names.
   */
  private name(node: AstNode): void {
    if (node.name.charCodeAt(0) === 95 && /^_0x[0-9a-f]{3,}$/i.test(node.name)) {
      this.obfuscatorNames++;
      this.obfuscatorAt ??= node;
    }
  }

  private literal(node: AstNode, parent: AstNode | undefined): void {
    if (typeof node.value === 'string') {
      this.literalRun(node.value, node, false);
      if (node.value.length > 8) {
        if (!this.blobAt && isBlob(node.value)) {
          this.blobAt = node;
          this.taintSources++;
        }
        if (!(parent?.type === 'Property' && parent.key === node) && !(parent?.type === 'ImportDeclaration')) this.endpoints(node.value, node, false);
      }
    }
  }

  private envCandidate(node: AstNode, parent: AstNode | undefined, grand: AstNode | undefined, scope: Scope): void {
    const ref = this.ref(node, scope);
    if (ref && ((ref.root === 'g:process' && ref.path.length === 1 && ref.path[0] === 'env') || (ref.root === 'copy:env' && ref.path.length === 0)) && !(parent?.type === 'VariableDeclarator' && parent.init === node && parent.id.type === 'Identifier')) this.envUse(node, parent, grand, scope);
  }

  /**
   * A node with children: its own rule (each in a small method of its own, so the walk's frame
   * stays small and a rule's deoptimisation does not take the walk with it), then its children.
   */
  private visitNode(node: AstNode, parent: AstNode | undefined, grand: AstNode | undefined, outer: Scope, outerFn: Scope): void {
    let scope = outer;
    let fnScope = outerFn;
    // The most frequent types first (a switch on strings compares in order).
    switch (node.type) {
      case 'Property':
        if (!node.computed && (node.key.name ?? node.key.value) === 'env' && node.value.type === 'ObjectExpression') this.envObjectContext.add(node.value);
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        scope = fnScope = this.enterFunction(node, outer);
        break;
      case 'ReturnStatement':
        if (node.argument && this.returnStack.length > 0) (this.returnStack[this.returnStack.length - 1] ??= []).push([node.argument, scope]);
        break;
      case 'BlockStatement':
      case 'StaticBlock':
        if (parent && (parent.type === 'FunctionDeclaration' || parent.type === 'FunctionExpression' || parent.type === 'ArrowFunctionExpression')) break;
        scope = this.enterBlock(node, outer);
        break;
      case 'CatchClause':
        scope = new Scope(outer);
        if (node.param) this.bindPattern(node.param, null, undefined, scope, scope);
        break;
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement': {
        const head = node.type === 'ForStatement' ? node.init : node.left;
        if (head?.type === 'VariableDeclaration' && head.kind !== 'var') scope = new Scope(outer);
        break;
      }
      case 'ClassDeclaration':
      case 'ClassExpression':
        scope = new Scope(outer);
        if (node.id) scope.vars.set(node.id.name, null);
        break;
      case 'VariableDeclaration':
        this.declare(node, scope, fnScope);
        break;
      case 'ImportDeclaration':
        this.importDecl(node, scope);
        break;
      case 'ExportNamedDeclaration':
      case 'ExportAllDeclaration':
        if (node.source && String(node.source.value).startsWith('.')) this.imports.add(String(node.source.value));
        break;
      case 'ImportExpression':
        this.importExpression(node, scope);
        break;
      case 'AssignmentExpression':
        this.assignment(node, scope);
        break;
      case 'ArrayExpression':
        if (node.elements.length >= 6 && node.elements.length <= 512 && node.elements[0]?.type === 'Literal' && typeof node.elements[0].value === 'number') this.charCodeTable(node);
        break;
      case 'TemplateLiteral':
        // endpoints() wants a dot: the joined text is built only when a piece has one.
        if (node.quasis.some((q: AstNode) => q.value.cooked?.includes('.'))) this.endpoints(node.quasis.map((q: AstNode) => q.value.cooked ?? '').join('\0'), node, false);
        break;
      default:
    }
    // Children, in source order: by name for the common node types (here and in visit(); WALKED_CHILDREN,
    // held against the parser by test/audit/analyze-walk.test.ts), any other type by its keys.
    switch (node.type) {
      case 'ChainExpression':
        this.visit(node.expression, node, parent, scope, fnScope);
        break;
      case 'AssignmentExpression':
        this.visit(node.left, node, parent, scope, fnScope);
        this.visit(node.right, node, parent, scope, fnScope);
        break;
      case 'VariableDeclaration':
        this.visitAll(node.declarations, node, parent, scope, fnScope);
        break;
      case 'VariableDeclarator':
        if (node.id.type === 'Identifier') this.name(node.id);
        else this.visit(node.id, node, parent, scope, fnScope);
        if (node.init) this.visit(node.init, node, parent, scope, fnScope);
        break;
      case 'Property':
        if (!node.computed && node.key.type === 'Identifier') this.name(node.key);
        else this.visit(node.key, node, parent, scope, fnScope);
        if (node.value) this.visit(node.value, node, parent, scope, fnScope);
        break;
      case 'ObjectExpression':
        this.visitAll(node.properties, node, parent, scope, fnScope);
        break;
      case 'ArrayExpression':
        this.visitAll(node.elements, node, parent, scope, fnScope);
        break;
      case 'BlockStatement':
      case 'Program':
        this.visitAll(node.body, node, parent, scope, fnScope);
        break;
      case 'ReturnStatement':
      case 'UnaryExpression':
      case 'UpdateExpression':
      case 'SpreadElement':
      case 'AwaitExpression':
      case 'ThrowStatement':
        if (node.argument) this.visit(node.argument, node, parent, scope, fnScope);
        break;
      case 'IfStatement':
      case 'ConditionalExpression':
        this.visit(node.test, node, parent, scope, fnScope);
        this.visit(node.consequent, node, parent, scope, fnScope);
        if (node.alternate) this.visit(node.alternate, node, parent, scope, fnScope);
        break;
      case 'SequenceExpression':
        this.visitAll(node.expressions, node, parent, scope, fnScope);
        break;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression': {
        if (node.id) this.visit(node.id, node, parent, scope, fnScope);
        const params: AstNode[] = node.params;
        for (let i = 0; i < params.length; i++) {
          if (params[i]!.type === 'Identifier') this.name(params[i]!);
          else this.visit(params[i]!, node, parent, scope, fnScope);
        }
        this.visit(node.body, node, parent, scope, fnScope);
        // enterFunction() pushed only functions, so only a function can be on top of the stack here.
        if (this.fnStack.length > 0 && this.fnStack[this.fnStack.length - 1] === node) this.leaveFunction(node);
        break;
      }
      default:
        this.visitKeys(node, parent, scope, fnScope);
    }
  }

  private visitAll(list: Array<AstNode | null>, node: AstNode, parent: AstNode | undefined, scope: Scope, fnScope: Scope): void {
    for (let i = 0; i < list.length; i++) {
      const child = list[i];
      if (child) this.visit(child, node, parent, scope, fnScope);
    }
  }

  /** Every child of a node, in the order of its keys (the parser's source order). */
  private visitKeys(node: AstNode, parent: AstNode | undefined, scope: Scope, fnScope: Scope): void {
    for (const key in node) {
      const value = node[key];
      if (value === null || typeof value !== 'object' || key === 'range' || key === 'loc' || key === 'regex') continue;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const child = value[i];
          if (child !== null && typeof child === 'object' && typeof child.type === 'string') this.visit(child, node, parent, scope, fnScope);
        }
      } else if (typeof value.type === 'string') this.visit(value, node, parent, scope, fnScope);
    }
  }

  private enterFunction(node: AstNode, outer: Scope): Scope {
    // Declarations in blocks were not hoisted: bind the name where it is visible.
    if (node.type === 'FunctionDeclaration' && node.id && !outer.vars.has(node.id.name)) {
      outer.vars.set(node.id.name, decoderOf(node));
      outer.bindFn(node.id.name, node);
    }
    const scope = new Scope(outer);
    if (node.type === 'FunctionExpression' && node.id) scope.vars.set(node.id.name, null);
    this.declareParams(node, scope);
    scope.vars.set('arguments', null);
    if (node.body.type === 'BlockStatement') this.hoist(node.body.body, scope);
    this.fnStack.push(node);
    this.returnStack.push(node.body.type === 'BlockStatement' ? undefined : [[node.body, scope]]);
    return scope;
  }

  /** The body has been walked: what the function returns is known (a download resolved inside a callback too). */
  private leaveFunction(node: AstNode): void {
    this.fnStack.pop();
    const returns = this.returnStack.pop();
    let kinds: Taints = 0;
    if (returns && this.taintSources > 0) for (const [argument, at] of returns) kinds |= this.taint(argument, at);
    if (kinds) this.fnTaint.set(node, kinds);
  }

  /** A block's own let/const/class/function names, in a scope of its own when it has any. */
  private enterBlock(node: AstNode, outer: Scope): Scope {
    let scope = outer;
    for (const statement of node.body) {
      if (statement.type === 'VariableDeclaration' && statement.kind !== 'var') {
        if (scope === outer) scope = new Scope(outer);
        for (const d of statement.declarations) this.bindPattern(d.id, null, undefined, scope, scope);
      } else if (statement.type === 'FunctionDeclaration' || statement.type === 'ClassDeclaration') {
        if (scope === outer) scope = new Scope(outer);
        if (statement.type === 'FunctionDeclaration' && statement.id) {
          scope.vars.set(statement.id.name, decoderOf(statement));
          scope.bindFn(statement.id.name, statement);
        }
      }
    }
    return scope;
  }

  private importExpression(node: AstNode, scope: Scope): void {
    const spec = this.constant(node.source, scope);
    const withBlob = spec ? undefined : this.dataUrlText(node.source, scope);
    if (withBlob) this.dataUrl(withBlob, node, 'import()');
    else if (!spec) {
      this.add('dynamic-require', node, `import(${this.text(node.source, 60)})`);
      if (this.partial(node.source, scope).startsWith('data:')) this.add('eval', node, 'import() of a data: URL built at run time (code in a string)');
      this.sinkTaint(node, node.source, scope, 'import()', false);
    }
    else if (spec.v.startsWith('.')) this.imports.add(spec.v);
    else if (/^data:/i.test(spec.v)) this.dataUrl(spec, node, 'import()');
  }

  private assignment(node: AstNode, scope: Scope): void {
    if (node.left.type === 'Identifier') {
      const owner = scope.owner(node.left.name);
      const value = node.operator === '=' ? this.valueOf(node.right, scope) : node.operator === '+=' ? this.valueOf(node.right, scope) : null;
      if (owner) {
        const previous = owner.vars.get(node.left.name);
        if (value?.t === 'taint' && previous?.t === 'taint') value.kinds |= previous.kinds;
        if (value?.t === 'ref') this.addRefName(node.left.name);
        if (value?.t === 'obj') this.objNames.add(node.left.name);
        if (node.operator === '=' || value?.t === 'taint') owner.vars.set(node.left.name, value ?? (node.operator === '=' ? null : (previous ?? null)));
      } else if (GLOBALS.has(node.left.name) || ['fetch', 'XMLHttpRequest', 'Request', 'Headers', 'Response'].includes(node.left.name)) {
        this.assigned({ root: `g:${node.left.name}`, path: [] }, node, 'assign');
      } else {
        if (value?.t === 'ref') this.addRefName(node.left.name);
        this.program.vars.set(node.left.name, value);
      }
    } else if (node.left.type === 'MemberExpression') {
      const target = this.ref(node.left, scope);
      if (target && node.operator !== '+=' && node.operator !== '-=') this.assigned(target, node, 'assign');
      else if (!target && node.operator === '=' && node.left.object.type === 'Identifier') {
        this.storeInHolder(node.left, node.right, scope);
        // result.npmrc = readFileSync(...): the object now carries what was read or downloaded.
        const owner = scope.owner(node.left.object.name);
        const current = owner?.vars.get(node.left.object.name);
        if (owner && (current === null || current?.t === 'taint' || current?.t === 'text')) {
          const kinds = this.taint(node.right, scope) & ~T.shipped;
          if (kinds) owner.vars.set(node.left.object.name, { t: 'taint', kinds: current?.t === 'taint' ? kinds | current.kinds : kinds });
        }
      }
    } else if (node.left.type === 'ObjectPattern') {
      const value = this.valueOf(node.right, scope);
      this.bindPattern(node.left, value, value?.t === 'ref' ? value.ref : undefined, scope, scope);
    }
  }

  private callExpression(node: AstNode, scope: Scope): void {
    if (node.type === 'NewExpression' && node.callee.type === 'Identifier' && node.callee.name === 'Promise' && scope.lookup('Promise') === undefined && (node.arguments[0]?.type === 'FunctionExpression' || node.arguments[0]?.type === 'ArrowFunctionExpression')) this.executors.set(node.arguments[0], node);
    this.call(node, scope);
    this.wrapCall(node, scope);
  }

  /** A table of character codes: a host spelled as numbers however it is decoded (map, reduce, a loop). */
  private charCodeTable(node: AstNode): void {
    let text = '';
    for (const el of node.elements) {
      if (el?.type !== 'Literal' || typeof el.value !== 'number' || !Number.isInteger(el.value) || el.value < 32 || el.value > 126) {
        text = '';
        break;
      }
      text += String.fromCharCode(el.value);
    }
    if (text) this.literalRun(text, node, true);
  }
}


/**
 * `function e(x) { return Buffer.from(x, 'hex').toString() }`: a decoder the package wrote, so its
 * calls on constants can be folded (event-stream's flatmap-stream hid its module names this way).
 */
function decoderOf(fn: AstNode): Val | null {
  if (fn.params.length < 1 || fn.params[0].type !== 'Identifier') return null;
  const param = fn.params[0].name;
  let body = fn.body;
  if (body.type === 'BlockStatement') {
    if (body.body.length !== 1 || body.body[0].type !== 'ReturnStatement') return null;
    body = body.body[0].argument;
  }
  if (!body) return null;
  if (body.type === 'CallExpression' && body.callee.type === 'MemberExpression' && !body.callee.computed && body.callee.property.name === 'toString') body = body.callee.object;
  if (body.type !== 'CallExpression') return null;
  const uses = (n: AstNode | undefined) => n?.type === 'Identifier' && n.name === param;
  const callee = body.callee;
  if (callee.type === 'Identifier' && callee.name === 'atob' && uses(body.arguments[0])) return { t: 'decoder', encoding: 'atob' };
  if (callee.type === 'MemberExpression' && callee.object.type === 'Identifier' && callee.object.name === 'Buffer' && !callee.computed && callee.property.name === 'from' && uses(body.arguments[0])) {
    const enc = body.arguments[1];
    if (enc?.type === 'Literal' && typeof enc.value === 'string' && Buffer.isEncoding(enc.value)) return { t: 'decoder', encoding: enc.value };
  }
  return null;
}

/** `(c) => expr` or `function (c) { return expr }` with plain parameters: a callback that can be folded. */
function callbackBody(fn: AstNode | undefined): { params: string[]; expression: AstNode } | undefined {
  if (!fn || (fn.type !== 'ArrowFunctionExpression' && fn.type !== 'FunctionExpression') || fn.params.length === 0 || fn.params.some((p: AstNode) => p.type !== 'Identifier')) return undefined;
  let expression = fn.body;
  if (expression.type === 'BlockStatement') {
    if (expression.body.length !== 1 || expression.body[0].type !== 'ReturnStatement' || !expression.body[0].argument) return undefined;
    expression = expression.body[0].argument;
  }
  return { params: fn.params.map((p: AstNode) => p.name as string), expression };
}

/**
 * The children FileAnalyzer.visit and visitNode walk by name, per node type, in the parser's order (every
 * other type is walked by its keys). Kept here as data so a test can hold it against the parser:
 * a child key missing from this list would be code the analysis never reads.
 */
export const WALKED_CHILDREN: Readonly<Record<string, readonly string[]>> = {
  MemberExpression: ['object', 'property'],
  CallExpression: ['callee', 'arguments'],
  NewExpression: ['callee', 'arguments'],
  ExpressionStatement: ['expression'],
  ChainExpression: ['expression'],
  BinaryExpression: ['left', 'right'],
  LogicalExpression: ['left', 'right'],
  AssignmentExpression: ['left', 'right'],
  VariableDeclaration: ['declarations'],
  VariableDeclarator: ['id', 'init'],
  Property: ['key', 'value'],
  ObjectExpression: ['properties'],
  ArrayExpression: ['elements'],
  BlockStatement: ['body'],
  Program: ['body'],
  ReturnStatement: ['argument'],
  UnaryExpression: ['argument'],
  UpdateExpression: ['argument'],
  SpreadElement: ['argument'],
  AwaitExpression: ['argument'],
  ThrowStatement: ['argument'],
  IfStatement: ['test', 'consequent', 'alternate'],
  ConditionalExpression: ['test', 'consequent', 'alternate'],
  SequenceExpression: ['expressions'],
  FunctionDeclaration: ['id', 'params', 'body'],
  FunctionExpression: ['id', 'params', 'body'],
  ArrowFunctionExpression: ['params', 'body'],
  // Leaves: visit() handles them without looking at their keys.
  Identifier: [],
  Literal: [],
  ThisExpression: [],
  Super: [],
  EmptyStatement: [],
  DebuggerStatement: [],
  TemplateElement: [],
  PrivateIdentifier: [],
};

/** What makes a base64 data: URL's code a hidden payload rather than an inlined worker. */
const DATA_URL_ALARMS = new Set<Signal>(['known-endpoint', 'env-serialize', 'env-secret', 'credential-read', 'host-recon', 'shell-network', 'shell-pipe', 'decoded-exec', 'eval-downloaded', 'spawn-shipped']);

/** A copy of process.env held in a variable. */
const ENV_COPY: Ref = { root: 'copy:env', path: [] };

/** What a server's handler calls the request it got, and the parts of it that came from the client. */
const REQUEST_NAMES = new Set(['req', 'request', 'ctx', 'event']);
const REQUEST_PARTS = new Set(['headers', 'cookies', 'query', 'body', 'params', 'url', 'rawHeaders']);

/** What `x.read(...)`-style calls read (a file's content, tainted by what the path names). */
const FILE_READS = new Set(['read', 'readFile', 'readSync', 'readFileSync']);

/** Reflect.apply(f, this, args) calls f; Reflect.construct(F, args) is new F(...args). */
function isReflectCall(ref: Ref | undefined): boolean {
  return ref !== undefined && ref.root === 'g:Reflect' && ref.path.length === 1 && (ref.path[0] === 'apply' || ref.path[0] === 'construct');
}

/** The expressions a module name handed to any call is folded from (see ref()). */
function isFoldableName(type: string): boolean {
  return type === 'Literal' || type === 'TemplateLiteral' || type === 'BinaryExpression' || type === 'Identifier';
}

/** Built-in modules whose very name, handed to any call, is taken as loading them (see ref()). */
const LOADABLE_BY_NAME = /^(?:node:)?(?:https?|http2|net|tls|dns|dgram|child_process|os)$/;
/** Globals that are functions: their `.constructor` is Function. */
const FUNCTION_GLOBALS = new Set(['require', 'fetch', 'eval', 'Function', 'Buffer', 'atob', 'btoa', 'Object', 'String', 'Symbol', 'setTimeout', 'setInterval', 'setImmediate', 'unescape', 'escape', 'decodeURIComponent', 'decodeURI', 'encodeURIComponent', 'URL', 'URLSearchParams', 'Request', 'Headers', 'Response', 'XMLHttpRequest', 'WebSocket', 'EventSource']);

/** A reference that is a function (a global function, a method of a global or a module's function export). */
function isFunctionRef(ref: Ref): boolean {
  const last = ref.path.at(-1);
  if (ref.root.startsWith('g:')) {
    const name = ref.root.slice(2);
    if (ref.path.length === 0) return FUNCTION_GLOBALS.has(name);
    return ['Object', 'JSON', 'String', 'Reflect', 'Symbol', 'Function', 'Buffer', 'require'].includes(name) && ref.path.length === 1 && last !== 'prototype' && last !== 'cache' && last !== 'main';
  }
  // https.get.constructor, fs.readFileSync.constructor; not the module object itself.
  return ref.root.startsWith('mod:') && ref.path.length >= 1 && !/^(?:prototype|promises|globalAgent|constants|default|env|cache|main)$/.test(last ?? '');
}

/** Which credential a read of this (folded) path yields: the project's .env, or a credential store. */
function readKind(path: string): 'secret' | 'dotenv' | undefined {
  if (!CREDENTIAL_PATH.test(path)) return undefined;
  return isDotenvOnly(path) ? 'dotenv' : 'secret';
}

/** The path names the project's .env (relative or from the working folder), nothing else. */
function isDotenvOnly(path: string): boolean {
  return DOTENV_FILE.test(path) && !/(?:^|[\\/])~|\$HOME|\$USERPROFILE/.test(path) && !CREDENTIAL_PATH.test(path.replace(DOTENV_FILES, ''));
}

/** atob, Buffer.from(x, 'base64'|'hex'), zlib's inflate/gunzip, String.fromCharCode, unescape: decoders proper. */
function isRealDecoder(ref: Ref | undefined, node: AstNode, constantOf: (n: AstNode) => string | undefined): boolean {
  if (!ref) return false;
  const name = `${ref.root}${ref.path.length ? `.${ref.path.join('.')}` : ''}`;
  if (name === 'g:atob' || name === 'g:unescape' || name === 'g:decodeURIComponent' || name === 'g:String.fromCharCode' || name === 'g:String.fromCodePoint') return true;
  if (ref.root === 'mod:zlib' && ZLIB_DECODERS.has(ref.path[0] ?? '')) return true;
  if (name === 'g:Buffer.from' || name === 'mod:buffer.Buffer.from') {
    const enc = node.arguments[1] ? constantOf(node.arguments[1]) : undefined;
    return enc !== undefined && /^(?:base64|base64url|hex|latin1|binary|ucs2|utf16le)$/i.test(enc);
  }
  return false;
}

/** A long run of base64 or hex: what payloads are shipped as. */
export function isBlob(value: string): boolean {
  if (value.length < BLOB_MIN || value.startsWith('data:')) return false;
  const sample = (value.length > 4096 ? value.slice(0, 2048) + value.slice(-2048) : value).replace(/\r?\n/g, '');
  if (/^[0-9a-fA-F]+$/.test(sample)) return true;
  return /^[A-Za-z0-9+/=_-]+$/.test(sample) && /\d/.test(sample) && /[A-Z]/.test(sample) && /[a-z]/.test(sample);
}

function isPublicIp([a, b]: number[]): boolean {
  if (a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b! >= 16 && b! < 32) || (a === 192 && b === 168) || a! >= 224) return false;
  return true;
}

function clip(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function describe(ref: Ref): string {
  return `${ref.root.replace(/^(?:g|mod|binding|sym):/, '')}${ref.path.length ? `.${ref.path.join('.')}` : ''}`;
}

/** Which network-hook rule an assignment to this reference breaks, if any. */
export function hookRuleFor(ref: Ref): HookRule | undefined {
  const { root, path } = ref;
  const p = path.join('.');
  if (root === 'mod:http' || root === 'mod:https') {
    if (/^(?:request|get|globalAgent(?:\..*)?|Agent|ClientRequest|(?:Agent|ClientRequest)\.prototype\..+)$/.test(p)) return 'reassign-http-request';
  }
  if (root === 'mod:tls' && /^(?:connect|createSecureContext|checkServerIdentity|DEFAULT_MIN_VERSION|DEFAULT_CIPHERS|rootCertificates|TLSSocket|TLSSocket\.prototype\..+|SecureContext.*)$/.test(p)) return 'reassign-tls-connect';
  if (root === 'mod:net' && /^(?:connect|createConnection|Socket|Socket\.prototype\.(?:connect|write|_writeGeneric))$/.test(p)) return 'reassign-net-connect';
  if (root === 'mod:http2' && /^(?:connect)$/.test(p)) return 'reassign-http-request';
  // Replacing the global Request/Response classes is what server adapters do; fetch itself sees every request.
  if (path.length === 0 && root === 'g:fetch') return 'reassign-fetch';
  if (root === 'g:XMLHttpRequest' && (p === '' || /^prototype\.(?:open|send|setRequestHeader)$/.test(p))) return 'patch-xmlhttprequest';
  if (root === 'g:@@undici.globalDispatcher.1' && p === '') return 'replace-undici-dispatcher';
  return undefined;
}

export interface AnalyzeOptions {
  /** Parse as an ES module first (.mjs, "type": "module"). */
  module?: boolean;
  /** Exact offsets from the start (files an install script runs). */
  precise?: boolean;
  depth?: number;
  lineOffset?: number;
}

/**
 * Thrown by the offset-free pass at the first hook or precise signal: that pass's result would be
 * discarded for the one with offsets, so the rest of its walk is not done. (Pushed before it is
 * thrown: should a rule's own try/catch swallow it, the check after the pass still sees it.)
 */
const NEEDS_OFFSETS = Symbol('needs offsets');

/** Signals a finding points at: a file that has one is parsed again with offsets, for exact lines. */
const PRECISE_SIGNALS = new Set<Signal>(['known-endpoint', 'env-serialize', 'credential-read', 'shell-pipe', 'spawn-shipped', 'eval-downloaded', 'decoded-exec', 'obfuscator', 'encoded-name', 'tls-disabled']);

/**
 * Files at least this long (in UTF-16 units) are parsed with offsets from the start. Offsets make
 * meriyah ~35% slower, so small files go without and are parsed again in the rare case they need
 * them; but the files that need them are mostly large bundles (in a 1,000-package tree, 89 files
 * of 28,000 were parsed twice, 16 MB of their 25 MB in files over 1 MB), and parsing a large file
 * twice costs more than parsing it once with offsets. Only the cost changes with this: the walk
 * is the same (the offset-free walk ignores offsets it is given), so the findings are too.
 */
export const OFFSETS_UP_FRONT = 1_000_000;

export function analyzeSource(source: string, options: AnalyzeOptions = {}): FileFacts {
  const depth = options.depth ?? 0;
  const moduleFirst = options.module ?? /\b(?:import|export)\s*[{*\w]/.test(source);
  let tree: { ast: AstNode; offsets: boolean } | undefined;
  const run = (precise: boolean): FileFacts => {
    if (!tree || (precise && !tree.offsets)) {
      const offsets = precise || source.length >= OFFSETS_UP_FRONT;
      const parsed = parseSource(source, moduleFirst, offsets);
      if (!parsed.ast) return { parsed: false, parseError: parsed.error, evidence: [], hooks: [], imports: [] };
      tree = { ast: parsed.ast, offsets };
    }
    const analyzer = new FileAnalyzer(source, depth, options.lineOffset ?? 0, precise);
    analyzer.walk(tree.ast);
    return { parsed: true, evidence: analyzer.evidence, hooks: analyzer.hooks, imports: [...analyzer.imports] };
  };
  if (options.precise || depth > 0) return guarded(() => run(true));
  let first: FileFacts;
  try {
    first = guarded(() => run(false));
  } catch (error) {
    if (error === NEEDS_OFFSETS) return run(true);
    throw error;
  }
  if (first.parsed && (first.hooks.length > 0 || first.evidence.some((e) => e.signal !== undefined && PRECISE_SIGNALS.has(e.signal)))) return run(true);
  return first;
}

function guarded(run: () => FileFacts): FileFacts {
  try {
    return run();
  } catch (error) {
    // A tree deeper than the stack (generated parser tables): the caller falls back to the line scanner.
    if (error instanceof RangeError) return { parsed: false, parseError: `too deeply nested to analyse (${error.message})`, evidence: [], hooks: [], imports: [] };
    throw error;
  }
}

function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36;
}

function needleOf(node: AstNode | undefined): string | undefined {
  if (!node) return undefined;
  switch (node.type) {
    case 'CallExpression':
    case 'NewExpression':
      return needleOf(node.callee);
    case 'MemberExpression':
      if (!node.computed && node.property.type === 'Identifier') return node.property.name;
      return node.property.type === 'Literal' && typeof node.property.value === 'string' ? node.property.value : needleOf(node.object);
    case 'Identifier':
      return node.name;
    case 'Literal':
      return typeof node.value === 'string' && node.value.length > 0 ? node.value.slice(0, 40) : undefined;
    case 'TemplateLiteral': {
      const quasi = node.quasis.find((q: AstNode) => q.value.cooked);
      return quasi ? String(quasi.value.cooked).slice(0, 40) : needleOf(node.expressions[0]);
    }
    case 'AssignmentExpression':
      return needleOf(node.left);
    case 'Property':
      return needleOf(node.key);
    case 'ChainExpression':
    case 'ParenthesizedExpression':
      return needleOf(node.expression);
    case 'AwaitExpression':
    case 'SpreadElement':
      return needleOf(node.argument);
    default:
      return undefined;
  }
}

/** A short rendering of an expression for evidence text (no offsets needed). */
function print(node: AstNode | null | undefined, depth = 0): string {
  if (!node) return '';
  if (depth > 4) return '…';
  switch (node.type) {
    case 'Identifier':
      return node.name;
    case 'PrivateIdentifier':
      return `#${node.name}`;
    case 'ThisExpression':
      return 'this';
    case 'Literal':
      return typeof node.value === 'string' ? JSON.stringify(node.value.length > 60 ? `${node.value.slice(0, 57)}...` : node.value) : String(node.value ?? node.raw ?? '');
    case 'TemplateLiteral':
      return `\`${node.quasis.map((q: AstNode) => q.value.cooked ?? '').join('${…}')}\``;
    case 'MemberExpression':
      return node.computed ? `${print(node.object, depth + 1)}[${print(node.property, depth + 1)}]` : `${print(node.object, depth + 1)}.${print(node.property, depth + 1)}`;
    case 'CallExpression':
    case 'NewExpression':
      return `${node.type === 'NewExpression' ? 'new ' : ''}${print(node.callee, depth + 1)}(${node.arguments.map((a: AstNode) => print(a, depth + 1)).join(', ')})`;
    case 'BinaryExpression':
    case 'LogicalExpression':
      return `${print(node.left, depth + 1)} ${node.operator} ${print(node.right, depth + 1)}`;
    case 'AssignmentExpression':
      return `${print(node.left, depth + 1)} ${node.operator} ${print(node.right, depth + 1)}`;
    case 'AwaitExpression':
      return `await ${print(node.argument, depth + 1)}`;
    case 'SpreadElement':
      return `...${print(node.argument, depth + 1)}`;
    case 'ChainExpression':
    case 'ParenthesizedExpression':
      return print(node.expression, depth);
    case 'ArrayExpression':
      return `[${node.elements.slice(0, 4).map((e: AstNode) => print(e, depth + 1)).join(', ')}${node.elements.length > 4 ? ', …' : ''}]`;
    case 'ObjectExpression':
      return '{…}';
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
      return 'function';
    case 'VariableDeclarator':
      return `${print(node.id, depth + 1)} = ${print(node.init, depth + 1)}`;
    case 'ObjectPattern':
      return '{…}';
    default:
      return node.type;
  }
}

/** A shell command or script (an install script, a .sh file it runs), line by line. */
export function analyzeCommand(command: string): Evidence[] {
  const analyzer = new FileAnalyzer(command, 0, 0);
  let start = 0;
  for (const line of command.split('\n')) {
    const end = start + line.length;
    if (!/^\s*(?:#|rem\b|::)/i.test(line) && line.trim()) analyzer.commandLine(line, { type: 'Literal', start, end } as AstNode);
    start = end + 1;
  }
  return analyzer.evidence;
}
