import type { LookupFunction, Socket } from 'node:net';
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import { WirelockError, type ErrorCode } from '../errors.js';
import { definePolicy } from '../policy/define.js';
import { findDomainPolicy, isLoopbackAddress, isLoopbackHost, normalizeHost } from '../policy/match.js';
import type { DomainPolicy, Policy } from '../policy/types.js';
import { proxyCredentials, proxyFor } from '../policy/proxy.js';
import type { ProxyConfig } from '../policy/types.js';
import { openTunnel, PendingTunnel, type TunnelRequest } from './proxy.js';
import { toChainCertificate, type ChainCertificate } from '../x509/chain.js';
import { effectiveMode, evaluateHandshake, findingError, untrustedHint, type CtOutcome, type Finding } from './evaluate.js';
import { buildReport, CHANNELS, Reporter, type ReportKind, type ViolationReport } from './report.js';
import { nodeDefaultStorePem, nodeTls, secureContextFor, tlsParameters, trustMaterial, withoutUnsafeCiphers } from './trust.js';

const reflectApply = Reflect.apply;

// Not through `import`: loader hooks cannot redirect process.getBuiltinModule (see trust.ts).
const net = process.getBuiltinModule('node:net');
const dns = process.getBuiltinModule('node:dns');
const tls = process.getBuiltinModule('node:tls');
const { isIP } = net;

export interface TransportOptions {
  /** Called for every violation and notice (also in report-only mode). */
  onViolation?: (report: ViolationReport) => void;
  /** dns.lookup-compatible resolver, e.g. to map lab host names to loopback. */
  lookup?: LookupFunction;
  /** Clock, for tests of pin expiry. */
  now?: () => Date;
  /** Milliseconds for TCP connect + TLS handshake (default 10 000). */
  connectTimeout?: number;
  /** Observes every evaluated handshake (allowed or not), e.g. for `wirelock check` or metrics. */
  onHandshake?: (info: HandshakeInfo) => void;
  /** Process warnings for blocks and unheard report-only violations (default true); see Reporter. */
  warnings?: boolean;
}

export interface HandshakeInfo {
  host: string;
  port: number;
  domain: DomainPolicy | undefined;
  mode: 'enforce' | 'report-only';
  served: ChainCertificate[];
  verifiedPath: ChainCertificate[];
  violations: Finding[];
  /** Free-form details from CT and other checks. */
  ct: CtOutcome | undefined;
}

/** Hook for CT: given a domain's CT configuration, a function that judges a verified path. */
export type CtCheckFactory = (
  domain: DomainPolicy | undefined,
  policy: Policy,
) => ((path: ChainCertificate[], ocspResponse: Uint8Array | undefined, now: Date) => CtOutcome) | undefined;

let ctCheckFactory: CtCheckFactory | undefined;
/** Registered by the CT module when it is loaded, so the transport has no import cycle on it. */
export function registerCtCheckFactory(factory: CtCheckFactory): void {
  ctCheckFactory = factory;
}

const TLS_ERROR_CODES: Record<string, ErrorCode> = {
  CERT_HAS_EXPIRED: 'ERR_CERT_EXPIRED',
  CERT_NOT_YET_VALID: 'ERR_CERT_EXPIRED',
  ERR_TLS_CERT_ALTNAME_INVALID: 'ERR_CERT_HOSTNAME',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'ERR_CERT_UNTRUSTED',
  SELF_SIGNED_CERT_IN_CHAIN: 'ERR_CERT_UNTRUSTED',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'ERR_CERT_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT: 'ERR_CERT_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'ERR_CERT_UNTRUSTED',
  CERT_SIGNATURE_FAILURE: 'ERR_CERT_UNTRUSTED',
  CERT_UNTRUSTED: 'ERR_CERT_UNTRUSTED',
  CERT_REJECTED: 'ERR_CERT_UNTRUSTED',
  INVALID_CA: 'ERR_CERT_UNTRUSTED',
  PATH_LENGTH_EXCEEDED: 'ERR_CERT_UNTRUSTED',
  INVALID_PURPOSE: 'ERR_CERT_UNTRUSTED',
  CERT_CHAIN_TOO_LONG: 'ERR_CERT_UNTRUSTED',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'ERR_TLS_VERSION',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'ERR_TLS_VERSION',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'ERR_TLS_VERSION',
  ERR_SSL_UNSUPPORTED_SSL_VERSION: 'ERR_TLS_VERSION',
};

