import type * as NodeTls from 'node:tls';
import { pemBlocks, toPem } from '../x509/certificate.js';
import { buildAnchorSet, type AnchorSet } from '../x509/chain.js';
import { privateBytes } from '../policy/define.js';
import type { TrustAnchorSource } from '../policy/types.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { readFileSync } = process.getBuiltinModule('node:fs');

// process.getBuiltinModule is not routed through module.register loader hooks, so a hook registered
// before wirelock loads cannot hand the transport a fake `node:tls`.
const tls = process.getBuiltinModule('node:tls');

/**
 * Suites no wirelock connection may ever negotiate, whatever the cipher list says: no encryption,
 * no authentication, export-grade or broken primitives.
 */
const EXCLUDED_CIPHERS = '!eNULL:!aNULL:!EXPORT:!LOW:!DES:!RC4:!MD5:!PSK:!SRP';

/**
 * The TLS parameters of every connection wirelock makes, taken now. Without them Node fills a
 * secure context from tls.DEFAULT_CIPHERS / DEFAULT_MAX_VERSION / DEFAULT_ECDH_CURVE when the first
 * connection happens: module properties any code can set after wirelock loaded (a NULL cipher and
 * TLS 1.2 put the request on the wire in cleartext). The load-time cipher list keeps what the
 * operator chose (--tls-cipher-list); the exclusions hold even if a preload changed it before.
 */
export const tlsParameters = Object.freeze({
  ciphers: withoutUnsafeCiphers(tls.DEFAULT_CIPHERS),
  maxVersion: 'TLSv1.3' as NodeTls.SecureVersion,
  ecdhCurve: tls.DEFAULT_ECDH_CURVE,
});

/** An app's own cipher list (its choice) with the suites no wirelock connection may use removed. */
export function withoutUnsafeCiphers(ciphers: string): string {
  return `${ciphers}:${EXCLUDED_CIPHERS}`;
}

/**
 * The trust material of one trust-anchor list, computed once and shared by every connection that
 * uses it. "builtin" is `tls.rootCertificates`: the Mozilla roots compiled into Node, which neither
 * NODE_EXTRA_CA_CERTS, --use-system-ca, --use-openssl-ca nor tls.setDefaultCACertificates() change.
 */
export interface TrustMaterial {
  /** PEM list for the `ca` option of tls.connect (replaces Node's default store entirely). */
  caPem: string[];
  anchors: AnchorSet;
  /** Secure contexts by mode and minimum version, built once: parsing ~140 roots per connection would dominate. */
  contexts: Map<string, NodeTls.SecureContext>;
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
    const der = sources.flatMap((source) => (source.kind === 'builtin' ? builtinRoots() : privateBytes(source.certificates)));
    material = { caPem: der.map((cert) => toPem(cert)), anchors: buildAnchorSet(der), contexts: new Map() };
    cache.set(sources, material);
  }
  return material;
}

/**
 * The client SecureContext for a trust set: `ca` replaces Node's default store, so neither
 * NODE_EXTRA_CA_CERTS nor the system store is trusted. Report-only adds Node's default store.
 */
export function secureContextFor(material: TrustMaterial, minVersion: NodeTls.SecureVersion, reportOnly: boolean): NodeTls.SecureContext {
  const key = `${minVersion}|${reportOnly}`;
  let context = material.contexts.get(key);
  if (!context) {
    context = tls.createSecureContext({ ...tlsParameters, ca: reportOnly ? [...nodeDefaultStorePem(), ...material.caPem] : material.caPem, minVersion });
    material.contexts.set(key, context);
  }
  return context;
}

let defaultStore: string[] | undefined;

/**
 * What an unprotected Node client trusts (bundled roots plus NODE_EXTRA_CA_CERTS), for report-only
 * mode, which must never block what Node itself would allow.
 */
export function nodeDefaultStorePem(): string[] {
  if (!defaultStore) {
    const getCACertificates = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
    if (getCACertificates) {
      defaultStore = getCACertificates('default');
    } else {
      const extraFile = process.env.NODE_EXTRA_CA_CERTS;
      let extra: string[] = [];
      try {
        extra = extraFile ? pemBlocks(readFileSync(extraFile, 'latin1')).map((der) => toPem(der)) : [];
      } catch {
        // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS file.
      }
      defaultStore = [...tls.rootCertificates, ...extra];
    }
  }
  return defaultStore;
}

// Take the references now, before application code runs, so later replacement of these
// functions cannot turn a wirelock connection into an unchecked one.
export const nodeTls = Object.freeze({
  connect: tls.connect,
  checkServerIdentity: tls.checkServerIdentity,
} as const);
