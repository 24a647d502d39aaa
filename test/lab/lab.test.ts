import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabResult } from '../../src/lab/run.js';

const run = promisify(execFile);
const CLI = 'dist/cli/main.js';

// What each attack must be stopped with: written out here, not read from the catalogue under test.
const EXPECTED: Record<string, string> = {
  'self-signed': 'blocked ERR_CERT_UNTRUSTED',
  'user-installed-ca': 'blocked ERR_CERT_UNTRUSTED',
  'compromised-ca': 'blocked ERR_PIN_MISMATCH',
  'chain-injection': 'blocked ERR_PIN_MISMATCH',
  'expired-certificate': 'blocked ERR_CERT_EXPIRED',
  'hostname-mismatch': 'blocked ERR_CERT_HOSTNAME',
  'legacy-tls': 'blocked ERR_TLS_VERSION',
  cleartext: 'blocked ERR_CLEARTEXT_BLOCKED',
  'https-downgrade-redirect': 'blocked ERR_CLEARTEXT_BLOCKED',
  'https-proxy': 'bypassed',
  'reject-unauthorized-0': 'blocked ERR_CERT_UNTRUSTED',
  'expired-pins': 'allowed-with-report',
  'ct-no-scts': 'blocked ERR_CT_REQUIRED',
  'ct-unknown-log': 'blocked ERR_CT_REQUIRED',
  'ct-forged-sct': 'blocked ERR_CT_REQUIRED',
  'hooked-tls-preload': 'blocked ERR_ENV_COMPROMISED',
  'hooked-fetch-dependency': 'blocked ERR_ENV_COMPROMISED',
  'dispatcher-swap-dependency': 'blocked ERR_ENV_COMPROMISED',
  'ca-injection-dependency': 'blocked ERR_ENV_COMPROMISED',
};

// In-process attacks must be blocked because the lab's hook was found, not for some other finding.
const EXPECTED_FINDING: Record<string, string> = {
  'hooked-tls-preload': 'hooked-api:tls.connect',
  'hooked-fetch-dependency': 'globalThis.fetch',
  'dispatcher-swap-dependency': 'dispatcher-swapped:undici.globalDispatcher',
  'ca-injection-dependency': 'ca-injected:https.globalAgent.options.ca',
};

async function lab(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'lab', ...args], { maxBuffer: 16 << 20, ...(env ? { env } : {}) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('the full catalogue: every attack stopped with 0 bytes, every positive control intercepted, exit 0', async () => {
  const { code, stdout, stderr } = await lab(['--json']);
  const result = JSON.parse(stdout) as LabResult;
  assert.equal(code, 0, `${stderr}\n${JSON.stringify(result.failed)}`);
  assert.equal(result.ok, true);
  const ids = result.scenarios.map((scenario) => scenario.id);
  for (const id of Object.keys(EXPECTED)) assert.ok(ids.includes(id), `scenario ${id} ran`);
  for (const scenario of result.scenarios) {
    if (scenario.verdict === 'unavailable') {
      assert.match(scenario.problems.join(' '), /(mitmdump|tinyproxy) is not installed/, 'only scenarios whose Debian tool is missing may be unavailable');
      continue;
    }
    assert.equal(scenario.pass, true, `${scenario.id}: ${scenario.problems.join('; ')}`);
    const expected = EXPECTED[scenario.id];
    const finding = EXPECTED_FINDING[scenario.id];
    if (finding) assert.ok(scenario.subject?.message?.includes(finding), `${scenario.id} was blocked for ${finding}, not another finding: ${scenario.subject?.message}`);
    if (expected) assert.equal(`${scenario.verdict}${scenario.verdict === 'blocked' ? ` ${scenario.subject?.code}` : ''}`, expected, scenario.id);
    if (scenario.expect === 'delivered') {
      assert.ok(scenario.subject?.ok && scenario.subject.secretCaptured, `${scenario.id}: the request arrived at the origin through the proxy`);
      continue;
    }
    if (scenario.expect === 'allowed-with-report') {
      assert.ok(scenario.subject?.ok, 'expired pins: the request is allowed');
      assert.ok(scenario.subject?.reports.some((report) => report.kind === 'pins-expired'), 'and a pins-expired report is emitted');
      continue;
    }
    assert.equal(scenario.subject?.attackerBytes, 0, `${scenario.id}: no byte of application data reached the attacker`);
    assert.equal(scenario.subject?.secretCaptured, false);
    assert.equal(scenario.control?.intercepted, true, `${scenario.id}: positive control intercepted`);
    assert.ok((scenario.control?.attackerBytes ?? 0) > 0);
  }
});

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