/**
 * A handshake failure that surfaces through a queued write (https.request writes before the handshake
 * ends) arrives as a bare EPROTO; only OpenSSL's reason text says it was the protocol version.
 */
function protocolErrorFromMessage(error: Error): ErrorCode | undefined {
  if ((error as NodeJS.ErrnoException).code !== 'EPROTO') return undefined;
  return /alert protocol version|unsupported protocol|no protocols available|wrong version number/i.test(error.message) ? 'ERR_TLS_VERSION' : undefined;
}

/** Turns OpenSSL's verification and protocol errors into wirelock codes; others pass unchanged. */
export function mapTlsError(error: unknown, host: string, port: number, domain?: DomainPolicy): unknown {
  if (error instanceof WirelockError || !(error instanceof Error)) return error;
  const code = TLS_ERROR_CODES[(error as NodeJS.ErrnoException).code ?? ''] ?? protocolErrorFromMessage(error);
  if (!code) return error;
  const what = code === 'ERR_TLS_VERSION' ? 'TLS version refused' : 'certificate rejected';
  const hint = code === 'ERR_CERT_UNTRUSTED' ? untrustedHint(host, domain) : '';
  return new WirelockError(code, `${host}:${port}: ${what}: ${error.message}${hint}`, { host, port, tlsError: (error as NodeJS.ErrnoException).code }, { cause: error });
}

/** The peer's certificate list as served: leaf first, then the issuers Node linked to it. */
function servedChain(cert: PeerCertificate): ChainCertificate[] {
  const out: ChainCertificate[] = [];
  const seen = new Set<string>();
  let current: PeerCertificate | undefined = cert;
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    out.push(toChainCertificate(new Uint8Array(current.raw)));
    const next: PeerCertificate | undefined = (current as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
    current = next && next !== current ? next : undefined;
  }
  return out;
}

// Options a caller (or a library it uses) may pass that would weaken or bypass our verification.
const OVERRIDDEN_OPTIONS = ['ca', 'rejectUnauthorized', 'checkServerIdentity', 'session', 'secureContext', 'secureProtocol', 'minVersion', 'maxVersion'] as const;

interface TlsTarget extends ConnectionOptions {
  host: string;
  port: number;
  /** The CONNECT tunnel already open to the origin (agents and dispatchers open it asynchronously). */
  tunnel?: Socket | TLSSocket;
  /** The proxy `tunnel` goes through. */
  viaProxy?: ProxyConfig;
}

/**
 * A servername that would select another domain policy than the destination host is refused: a
 * request to a pinned host must not be judged by the rules of a name its Host header chose.
 * Undefined when the servername is absent, the host itself, or governed by the very same policy.
 */
export function servernameFinding(policy: Policy, host: string, domain: DomainPolicy | undefined, servername: string | null | undefined): Finding | undefined {
  if (!servername || servername === host) return undefined;
  const canonical = normalizeHost(servername);
  if (canonical !== undefined && canonical === normalizeHost(host)) return undefined;
  const named = canonical === undefined ? undefined : findDomainPolicy(policy, canonical);
  if (canonical !== undefined && named === domain) return undefined;
  const rules = (d: DomainPolicy | undefined): string => (d ? `the policy of "${d.name}"` : 'the global rules');
  const message =
    canonical === undefined
      ? `servername "${servername}" for a connection to ${host} is not a valid host name; the destination's policy cannot be applied to it`
      : `servername "${canonical}" would select ${rules(named)}, but the connection goes to ${host}, which is governed by ${rules(domain)}; ` +
        'the destination decides the policy (a Host header or servername naming another host is refused)';
  return { code: 'ERR_SERVERNAME_MISMATCH', message, details: { servername, destination: host, destinationDomain: domain?.name ?? null, servernameDomain: named?.name ?? null } };
}

function refusedTlsSocket(error: WirelockError): TLSSocket {
  const socket = new tls.TLSSocket(new net.Socket());
  process.nextTick(() => socket.destroy(error));
  return socket;
}

/**
 * One policy bound to its reporter: decides whether a destination may be reached and runs the
 * policy inside every TLS handshake. Agents, dispatchers and fetch are thin adapters over it.
 */
export class PolicyEngine {
  readonly policy: Policy;
  readonly options: TransportOptions;
  readonly reporter: Reporter;
  readonly #verifiedSockets = new WeakSet<TLSSocket>();
  readonly #proxySockets = new WeakSet<Socket>();

