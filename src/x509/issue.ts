import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  boolean,
  concat,
  explicit,
  ia5,
  integer,
  octetString,
  oid,
  seq,
  set,
  time,
  tlv,
  utf8,
  nullValue,
} from './der.js';
import { parseCertificate, toPem } from './certificate.js';

/**
 * Issues real X.509 certificates with node:crypto keys. Used by the attack lab (fresh keys every
 * run), by the CT test-log tooling and by tests, so nothing that expires is ever checked in.
 */

export type KeyAlgorithm = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'ed25519';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  algorithm: KeyAlgorithm;
}

export function generateKeys(algorithm: KeyAlgorithm = 'ec-p256'): KeyPair {
  switch (algorithm) {
    case 'ec-p256':
      return { ...generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), algorithm };
    case 'ec-p384':
      return { ...generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), algorithm };
    case 'rsa-2048':
      return { ...generateKeyPairSync('rsa', { modulusLength: 2048 }), algorithm };
    case 'ed25519':
      return { ...generateKeyPairSync('ed25519'), algorithm };
  }
}

export interface RawExtension {
  oid: string;
  critical?: boolean;
  /** DER that goes inside the extnValue OCTET STRING. */
  value: Uint8Array;
}

export interface CertificateRequest {
  subject: { commonName: string; organization?: string };
  keys: KeyPair;
  /** Issuer certificate and key; omitted for a self-signed certificate. */
  issuer?: IssuedCertificate;
  dnsNames?: string[];
  ipAddresses?: string[];
  notBefore?: Date;
  notAfter?: Date;
  isCA?: boolean;
  pathLength?: number;
  serial?: bigint;
  extensions?: RawExtension[];
  /** Signature digest; SHA-256 unless the lab wants something else. */
  hash?: 'sha256' | 'sha384';
}

export interface IssuedCertificate {
  der: Uint8Array;
  pem: string;
  keys: KeyPair;
  subjectName: Uint8Array;
  /** PKCS#8 PEM of the private key, ready for tls.createServer({ key }). */
  keyPem: string;
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  rsaSha256: '1.2.840.113549.1.1.11',
  rsaSha384: '1.2.840.113549.1.1.12',
  ed25519: '1.3.101.112',
} as const;

function name(subject: CertificateRequest['subject']): Uint8Array {
  const rdns = [set(seq(oid(OID.commonName), utf8(subject.commonName)))];
  if (subject.organization) rdns.unshift(set(seq(oid(OID.organization), utf8(subject.organization))));
  return seq(...rdns);
}

function signatureAlgorithm(keys: KeyPair, hash: 'sha256' | 'sha384'): Uint8Array {
  if (keys.algorithm === 'ed25519') return seq(oid(OID.ed25519));
  if (keys.algorithm === 'rsa-2048') return seq(oid(hash === 'sha256' ? OID.rsaSha256 : OID.rsaSha384), nullValue());
  return seq(oid(hash === 'sha256' ? OID.ecdsaSha256 : OID.ecdsaSha384));
}

function extension(extOid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(extOid), boolean(true), octetString(value)) : seq(oid(extOid), octetString(value));
}

function spkiOf(keys: KeyPair): Uint8Array {
  return new Uint8Array(keys.publicKey.export({ type: 'spki', format: 'der' }));
}

function keyIdentifier(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki).digest());
}

function ipBytes(address: string): Uint8Array {
  if (isIP(address) === 4) return Uint8Array.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...headParts, ...Array(8 - headParts.length - tailParts.length).fill('0'), ...tailParts]
    : headParts;
  return Uint8Array.from(groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  }));
}

