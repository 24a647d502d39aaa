// The example wirelock program under --client: safe everywhere when started the way docs/lab.md says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabResult } from '../../src/lab/run.js';

const run = promisify(execFile);

async function lab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['dist/cli/main.js', 'lab', ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

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
