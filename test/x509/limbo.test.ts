// x509-limbo as a suite for the path builder (see limbo.ts). The builder's bar is the handshake's own
// validator (OpenSSL): a path it returns, on which pins are matched, must be one OpenSSL accepts.
// test/x509/limbo.system.ts checks that against the openssl binary for every case; this file pins the
// outcome per case so a regression shows up in `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCEPTED_LIKE_OPENSSL, REFUSED_ON_PURPOSE, limboCases, runLimboCase } from './limbo.js';

const cases = limboCases().filter((testcase) => testcase.validation_kind === 'SERVER');

test('x509-limbo: every case has the outcome RFC 5280 as OpenSSL applies it gives (counts printed)', () => {
  const outcomes = cases.map(runLimboCase);
  const agree = outcomes.filter((outcome) => outcome.actual === outcome.expected);
  const falseAccepts = outcomes.filter((outcome) => outcome.expected === 'FAILURE' && outcome.actual === 'SUCCESS');
  const falseRefusals = outcomes.filter((outcome) => outcome.expected === 'SUCCESS' && outcome.actual === 'FAILURE');
  console.log(
    `x509-limbo (${cases.length} SERVER cases): ${agree.length} as expected, ${falseAccepts.length} accepted as OpenSSL accepts them, ` +
      `${falseRefusals.length} refused on purpose (unsupported or refused by OpenSSL too)`,
  );
  assert.deepEqual(falseAccepts.map((outcome) => outcome.id).filter((id) => !ACCEPTED_LIKE_OPENSSL.has(id)), [], 'accepted although limbo and OpenSSL refuse');
  for (const outcome of falseRefusals) {
    const reason = REFUSED_ON_PURPOSE.get(outcome.id);
    assert.ok(reason, `${outcome.id} refused: ${outcome.reason}`);
    assert.match(outcome.reason, reason, outcome.id);
  }
  assert.equal(agree.length + falseAccepts.length + falseRefusals.length, cases.length);
  assert.ok(agree.length >= 102, `${agree.length} cases as expected`);
});

test('x509-limbo: the families the builder enforces are refused, each with its reason', () => {
  const expectations: Array<[RegExp, RegExp]> = [
    [/^pathlen::intermediate-(violates-pathlen-0|pathlen-too-long)$/, /allows \d+ intermediate/],
    [/^rfc5280::nc::(excluded|permitted)-(dns|ip)/, /subtree/],
    [/^rfc5280::eku::ee-wrong-eku$/, /serverAuth/],
    [/^rfc5280::unknown-critical-extension/, /critical extension/],
    [/^rfc5280::validity::/, /expired|not valid before/],
    [/^webpki::aki::root-with-aki-(authoritycertissuer|authoritycertserialnumber|all-fields|ski-mismatch)$/, /not self-signed/],
  ];
  for (const [family, reason] of expectations) {
    const members = cases.filter((testcase) => family.test(testcase.id) && testcase.expected_result === 'FAILURE' && !ACCEPTED_LIKE_OPENSSL.has(testcase.id));
    assert.ok(members.length > 0, String(family));
    for (const testcase of members) {
      const outcome = runLimboCase(testcase);
      assert.equal(outcome.actual, 'FAILURE', testcase.id);
      assert.match(outcome.reason, reason, testcase.id);
    }
  }
});
