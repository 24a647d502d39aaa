/**
 * From what a package's code can do to how worried to be. One capability is never the alarm (an
 * SDK makes requests, a build tool spawns processes); the combinations droppers and stealers
 * need are: install-time code + network + host or environment data, a shipped binary run at
 * install, downloaded or decoded data evaluated, a request to an out-of-band service. Known
 * frameworks that patch the network on purpose are recognised by their real install path and
 * their lockfile record, never by the name a package claims. Pure: data in, verdicts out.
 */
import type { Severity } from '../cvss.js';
import type { HookRule } from '../heuristics.js';
import { isKnownInstrumentation } from '../heuristics.js';
import type { LockGraph } from '../lockfile/model.js';
import { CAPABILITIES, type Capability, type Evidence, type Signal } from './analyze.js';
import { isContextFile, type FileEvidence, type FileHook, type PackageCode } from './package.js';

export type CodeFindingId =
  | `network-hook/${HookRule}`
  | 'code/exfil-endpoint'
  | 'code/credential-theft'
  | 'code/eval-downloaded'
  | 'code/decoded-exec'
  | 'code/shell-download'
  | 'code/obfuscated'
  | 'code/install-exfiltration'
  | 'code/install-binary'
  | 'code/install-dropper'
  | 'code/install-network'
  | 'code/install-obfuscated'
  | 'code/install-recon';

export interface CodeFinding {
  id: CodeFindingId;
  kind: 'network-hook' | 'code';
  severity: Severity;
  summary: string;
  /** Files are relative to the package folder. */
  evidence: FileEvidence[];
}

export interface Identity {
  /** The package is at node_modules/<its name> and the lockfile records that path (or name@version) from a registry. */
  verified: boolean;
  reason: string;
}

export interface PackageVerdict {
  capabilities: Capability[];
  evidence: Partial<Record<Capability, FileEvidence[]>>;
  findings: CodeFinding[];
  /** Known network instrumentation or installer, with a verified identity: expected behaviour is info. */
  known?: 'instrumentation' | 'installer';
}

/**
 * Packages whose install step downloads or runs a platform binary by design (browsers, native
 * builds, compilers). Their install-time network/binary findings are info when their identity is
 * verified; stealing and exfiltration findings are never lowered.
 */
const KNOWN_INSTALLERS = [
  /^esbuild$/, /^@esbuild\//, /^esbuild-wasm$/, /^sharp$/, /^@img\//, /^puppeteer$/, /^playwright(?:-core|-chromium|-firefox|-webkit)?$/, /^electron$/, /^cypress$/,
  /^node-sass$/, /^@swc\/core$/, /^@biomejs\/biome$/, /^turbo$/, /^@prisma\/(?:client|engines)$/, /^prisma$/, /^protobufjs$/, /^core-js(?:-pure)?$/, /^msw$/,
  /^@sentry\/cli$/, /^@sentry\/profiling-node$/, /^@parcel\/watcher$/, /^fsevents$/, /^better-sqlite3$/, /^sqlite3$/, /^bufferutil$/, /^utf-8-validate$/,
  /^re2$/, /^@tensorflow\/tfjs-node$/, /^onnxruntime-node$/, /^cpu-features$/, /^ssh2$/, /^dd-trace$/, /^@datadog\//, /^newrelic$/, /^@newrelic\//,
  /^@firebase\/util$/, /^nx$/, /^@nx\//, /^lefthook$/, /^husky$/, /^bcrypt$/, /^canvas$/, /^@rollup\/wasm-node$/, /^unrs-resolver$/, /^@napi-rs\//, /^es5-ext$/, /^@scarf\/scarf$/,
];

