import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCountingServer } from '../../src/lab/servers.js';
import { certificatePin } from '../../src/x509/certificate.js';
import { createTestPki } from '../transport/pki.js';

// These run the built CLI (`npm test` builds first) as a user would.
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const pki = createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'wirelock-cli-'));
writeFileSync(join(dir, 'root.pem'), pki.legit.root.pem);
writeFileSync(join(dir, 'compromised-root.pem'), pki.compromised.root.pem);
const policyFile = join(dir, 'wirelock.json');
writeFileSync(
  policyFile,
  JSON.stringify({
    version: 1,
    trustAnchors: ['./root.pem', './compromised-root.pem'],
    domains: { '127.0.0.1': { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] } },
  }),
);
const origin = await startCountingServer(pki.serverOptions(pki.legit));
const attacker = await startCountingServer(pki.serverOptions(pki.compromised));
after(() => Promise.all([origin.close(), attacker.close()]));

function wirelock(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, stdout, stderr });
    });
  });
}

test('fetch --json: allowed request prints status, headers and body', async () => {
  const result = await wirelock('fetch', origin.url('127.0.0.1', '/hello'), '--policy', policyFile, '--json', '-X', 'PUT', '-H', 'x-test: 1', '-d', 'payload');
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.ok, true);
  assert.equal(out.status, 200);
  assert.equal(out.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(out.body), { ok: true, path: '/hello' });
  const served = origin.requests.at(-1)!;
  assert.equal(served.method, 'PUT');
  assert.equal(served.headers['x-test'], '1');
  assert.equal(served.body, 'payload');
});

test('fetch --json: a blocked request exits 1 with the code, host and port, 0 bytes sent', async () => {
  attacker.reset();
  const result = await wirelock('fetch', attacker.url('127.0.0.1', '/'), '--policy', policyFile, '--json', '-d', 'secret');
  assert.equal(result.code, 1);
  const out = JSON.parse(result.stdout);
  assert.deepEqual([out.ok, out.code, out.host, out.port], [false, 'ERR_PIN_MISMATCH', '127.0.0.1', attacker.port]);
  assert.match(out.message, /Certificate pinning failure/);
  assert.equal(attacker.applicationBytes, 0);
});

test('fetch without --json prints the body; a block goes to stderr', async () => {
  const ok = await wirelock('fetch', origin.url('127.0.0.1', '/plain'), '--policy', policyFile);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, JSON.stringify({ ok: true, path: '/plain' }));
  const blocked = await wirelock('fetch', 'http://127.0.0.1:39999/', '--policy', policyFile);
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, /ERR_CLEARTEXT_BLOCKED/);
});

test('check --json shows the verified chain and sends no HTTP request', async () => {
  const before = origin.requests.length;
  const result = await wirelock('check', origin.url('127.0.0.1', '/'), '--policy', policyFile, '--json');
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.allowed, true);
  assert.equal(out.domain, '127.0.0.1');
  assert.match(out.tlsVersion, /^TLSv1\.[23]$/);
  assert.deepEqual(out.chain.map((c: { pin: string }) => c.pin), [pki.legit.leaf, pki.legit.intermediate, pki.legit.root].map((c) => certificatePin(c.der)));
  assert.match(out.chain[2].subject, /Legit Root CA/);
  assert.equal(origin.requests.length, before);
  const blocked = await wirelock('check', attacker.url('127.0.0.1', '/'), '--policy', policyFile, '--json');
  assert.equal(blocked.code, 1);
  const blockedOut = JSON.parse(blocked.stdout);
  assert.equal(blockedOut.allowed, false);
  assert.equal(blockedOut.code, 'ERR_PIN_MISMATCH');
  assert.equal(blockedOut.chain.length, 3);
});

test('pin <host:port> prints the pins leaf first; --ca verifies the chain', async () => {
  const result = await wirelock('pin', `127.0.0.1:${origin.port}`, '--ca', join(dir, 'root.pem'), '--format', 'json');
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.verified, true);
  assert.deepEqual(out.certificates.map((c: { role: string }) => c.role), ['leaf', 'intermediate', 'root']);
  assert.deepEqual(out.pins[0], { pin: certificatePin(pki.legit.leaf.der), role: 'leaf' });
  assert.deepEqual(out.pins[1], { pin: certificatePin(pki.legit.intermediate.der), role: 'ca' });
  const text = await wirelock('pin', `127.0.0.1:${origin.port}`);
  assert.match(text.stdout, /NOT verified/);
  assert.ok(text.stdout.includes(certificatePin(pki.legit.leaf.der)));
});

test('policy lint reports every problem at once with pointers; exit codes 0/1/2', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ version: 1, mode: 'strict', domains: { 'co.uk': { includeSubdomains: true }, 'a.example': { pins: ['sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='] } } }));
  const result = await wirelock('policy', 'lint', bad, '--json');
  assert.equal(result.code, 1);
  const out = JSON.parse(result.stdout);
  assert.deepEqual(
    out.issues.filter((i: { severity: string }) => i.severity === 'error').map((i: { pointer: string }) => i.pointer).sort(),
    ['/domains/a.example/pins/0', '/domains/co.uk/includeSubdomains', '/mode'],
  );
  assert.equal((await wirelock('policy', 'lint', policyFile)).code, 0);
  const missing = await wirelock('policy', 'lint', join(dir, 'nope.json'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /ERR_POLICY_INVALID: cannot read policy file .*nope\.json: ENOENT/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
});

test('usage errors exit 2 without a stack trace', async () => {
  for (const args of [['fetch'], ['pin', '--format', 'xml', 'a'], ['check', 'a', 'b'], ['nonsense'], ['policy', 'frobnicate']]) {
    const result = await wirelock(...args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
});
