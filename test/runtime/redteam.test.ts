// Variants of issue 10's classes that an independent red team got past lockdown, each with its positive
// control: the same attack against the same app without lockdown reaches the attacker.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { createTestPki } from '../transport/pki.js';
import { ROOT, runApp } from './support.js';
import { join } from 'node:path';

const pki = createTestPki();
const SCRIPT = join(ROOT, 'test/fixtures/runtime/redteam-app.mjs');
const policy = {
  version: 1,
  unlistedHosts: 'block',
  cleartext: 'block',
  trustAnchors: [pki.legit.root.pem],
  domains: {
    localhost: { pins: [pki.legitPin, pki.backupPin] },
    '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] },
    'api.example.com': { includeSubdomains: true, pins: [pki.legitPin, pki.backupPin] },
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
await Promise.all([
  new Promise<void>((resolve) => tlsAttacker.listen(0, '127.0.0.1', resolve)),
  new Promise<void>((resolve) => tcpAttacker.listen(0, '127.0.0.1', resolve)),
  new Promise<void>((resolve) => udpAttacker.bind(0, '127.0.0.2', resolve)),
]);
after(() => {
  tlsAttacker.close();
  tcpAttacker.close();
  udpAttacker.close();
});
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

async function attempt(variant: string, port: number, lockdown: boolean): Promise<{ leaked: boolean; outcome: { ok: boolean; code?: string }; warnings: string[] }> {
  const secret = `s${Math.random().toString(36).slice(2)}x`;
  const result = (await runApp({ script: SCRIPT, env: { VARIANT: variant, LOCKDOWN: lockdown ? 'block' : 'none', POLICY_JSON: JSON.stringify(policy), PORT: String(port), SECRET: secret } })) as unknown as {
    outcome: { ok: boolean; code?: string };
    warnings: string[];
  };
  return { leaked: received.includes(secret), outcome: result.outcome, warnings: result.warnings };
}

for (const [variant, attacker, code] of [
  ['tls-path-empty', () => portOf(tlsAttacker), 'ERR_CERT_UNTRUSTED'],
  ['tls-path-socket', () => portOf(tlsAttacker), 'ERR_CERT_UNTRUSTED'],
  ['own-undici-http', () => portOf(tcpAttacker), 'ERR_CLEARTEXT_BLOCKED'],
  ['raw-http', () => portOf(tcpAttacker), 'ERR_CLEARTEXT_BLOCKED'],
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
