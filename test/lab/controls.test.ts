// The legitimate-origin control: a subject that never reaches the real server gets no verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { LabResult } from '../../src/lab/run.js';

const run = promisify(execFile);
const CLI = 'dist/cli/main.js';
const NEVER_REACHED = /never reached the legitimate server, so nothing was proved/;

async function lab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'lab', ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const ONLY = ['--only', 'self-signed,user-installed-ca,compromised-ca,cleartext,hooked-tls-preload'];

/** What every scenario of a subject that reached no one must look like, in the JSON. */
function assertNoVerdicts(result: LabResult): void {
  assert.equal(result.ok, false);
  const ran = result.scenarios.filter((scenario) => scenario.verdict !== 'unavailable');
  assert.ok(ran.length >= 4);
  for (const scenario of ran) {
    assert.equal(scenario.verdict, 'unproven', `${scenario.id}: no "blocked" verdict for a subject that reached no one`);
    assert.equal(scenario.pass, false);
    assert.equal(scenario.originControl?.reached, false);
    assert.match(scenario.problems[0] ?? '', /never reached the legitimate server .*so nothing was proved/);
    // The attacks themselves were live: the positive control still ran and was intercepted.
    assert.equal(scenario.control?.intercepted, true, scenario.id);
  }
  assert.deepEqual([...result.unproven].sort(), ran.map((scenario) => scenario.id).sort());
}

for (const [name, client, shown] of [
  ['a client that does nothing', 'true', /exit status 0/],
  ['a client that fails', 'exit 1', /EXIT_1, exit status 1/],
  ['a client that prints an error and fails', 'echo "cannot connect: no route" >&2; exit 3', /cannot connect: no route/],
] as const) {
  test(`--client: ${name} ("${client}") makes the lab exit 1 with no verdicts and the explanation`, async () => {
    const table = await lab([...ONLY, '--client', client]);
    assert.equal(table.code, 1, table.stdout + table.stderr);
    assert.match(table.stdout, NEVER_REACHED);
    assert.match(table.stdout, /A client that talks to no one is never intercepted/);
    assert.match(table.stdout, shown, 'the explanation shows what the client did');
    assert.match(table.stdout, /fix: your client must POST the value of \$WIRELOCK_LAB_SECRET/);
    assert.doesNotMatch(table.stdout, /\bblocked\b/, 'no row says blocked');
    assert.match(table.stdout, /0\/5 attacks stopped/);

    const json = await lab(['--json', ...ONLY, '--client', client]);
    assert.equal(json.code, 1);
    const result = JSON.parse(json.stdout) as LabResult;
    assertNoVerdicts(result);
    for (const scenario of result.scenarios) assert.equal(typeof scenario.originControl?.exitCode, 'number');
  });
}

test('a broken wirelock (a build whose policy refuses every host) fails the lab on the legitimate-origin control', async () => {
  // The compiled lab, so its clients run compiled too; the policy of the build under test refuses every host.
  const { runLab } = (await import(pathToFileURL('dist/lab/run.js').href)) as typeof import('../../src/lab/run.js');
  const { renderTable } = (await import(pathToFileURL('dist/lab/render.js').href)) as typeof import('../../src/lab/render.js');
  const result = await runLab({
    only: ['self-signed', 'user-installed-ca', 'compromised-ca', 'cleartext', 'hooked-tls-preload', 'ct-no-scts'],
    transformPolicy: (_name, policy) => ({ ...policy, unlistedHosts: 'block', domains: {} }),
  });
  assertNoVerdicts(result);
  for (const scenario of result.scenarios) {
    // Without the control these would have passed: wirelock refused every attacker as well.
    assert.equal(scenario.subject?.ok, false);
    assert.equal(scenario.subject?.attackerBytes, 0);
    assert.equal(scenario.originControl?.code, 'ERR_HOST_NOT_ALLOWED', scenario.id);
  }
  const table = renderTable(result);
  assert.match(table, /wirelock never reached the legitimate server, so nothing was proved/);
  assert.match(table, /fix: wirelock refused the lab's own server \(ERR_HOST_NOT_ALLOWED\)/);

  // Control: the same scenarios with the real policy pass, so the failure above came from the broken build.
  const healthy = await runLab({ only: ['self-signed', 'user-installed-ca', 'compromised-ca', 'cleartext', 'hooked-tls-preload', 'ct-no-scts'] });
  assert.equal(healthy.ok, true, JSON.stringify(healthy.scenarios.map((s) => [s.id, s.problems])));
  for (const scenario of healthy.scenarios) assert.equal(scenario.originControl?.reached, true, scenario.id);
});

test('the example wirelock client: safe everywhere when started with --import wirelock/register; without it, the preload row fails and says how to fix it', async () => {
  const example = `"${process.execPath}" test/fixtures/lab/wirelock-client.mjs`;
  const registered = await lab(['--json', '--client', `"${process.execPath}" --import wirelock/register test/fixtures/lab/wirelock-client.mjs`]);
  const result = JSON.parse(registered.stdout) as LabResult;
  assert.equal(registered.code, 0, JSON.stringify(result.scenarios.filter((s) => !s.pass).map((s) => [s.id, s.problems])));
  const ran = result.scenarios.filter((scenario) => scenario.verdict !== 'unavailable');
  assert.ok(ran.length >= 13, `${ran.length} scenarios ran`);
  for (const scenario of ran) {
    assert.equal(scenario.originControl?.reached, true, `${scenario.id}: the example reached the legitimate server`);
    assert.equal(scenario.subject?.attackerBytes, 0, scenario.id);
  }
  assert.equal(result.scenarios.find((s) => s.id === 'hooked-tls-preload')?.verdict, 'blocked');

  const bare = await lab(['--only', 'hooked-tls-preload,compromised-ca', '--client', example]);
  assert.equal(bare.code, 1);
  assert.match(bare.stdout, /hooked-tls-preload: the attacker received \d+ bytes of application data, including the secret/);
  assert.match(bare.stdout, /fix: start the program with `node --import wirelock\/register`/);
  assert.doesNotMatch(bare.stdout, /compromised-ca:/, 'createFetch alone still stops the network attack');
});
