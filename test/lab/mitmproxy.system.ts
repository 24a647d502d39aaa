// System suite (`npm run test:system`; .ci/run installs Debian's mitmproxy package first).
// mitmproxy is a real adversary nobody here wrote: this suite fails, rather than skips, without it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startMitmproxy } from '../../src/lab/mitmproxy.js';
import { isOnPath, openLab, type LabResult } from '../../src/lab/run.js';

const run = promisify(execFile);
const { lab, close } = openLab();
const { pki, dir } = lab;
const closers: Array<() => Promise<void>> = [];

after(close);

async function client(side: 'plain' | 'wirelock', env: Record<string, string>): Promise<{ ok: boolean; code?: string; status?: number }> {
  const { stdout } = await run(process.execPath, ['dist/lab/client.js'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, WIRELOCK_LAB_SIDE: side, ...env },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; code?: string };
}

test('mitmdump is installed (apt-get install mitmproxy)', () => {
  assert.ok(isOnPath('mitmdump'), 'mitmdump not on PATH');
});

test("mitmproxy's flow dump holds the plain client's secret and never wirelock's", async () => {
  const origin = await lab.startServer(pki.serverOptions(pki.legit));
  // The test stops mitmdump itself (so it flushes its flow dump) through this scoped context.
  const mitm = await startMitmproxy({ ...lab, onClose: (release) => void closers.push(async () => release()) }, { reverseTo: origin.url('127.0.0.1', '') }, 'e2e');
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify({ version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } } }));
  const store = lab.caFile('store', pki.legit.root.pem, readFileSync(mitm.caFile, 'utf8'));
  const common = { WIRELOCK_LAB_URL: `${mitm.url}/pay`, NODE_EXTRA_CA_CERTS: store, WIRELOCK_POLICY: policyFile };

  const plain = await client('plain', { ...common, WIRELOCK_LAB_SECRET: 'plain-secret-4111111111111111' });
  assert.equal(plain.ok, true, 'the plain client talked to mitmproxy');
  const wirelock = await client('wirelock', { ...common, WIRELOCK_LAB_SECRET: 'wirelock-secret-5500000000000004' });
  assert.deepEqual([wirelock.ok, wirelock.code], [false, 'ERR_CERT_UNTRUSTED']);

  // Stop mitmdump so it flushes its flow dump, then read mitmproxy's own record.
  for (const stop of closers) await stop();
  const dump = readFileSync(mitm.flowsFile).toString('latin1');
  assert.ok(dump.includes('plain-secret-4111111111111111'), "the plain client's secret is in mitmproxy's flow dump");
  assert.ok(!dump.includes('wirelock-secret-5500000000000004'), "wirelock's secret never is");
  assert.equal(origin.requests.length, 1, 'only the plain request was forwarded to the origin');
});

test('wirelock lab: both mitmproxy scenarios run (not unavailable) and pass', async () => {
  const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'lab', '--json', '--only', 'mitmproxy,mitmproxy-reverse']);
  const result = JSON.parse(stdout) as LabResult;
  assert.equal(result.ok, true, JSON.stringify(result.scenarios.map((s) => [s.id, s.problems])));
  assert.deepEqual(result.scenarios.map((s) => s.verdict), ['bypassed', 'blocked']);
  for (const scenario of result.scenarios) {
    assert.equal(scenario.control?.intercepted, true);
    assert.equal(scenario.subject?.attackerBytes, 0);
  }
});
