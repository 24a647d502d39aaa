/**
 * The validated, normalized policy. `validatePolicy` turns a `wirelock.json` document into this;
 * everything downstream (transport, CT, mobile generators, lab) consumes only this shape.
 */

export type Mode = 'enforce' | 'report-only';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
export type PinRole = 'leaf' | 'ca';

export interface Pin {
  /** `sha256/<base64 of SHA-256(DER SubjectPublicKeyInfo)>`, canonical base64. */
  pin: string;
  /** Raw 32-byte digest. */
  digest: Uint8Array;
  /** Which certificate of the chain the key belongs to, when the policy says so (mobile needs it). */
  role?: PinRole;
}

export type TrustAnchorSource =
  | { kind: 'builtin' }
  | {
      kind: 'file';
      /** As written in the policy. */
      ref: string;
      /** Absolute path, or undefined for an inline PEM. */
      path: string | undefined;
      /** DER of every certificate in the file. */
      certificates: Uint8Array[];
    };

export type StaleListAction = 'fail-open-report' | 'fail-closed';
export type CtPolicyName = 'chrome' | 'apple';

export interface CertificateTransparencyConfig {
  enforce: boolean;
  policy: CtPolicyName;
  /** Absolute path of the v3 log list JSON. */
  logList: string | undefined;
  /** Absolute path of the PEM public key that signs the log list (detached signature `<logList>.sig`). */
  logListKey: string | undefined;
  maxListAgeDays: number;
  onStaleList: StaleListAction;
  /** Overrides the policy's SCT count. */
  minScts: number | undefined;
}

export interface DomainPolicy {
  /** ASCII (IDNA) lower-case name without trailing dot, or an IP literal. */
  name: string;
  includeSubdomains: boolean;
  mode: Mode;
  pins: Pin[];
  /** End of the day (UTC) named by `pinsExpire`; pins are not enforced after it. */
  pinsExpire: Date | undefined;
  /** `pinsExpire` exactly as written (YYYY-MM-DD), for generators. */
  pinsExpireText: string | undefined;
  trustAnchors: TrustAnchorSource[];
  cleartext: 'allow' | 'block' | undefined;
  minTlsVersion: TlsVersion;
  certificateTransparency: CertificateTransparencyConfig | undefined;
  /** JSON pointer of this domain in the source document, for messages. */
  pointer: string;
}

export interface ReportConfig {
  uri: string;
  /** At most one POST per (host, code) in this window. */
  rateLimitSeconds: number;
  /**
   * Who sends the reports: TrustKit's `app-bundle-id` / `app-version` fields, so a collector can
   * tell apps and releases apart (which release would break if a host switched to enforce).
   */
  app: { id: string; version: string | undefined } | undefined;
}

export interface Policy {
  version: 1;
  mode: Mode;
  minTlsVersion: TlsVersion;
  cleartext: 'block' | 'allow-loopback';
  unlistedHosts: 'allow' | 'block';
  trustAnchors: TrustAnchorSource[];
  report: ReportConfig | undefined;
  certificateTransparency: CertificateTransparencyConfig | undefined;
  domains: DomainPolicy[];
  /** The explicit CONNECT proxy every connection goes through (except `noProxy`), or undefined: direct. */
  proxy: ProxyConfig | undefined;
  /** Absolute path of the policy file, when loaded from one. */
  source: string | undefined;
}

/** One `noProxy` entry: a host (and its subdomains), an IP range, or every host. */
export type NoProxyRule =
  | { kind: 'all' }
  | { kind: 'host'; name: string; port: number | undefined }
  | { kind: 'cidr'; address: string; prefix: number; family: 'ipv4' | 'ipv6'; port: number | undefined };

export interface ProxyConfig {
  protocol: 'http:' | 'https:';
  /** Normalized host name or IP literal of the proxy. */
  host: string;
  port: number;
  /** `http(s)://host:port`: the only form messages, reports and logs ever show (never credentials). */
  display: string;
  /** What an `https:` proxy's own certificate is verified against (default: builtin). */
  trustAnchors: TrustAnchorSource[];
  noProxy: NoProxyRule[];
  /**
   * Where the proxy credentials come from. The secret itself is never a property of the policy:
   * `env` is read when a tunnel is opened, `url` (from HTTPS_PROXY) is held outside the object.
   */
  auth: { kind: 'env'; variable: string } | { kind: 'url' } | undefined;
  /** `policy`: written in the policy; `env`: taken from HTTPS_PROXY/NO_PROXY because the policy says "env". */
  origin: 'policy' | 'env';
}

/** One problem found in a policy document. */
export interface PolicyIssue {
  /** RFC 6901 pointer into the document. */
  pointer: string;
  message: string;
  severity: 'error' | 'warning';
  /** Stable identifier of the rule, e.g. `pins/no-backup`. */
  rule: string;
}
