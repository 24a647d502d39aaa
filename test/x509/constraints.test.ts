// What the path builder does not evaluate is refused, never ignored (fail closed), with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAnchorSet, buildVerifiedChains, toChainCertificate } from '../../src/x509/chain.js';
import { ia5, integer, seq, tlv } from '../../src/x509/der.js';
import { generateKeys, issueCertificate, type RawExtension } from '../../src/x509/issue.js';

function pathWith(intermediateExtensions: RawExtension[], leafNames: { dnsNames?: string[] } = { dnsNames: ['a.example'] }) {
  const root = issueCertificate({ subject: { commonName: 'Root' }, keys: generateKeys(), isCA: true });
  const intermediate = issueCertificate({ subject: { commonName: 'Intermediate' }, keys: generateKeys(), issuer: root, isCA: true, extensions: intermediateExtensions });
  const leaf = issueCertificate({ subject: { commonName: 'a.example' }, keys: generateKeys(), issuer: intermediate, ...leafNames });
  return buildVerifiedChains([leaf, intermediate].map((cert) => toChainCertificate(cert.der)), buildAnchorSet([root.der]), new Date());
}

test('control: the same path without constraints verifies', () => {
  assert.equal(pathWith([]).ok, true);
});

test('name constraints on e-mail addresses (rfc822Name) are not evaluated, so the path is refused', () => {
  const result = pathWith([{ oid: '2.5.29.30', critical: true, value: seq(tlv(0xa0, seq(tlv(0x81, ia5('example.com').subarray(2))))) }]);
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.detail : '', /rfc822Name are not supported/);
});

test('policy constraints on an intermediate (requireExplicitPolicy) are refused, not ignored', () => {
  const result = pathWith([{ oid: '2.5.29.36', critical: false, value: seq(tlv(0x80, integer(0).subarray(2))) }]);
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.detail : '', /certificate-policy constraints \(2\.5\.29\.36\)/);
});

test('DNS name constraints: a leaf inside the permitted subtree verifies, one outside is refused', () => {
  const permitted: RawExtension = { oid: '2.5.29.30', critical: true, value: seq(tlv(0xa0, seq(tlv(0x82, ia5('example').subarray(2))))) };
  assert.equal(pathWith([permitted]).ok, true);
  const outside = pathWith([permitted], { dnsNames: ['a.example', 'pinned.test'] });
  assert.equal(outside.ok, false);
  assert.match(!outside.ok ? outside.detail : '', /"pinned\.test" is outside the permitted DNS subtrees/);
});
