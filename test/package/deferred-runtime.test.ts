// The built package compiles the runtime checks (lockdown, inspectEnvironment) at their first call,
// from dist/chunks/runtime-body.js (scripts/bundle.mjs, src/runtime/deferred.ts). These run the
// built dist/ in fresh processes: one instance of the runtime state whichever entry loads it, a
// runtime file that cannot be loaded fails closed, and code that runs after `import 'wirelock'`
// cannot hand lockdown() a stand-in through the module loader.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'wirelock-deferred-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const policyFile = join(scratch, 'wirelock.json');
writeFileSync(policyFile, JSON.stringify({ version: 1, domains: { 'api.example.com': {} } }));

function node(args: string[], cwd = scratch): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WIRELOCK_POLICY: policyFile } }, (error, stdout, stderr) =>
      resolve({ stdout, stderr, code: error ? Number((error as { code?: unknown }).code ?? 1) : 0 }),
    );
  });
}

/** What an app printed last: the JSON line each app ends with. */
function printed(stdout: string): unknown {
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

function app(name: string, source: string): string {
  const file = join(scratch, name);
  writeFileSync(file, source);
  return file;
}

const entry = JSON.stringify(join(ROOT, 'dist/index.js'));

test("lockdown() through import 'wirelock' compiles the runtime once: one lockdown state, one WirelockError, whichever path loads it", async () => {
  const file = app(
    'one-state.mjs',
    `import { lockdown, activeLockdown, WirelockError, loadPolicySync } from ${entry};
const before = activeLockdown();
const handle = lockdown(loadPolicySync(${JSON.stringify(policyFile)}), { onTamper: 'report' });
const byPath = await import(${JSON.stringify(join(ROOT, 'dist/runtime/lockdown.js'))});
let second;
try { byPath.lockdown({ version: 1, domains: {} }); } catch (error) { second = { wirelockError: error instanceof WirelockError, code: error.code }; }
console.log(JSON.stringify({ before: before === undefined, active: activeLockdown() !== undefined, samePath: byPath.activeLockdown() === activeLockdown(), second }));
handle.release();
`,
  );
  const { stdout, stderr, code } = await node([file]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(printed(stdout), { before: true, active: true, samePath: true, second: { wirelockError: true, code: 'ERR_USAGE' } });
});

test("under --import wirelock/register, import 'wirelock' sees register's lockdown and the same WirelockError", async () => {
  const file = app(
    'after-register.mjs',
    `const { activeLockdown, lockdown, WirelockError, loadPolicySync } = await import(${entry});
let error;
try { lockdown(loadPolicySync(${JSON.stringify(policyFile)})); } catch (thrown) { error = { wirelockError: thrown instanceof WirelockError, code: thrown.code }; }
console.log(JSON.stringify({ active: activeLockdown() !== undefined, error }));
`,
  );
  const { stdout, stderr, code } = await node(['--import', join(ROOT, 'dist/runtime/register.js'), file]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(printed(stdout), { active: true, error: { wirelockError: true, code: 'ERR_USAGE' } });
});

test('replacing the module loader after the import (Module._load, Module.prototype.require, module.registerHooks) does not reach the runtime checks', async () => {
  const file = app(
    'loader-swap.mjs',
    `import { lockdown, activeLockdown, loadPolicySync } from ${entry};
const Module = process.getBuiltinModule('node:module');
const calls = [];
const load = Module._load;
Module._load = function (request, ...rest) { calls.push(String(request)); return load.call(this, request, ...rest); };
const req = Module.prototype.require;
Module.prototype.require = function (request) { calls.push(String(request)); return req.call(this, request); };
if (Module.registerHooks) {
  Module.registerHooks({
    resolve(specifier, context, next) { calls.push(specifier); return next(specifier, context); },
    load(url, context, next) { calls.push(url); return next(url, context); },
  });
}
const handle = lockdown(loadPolicySync(${JSON.stringify(policyFile)}), { onTamper: 'report' });
console.log(JSON.stringify({ active: activeLockdown() !== undefined, runtimeThroughLoader: calls.filter((call) => call.includes('runtime')) }));
handle.release();
`,
  );
  const { stdout, stderr, code } = await node([file]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(printed(stdout), { active: true, runtimeThroughLoader: [] });
});

test('replacing node:vm after the import (vm.Script, the class it extends, its runInContext) does not reach the runtime checks; a Script that no longer extends its class fails closed', async () => {
  const file = app(
    'vm-swap.mjs',
    `import { lockdown, activeLockdown, loadPolicySync } from ${entry};
import vm from 'node:vm';
const seen = [];
const ScriptBase = Object.getPrototypeOf(vm.Script);
const runInContext = ScriptBase.prototype.runInContext;
// What a stand-in would do: see the runtime body's script and hand back its own value.
ScriptBase.prototype.runInContext = function (...args) { seen.push('runInContext'); return runInContext.apply(this, args); };
vm.Script.prototype.runInThisContext = function () { seen.push('runInThisContext'); return () => ({}); };
const Script = vm.Script;
vm.Script = class extends Script { constructor(...args) { seen.push('Script'); super(...args); } };
vm.compileFunction = () => { seen.push('compileFunction'); return () => ({}); };
const policy = loadPolicySync(${JSON.stringify(policyFile)});
const handle = lockdown(policy, { onTamper: 'report' });
console.log(JSON.stringify({ active: activeLockdown() !== undefined, seen }));
handle.release();
`,
  );
  const { stdout, stderr, code } = await node([file]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(printed(stdout), { active: true, seen: [] });
  // The class Script's constructor calls super() on is looked up when it runs: swapped, lockdown()
  // refuses to load the runtime rather than construct through it.
  const swapped = app(
    'vm-super-swap.mjs',
    `import { lockdown, activeLockdown, loadPolicySync } from ${entry};
import vm from 'node:vm';
const seen = [];
Object.setPrototypeOf(vm.Script, class { constructor() { seen.push('super'); } });
let outcome;
try { lockdown(loadPolicySync(${JSON.stringify(policyFile)})); outcome = 'ran'; } catch (error) { outcome = /runtime checks cannot be loaded/.test(error.message); }
console.log(JSON.stringify({ outcome, active: activeLockdown() !== undefined, seen }));
`,
  );
  const refused = await node([swapped]);
  assert.equal(refused.code, 0, refused.stderr);
  assert.deepEqual(printed(refused.stdout), { outcome: true, active: false, seen: [] });
});

// Attacks on the runtime loader by code that runs after `import 'wirelock'` and before the app's
// first lockdown() (found by the independent review of 2026-12-01; each worked before the loader
// read only what matches the digests the build wrote, with functions taken at load). Each app runs
// one attack, then lockdown() under `block` with unlisted hosts refused: the attacker must see
// nothing of the runtime, and an unlisted host must be refused.
const blockPolicy = join(scratch, 'block.json');
writeFileSync(blockPolicy, JSON.stringify({ version: 1, unlistedHosts: 'block', domains: { 'api.example.com': {} } }));
const loaderAttacks: Record<string, string> = {
  // A forged V8 code cache (top level: the attacker's function, padded to the body's length, V8
  // checks no more) and a forged body, served through the fs functions readFileSync looks up.
  'fs-forged-cache-and-body': `
const fs = process.getBuiltinModule('node:fs');
const vm = process.getBuiltinModule('node:vm');
const { createHash } = process.getBuiltinModule('node:crypto');
const chunks = new URL('chunks/', import.meta.resolve(ENTRY));
const realSource = fs.readFileSync(new URL('runtime-body.js', chunks), 'utf8');
const evilSource = 'globalThis.__evilBody' + ' '.repeat(realSource.length - 'globalThis.__evilBody'.length);
const data = new vm.Script(evilSource, { filename: 'evil.js' }).createCachedData();
const forgedCache = Buffer.concat([createHash('sha256').update(data).digest(), data]);
const forged = new Map([[new URL('runtime-body.' + process.arch + '.v8.cache', chunks).pathname, forgedCache], [new URL('runtime-body.js', chunks).pathname, Buffer.from(evilSource)]]);
const { openSync, readSync, readFileSync } = fs;
const served = new Map();
fs.openSync = function (path, ...rest) { const fd = openSync.call(this, path, ...rest); if (forged.has(String(path))) served.set(fd, { data: forged.get(String(path)), at: 0 }); return fd; };
fs.readSync = function (fd, buffer, offset, length, position, ...rest) {
  const file = served.get(fd);
  if (!file) return readSync.call(this, fd, buffer, offset, length, position, ...rest);
  const at = typeof position === 'number' ? position : file.at;
  const n = Math.max(0, Math.min(length, file.data.length - at));
  file.data.copy(buffer, offset, at, at + n);
  file.at = at + n;
  return n;
};
fs.readFileSync = function (path, ...rest) { return forged.has(String(path)) ? forged.get(String(path)) : readFileSync.call(this, path, ...rest); };
const path = process.getBuiltinModule('node:path');
const toNamespacedPath = path.toNamespacedPath;
// Node's own openSync looks this up at every call: every open of a runtime file goes to a forgery.
const forgedFiles = new Map();
for (const [name, data] of forged) { const file = '/tmp/wirelock-forged-' + process.pid + '-' + forgedFiles.size; fs.writeFileSync(file, data); forgedFiles.set(name, file); }
path.toNamespacedPath = (p) => forgedFiles.get(String(p)) ?? toNamespacedPath(p);
`,
  // readFileSync's JavaScript path (an Object.prototype encoding accessor turns it away from the
  // native UTF-8 read) ends in Buffer.prototype.toString: the attacker's text becomes the source.
  'encoding-accessor-and-toString': `
const values = new WeakMap();
Object.defineProperty(Object.prototype, 'encoding', { configurable: true, set(value) { values.set(this, value); }, get() { const v = values.get(this); return v === 'utf8' ? 'latin1' : v; } });
const toString = Buffer.prototype.toString;
Buffer.prototype.toString = function (...args) { const text = toString.apply(this, args); return text.includes('(function (core, importMetaUrl, importModule)') ? 'globalThis.__evilBody' : text; };
const latin1Slice = Buffer.prototype.latin1Slice, utf8Slice = Buffer.prototype.utf8Slice;
Buffer.prototype.latin1Slice = function (...args) { const text = latin1Slice.apply(this, args); return text.includes('(function (core, importMetaUrl, importModule)') ? 'globalThis.__evilBody' : text; };
Buffer.prototype.utf8Slice = function (...args) { const text = utf8Slice.apply(this, args); return text.includes('(function (core, importMetaUrl, importModule)') ? 'globalThis.__evilBody' : text; };
`,
  // The cache's header and data, as subarray() hands them to the loader.
  'subarray-forged-cache': `
const vm = process.getBuiltinModule('node:vm');
const { createHash } = process.getBuiltinModule('node:crypto');
const fs = process.getBuiltinModule('node:fs');
const chunks = new URL('chunks/', import.meta.resolve(ENTRY));
const realSource = fs.readFileSync(new URL('runtime-body.js', chunks), 'utf8');
const data = new vm.Script('globalThis.__evilBody' + ' '.repeat(realSource.length - 21), { filename: 'evil.js' }).createCachedData();
const digest = createHash('sha256').update(data).digest();
const subarray = Uint8Array.prototype.subarray;
const fake = function (start, end) { return this.length > 1000 && start === 32 ? data : this.length > 1000 && start === 0 && end === 32 ? digest : subarray.call(this, start, end); };
Buffer.prototype.subarray = fake;
Uint8Array.prototype.subarray = fake;
`,
  // Object.freeze is handed the runtime's functions when the loader freezes what it hands out.
  'object-freeze': `
const freeze = Object.freeze;
Object.freeze = function (object) {
  if (object && typeof object.lockdown === 'function') { globalThis.__saw.push('freeze'); object.lockdown = () => ({ release() {}, check() { return []; }, findings() { return []; } }); }
  return freeze(object);
};
`,
  // Setters Node's Script constructor would meet as it assigns properties on the new script.
  'script-setters': `
for (const name of ['cachedDataRejected', 'sourceMapURL', 'sourceURL', 'function']) {
  Object.defineProperty(Object.prototype, name, { configurable: true, set(value) { globalThis.__saw.push('setter:' + name); Object.defineProperty(this, name, { value, writable: true, configurable: true }); } });
}
`,
  // The body's top level meeting a replaced global: it calls lockdown() again from inside the load.
  're-entry': `
const RealURL = URL;
let inner = false;
globalThis.URL = class extends RealURL { constructor(...args) { super(...args); if (!inner) { inner = true; try { wirelock.lockdown({ version: 1, unlistedHosts: 'allow', domains: {} }, { onTamper: 'report' }); globalThis.__saw.push('inner lockdown ran'); } catch {} } } };
`,
};
for (const [name, attack] of Object.entries(loaderAttacks)) {
  test(`runtime loader attack after the import (${name}): the attacker sees nothing of the runtime and an unlisted host is still refused`, async () => {
    const file = app(
      `loader-${name}.mjs`,
      `import * as wirelock from ${entry};
const ENTRY = ${entry};
globalThis.__saw = [];
globalThis.__evilBody = function () { globalThis.__saw.push('evil body ran'); const handle = { release() {}, check() { return []; }, findings() { return []; } }; return { y: () => handle, x: () => handle, i: async () => ({ findings: [] }), l: () => handle }; };
${attack}
let outcome;
try { wirelock.lockdown(wirelock.loadPolicySync(${JSON.stringify(blockPolicy)}), { onTamper: 'block' }); outcome = 'locked'; } catch (error) { outcome = 'refused: ' + error.message; }
for (const name of ['encoding', 'cachedDataRejected', 'sourceMapURL', 'sourceURL', 'function']) delete Object.prototype[name];
const https = process.getBuiltinModule('node:https');
const refused = await new Promise((resolve) => {
  try {
    const request = https.request({ host: 'unlisted.example.net', port: 1 });
    request.on('error', (error) => resolve(error.code ?? error.message));
    request.end();
  } catch (error) { resolve(error.code ?? error.message); }
});
console.log(JSON.stringify({ outcome, active: wirelock.activeLockdown() !== undefined, saw: globalThis.__saw, refused }));
process.exit(0);
`,
    );
    const { stdout, stderr, code } = await node([file]);
    assert.equal(code, 0, stderr);
    const result = printed(stdout) as { outcome: string; active: boolean; saw: string[]; refused: string };
    assert.deepEqual(result.saw, [], JSON.stringify(result));
    // Either the runtime loaded as the build wrote it and enforces, or it refused to load (fails closed).
    if (result.outcome === 'locked') {
      assert.equal(result.active, true);
      // Refused as unlisted, or as a compromised process (an attack that replaced a watched slot).
      assert.ok(['ERR_HOST_NOT_ALLOWED', 'ERR_ENV_COMPROMISED'].includes(result.refused), JSON.stringify(result));
    } else {
      assert.match(result.outcome, /runtime checks cannot be loaded/);
      assert.equal(result.active, false);
    }
  });
}

test('code after the import that rewrites Buffer decoding and process.execArgv does not hide a preload from lockdown(); positive control: the rewrite hides it from a reader that decodes with Buffer.prototype.toString', async () => {
  const preload = app('some-preload.cjs', 'globalThis.__preloaded = true;\n');
  const file = app(
    'hide-preload.mjs',
    `import * as wirelock from ${entry};
const fs = process.getBuiltinModule('node:fs');
const hide = (text) => text.replace(/--require\\0[^\\0]*some-preload\\.cjs\\0/, '');
for (const name of ['toString', 'latin1Slice', 'utf8Slice', 'asciiSlice']) {
  const original = Buffer.prototype[name];
  Buffer.prototype[name] = function (...args) { return hide(Reflect.apply(original, this, args)); };
}
process.execArgv.length = 0;
const buffer = Buffer.alloc(65536);
const fd = fs.openSync('/proc/self/cmdline', 'r');
const seenByToString = buffer.toString('latin1', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
fs.closeSync(fd);
const handle = wirelock.lockdown(wirelock.loadPolicySync(${JSON.stringify(blockPolicy)}), { onTamper: 'report' });
console.log(JSON.stringify({ preloaded: globalThis.__preloaded === true, hiddenFromToString: !seenByToString.includes('some-preload.cjs'), findings: handle.findings().map((f) => f.key).filter((key) => key.startsWith('preload')) }));
handle.release();
`,
  );
  const { stdout, stderr, code } = await node(['--require', preload, file]);
  assert.equal(code, 0, stderr);
  assert.deepEqual(printed(stdout), { preloaded: true, hiddenFromToString: true, findings: [`preload:${preload}`] });
});

test('code after the import that redirects what fs opens (path.toNamespacedPath, which Node 20 fs looks up for every path) is a hooked-api finding at lockdown(); positive control: on Node 20 it hides a preload from /proc/self/cmdline', async () => {
  const preload = app('another-preload.cjs', 'globalThis.__preloaded = true;\n');
  const file = app(
    'redirect-open.mjs',
    `import * as wirelock from ${entry};
const fs = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
const fake = '/tmp/wirelock-fake-cmdline-' + process.pid;
fs.writeFileSync(fake, fs.readFileSync('/proc/self/cmdline', 'latin1').replace(/--require\\0[^\\0]*another-preload\\.cjs\\0/, ''), 'latin1');
const toNamespacedPath = path.toNamespacedPath;
path.toNamespacedPath = (p) => (String(p) === '/proc/self/cmdline' ? fake : toNamespacedPath(p));
process.execArgv.length = 0;
const hidden = !fs.readFileSync('/proc/self/cmdline', 'latin1').includes('another-preload.cjs');
const handle = wirelock.lockdown(wirelock.loadPolicySync(${JSON.stringify(blockPolicy)}), { onTamper: 'report' });
const findings = handle.findings().map((f) => [f.key, f.severity]).filter(([key]) => key.startsWith('preload') || key.startsWith('hooked-api'));
handle.release();
fs.rmSync(fake);
console.log(JSON.stringify({ hidden, findings }));
`,
  );
  const { stdout, stderr, code } = await node(['--require', preload, file]);
  assert.equal(code, 0, stderr);
  const result = printed(stdout) as { hidden: boolean; findings: Array<[string, string]> };
  if (process.versions.node.startsWith('20.')) assert.equal(result.hidden, true, 'positive control: Node 20 fs opens the redirected file');
  assert.deepEqual(
    result.findings.find(([key]) => key === 'hooked-api:path.toNamespacedPath'),
    ['hooked-api:path.toNamespacedPath', 'high'],
    JSON.stringify(result),
  );
});

test('a runtime file that cannot be loaded fails closed: lockdown() throws, inspectEnvironment() rejects, register refuses to start the app', async () => {
  // A copy of the built package whose runtime file is broken (node_modules linked for undici).
  const pkg = join(scratch, 'broken');
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  writeFileSync(join(pkg, 'dist/chunks/runtime-body.js'), 'this is not JavaScript (');
  const file = app(
    'broken-runtime.mjs',
    `import { lockdown, inspectEnvironment, activeLockdown, createAgent, loadPolicySync } from ${JSON.stringify(join(pkg, 'dist/index.js'))};
const policy = loadPolicySync(${JSON.stringify(policyFile)});
createAgent(policy).destroy();
const outcome = {};
for (let attempt = 0; attempt < 2; attempt++) {
  try { lockdown(policy); outcome['lockdown' + attempt] = 'ran'; } catch (error) { outcome['lockdown' + attempt] = /runtime checks cannot be loaded/.test(error.message); }
}
outcome.inspect = await inspectEnvironment().then(() => 'ran', (error) => /runtime checks cannot be loaded/.test(error.message));
outcome.active = activeLockdown() === undefined;
console.log(JSON.stringify(outcome));
`,
  );
  const broken = await node([file]);
  assert.equal(broken.code, 0, broken.stderr);
  assert.deepEqual(printed(broken.stdout), { lockdown0: true, lockdown1: true, inspect: true, active: true });
  const plain = app('plain.mjs', "console.log('the app ran');\n");
  const registered = await node(['--import', join(pkg, 'dist/runtime/register.js'), plain]);
  assert.notEqual(registered.code, 0);
  assert.doesNotMatch(registered.stdout, /the app ran/);
  assert.match(registered.stderr, /runtime checks cannot be loaded/);
});

test('the public suffix list is read at the first lookup: the built package refuses a suffix with includeSubdomains, and fails closed without its list', async () => {
  const suffixPolicy = (name: string) => JSON.stringify({ version: 1, domains: { [name]: { includeSubdomains: true } } });
  const probe = (dir: string) =>
    app(
      `suffix-${dir.replace(/\W/g, '_')}.mjs`,
      `import { definePolicy } from ${JSON.stringify(join(dir, 'dist/index.js'))};
const outcome = {};
for (const [name, document] of [['plain', { version: 1, domains: { 'api.example.com': {} } }], ['co.uk', ${suffixPolicy('co.uk')}], ['example.co.uk', ${suffixPolicy('example.co.uk')}]]) {
  try { definePolicy(document); outcome[name] = 'accepted'; } catch (error) { outcome[name] = error.code ?? error.message; }
}
console.log(JSON.stringify(outcome));
`,
    );
  const built = await node([probe(ROOT)]);
  assert.equal(built.code, 0, built.stderr);
  assert.deepEqual(JSON.parse(built.stdout.trim()), { plain: 'accepted', 'co.uk': 'ERR_POLICY_INVALID', 'example.co.uk': 'accepted' });
  const pkg = join(scratch, 'no-suffixes');
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  writeFileSync(join(pkg, 'dist/chunks/public-suffixes.txt'), '');
  const broken = await node([probe(pkg)]);
  assert.equal(broken.code, 0, broken.stderr);
  const outcome = JSON.parse(broken.stdout.trim()) as Record<string, string>;
  assert.equal(outcome.plain, 'accepted');
  assert.match(outcome['co.uk']!, /not the public suffix list/);
  assert.match(outcome['example.co.uk']!, /not the public suffix list/);
});
