// Lockdown's guards one by one, each against a real attack in a real process (the table-driven
// attack catalogue with its positive controls is test/runtime/lockdown.test.ts; the two files are
// split so each stays well under the per-file timeout on 2 cores). Real loopback servers: the
// legitimate origin (127.0.0.1, listed in the policy), the attacker's C2 and a MITM with a rogue CA
// (127.0.0.2, not listed).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { attack, keys, nodeWithSetDefaultCas, runApp, startLab, type Lab } from './support.js';

let lab: Lab;
before(async () => {
  lab = await startLab();
});
after(async () => {
  await lab.close();
});

const SECRET = 'TOP-SECRET-BODY-4711';

/** A DNS response to `query`: same id and question, QR and RA set, RCODE 3 (no such name). */
function nxdomain(query: Buffer): Buffer {
  let end = 12;
  while (end < query.length && query[end] !== 0) end += query[end]! + 1;
  const reply = Buffer.from(query.subarray(0, Math.min(end + 5, query.length)));
  reply[2] = 0x80 | (query[2]! & 0x01);
  reply[3] = 0x83;
  reply.writeUInt16BE(1, 4);
  reply.fill(0, 6, 12);
  return reply;
}

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

  test('dependency sending process.env to a loopback C2 under unlistedHosts "block": refused, C2 gets 0 bytes', async () => {
    lab.reset();
    const env = { ...lab.env({ DEPENDENCY: attack('c2-env.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), LOCKDOWN: 'block' };
    const result = await runApp({ env });
    assert.deepEqual(result.dependency, { sent: false, code: 'ERR_HOST_NOT_ALLOWED' });
    assert.equal(lab.c2.applicationBytes, 0);
    assert.equal(lab.c2.connections, 0, 'not even a TCP connection');
    // No tampering: the legitimate request still works.
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
    assert.deepEqual(keys(result, 'medium'), []);
  });

  test('dependency sending process.env to a loopback C2: positive control without lockdown', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('c2-env.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
    assert.equal(result.dependency.sent, true);
    assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
  });

  for (const form of ['hex', 'padded'] as const) {
    test(`C2 port given as a ${form} string (Node reads it as a port, not a socket path): refused, C2 gets 0 bytes`, async () => {
      lab.reset();
      const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('c2-env.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042', PORT_FORM: form }), LOCKDOWN: 'block' } });
      assert.deepEqual(result.dependency, { sent: false, code: 'ERR_HOST_NOT_ALLOWED' });
      assert.equal(lab.c2.connections, 0, 'not even a TCP connection');
    });

    test(`C2 port given as a ${form} string: positive control, Node connects to the C2 without lockdown`, async () => {
      lab.reset();
      const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('c2-env.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042', PORT_FORM: form }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
      assert.equal(result.dependency.sent, true, JSON.stringify(result.dependency));
      assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
    });
  }

  test('tls.connect to the C2 naming a listed host as servername (token in ALPN): refused, not even a TCP connection', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('tls-servername-c2.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), LOCKDOWN: 'block' } });
    assert.equal(result.dependency.code, 'ERR_HOST_NOT_ALLOWED', JSON.stringify(result.dependency));
    assert.equal(lab.c2.connections, 0);
    assert.equal(lab.c2.captured.includes('ENV-TOKEN-0042'), false);
  });

  test('tls.connect to the C2 naming a listed host as servername: positive control, the ClientHello carries the token', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('tls-servername-c2.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
    assert.equal(result.dependency.sent, true, JSON.stringify(result.dependency));
    assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
  });

  test('a socket to the C2 opened from inside wirelock\'s own tls.connect (Proxy ALPNProtocols): refused, C2 gets 0 bytes', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('connect-window.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), LOCKDOWN: 'block' } });
    assert.equal(result.dependency.c2, 'ERR_HOST_NOT_ALLOWED', JSON.stringify(result.dependency));
    assert.equal(lab.c2.connections, 0);
    // The connection wirelock itself was opening still works.
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
  });

  test('a socket to the C2 opened from inside tls.connect: positive control, the C2 receives the token without lockdown', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('connect-window.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
    assert.equal(result.dependency.c2, 'connected', JSON.stringify(result.dependency));
    assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
  });

  test('worker thread (fresh built-ins, no guard): reported under the default blockAt, refused with blockAt "medium"', async () => {
    lab.reset();
    const env = { ...lab.env({ DEPENDENCY: attack('worker-exfil.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), LOCKDOWN: 'block' };
    const reported = await runApp({ env });
    const finding = reported.findings.find((f) => f.key === 'worker-started:(eval code)');
    assert.equal(finding?.severity, 'medium');
    assert.match(String(finding?.evidence.startedBy), /worker-exfil\.mjs:\d+:\d+$/);
    // The gap this finding exists for: the worker's socket is not under the policy.
    assert.equal(reported.dependency.sent, true);
    assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
    lab.reset();
    const refused = await runApp({ env: { ...env, BLOCK_AT: 'medium' } });
    assert.deepEqual(refused.dependency, { started: false, code: 'ERR_ENV_COMPROMISED' });
    assert.equal(lab.c2.applicationBytes, 0);
  });

  test('keylog listener on a request\'s own socket: socket destroyed before its handshake, C2 gets 0 bytes', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('socket-keylog.mjs') }), LOCKDOWN: 'block' } });
    assert.deepEqual(result.dependency, { error: 'ERR_ENV_COMPROMISED' });
    assert.equal(result.findings.find((f) => f.key === 'tls-keylog:socket')?.severity, 'critical');
    assert.equal(lab.c2.applicationBytes, 0);
    assert.equal(lab.origin.applicationBytes, 0);
    assert.equal(lab.origin.secureConnections, 0, 'no handshake completed');
    // Positive control: unprotected, the C2 receives the TLS secrets of that connection.
    lab.reset();
    const control = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('socket-keylog.mjs') }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
    assert.deepEqual(control.dependency, { status: 200 });
    assert.match(lab.c2.captured, /TRAFFIC_SECRET|CLIENT_RANDOM/);
  });

  test('an integrity check that throws (hostile getter) fails closed: inspection-failed blocks', async () => {
    lab.reset();
    const result = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('hostile-getter.mjs') }), LOCKDOWN: 'block' } }).catch((error: Error) => error);
    assert.ok(!(result instanceof Error), String(result));
    assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED', JSON.stringify(result.outcome));
    assert.match(String(result.outcome?.finding), /^inspection-failed/);
    assert.equal(lab.origin.applicationBytes, 0);
  });

  test('DNS exfiltration (secret in a query name, attacker name server on loopback): refused under unlistedHosts "block", 0 datagrams', async () => {
    const server = dgram.createSocket('udp4');
    const datagrams: Buffer[] = [];
    server.on('message', (message, from) => {
      datagrams.push(message);
      // The attacker's name server answers NXDOMAIN at once (it has the secret already), so the
      // positive control does not wait out c-ares' default timeouts (5 s x 4 tries).
      server.send(nxdomain(message), from.port, from.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.2', resolve));
    const env = { ...lab.env({ DEPENDENCY: attack('dns-exfil.mjs'), DNS_SERVER: `127.0.0.2:${server.address().port}` }) };
    const hexSecret = Buffer.from(SECRET).toString('hex');
    try {
      const blocked = await runApp({ env: { ...env, LOCKDOWN: 'block' } });
      assert.deepEqual(blocked.dependency, { outcomes: ['ERR_HOST_NOT_ALLOWED', 'ERR_HOST_NOT_ALLOWED'] });
      assert.equal(datagrams.length, 0);
      // Positive control: unprotected, the name server receives the secret in the query.
      const control = await runApp({ env: { ...env, NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
      assert.equal((control.dependency.outcomes as string[]).length, 2);
      assert.ok(datagrams.length >= 2);
      assert.ok(datagrams.some((datagram) => datagram.toString('latin1').includes(hexSecret.slice(0, 40))));
    } finally {
      server.close();
    }
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
