// The legitimate-origin control: a subject that never reaches the real server gets no verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabResult } from '../../src/lab/run.js';
import { assertNoVerdicts } from './catalogue.js';

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

const ONLY = ['--only', 'self-signed,compromised-ca,cleartext,hooked-tls-preload'];

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
    assert.match(table.stdout, /0\/4 attacks stopped/);
  });
}

test('--client "true" --json: every scenario unproven, the control and the exit status in the JSON', async () => {
  const json = await lab(['--json', ...ONLY, '--client', 'true']);
  assert.equal(json.code, 1);
  const result = JSON.parse(json.stdout) as LabResult;
  assertNoVerdicts(result);
  for (const scenario of result.scenarios) assert.equal(scenario.originControl?.exitCode, 0);
});

