// The third independent review's confirmed bypasses (2026-12-01), each against lockdown under
// `wirelock/register` and, as the positive control, against a process without it: the control shows
// the attack works on this Node, the protected run that it no longer does. The classes behind them
// have tests of their own (call-time-lookups.test.ts, test/package/exported-state.test.ts).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REGISTER, ROOT, attack, labForThisFile, nameServer } from './support.js';

const lab = labForThisFile();

async function run(name: string, protectedRun: boolean, nsHost = '127.0.0.2', extraEnv: Record<string, string> = {}): Promise<{ result: Record<string, unknown>; queries: number }> {
  const policyFile = join(lab.dir, 'review3-policy.json');
  writeFileSync(policyFile, JSON.stringify(lab.policy));
  const ns = await nameServer(nsHost);
  try {
    const node = process.env.RUNTIME_CHILD_NODE ?? process.execPath;
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', WIRELOCK_POLICY: policyFile, ATTACK: name, SECRET: 'TOP-SECRET-4711', C2_PORT: String(lab.c2.port), NS_PORT: ns.address.split(':')[1]!, ...extraEnv };
    const flags = protectedRun ? ['--import', REGISTER] : [];
    const result = await new Promise<Record<string, unknown>>((resolve, reject) => {
      execFile(node, [...flags, attack('review3.mjs')], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>);
        } catch {
          reject(new Error(`no report (exit ${error?.code ?? 0}):\n${stdout}\n${stderr}`));
        }
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { result, queries: ns.queries.length };
  } finally {
    ns.socket.close();
  }
}

test('Set.prototype.has replaced only while the guards run: the raw TCP handle to an unlisted host is refused, 0 bytes at the C2; positive control', async () => {
  lab.reset();
  const control = await run('set-has', false);
  assert.equal(control.result.status, 0, JSON.stringify(control.result));
  assert.ok(lab.c2.captured.includes('TOP-SECRET-4711'), 'the control reached the C2');
  lab.reset();
  const { result } = await run('set-has', true);
  assert.ok(result.error === 'ERR_ENV_COMPROMISED' || (result.connect !== 0 && result.connect !== undefined), JSON.stringify(result));
  assert.equal(lab.c2.connections, 0);
});

test('Array.isArray lying during setServers: reverse() through the unlisted name server is refused, 0 queries; positive control', async () => {
  const control = await run('is-array', false);
  assert.ok(control.queries > 0, 'the control query reached the name server');
  const { result, queries } = await run('is-array', true);
  assert.equal(queries, 0, JSON.stringify(result));
  assert.ok(result.setServers === undefined || typeof result.setServers === 'string');
  assert.equal(result.reverse, 'ERR_HOST_NOT_ALLOWED', JSON.stringify(result));
});

test('net.isIP answering "an address" for a name: the DNS name check still runs (refused, 0 queries); positive control', async () => {
  const control = await run('is-ip', false, '127.0.0.1');
  assert.ok(control.queries > 0, 'the control query reached the name server');
  const { result, queries } = await run('is-ip', true, '127.0.0.1');
  assert.equal(queries, 0, JSON.stringify(result));
  assert.equal(result.resolve4, 'ERR_HOST_NOT_ALLOWED', JSON.stringify(result));
});

test("wirelock's module paths hand out neither the inspector's own dispatch nor a changeable pristine; positive control", async () => {
  const control = await run('originals', false);
  // Without lockdown, the inspector answers in-process sessions (Node's behaviour) and the one-time
  // hand-over of the originals is still open (nothing took them).
  assert.equal(control.result.evaluate, 42, JSON.stringify(control.result));
  assert.deepEqual(control.result.taken, { inspectorDispatch: 'function', inspectorDisconnect: 'function', processBinding: 'function', dnsLookup: 'function' });
  const { result } = await run('originals', true);
  assert.equal(result.exportedDispatch, 'undefined');
  assert.equal(result.exportedBinding, 'undefined');
  assert.equal(result.exportedLookup, 'undefined');
  for (const [name, taken] of Object.entries(result.taken as Record<string, string>)) assert.match(taken, /^refused: /, name);
  assert.equal(result.pristineApply, 'TypeError');
  assert.equal(result.evaluate, 'ERR_ENV_COMPROMISED', JSON.stringify(result));
});

test("code between import 'wirelock' and lockdown() that takes one of the guarded originals first: lockdown() refuses to start; positive control: without it lockdown() starts", async () => {
  const control = await run('take-first', false, undefined, { MODE: 'control' });
  assert.equal(control.result.lockdown, 'active', JSON.stringify(control.result));
  const { result } = await run('take-first', false);
  assert.equal(result.took, 'function');
  assert.match(String(result.lockdown), /^refused: .*runtime checks cannot be loaded.*dnsLookup/, JSON.stringify(result));
});

test("code between import 'wirelock' and lockdown() that makes process.getBuiltinModule serve a look-alike worker_threads: lockdown still guards Node's Worker (refused at blockAt medium); control: the look-alike is what other code gets", async () => {
  const control = await run('lookalike-module', false, undefined, { MODE: 'control' });
  assert.equal(control.result.worker, 'ERR_ENV_COMPROMISED', JSON.stringify(control.result));
  const { result } = await run('lookalike-module', false);
  assert.equal(result.lookalikeServed, true);
  assert.equal(result.lockdown, 'active', JSON.stringify(result));
  assert.equal(result.worker, 'ERR_ENV_COMPROMISED', JSON.stringify(result));
  assert.ok((result.findings as string[]).includes('worker-started'), JSON.stringify(result));
});
