import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { issueChain } from '../../src/x509/issue.js';
import { certificatePin, parseCertificate, spkiPin } from '../../src/x509/certificate.js';
import { WirelockError } from '../../src/errors.js';

test('issued chain links by signature and name', () => {
  const { root, intermediate, leaf } = issueChain({ hostnames: ['localhost', '127.0.0.1'] });
  const leafX = new X509Certificate(leaf.der);
  const interX = new X509Certificate(intermediate.der);
  const rootX = new X509Certificate(root.der);
  assert.ok(leafX.checkIssued(interX));
  assert.ok(leafX.verify(interX.publicKey));
  assert.ok(interX.verify(rootX.publicKey));
  assert.equal(leafX.verify(rootX.publicKey), false);
  assert.ok(rootX.ca);
  assert.equal(leafX.ca, false);
  assert.match(leafX.subjectAltName ?? '', /DNS:localhost, IP Address:127\.0\.0\.1/);
});

test('pin of the exact SPKI bytes matches the key export', () => {
  const { leaf } = issueChain({ hostnames: ['localhost'], keyAlgorithm: 'rsa-2048' });
  const exported = new Uint8Array(leaf.keys.publicKey.export({ type: 'spki', format: 'der' }));
  assert.equal(certificatePin(leaf.der), spkiPin(exported));
  assert.deepEqual(parseCertificate(leaf.der).spki, exported);
});

test('garbage is a typed error, not a crash', () => {
  for (const bytes of [new Uint8Array(0), Uint8Array.of(0x30), Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff), Uint8Array.of(0x30, 0x80, 0, 0)]) {
    assert.throws(() => parseCertificate(bytes), (error: unknown) => error instanceof WirelockError && error.code === 'ERR_CERT_MALFORMED');
  }
});
