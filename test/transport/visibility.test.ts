// Blocks and report-only violations are visible where SDKs hide them (process warnings naming host,
// port and code), reports never hold a block back, resumed sessions never skip the checks, pins
// expire at the end of their UTC day, and the error messages say how to fix the policy.
import assert from 'node:assert/strict';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createAgent } from '../../src/transport/agent.js';
import { createFetch } from '../../src/transport/fetch.js';
import { evaluateHandshake } from '../../src/transport/evaluate.js';
import { definePolicy } from '../../src/policy/define.js';
import { findDomainPolicy } from '../../src/policy/match.js';
import { startCountingServer } from '../../src/lab/servers.js';
import { toChainCertificate } from '../../src/x509/chain.js';
import { certificatePin } from '../../src/x509/certificate.js';
import type { ViolationReport } from '../../src/transport/report.js';
import { createTestPki } from './pki.js';

const pki = createTestPki();
const goodPins = [certificatePin(pki.legit.intermediate.der), pki.backupPin];
const origin = await startCountingServer(pki.serverOptions(pki.legit));
const attacker = await startCountingServer(pki.serverOptions(pki.compromised));
const rogue = await startCountingServer(pki.serverOptions(pki.rogue));
after(() => Promise.all([origin.close(), attacker.close(), rogue.close()]));

function policy(extra: Record<string, unknown> = {}, domain: Record<string, unknown> = {}) {
  return { version: 1, trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem], ...extra, domains: { '127.0.0.1': { pins: goodPins, ...domain } } };
}