/** Builds the DER TBSCertificate; `extensions` are already-encoded Extension SEQUENCEs. */
export function buildTbsCertificate(request: CertificateRequest): { tbs: Uint8Array; signatureAlgorithm: Uint8Array } {
  const issuerKeys = request.issuer?.keys ?? request.keys;
  const hash = request.hash ?? 'sha256';
  const sigAlg = signatureAlgorithm(issuerKeys, hash);
  const spki = spkiOf(request.keys);
  const now = Date.now();
  const notBefore = request.notBefore ?? new Date(now - 60 * 60 * 1000);
  const notAfter = request.notAfter ?? new Date(now + 30 * 24 * 60 * 60 * 1000);
  const serial = request.serial ?? BigInt(`0x${randomBytes(16).toString('hex')}`) >> 1n;

  const exts: Uint8Array[] = [];
  if (request.isCA) {
    const constraints = request.pathLength === undefined ? [boolean(true)] : [boolean(true), integer(request.pathLength)];
    exts.push(extension(OID.basicConstraints, true, seq(...constraints)));
    // keyCertSign | cRLSign
    exts.push(extension(OID.keyUsage, true, tlv(0x03, Uint8Array.of(1, 0x06))));
  } else {
    exts.push(extension(OID.basicConstraints, true, seq()));
    const usage = request.keys.algorithm === 'rsa-2048' ? 0xa0 : 0x80; // digitalSignature (+ keyEncipherment for RSA)
    exts.push(extension(OID.keyUsage, true, tlv(0x03, Uint8Array.of(5, usage))));
    exts.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
  }
  exts.push(extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))));
  const issuerSpki = request.issuer ? parseCertificate(request.issuer.der).spki : spki;
  exts.push(extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyIdentifier(issuerSpki)))));
  const altNames = [
    ...(request.dnsNames ?? []).map((dns) => tlv(0x82, ia5(dns).subarray(2))),
    ...(request.ipAddresses ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  if (altNames.length > 0) exts.push(extension(OID.subjectAltName, false, seq(...altNames)));
  for (const raw of request.extensions ?? []) exts.push(extension(raw.oid, raw.critical ?? false, raw.value));

  const tbs = seq(
    explicit(0, integer(2)),
    integer(serial),
    sigAlg,
    request.issuer ? request.issuer.subjectName : name(request.subject),
    seq(time(notBefore), time(notAfter)),
    name(request.subject),
    spki,
    explicit(3, seq(...exts)),
  );
  return { tbs, signatureAlgorithm: sigAlg };
}

export function signTbs(tbs: Uint8Array, sigAlg: Uint8Array, signer: KeyPair, hash: 'sha256' | 'sha384' = 'sha256'): Uint8Array {
  const signature = sign(signer.algorithm === 'ed25519' ? null : hash, tbs, signer.privateKey);
  return seq(tbs, sigAlg, bitString(new Uint8Array(signature)));
}

export function issueCertificate(request: CertificateRequest): IssuedCertificate {
  const { tbs, signatureAlgorithm: sigAlg } = buildTbsCertificate(request);
  const der = signTbs(tbs, sigAlg, request.issuer?.keys ?? request.keys, request.hash ?? 'sha256');
  return {
    der,
    pem: toPem(der),
    keys: request.keys,
    subjectName: name(request.subject),
    keyPem: request.keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Convenience for the common lab/test shape: a root CA, an intermediate and a leaf. */
export function issueChain(options: {
  hostnames: string[];
  rootName?: string;
  keyAlgorithm?: KeyAlgorithm;
  leafNotAfter?: Date;
  leafNotBefore?: Date;
  leafExtensions?: RawExtension[];
}): { root: IssuedCertificate; intermediate: IssuedCertificate; leaf: IssuedCertificate } {
  const algorithm = options.keyAlgorithm ?? 'ec-p256';
  const rootName = options.rootName ?? 'wirelock test root';
  const root = issueCertificate({ subject: { commonName: rootName }, keys: generateKeys(algorithm), isCA: true, notAfter: new Date(Date.now() + 365 * 864e5) });
  const intermediate = issueCertificate({
    subject: { commonName: `${rootName} intermediate` },
    keys: generateKeys(algorithm),
    issuer: root,
    isCA: true,
    pathLength: 0,
    notAfter: new Date(Date.now() + 180 * 864e5),
  });
  const dnsNames = options.hostnames.filter((host) => isIP(host) === 0);
  const ipAddresses = options.hostnames.filter((host) => isIP(host) !== 0);
  const leaf = issueCertificate({
    subject: { commonName: options.hostnames[0] ?? 'localhost' },
    keys: generateKeys(algorithm),
    issuer: intermediate,
    dnsNames,
    ipAddresses,
    ...(options.leafNotAfter ? { notAfter: options.leafNotAfter } : {}),
    ...(options.leafNotBefore ? { notBefore: options.leafNotBefore } : {}),
    ...(options.leafExtensions ? { extensions: options.leafExtensions } : {}),
  });
  return { root, intermediate, leaf };
}

export { concat };