/** Frameworks that patch fetch/http on purpose, beyond the tracing and mocking libraries. */
const KNOWN_FRAMEWORKS = [/^next$/, /^@next\//, /^@vercel\/otel$/, /^@vercel\/node$/, /^@vercel\/functions$/];

export function isKnownPatcher(name: string): boolean {
  return isKnownInstrumentation(name) || KNOWN_FRAMEWORKS.some((re) => re.test(name));
}

export function isKnownInstaller(name: string): boolean {
  return KNOWN_INSTALLERS.some((re) => re.test(name));
}

/**
 * A package is who it says only when it sits at node_modules/<name> (its folder is its name, so a
 * package cannot claim "next" from lib/vendor/next or node_modules/evil) and the lockfile records
 * that path with that name from a registry; lockfiles without paths (yarn, pnpm, bun) must record
 * the same name@version from a registry.
 */
export function verifyIdentity(pkg: { name: string; version: string; dir: string }, graph: LockGraph | undefined): Identity {
  const tail = pkg.dir.split('/node_modules/').at(-1)!.replace(/^node_modules\//, '');
  if (!/(?:^|\/)node_modules\//.test(`/${pkg.dir}`) || tail !== pkg.name) return { verified: false, reason: `installed at ${pkg.dir}, not at node_modules/${pkg.name}` };
  if (!graph) return { verified: false, reason: 'no lockfile to confirm the package' };
  const byPath = graph.nodes.get(pkg.dir) ?? graph.nodes.get(pkg.dir.replace(/^.*?node_modules\/\.pnpm\/[^/]+\//, ''));
  if (byPath && byPath.importer === undefined) {
    if (byPath.name !== pkg.name) return { verified: false, reason: `the lockfile records ${byPath.name} at ${pkg.dir}` };
    if (byPath.source !== 'registry') return { verified: false, reason: `the lockfile records ${pkg.dir} from ${byPath.source}, not a registry` };
    if (byPath.bundled) return { verified: false, reason: `the lockfile records ${pkg.dir} as bundled inside another package (inBundle): that package chose its files` };
    return { verified: true, reason: `lockfile records ${pkg.name}@${byPath.version} at ${pkg.dir}` };
  }
  if (graph.format.startsWith('npm')) return { verified: false, reason: `the lockfile has no entry for ${pkg.dir}` };
  for (const node of graph.nodes.values()) {
    if (node.name === pkg.name && node.version === pkg.version && node.source === 'registry' && node.importer === undefined) return { verified: true, reason: `lockfile records ${pkg.name}@${pkg.version}` };
  }
  return { verified: false, reason: `the lockfile has no registry entry for ${pkg.name}@${pkg.version}` };
}

// A copy of the environment handed to a child process (env-bulk) is what installers do; not recon.
const RECON_OR_ENV: Signal[] = ['host-recon', 'credential-read', 'env-secret', 'env-serialize'];
const OBFUSCATION: Signal[] = ['obfuscator', 'encoded-blob', 'encoded-name', 'decoded-exec', 'encoded-dump'];

/** Within 60 lines (or, on one minified line, 4,000 columns) of each other. */
function near(a: Evidence, b: Evidence): boolean {
  return a.line === b.line ? Math.abs(a.column - b.column) <= 4000 : Math.abs(a.line - b.line) <= 60;
}

function has(evidence: Evidence[], test: (e: Evidence) => boolean): boolean {
  return evidence.some(test);
}

function pick(evidence: FileEvidence[], test: (e: FileEvidence) => boolean, max = 3): FileEvidence[] {
  return evidence.filter(test).slice(0, max);
}

const isNetwork = (e: Evidence) => e.capability === 'network' && e.signal !== 'endpoint-mention' && e.signal !== 'tls-disabled';
const isSignal = (...signals: Signal[]) => (e: Evidence) => e.signal !== undefined && signals.includes(e.signal);

const HOOK_SUMMARY: Record<HookRule, string> = {
  'reassign-http-request': 'replaces http/https request functions or the global agent: every request of the app goes through this code',
  'reassign-tls-connect': 'replaces tls.connect, TLS defaults or TLS socket methods: can read or downgrade every TLS connection',
  'reassign-net-connect': 'replaces net.connect or socket methods: sees every TCP connection',
  'reassign-fetch': 'replaces globalThis.fetch (or Request/Headers): every fetch() of the app goes through this code',
  'replace-undici-dispatcher': 'installs an undici global dispatcher: every fetch() goes through it',
  'patch-xmlhttprequest': 'patches XMLHttpRequest: sees every XHR request',
  'wrap-network-function': 'wraps a network function (shimmer/defineProperty style)',
  'env-exfiltration': 'serialises the whole process.env in a file that makes network requests',
  'disable-tls-verification': 'turns off TLS certificate verification for the whole process (NODE_TLS_REJECT_UNAUTHORIZED) or adds CAs',
};

export function judgePackage(name: string, code: PackageCode, identity: Identity): PackageVerdict {
  const findings: CodeFinding[] = [];
  const knownPatcher = identity.verified && isKnownPatcher(name);
  const knownInstaller = identity.verified && isKnownInstaller(name);
  const installing = Object.keys(code.install.scripts).length > 0;
  const installFiles = new Set(code.install.files);

  const runtime: FileEvidence[] = [];
  const perFile = new Map<string, FileEvidence[]>();
  const hooks: Array<FileHook & { context: boolean }> = [];
  for (const [file, facts] of Object.entries(code.facts)) {
    const context = isContextFile(code, file);
    for (const hook of facts.hooks) hooks.push({ ...hook, file, context });
    if (context) continue;
    const list = facts.evidence.map((e) => ({ ...e, file }));
    runtime.push(...list);
    perFile.set(file, list);
  }
  const install: FileEvidence[] = [...code.install.evidence, ...runtime.filter((e) => installFiles.has(e.file))];

  const evidence: Partial<Record<Capability, FileEvidence[]>> = {};
  for (const e of [...code.install.evidence, ...runtime]) {
    const list = (evidence[e.capability] ??= []);
    if (list.length < 5) list.push(e);
  }
  if (installing) evidence['install-time'] = [{ capability: 'install-time', file: 'package.json', line: 1, column: 1, detail: Object.entries(code.install.scripts).map(([k, v]) => `${k}: ${v}`).join('; '), snippet: '' }];
  if (code.binaries.length) evidence['native-binary'] = [...(evidence['native-binary'] ?? []), ...code.binaries.slice(0, 3).map((file) => ({ capability: 'native-binary' as const, file, line: 1, column: 1, detail: `ships native binary ${file}`, snippet: '' }))];
  const capabilities = CAPABILITIES.filter((c) => evidence[c]?.length);

  // Network hooks: high unless known instrumentation at its real path, or a test/fixture file.
  for (const hook of hooks) {
    const severity: Severity = hook.context || knownPatcher ? 'info' : hook.rule === 'env-exfiltration' ? 'critical' : 'high';
    const why = hook.context ? ' (in a test, fixture or example file: context, not loaded by the package)' : knownPatcher ? ` (known instrumentation/framework; ${identity.reason})` : '';
    findings.push({
      id: `network-hook/${hook.rule}`,
      kind: 'network-hook',
      severity,
      summary: `${name} ${HOOK_SUMMARY[hook.rule]}${why}`,
      evidence: [{ capability: 'network', file: hook.file, line: hook.line, column: hook.column, detail: hook.rule, snippet: hook.snippet }],
    });
  }

  const add = (id: CodeFindingId, severity: Severity, summary: string, list: FileEvidence[]) => {
    if (list.length) findings.push({ id, kind: id.startsWith('network-hook/') ? 'network-hook' : 'code', severity, summary: `${name} ${summary}`, evidence: list });
  };

  // Same-file combinations, wherever the file runs; in a bundle of many libraries only neighbours count.
  for (const [, list] of perFile) {
    const network = list.filter(isNetwork);
    const nearNetwork = (e: FileEvidence) => network.some((n) => near(n, e));
    const envOut = list.filter((e) => e.signal === 'env-serialize' && nearNetwork(e));
    if (envOut.length) add('network-hook/env-exfiltration', 'critical', HOOK_SUMMARY['env-exfiltration'], [...envOut.slice(0, 2), network.find((n) => near(n, envOut[0]!))!]);
    // A registry client reading ~/.npmrc that only talks to the npm registry is doing its job; a deploy
    // tool reading its project's .env is too, unless what it read goes into a request (secret-flow below).
    const registryOnly = network.every(isSignal('registry-request'));
    const stolen = list.filter((e) => (e.signal === 'credential-read' || (e.signal === 'registry-token-read' && !registryOnly)) && nearNetwork(e));
    const flows = list.filter(isSignal('secret-flow'));
    if (flows.length) {
      const reads = list.filter(isSignal('credential-read', 'registry-token-read', 'dotenv-read'));
      add('code/credential-theft', 'critical', 'sends what it read from credential stores or the project\'s .env in a request', [...reads.slice(0, 1), ...flows.slice(0, 2)]);
    } else if (stolen.length) add('code/credential-theft', 'critical', 'reads credential stores (tokens, keys, browser data) next to code that makes network requests', [...stolen.slice(0, 2), network.find((n) => near(n, stolen[0]!))!]);
    const acts = (e: Evidence) => isNetwork(e) || e.capability === 'child-process' || e.capability === 'eval' || e.capability === 'fs-write-outside' || e.capability === 'dynamic-require';
    if (has(list, isSignal('obfuscator', 'encoded-name')) && has(list, acts))
      add('code/obfuscated', 'medium', 'is obfuscated (encoded names, obfuscator-style identifiers) and makes requests, runs processes, writes outside its folder or evaluates code', [...pick(list, isSignal('obfuscator', 'encoded-name'), 2), ...pick(list, acts, 1)]);
  }
  const atInstall = (e: FileEvidence) => e.file === 'package.json' || installFiles.has(e.file);
  const endpoint = pick([...code.install.evidence, ...runtime], isSignal('known-endpoint'));
  add('code/exfil-endpoint', 'critical', 'sends requests to an out-of-band/exfiltration service', endpoint);
  const downloaded = pick([...code.install.evidence, ...runtime], isSignal('eval-downloaded'));
  add('code/eval-downloaded', downloaded.some(atInstall) ? 'critical' : 'high', 'evaluates or deserialises data it downloaded (remote code execution by design)', downloaded);
  const decoded = pick([...code.install.evidence, ...runtime], (e) => e.signal === 'decoded-exec' && e.capability === 'eval');
  add('code/decoded-exec', decoded.some(atInstall) ? 'critical' : 'high', 'decodes an embedded encoded payload and executes it', decoded);
  const pipe = pick([...code.install.evidence, ...runtime], isSignal('shell-pipe'));
  add('code/shell-download', 'high', 'downloads code and pipes it to a shell or interpreter', pipe);

  if (installing) {
    const net = install.filter((e) => isNetwork(e));
    const registryOnly = net.every(isSignal('registry-request'));
    const recon = install.filter(registryOnly ? isSignal(...RECON_OR_ENV) : isSignal(...RECON_OR_ENV, 'registry-token-read', 'dotenv-read', 'secret-flow'));
    const lowered = knownInstaller ? 'info' : undefined;
    const note = knownInstaller ? ` (known installer; ${identity.reason})` : '';
    if (net.length && recon.length) add('code/install-exfiltration', 'critical', 'runs code at install time that collects host, user or environment data and makes network requests', [...recon.slice(0, 2), ...net.slice(0, 2)]);
    else {
      // A native addon loaded at install runs its machine code as surely as a shipped executable.
      const shipped = install.filter(isSignal('spawn-shipped', 'native-load'));
      const actions = install.filter((e) => e.capability === 'child-process' || e.capability === 'fs-write-outside' || e.capability === 'eval' || e.capability === 'dynamic-require');
      if (shipped.length) add('code/install-binary', lowered ?? 'high', `runs a file shipped in the package at install time${note}`, shipped.slice(0, 3));
      else if (net.length && actions.length) add('code/install-dropper', lowered ?? 'high', `downloads at install time and writes, runs or evaluates something${note}`, [...net.slice(0, 2), ...actions.slice(0, 2)]);
      else if (net.length && registryOnly) add('code/install-network', 'info', 'asks the npm registry at install time (an update check)', net.slice(0, 3));
      else if (net.length) add('code/install-network', lowered ?? 'medium', `makes network requests at install time${note}`, net.slice(0, 3));
      else if (recon.length) add('code/install-recon', 'low', 'reads host, user or secret environment data at install time', recon.slice(0, 3));
    }
    const obfuscated = install.filter(isSignal(...OBFUSCATION));
    if (obfuscated.length) add('code/install-obfuscated', 'high', 'runs obfuscated or encoded code at install time', obfuscated.slice(0, 3));
  }

  return { capabilities, evidence, findings, ...(knownPatcher ? { known: 'instrumentation' as const } : knownInstaller ? { known: 'installer' as const } : {}) };
}
