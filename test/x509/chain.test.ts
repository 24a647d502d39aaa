import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAnchorSet, buildVerifiedChains, toChainCertificate } from '../../src/x509/chain.js';
import { generateKeys, issueCertificate, issueChain } from '../../src/x509/issue.js';

const now = new Date();
const chainOf = (...certs: Array<{ der: Uint8Array }>) => certs.map((c) => toChainCertificate(c.der));

test('builds leaf -> intermediate -> anchor with signatures checked', () => {
  const { root, intermediate, leaf } = issueChain({ hostnames: ['a.example'] });
  const result = buildVerifiedChains(chainOf(leaf, intermediate), buildAnchorSet([root.der]), now);
  assert.ok(result.ok);
  assert.deepEqual(result.path.map((c) => c.subject), [leaf, intermediate, root].map((c) => toChainCertificate(c.der).subject));
});

test('a chain to another root is untrusted', () => {
  const a = issueChain({ hostnames: ['a.example'], rootName: 'A' });
  const b = issueChain({ hostnames: ['a.example'], rootName: 'B' });
  const result = buildVerifiedChains(chainOf(a.leaf, a.intermediate), buildAnchorSet([b.root.der]), now);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.reason, 'untrusted');
});

test('an impostor intermediate with the same name but another key is never linked (CVE-2016-2402 variant)', () => {
  const legit = issueChain({ hostnames: ['a.example'], rootName: 'Legit' });
  const attackerRoot = issueCertificate({ subject: { commonName: 'Attacker Root' }, keys: generateKeys(), isCA: true });
  // Same subject name as the legitimate intermediate, attacker's key, issued by a root we also trust.
  const impostor = issueCertificate({ subject: { commonName: 'Legit intermediate' }, keys: generateKeys(), issuer: attackerRoot, isCA: true });
  const rogueLeaf = issueCertificate({ subject: { commonName: 'a.example' }, keys: generateKeys(), issuer: impostor, dnsNames: ['a.example'] });
  const anchors = buildAnchorSet([legit.root.der, attackerRoot.der]);
  const result = buildVerifiedChains(chainOf(rogueLeaf, legit.intermediate, impostor), anchors, now);
  assert.ok(result.ok);
  const pins = result.paths.flat().map((c) => c.pin);
  assert.ok(!pins.includes(toChainCertificate(legit.intermediate.der).pin), 'the legitimate intermediate is not on any verified path');
  assert.equal(result.path[1]!.pin, toChainCertificate(impostor.der).pin);
});

test('cross-signed intermediates yield every verified path', () => {
  const oldRoot = issueCertificate({ subject: { commonName: 'Old Root' }, keys: generateKeys(), isCA: true });
  const newRootKeys = generateKeys();
  const newRoot = issueCertificate({ subject: { commonName: 'New Root' }, keys: newRootKeys, isCA: true });
  const crossSigned = issueCertificate({ subject: { commonName: 'New Root' }, keys: newRootKeys, issuer: oldRoot, isCA: true });
  const intermediate = issueCertificate({ subject: { commonName: 'Issuing CA' }, keys: generateKeys(), issuer: newRoot, isCA: true });
  const leaf = issueCertificate({ subject: { commonName: 'a.example' }, keys: generateKeys(), issuer: intermediate, dnsNames: ['a.example'] });
  const result = buildVerifiedChains(chainOf(leaf, intermediate, crossSigned), buildAnchorSet([oldRoot.der, newRoot.der]), now);
  assert.ok(result.ok);
  assert.equal(result.paths.length, 2);
  assert.equal(result.path.length, 3, 'shortest path first');
  assert.equal(result.paths[1]!.length, 4);
});

test('expired and not-yet-valid certificates are reported as such', () => {
  const { root, intermediate } = issueChain({ hostnames: ['a.example'] });
  const expired = issueCertificate({ subject: { commonName: 'a.example' }, keys: generateKeys(), issuer: intermediate, notBefore: new Date(Date.now() - 10 * 864e5), notAfter: new Date(Date.now() - 864e5) });
  const future = issueCertificate({ subject: { commonName: 'a.example' }, keys: generateKeys(), issuer: intermediate, notBefore: new Date(Date.now() + 864e5), notAfter: new Date(Date.now() + 10 * 864e5) });
  const anchors = buildAnchorSet([root.der]);
  const a = buildVerifiedChains(chainOf(expired, intermediate), anchors, now);
  const b = buildVerifiedChains(chainOf(future, intermediate), anchors, now);
  assert.equal(!a.ok && a.reason, 'expired');
  assert.equal(!b.ok && b.reason, 'not-yet-valid');
});

test('a non-CA certificate cannot issue, even with a valid signature', () => {
  const { root, intermediate } = issueChain({ hostnames: ['a.example'] });
  const endEntity = issueCertificate({ subject: { commonName: 'not a ca' }, keys: generateKeys(), issuer: intermediate });
  const child = issueCertificate({ subject: { commonName: 'a.example' }, keys: generateKeys(), issuer: endEntity, dnsNames: ['a.example'] });
  const result = buildVerifiedChains(chainOf(child, endEntity, intermediate), buildAnchorSet([root.der]), now);
  assert.equal(result.ok, false);
});

test('a directly trusted self-signed certificate is its own path', () => {
  const self = issueCertificate({ subject: { commonName: 'pinned.example' }, keys: generateKeys(), dnsNames: ['pinned.example'] });
  const result = buildVerifiedChains(chainOf(self), buildAnchorSet([self.der]), now);
  assert.ok(result.ok);
  assert.equal(result.path.length, 1);
});

test('a hostile pile of same-named certificates is bounded', () => {
  const { root, intermediate, leaf } = issueChain({ hostnames: ['a.example'] });
  const decoys = Array.from({ length: 80 }, () => issueCertificate({ subject: { commonName: 'wirelock test root intermediate' }, keys: generateKeys(), issuer: root, isCA: true }));
  const start = process.hrtime.bigint();
  const result = buildVerifiedChains(chainOf(leaf, ...decoys, intermediate), buildAnchorSet([root.der]), now);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.equal(result.ok, false, 'the signature-check budget ran out before the real intermediate: fail closed');
});
