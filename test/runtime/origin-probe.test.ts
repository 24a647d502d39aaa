// The origin proof hands V8's inspector the function it locates through a slot on the global object.
// Code running after wirelock loaded could swap what that slot holds, through a replaced
// Object.defineProperty or a script-scope `let globalThis` that shadows the global for every later
// script, and hand over an allow-listed tool's function (tsx's) in place of its hook: the hook then
// passed as tsx (second review, 2026-12-01). Real processes under `--import wirelock/register` with
// tsx allow-listed; the hook is assigned after lockdown, which the proof decides.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REGISTER, ROOT } from './support.js';

const scratch = mkdtempSync(join(tmpdir(), 'wirelock-origin-probe-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const policyFile = join(scratch, 'wirelock.json');
writeFileSync(policyFile, JSON.stringify({ version: 1, unlistedHosts: 'allow', domains: { 'api.example.com': {} } }));
const tsxApi = JSON.stringify(join(ROOT, 'node_modules/tsx/dist/esm/api/index.mjs'));

const SWAPS: Record<string, string> = {
  'Object.defineProperty': `
const realDefine = Object.defineProperty;
Object.defineProperty = function (object, key, descriptor) {
  if (typeof key === 'string' && key.startsWith('__wirelock_origin_') && descriptor?.value === hook) descriptor = { ...descriptor, value: disguise };
  return realDefine(object, key, descriptor);
};`,
  'let globalThis': `
const fake = new Proxy(globalThis, {
  defineProperty(target, key, descriptor) { if (typeof key === 'string' && key.startsWith('__wirelock_origin_') && descriptor.value === hook) descriptor = { ...descriptor, value: disguise }; return Reflect.defineProperty(target, key, descriptor); },
  get(target, key) { const value = Reflect.get(target, key); return value === hook && typeof key === 'string' && key.startsWith('__wirelock_origin_') ? disguise : value; },
});
globalThis.__fake = fake;
process.getBuiltinModule('node:vm').runInThisContext('let globalThis = __fake; 0');`,
};

/** Runs `source` as an app under `--import wirelock/register` with tsx allow-listed: the JSON it printed last. */
function underRegister<T>(source: string): Promise<T> {
  const file = join(scratch, `app-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, source);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', REGISTER, file],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WIRELOCK_POLICY: policyFile, WIRELOCK_ALLOW: 'tsx' } },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        if (!line?.startsWith('{')) reject(new Error(`no result: ${String(error)} ${stderr}`));
        else resolve(JSON.parse(line) as T);
      },
    );
  });
}

/** A hook assigned to https.request after lockdown, `swap` run first: was it installed, and what did it see? */
function run(swap: string | undefined): Promise<{ installed: boolean; saw: string[] }> {
  return underRegister(`import https from 'node:https';
const { register: disguise } = await import(${tsxApi});
const seen = [];
const original = https.request;
const hook = function request(...args) { seen.push(String(args[0]?.hostname ?? args[0])); return Reflect.apply(original, this, args); };
${swap ?? ''}
let installed = false;
try { https.request = hook; installed = https.request === hook; } catch {}
const request = https.request({ hostname: 'api.example.com', port: 1, path: '/secret' });
request.on('error', () => {});
request.end();
console.log(JSON.stringify({ installed, saw: seen }));
process.exit(0);
`);
}

test("positive control: a function of tsx's own files is allowed in a slot under lockdown (the allow-list works), so a disguise that reached the inspector would pass", async () => {
  const result = await underRegister<{ installed: boolean }>(`import https from 'node:https';
const { register } = await import(${tsxApi});
let installed = false;
try { https.get = register; installed = https.get === register; } catch {}
console.log(JSON.stringify({ installed }));
process.exit(0);
`);
  assert.equal(result.installed, true);
});

for (const [name, swap] of Object.entries(SWAPS)) {
  test(`a hook disguised as tsx through ${name} is refused, and sees no request`, async () => {
    assert.deepEqual(await run(swap), { installed: false, saw: [] });
  });
}

test('without a disguise the hook is refused too (what the disguise tried to change)', async () => {
  assert.deepEqual(await run(undefined), { installed: false, saw: [] });
});
