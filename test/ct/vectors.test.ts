// Known-answer tests against the shared real-world CT vectors (test/vectors, provenance in each folder's SOURCES.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate, readCertificates } from '../../src/x509/certificate.js';
import { parseLogList, verifyLogListSignature, type LogList } from '../../src/ct/loglist.js';
import { checkSct, CtVerifier, findIssuer, judgeSct } from '../../src/ct/verifier.js';
import { sctListsFromOcspResponse } from '../../src/ct/ocsp.js';
import { parseSct, parseSctList, serializeSctList, OID_EMBEDDED_SCT_LIST, parseSctListExtension } from '../../src/ct/sct.js';
import { precertTbs, verifySctSignature } from '../../src/ct/verify.js';
import { isWirelockError } from '../../src/errors.js';

const VECTORS = join(process.cwd(), 'test', 'vectors');
const read = (...parts: string[]): Uint8Array => new Uint8Array(readFileSync(join(VECTORS, ...parts)));
const json = <T>(...parts: string[]): T => JSON.parse(readFileSync(join(VECTORS, ...parts), 'utf8')) as T;

const GOOGLE_87 = 'google-all_logs_list.v87.10.2026-07-06';
const GOOGLE_89 = 'google-all_logs_list.v89.25.2026-08-20';
const google87 = parseLogList(read('ct-log-lists', `${GOOGLE_87}.json`), GOOGLE_87);
const apple = parseLogList(read('ct-log-lists', 'apple-current_log_list.json'), 'apple');
const googleKey = readFileSync(join(VECTORS, 'ct-log-lists', 'google-log_list_pubkey.pem'), 'utf8');

interface ChainManifest {
  chains: Array<{
    file: string;
    issuer_index_in_file: number | null;
    embedded_scts: Array<{ log_id_b64: string; log_description: string; log_operator: string; timestamp_ms: number; in_apple_current: boolean }>;
  }>;
}
const chains = json<ChainManifest>('ct-sct-chains', 'manifest.json').chains;

function evaluateFile(file: string, list: LogList, at: Date) {
  const certs = readCertificates(read('ct-sct-chains', file), file);
  const leaf = certs[0]!;
  return new CtVerifier(list).evaluate({ leaf, issuer: findIssuer(leaf, certs.slice(1)) }, at, { policy: 'chrome', minScts: undefined });
}

test('log lists: Google 87.10 and 89.25 signatures verify with the published key, and fail with one byte changed', () => {
  for (const name of [GOOGLE_87, GOOGLE_89]) {
    const bytes = read('ct-log-lists', `${name}.json`);
    const signature = read('ct-log-lists', `${name}.sig`);
    verifyLogListSignature(bytes, signature, googleKey, name);
    const tampered = Uint8Array.from(bytes);
    tampered[Math.floor(tampered.length / 2)]! ^= 0x01;
    assert.throws(() => verifyLogListSignature(tampered, signature, googleKey, name), (error: unknown) => isWirelockError(error, 'ERR_CT_LOG_LIST'));
    const badSignature = Uint8Array.from(signature);
    badSignature[10]! ^= 0x80;
    assert.throws(() => verifyLogListSignature(bytes, badSignature, googleKey, name), (error: unknown) => isWirelockError(error, 'ERR_CT_LOG_LIST'));
  }
  // The v87 signature does not cover the v89 list.
  assert.throws(() => verifyLogListSignature(read('ct-log-lists', `${GOOGLE_89}.json`), read('ct-log-lists', `${GOOGLE_87}.sig`), googleKey), /does not verify/);
});

test('log lists: Google v3 (logs + tiled_logs, log_type, temporal_interval) and Apple v5 variants load completely', () => {
  assert.equal(google87.version, '87.10');
  assert.equal(google87.timestampSource, 'log_list_timestamp');
  assert.equal(google87.timestamp?.toISOString(), '2026-07-06T13:37:14.000Z');
  assert.equal(google87.logs.size, 225);
  assert.equal([...google87.logs.values()].filter((log) => log.tiled).length, 69);
  assert.deepEqual(google87.skipped, []);
  const argon2020 = google87.logs.get('sh4FzIuizYogTodm+Su5iiUgZ2va+nDnsklTLe+LkF4=')!;
  assert.equal(argon2020.state?.name, 'rejected');
  assert.equal(argon2020.temporalInterval?.start, Date.parse('2020-01-01T00:00:00Z'));
  assert.ok([...google87.logs.values()].some((log) => log.logType === 'test'));
  // Apple: no log_list_timestamp, so the newest state change stands for the list's age.
  assert.equal(apple.version, '511');
  assert.equal(apple.logs.size, 166);
  assert.equal(apple.timestampSource, 'newest-state');
  assert.ok(apple.timestamp && apple.timestamp.getTime() <= Date.parse('2026-04-01T00:00:00Z'));
  assert.deepEqual(apple.skipped, []);
  const google89 = parseLogList(read('ct-log-lists', `${GOOGLE_89}.json`));
  assert.equal(google89.version, '89.25');
  assert.equal(google89.logs.size, 117);
});

