import { WirelockError, type ErrorCode } from '../errors.js';
import type { DomainPolicy, Mode, Policy } from '../policy/types.js';
import { buildVerifiedChains, type ChainCertificate } from '../x509/chain.js';
import { pinsExpireTime } from '../policy/define.js';
import { trustMaterial } from './trust.js';

/**
 * The decision about one TLS handshake, with no I/O: the served certificates, the policy and the
 * time in; every violation and notice out. The TLS adapter turns the first violation into the
 * handshake error (enforce) or a report (report-only).
 */

export interface CtOutcome {
  compliant: boolean;
  message: string;
  listStale: boolean;
  details: Record<string, unknown>;
}

export interface HandshakeInput {
  policy: Policy;
  domain: DomainPolicy | undefined;
  host: string;
  port: number;
  served: ChainCertificate[];
  now: Date;
  /** Runs the domain's CT policy on the verified path; absent when CT is not configured. */
  checkCt?: ((verifiedPath: ChainCertificate[]) => CtOutcome) | undefined;
}

export interface Finding {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

export interface HandshakeVerdict {
  mode: Mode;
  violations: Finding[];
  /** Things that must be reported although nothing is blocked (expired pins, a stale CT list). */
  notices: Array<{ kind: 'pins-expired' | 'ct-list-stale'; message: string }>;
  verifiedPath: ChainCertificate[];
  /** Every certificate of every verified path, for the pin failure message. */
  verifiedPaths: ChainCertificate[][];
}

export function effectiveMode(policy: Policy, domain: DomainPolicy | undefined): Mode {
  return domain?.mode ?? policy.mode;
}

/**
 * The most common ERR_CERT_UNTRUSTED in a real deployment is an internal service behind a private
 * CA, not an attack: say how to trust it, and that only a CA you own belongs there.
 */
export function untrustedHint(host: string, domain: DomainPolicy | undefined): string {
  const where = domain ? `"domains" > "${domain.name}" > "trustAnchors"` : `a "domains" entry for ${host} with "trustAnchors"`;
  return `. If ${host} uses your own private or internal CA, add that CA's root certificate (a PEM file) to ${where} in the policy, e.g. ["builtin", "./internal-root.pem"]; \`wirelock pin ${host}\` shows the chain it serves. Never add a CA you do not operate: that is what an interception proxy asks for.`;
}

function describeChain(path: ChainCertificate[]): string {
  return path.map((cert, index) => `    ${cert.pin}: ${cert.subject.replace(/\n/g, ', ')}${index === 0 ? ' (leaf)' : ''}`).join('\n');
}

export function pinMismatchMessage(host: string, domain: DomainPolicy, paths: ChainCertificate[][]): string {
  // Modelled on OkHttp's CertificatePinner: everything needed to fix the policy, ready to paste.
  // A server that also sends its root yields the same chain twice (the served root and the anchor).
  const distinct = [...new Set(paths.map(describeChain))];
  const chains = distinct.map((chain, index) => `  verified chain${distinct.length > 1 ? ` #${index + 1}` : ''}:\n${chain}`).join('\n');
  return [
    `Certificate pinning failure for ${host}!`,
    chains,
    `  pinned certificates for ${domain.name}${domain.includeSubdomains ? ' (and subdomains)' : ''}:`,
    ...domain.pins.map((pin) => `    ${pin.pin}${pin.role ? ` (${pin.role})` : ''}`),
  ].join('\n');
}

export function evaluateHandshake(input: HandshakeInput): HandshakeVerdict {
  const { policy, domain, host, served, now } = input;
  const mode = effectiveMode(policy, domain);
  const verdict: HandshakeVerdict = { mode, violations: [], notices: [], verifiedPath: [], verifiedPaths: [] };
  const anchors = trustMaterial(domain?.trustAnchors ?? policy.trustAnchors).anchors;
  const chain = buildVerifiedChains(served, anchors, now);
  if (!chain.ok) {
    const code: ErrorCode = chain.reason === 'untrusted' ? 'ERR_CERT_UNTRUSTED' : 'ERR_CERT_EXPIRED';
    verdict.violations.push({ code, message: `${host}: ${chain.detail}${code === 'ERR_CERT_UNTRUSTED' ? untrustedHint(host, domain) : ''}`, details: { reason: chain.reason } });
    return verdict;
  }
  verdict.verifiedPath = chain.path;
  verdict.verifiedPaths = chain.paths;

  if (domain && domain.pins.length > 0) {
    const pinsExpire = pinsExpireTime(domain);
    if (pinsExpire !== undefined && now.getTime() > pinsExpire) {
      verdict.notices.push({
        kind: 'pins-expired',
        message: `pins for ${domain.name} expired on ${domain.pinsExpireText}: ${host} is NOT pinned; update the pins or remove pinsExpire`,
      });
    } else {
      const wanted = new Set(domain.pins.map((pin) => pin.pin));
      const pinned = chain.paths.find((path) => path.some((cert) => wanted.has(cert.pin)));
      if (pinned) {
        verdict.verifiedPath = pinned;
      } else {
        verdict.violations.push({
          code: 'ERR_PIN_MISMATCH',
          message: pinMismatchMessage(host, domain, chain.paths),
          details: {
            chainPins: chain.path.map((cert) => ({ pin: cert.pin, subject: cert.subject })),
            configuredPins: domain.pins.map((pin) => pin.pin),
          },
        });
      }
    }
  }

  if (input.checkCt) {
    const ct = input.checkCt(verdict.verifiedPath);
    if (ct.listStale) verdict.notices.push({ kind: 'ct-list-stale', message: `CT log list for ${host} is stale: ${ct.message}` });
    if (!ct.compliant) verdict.violations.push({ code: 'ERR_CT_REQUIRED', message: `${host}: ${ct.message}`, details: ct.details });
  }
  return verdict;
}

export function findingError(finding: Finding, host: string, port: number, extra: Record<string, unknown> = {}): WirelockError {
  return new WirelockError(finding.code, finding.message, { host, port, ...finding.details, ...extra });
}