  constructor(policy: Policy | unknown, options: TransportOptions = {}, send?: (uri: string, body: string) => Promise<unknown>) {
    this.policy = definePolicy(policy);
    this.options = options;
    this.reporter = new Reporter(this.policy, { onViolation: options.onViolation, send, warnings: options.warnings });
  }

  now(): Date {
    return this.options.now?.() ?? new Date();
  }

  reportViolation(kind: ReportKind, code: ViolationReport['code'], message: string, context: {
    host: string;
    port: number;
    domain: DomainPolicy | undefined;
    blocked: boolean;
    served?: ChainCertificate[];
    verified?: ChainCertificate[];
    details?: Record<string, unknown>;
  }): void {
    this.reporter.emit(
      buildReport({
        kind,
        code,
        message,
        blocked: context.blocked,
        mode: effectiveMode(this.policy, context.domain),
        host: context.host,
        port: context.port,
        domain: context.domain,
        pins: context.domain?.pins.map((pin) => pin.pin) ?? [],
        served: (context.served ?? []).map((cert) => cert.der),
        verified: (context.verified ?? []).map((cert) => cert.der),
        now: this.now(),
        ...(context.details ? { details: context.details } : {}),
      }),
    );
  }

  /**
   * Cleartext and egress rules for a destination, before any socket exists. Returns the error to
   * fail with (enforce) or undefined (allowed, or reported in report-only mode).
   */
  checkDestination(protocol: string, rawHost: string, port: number): WirelockError | undefined {
    const host = normalizeHost(rawHost) ?? rawHost;
    const domain = findDomainPolicy(this.policy, host);
    const mode = effectiveMode(this.policy, domain);
    let finding: Finding | undefined;
    if (!domain && this.policy.unlistedHosts === 'block') {
      finding = { code: 'ERR_HOST_NOT_ALLOWED', message: `${host} is not listed in the policy and "unlistedHosts" is "block"`, details: {} };
    } else if (protocol === 'http:') {
      const allowed =
        domain?.cleartext === 'allow' ||
        (domain?.cleartext !== 'block' && this.policy.cleartext === 'allow-loopback' && isLoopbackHost(host)) ||
        this.#isLoopbackReportEndpoint(host, port);
      if (!allowed) {
        finding = { code: 'ERR_CLEARTEXT_BLOCKED', message: `cleartext http to ${host}:${port} is blocked by the policy (use https)`, details: {} };
      }
    } else if (protocol !== 'https:') {
      finding = { code: 'ERR_CLEARTEXT_BLOCKED', message: `protocol ${protocol} to ${host} is not allowed (https only)`, details: {} };
    }
    if (!finding) return undefined;
    this.reportViolation('violation', finding.code, finding.message, { host, port, domain, blocked: mode === 'enforce' });
    return mode === 'enforce' ? findingError(finding, host, port) : undefined;
  }

