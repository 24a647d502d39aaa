// System suite: non-Node clients under --client (curl, Debian package curl). The lab must give a
// client that cannot reach the legitimate server no verdict, and a working one its real profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabResult } from '../../src/lab/run.js';
import { requireTool } from '../support/system.js';

const run = promisify(execFile);

async function lab(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'lab', ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

const ONLY = ['--only', 'self-signed,user-installed-ca,compromised-ca,cleartext,reject-unauthorized-0'];

test('curl without WIRELOCK_LAB_CA never reaches the legitimate server: exit 1, no verdicts, the explanation and its output', async () => {
  requireTool('curl', 'curl');
  const client = 'curl -sS --fail -d "$WIRELOCK_LAB_SECRET" "$WIRELOCK_LAB_URL"';
  const table = await lab([...ONLY, '--client', client]);
  assert.equal(table.code, 1);
  assert.match(table.stdout, /Your client never reached the legitimate server, so nothing was proved/);
  assert.match(table.stdout, /curl: \(60\)/, "curl's own output is shown");
  assert.match(table.stdout, /fix: your client refused the legitimate server's certificate: trust the lab's CA, e\.g\. curl --cacert "\$WIRELOCK_LAB_CA"/);
  const result = JSON.parse((await lab(['--json', ...ONLY, '--client', client])).stdout) as LabResult;
  for (const scenario of result.scenarios) {
    assert.notEqual(scenario.verdict, 'blocked', scenario.id);
    assert.equal(scenario.originControl?.reached, false);
  }
  // Plain http needs no CA: curl's cleartext request is still seen leaking, the rest have no verdict.
  assert.equal(result.scenarios.find((s) => s.id === 'cleartext')?.verdict, 'leaked');
  assert.deepEqual([...result.unproven].sort(), ['compromised-ca', 'reject-unauthorized-0', 'self-signed', 'user-installed-ca']);
});

test('curl --cacert "$WIRELOCK_LAB_CA" gets real verdicts: leaks on cleartext and to the key-log sniffer, blocked by the rogue and the mis-issuing CA', async () => {
  requireTool('curl', 'curl');
  const client = 'curl -sS --fail --cacert "$WIRELOCK_LAB_CA" -d "$WIRELOCK_LAB_SECRET" "$WIRELOCK_LAB_URL"';
  const { code, stdout } = await lab(['--json', '--only', `${ONLY[1]},keylog-sniffing`, '--client', client]);
  assert.equal(code, 1, 'curl leaks on cleartext, so the lab fails');
  const result = JSON.parse(stdout) as LabResult;
  const verdicts = Object.fromEntries(result.scenarios.map((s) => [s.id, s.verdict]));
  // curl honours SSLKEYLOGFILE: the sniffer decrypts its request too.
  assert.deepEqual(verdicts, { 'self-signed': 'blocked', 'user-installed-ca': 'blocked', 'compromised-ca': 'blocked', cleartext: 'leaked', 'reject-unauthorized-0': 'blocked', 'keylog-sniffing': 'leaked' });
  assert.deepEqual(result.failed.sort(), ['cleartext', 'keylog-sniffing']);
  assert.deepEqual(result.unproven, []);
  for (const scenario of result.scenarios) {
    assert.equal(scenario.originControl?.reached, true, `${scenario.id}: curl reached the legitimate server`);
    assert.equal(scenario.control?.intercepted, true);
  }
  assert.equal(result.scenarios.find((s) => s.id === 'user-installed-ca')?.subject?.code, 'EXIT_60', "curl's certificate error");
  assert.ok(result.scenarios.find((s) => s.id === 'cleartext')?.subject?.secretCaptured);
  assert.match(result.scenarios.find((s) => s.id === 'cleartext')?.hints[0] ?? '', /curl --proto =https/);
});

test("curl with --proto =https and WIRELOCK_LAB_CA: the cleartext row is blocked too, and the DNS takeover's control goes through the name the attack hijacks", async () => {
  requireTool('curl', 'curl');
  const client = 'curl -sS --fail --proto =https --cacert "$WIRELOCK_LAB_CA" -d "$WIRELOCK_LAB_SECRET" "$WIRELOCK_LAB_URL"';
  const { code, stdout } = await lab(['--json', '--only', 'cleartext,dns-takeover', '--client', client]);
  const result = JSON.parse(stdout) as LabResult;
  assert.equal(code, 0, JSON.stringify(result.scenarios.map((s) => [s.id, s.problems])));
  for (const scenario of result.scenarios) {
    assert.equal(scenario.verdict, 'blocked', scenario.id);
    assert.equal(scenario.originControl?.reached, true, scenario.id);
  }
  // The takeover's control went to the legitimate server through the same name the attack hijacks.
  assert.match(result.scenarios.find((s) => s.id === 'dns-takeover')?.originControl?.url ?? '', /^https:\/\/a\.wirelock\.test:\d+\/pay$/);
});

test('a Python requests script trusting WIRELOCK_LAB_CA gets real verdicts (it honours SSLKEYLOGFILE, so the key-log sniffer reads it)', async () => {
  requireTool('python3', 'python3-requests');
  const probe = await run('python3', ['-c', 'import requests']).then(() => true, () => false);
  assert.ok(probe, 'python3 cannot import requests: apt-get install -y python3-requests');
  const { stdout } = await lab(['--json', '--only', 'self-signed,compromised-ca,cleartext,keylog-sniffing', '--client', 'python3 test/fixtures/lab/requests-client.py']);
  const result = JSON.parse(stdout) as LabResult;
  const verdicts = Object.fromEntries(result.scenarios.map((s) => [s.id, s.verdict]));
  assert.deepEqual(verdicts, { 'self-signed': 'blocked', 'compromised-ca': 'blocked', cleartext: 'leaked', 'keylog-sniffing': 'leaked' });
  for (const scenario of result.scenarios) assert.equal(scenario.originControl?.reached, true, scenario.id);
});
