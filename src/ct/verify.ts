import type { KeyObject } from 'node:crypto';
import { parseCertificate } from '../x509/certificate.js';
import { encoded, explicit, seq, tlv } from '../x509/der.js';
import { encodeU16, encodeU64, HASH_SHA256, HASH_SHA384, joinBytes, OID_EMBEDDED_SCT_LIST, OID_PRECERT_POISON, SIG_ECDSA, SIG_RSA, type Sct } from './sct.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { createHash, verify: cryptoVerify } = process.getBuiltinModule('node:crypto');

/**
 * What an SCT signs (RFC 6962 section 3.2) and the check of that signature with a log's key.
 * Pure: no I/O, no clock.
 */

export type SignedEntry =
  | { type: 'x509'; certificate: Uint8Array }
  | { type: 'precert'; issuerKeyHash: Uint8Array; tbs: Uint8Array };

function u24(value: number): Uint8Array {
  return Uint8Array.of((value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

/** The digitally-signed struct of an SCT v1 over `entry`. */
export function signedData(sct: Pick<Sct, 'version' | 'timestamp' | 'extensions'>, entry: SignedEntry): Uint8Array {
  const entryBytes =
    entry.type === 'x509'
      ? [encodeU16(0), u24(entry.certificate.length), entry.certificate]
      : [encodeU16(1), entry.issuerKeyHash, u24(entry.tbs.length), entry.tbs];
  return joinBytes([
    Uint8Array.of(sct.version, 0 /* certificate_timestamp */),
    encodeU64(sct.timestamp),
    ...entryBytes,
    encodeU16(sct.extensions.length),
    sct.extensions,
  ]);
}

/**
 * The TBSCertificate a precertificate SCT signs: the final certificate's TBS with the SCT list
 * extension (and a poison extension, for a precertificate) removed, re-encoded in DER.
 */
export function precertTbs(certificateDer: Uint8Array): Uint8Array {
  const parts = parseCertificate(certificateDer);
  const fields = parts.tbsFields.flatMap((field) => {
    if (field !== parts.extensionsField) return [encoded(field)];
    const kept = parts.extensions.filter((ext) => ext.oid !== OID_EMBEDDED_SCT_LIST && ext.oid !== OID_PRECERT_POISON);
    return kept.length === 0 ? [] : [explicit(3, seq(...kept.map((ext) => encoded(ext.node))))];
  });
  return tlv(0x30, ...fields);
}

export function issuerKeyHash(issuerDer: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(parseCertificate(issuerDer).spki).digest());
}

/** The signed entry for SCTs embedded in `leafDer`, issued by `issuerDer`. */
export function precertEntry(leafDer: Uint8Array, issuerDer: Uint8Array): SignedEntry {
  return { type: 'precert', issuerKeyHash: issuerKeyHash(issuerDer), tbs: precertTbs(leafDer) };
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Which hash/signature pairs a log key may use: RFC 6962 section 2.1.4 (P-256 or RSA with SHA-256),
 * plus P-384 and RSA with SHA-384 as rustls' sct crate accepts.
 */
function expectedAlgorithms(key: KeyObject): { signature: number; hashes: number[] } | undefined {
  if (key.asymmetricKeyType === 'rsa') return { signature: SIG_RSA, hashes: [HASH_SHA256, HASH_SHA384] };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { signature: SIG_ECDSA, hashes: [HASH_SHA256] };
    if (curve === 'secp384r1') return { signature: SIG_ECDSA, hashes: [HASH_SHA384] };
  }
  return undefined;
}

export function verifySctSignature(sct: Sct, entry: SignedEntry, logKey: KeyObject): SignatureCheck {
  const expected = expectedAlgorithms(logKey);
  if (!expected) return { ok: false, reason: `log key type ${logKey.asymmetricKeyType} is not an RFC 6962 log key` };
  if (sct.signatureAlgorithm !== expected.signature || !expected.hashes.includes(sct.hashAlgorithm)) {
    return { ok: false, reason: `signature algorithm (hash ${sct.hashAlgorithm}, signature ${sct.signatureAlgorithm}) does not match the log's key` };
  }
  const hash = sct.hashAlgorithm === HASH_SHA384 ? 'sha384' : 'sha256';
  let valid: boolean;
  try {
    valid = cryptoVerify(hash, signedData(sct, entry), logKey, sct.signature);
  } catch {
    // OpenSSL refuses some garbage signatures (bad DER) by throwing; that is a bad signature too.
    valid = false;
  }
  return valid ? { ok: true } : { ok: false, reason: 'signature does not verify with the log key' };
}