test('every SCT of every complete chain in ct-sct-chains verifies against the Google 87.10 list', () => {
  const complete = chains.filter((chain) => chain.issuer_index_in_file !== null && chain.embedded_scts.length > 0);
  assert.equal(complete.length, 3);
  for (const chain of complete) {
    const result = evaluateFile(chain.file, google87, new Date('2026-08-01T00:00:00Z'));
    assert.equal(result.scts.length, chain.embedded_scts.length, chain.file);
    result.scts.forEach((sct, index) => {
      const expected = chain.embedded_scts[index]!;
      assert.equal(sct.origin, 'embedded');
      assert.equal(sct.logId, expected.log_id_b64);
      assert.equal(sct.logName, expected.log_description);
      assert.equal(sct.operator, expected.log_operator);
      assert.equal(sct.timestamp, expected.timestamp_ms);
      assert.equal(sct.signatureValid, true, `${chain.file} SCT #${index + 1}: ${sct.reason}`);
      // These 2018 logs have all been rejected since: a valid signature, but they no longer count.
      assert.equal(sct.status, 'log-not-usable', `${chain.file} SCT #${index + 1}`);
      assert.match(sct.reason, /rejected/);
    });
    assert.equal(result.compliant, false);
  }
});

test('the same chains against the Apple list: every listed SCT verifies', () => {
  for (const chain of chains.filter((c) => c.issuer_index_in_file !== null && c.embedded_scts.length > 0)) {
    const result = evaluateFile(chain.file, apple, new Date('2026-05-01T00:00:00Z'));
    result.scts.forEach((sct, index) => {
      const inApple = chain.embedded_scts[index]!.in_apple_current;
      assert.equal(sct.signatureValid, inApple ? true : undefined);
      if (!inApple) assert.equal(sct.status, 'unknown-log');
    });
  }
});

test('a valid signature over the wrong issuer fails: the issuer key hash is part of the signed entry', () => {
  const certs = readCertificates(read('ct-sct-chains', 'appmattus/github.com.chain.pem'), 'github');
  const other = readCertificates(read('ct-sct-chains', 'pyca/cryptography.io.scts.chain.pem'), 'cryptography')[1]!;
  const result = new CtVerifier(google87).evaluate({ leaf: certs[0]!, issuer: other }, new Date('2026-08-01T00:00:00Z'), { policy: 'chrome', minScts: undefined });
  assert.deepEqual(result.scts.map((sct) => sct.status), ['invalid-signature', 'invalid-signature', 'invalid-signature']);
});

test('known answer: the precertificate TBS of cryptography.io equals pyca cryptography-scts-tbs-precert.der', () => {
  const leaf = readCertificates(read('ct-sct-chains', 'pyca/cryptography.io.scts.chain.pem'), 'x')[0]!;
  assert.deepEqual(Buffer.from(precertTbs(leaf)), Buffer.from(read('ct-sct-chains', 'pyca/cryptography-scts-tbs-precert.der')));
});

test('negative samples: no SCTs, the mitmproxy-forged chain', () => {
  for (const file of ['appmattus/NEGATIVE-no-sct.badssl.com.chain.pem', 'appmattus/NEGATIVE-babylonhealth.com.mitmproxy-attack-chain.pem']) {
    const result = evaluateFile(file, google87, new Date('2024-01-01T00:00:00Z'));
    assert.equal(result.compliant, false, file);
    assert.equal(result.scts.length, 0);
    assert.match(result.message, /no SCTs/);
  }
  // The attack chain appends the genuine chain after the forged leaf: the genuine SCTs are never
  // looked at, because CT is judged on the leaf of the verified path only.
  const attack = readCertificates(read('ct-sct-chains', 'appmattus/NEGATIVE-babylonhealth.com.mitmproxy-attack-chain.pem'), 'attack');
  assert.equal(findIssuer(attack[0]!, attack.slice(1)), undefined);
});

