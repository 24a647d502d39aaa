import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFetch } from '../../src/transport/fetch.js';
import { createAgent } from '../../src/transport/agent.js';
import { WirelockError } from '../../src/errors.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { issueChain } from '../../src/x509/issue.js';
import { createTestLog, issueWithScts, ocspResponseWithScts, signSct, writeLogListFiles } from '../../src/ct/testlog.js';
import type { ViolationReport } from '../../src/transport/report.js';

const SECRET = 'token=ct-secret-4242';
const dir = mkdtempSync(join(tmpdir(), 'wirelock-ct-'));
const pki = issueChain({ hostnames: ['127.0.0.1'], rootName: 'wirelock CT test root' });
const googleA = createTestLog({ name: 'Test Google A', operator: 'Google' });
const googleB = createTestLog({ name: 'Test Google B', operator: 'Google' });
const cloudflare = createTestLog({ name: 'Test Cloudflare', operator: 'Cloudflare', keyAlgorithm: 'rsa-2048' });
const retired = createTestLog({ name: 'Test Retired', operator: 'Sectigo', state: 'retired', stateTimestamp: new Date(Date.now() - 864e5) });
const rejected = createTestLog({ name: 'Test Rejected', operator: 'Sectigo', state: 'rejected' });
const unlisted = createTestLog({ name: 'Not in the list', operator: 'Evil' });
const list = writeLogListFiles(join(dir, 'fresh'), [googleA, googleB, cloudflare, retired, rejected]);
const staleList = writeLogListFiles(join(dir, 'stale'), [googleA, googleB, cloudflare], { timestamp: new Date(Date.now() - 100 * 864e5) });
const servers: CountingServer[] = [];

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function policy(ct: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    version: 1,
    trustAnchors: [pki.root.pem],
    ...extra,
    domains: { '127.0.0.1': { certificateTransparency: { enforce: true, policy: 'chrome', logList: list.logList, logListKey: list.logListKey, ...ct } } },
  };
}

async function serve(chainPem: string, key: string, ocspResponse?: Uint8Array): Promise<CountingServer> {
  const server = await startCountingServer({ cert: chainPem, key, ...(ocspResponse ? { ocspResponse } : {}) });
  servers.push(server);
  return server;
}

async function serveWith(logs: Parameters<typeof issueWithScts>[0]['logs'], options: Partial<Parameters<typeof issueWithScts>[0]> = {}) {
  const issued = issueWithScts({ issuer: pki.intermediate, hostnames: ['127.0.0.1'], logs, ...options });
  return { server: await serve(issued.chainPem, issued.certificate.keyPem), issued };
}

