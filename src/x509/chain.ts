import { parseCertificate, spkiPin } from './certificate.js';
import { pathViolation, selfSigned } from './constraints.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { createHash, X509Certificate } = process.getBuiltinModule('node:crypto');
type X509Certificate = InstanceType<typeof X509Certificate>;

/**
 * Builds certificate paths from the leaf to a trust anchor with a signature check on every link.
 * Pins and CT are evaluated on these paths, never on the list the server sent: a server can append
 * any certificate it likes to that list (CVE-2016-2402).
 */

export interface ChainCertificate {
  /** SHA-256 of the DER, hex: identity for caches. */
  fingerprint: string;
  der: Uint8Array;
  x509: X509Certificate;
  pin: string;
  subject: string;
}

export interface AnchorSet {
  /** Anchors by subject name, for issuer lookups without scanning the whole store. */
  bySubject: Map<string, ChainCertificate[]>;
  /** DER SHA-256 of every anchor, to recognize an anchor served by the peer. */
  fingerprints: Set<string>;
  der: Uint8Array[];
  size: number;
}

export type ChainResult =
  | { ok: true; path: ChainCertificate[]; paths: ChainCertificate[][] }
  | { ok: false; reason: 'untrusted' | 'expired' | 'not-yet-valid'; detail: string; expiredAt?: ChainCertificate };

const MAX_DEPTH = 8;
const MAX_PATHS = 8;
/** Caps the work a hostile served chain (many same-named certificates) can cause. */
const MAX_SIGNATURE_CHECKS = 64;

/**
 * A small bounded cache: servers present the same few certificates on every handshake, so parsing
 * and signature checks are paid once per certificate (or link), not once per connection.
 */
class BoundedCache<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly limit: number) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    if (this.#map.size >= this.limit) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, value);
  }
}

const parsedCertificates = new BoundedCache<ChainCertificate>(2048);
const verifiedLinks = new BoundedCache<boolean>(4096);

export function toChainCertificate(der: Uint8Array, x509?: X509Certificate): ChainCertificate {
  const fingerprint = createHash('sha256').update(der).digest('hex');
  const cached = parsedCertificates.get(fingerprint);
  if (cached) return cached;
  const cert = x509 ?? new X509Certificate(der);
  const entry = { fingerprint, der, x509: cert, pin: spkiPin(parseCertificate(der).spki), subject: cert.subject };
  parsedCertificates.set(fingerprint, entry);
  return entry;
}

export function buildAnchorSet(anchorsDer: Iterable<Uint8Array>): AnchorSet {
  const bySubject = new Map<string, ChainCertificate[]>();
  const fingerprints = new Set<string>();
  const allDer: Uint8Array[] = [];
  let size = 0;
  for (const der of anchorsDer) {
    let anchor: ChainCertificate;
    try {
      anchor = toChainCertificate(der);
    } catch {
      continue; // The policy validator already refused unreadable files; a broken builtin root is skipped.
    }
    if (fingerprints.has(anchor.fingerprint)) continue;
    fingerprints.add(anchor.fingerprint);
    allDer.push(der);
    size++;
    const list = bySubject.get(anchor.subject) ?? [];
    list.push(anchor);
    bySubject.set(anchor.subject, list);
  }
  return { bySubject, fingerprints, der: allDer, size };
}

function timeBounds(cert: X509Certificate): { notBefore: number; notAfter: number } {
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}

function linkVerifies(child: ChainCertificate, issuer: ChainCertificate): boolean {
  // Keyed by both certificates' full DER hashes, so a cached "true" can only be reused for the
  // very same pair of certificates.
  const key = `${child.fingerprint}|${issuer.fingerprint}`;
  let result = verifiedLinks.get(key);
  if (result === undefined) {
    try {
      result = child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.x509.publicKey);
    } catch {
      result = false;
    }
    verifiedLinks.set(key, result);
  }
  return result;
}

/**
 * `served` is the peer's certificate list (leaf first, any order after); `anchors` the domain's
 * trust set. Returns every verified path (up to a small cap), the shortest first.
 */
export function buildVerifiedChains(served: ChainCertificate[], anchors: AnchorSet, now: Date): ChainResult {
  const leaf = served[0];
  if (!leaf) return { ok: false, reason: 'untrusted', detail: 'the server sent no certificate' };
  const intermediates = served.slice(1);
  const paths: ChainCertificate[][] = [];
  let signatureChecks = 0;
  let expired: ChainCertificate | undefined;
  let notYetValid: ChainCertificate | undefined;
  let refused: string | undefined;
  const at = now.getTime();

  const isAnchor = (cert: ChainCertificate): boolean => anchors.fingerprints.has(cert.fingerprint);

  const extend = (path: ChainCertificate[]): void => {
    if (paths.length >= MAX_PATHS || signatureChecks > MAX_SIGNATURE_CHECKS) return;
    const current = path[path.length - 1]!;
    const { notBefore, notAfter } = timeBounds(current.x509);
    if (at > notAfter) {
      expired ??= current;
      return;
    }
    if (at < notBefore) {
      notYetValid ??= current;
      return;
    }
    if (isAnchor(current)) {
      // As OpenSSL builds it: the path ends at a self-signed anchor (an anchor that is not, or whose
      // key identifiers do not match itself, would send OpenSSL looking for its issuer), and it must
      // satisfy RFC 5280's constraints; otherwise no pin may be matched on it.
      const problem = selfSigned(current.der, current.subject, current.x509.issuer) ? pathViolation(path.map((cert) => ({ der: cert.der, subject: cert.subject, issuer: cert.x509.issuer }))) : `the trust anchor "${current.subject}" is not self-signed`;
      if (problem) refused ??= problem;
      else paths.push(path);
      return;
    }
    if (path.length >= MAX_DEPTH) return;
    const candidates = [...(anchors.bySubject.get(current.x509.issuer) ?? []), ...intermediates.filter((cert) => cert.subject === current.x509.issuer)];
    for (const issuer of candidates) {
      if (path.some((cert) => cert.pin === issuer.pin && cert.subject === issuer.subject)) continue;
      // Only CA certificates may issue; anchors are trusted as configured (v1 roots have no basicConstraints).
      if (!isAnchor(issuer) && !issuer.x509.ca) continue;
      signatureChecks++;
      if (!linkVerifies(current, issuer)) continue;
      extend([...path, issuer]);
    }
  };
  extend([leaf]);

  if (paths.length > 0) {
    paths.sort((a, b) => a.length - b.length);
    return { ok: true, path: paths[0]!, paths };
  }
  if (refused) {
    return { ok: false, reason: 'untrusted', detail: `no path from "${leaf.subject}" satisfies RFC 5280: ${refused}` };
  }
  if (expired) {
    return { ok: false, reason: 'expired', detail: `certificate "${expired.subject}" expired on ${expired.x509.validTo}`, expiredAt: expired };
  }
  if (notYetValid) {
    return { ok: false, reason: 'not-yet-valid', detail: `certificate "${notYetValid.subject}" is not valid before ${notYetValid.x509.validFrom}`, expiredAt: notYetValid };
  }
  return {
    ok: false,
    reason: 'untrusted',
    detail: `no path with valid signatures from "${leaf.subject}" to one of the ${anchors.size} trust anchors of this host`,
  };
}
