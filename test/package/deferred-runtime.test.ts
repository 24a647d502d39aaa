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
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { before: true, active: true, samePath: true, second: { wirelockError: true, code: 'ERR_USAGE' } });
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
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { active: true, error: { wirelockError: true, code: 'ERR_USAGE' } });
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
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { active: true, runtimeThroughLoader: [] });
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
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { active: true, seen: [] });
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
  assert.deepEqual(JSON.parse(refused.stdout.trim().split('\n').pop()!), { outcome: true, active: false, seen: [] });
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
  assert.deepEqual(JSON.parse(broken.stdout.trim().split('\n').pop()!), { lockdown0: true, lockdown1: true, inspect: true, active: true });
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
