import { parseCertificate } from './certificate.js';
import { children, content, decodeOid, encoded, parseDer, TAG, type DerNode } from './der.js';

/**
 * The RFC 5280 path checks that OpenSSL (the validator of every Node handshake) applies beyond
 * signatures and validity: basic constraints and path length, issuer key usage, extended key usage
 * for a TLS server, name constraints, and critical extensions. Pins are only ever matched on a path
 * that passes these, so a pin cannot "match" on a path the handshake's own validator refuses.
 *
 * What is not implemented is refused, never ignored (fail closed): certificate-policy processing
 * (policyConstraints, policyMappings, inhibitAnyPolicy below the anchor), name constraints on
 * directory names, e-mail, URI or other name forms, and subtrees with minimum/maximum.
 * Pure: no I/O, DER in, a reason or undefined out.
 */

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  policyConstraints: '2.5.29.36',
  policyMappings: '2.5.29.33',
  inhibitAnyPolicy: '2.5.29.54',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

/** Extensions whose meaning this module enforces, so they may be critical. */
const UNDERSTOOD = new Set<string>([OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectAltName, OID.nameConstraints]);
const POLICY_PROCESSING = new Set<string>([OID.policyConstraints, OID.policyMappings, OID.inhibitAnyPolicy]);

// KeyUsage bits (RFC 5280 4.2.1.3), as masks over the first two bytes of the BIT STRING.
const KU = { digitalSignature: 0x8000, keyEncipherment: 0x2000, keyAgreement: 0x0800, keyCertSign: 0x0400 } as const;

interface Subtree {
  kind: 'dns' | 'ip' | 'unsupported';
  /** dns: the constraint name; ip: address bytes followed by mask bytes. */
  dns?: string;
  ip?: Uint8Array;
  describe: string;
}

export interface CertificateConstraints {
  /** Set when the extensions cannot be read or are inconsistent: such a certificate is on no path. */
  malformed: string | undefined;
  ca: boolean;
  pathLen: number | undefined;
  /** 16 bits of KeyUsage, undefined when the extension is absent. */
  keyUsage: number | undefined;
  extKeyUsage: string[] | undefined;
  dnsNames: string[];
  ipAddresses: Uint8Array[];
  /** SAN entries of other forms (e-mail, URI, directory name, ...), by description. */
  otherNames: string[];
  hasSan: boolean;
  permitted: Subtree[] | undefined;
  excluded: Subtree[] | undefined;
  unknownCritical: string[];
  policyProcessing: string[];
  selfIssued: boolean;
  commonNames: string[];
}

const cache = new WeakMap<Uint8Array, CertificateConstraints>();

function readGeneralName(node: DerNode): { kind: 'dns'; value: string } | { kind: 'ip'; value: Uint8Array } | { kind: 'other'; value: string } {
  switch (node.tag) {
    case 0x82:
      return { kind: 'dns', value: Buffer.from(content(node)).toString('latin1') };
    case 0x87:
      return { kind: 'ip', value: content(node) };
    case 0x81:
      return { kind: 'other', value: 'rfc822Name' };
    case 0x86:
      return { kind: 'other', value: 'uniformResourceIdentifier' };
    case 0xa4:
      return { kind: 'other', value: 'directoryName' };
    default:
      return { kind: 'other', value: `GeneralName tag 0x${node.tag.toString(16)}` };
  }
}

function readSubtrees(node: DerNode): Subtree[] {
  return children(node).map((subtree) => {
    const [base, ...rest] = children(subtree);
    if (!base) throw new Error('empty GeneralSubtree');
    // minimum other than the default 0, or any maximum: RFC 5280 says they MUST NOT be used; refused.
    if (rest.length > 0) return { kind: 'unsupported', describe: 'a subtree with minimum/maximum' };
    const name = readGeneralName(base);
    if (name.kind === 'dns') return { kind: 'dns', dns: name.value.toLowerCase(), describe: `dNSName "${name.value}"` };
    if (name.kind === 'ip') {
      if (name.value.length !== 8 && name.value.length !== 32) throw new Error(`iPAddress constraint of ${name.value.length} bytes`);
      return { kind: 'ip', ip: name.value, describe: 'iPAddress subtree' };
    }
    return { kind: 'unsupported', describe: name.value };
  });
}