interface Warned {
  name: string;
  code: string | undefined;
  message: string;
}
/** Collects the process warnings `body` causes (they are emitted on the next tick). */
async function warningsDuring(body: () => Promise<void>): Promise<Warned[]> {
  const seen: Warned[] = [];
  const listener = (warning: Error & { code?: string }) => seen.push({ name: warning.name, code: warning.code, message: warning.message });
  process.on('warning', listener);
  try {
    await body();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

test('every block emits a process warning naming host, port and code, once per host, port and code', async () => {
  attacker.reset();
  const warnings = await warningsDuring(async () => {
    const enforcing = createFetch(policy());
    for (let i = 0; i < 3; i++) await assert.rejects(enforcing(attacker.url('127.0.0.1', '/pay'), { method: 'POST', body: 'secret' }), { code: 'ERR_PIN_MISMATCH' });
    // Another client of the same process and the same host, port and code: still the same window.
    await assert.rejects(createFetch(policy())(attacker.url('127.0.0.1', '/again')), { code: 'ERR_PIN_MISMATCH' });
    // Another code: its own warning.
    await assert.rejects(enforcing(`http://127.0.0.1:${attacker.port}/plain`), { code: 'ERR_CLEARTEXT_BLOCKED' });
  });
  const blocked = warnings.filter((warning) => warning.code === 'WIRELOCK_BLOCKED');
  assert.equal(blocked.length, 2, JSON.stringify(warnings));
  assert.equal(blocked[0]!.name, 'WirelockWarning');
  assert.match(blocked[0]!.message, new RegExp(`^wirelock blocked 127\\.0\\.0\\.1:${attacker.port}: ERR_PIN_MISMATCH: Certificate pinning failure`));
  assert.match(blocked[1]!.message, new RegExp(`^wirelock blocked 127\\.0\\.0\\.1:${attacker.port}: ERR_CLEARTEXT_BLOCKED`));
  assert.equal(attacker.applicationBytes, 0);
});

test('https.request through createAgent: the block warns too (a rogue CA: ERR_CERT_UNTRUSTED)', async () => {
  const agent = createAgent({ version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': {} } }, { keepAlive: false });
  const warnings = await warningsDuring(async () => {
    const error = await new Promise<Error>((resolve) => {
      https.get(rogue.url('127.0.0.1', '/'), { agent }, () => resolve(new Error('the request went through'))).on('error', resolve);
    });
    assert.equal((error as { code?: string }).code, 'ERR_CERT_UNTRUSTED');
  });
  assert.ok(warnings.some((warning) => warning.code === 'WIRELOCK_BLOCKED' && warning.message.startsWith(`wirelock blocked 127.0.0.1:${rogue.port}: ERR_CERT_UNTRUSTED`)), JSON.stringify(warnings));
  assert.equal(rogue.applicationBytes, 0);
});

test('report-only without onViolation or report.uri: the first violation per host and code warns; with a sink it does not', async () => {
  attacker.reset();
  const unheard = await warningsDuring(async () => {
    const reportOnly = createFetch(policy({ mode: 'report-only' }));
    for (let i = 0; i < 2; i++) {
      const response = await reportOnly(attacker.url('127.0.0.1', `/${i}`), { headers: { connection: 'close' } });
      assert.equal(response.status, 200, 'report-only allows');
      await response.text();
    }
  });
  const reportOnlyWarnings = unheard.filter((warning) => warning.code === 'WIRELOCK_REPORT_ONLY');
  assert.equal(reportOnlyWarnings.length, 1, JSON.stringify(unheard));
  assert.match(reportOnlyWarnings[0]!.message, new RegExp(`^wirelock report-only: 127\\.0\\.0\\.1:${attacker.port} would be blocked in enforce mode: ERR_PIN_MISMATCH`));
  assert.equal(unheard.some((warning) => warning.code === 'WIRELOCK_BLOCKED'), false, 'nothing was blocked');
  // A sink hears every violation: no warning.
  const reports: ViolationReport[] = [];
  const other = await startCountingServer(pki.serverOptions(pki.compromised));
  try {
    const heard = await warningsDuring(async () => {
      const response = await createFetch(policy({ mode: 'report-only' }), { onViolation: (report) => reports.push(report) })(other.url('127.0.0.1', '/'));
      await response.text();
    });
    assert.equal(reports.length, 1);
    assert.deepEqual(heard.filter((warning) => warning.code === 'WIRELOCK_REPORT_ONLY'), []);
  } finally {
    await other.close();
  }
});

test('reports never delay a block: a report endpoint that never answers and an onViolation that throws', async () => {
  const held: ServerResponse[] = [];
  const collector = await startCountingServer({ ...pki.serverOptions(pki.legit), respond: (_req: IncomingMessage, res: ServerResponse) => held.push(res) });
  attacker.reset();
  try {
    const enforcing = createFetch(policy({ report: { uri: collector.url('127.0.0.1', '/reports') } }), {
      onViolation: () => {
        throw new Error('a broken report hook');
      },
    });
    await warningsDuring(async () => {
      await assert.rejects(enforcing(attacker.url('127.0.0.1', '/pay'), { method: 'POST', body: 'secret' }), { code: 'ERR_PIN_MISMATCH' });
    });
    // The block came first; the report POST arrives, and is still unanswered.
    for (let waited = 0; collector.requests.length === 0 && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(collector.requests.length, 1, 'the report was sent');
    assert.equal(held.length, 1);
    assert.equal(held[0]!.writableEnded, false, 'the collector has not answered');
    assert.equal(attacker.applicationBytes, 0);
  } finally {
    for (const res of held) res.end();
    await collector.close();
  }
});

test('session resumption is off on real connections (agent and fetch); positive control: a plain agent resumes', async () => {
  const reused: boolean[] = [];
  const server = https.createServer(pki.serverOptions(pki.legit), (_req, res) => res.end('ok'));
  server.on('secureConnection', (socket: TLSSocket) => socket.once('secure', () => undefined));
  server.on('request', (req: IncomingMessage) => reused.push((req.socket as TLSSocket).isSessionReused()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const get = (agent: https.Agent) =>
    new Promise<void>((resolve, reject) => {
      https.get(url, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  try {
    const plain = new https.Agent({ ca: pki.legit.root.pem, keepAlive: false });
    for (let i = 0; i < 3; i++) await get(plain);
    assert.deepEqual(reused.splice(0), [false, true, true], 'Node resumes sessions on a plain agent');
    const guarded = createAgent(policy(), { keepAlive: false });
    for (let i = 0; i < 3; i++) await get(guarded);
    assert.deepEqual(reused.splice(0), [false, false, false], 'createAgent');
    const guardedFetch = createFetch(policy());
    for (let i = 0; i < 3; i++) await (await guardedFetch(url, { headers: { connection: 'close' } })).text();
    assert.deepEqual(reused.splice(0), [false, false, false], 'createFetch');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('pinsExpire: pins hold through the last millisecond of the named day, UTC, whatever the local time zone', async () => {
  // Today's date, so both instants lie inside the test certificates' validity.
  const day = new Date().toISOString().slice(0, 10);
  const next = new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString();
  const savedTz = process.env.TZ;
  try {
    for (const tz of ['Pacific/Kiritimati', 'America/Adak', 'UTC']) {
      process.env.TZ = tz;
      for (const [at, blocked] of [
        [`${day}T23:59:59.999Z`, true],
        [next, false],
      ] as const) {
        attacker.reset();
        const reports: ViolationReport[] = [];
        const guarded = createFetch(policy({}, { pinsExpire: day }), { now: () => new Date(at), onViolation: (report) => reports.push(report) });
        if (blocked) {
          await assert.rejects(guarded(attacker.url('127.0.0.1', '/'), { headers: { connection: 'close' } }), { code: 'ERR_PIN_MISMATCH' }, `${tz} ${at}`);
          assert.equal(attacker.applicationBytes, 0);
        } else {
          const response = await guarded(attacker.url('127.0.0.1', '/'), { headers: { connection: 'close' } });
          assert.equal(response.status, 200, `${tz} ${at}`);
          await response.text();
          assert.deepEqual(reports.map((report) => report.kind), ['pins-expired']);
        }
      }
    }
  } finally {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  }
});

test('ERR_CERT_UNTRUSTED says how to trust a private CA (trustAnchors of that domain) and warns not to add an unknown one', async () => {
  const guarded = createFetch({ version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': {} } });
  const error = await guarded(rogue.url('127.0.0.1', '/')).then(
    () => assert.fail('allowed'),
    (failure: Error & { code: string }) => failure,
  );
  assert.equal(error.code, 'ERR_CERT_UNTRUSTED');
  assert.match(error.message, /add that CA's root certificate \(a PEM file\) to "domains" > "127\.0\.0\.1" > "trustAnchors"/);
  assert.match(error.message, /Never add a CA you do not operate/);
  // Unlisted host: the hint says to add a domain entry.
  const unlisted = await createFetch({ version: 1, trustAnchors: [pki.legit.root.pem] })(rogue.url('127.0.0.1', '/')).then(
    () => assert.fail('allowed'),
    (failure: Error) => failure,
  );
  assert.match(unlisted.message, /to a "domains" entry for 127\.0\.0\.1 with "trustAnchors"/);
  // The pure verdict (wirelock's own chain check) carries the same hint.
  const document = definePolicy({ version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': {} } });
  const verdict = evaluateHandshake({
    policy: document,
    domain: findDomainPolicy(document, '127.0.0.1'),
    host: '127.0.0.1',
    port: 443,
    served: [pki.rogue.leaf, pki.rogue.intermediate].map((cert) => toChainCertificate(cert.der)),
    now: new Date(),
  });
  assert.equal(verdict.violations[0]?.code, 'ERR_CERT_UNTRUSTED');
  assert.match(verdict.violations[0]!.message, /"domains" > "127\.0\.0\.1" > "trustAnchors"/);
});

test('ERR_PIN_MISMATCH lists a chain once when the server also sends its root', async () => {
  const withRoot = await startCountingServer(pki.serverOptions(pki.legit, pki.legit.root));
  try {
    const wrongPins = [pki.backupPin, certificatePin(pki.rogue.intermediate.der)];
    const document = definePolicy({ version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': { pins: wrongPins } } });
    // The duplicate exists: the path through the served root and the path to the anchor.
    const verdict = evaluateHandshake({
      policy: document,
      domain: findDomainPolicy(document, '127.0.0.1'),
      host: '127.0.0.1',
      port: withRoot.port,
      served: [pki.legit.leaf, pki.legit.intermediate, pki.legit.root].map((cert) => toChainCertificate(cert.der)),
      now: new Date(),
    });
    assert.ok(verdict.verifiedPaths.length >= 2, `${verdict.verifiedPaths.length} verified paths`);
    const error = await createFetch(document)(withRoot.url('127.0.0.1', '/')).then(
      () => assert.fail('allowed'),
      (failure: Error & { code: string }) => failure,
    );
    assert.equal(error.code, 'ERR_PIN_MISMATCH');
    assert.equal(error.message.match(/verified chain/g)?.length, 1, error.message);
    assert.equal(error.message.split(certificatePin(pki.legit.leaf.der)).length - 1, 1, 'the leaf is listed once');
    for (const pin of wrongPins) assert.ok(error.message.includes(pin));
  } finally {
    await withRoot.close();
  }
});

test('global fetch under wirelock/register: the app sees "fetch failed" with the WirelockError as cause; the warning names host, port and code', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-register-fetch-'));
  writeFileSync(join(dir, 'wirelock.json'), JSON.stringify(policy()));
  writeFileSync(
    join(dir, 'app.mjs'),
    `try { await fetch(process.env.TARGET, { method: 'POST', body: 'secret' }); console.log(JSON.stringify({ ok: true })); }
     catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message, cause: error.cause?.code, causeName: error.cause?.name })); }`,
  );
  attacker.reset();
  const register = new URL('../../dist/runtime/register.js', import.meta.url).pathname;
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(process.execPath, ['--import', register, 'app.mjs'], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TARGET: attacker.url('127.0.0.1', '/pay') } }, (error, out, err) =>
      error ? reject(Object.assign(error, { stderr: err })) : resolve({ stdout: out, stderr: err }),
    );
  });
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), { name: 'TypeError', message: 'fetch failed', cause: 'ERR_PIN_MISMATCH', causeName: 'WirelockError' });
  assert.match(stderr, new RegExp(`WirelockWarning: wirelock blocked 127\\.0\\.0\\.1:${attacker.port}: ERR_PIN_MISMATCH`));
  assert.equal(attacker.applicationBytes, 0);
});