test('malformed SCT lists from pyca are rejected with status "malformed"', () => {
  const expectations: Array<[string, RegExp, number]> = [
    ['pyca/badssl-sct-none-hash.der', /hash algorithm "none"/, 0],
    ['pyca/badssl-sct-anonymous-sig.der', /signature algorithm "anonymous"/, 0],
    ['pyca/custom-invalid-sct-version.der', /unsupported SCT version 2/, 0],
    // The second SCT's bad length breaks the list framing, so the whole list is one malformed entry.
    ['pyca/custom-invalid-sct-length.der', /SCT list length 242 does not match the 175 bytes/, 0],
  ];
  for (const [file, reason, index] of expectations) {
    const result = evaluateFile(file, google87, new Date('2026-08-01T00:00:00Z'));
    const sct = result.scts[index];
    assert.ok(sct, `${file}: SCT #${index + 1} is reported`);
    assert.equal(sct.status, 'malformed', `${file}: ${sct.reason}`);
    assert.match(sct.reason, reason, file);
    assert.equal(result.compliant, false);
  }
});

test('leaf-only samples parse; without the issuer their SCTs cannot verify and do not count', () => {
  const result = evaluateFile('appmattus/PARTIAL-bloomberg.leaf-only.pem', google87, new Date('2023-06-01T00:00:00Z'));
  assert.equal(result.scts.length, 3);
  for (const sct of result.scts) {
    assert.equal(sct.status, 'invalid-signature');
    assert.match(sct.reason, /issuer certificate is not available/);
  }
});

interface SyntheticManifest {
  vectors: Array<{ kind: string; cert: string; sct?: string; issuer?: string; timestamp_ms: number; expected_valid?: boolean }>;
}

test('ct-testlog-synthetic: embedded and x509-entry SCTs of the CT project test log give their expected results', () => {
  const list = parseLogList(read('ct-testlog-synthetic', 'test-log-list.json'));
  const verifier = new CtVerifier(list);
  const { vectors } = json<SyntheticManifest>('ct-testlog-synthetic', 'manifest.json');
  let checked = 0;
  for (const vector of vectors) {
    const cert = readCertificates(read('ct-testlog-synthetic', vector.cert), vector.cert)[0]!;
    const at = new Date(vector.timestamp_ms + 1000);
    if (vector.kind.startsWith('embedded')) {
      const issuer = readCertificates(read('ct-testlog-synthetic', vector.issuer!), vector.issuer!)[0]!;
      const result = verifier.evaluate({ leaf: cert, issuer }, at, { policy: 'chrome', minScts: 1 });
      assert.equal(result.scts.length, 1);
      assert.equal(result.scts[0]!.timestamp, vector.timestamp_ms);
      assert.equal(result.scts[0]!.status, vector.expected_valid ? 'valid' : 'invalid-signature', `${vector.cert}: ${result.scts[0]!.reason}`);
      assert.equal(result.compliant, vector.expected_valid);
      checked++;
    } else if (vector.kind.startsWith('x509_entry')) {
      const proof = read('ct-testlog-synthetic', vector.sct!);
      const result = verifier.evaluate({ leaf: cert, issuer: undefined, tlsSctList: serializeSctList([proof]) }, at, { policy: 'chrome', minScts: 1 });
      assert.equal(result.scts[0]!.origin, 'tls');
      assert.equal(result.scts[0]!.status, 'valid', `${vector.cert}: ${result.scts[0]!.reason}`);
      // One second before the SCT was issued, it is from the future.
      const early = verifier.evaluate({ leaf: cert, issuer: undefined, tlsSctList: serializeSctList([proof]) }, new Date(vector.timestamp_ms - 1), { policy: 'chrome', minScts: 1 });
      assert.equal(early.scts[0]!.status, 'future');
      checked++;
    }
  }
  assert.equal(checked, 6);
  // The precertificate's own SCT is the one embedded in the final certificate.
  const embedded = parseCertificate(readCertificates(read('ct-testlog-synthetic', 'test-embedded-cert.pem'), 'x')[0]!).extensions.find((ext) => ext.oid === OID_EMBEDDED_SCT_LIST)!;
  assert.deepEqual(Buffer.from(parseSctListExtension(embedded.value)[0]!.raw), Buffer.from(read('ct-testlog-synthetic', 'test-embedded-pre-cert.proof')));
});

