import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabResult } from '../../src/lab/run.js';
import { lab } from './catalogue.js';


test('a broken wirelock (report-only policy) makes the lab exit 1 and name what got through', async () => {
  const { code, stdout } = await lab(['--policy-mode', 'report-only', '--only', 'user-installed-ca,compromised-ca,cleartext,https-proxy']);
  assert.equal(code, 1);
  assert.match(stdout, /3 scenario\(s\) failed/);
  for (const id of ['user-installed-ca', 'compromised-ca', 'cleartext']) assert.match(stdout, new RegExp(`^  ${id}: the attacker received \\d+ bytes of application data, including the secret`, 'm'));
  assert.doesNotMatch(stdout, /^  https-proxy:/m, 'the proxy attack is still bypassed: report-only does not route through a proxy');
  assert.match(stdout, /LEAKED secret/);
  assert.match(stdout, /1\/4 attacks stopped/);
});

test('--client: a plain-fetch program is shown to leak, a wirelock program is shown safe', async () => {
  const only = ['--only', 'user-installed-ca,compromised-ca,cleartext,reject-unauthorized-0,self-signed,expired-pins,hooked-fetch-dependency'];
  const plain = await lab(['--json', ...only, '--client', `"${process.execPath}" test/fixtures/lab/plain-client.mjs`]);
  assert.equal(plain.code, 1);
  const leaky = JSON.parse(plain.stdout) as LabResult;
  assert.deepEqual(leaky.failed.sort(), ['cleartext', 'compromised-ca', 'reject-unauthorized-0', 'user-installed-ca']);
  for (const id of leaky.failed) assert.equal(leaky.scenarios.find((s) => s.id === id)?.subject?.secretCaptured, true, id);
  // Plain fetch does refuse a self-signed certificate: the lab says so rather than calling it a leak.
  assert.equal(leaky.scenarios.find((s) => s.id === 'self-signed')?.verdict, 'blocked');

  const safe = await lab(['--json', ...only, '--client', `"${process.execPath}" test/fixtures/lab/wirelock-client.mjs`]);
  const result = JSON.parse(safe.stdout) as LabResult;
  assert.equal(safe.code, 0, JSON.stringify(result.scenarios.map((s) => [s.id, s.problems])));
  for (const scenario of result.scenarios) {
    if (scenario.id === 'expired-pins' || scenario.id === 'hooked-fetch-dependency') {
      assert.equal(scenario.verdict, 'unavailable', 'reports and dependencies cannot be observed in or planted into a foreign program');
      assert.match(scenario.problems[0] ?? '', /^not applicable to --client: /);
      continue;
    }
    assert.equal(scenario.verdict, 'blocked', scenario.id);
    assert.match(scenario.subject?.code ?? '', /^ERR_/, 'the program printed wirelock\'s error code');
    assert.equal(scenario.control?.intercepted, true, 'the built-in positive control still ran');
  }
});

test("the lab's own WIRELOCK_LAB_* variables in the parent environment do not reach its scenarios", async () => {
  const only = ['--json', '--only', 'self-signed,cleartext'];
  const inherited = { ...process.env, WIRELOCK_LAB_DEPENDENCY: 'test/fixtures/lab/parent-dependency.mjs', WIRELOCK_LAB_LOCKDOWN: '1' };
  const { code, stdout } = await lab(only, inherited);
  const result = JSON.parse(stdout) as LabResult;
  assert.equal(code, 0, JSON.stringify(result.scenarios.map((s) => [s.id, s.problems])));
  for (const scenario of result.scenarios) {
    assert.equal(scenario.control?.intercepted, true, `${scenario.id}: positive control intercepted`);
    assert.equal(scenario.verdict, 'blocked', scenario.id);
  }
  // Control: the same dependency planted on purpose does break the plain client (the test can fail).
  const { spawnSync } = await import('node:child_process');
  const planted = spawnSync(process.execPath, ['dist/lab/client.js'], { env: { ...process.env, WIRELOCK_LAB_SIDE: 'plain', WIRELOCK_LAB_URL: 'http://127.0.0.1:9/', WIRELOCK_LAB_SECRET: 's', WIRELOCK_LAB_DEPENDENCY: 'test/fixtures/lab/parent-dependency.mjs' }, encoding: 'utf8' });
  assert.match(planted.stdout, /parent-dependency: inherited/);
});

test('usage errors exit 2 without a stack trace', async () => {
  const unknown = await lab(['--only', 'no-such-attack']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /ERR_USAGE: unknown scenario "no-such-attack"; known: self-signed/);
  assert.doesNotMatch(unknown.stderr, /\n\s+at /);
  const mode = await lab(['--policy-mode', 'lenient']);
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--policy-mode must be enforce or report-only/);
  const list = await lab(['--list']);
  assert.equal(list.code, 0);
  assert.ok(list.stdout.split('\n').includes('chain-injection'));
});
