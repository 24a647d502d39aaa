// Class: "the domain policy is picked by a name the request can set". https.Agent and undici take the
// TLS servername from the request's Host header; the policy must be decided by the destination, and a
// servername that would select other rules is refused (ERR_SERVERNAME_MISMATCH) before any connection.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { createAgent } from '../../src/transport/agent.js';
import { createDispatcher } from '../../src/transport/dispatcher.js';
import { createFetch } from '../../src/transport/fetch.js';
import { WirelockError } from '../../src/errors.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { createTestPki } from './pki.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const pki = createTestPki();
const SECRET = 'servername-secret-7731';
const dir = mkdtempSync(join(tmpdir(), 'wirelock-servername-'));
const servers: CountingServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function server(chain: typeof pki.legit): Promise<CountingServer> {
  const started = await startCountingServer(pki.serverOptions(chain));
  servers.push(started);
  return started;
}

// 127.0.0.1 is pinned to the legitimate intermediate; b.wirelock.test is unlisted (global rules), and
// the compromised CA is a trusted anchor: its certificate for b.wirelock.test passes the global rules.
const policy = {
  version: 1,
  trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
  domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } },
};
const loopback = ((_host: string, options: unknown, callback: unknown) => {
  const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
  if ((options as { all?: boolean })?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}) as never;

function viaAgent(agent: https.Agent, url: string, headers: Record<string, string> = {}): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end(SECRET);
  });
}

async function refused(promise: Promise<unknown>): Promise<WirelockError> {
  const error = await promise.then(() => assert.fail('the request succeeded'), (caught: unknown) => caught);
  assert.ok(error instanceof WirelockError, `expected a WirelockError, got ${String(error)}`);
  return error;
}

test('https.Agent: a Host header naming an unpinned host does not switch a pinned destination to its rules', async () => {
  const attacker = await server(pki.compromised);
  const agent = createAgent(policy, { lookup: loopback });
  // Positive control 1: the attacker's certificate passes the rules the Host header would select
  // (a direct request to b.wirelock.test), and a plain client sends it the secret.
  assert.equal(await viaAgent(agent, attacker.url('b.wirelock.test', '/')), 200);
  assert.equal(await viaAgent(new https.Agent({ ca: [pki.compromised.root.pem] }), attacker.url('127.0.0.1', '/'), { host: 'b.wirelock.test' }), 200);
  assert.ok(attacker.captured.includes(SECRET), 'the unprotected client leaked the secret');
  // Positive control 2: the pin holds for the pinned destination without the trick.
  attacker.reset();
  assert.equal((await refused(viaAgent(agent, attacker.url('127.0.0.1', '/')))).code, 'ERR_PIN_MISMATCH');
  // The attack: refused before a TCP connection is made.
  attacker.reset();
  const error = await refused(viaAgent(agent, attacker.url('127.0.0.1', '/'), { host: 'b.wirelock.test' }));
  assert.equal(error.code, 'ERR_SERVERNAME_MISMATCH');
  assert.equal(error.host, '127.0.0.1');
  assert.match(error.message, /b\.wirelock\.test.*global rules.*127\.0\.0\.1.*policy of "127\.0\.0\.1"/s);
  assert.equal(attacker.connections, 0);
  assert.equal(attacker.applicationBytes, 0);
  assert.ok(!attacker.captured.includes(SECRET));
  agent.destroy();
});

test('https.Agent: the legitimate server is reached with a Host header of the same policy, and a Host header naming the destination', async () => {
  const origin = await server(pki.legit);
  const sharedPolicy = { ...policy, domains: { 'wirelock.test': { includeSubdomains: true, pins: [pki.legitPin, pki.backupPin] } } };
  const agent = createAgent(sharedPolicy, { lookup: loopback });
  assert.equal(await viaAgent(agent, origin.url('a.wirelock.test', '/same'), { host: 'b.wirelock.test' }), 200);
  assert.equal(await viaAgent(agent, origin.url('a.wirelock.test', '/self'), { host: `a.wirelock.test:${origin.port}` }), 200);
  assert.equal(origin.captured.split(SECRET).length - 1, 2);
  agent.destroy();
});

