/**
 * Shared vocabulary of the mobile generators: what a generator returns, and the warnings it prints
 * where a platform cannot express a policy rule. A warning names the rule (stable id), the platform,
 * the policy location and the aspects of the policy it concerns, so the equivalence check can tell
 * an announced difference from a generator bug.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { DomainPolicy, Pin, Policy, TrustAnchorSource } from '../policy/types.js';

export type MobileTarget = 'android' | 'ios' | 'trustkit';

/** The parts of a policy a host's effective rules are made of (see equivalence.ts). */
export type Aspect = 'allowed' | 'cleartext' | 'pins' | 'pin-roles' | 'pins-expire' | 'report-only' | 'trust' | 'ct' | 'min-tls';

/** Which hosts a warning's difference may show up on. All given conditions must hold. */
export interface WarningScope {
  /** The wirelock domain (normalized name) that governs the host. */
  domain?: string;
  /**
   * `ip`: IP literals; `local`: single-label names and `.local`; `loopback`: what wirelock treats
   * as loopback (localhost, *.localhost, 127/8, ::1); `unlisted`: hosts no domain governs.
   */
  hostKind?: 'ip' | 'local' | 'loopback' | 'unlisted';
  /** Hosts two or more labels below this name (ATS's NSIncludesSubdomains reaches one label down). */
  deepUnder?: string;
}

export interface GenerateWarning {
  /** Stable id, `<platform>/<rule>`, usable with `--accept`. */
  rule: string;
  platform: string;
  /** JSON pointer of the policy rule that cannot be expressed. */
  pointer: string;
  scope: WarningScope;
  aspects: Aspect[];
  message: string;
}

export interface GeneratedFile {
  /** Path relative to the output root the caller chose (e.g. `xml/network_security_config.xml`). */
  path: string;
  contents: string;
  /** What the file is, for listings. */
  role: string;
  /** Belongs in a debug-only location (Android's debug source set), never in a release build. */
  debugOnly?: boolean;
}

export interface GenerateResult {
  target: MobileTarget;
  files: GeneratedFile[];
  warnings: GenerateWarning[];
}

export function pinBase64(pin: Pin): string {
  return pin.pin.slice('sha256/'.length);
}

/**
 * Android's pin-set `expiration` and TrustKit's expiration date are parsed as the START of that day
 * (device time zone) and pins stop at that instant; wirelock enforces pins through the whole named
 * day. Platforms therefore get the day after `pinsExpire`, and evaluators map back.
 */
export function dayAfter(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

export function dayBefore(date: string): string {
  const time = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(time) ? `invalid:${date}` : new Date(time - 86_400_000).toISOString().slice(0, 10);
}

export function domainMode(policy: Policy, domain: DomainPolicy | undefined) {
  return domain?.mode ?? policy.mode;
}

const fingerprintCache = new WeakMap<TrustAnchorSource[], string[]>();

/** SHA-256 fingerprints (hex) of every certificate of the non-builtin anchors. */
export function anchorFingerprints(anchors: TrustAnchorSource[]): string[] {
  const cached = fingerprintCache.get(anchors);
  if (cached) return cached;
  const out = new Set<string>();
  for (const anchor of anchors) {
    if (anchor.kind === 'file') for (const der of anchor.certificates) out.add(createHash('sha256').update(der).digest('hex'));
  }
  const result = [...out].sort();
  fingerprintCache.set(anchors, result);
  return result;
}

export function hostKind(host: string): 'ip' | 'local' | 'named' {
  if (isIP(host) !== 0) return 'ip';
  if (!host.includes('.') || host.endsWith('.local')) return 'local';
  return 'named';
}

/** Collects warnings with the platform prefix and removes duplicates. */
export class Warnings {
  readonly list: GenerateWarning[] = [];
  constructor(readonly platform: string) {}
  add(rule: string, pointer: string, scope: WarningScope, aspects: Aspect[], message: string): void {
    const id = `${this.platform}/${rule}`;
    if (this.list.some((w) => w.rule === id && w.pointer === pointer && JSON.stringify(w.scope) === JSON.stringify(scope))) return;
    this.list.push({ rule: id, platform: this.platform, pointer, scope, aspects, message });
  }
}
