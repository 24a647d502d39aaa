// Lockdown against exfiltration by a dependency, each in a real process with a positive control:
// process.env to a C2, tokens in TLS ClientHellos, worker threads, keylog listeners, DNS queries.
// (Split from test/runtime/lockdown-guards.test.ts to stay well under the per-file timeout on 2
// cores.) Real loopback servers: the legitimate origin (127.0.0.1, listed in the policy), the
// attacker's C2 and a MITM with a rogue CA (127.0.0.2, not listed).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attack, keys, nameServer, runApp, labForThisFile } from './support.js';

const lab = labForThisFile();

const SECRET = 'TOP-SECRET-BODY-4711';

describe('lockdown against exfiltration by a dependency', { concurrency: false }, () => {
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
    const { socket: server, queries: datagrams, address } = await nameServer('127.0.0.2');
    const env = { ...lab.env({ DEPENDENCY: attack('dns-exfil.mjs'), DNS_SERVER: address }) };
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
});
