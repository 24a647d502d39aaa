// Spawned-process tests of the opt-in hardening (lockdown's freeze: true) and of --expose-internals.
// Same lab as lockdown.test.ts: the origin on 127.0.0.1, the attacker's C2 on 127.0.0.2.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attack, keys, runApp, labForThisFile } from './support.js';

const lab = labForThisFile();

const SECRET = 'TOP-SECRET-BODY-4711';

test('--expose-internals (internalBinding reachable: raw sockets no guard sees) is a critical finding that blocks the network', async () => {
  lab.reset();
  const result = await runApp({ flags: ['--expose-internals'], env: { ...lab.env(), LOCKDOWN: 'block' } });
  assert.equal(result.findings.find((f) => f.key === 'raw-binding:--expose-internals')?.severity, 'critical', JSON.stringify(result.findings.map((f) => f.key)));
  assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED', JSON.stringify(result.outcome));
  assert.equal(lab.origin.applicationBytes, 0);
});

describe('lockdown freeze: true (opt-in hardening)', { concurrency: false }, () => {
  // unlistedHosts "allow": the C2 is reachable, so only the freeze stands between the hook and it.
  const open = (): string => JSON.stringify({ ...lab.policy, unlistedHosts: 'allow' });

  test('a hook deeper than any watched slot (OutgoingMessage.prototype.end): Object.defineProperty throws, an assignment is refused, the C2 gets 0 bytes', async () => {
    lab.reset();
    const defined = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('deep-hook.mjs'), VARIANT: 'define', CLIENT: 'https', POLICY_JSON: open() }), LOCKDOWN: 'block', FREEZE: '1' } });
    assert.match(String((defined.dependency.error as { message?: string } | undefined)?.message), /Cannot redefine property: end/);
    // The hook never got in: the request works and nothing reached the C2.
    assert.equal(defined.outcome?.ok, true, JSON.stringify(defined.outcome));
    assert.ok(lab.origin.requests.some((request) => request.body === SECRET));
    assert.equal(lab.c2.connections, 0);
    lab.reset();
    const assigned = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('deep-hook.mjs'), VARIANT: 'assign', CLIENT: 'https', POLICY_JSON: open() }), LOCKDOWN: 'block', FREEZE: '1' } });
    assert.equal((assigned.dependency.error as { code?: string } | undefined)?.code, 'ERR_ENV_COMPROMISED');
    assert.ok(keys(assigned).includes('tamper-attempt:http.OutgoingMessage.prototype.end'), keys(assigned).join(', '));
    assert.equal(lab.c2.connections, 0);
  });

  test('a hook deeper than any watched slot: positive control, without freeze the hook reads the body and the C2 gets it', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('deep-hook.mjs'), VARIANT: 'define', CLIENT: 'https', POLICY_JSON: open() }), LOCKDOWN: 'block' } });
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
    assert.ok(lab.c2.captured.includes(SECRET), `the C2 got ${lab.c2.applicationBytes} bytes`);
  });
});
