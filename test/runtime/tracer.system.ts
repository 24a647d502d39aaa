// System suite: a real tracer (Debian's strace) attached to a real process, at start and after start.
// Fails, never skips, without strace (requireTool prints the install line).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { requireTool } from '../support/system.js';
import { attack, runApp, startLab, type Lab } from './support.js';

let lab: Lab;
before(async () => {
  lab = await startLab();
});
after(async () => {
  await lab.close();
});

describe('a tracer attached to the process (strace)', { concurrency: false }, () => {
  test('at start (strace -f node app): inspectEnvironment reports the tracer by command', async () => {
    const strace = requireTool('strace', 'strace');
    const result = await runApp({ wrapper: [strace, '-f', '-o', '/dev/null'] });
    const tracer = result.findings.find((f) => f.key === 'tracer');
    assert.ok(tracer, JSON.stringify(result.findings.map((f) => f.key)));
    assert.equal(tracer.evidence.command, 'strace');
  });

  test('after start (strace -p) under lockdown: noticed at the next connection, which is blocked', async () => {
    requireTool('strace', 'strace');
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('attach-tracer.mjs') }), LOCKDOWN: 'block' } });
    assert.deepEqual(result.dependency, { attached: true });
    assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED', JSON.stringify(result.outcome));
    assert.equal(result.outcome?.finding, 'tracer');
    assert.equal(lab.origin.applicationBytes, 0);
  });

  test('positive control: without a tracer the same app reports none and its request succeeds', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env(), LOCKDOWN: 'block' } });
    assert.equal(result.findings.some((f) => f.key === 'tracer'), false);
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
  });
});
