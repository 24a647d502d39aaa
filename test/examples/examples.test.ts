// The examples/ apps, run as a user runs them (`node examples/<name>.mjs`, `node --import
// wirelock/register ...`; `wirelock` resolves to this checkout by package self-reference) against real
// loopback servers: the legitimate origin answers, the interceptor (a certificate from another,
// trusted CA: a pin mismatch) gets 0 bytes. The Expo example goes through Expo's real mod engine.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as plist from 'plist';
import { startCountingServer } from '../../src/lab/servers.js';
import { certificatePin } from '../../src/x509/certificate.js';
import { createTestPki } from '../transport/pki.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const pki = createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'wirelock-examples-'));
writeFileSync(join(dir, 'root.pem'), pki.legit.root.pem);
writeFileSync(join(dir, 'public-ca.pem'), pki.compromised.root.pem);
const policyFile = join(dir, 'wirelock.json');
writeFileSync(
  policyFile,
  JSON.stringify({
    version: 1,
    // The interceptor's CA is trusted (a compromised public CA): only the pins stop it.
    trustAnchors: ['./root.pem', './public-ca.pem'],
    domains: { '127.0.0.1': { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] } },
  }),
);
const origin = await startCountingServer(pki.serverOptions(pki.legit));
const interceptor = await startCountingServer(pki.serverOptions(pki.compromised));
after(async () => {
  await Promise.all([origin.close(), interceptor.close()]);
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  ok: boolean;
  status?: number;
  body?: string;
  code?: string;
  host?: string;
  port?: number;
  message?: string;
}

function runExample(args: string[], env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir, WIRELOCK_POLICY: policyFile, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Outcome);
      } catch {
        reject(new Error(`${args.join(' ')} did not report (${error?.message}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

for (const name of ['fetch', 'axios', 'got', 'undici']) {
  test(`examples/${name}.mjs: reaches the origin; the interceptor is blocked with ERR_PIN_MISMATCH and gets 0 bytes`, async () => {
    origin.reset();
    const allowed = await runExample([`examples/${name}.mjs`], { API_URL: origin.url('127.0.0.1', '/pay') });
    assert.equal(allowed.ok, true, JSON.stringify(allowed));
    assert.equal(allowed.status, 200);
    assert.deepEqual(JSON.parse(allowed.body!), { ok: true, path: '/pay' });
    assert.deepEqual(JSON.parse(origin.requests.at(-1)!.body), { amount: 1 });
    interceptor.reset();
    const blocked = await runExample([`examples/${name}.mjs`], { API_URL: interceptor.url('127.0.0.1', '/pay') });
    assert.deepEqual(blocked, { ok: false, code: 'ERR_PIN_MISMATCH', host: '127.0.0.1', port: interceptor.port });
    assert.equal(interceptor.applicationBytes, 0);
  });
}

test('examples/register/app.mjs under --import wirelock/register: origin reached, interceptor blocked; positive control without it', async () => {
  origin.reset();
  const args = ['--import', 'wirelock/register', 'examples/register/app.mjs'];
  const allowed = await runExample(args, { API_URL: origin.url('127.0.0.1', '/pay') });
  assert.equal(allowed.ok, true, JSON.stringify(allowed));
  interceptor.reset();
  const blocked = await runExample(args, { API_URL: interceptor.url('127.0.0.1', '/pay') });
  assert.deepEqual(blocked, { ok: false, message: 'fetch failed', code: 'ERR_PIN_MISMATCH', host: '127.0.0.1', port: interceptor.port });
  assert.equal(interceptor.applicationBytes, 0);
  // Positive control: the same app without wirelock, trusting the same CA, hands the interceptor the body.
  interceptor.reset();
  const unprotected = await runExample(['examples/register/app.mjs'], { API_URL: interceptor.url('127.0.0.1', '/pay'), NODE_EXTRA_CA_CERTS: join(dir, 'public-ca.pem') });
  assert.equal(unprotected.ok, true, JSON.stringify(unprotected));
  assert.ok(interceptor.captured.includes('"amount":1'));
});

test('examples/expo: expo prebuild (Expo\'s mod engine) with the example app.json writes the pins for Android and iOS', async () => {
  const require = createRequire(import.meta.url);
  const configPlugins = require('@expo/config-plugins') as typeof import('@expo/config-plugins');
  const project = join(dir, 'expo-app');
  cpSync(join(ROOT, 'test/fixtures/mobile/expo-template'), project, { recursive: true });
  for (const file of ['app.json', 'wirelock.json']) copyFileSync(join(ROOT, 'examples/expo', file), join(project, file));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'wirelock-example', version: '1.0.0', private: true }));
  mkdirSync(join(project, 'node_modules', '@expo'), { recursive: true });
  symlinkSync(ROOT, join(project, 'node_modules', 'wirelock'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', '@expo', 'config-plugins'), join(project, 'node_modules', '@expo', 'config-plugins'), 'dir');
  const app = (JSON.parse(readFileSync(join(project, 'app.json'), 'utf8')) as { expo: Record<string, unknown> & { plugins: never } }).expo;
  const config = configPlugins.withPlugins({ ...app, _internal: { projectRoot: project } } as never, app.plugins);
  await configPlugins.compileModsAsync(config, { projectRoot: project, platforms: ['android', 'ios'], assertMissingModProviders: true });
  const pins = (JSON.parse(readFileSync(join(project, 'wirelock.json'), 'utf8')) as { domains: Record<string, { pins: Array<{ pin: string }> }> }).domains['api.example.com']!.pins.map((entry) => entry.pin.slice('sha256/'.length));
  const xml = readFileSync(join(project, 'android/app/src/main/res/xml/network_security_config.xml'), 'utf8');
  for (const pin of pins) assert.ok(xml.includes(`<pin digest="SHA-256">${pin}</pin>`), xml);
  const info = plist.parse(readFileSync(join(project, 'ios/HelloWorld/Info.plist'), 'utf8')) as { NSAppTransportSecurity: { NSPinnedDomains: Record<string, { NSPinnedCAIdentities: Array<Record<string, string>> }> } };
  assert.deepEqual(info.NSAppTransportSecurity.NSPinnedDomains['api.example.com']!.NSPinnedCAIdentities.map((identity) => identity['SPKI-SHA256-BASE64']), pins);
});
