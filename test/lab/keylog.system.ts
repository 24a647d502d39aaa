// System suite (`npm run test:system`; .ci/run installs Debian's tcpdump and tshark first, and runs as root
// so tcpdump can capture on lo). A passive attacker nobody here wrote: tcpdump records the loopback
// traffic, Wireshark's tshark decrypts it with the TLS keys the client was made to log.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openLab, type LabResult } from '../../src/lab/run.js';
import { decryptCapture, startSniffer } from '../../src/lab/sniffer.js';
import { requireTool } from '../support/system.js';

const run = promisify(execFile);
const { lab, close } = openLab();
const { pki, dir } = lab;
after(close);

async function client(side: 'plain' | 'wirelock', env: Record<string, string>): Promise<{ ok: boolean; code?: string; message?: string }> {
  const { stdout } = await run(process.execPath, ['dist/lab/client.js'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, WIRELOCK_LAB_SIDE: side, ...env },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; code?: string; message?: string };
}

test('tcpdump and tshark are installed (apt-get install tcpdump tshark) and loopback can be captured', () => {
  requireTool('tcpdump', 'tcpdump');
  requireTool('tshark', 'tshark');
  assert.equal(process.getuid?.(), 0, 'capturing on lo needs root');
});

test("tshark's decryption of the capture holds the plain client's secret and never wirelock's", async () => {
  requireTool('tcpdump', 'tcpdump');
  requireTool('tshark', 'tshark');
  const origin = await lab.startServer(pki.serverOptions(pki.legit));
  const sniffer = await startSniffer(lab, origin.port, 'system');
  const policyFile = join(dir, 'policy.json');
  writeFileSync(policyFile, JSON.stringify({ version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } } }));
  const common = { WIRELOCK_LAB_URL: origin.url('127.0.0.1', '/pay'), NODE_EXTRA_CA_CERTS: lab.caFile('store', pki.legit.root.pem), WIRELOCK_POLICY: policyFile };
  const leakKeys = { NODE_OPTIONS: `--tls-keylog=${sniffer.keyLogFile}` };

  const plain = await client('plain', { ...common, ...leakKeys, WIRELOCK_LAB_SECRET: 'plain-secret-4111111111111111' });
  assert.equal(plain.ok, true, 'the plain client reached the server');
  const wirelock = await client('wirelock', { ...common, ...leakKeys, WIRELOCK_LAB_LOCKDOWN: '1', WIRELOCK_LAB_SECRET: 'wirelock-secret-5500000000000004' });
  assert.deepEqual([wirelock.ok, wirelock.code], [false, 'ERR_ENV_COMPROMISED'], wirelock.message);
  assert.match(wirelock.message ?? '', /tls-keylog/);
  // Control: the same wirelock client, unattacked, does reach the server (so the refusal above is the protection).
  const unattacked = await client('wirelock', { ...common, WIRELOCK_LAB_LOCKDOWN: '1', WIRELOCK_LAB_SECRET: 'wirelock-control-secret' });
  assert.equal(unattacked.ok, true, unattacked.message);

  await sniffer.observe!();
  const decrypted = (await decryptCapture(sniffer.captureFile, sniffer.keyLogFile, origin.port)).toString('latin1');
  assert.ok(decrypted.includes('plain-secret-4111111111111111'), "tshark decrypted the plain client's secret from the capture");
  assert.match(decrypted, /POST \/pay HTTP\/1\.1/);
  assert.ok(!decrypted.includes('wirelock-secret-5500000000000004'), "wirelock's secret is never in the decrypted capture");
  assert.ok(!decrypted.includes('wirelock-control-secret'), 'no keys were logged for the unattacked wirelock run either');
  assert.ok(origin.requests.some((request) => request.body === 'wirelock-control-secret'), 'the unattacked run reached the origin');
  assert.ok(!origin.requests.some((request) => request.body.includes('wirelock-secret-5500000000000004')), 'the attacked wirelock run never connected');
});

test('wirelock lab: both key-log sniffing scenarios run (not unavailable) and pass', async () => {
  const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'lab', '--json', '--only', 'keylog-sniffing,keylog-listener-dependency'], { maxBuffer: 16 << 20 });
  const result = JSON.parse(stdout) as LabResult;
  assert.equal(result.ok, true, JSON.stringify(result.scenarios.map((s) => [s.id, s.problems])));
  for (const scenario of result.scenarios) {
    assert.equal(scenario.verdict, 'blocked', scenario.id);
    assert.equal(scenario.control?.intercepted, true, `${scenario.id}: tshark decrypted the plain client's secret`);
    assert.equal(scenario.subject?.attackerBytes, 0);
    assert.equal(scenario.originControl?.reached, true);
  }
});
