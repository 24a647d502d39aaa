// Class: wirelock's own network use follows wirelock's rules. Violation reports are POSTed under the
// policy *enforced*, even when the policy is report-only: a report endpoint that only a user-installed
// CA (NODE_EXTRA_CA_CERTS) vouches for gets nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCountingServer } from '../../src/lab/servers.js';
import { createTestPki } from './pki.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const pki = createTestPki();
const SECRET = 'report-channel-secret-5521';
const dir = mkdtempSync(join(tmpdir(), 'wirelock-report-'));
const rogueRoot = join(dir, 'rogue-root.pem');
writeFileSync(rogueRoot, pki.rogue.root.pem);

// The app's pinned API (a.wirelock.test) is served by a compromised-CA certificate: report-only mode lets
// the request through and reports the pin mismatch to https://127.0.0.1:<port>/reports.
const target = await startCountingServer(pki.serverOptions(pki.compromised));
const interceptor = await startCountingServer(pki.serverOptions(pki.rogue));
const collector = await startCountingServer(pki.serverOptions(pki.legit));
after(() => Promise.all([target.close(), interceptor.close(), collector.close()]));

function policy(reportUri: string) {
  return {
    version: 1,
    mode: 'report-only',
    trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
    report: { uri: reportUri },
    domains: { 'a.wirelock.test': { pins: [pki.legitPin, pki.backupPin] } },
  };
}

async function client(env: Record<string, string>) {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/transport/report-client.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SECRET, NODE_EXTRA_CA_CERTS: rogueRoot, TARGET_URL: target.url('a.wirelock.test', '/pay'), ...env },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; status?: number; delivered?: boolean; error?: string };
}

test('positive control: plain Node in the same environment trusts the interceptor and sends it data', async () => {
  interceptor.reset();
  const reportUri = interceptor.url('127.0.0.1', '/reports');
  const plain = await client({ MODE: 'plain', REPORT_URI: reportUri });
  assert.deepEqual(plain, { ok: true, status: 200 });
  assert.ok(interceptor.captured.includes(SECRET));
});

test('a report-only policy delivers its report to an endpoint its own anchors trust', async () => {
  collector.reset();
  const reportUri = collector.url('127.0.0.1', '/reports');
  const result = await client({ REPORT_URI: reportUri, POLICY_JSON: JSON.stringify(policy(reportUri)) });
  assert.deepEqual(result, { ok: true, status: 200, delivered: true });
  assert.equal(collector.requests.length, 1);
  assert.equal(JSON.parse(collector.requests[0]!.body).code, 'ERR_PIN_MISMATCH');
});

test('a report endpoint trusted only via NODE_EXTRA_CA_CERTS gets nothing, although the policy is report-only', async () => {
  interceptor.reset();
  const reportUri = interceptor.url('127.0.0.1', '/reports');
  const result = await client({ REPORT_URI: reportUri, POLICY_JSON: JSON.stringify(policy(reportUri)) });
  assert.equal(result.ok, true, 'the app request itself is allowed (report-only)');
  assert.equal(result.delivered, false);
  assert.equal(result.error, 'ERR_CERT_UNTRUSTED');
  assert.ok(interceptor.connections >= 1, 'the report really went to the interceptor');
  assert.equal(interceptor.applicationBytes, 0, 'not one byte of the report reached it');
});
