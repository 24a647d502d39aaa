import { WirelockError } from '../errors.js';
import { children, decodeOid, encoded, expectTag, parseDer, TAG, type DerNode, content } from './der.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { createHash, X509Certificate } = process.getBuiltinModule('node:crypto');
type X509Certificate = InstanceType<typeof X509Certificate>;

/** The parts of a certificate that pinning and CT need, taken from the exact DER bytes. */
export interface CertificateParts {
  der: Uint8Array;
  /** The TBSCertificate element, tag and length included. */
  tbs: DerNode;
  /** The children of TBSCertificate. */
  tbsFields: DerNode[];
  /** The SubjectPublicKeyInfo element exactly as encoded in the certificate. */
  spki: Uint8Array;
  extensions: Extension[];
  /** The [3] EXPLICIT wrapper of the extensions, when present. */
  extensionsField: DerNode | undefined;
}

export interface Extension {
  oid: string;
  critical: boolean;
  /** Content of the extnValue OCTET STRING. */
  value: Uint8Array;
  /** The whole Extension SEQUENCE. */
  node: DerNode;
}

export function parseCertificate(der: Uint8Array): CertificateParts {
  try {
    const cert = expectTag(parseDer(der), TAG.SEQUENCE, 'Certificate');
    const [tbs] = children(cert);
    if (!tbs) throw new WirelockError('ERR_CERT_MALFORMED', 'certificate has no TBSCertificate');
    expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate');
    const tbsFields = children(tbs);
    const hasVersion = tbsFields[0]?.tag === 0xa0;
    const spkiNode = tbsFields[(hasVersion ? 1 : 0) + 5];
    if (!spkiNode) throw new WirelockError('ERR_CERT_MALFORMED', 'TBSCertificate has no subjectPublicKeyInfo');
    expectTag(spkiNode, TAG.SEQUENCE, 'SubjectPublicKeyInfo');
    const extensionsField = tbsFields.find((field) => field.tag === 0xa3);
    const extensions: Extension[] = [];
    if (extensionsField) {
      const [list] = children(extensionsField);
      if (!list) throw new WirelockError('ERR_CERT_MALFORMED', 'empty extensions field');
      for (const node of children(expectTag(list, TAG.SEQUENCE, 'Extensions'))) {
        const parts = children(expectTag(node, TAG.SEQUENCE, 'Extension'));
        const extOid = decodeOid(parts[0] ?? node);
        const critical = parts.length === 3 && parts[1]!.tag === TAG.BOOLEAN && content(parts[1]!)[0] !== 0;
        const valueNode = parts[parts.length - 1];
        if (!valueNode || parts.length < 2) throw new WirelockError('ERR_CERT_MALFORMED', `extension ${extOid} has no value`);
        extensions.push({ oid: extOid, critical, value: content(expectTag(valueNode, TAG.OCTET_STRING, 'extnValue')), node });
      }
    }
    return { der, tbs, tbsFields, spki: encoded(spkiNode), extensions, extensionsField };
  } catch (error) {
    if (error instanceof WirelockError && error.code === 'ERR_CERT_MALFORMED') throw error;
    throw new WirelockError('ERR_CERT_MALFORMED', `not a DER X.509 certificate: ${(error as Error).message}`, {}, { cause: error });
  }
}

/** `sha256/<base64>` of the DER SubjectPublicKeyInfo, the format of OkHttp, TrustKit and HPKP. */
export function spkiPin(spkiDer: Uint8Array): string {
  return `sha256/${createHash('sha256').update(spkiDer).digest('base64')}`;
}

export function certificatePin(cert: Uint8Array | X509Certificate): string {
  return spkiPin(parseCertificate(cert instanceof X509Certificate ? new Uint8Array(cert.raw) : cert).spki);
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block of the given label (CERTIFICATE by default) as DER. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] === label) out.push(new Uint8Array(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const body = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/**
 * Reads certificates from a file's bytes: PEM (any number of blocks) or a single DER certificate.
 * `source` names the file in errors.
 */
export function readCertificates(bytes: Uint8Array, source: string): Uint8Array[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.includes('-----BEGIN')) {
    const blocks = pemBlocks(text);
    if (blocks.length === 0) throw new WirelockError('ERR_CERT_MALFORMED', noCertificateMessage(text, source), { file: source });
    blocks.forEach((der, index) => checkCertificate(der, `${source} (certificate #${index + 1})`));
    return blocks;
  }
  checkCertificate(bytes, source);
  return [bytes];
}

/** Names what the PEM file holds instead of a certificate, and how to get its pin anyway. */
function noCertificateMessage(text: string, source: string): string {
  const labels = [...new Set([...text.matchAll(PEM_BLOCK)].map((match) => match[1]!))];
  if (labels.some((label) => /CERTIFICATE REQUEST/.test(label))) {
    return `${source}: holds a certificate signing request (CSR), not a certificate. Its public key is what you pin: \`openssl req -in ${source} -pubkey -noout > pub.pem\`, then \`wirelock pin --cert pub.pem\``;
  }
  const privateKey = labels.find((label) => /PRIVATE KEY/.test(label));
  if (privateKey) {
    return `${source}: holds a private key (${privateKey}), not a certificate. Pin its public key: \`openssl pkey -in ${source} -pubout -out pub.pem\`, then \`wirelock pin --cert pub.pem\` (never ship the private key)`;
  }
  return `${source}: no CERTIFICATE block in PEM file${labels.length > 0 ? ` (found ${labels.join(', ')})` : ''}`;
}

function checkCertificate(der: Uint8Array, source: string): void {
  try {
    parseCertificate(der);
    new X509Certificate(der);
  } catch (error) {
    throw new WirelockError('ERR_CERT_MALFORMED', `${source}: not a valid X.509 certificate (${(error as Error).message})`, {
      file: source,
    });
  }
}

export interface KeyPinEntry {
  pin: string;
  /** Subject of the certificate, absent for a bare public key. */
  subject: string | undefined;
  issuer: string | undefined;
  der: Uint8Array | undefined;
}

/**
 * Pins of everything in a file: PEM certificates, PEM public keys (SubjectPublicKeyInfo), or one
 * DER certificate. For `wirelock pin --cert`.
 */
export function pinsFromFile(bytes: Uint8Array, source: string): KeyPinEntry[] {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.includes('-----BEGIN PUBLIC KEY-----') && !text.includes('-----BEGIN CERTIFICATE-----')) {
    return pemBlocks(text, 'PUBLIC KEY').map((spki) => ({ pin: spkiPin(spki), subject: undefined, issuer: undefined, der: undefined }));
  }
  return readCertificates(bytes, source).map((der) => {
    const cert = new X509Certificate(der);
    return { pin: spkiPin(parseCertificate(der).spki), subject: cert.subject, issuer: cert.issuer, der };
  });
}
