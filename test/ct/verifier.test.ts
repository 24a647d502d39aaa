import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLogList } from '../../src/ct/loglist.js';
import { CtVerifier } from '../../src/ct/verifier.js';
import { checkCt, verifierFor } from '../../src/ct/enforce.js';
import { createTestLog, issueWithScts, writeLogList, writeLogListFiles } from '../../src/ct/testlog.js';
import { precertTbs } from '../../src/ct/verify.js';
import { OID_EMBEDDED_SCT_LIST, OID_PRECERT_POISON } from '../../src/ct/sct.js';
import { parseCertificate } from '../../src/x509/certificate.js';
import { generateKeys, issueCertificate, issueChain } from '../../src/x509/issue.js';
import { toChainCertificate } from '../../src/x509/chain.js';
import type { CertificateTransparencyConfig } from '../../src/policy/types.js';

const pki = issueChain({ hostnames: ['ct.example'] });
const other = issueChain({ hostnames: ['ct.example'] });
const logA = createTestLog({ name: 'A', operator: 'Op A' });
const logB = createTestLog({ name: 'B', operator: 'Op B', keyAlgorithm: 'rsa-2048' });
const issued = issueWithScts({ issuer: pki.intermediate, hostnames: ['ct.example'], logs: [logA, logB] });
const options = { policy: 'chrome' as const, minScts: undefined };

test('testlog: the precertificate carries the poison and signs over the same TBS as the final certificate', () => {
  assert.ok(parseCertificate(issued.precertificate.der).extensions.some((ext) => ext.oid === OID_PRECERT_POISON && ext.critical));
  assert.deepEqual(Buffer.from(precertTbs(issued.precertificate.der)), Buffer.from(precertTbs(issued.certificate.der)));
  assert.equal(issued.scts.length, 2);
  assert.ok(issued.chainPem.startsWith(issued.certificate.pem));
});

test('results are cached per leaf and issuer; the clock is applied on every call', () => {
  const verifier = new CtVerifier(parseLogList(writeLogList([logA, logB]).bytes));
  const input = { leaf: issued.certificate.der, issuer: pki.intermediate.der };
  const first = verifier.evaluate(input, new Date(), options);
  const second = verifier.evaluate(input, new Date(), options);
  assert.equal(first.cached, false);
  assert.equal(second.cached, true);
  assert.equal(second.compliant, true);
  assert.deepEqual(second.scts, first.scts);
  // Same cached signature checks, earlier clock: the SCTs are from the future.
  const early = verifier.evaluate(input, new Date(Date.now() - 3_600_000), options);
  assert.equal(early.cached, true);
  assert.deepEqual(early.scts.map((s) => s.status), ['future', 'future']);
  // A different issuer is a different cache entry and does not inherit the valid verdicts.
  const wrongIssuer = verifier.evaluate({ ...input, issuer: other.intermediate.der }, new Date(), options);
  assert.equal(wrongIssuer.cached, false);
  assert.deepEqual(wrongIssuer.scts.map((s) => s.status), ['invalid-signature', 'invalid-signature']);
  assert.equal(verifier.cacheSize, 2);
  // The kept verdict is per CT policy options: the same chain judged with other options differs.
  assert.equal(verifier.evaluate(input, new Date(), { policy: 'chrome', minScts: 3 }).compliant, false);
  assert.equal(verifier.evaluate(input, new Date(), options).compliant, true);
  assert.deepEqual(verifier.evaluate(input, new Date(Date.now() - 3_600_000), options).scts.map((s) => s.status), ['future', 'future']);
});

test('a new list version gets a new verifier: an entry removed from the list is unknown within a second', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-ct-cache-'));
  const first = writeLogListFiles(dir, [logA, logB], { version: '1' });
  const config: CertificateTransparencyConfig = { enforce: true, policy: 'chrome', logList: first.logList, logListKey: first.logListKey, maxListAgeDays: 70, onStaleList: 'fail-open-report', minScts: undefined };
  const path = [toChainCertificate(issued.certificate.der), toChainCertificate(pki.intermediate.der)];
  const before = verifierFor(config);
  assert.equal(checkCt(config, path, undefined, new Date()).compliant, true);
  assert.equal(verifierFor(config), before, 'unchanged files reuse the verifier and its cache');
  writeLogListFiles(dir, [logA], { version: '2', signingKey: first.signingKey });
  // Files are re-checked at most once per second.
  assert.equal(verifierFor(config), before);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const after = verifierFor(config);
  assert.notEqual(after, before);
  assert.equal(after.list.version, '2');
  const outcome = checkCt(config, path, undefined, new Date());
  assert.equal(outcome.compliant, false);
  assert.match(outcome.message, /SCT #2 \[embedded\] .*: unknown-log/);
  assert.deepEqual(outcome.evaluation?.scts.map((s) => s.status), ['valid', 'unknown-log']);
});

