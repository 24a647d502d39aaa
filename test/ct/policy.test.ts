import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateCtPolicy, lifetimeDays, type SctVerdict } from '../../src/ct/policy.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-09-01T00:00:00Z');
const short = { notBefore: NOW - 10 * DAY, notAfter: NOW + 80 * DAY };
const long = { notBefore: NOW - 10 * DAY, notAfter: NOW + 300 * DAY };

function sct(logId: string, operator: string, extra: Partial<SctVerdict> = {}): SctVerdict {
  return {
    origin: 'embedded',
    logId,
    logName: logId,
    operator,
    timestamp: NOW - DAY,
    status: 'valid',
    reason: 'log is usable',
    signatureValid: true,
    currentlyApproved: true,
    tiled: false,
    ...extra,
  };
}

test('lifetime follows RFC 5280 (inclusive) with a started day counting whole', () => {
  assert.equal(lifetimeDays(0, 180 * DAY - 1000), 180);
  assert.equal(lifetimeDays(0, 180 * DAY), 181);
});

test('chrome: 2 logs of 2 operators for <= 180 days, 3 beyond', () => {
  assert.equal(evaluateCtPolicy('chrome', [sct('a', 'G'), sct('b', 'C')], short, undefined).compliant, true);
  const longTwo = evaluateCtPolicy('chrome', [sct('a', 'G'), sct('b', 'C')], long, undefined);
  assert.equal(longTwo.compliant, false);
  assert.equal(longTwo.required, 3);
  assert.equal(evaluateCtPolicy('chrome', [sct('a', 'G'), sct('b', 'C'), sct('c', 'G')], long, undefined).compliant, true);
});

test('chrome: the same log twice counts once; one operator is not enough', () => {
  assert.equal(evaluateCtPolicy('chrome', [sct('a', 'G'), sct('a', 'G')], short, undefined).compliant, false);
  const oneOperator = evaluateCtPolicy('chrome', [sct('a', 'G'), sct('b', 'G')], short, undefined);
  assert.equal(oneOperator.compliant, false);
  assert.match(oneOperator.failures.join(), /2 distinct log operators, has 1/);
});

test('chrome: SCTs that are not valid never count, whatever their number', () => {
  const statuses = ['invalid-signature', 'unknown-log', 'future', 'log-not-usable', 'malformed'] as const;
  const scts = statuses.map((status, index) => sct(`x${index}`, `op${index}`, { status, currentlyApproved: false }));
  const result = evaluateCtPolicy('chrome', [sct('a', 'G'), ...scts], short, undefined);
  assert.equal(result.compliant, false);
  assert.equal(result.distinctLogs, 1);
});

test('chrome: retired-log SCTs count for embedded, but one SCT must come from a log approved now', () => {
  const retired = (id: string, op: string) => sct(id, op, { currentlyApproved: false, reason: 'retired, SCT before' });
  const allRetired = evaluateCtPolicy('chrome', [retired('a', 'G'), retired('b', 'C')], short, undefined);
  assert.equal(allRetired.compliant, false);
  assert.match(allRetired.failures.join(), /qualified, usable or read-only now/);
  assert.equal(evaluateCtPolicy('chrome', [retired('a', 'G'), sct('b', 'C')], short, undefined).compliant, true);
});

test('chrome: a valid SCT delivered by OCSP/TLS lowers the count to 2 from currently approved logs', () => {
  const ocsp = (id: string, op: string, extra: Partial<SctVerdict> = {}) => sct(id, op, { origin: 'ocsp', ...extra });
  assert.equal(evaluateCtPolicy('chrome', [ocsp('a', 'G'), ocsp('b', 'C')], long, undefined).compliant, true);
  assert.equal(evaluateCtPolicy('chrome', [ocsp('a', 'G'), ocsp('b', 'C', { currentlyApproved: false })], long, undefined).compliant, false);
});

test('minScts overrides the count (and caps the operator rule at the count)', () => {
  assert.equal(evaluateCtPolicy('chrome', [sct('a', 'G')], short, 1).compliant, true);
  assert.equal(evaluateCtPolicy('chrome', [sct('a', 'G'), sct('b', 'C')], short, 3).compliant, false);
  assert.equal(evaluateCtPolicy('apple', [sct('a', 'G'), sct('b', 'C')], short, 3).compliant, false);
});

test('apple: embedded route caps SCTs per operator (1 for <= 180 days, 2 beyond)', () => {
  assert.equal(evaluateCtPolicy('apple', [sct('a', 'G'), sct('b', 'C')], short, undefined).compliant, true);
  assert.equal(evaluateCtPolicy('apple', [sct('a', 'G'), sct('b', 'G')], short, undefined).compliant, false);
  assert.equal(evaluateCtPolicy('apple', [sct('a', 'G'), sct('b', 'G'), sct('c', 'C')], long, undefined).compliant, true);
  assert.equal(evaluateCtPolicy('apple', [sct('a', 'G'), sct('b', 'G'), sct('c', 'G')], long, undefined).compliant, false);
});

test('apple: once-approved logs count for embedded if one is approved now; the delivered route needs approved-now logs', () => {
  const retired = (id: string, op: string) => sct(id, op, { currentlyApproved: false });
  assert.equal(evaluateCtPolicy('apple', [retired('a', 'G'), retired('b', 'C')], short, undefined).compliant, false);
  assert.equal(evaluateCtPolicy('apple', [retired('a', 'G'), sct('b', 'C')], short, undefined).compliant, true);
  const ocsp = (id: string, op: string) => sct(id, op, { origin: 'ocsp' });
  assert.equal(evaluateCtPolicy('apple', [ocsp('a', 'G'), ocsp('b', 'G')], long, undefined).compliant, true);
});

test('apple: at least one SCT from an RFC 6962 (not tiled) log', () => {
  const tiled = (id: string, op: string) => sct(id, op, { tiled: true });
  const result = evaluateCtPolicy('apple', [tiled('a', 'G'), tiled('b', 'C')], short, undefined);
  assert.equal(result.compliant, false);
  assert.match(result.failures.join(), /RFC 6962/);
  assert.equal(evaluateCtPolicy('apple', [tiled('a', 'G'), sct('b', 'C')], short, undefined).compliant, true);
});

test('chrome: an OCSP/TLS SCT from a retired log does not lower the embedded count to 2', () => {
  const retiredOcsp = sct('c', 'X', { origin: 'ocsp', currentlyApproved: false, reason: 'retired, SCT before' });
  // A long-lived certificate with only 2 embedded SCTs needs a third log; the stapled SCT from a
  // log that is not approved now does not count (Chromium skips it), so it must not relax the rule.
  const result = evaluateCtPolicy('chrome', [sct('a', 'G'), sct('b', 'C'), retiredOcsp], long, undefined);
  assert.equal(result.compliant, false);
  assert.equal(result.required, 3);
  // Positive control: the same stapled SCT from a log approved now does lower the count.
  assert.equal(evaluateCtPolicy('chrome', [sct('a', 'G'), sct('b', 'C'), sct('c', 'X', { origin: 'ocsp' })], long, undefined).compliant, true);
});