export function certificateConstraints(der: Uint8Array, subject: string, issuer: string): CertificateConstraints {
  const cached = cache.get(der);
  if (cached) return cached;
  const result: CertificateConstraints = {
    malformed: undefined,
    ca: false,
    pathLen: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    dnsNames: [],
    ipAddresses: [],
    otherNames: [],
    hasSan: false,
    permitted: undefined,
    excluded: undefined,
    unknownCritical: [],
    policyProcessing: [],
    selfIssued: subject === issuer,
    commonNames: subject.split('\n').filter((line) => line.startsWith('CN=')).map((line) => line.slice(3)),
  };
  try {
    const seen = new Set<string>();
    for (const extension of parseCertificate(der).extensions) {
      if (seen.has(extension.oid)) throw new Error(`extension ${extension.oid} appears twice`);
      seen.add(extension.oid);
      if (extension.critical && !UNDERSTOOD.has(extension.oid)) result.unknownCritical.push(extension.oid);
      if (POLICY_PROCESSING.has(extension.oid)) result.policyProcessing.push(extension.oid);
      const value = extension.oid === OID.keyUsage ? undefined : UNDERSTOOD.has(extension.oid) ? parseDer(extension.value) : undefined;
      switch (extension.oid) {
        case OID.basicConstraints: {
          const fields = children(value!);
          let index = 0;
          if (fields[index]?.tag === TAG.BOOLEAN) result.ca = content(fields[index++]!)[0] !== 0;
          const pathLen = fields[index];
          if (pathLen) {
            if (pathLen.tag !== TAG.INTEGER) throw new Error('pathLenConstraint is not an INTEGER');
            const bytes = content(pathLen);
            if (bytes.length > 4 || (bytes[0]! & 0x80) !== 0) throw new Error('pathLenConstraint out of range');
            result.pathLen = bytes.reduce((sum, byte) => sum * 256 + byte, 0);
          }
          break;
        }
        case OID.keyUsage: {
          const bits = content(parseDer(extension.value));
          if (parseDer(extension.value).tag !== TAG.BIT_STRING || bits.length < 2) throw new Error('keyUsage is not a BIT STRING');
          result.keyUsage = (bits[1]! << 8) | (bits[2] ?? 0);
          break;
        }
        case OID.extKeyUsage:
          result.extKeyUsage = children(value!).map((node) => decodeOid(node));
          break;
        case OID.subjectAltName:
          result.hasSan = true;
          for (const node of children(value!)) {
            const name = readGeneralName(node);
            if (name.kind === 'dns') result.dnsNames.push(name.value);
            else if (name.kind === 'ip') result.ipAddresses.push(name.value);
            else result.otherNames.push(name.value);
          }
          break;
        case OID.nameConstraints:
          for (const node of children(value!)) {
            if (node.tag === 0xa0) result.permitted = readSubtrees(node);
            else if (node.tag === 0xa1) result.excluded = readSubtrees(node);
            else throw new Error(`unexpected field 0x${node.tag.toString(16)} in nameConstraints`);
          }
          break;
      }
    }
  } catch (error) {
    result.malformed = (error as Error).message;
  }
  cache.set(der, result);
  return result;
}

/** RFC 5280 4.2.1.10 dNSName matching (a leading "." means subdomains only, as OpenSSL accepts). */
function dnsWithin(name: string, constraint: string): boolean {
  const host = name.toLowerCase().replace(/\.$/, '');
  if (constraint === '') return true;
  if (constraint.startsWith('.')) return host.endsWith(constraint);
  return host === constraint || host.endsWith(`.${constraint}`);
}

