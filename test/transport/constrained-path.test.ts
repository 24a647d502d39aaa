// Class: "pins matched on a path the validator would reject". The trust set holds a second certificate
// for a sub-CA's key, so OpenSSL accepts the handshake through that anchor; wirelock's path builder used
// to also find the path through the constrained sub-CA up to the pinned intermediate and matched the pin
// there, although OpenSSL refuses that path (name constraints, extended key usage, path length).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createFetch } from '../../src/transport/fetch.js';
import { WirelockError } from '../../src/errors.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { certificatePin } from '../../src/x509/certificate.js';
import { ia5, oid, seq, tlv } from '../../src/x509/der.js';
import { generateKeys, issueCertificate, type RawExtension } from '../../src/x509/issue.js';
import { createTestPki } from './pki.js';

const SECRET = 'constrained-path-secret-0193';
const pki = createTestPki();
const servers: CountingServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

const NAME_CONSTRAINTS = '2.5.29.30';
const EXT_KEY_USAGE = '2.5.29.37';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

interface Variant {
  name: string;
  /** What makes OpenSSL refuse the path through the sub-CA. */
  subCa: { extensions?: RawExtension[]; issuerPathLength?: number };
  opensslError: RegExp;
}

const variants: Variant[] = [
  {
    name: 'name constraints (the sub-CA may only issue for partner.example and 10.0.0.0/8)',
    subCa: {
      extensions: [{ oid: NAME_CONSTRAINTS, critical: true, value: seq(tlv(0xa0, seq(tlv(0x82, ia5('partner.example').subarray(2))), seq(tlv(0x87, Uint8Array.of(10, 0, 0, 0, 255, 0, 0, 0))))) }],
    },
    opensslError: /subtree/i,
  },
  {
    name: 'extended key usage (a client-authentication-only sub-CA)',
    subCa: { extensions: [{ oid: EXT_KEY_USAGE, value: seq(oid(CLIENT_AUTH)) }] },
    opensslError: /purpose/i,
  },
  { name: 'path length (the pinned intermediate allows no CA below it)', subCa: { issuerPathLength: 0 }, opensslError: /path length/i },
];

function post(url: string, ca: string[]): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end(SECRET);
  });
}

for (const variant of variants) {
  test(`a pin does not match on a path OpenSSL refuses: ${variant.name}`, async () => {
    const root = pki.legit.root;
    // The pinned intermediate (its key is the pin), and a sub-CA under it that an attacker (a partner) holds.
    const pinned = issueCertificate({ subject: { commonName: 'Pinned Intermediate' }, keys: generateKeys(), issuer: root, isCA: true, ...(variant.subCa.issuerPathLength !== undefined ? { pathLength: variant.subCa.issuerPathLength } : {}) });
    const partnerKeys = generateKeys();
    const subCa = issueCertificate({ subject: { commonName: 'Partner CA' }, keys: partnerKeys, issuer: pinned, isCA: true, ...(variant.subCa.extensions ? { extensions: variant.subCa.extensions } : {}) });
    // A second certificate for the same key, in the trust set: the path OpenSSL really accepts.
    const partnerAnchor = issueCertificate({ subject: { commonName: 'Partner CA' }, keys: partnerKeys, isCA: true });
    const leaf = issueCertificate({ subject: { commonName: '127.0.0.1' }, keys: generateKeys(), issuer: subCa, ipAddresses: ['127.0.0.1'] });
    const attacker = await startCountingServer({ cert: leaf.pem + subCa.pem + pinned.pem, key: leaf.keyPem });
    servers.push(attacker);
    const policy = { version: 1, trustAnchors: [root.pem, partnerAnchor.pem], domains: { '127.0.0.1': { pins: [certificatePin(pinned.der), pki.backupPin] } } };

    // OpenSSL refuses the path through the constrained sub-CA when it is the only one...
    await assert.rejects(post(attacker.url('127.0.0.1', '/'), [root.pem]), variant.opensslError);
    // ...and accepts the handshake through the second certificate for its key (positive control: the
    // unprotected client sends the secret).
    assert.equal(await post(attacker.url('127.0.0.1', '/'), [root.pem, partnerAnchor.pem]), 200);
    assert.ok(attacker.captured.includes(SECRET));
    attacker.reset();

    const error = await createFetch(policy)(attacker.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(
      () => assert.fail('the pinned host was reached through a path OpenSSL refuses'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof WirelockError, String(error));
    assert.equal(error.code, 'ERR_PIN_MISMATCH', error.message);
    assert.equal(attacker.applicationBytes, 0);
    assert.ok(!attacker.captured.includes(SECRET));

    // Positive control: the same policy reaches the legitimate server (leaf <- pinned <- root).
    const honestLeaf = issueCertificate({ subject: { commonName: '127.0.0.1' }, keys: generateKeys(), issuer: pinned, ipAddresses: ['127.0.0.1'] });
    const origin = await startCountingServer({ cert: honestLeaf.pem + pinned.pem, key: honestLeaf.keyPem });
    servers.push(origin);
    const response = await createFetch(policy)(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET });
    assert.equal(response.status, 200);
    await response.text();
    assert.ok(origin.captured.includes(SECRET));
  });
}