  /** The policy's own http report URI, which validation accepts for a loopback IP literal only. */
  #isLoopbackReportEndpoint(host: string, port: number): boolean {
    const uri = this.policy.report?.uri;
    if (!uri?.startsWith('http:')) return false;
    const target = new URL(uri);
    const name = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    return isLoopbackAddress(name) && normalizeHost(name) === host && (Number(target.port) || 80) === port;
  }

  /**
   * The cleartext rule for one HTTP request head written on a cleartext socket to `socketHost`:
   * an absolute-form target (a request to a proxy) is judged by the URL it names, and an https://
   * URL in cleartext is refused whatever the socket's address, since no TLS check can run on it.
   */
  checkRequestTarget(head: string, socketHost: string, socketPort: number): WirelockError | undefined {
    const line = /^(\S+) (\S+) HTTP\/1\.[01]\r?\n/.exec(head);
    if (!line) {
      return new WirelockError('ERR_CLEARTEXT_BLOCKED', `${socketHost}:${socketPort}: a cleartext request whose request line cannot be read is refused`, { host: socketHost, port: socketPort });
    }
    const [, method, target] = line as unknown as [string, string, string];
    if (target.startsWith('/') || target === '*') return undefined;
    if (method === 'CONNECT') {
      // A tunnel the caller opens itself: egress only; the TLS it runs inside is judged by tls.connect.
      const authority = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
      if (!authority) return new WirelockError('ERR_CLEARTEXT_BLOCKED', `${socketHost}:${socketPort}: CONNECT to ${JSON.stringify(target.slice(0, 80))} is not host:port`, { host: socketHost, port: socketPort });
      return this.checkDestination('https:', authority[1]!, Number(authority[2]));
    }
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return new WirelockError('ERR_CLEARTEXT_BLOCKED', `${socketHost}:${socketPort}: the request target is neither a path nor a URL`, { host: socketHost, port: socketPort });
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    if (url.protocol === 'https:') {
      const domain = findDomainPolicy(this.policy, host);
      const finding: Finding = {
        code: 'ERR_CLEARTEXT_BLOCKED',
        message: `https://${host}:${port} would be sent in cleartext to ${socketHost}:${socketPort} (an absolute-form request, as clients send to a proxy): no TLS check could run on it; name the proxy in the policy ("proxy") so the origin's TLS runs end to end through it`,
        details: { via: `${socketHost}:${socketPort}`, absoluteForm: true },
      };
      const mode = effectiveMode(this.policy, domain);
      this.reportViolation('violation', finding.code, finding.message, { host, port, domain, blocked: mode === 'enforce', details: finding.details });
      return mode === 'enforce' ? findingError(finding, host, port) : undefined;
    }
    return this.checkDestination(url.protocol, host, port);
  }

  /**
   * tls.connect under the policy. The checks run in checkServerIdentity, i.e. inside the handshake,
   * before Node emits 'secureConnect' and before any queued request byte is written.
   */
  connectTls(target: TlsTarget): TLSSocket {
    const host = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host;
    const name = target.servername || host;
    const port = target.port;
    // The destination decides the policy. The servername (which https.Agent and undici take from the
    // request's Host header) only names the certificate to expect, and may not select other rules.
    const domain = findDomainPolicy(this.policy, host);
    const mode = effectiveMode(this.policy, domain);
    const mismatch = servernameFinding(this.policy, host, domain, target.servername);
    if (mismatch) {
      this.reportViolation('violation', mismatch.code, mismatch.message, { host, port, domain, blocked: mode === 'enforce' });
      // Refused before a TCP connection exists (the ClientHello would already carry the chosen name);
      // every adapter (agent, dispatcher, the lockdown tls.connect guard) passes through here.
      if (mode === 'enforce') return refusedTlsSocket(findingError(mismatch, host, port));
    }
    // Through the policy's proxy unless the caller brought its own socket (a tunnel it opened itself).
    const via = target.viaProxy ?? (target.socket === undefined ? proxyFor(this.policy, host, port) : undefined);
    const reportHere: PolicyEngine['reportViolation'] = (kind, code, message, context) =>
      this.reportViolation(kind, code, message, via ? { ...context, details: { ...context.details, proxy: via.display } } : context);
    // An intercepting proxy answers the CONNECT with its own certificate: say where the chain came from.
    const throughProxy = <T,>(error: T): T => {
      if (!via || !(error instanceof WirelockError) || error.details.proxy !== undefined) return error;
      return new WirelockError(
        error.code,
        `${error.message}\n  (this certificate came through the proxy ${via.display}: a TLS-intercepting proxy presents its own certificate for the origin, which the policy refuses)`,
        { ...error.details, proxy: via.display, throughProxy: true },
        { cause: error.cause },
      ) as T;
    };
    const trust = trustMaterial(domain?.trustAnchors ?? this.policy.trustAnchors);
    const ctConfig = domain ? domain.certificateTransparency : this.policy.certificateTransparency;
    // Fail closed: CT configured but no CT module loaded must not silently skip the check.
    const ctCheck = ctCheckFactory
      ? ctCheckFactory(domain, this.policy)
      : ctConfig?.enforce
        ? (): CtOutcome => ({ compliant: false, listStale: false, message: 'CT is required by the policy but the CT module is not loaded', details: {} })
        : undefined;
    let ocspResponse: Uint8Array | undefined;
    let checked = false;

    // Node calls this from the handshake callback: anything it throws is an uncaught exception that
    // kills the process (e.g. a trusted certificate that OpenSSL accepts as BER but is not DER).
    // Such a failure refuses the connection instead, in every mode: an unevaluated chain is never allowed.
    const checkServerIdentity = (hostname: string, cert: PeerCertificate): Error | undefined => {
      try {
        return throughProxy(checkHandshake(hostname, cert));
      } catch (thrown) {
        const code: ErrorCode = thrown instanceof WirelockError ? thrown.code : 'ERR_CERT_UNTRUSTED';
        const error = new WirelockError(code, `${hostname}:${port}: the server's certificate cannot be evaluated: ${(thrown as Error)?.message ?? String(thrown)}`, { host: hostname, port }, { cause: thrown });
        reportHere('violation', error.code, error.message, { host: hostname, port, domain, blocked: true });
        return throughProxy(error);
      }
    };

    const checkHandshake = (nodeHostname: string, cert: PeerCertificate): Error | undefined => {
      // The certificate is checked for the very name the policy was looked up by, in its canonical
      // form. Node's own argument can differ: it is the host when an IP servername was dropped (SNI
      // carries no IPs), and Node strips a trailing dot twice ("pinned.example.." passes as
      // "pinned.example") where the policy lookup sees no valid name and would apply global rules.
      const canonical = normalizeHost(name);
      const hostname = canonical ?? nodeHostname;
      const hostnameError = canonical
        ? nodeTls.checkServerIdentity(canonical, cert)
        : new Error(`"${name}" is not a valid host name, so the policy cannot be applied to it`);
      const served = servedChain(cert);
      if (hostnameError) {
        const error = new WirelockError('ERR_CERT_HOSTNAME', `${hostname}:${port}: ${hostnameError.message}`, { host: hostname, port }, { cause: hostnameError });
        reportHere('violation', error.code, error.message, { host: hostname, port, domain, blocked: true, served });
        return error;
      }
      const now = this.now();
      let ct: CtOutcome | undefined;
      const verdict = evaluateHandshake({
        policy: this.policy,
        domain,
        host: hostname,
        port,
        served,
        now,
        checkCt: ctCheck ? (path) => (ct = ctCheck(path, ocspResponse, now)) : undefined,
      });
      this.options.onHandshake?.({ host: hostname, port, domain, mode, served, verifiedPath: verdict.verifiedPath, violations: verdict.violations, ct });
      const context = { host: hostname, port, domain, served, verified: verdict.verifiedPath };
      for (const notice of verdict.notices) {
        const code = notice.kind === 'pins-expired' ? 'PINS_EXPIRED' : 'CT_LIST_STALE';
        reportHere(notice.kind, code, notice.message, { ...context, blocked: false });
      }
      for (const violation of verdict.violations) {
        reportHere('violation', violation.code, violation.message, { ...context, blocked: mode === 'enforce', details: violation.details });
      }
      checked = true;
      if (CHANNELS.connection.hasSubscribers) {
        CHANNELS.connection.publish({ host: hostname, port, domain: domain?.name ?? null, mode, violations: verdict.violations.map((v) => v.code) });
      }
      const [first] = verdict.violations;
      return mode === 'enforce' && first ? findingError(first, hostname, port) : undefined;
    };

    const options: ConnectionOptions = { ...target };
    for (const key of OVERRIDDEN_OPTIONS) delete (options as Record<string, unknown>)[key];
    delete (options as Record<string, unknown>).tunnel;
    delete (options as Record<string, unknown>).viaProxy;
    if (target.tunnel) {
      options.socket = target.tunnel;
    } else if (via) {
      // tls.connect must return a socket now (lockdown's tls.connect): the tunnel opens behind it.
      const request = this.#tunnelRequest(via, host, port);
      if (request instanceof WirelockError) {
        const refused = new net.Socket();
        process.nextTick(() => refused.destroy(request));
        return refused as TLSSocket;
      }
      options.socket = new PendingTunnel(request);
    }
    const minVersion = domain?.minTlsVersion ?? this.policy.minTlsVersion;
    // In report-only mode the connection must allow whatever an unprotected client or the enforced
    // policy would allow: Node's default store plus the policy's anchors. The policy's own trust
    // set is still evaluated and violations are reported.
    const reportOnly = mode !== 'enforce';
    const clientCertificate = ['key', 'cert', 'pfx'].some((key) => (target as unknown as Record<string, unknown>)[key] !== undefined);
    Object.assign(options, {
      host,
      port,
      servername: isIP(name) === 0 ? name : undefined,
      // A client certificate (mTLS) needs its own context; everything else shares a cached one.
      ...(clientCertificate
        ? {
            ca: reportOnly ? [...nodeDefaultStorePem(), ...trust.caPem] : trust.caPem,
            minVersion,
            // Node would fill what the caller left out from tls.DEFAULT_* at this moment; the
            // caller's own ciphers/curve stay its choice, minus the suites wirelock never allows.
            maxVersion: tlsParameters.maxVersion,
            ciphers: typeof target.ciphers === 'string' ? withoutUnsafeCiphers(target.ciphers) : tlsParameters.ciphers,
            ecdhCurve: target.ecdhCurve ?? tlsParameters.ecdhCurve,
          }
        : { secureContext: secureContextFor(trust, minVersion, reportOnly) }),
      rejectUnauthorized: true,
      checkServerIdentity,
      requestOCSP: ctCheck !== undefined,
      ...(this.options.lookup && !target.lookup ? { lookup: this.options.lookup } : {}),
    });

    const socket = nodeTls.connect(options);
    const emit = socket.emit;
    // Node emits OpenSSL's own errors; callers get them as WirelockErrors with stable codes.
    const report = (error: WirelockError): void => reportHere('violation', error.code, error.message, { host: name, port, domain, blocked: true });
    socket.emit = function (this: TLSSocket, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'error') {
        const mapped = throughProxy(mapTlsError(args[0], name, port, domain));
        // OpenSSL refused before our check ran: the report still has to go out.
        if (mapped !== args[0] && mapped instanceof WirelockError) report(mapped);
        args[0] = mapped;
      }
      // Reflect.apply taken at load, not emit.call: Function.prototype.call is looked up as it runs,
      // and whoever replaces it would be handed the socket's original emit and its errors.
      return reflectApply(emit as (event: string | symbol, ...rest: unknown[]) => boolean, this, [event, ...args]);
    } as typeof socket.emit;
    socket.on('OCSPResponse', (response: Buffer) => {
      ocspResponse = new Uint8Array(response);
    });
    socket.once('secureConnect', () => {
      // Handshake errors are mapped; after it, the socket's hot path gets its own emit back.
      socket.emit = emit;
      // Defense in depth: a handshake that completed without our check (resumed session, patched
      // options) is never used.
      if (!socket.authorized || !checked) {
        socket.destroy(new WirelockError('ERR_CERT_UNTRUSTED', `${name}:${port}: handshake completed without wirelock verification`, { host: name, port }));
        return;
      }
      this.#verifiedSockets.add(socket);
    });
    const timeout = this.options.connectTimeout ?? 10_000;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect timeout after ${timeout} ms to ${name}:${port}`), { code: 'UND_ERR_CONNECT_TIMEOUT' })), timeout);
    timer.unref();
    socket.once('secureConnect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return socket;
  }

  /** The tunnel to open for `host:port` through `proxy`, or the error when its credentials are missing. */
  #tunnelRequest(proxy: ProxyConfig, rawHost: string, port: number): TunnelRequest | WirelockError {
    // The CONNECT line carries the name as written: only a valid host may be put there (no CR/LF).
    const host = normalizeHost(rawHost);
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
      return new WirelockError('ERR_INPUT_INVALID', `${JSON.stringify(rawHost.slice(0, 80))}:${port} is not a host and port a CONNECT tunnel can be opened to`, { host: rawHost, port, proxy: proxy.display });
    }
    const credentials = proxyCredentials(proxy, process.env);
    if (credentials.missing !== undefined) {
      return new WirelockError('ERR_POLICY_INVALID', `${host}:${port}: the proxy credentials come from the environment variable ${credentials.missing} ("proxy"/"auth"), which is not set`, {
        host,
        port,
        file: this.policy.source,
        pointer: '/proxy/auth',
        proxy: proxy.display,
      });
    }
    return {
      proxy,
      host,
      port,
      credentials: credentials.value,
      credentialsFrom: proxy.auth?.kind === 'env' ? proxy.auth.variable : proxy.auth ? 'HTTPS_PROXY' : undefined,
      lookup: this.options.lookup,
      timeoutMs: this.options.connectTimeout ?? 10_000,
      mapTlsError,
      onSocket: (socket) => this.#proxySockets.add(socket),
    };
  }

  /** True for the sockets wirelock opens to the policy's proxy (lockdown lets exactly these through). */
  isProxyConnection(socket: Socket): boolean {
    return this.#proxySockets.has(socket);
  }

  /**
   * connectTls for callers that can wait (agents, dispatchers): the tunnel opens first on a native
   * socket, then TLS with the origin runs inside it. `callback` gets the TLS socket before its handshake.
   */
  connectTlsAsync(target: TlsTarget, callback: (error: Error | null, socket?: TLSSocket) => void): void {
    const host = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host;
    const via = target.socket === undefined ? proxyFor(this.policy, host, target.port) : undefined;
    if (!via) {
      callback(null, this.connectTls(target));
      return;
    }
    const request = this.#tunnelRequest(via, host, target.port);
    if (request instanceof WirelockError) {
      this.reportViolation('violation', request.code, request.message, { host, port: target.port, domain: findDomainPolicy(this.policy, target.servername || host), blocked: true, details: { proxy: via.display } });
      process.nextTick(callback, request);
      return;
    }
    openTunnel(request, (error, tunnel) => {
      if (error) {
        if (error instanceof WirelockError) this.reportViolation('violation', error.code, error.message, { host, port: target.port, domain: findDomainPolicy(this.policy, target.servername || host), blocked: true, details: error.details });
        callback(error);
        return;
      }
      callback(null, this.connectTls({ ...target, tunnel, viaProxy: via }));
    });
  }

  /**
   * connectPlain through the proxy when the policy allows cleartext to the target itself
   * (`"cleartext": "allow"`). Cleartext admitted only for being loopback never goes through a
   * proxy: there it would leave the machine.
   */
  connectPlainAsync(target: { host: string; port: number }, callback: (error: Error | null, socket?: Socket) => void): void {
    const host = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host;
    const via = proxyFor(this.policy, host, target.port);
    if (!via || findDomainPolicy(this.policy, host)?.cleartext !== 'allow') {
      callback(null, this.connectPlain(target));
      return;
    }
    const request = this.#tunnelRequest(via, host, target.port);
    if (request instanceof WirelockError) {
      process.nextTick(callback, request);
      return;
    }
    openTunnel(request, (error, tunnel) => {
      if (error || !tunnel) return callback(error ?? new Error('no tunnel'));
      // Paused while the CONNECT answer was read; the origin speaks only after the request is written.
      tunnel.resume();
      callback(null, tunnel as Socket);
    });
  }

  connectPlain(target: { host: string; port: number; lookup?: LookupFunction }): Socket {
    const host = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host;
    const base = target.lookup ?? this.options.lookup;
    const domain = findDomainPolicy(this.policy, host);
    // "allow-loopback" admits a *name* ("localhost.", "x.localhost") for being loopback, but glibc
    // sends such names to DNS, where a network attacker answers: the resolved address must agree.
    const lookup = isIP(host) === 0 && isLoopbackHost(host) && domain?.cleartext !== 'allow' ? this.#loopbackOnly(host, target.port, domain, base) : base;
    return net.connect({ host, port: target.port, ...(lookup ? { lookup } : {}) });
  }

  #loopbackOnly(host: string, port: number, domain: DomainPolicy | undefined, base: LookupFunction | undefined): LookupFunction {
    const mode = effectiveMode(this.policy, domain);
    return ((hostname: string, options: unknown, callback: unknown) => {
      const done = (typeof options === 'function' ? options : callback) as (error: Error | null, address?: unknown, family?: number) => void;
      const lookupOptions = typeof options === 'function' ? {} : options;
      // Read at call time, as net does, so a DNS guard installed later still applies.
      const resolve = (base ?? dns.lookup) as (name: string, opts: unknown, cb: (error: Error | null, address: unknown, family?: number) => void) => void;
      resolve(hostname, lookupOptions, (error, address, family) => {
        if (error) return done(error, address, family);
        const addresses = Array.isArray(address) ? (address as Array<{ address: string }>).map((entry) => entry.address) : [String(address)];
        const outside = addresses.find((candidate) => !isLoopbackHost(candidate));
        if (outside !== undefined) {
          const finding: Finding = {
            code: 'ERR_CLEARTEXT_BLOCKED',
            message: `cleartext http to ${host}:${port} is blocked: the name resolved to ${outside}, which is not a loopback address`,
            details: { resolved: addresses },
          };
          this.reportViolation('violation', finding.code, finding.message, { host, port, domain, blocked: mode === 'enforce', details: finding.details });
          if (mode === 'enforce') return done(findingError(finding, host, port));
        }
        done(null, address, family);
      });
    }) as LookupFunction;
  }

  isVerified(socket: TLSSocket): boolean {
    return this.#verifiedSockets.has(socket);
  }
}