test('OCSP response with an SCT extension (pyca resp-sct-extension): 4 SCTs from known logs', () => {
  interface OcspManifest { ocsp_response_with_sct_extension: { scts: Array<{ log_id_b64: string; log: string }> } }
  const manifest = json<OcspManifest>('ocsp-and-tls-sct', 'manifest.json');
  const entries = sctListsFromOcspResponse(read('ocsp-and-tls-sct', 'pyca-resp-sct-extension.der'));
  assert.deepEqual(
    entries.map((entry) => Buffer.from(entry.sct!.logId).toString('base64')),
    manifest.ocsp_response_with_sct_extension.scts.map((sct) => sct.log_id_b64),
  );
  for (const [index, expected] of manifest.ocsp_response_with_sct_extension.scts.entries()) {
    assert.equal(google87.logs.get(expected.log_id_b64)?.description, expected.log, `SCT #${index + 1}`);
  }
  // A different serial number selects no SingleResponse.
  assert.deepEqual(sctListsFromOcspResponse(read('ocsp-and-tls-sct', 'pyca-resp-sct-extension.der'), Uint8Array.of(1, 2, 3)), []);
});

test('TLS-extension style SCTs over a real certificate (rustls sct.rs google-cert) verify with keys from the log list', () => {
  interface RealManifest { tls_extension_style_scts_real: Array<{ sct: string; log_id_b64: string; timestamp_ms: number; upstream_now_ms: number }> }
  const cert = read('ocsp-and-tls-sct', 'sctrs-real', 'google-cert.bin');
  for (const vector of json<RealManifest>('ocsp-and-tls-sct', 'manifest.json').tls_extension_style_scts_real) {
    const sct = parseSct(read('ocsp-and-tls-sct', 'sctrs-real', vector.sct));
    assert.equal(Buffer.from(sct.logId).toString('base64'), vector.log_id_b64);
    assert.equal(sct.timestamp, vector.timestamp_ms);
    const log = google87.logs.get(vector.log_id_b64)!;
    assert.deepEqual(verifySctSignature(sct, { type: 'x509', certificate: cert }, log.key), { ok: true });
    const wrongCert = Uint8Array.from(cert);
    wrongCert[200]! ^= 1;
    assert.equal(verifySctSignature(sct, { type: 'x509', certificate: wrongCert }, log.key).ok, false);
  }
});

interface SyntheticCase { test: string; sct_file: string; log: string; now_ms: number; expected: string }
interface SctrsManifest { sctrs_synthetic: { logs: Record<string, { spki_der_b64_DERIVED: string; log_id_b64: string }>; cases: SyntheticCase[] } }

test('rustls sct.rs synthetic cases (RSA 2048/3072/4096, ECDSA P-256/P-384) give the upstream results', () => {
  const { logs, cases } = json<SctrsManifest>('ocsp-and-tls-sct', 'manifest.json').sctrs_synthetic;
  const listJson = JSON.stringify({
    version: 'rustls-synthetic',
    log_list_timestamp: '2026-01-01T00:00:00Z',
    operators: Object.entries(logs).map(([name, log]) => ({
      name,
      logs: [{ description: name, log_id: log.log_id_b64, key: log.spki_der_b64_DERIVED, mmd: 86400, state: { usable: { timestamp: '1970-01-01T00:00:00Z' } } }],
    })),
  });
  const verifier = new CtVerifier(parseLogList(listJson));
  const cert = new TextEncoder().encode('cert');
  const statusFor: Record<string, string> = {
    'Ok(0)': 'valid',
    'Err(Error::InvalidSignature)': 'invalid-signature',
    'Err(Error::UnknownLog)': 'unknown-log',
    'Err(Error::UnsupportedSctVersion)': 'malformed',
    'Err(Error::TimestampInFuture)': 'future',
    'Err(Error::MalformedSct)': 'malformed',
  };
  for (const vector of cases) {
    const bytes = read('ocsp-and-tls-sct', 'sctrs-synthetic', vector.sct_file);
    if (vector.test === 'ecdsa_p256_short') {
      for (let length = 0; length < bytes.length; length++) {
        assert.throws(() => parseSct(bytes.subarray(0, length)), (error: unknown) => isWirelockError(error, 'ERR_SCT_MALFORMED'), `prefix ${length}`);
      }
      continue;
    }
    const [entry] = parseSctList(serializeSctList([bytes]));
    const checked = checkSct('tls', entry!, verifier.list, () => ({ type: 'x509', certificate: cert }));
    const sctStatus = judgeSct(checked, vector.now_ms, Date.now(), verifier.list).status;
    assert.equal(sctStatus, statusFor[vector.expected], `${vector.test} (${vector.expected})`);
  }
});