test('checkCt fails closed when the list cannot be read, and names the problem', () => {
  const config: CertificateTransparencyConfig = { enforce: true, policy: 'chrome', logList: '/nonexistent/logs.json', logListKey: undefined, maxListAgeDays: 70, onStaleList: 'fail-open-report', minScts: undefined };
  const outcome = checkCt(config, [toChainCertificate(issued.certificate.der)], undefined, new Date());
  assert.equal(outcome.compliant, false);
  assert.match(outcome.message, /CT cannot be checked.*cannot read the CT log list/);
});

test('temporal interval: a certificate expiring outside a sharded log\'s interval does not count for it', () => {
  const shard = createTestLog({ name: 'Shard 2020', operator: 'Op C', temporalInterval: { start: new Date('2020-01-01T00:00:00Z'), end: new Date('2021-01-01T00:00:00Z') } });
  const cert = issueWithScts({ issuer: pki.intermediate, hostnames: ['ct.example'], logs: [logA, shard] });
  const verifier = new CtVerifier(parseLogList(writeLogList([logA, shard]).bytes));
  const result = verifier.evaluate({ leaf: cert.certificate.der, issuer: pki.intermediate.der }, new Date(), options);
  assert.equal(result.scts[1]!.status, 'log-not-usable');
  assert.match(result.scts[1]!.reason, /temporal interval/);
  assert.equal(result.compliant, false);
});

test('previous operators: the operator at the SCT time decides operator diversity', () => {
  const handedOver = createTestLog({ name: 'Moved', operator: 'Op A', previousOperators: [{ name: 'Op Z', endTime: new Date(Date.now() - 864e5) }] });
  const verifier = new CtVerifier(parseLogList(writeLogList([logA, handedOver]).bytes));
  const old = issueWithScts({ issuer: pki.intermediate, hostnames: ['ct.example'], logs: [logA, { log: handedOver, timestamp: new Date(Date.now() - 2 * 864e5) }], notBefore: new Date(Date.now() - 3 * 864e5) });
  const fresh = issueWithScts({ issuer: pki.intermediate, hostnames: ['ct.example'], logs: [logA, handedOver] });
  const oldResult = verifier.evaluate({ leaf: old.certificate.der, issuer: pki.intermediate.der }, new Date(), options);
  assert.equal(oldResult.scts[1]!.operator, 'Op Z');
  assert.equal(oldResult.compliant, true);
  const freshResult = verifier.evaluate({ leaf: fresh.certificate.der, issuer: pki.intermediate.der }, new Date(), options);
  assert.equal(freshResult.scts[1]!.operator, 'Op A');
  assert.equal(freshResult.compliant, false);
});

test('fuzz: hostile SCT extension bytes in a real certificate never escape as an exception; nothing hostile counts', () => {
  const keys = generateKeys();
  const verifier = new CtVerifier(parseLogList(writeLogList([logA, logB]).bytes));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, wrap) => {
      const value = wrap ? Uint8Array.from([0x04, ...(bytes.length < 128 ? [bytes.length] : [0x82, bytes.length >> 8, bytes.length & 0xff]), ...bytes]) : bytes;
      const leaf = issueCertificate({ subject: { commonName: 'fuzz' }, keys, issuer: pki.intermediate, dnsNames: ['fuzz.example'], extensions: [{ oid: OID_EMBEDDED_SCT_LIST, value }] });
      const result = verifier.evaluate({ leaf: leaf.der, issuer: pki.intermediate.der }, new Date(), options);
      assert.equal(result.compliant, false);
      assert.ok(result.scts.every((sct) => sct.status !== 'valid'));
    }),
    { numRuns: 300 },
  );
});

test('a retired log is approved when judged before its retirement, once-approved after it', () => {
  const retiring = createTestLog({ name: 'Retiring', operator: 'Op R', state: 'retired', stateTimestamp: new Date(Date.now() + 864e5) });
  const cert = issueWithScts({ issuer: pki.intermediate, hostnames: ['ct.example'], logs: [retiring, logB] });
  const verifier = new CtVerifier(parseLogList(writeLogList([retiring, logB]).bytes));
  const input = { leaf: cert.certificate.der, issuer: pki.intermediate.der };
  const before = verifier.evaluate(input, new Date(), options);
  assert.deepEqual(before.scts.map((s) => [s.status, s.currentlyApproved]), [['valid', true], ['valid', true]]);
  const after = verifier.evaluate(input, new Date(Date.now() + 2 * 864e5), options);
  assert.deepEqual(after.scts.map((s) => [s.status, s.currentlyApproved]), [['valid', false], ['valid', true]]);
  assert.equal(after.compliant, true);
});
