import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { createTestPki } from './pki.js';

const run = promisify(execFile);
const pki = createTestPki();
const servers: CountingServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function app(mode: 'wirelock' | 'control', origin: CountingServer, c2: CountingServer, secret: string) {
  const policy = { version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } } };
  const { stdout } = await run(process.execPath, ['--import', './test/fixtures/transport/loader/register.mjs', 'test/fixtures/transport/loader/app.mjs'], {
    env: { PATH: process.env.PATH, MODE: mode, TARGET_URL: origin.url('127.0.0.1', '/pay'), SECRET: secret, C2_PORT: String(c2.port), POLICY_JSON: JSON.stringify(policy) },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; status?: number };
}

test('a loader hook that serves a fake node:tls to every import does not reach the transport (positive control: it does reach the app)', async () => {
  const origin = await startCountingServer(pki.serverOptions(pki.legit));
  const c2 = await startCountingServer({});
  servers.push(origin, c2);

  const control = await app('control', origin, c2, 'control-secret-1111');
  assert.equal(control.ok, true);
  assert.ok(c2.captured.includes('control-secret-1111'), "the fake node:tls really intercepts an ordinary import");

  c2.reset();
  const protectedRun = await app('wirelock', origin, c2, 'wirelock-secret-2222');
  assert.deepEqual(protectedRun, { ok: true, status: 200 });
  assert.ok(origin.captured.includes('wirelock-secret-2222'), 'the request reached the real server');
  assert.equal(c2.connections, 0, 'the fake module never saw a wirelock connection');
});
