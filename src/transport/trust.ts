import tls from 'node:tls';
import { pemBlocks, toPem } from '../x509/certificate.js';
import { buildAnchorSet, type AnchorSet } from '../x509/chain.js';
import type { TrustAnchorSource } from '../policy/types.js';

/**
 * The trust material of one trust-anchor list, computed once and shared by every connection that
 * uses it. "builtin" is `tls.rootCertificates`: the Mozilla roots compiled into Node, which neither
 * NODE_EXTRA_CA_CERTS, --use-system-ca, --use-openssl-ca nor tls.setDefaultCACertificates() change.
 */
export interface TrustMaterial {
  /** PEM list for the `ca` option of tls.connect (replaces Node's default store entirely). */
  caPem: string[];
  anchors: AnchorSet;
}

const cache = new WeakMap<readonly TrustAnchorSource[], TrustMaterial>();
let builtinDer: Uint8Array[] | undefined;

function builtinRoots(): Uint8Array[] {
  // Captured once: tls.rootCertificates is frozen, but reading it through a module other code can
  // monkey-patch later is exactly what we avoid.
  builtinDer ??= tls.rootCertificates.flatMap((pem) => pemBlocks(pem));
  return builtinDer;
}

export function trustMaterial(sources: readonly TrustAnchorSource[]): TrustMaterial {
  let material = cache.get(sources);
  if (!material) {
    const der = sources.flatMap((source) => (source.kind === 'builtin' ? builtinRoots() : source.certificates));
    material = { caPem: der.map((cert) => toPem(cert)), anchors: buildAnchorSet(der) };
    cache.set(sources, material);
  }
  return material;
}

// Take the references now, before application code runs, so later replacement of these
// functions cannot turn a wirelock connection into an unchecked one.
export const nodeTls = {
  connect: tls.connect,
  checkServerIdentity: tls.checkServerIdentity,
} as const;
