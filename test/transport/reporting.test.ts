import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createFetch } from '../../src/transport/fetch.js';
import { startCountingServer } from '../../src/lab/servers.js';
import { certificatePin, pemBlocks } from '../../src/x509/certificate.js';
import type { ViolationReport } from '../../src/transport/report.js';
import { createTestPki } from './pki.js';

const pki = createTestPki();
const goodPins = [certificatePin(pki.legit.intermediate.der), pki.backupPin];
const collector = await startCountingServer(pki.serverOptions(pki.legit));
const attacker = await startCountingServer(pki.serverOptions(pki.compromised));
after(() => Promise.all([collector.close(), attacker.close()]));

function policy(extra: Record<string, unknown> = {}, domain: Record<string, unknown> = {}) {
  return {
    version: 1,
    trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
    ...extra,
    domains: { '127.0.0.1': { pins: goodPins, ...domain } },
  };
}

test('report-only: a pin mismatch is reported with served and verified chains, and the request goes through', async () => {
  const reports: ViolationReport[] = [];
  attacker.reset();
  const reportOnly = createFetch(policy({ mode: 'report-only' }), { onViolation: (report) => reports.push(report) });
  const response = await reportOnly(attacker.url('127.0.0.1', '/pay'), { method: 'POST', body: 'secret' });
  assert.equal(response.status, 200);
  assert.ok(attacker.captured.includes('secret'), 'report-only does not block');
  assert.equal(reports.length, 1);
  const [report] = reports;
  assert.equal(report!.code, 'ERR_PIN_MISMATCH');
  assert.equal(report!.blocked, false);
  assert.equal(report!['enforce-pinning'], false);
  assert.equal(report!['noted-hostname'], '127.0.0.1');
  assert.deepEqual(report!['known-pins'], goodPins);
  assert.ok(report!['served-certificate-chain'].length >= 2);
  const verified = report!['validated-certificate-chain'].map((pem) => certificatePin(pemBlocks(pem)[0]!));
  assert.deepEqual(verified, [pki.compromised.leaf, pki.compromised.intermediate, pki.compromised.root].map((c) => certificatePin(c.der)));
});

test('expired pins: not enforced, but every connection emits a pins-expired report and a process warning', async () => {
  const reports: ViolationReport[] = [];
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  const expiredPins = createFetch(policy({}, { pinsExpire: '2020-01-01' }), { onViolation: (report) => reports.push(report) });
  for (let i = 0; i < 2; i++) {
    const response = await expiredPins(attacker.url('127.0.0.1', `/${i}`), { headers: { connection: 'close' } });
    assert.equal(response.status, 200);
    await response.text();
  }
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  assert.equal(reports.filter((r) => r.kind === 'pins-expired').length, 2, 'one report per connection');
  assert.match(reports[0]!.message, /expired on 2020-01-01/);
  assert.equal(warnings.filter((w) => w.includes('expired on 2020-01-01')).length, 1, 'warned once per host');
});

test('violations are POSTed to the report URI (rate-limited per host and code) and published on diagnostics_channel', async () => {
  collector.reset();
  attacker.reset();
  const published: ViolationReport[] = [];
  const listener = (message: unknown) => published.push(message as ViolationReport);
  diagnosticsChannel.subscribe('wirelock:violation', listener);
  const enforcing = createFetch(policy({ report: { uri: collector.url('127.0.0.1', '/reports') } }));
  for (let i = 0; i < 3; i++) {
    await assert.rejects(enforcing(attacker.url('127.0.0.1', '/pay'), { method: 'POST', body: 'secret' }), { code: 'ERR_PIN_MISMATCH' });
  }
  diagnosticsChannel.unsubscribe('wirelock:violation', listener);
  for (let waited = 0; collector.requests.length === 0 && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(attacker.applicationBytes, 0);
  assert.equal(published.length, 3);
  assert.equal(collector.requests.length, 1, 'rate-limited to one POST per host and code');
  const posted = JSON.parse(collector.requests[0]!.body) as ViolationReport;
  assert.equal(collector.requests[0]!.url, '/reports');
  assert.equal(posted.code, 'ERR_PIN_MISMATCH');
  assert.equal(posted.hostname, '127.0.0.1');
  assert.equal(posted.port, attacker.port);
  assert.equal(posted.blocked, true);
  assert.ok(posted['wirelock-version']);
});