function ipWithin(address: Uint8Array, subtree: Uint8Array): boolean {
  const length = subtree.length / 2;
  if (address.length !== length) return false;
  for (let i = 0; i < length; i++) if ((address[i]! & subtree[length + i]!) !== (subtree[i]! & subtree[length + i]!)) return false;
  return true;
}

const VALID_DNS = /^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

/** The first name of `cert` the name constraints of `ca` refuse, described; undefined when all pass. */
function nameConstraintViolation(ca: CertificateConstraints, cert: CertificateConstraints, isLeaf: boolean): string | undefined {
  const subtrees = [...(ca.permitted ?? []), ...(ca.excluded ?? [])];
  const unsupported = subtrees.find((subtree) => subtree.kind === 'unsupported');
  if (unsupported) return `name constraints on ${unsupported.describe} are not supported (refused, not ignored)`;
  // A leaf without DNS SANs is matched by its common name (Node then checks the CN as host name).
  const dnsNames = cert.dnsNames.length > 0 || !isLeaf ? cert.dnsNames : cert.commonNames;
  if (cert.otherNames.length > 0 && subtrees.length > 0) {
    return `the certificate has ${cert.otherNames[0]} names, which wirelock cannot check against name constraints`;
  }
  for (const name of dnsNames) {
    if (!VALID_DNS.test(name)) return `"${name}" is not a valid DNS name under name constraints`;
    const permitted = ca.permitted?.filter((subtree) => subtree.kind === 'dns');
    if (permitted && permitted.length > 0 && !permitted.some((subtree) => dnsWithin(name, subtree.dns!))) return `"${name}" is outside the permitted DNS subtrees`;
    const excluded = ca.excluded?.find((subtree) => subtree.kind === 'dns' && dnsWithin(name, subtree.dns!));
    if (excluded) return `"${name}" is in the excluded subtree ${excluded.describe}`;
  }
  for (const address of cert.ipAddresses) {
    if (address.length !== 4 && address.length !== 16) return `an iPAddress SAN of ${address.length} bytes is invalid`;
    const permitted = ca.permitted?.filter((subtree) => subtree.kind === 'ip');
    if (permitted && permitted.length > 0 && !permitted.some((subtree) => ipWithin(address, subtree.ip!))) return 'an IP address SAN is outside the permitted subtrees';
    if (ca.excluded?.some((subtree) => subtree.kind === 'ip' && ipWithin(address, subtree.ip!))) return 'an IP address SAN is in an excluded subtree';
  }
  return undefined;
}

export interface PathCertificate {
  der: Uint8Array;
  subject: string;
  issuer: string;
}

/**
 * Why `path` (leaf first, trust anchor last) is not a valid TLS server path, or undefined when it is.
 * The anchor is trusted as configured for its name and key (v1 roots have no extensions), but its
 * constraints (path length, name constraints, key and extended key usage) apply as OpenSSL applies them.
 */