async function expectCtBlocked(server: CountingServer, fetchPolicy: unknown = policy()): Promise<WirelockError> {
  const fetch = createFetch(fetchPolicy);
  let caught: unknown;
  await fetch(server.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(
    () => assert.fail('expected ERR_CT_REQUIRED, the request succeeded'),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof WirelockError, `expected a WirelockError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_CT_REQUIRED', caught.message);
  assert.ok(server.connections >= 1, 'the client reached the server');
  assert.equal(server.applicationBytes, 0, 'no byte of application data reached the server');
  assert.ok(!server.captured.includes(SECRET));
  return caught;
}

async function expectPasses(server: CountingServer, fetchPolicy: unknown = policy()): Promise<void> {
  const response = await createFetch(fetchPolicy)(server.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET });
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  assert.ok(server.captured.includes(SECRET));
}

test('a certificate with SCTs from 2 logs of 2 operators passes (positive control)', async () => {
  const { server } = await serveWith([googleA, cloudflare]);
  await expectPasses(server);
});

test('ERR_CT_REQUIRED: a certificate without SCTs, 0 bytes sent (positive control: without CT it is accepted)', async () => {
  const server = await serve(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem);
  const error = await expectCtBlocked(server);
  assert.match(error.message, /no SCTs/);
  assert.match(error.message, /needs SCTs from 2 distinct logs/);
  const plain = createFetch({ version: 1, trustAnchors: [pki.root.pem] });
  const response = await plain(server.url('127.0.0.1', '/'));
  assert.equal(response.status, 200);
});

test('ERR_CT_REQUIRED: SCTs from logs the list does not name', async () => {
  const { server } = await serveWith([unlisted, createTestLog({ name: 'Also unlisted', operator: 'Evil 2' })]);
  const error = await expectCtBlocked(server);
  assert.match(error.message, /unknown-log/);
  const scts = (error.details.ct as { scts: Array<{ status: string }> }).scts;
  assert.deepEqual(scts.map((sct) => sct.status), ['unknown-log', 'unknown-log']);
});

test('ERR_CT_REQUIRED: forged SCT signatures (wrong key, tampered, other certificate)', async () => {
  for (const forge of ['wrong-key', 'tampered', 'other-certificate'] as const) {
    const { server } = await serveWith([googleA, cloudflare], { forge });
    const error = await expectCtBlocked(server);
    const scts = (error.details.ct as { scts: Array<{ status: string }> }).scts;
    assert.deepEqual(scts.map((sct) => sct.status), ['invalid-signature', 'invalid-signature'], forge);
  }
  // One forged, one good: still too few.
  const { server } = await serveWith([googleA, { log: cloudflare, forge: 'tampered' }]);
  await expectCtBlocked(server);
});

test('ERR_CT_REQUIRED: an SCT dated in the future does not count', async () => {
  const { server } = await serveWith([googleA, { log: cloudflare, timestamp: new Date(Date.now() + 3_600_000) }]);
  const error = await expectCtBlocked(server);
  assert.match(error.message, /future/);
});

test('ERR_CT_REQUIRED: two logs of the same operator are too few operators', async () => {
  const { server } = await serveWith([googleA, googleB]);
  const error = await expectCtBlocked(server);
  assert.match(error.message, /2 distinct log operators, has 1/);
});

test('ERR_CT_REQUIRED: SCTs from a rejected log, or issued after a log retired, do not count', async () => {
  const { server } = await serveWith([googleA, rejected]);
  assert.match((await expectCtBlocked(server)).message, /rejected/);
  const late = await serveWith([googleA, { log: retired, timestamp: new Date(Date.now() - 60_000) }]);
  assert.match((await expectCtBlocked(late.server)).message, /after the log retired/);
  // Issued before retirement, an SCT from a retired log still counts (with a currently usable one).
  const early = await serveWith([googleA, { log: retired, timestamp: new Date(Date.now() - 2 * 864e5) }], { notBefore: new Date(Date.now() - 3 * 864e5) });
  await expectPasses(early.server);
});

test('minScts overrides the count; lifetime over 180 days needs 3 logs', async () => {
  const { server } = await serveWith([googleA, cloudflare]);
  await expectCtBlocked(server, policy({ minScts: 3 }));
  const long = await serveWith([googleA, cloudflare], { notAfter: new Date(Date.now() + 200 * 864e5) });
  assert.match((await expectCtBlocked(long.server)).message, /3 distinct logs/);
  const three = await serveWith([googleA, googleB, cloudflare], { notAfter: new Date(Date.now() + 200 * 864e5) });
  await expectPasses(three.server);
});

test('OCSP-stapled SCTs (x509 entries) are verified and count', async () => {
  const leaf = pki.leaf;
  const scts = [googleA, cloudflare].map((log) => signSct(log, { type: 'x509', certificate: leaf.der }));
  const server = await serve(leaf.pem + pki.intermediate.pem, leaf.keyPem, ocspResponseWithScts(leaf, pki.intermediate, scts));
  await expectPasses(server);
  const forged = [googleA, cloudflare].map((log) => signSct(log, { type: 'x509', certificate: leaf.der }, { forge: 'tampered' }));
  const bad = await serve(leaf.pem + pki.intermediate.pem, leaf.keyPem, ocspResponseWithScts(leaf, pki.intermediate, forged));
  const error = await expectCtBlocked(bad);
  assert.match(error.message, /\[ocsp\].*invalid-signature/);
});

test('a log list whose signature does not verify blocks (fail closed)', async () => {
  const { server } = await serveWith([googleA, cloudflare]);
  const error = await expectCtBlocked(server, policy({ logListKey: staleList.logListKey }));
  assert.match(error.message, /signature does not verify/);
});

test('stale list: fail-open-report allows and reports; fail-closed blocks', async () => {
  const { server } = await serve(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem).then((s) => ({ server: s }));
  const reports: ViolationReport[] = [];
  const stale = { logList: staleList.logList, logListKey: staleList.logListKey };
  const response = await createFetch(policy(stale), { onViolation: (report) => reports.push(report) })(server.url('127.0.0.1', '/'));
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  const notice = reports.find((report) => report.code === 'CT_LIST_STALE');
  assert.ok(notice, `a stale-list report was sent: ${JSON.stringify(reports.map((r) => r.code))}`);
  assert.match(notice.message, /100 days old.*would be refused/s);
  server.reset();
  await expectCtBlocked(server, policy({ ...stale, onStaleList: 'fail-closed' }));
});

test('report-only mode: a CT failure is reported, not blocked', async () => {
  const server = await serve(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem);
  const reports: ViolationReport[] = [];
  const response = await createFetch(policy({}, { mode: 'report-only' }), { onViolation: (report) => reports.push(report) })(server.url('127.0.0.1', '/'));
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  assert.ok(reports.some((report) => report.code === 'ERR_CT_REQUIRED' && !report.blocked));
});

test('https.Agent from createAgent enforces CT too', async () => {
  const server = await serve(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem);
  const agent = createAgent(policy());
  const error = await new Promise<unknown>((resolve) => {
    const request = https.request(server.url('127.0.0.1', '/'), { agent, method: 'POST' }, () => resolve(undefined));
    request.on('error', resolve);
    request.end(SECRET);
  });
  assert.ok(error instanceof WirelockError && error.code === 'ERR_CT_REQUIRED', String(error));
  assert.equal(server.applicationBytes, 0);
  agent.destroy();
});

test('top-level CT applies to every domain; "enforce": false opts one out', async () => {
  const server = await serve(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem);
  const topLevel = { version: 1, trustAnchors: [pki.root.pem], certificateTransparency: { logList: list.logList, logListKey: list.logListKey } };
  await expectCtBlocked(server, topLevel);
  const optOut = { ...topLevel, domains: { '127.0.0.1': { certificateTransparency: { enforce: false } } } };
  await expectPasses(server, optOut);
});

test('"policy": "apple" is applied: at most one SCT per operator counts for a short-lived certificate', async () => {
  const sameOperator = await serveWith([googleA, googleB]);
  const error = await expectCtBlocked(sameOperator.server, policy({ policy: 'apple' }));
  assert.match(error.message, /apple CT policy/);
  assert.match(error.message, /at most 1 per operator/);
  const distinct = await serveWith([googleA, cloudflare]);
  await expectPasses(distinct.server, policy({ policy: 'apple' }));
});

test('ERR_CT_REQUIRED: a stapled SCT from a retired log does not stand in for the third embedded SCT (positive control: one from a usable log does)', async () => {
  // 200-day certificate: 3 distinct logs needed from embedded SCTs, or 2 with a counting delivered SCT.
  const issued = issueWithScts({ issuer: pki.intermediate, hostnames: ['127.0.0.1'], logs: [googleA, cloudflare], notAfter: new Date(Date.now() + 200 * 864e5) });
  const leaf = issued.certificate;
  const beforeRetirement = new Date(Date.now() - 2 * 864e5);
  const retiredSct = signSct(retired, { type: 'x509', certificate: leaf.der }, { timestamp: beforeRetirement });
  const server = await serve(issued.chainPem, leaf.keyPem, ocspResponseWithScts(leaf, pki.intermediate, [retiredSct]));
  const error = await expectCtBlocked(server);
  assert.match(error.message, /3 distinct logs/);
  const usableSct = signSct(googleB, { type: 'x509', certificate: leaf.der });
  await expectPasses(await serve(issued.chainPem, leaf.keyPem, ocspResponseWithScts(leaf, pki.intermediate, [usableSct])));
});