test('undici dispatcher and createFetch: the Host header cannot select another policy', async () => {
  const attacker = await server(pki.compromised);
  const dispatcher = createDispatcher(policy, { lookup: loopback });
  // Positive control: the rules of b.wirelock.test accept the attacker.
  const direct = await request(attacker.url('b.wirelock.test', '/'), { method: 'POST', body: SECRET, dispatcher });
  await direct.body.dump();
  assert.equal(direct.statusCode, 200);
  attacker.reset();
  const error = await refused(request(attacker.url('127.0.0.1', '/'), { method: 'POST', body: SECRET, headers: { host: 'b.wirelock.test' }, dispatcher }));
  assert.equal(error.code, 'ERR_SERVERNAME_MISMATCH');
  // fetch drops a Host header (a forbidden header name), so the destination's pin decides.
  const fetchError = await refused(createFetch(policy)(attacker.url('127.0.0.1', '/'), { method: 'POST', body: SECRET, headers: { host: 'b.wirelock.test' } }));
  assert.equal(fetchError.code, 'ERR_PIN_MISMATCH');
  assert.equal(attacker.connections, 1, 'only the fetch connected, and it was refused in the handshake');
  attacker.reset();
  assert.equal(attacker.connections, 0);
  assert.equal(attacker.applicationBytes, 0);
  await dispatcher.close();
});

test('report-only: the mismatch is reported and the destination policy (not the servername\'s) is evaluated', async () => {
  const attacker = await server(pki.compromised);
  const reports: string[] = [];
  const agent = createAgent({ ...policy, mode: 'report-only' }, { lookup: loopback, onViolation: (report) => reports.push(report.code) });
  assert.equal(await viaAgent(agent, attacker.url('127.0.0.1', '/'), { host: 'b.wirelock.test' }), 200);
  assert.deepEqual(reports, ['ERR_SERVERNAME_MISMATCH', 'ERR_PIN_MISMATCH']);
  agent.destroy();
});

async function tlsClient(flags: string[], env: Record<string, string>): Promise<{ ok: boolean; code?: string; status?: number }> {
  const { stdout } = await run(process.execPath, [...flags, join(ROOT, 'test/fixtures/transport/servername-tls.mjs')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SECRET, ...env },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('lockdown TLS guard: tls.connect to a pinned address with another servername is refused before connecting (positive control: plain Node leaks)', async () => {
  const attacker = await server(pki.compromised);
  const compromisedRoot = join(dir, 'compromised-root.pem');
  writeFileSync(compromisedRoot, pki.compromised.root.pem);
  writeFileSync(join(dir, 'legit-root.pem'), pki.legit.root.pem);
  const policyFile = join(dir, 'wirelock.json');
  writeFileSync(policyFile, JSON.stringify({ ...policy, trustAnchors: ['./legit-root.pem', './compromised-root.pem'] }));
  const env = { TARGET_HOST: '127.0.0.1', TARGET_PORT: String(attacker.port), SERVERNAME: 'b.wirelock.test' };
  const plain = await tlsClient([], { ...env, NODE_EXTRA_CA_CERTS: compromisedRoot });
  assert.deepEqual(plain, { ok: true, status: 200 });
  assert.ok(attacker.captured.includes(SECRET), 'the unprotected process leaked the secret');
  attacker.reset();
  const register = ['--import', join(ROOT, 'dist/runtime/register.js')];
  const locked = await tlsClient(register, { ...env, WIRELOCK_POLICY: policyFile });
  assert.equal(locked.code, 'ERR_SERVERNAME_MISMATCH', JSON.stringify(locked));
  assert.equal(attacker.connections, 0);
  // Control under lockdown: the pin itself holds without the servername trick.
  const pinned = await tlsClient(register, { ...env, SERVERNAME: '', WIRELOCK_POLICY: policyFile });
  assert.equal(pinned.code, 'ERR_PIN_MISMATCH', JSON.stringify(pinned));
  assert.equal(attacker.applicationBytes, 0);
  assert.ok(!attacker.captured.includes(SECRET));
});