export function pathViolation(path: readonly PathCertificate[]): string | undefined {
  const info = path.map((cert) => certificateConstraints(cert.der, cert.subject, cert.issuer));
  const label = (index: number): string => `"${path[index]!.subject.replace(/\n/g, ', ')}"${index === 0 ? ' (leaf)' : index === path.length - 1 ? ' (anchor)' : ''}`;
  const anchor = path.length - 1;
  for (let index = 0; index < path.length; index++) {
    const cert = info[index]!;
    if (cert.malformed) return `${label(index)} has unreadable extensions: ${cert.malformed}`;
    if (cert.unknownCritical.length > 0) return `${label(index)} has a critical extension wirelock does not process (${cert.unknownCritical.join(', ')})`;
    if (index > 0 && index < anchor && cert.policyProcessing.length > 0) {
      return `${label(index)} carries certificate-policy constraints (${cert.policyProcessing.join(', ')}), which wirelock does not evaluate (refused, not ignored)`;
    }
    if (path[index]!.subject === '' || path[index]!.issuer === '') return `${label(index)} has an empty name`;
  }
  const leaf = info[0]!;
  if (leaf.keyUsage !== undefined && (leaf.keyUsage & (KU.digitalSignature | KU.keyEncipherment | KU.keyAgreement)) === 0) {
    return `${label(0)} key usage does not allow a TLS server (digitalSignature, keyEncipherment or keyAgreement)`;
  }
  if (leaf.extKeyUsage && !leaf.extKeyUsage.includes(OID.serverAuth)) return `${label(0)} extended key usage does not include serverAuth`;
  // Issuers: CA flag (anchors excepted: v1 roots), keyCertSign, serverAuth when EKU is present, path length.
  let intermediatesBelow = 0;
  for (let index = 1; index < path.length; index++) {
    const cert = info[index]!;
    if (index < anchor && !cert.ca) return `${label(index)} is not a CA`;
    if (cert.keyUsage !== undefined && (cert.keyUsage & KU.keyCertSign) === 0) return `${label(index)} key usage does not allow signing certificates`;
    if (cert.extKeyUsage && !cert.extKeyUsage.includes(OID.serverAuth)) return `${label(index)} extended key usage does not include serverAuth`;
    if (cert.pathLen !== undefined && intermediatesBelow > cert.pathLen) return `${label(index)} allows ${cert.pathLen} intermediate(s) below it, the path has ${intermediatesBelow}`;
    // RFC 5280 6.1.4 (l): self-issued certificates do not count against path length.
    if (!cert.selfIssued) intermediatesBelow++;
  }
  // Name constraints of every CA apply to every certificate below it; RFC 5280 6.1.3 (b) exempts
  // self-issued intermediates, never the leaf.
  for (let index = 1; index < path.length; index++) {
    const ca = info[index]!;
    if (!ca.permitted && !ca.excluded) continue;
    for (let below = 0; below < index; below++) {
      if (below > 0 && info[below]!.selfIssued) continue;
      const violation = nameConstraintViolation(ca, info[below]!, below === 0);
      if (violation) return `${label(below)}: ${violation} (name constraints of ${label(index)})`;
    }
  }
  return undefined;
}

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, index) => byte === b[index]);
const selfSignedCache = new WeakMap<Uint8Array, boolean>();

/**
 * Whether OpenSSL takes `der` for a self-signed certificate, i.e. the end of a chain (its
 * X509_self_signed without the signature): the same name as issuer and subject, and an authority key
 * identifier (if any) that names the certificate itself. A trust anchor that is not one sends
 * OpenSSL looking for its issuer, so no path may end there.
 */
export function selfSigned(der: Uint8Array, subject: string, issuer: string): boolean {
  const cached = selfSignedCache.get(der);
  if (cached !== undefined) return cached;
  let result = subject === issuer;
  if (result) {
    try {
      const parts = parseCertificate(der);
      const hasVersion = parts.tbsFields[0]?.tag === 0xa0;
      const serial = content(parts.tbsFields[hasVersion ? 1 : 0]!);
      const issuerName = encoded(parts.tbsFields[hasVersion ? 3 : 2]!);
      const ski = parts.extensions.find((extension) => extension.oid === OID.subjectKeyIdentifier);
      const aki = parts.extensions.find((extension) => extension.oid === OID.authorityKeyIdentifier);
      if (aki) {
        for (const field of children(parseDer(aki.value))) {
          if (field.tag === 0x80 && ski && !bytesEqual(content(field), content(parseDer(ski.value)))) result = false;
          if (field.tag === 0x82 && !bytesEqual(content(field), serial)) result = false;
          if (field.tag === 0xa1) {
            const names = children(field);
            const directory = names.find((name) => name.tag === 0xa4);
            if (!directory || !bytesEqual(encoded(children(directory)[0]!), issuerName)) result = false;
          }
        }
      }
    } catch {
      result = false;
    }
  }
  selfSignedCache.set(der, result);
  return result;
}
