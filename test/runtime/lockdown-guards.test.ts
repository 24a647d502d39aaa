// Lockdown's guards one by one, each against a real attack in a real process. The table-driven
// attack catalogue with its positive controls is lockdown.test.ts, exfiltration by a dependency is
// lockdown-exfiltration.test.ts: split so each file stays well under the per-file timeout on 2
// cores. Real loopback servers: the legitimate origin (127.0.0.1, listed in the policy), the
// attacker's C2 and a MITM with a rogue CA (127.0.0.2, not listed).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { attack, keys, nodeWithSetDefaultCas, runApp, labForThisFile } from './support.js';

const lab = labForThisFile();

const SECRET = 'TOP-SECRET-BODY-4711';

describe('lockdown guards against real tampering', { concurrency: false }, () => {
  test('a refused assignment names the attacker file and the wrapping kind (plain, Proxy, bound); fetch stays Node\'s', async () => {
    for (const [variant, origin] of [
      ['plain', 'user'],
      ['proxy', 'proxy'],
      ['bound', 'bound'],
    ] as const) {
      lab.reset();
      const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('replace-fetch.mjs'), VARIANT: variant }), LOCKDOWN: 'block' } });
      const finding = result.findings.find((f) => f.key === 'tamper-attempt:globalThis.fetch');
      assert.ok(finding, variant);
      assert.equal(finding.evidence.origin, origin);
      assert.equal(finding.evidence.applied, false);
      assert.match(String(finding.evidence.url), /replace-fetch\.mjs$/, `${variant}: ${JSON.stringify(finding.evidence)}`);
      assert.match(String(finding.evidence.assignedBy), /replace-fetch\.mjs:\d+:\d+$/);
      assert.equal((result.dependency.error as { code?: string } | undefined)?.code, 'ERR_ENV_COMPROMISED', 'the assignment itself threw');
      // The hook never ran: no finding says fetch is hooked now.
      assert.equal(result.findings.some((f) => f.key === 'hooked-api:globalThis.fetch'), false);
    }
  });

  test('a hook installed with Object.defineProperty (no assignment to trap) is caught at the next connection', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('define-fetch.mjs') }), LOCKDOWN: 'block' } });
    assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED');
    assert.equal(result.outcome?.finding, 'hooked-api:globalThis.fetch');
    assert.equal(lab.c2.applicationBytes, 0);
    assert.equal(lab.origin.applicationBytes, 0);
  });

  for (const [variant, finding] of [
    ['fetch', 'hooked-api:globalThis.fetch'],
    ['socket-write', 'hooked-api:net.Socket.prototype.write'],
  ] as const) {
    test(`a hook installed as an accessor that lies to wirelock's own reads (${variant}) is caught at the next connection`, async () => {
      lab.reset();
      const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('lying-getter.mjs'), VARIANT: variant }), LOCKDOWN: 'block' } });
      assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED', JSON.stringify(result.outcome));
      assert.equal(result.outcome?.finding, finding);
      assert.equal(lab.c2.applicationBytes, 0);
      assert.equal(lab.origin.applicationBytes, 0);
    });

    test(`a hook installed as an accessor that lies to wirelock (${variant}): positive control, the spy leaks without lockdown`, async () => {
      lab.reset();
      const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('lying-getter.mjs'), VARIANT: variant }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
      assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
      assert.ok(lab.c2.captured.includes(SECRET), `C2 got ${lab.c2.applicationBytes} bytes`);
    });
  }

  test('a dependency calling activeLockdown().release() is refused: tamper finding, fetch stays guarded, C2 gets 0 bytes', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('release-lockdown.mjs') }), LOCKDOWN: 'block' } });
    assert.equal((result.dependency.error as { code?: string } | undefined)?.code, 'ERR_ENV_COMPROMISED', JSON.stringify(result.dependency));
    const finding = result.findings.find((f) => f.key === 'tamper-attempt:lockdown.release');
    assert.ok(finding, JSON.stringify(result.findings.map((f) => f.key)));
    assert.match(String(finding.evidence.calledBy), /release-lockdown\.mjs:\d+:\d+$/);
    assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED', JSON.stringify(result.outcome));
    assert.equal(lab.c2.applicationBytes, 0);
    assert.equal(lab.origin.applicationBytes, 0);
  });

  test('a dependency calling activeLockdown().release(): positive control, without lockdown its fetch wrapper leaks', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('release-lockdown.mjs') }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
    assert.ok(lab.c2.captured.includes(SECRET), `C2 got ${lab.c2.applicationBytes} bytes`);
  });

  test('blocked inspector is closed again (nobody can attach after detection)', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('inspector-open.mjs') }), LOCKDOWN: 'block' } });
    assert.match(String(result.dependency.url), /^ws:\/\//);
    assert.equal(result.inspectorUrl, null);
  });

  test('tls.setDefaultCACertificates under block is refused: the CA is never added', async () => {
    const node = await nodeWithSetDefaultCas();
    if (!node) {
      const tls = await import('node:tls');
      assert.equal('setDefaultCACertificates' in tls, false);
      return;
    }
    lab.reset();
    const env = { ...lab.env({ DEPENDENCY: attack('ca-inject.mjs'), VARIANT: 'set-default', ROGUE_CA_PEM: lab.rogue.root.pem }), LOCKDOWN: 'block' };
    const result = await runApp({ env, node });
    assert.equal((result.dependency.error as { code?: string } | undefined)?.code, 'ERR_ENV_COMPROMISED');
  });

  test('onTamper "report": the finding is reported and nothing is blocked', async () => {
    lab.reset();
    const policy = { ...lab.policy, unlistedHosts: 'allow' };
    const env = { ...lab.env({ DEPENDENCY: attack('replace-fetch.mjs'), POLICY_JSON: JSON.stringify(policy) }), LOCKDOWN: 'report' };
    const result = await runApp({ env });
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
    assert.ok(keys(result, 'high').includes('hooked-api:globalThis.fetch'));
    assert.match(result.stderr, /WIRELOCK_TAMPER|WirelockWarning/);
    // Report mode is observation only: the hook did run.
    assert.ok(lab.c2.captured.includes(SECRET));
  });

  test('a clean process under lockdown reports nothing above info and its request succeeds', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env(), LOCKDOWN: 'block' } });
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
    assert.deepEqual(keys(result, 'low'), []);
    assert.ok(lab.origin.requests.some((request) => request.body === SECRET));
  });

  test('lockdown puts plain https.request under the policy: a MITM trusted through NODE_EXTRA_CA_CERTS gets 0 bytes', async () => {
    lab.reset();
    const rogueFile = join(lab.dir, 'rogue-root.pem');
    writeFileSync(rogueFile, lab.rogue.root.pem);
    const policy = { ...lab.policy, domains: { '127.0.0.1': {}, '127.0.0.2': {} } };
    const env = { ...lab.env({ CLIENT: 'https', TARGET_URL: lab.mitm.url('127.0.0.2', '/api'), POLICY_JSON: JSON.stringify(policy) }), NODE_EXTRA_CA_CERTS: rogueFile };
    const protectedRun = await runApp({ env: { ...env, LOCKDOWN: 'block' } });
    assert.equal(protectedRun.outcome?.code, 'ERR_CERT_UNTRUSTED', JSON.stringify(protectedRun.outcome));
    assert.equal(lab.mitm.applicationBytes, 0);
    const finding = protectedRun.findings.find((f) => f.key === 'extra-ca:NODE_EXTRA_CA_CERTS');
    assert.equal(finding?.severity, 'medium');
    // Positive control: the same app without lockdown hands the secret to the MITM.
    lab.reset();
    const unprotected = await runApp({ env });
    assert.equal(unprotected.outcome?.ok, true, JSON.stringify(unprotected.outcome));
    assert.ok(lab.mitm.captured.includes(SECRET));
  });

  test('wirelock/register without a policy file stops the process before the app runs', async () => {
    const result = await runApp({ flags: ['--import', 'wirelock/register'], env: { ...lab.env(), WIRELOCK_POLICY: join(lab.dir, 'missing.json') } }).catch((error: Error) => error);
    assert.ok(result instanceof Error);
    assert.match(result.message, /wirelock\/register: ERR_POLICY_INVALID/);
  });
});
