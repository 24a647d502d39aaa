// Variants of issue 10's classes that an independent red team got past lockdown, each with its positive
// control: the same attack against the same app without lockdown reaches the attacker.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { createTestPki } from '../transport/pki.js';
import { ROOT, runApp } from './support.js';
import { join } from 'node:path';

const pki = createTestPki();
const SCRIPT = join(ROOT, 'test/fixtures/runtime/redteam-app.mjs');
// Violation reports go to a collector over cleartext http on loopback, which the policy allows.
const reports: string[] = [];
const collector = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk)).on('end', () => {
    reports.push(body);
    response.end();
  });
});
await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
const policy = {
  version: 1,
  unlistedHosts: 'block',
  cleartext: 'block',
  trustAnchors: [pki.legit.root.pem],
  report: { uri: `http://127.0.0.1:${(collector.address() as net.AddressInfo).port}/report` },
  domains: {
    localhost: { pins: [pki.legitPin, pki.backupPin] },
    '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] },
    'a.wirelock.test': { pins: [pki.legitPin, pki.backupPin] },
    'api.example.com': { includeSubdomains: true, pins: [pki.legitPin, pki.backupPin] },
    // A listed endpoint where the policy allows cleartext: h2c to it must keep working.
    '127.0.0.3': { cleartext: 'allow' },
  },
};

/** Everything any attacker listener received, decrypted where it was TLS. */
let received = '';
const tlsAttacker = tls.createServer(pki.serverOptions(pki.rogue), (socket) => socket.on('data', (chunk) => (received += chunk.toString('latin1'))).on('error', () => {}));
// Answers like an HTTP server, so a client that sent its request (the positive control) gets a response and ends.
const tcpAttacker = net.createServer((socket) =>
  socket
    .on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    })
    .on('error', () => {}),
);
const udpAttacker = dgram.createSocket('udp4').on('message', (message) => (received += message.toString('latin1')));
/** A cleartext HTTP/2 server (h2c, prior knowledge): records each request's headers and body, answers 200. */
const h2cServer = (): http2.Http2Server =>
  http2
    .createServer()
    .on('session', (session) => session.on('error', () => {}))
    .on('stream', (stream, headers) => {
      received += JSON.stringify(headers);
      stream.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end();
      });
      stream.on('error', () => {});
    });
const h2cAttacker = h2cServer();
const h2cAllowed = h2cServer();
/** The protected app's own origin (legit chain), on one address family each. */
const origin = (): tls.Server => tls.createServer(pki.serverOptions(pki.legit), (socket) => socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nlegit')).on('error', () => {}));
const origin4 = origin();
const origin6 = origin();
await Promise.all([
  new Promise<void>((resolve) => tlsAttacker.listen(0, '127.0.0.1', resolve)),
  new Promise<void>((resolve) => tcpAttacker.listen(0, '127.0.0.1', resolve)),
  new Promise<void>((resolve) => udpAttacker.bind(0, '127.0.0.2', resolve)),
  new Promise<void>((resolve) => h2cAttacker.listen(0, '127.0.0.1', resolve)),
  new Promise<void>((resolve) => h2cAllowed.listen(0, '127.0.0.3', resolve)),
  new Promise<void>((resolve) => origin4.listen(0, '127.0.0.1', resolve)),
  new Promise<void>((resolve) => origin6.listen(0, '::1', resolve)),
]);
after(() => {
  for (const server of [tlsAttacker, tcpAttacker, udpAttacker, h2cAttacker, h2cAllowed, origin4, origin6, collector]) server.close();
});
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
  status?: number;
  body?: string;
  remote?: string;
}

async function attempt(variant: string, port: number, lockdown: boolean, env: Record<string, string> = {}): Promise<{ leaked: boolean; outcome: Outcome; warnings: string[]; http2AtLockdown: boolean }> {
  const secret = `s${Math.random().toString(36).slice(2)}x`;
  const result = (await runApp({ script: SCRIPT, env: { VARIANT: variant, LOCKDOWN: lockdown ? 'block' : 'none', POLICY_JSON: JSON.stringify(policy), PORT: String(port), SECRET: secret, ...env } })) as unknown as {
    outcome: Outcome;
    warnings: string[];
    http2AtLockdown: boolean;
  };
  return { leaked: received.includes(secret), outcome: result.outcome, warnings: result.warnings, http2AtLockdown: result.http2AtLockdown };
}

for (const [variant, attacker, code] of [
  ['tls-path-empty', () => portOf(tlsAttacker), 'ERR_CERT_UNTRUSTED'],
  ['tls-path-socket', () => portOf(tlsAttacker), 'ERR_CERT_UNTRUSTED'],
  ['own-undici-http', () => portOf(tcpAttacker), 'ERR_CLEARTEXT_BLOCKED'],
  ['raw-http', () => portOf(tcpAttacker), 'ERR_CLEARTEXT_BLOCKED'],
  // Cleartext HTTP below socket.write/end: judged at the TCP handle's write methods and, for HTTP/2
  // (nghttp2 writes from C++), when the session takes the handle over.
  ['h2c', () => portOf(h2cAttacker), 'ERR_CLEARTEXT_BLOCKED'],
  ['h2c-socket', () => portOf(h2cAttacker), 'ERR_CLEARTEXT_BLOCKED'],
  ['write-generic', () => portOf(tcpAttacker), 'ERR_CLEARTEXT_BLOCKED'],
  ['upgrade-h2c-writev', () => portOf(tcpAttacker), 'ERR_CLEARTEXT_BLOCKED'],
  ['http-create-connection', () => portOf(tcpAttacker), 'ERR_CLEARTEXT_BLOCKED'],
] as const) {
  test(`${variant}: refused under lockdown with ${code}, 0 bytes of the secret at the attacker; positive control leaks without lockdown`, async () => {
    const control = await attempt(variant, attacker(), false);
    assert.equal(control.leaked, true, `positive control: the attack works without lockdown (${JSON.stringify(control.outcome)})`);
    const locked = await attempt(variant, attacker(), true);
    assert.equal(locked.leaked, false, `the secret reached the attacker under lockdown (${JSON.stringify(locked.outcome)})`);
    assert.equal(locked.outcome.ok, false);
    assert.equal(locked.outcome.code, code);
  });
}

