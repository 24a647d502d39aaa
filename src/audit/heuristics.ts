/**
 * Network-hooking heuristics over installed JavaScript: code that replaces the functions every
 * request goes through, or ships the environment off the machine. Pure: text in, hits out.
 * Line-based on purpose: fast over a whole node_modules, and each hit has a file:line to read.
 */

export type HookRule =
  | 'reassign-http-request'
  | 'reassign-tls-connect'
  | 'reassign-net-connect'
  | 'reassign-fetch'
  | 'replace-undici-dispatcher'
  | 'patch-xmlhttprequest'
  | 'wrap-network-function'
  | 'env-exfiltration'
  | 'disable-tls-verification';

export interface HookHit {
  rule: HookRule;
  line: number;
  column: number;
  snippet: string;
}

const ASSIGN = String.raw`\s*(?:=(?![=>])|\|\|=|\?\?=)`;
const HTTP_MODULE = String.raw`(?:\bhttps?|require\(\s*['"](?:node:)?https?['"]\s*\))`;

const LINE_RULES: Array<{ rule: HookRule; re: RegExp }> = [
  { rule: 'reassign-http-request', re: new RegExp(String.raw`${HTTP_MODULE}\s*\.\s*(?:request|get)${ASSIGN}`) },
  { rule: 'reassign-http-request', re: new RegExp(String.raw`\b(?:https?\.)?(?:Agent|ClientRequest)\.prototype\.(?:addRequest|createConnection|end|write|setHeader|onSocket)${ASSIGN}`) },
  { rule: 'reassign-tls-connect', re: new RegExp(String.raw`(?:\btls|require\(\s*['"](?:node:)?tls['"]\s*\))\s*\.\s*(?:connect|createSecureContext|checkServerIdentity)${ASSIGN}`) },
  { rule: 'reassign-tls-connect', re: /\btls\.TLSSocket\.prototype\.\w+\s*=(?![=>])/ },
  { rule: 'reassign-net-connect', re: new RegExp(String.raw`(?:\bnet|require\(\s*['"](?:node:)?net['"]\s*\))\s*\.\s*(?:connect|createConnection)${ASSIGN}`) },
  { rule: 'reassign-net-connect', re: /\bnet\.Socket\.prototype\.(?:connect|write)\s*=(?![=>])/ },
  { rule: 'reassign-fetch', re: new RegExp(String.raw`\b(?:globalThis|global|window|self)\s*(?:\.\s*fetch|\[\s*['"]fetch['"]\s*\])${ASSIGN}`) },
  { rule: 'reassign-fetch', re: /\bObject\.defineProperty\(\s*(?:globalThis|global|window|self)\s*,\s*['"](?:fetch|Request|Headers)['"]/ },
  { rule: 'replace-undici-dispatcher', re: /\bsetGlobalDispatcher\s*\(|Symbol\.for\(\s*['"]undici\.globalDispatcher\.1['"]\s*\)\s*\]\s*=(?!=)/ },
  { rule: 'patch-xmlhttprequest', re: /\bXMLHttpRequest\.prototype\.(?:open|send|setRequestHeader)\s*=(?![=>])|\b(?:window|self|globalThis)\.XMLHttpRequest\s*=(?![=>])/ },
  { rule: 'wrap-network-function', re: /\b(?:shimmer\.wrap|_wrap|wrap)\(\s*(?:https?|tls|net|globalThis|undici)\s*,\s*['"](?:request|get|connect|fetch)['"]/ },
  { rule: 'wrap-network-function', re: /\bObject\.defineProperty\(\s*(?:https?|tls|net)\s*,\s*['"](?:request|get|connect)['"]/ },
];

/**
 * The environment as a whole serialised (not one variable read, and not `{...process.env}` passed
 * to a child process, which installers do all the time).
 */
const WHOLE_ENV = /JSON\.stringify\(\s*process\.env\s*[,)]|new\s+URLSearchParams\(\s*process\.env\s*\)|querystring\.stringify\(\s*process\.env\s*\)/;
const NETWORK_CALL = /\bfetch\s*\(|\bhttps?\.(?:request|get)\s*\(|\b(?:axios|got|needle|superagent)(?:\.\w+)?\s*\(|new\s+WebSocket\s*\(|\bdns\.(?:resolve|lookup)\w*\s*\(|\.sendBeacon\s*\(|\bXMLHttpRequest\b|\bnet\.connect\s*\(|\brequest\s*\(\s*\{/;

function stripLineComment(line: string): string {
  // Good enough for a heuristic: "//" inside a string literal only shortens the line we look at.
  const at = line.search(/(^|[^:"'`\\])\/\//);
  return at < 0 ? line : line.slice(0, at + 1);
}

function snippetOf(line: string, column: number): string {
  const text = line.trim();
  if (text.length <= 160) return text;
  // Minified code: show the neighbourhood of the hit, not the start of a 100 kB line.
  const start = Math.max(0, column - (line.length - line.trimStart().length) - 60);
  return `…${text.slice(start, start + 160)}…`;
}

const MODULE_FUNCTIONS: Record<string, { rule: HookRule; functions: string }> = {
  http: { rule: 'reassign-http-request', functions: 'request|get' },
  https: { rule: 'reassign-http-request', functions: 'request|get' },
  tls: { rule: 'reassign-tls-connect', functions: 'connect|createSecureContext|checkServerIdentity' },
  net: { rule: 'reassign-net-connect', functions: 'connect|createConnection' },
};

/**
 * Bundled and minified code rarely writes `https.request = ...`: it binds the module to a short
 * name first (`n=require("https")`, `import * as h from 'node:https'`, TypeScript's
 * `https_1 = __importDefault(require("https"))`). Those names get the same rules as the module's.
 */
function aliasRules(source: string): Array<{ rule: HookRule; re: RegExp }> {
  const rules: Array<{ rule: HookRule; re: RegExp }> = [];
  const seen = new Set<string>();
  const add = (alias: string, module: string) => {
    const spec = MODULE_FUNCTIONS[module];
    if (!spec || alias === module || seen.has(alias)) return;
    seen.add(alias);
    const escaped = alias.replace(/\$/g, '\\$');
    rules.push({ rule: spec.rule, re: new RegExp(String.raw`(?<![\w$.])${escaped}(?:\.default)?\s*\.\s*(?:${spec.functions})${ASSIGN}`) });
  };
  const MOD = String.raw`['"](?:node:)?(https?|tls|net)['"]`;
  // Identifiers anchored at their start and bounded in length: an unanchored `[\w$]+` retried at
  // every offset of a long word-character run is quadratic (20 s on one jison parser table).
  const ID = String.raw`(?<![\w$])([A-Za-z_$][\w$]{0,63})`;
  const requireRe = new RegExp(String.raw`${ID}\s*=\s*(?:[\w$.]{0,64}(?:__importDefault|__importStar|_interopRequireDefault|_interopRequireWildcard)\(\s*)?require\(\s*${MOD}\s*\)`, 'g');
  const importRe = new RegExp(String.raw`import\s+(?:\*\s+as\s+)?${ID}\s+from\s+${MOD}`, 'g');
  for (const match of source.matchAll(requireRe)) add(match[1]!, match[2]!);
  for (const match of source.matchAll(importRe)) add(match[1]!, match[2]!);
  return rules;
}

export function scanSource(source: string): HookHit[] {
  const hits: HookHit[] = [];
  const lines = source.split(/\r?\n/);
  const rules = [...LINE_RULES, ...aliasRules(source)];
  let envLine = -1;
  let envColumn = 0;
  let networkSeen = false;
  let inBlockComment = false;
  lines.forEach((rawLine, index) => {
    let line = rawLine;
    if (inBlockComment) {
      const end = line.indexOf('*/');
      if (end < 0) return;
      line = ' '.repeat(end + 2) + line.slice(end + 2);
      inBlockComment = false;
    }
    const open = line.indexOf('/*');
    if (open >= 0 && line.indexOf('*/', open + 2) < 0) {
      line = line.slice(0, open);
      inBlockComment = true;
    }
    line = stripLineComment(line.replace(/\/\*.*?\*\//g, (comment) => ' '.repeat(comment.length)));
    if (line.trimStart().startsWith('*')) return;
    for (const { rule, re } of rules) {
      const match = re.exec(line);
      if (match) hits.push({ rule, line: index + 1, column: match.index + 1, snippet: snippetOf(rawLine, match.index) });
    }
    const env = WHOLE_ENV.exec(line);
    if (env && envLine < 0) {
      envLine = index + 1;
      envColumn = env.index + 1;
    }
    if (NETWORK_CALL.test(line)) networkSeen = true;
  });
  if (envLine > 0 && networkSeen) hits.push({ rule: 'env-exfiltration', line: envLine, column: envColumn, snippet: snippetOf(lines[envLine - 1]!, envColumn - 1) });
  return hits;
}

/**
 * Libraries whose job is to wrap network functions (tracing, APM, mocking, polyfills). Their hits
 * are reported as info: expected, but a reader auditing traffic still wants to know they are there.
 */
const KNOWN_INSTRUMENTATION = [
  /^@opentelemetry\//,
  /^dd-trace$/,
  /^@datadog\//,
  /^newrelic$/,
  /^@newrelic\//,
  /^@sentry\//,
  /^@sentry-internal\//,
  /^elastic-apm-node$/,
  /^applicationinsights$/,
  /^@azure\/monitor-opentelemetry/,
  /^@google-cloud\/trace-agent$/,
  /^@instana\//,
  /^@dynatrace\//,
  /^nock$/,
  /^msw$/,
  /^@mswjs\//,
  /^undici$/,
  /^global-agent$/,
  /^whatwg-fetch$/,
  /^formdata-polyfill$/,
  /^isomorphic-fetch$/,
  /^cross-fetch$/,
  /^node-fetch$/,
  // unjs's fetch polyfill bundles its own undici, whose global-dispatcher setup is its job.
  /^node-fetch-native$/,
  // Bundles a fetch polyfill into its utilities for the browsers it drives.
  /^playwright-core$/,
  /^unfetch$/,
  /^@whatwg-node\//,
  /^core-js(-pure)?$/,
  /^jsdom$/,
  /^happy-dom$/,
  /^zone\.js$/,
  /^shimmer$/,
  /^require-in-the-middle$/,
  /^import-in-the-middle$/,
  /^wirelock$/,
];

export function isKnownInstrumentation(packageName: string): boolean {
  return KNOWN_INSTRUMENTATION.some((re) => re.test(packageName));
}