test('h2c after a dependency left a look-alike http2.connect in the module: refused, 0 bytes of the secret; positive control leaks', async () => {
  const control = await attempt('h2c-hooked-connect', portOf(h2cAttacker), false);
  assert.equal(control.leaked, true, `positive control: ${JSON.stringify(control.outcome)}`);
  const locked = await attempt('h2c-hooked-connect', portOf(h2cAttacker), true);
  assert.equal(locked.leaked, false, JSON.stringify(locked.outcome));
  // Where http2 was not loaded yet at lockdown (Node 20), the guard is installed at the first plain
  // dial through the module's http2.connect: the look-alike is a finding that refuses the connection.
  // Where lockdown's own inspection loaded it (Node 24's fetch), the guard was installed from Node's
  // module before the dependency ran, and the h2c is refused as cleartext.
  assert.equal(locked.outcome.code, locked.http2AtLockdown ? 'ERR_CLEARTEXT_BLOCKED' : 'ERR_ENV_COMPROMISED', JSON.stringify(locked));
  if (!locked.http2AtLockdown) assert.match(String(locked.outcome.message), /hooked-api:http2\.connect/);
});

test('h2c: the refusal names the destination and the rule, and reaches the policy\'s cleartext loopback report URI (an allowed cleartext endpoint)', async () => {
  reports.length = 0;
  const locked = await attempt('h2c', portOf(h2cAttacker), true, { SETTLE_MS: '2000' });
  assert.equal(locked.leaked, false);
  assert.match(String(locked.outcome.message), new RegExp(`cleartext http to localhost:${portOf(h2cAttacker)} is blocked by the policy`));
  const report = reports.map((body) => JSON.parse(body) as { code?: string; hostname?: string; port?: number }).find((entry) => entry.code === 'ERR_CLEARTEXT_BLOCKED');
  assert.deepEqual({ hostname: report?.hostname, port: report?.port }, { hostname: 'localhost', port: portOf(h2cAttacker) }, JSON.stringify(reports));
});

test('h2c to a listed host whose cleartext the policy allows still works under lockdown (same request, the server gets it)', async () => {
  const locked = await attempt('h2c', portOf(h2cAllowed), true, { HOST: '127.0.0.3' });
  assert.deepEqual(locked.outcome, { ok: true, status: 200 });
  assert.equal(locked.leaked, true, 'the allowed server received the request');
});

test('the protected app\'s own pinned https request to localhost works under lockdown (and without it)', async () => {
  for (const lockdown of [true, false]) {
    const { outcome } = await attempt('benign-https', portOf(origin4), lockdown, { CA_PEM: pki.legit.root.pem });
    assert.deepEqual(outcome, { ok: true, status: 200, body: 'legit', remote: '127.0.0.1' }, `lockdown: ${lockdown}`);
  }
});

// A name with both an IPv6 and an IPv4 address (as localhost has on most machines) while the server
// listens on one family only: Node's happy eyeballs tries the other address after ECONNREFUSED. With
// the app's own lookup given to lockdown(), the answers were passed to Node unapproved, so the TCP
// handle guard refused every address (EACCES, and a raw-binding finding that blocked the process).
for (const [listening, order] of [
  ['4', '6,4'],
  ['4', '4,6'],
  ['6', '6,4'],
  ['6', '4,6'],
] as const) {
  test(`dual-stack name, server on IPv${listening} only, lookup answers ${order}: the pinned request works under lockdown (and without it)`, async () => {
    const server = listening === '4' ? origin4 : origin6;
    for (const lockdown of [true, false]) {
      const { outcome, warnings } = await attempt('benign-https', portOf(server), lockdown, { HOST: 'a.wirelock.test', DUAL_STACK: order, CA_PEM: pki.legit.root.pem });
      assert.deepEqual(outcome, { ok: true, status: 200, body: 'legit', remote: listening === '4' ? '127.0.0.1' : '::1' }, `lockdown: ${lockdown}`);
      assert.deepEqual(warnings, []);
    }
  });
}

test('dns: a resolver pointed at a DNS server the policy does not list is refused; the query name never leaves', async () => {
  const port = (udpAttacker.address() as net.AddressInfo).port;
  const control = await attempt('dns-set-servers', port, false);
  assert.equal(control.leaked, true, 'positive control: the query name carries the secret to the attacker');
  const locked = await attempt('dns-set-servers', port, true);
  assert.equal(locked.leaked, false);
  assert.equal(locked.outcome.code, 'ERR_HOST_NOT_ALLOWED');
});

test('a worker thread under lockdown (unguarded network) always gives a WIRELOCK_TAMPER warning, even below blockAt', async () => {
  const locked = await attempt('worker', 0, true);
  assert.ok(locked.warnings.includes('WIRELOCK_TAMPER'), JSON.stringify(locked.warnings));
  const control = await attempt('worker', 0, false);
  assert.ok(!control.warnings.includes('WIRELOCK_TAMPER'));
});
