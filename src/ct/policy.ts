import type { CtPolicyName } from '../policy/types.js';
import type { SctOrigin } from './sct.js';

/**
 * The CT policies: which SCTs a certificate needs. Pure. Input is the per-SCT verdicts (already
 * judged against the log list, the signature and the clock); output says whether the set complies
 * and, when not, why, in words a developer can act on.
 */

export type SctStatus = 'valid' | 'invalid-signature' | 'unknown-log' | 'future' | 'log-not-usable' | 'malformed';

export interface SctVerdict {
  origin: SctOrigin;
  /** Base64 log id; undefined only for an SCT too malformed to name its log. */
  logId: string | undefined;
  logName: string | undefined;
  /** Operator of the log at the SCT's timestamp. */
  operator: string | undefined;
  /** Milliseconds since the epoch. */
  timestamp: number | undefined;
  status: SctStatus;
  /** Why the SCT has this status (for `valid`: which log state made it count). */
  reason: string;
  /** Whether the log's signature over this certificate verified (undefined: not checked). */
  signatureValid: boolean | undefined;
  /** `valid` and the log is qualified, usable or read-only now (not retired). */
  currentlyApproved: boolean;
  /** `valid` and the log is a static-CT-API (tiled) log. */
  tiled: boolean;
}

export interface CtPolicyResult {
  compliant: boolean;
  policy: CtPolicyName;
  /** Distinct logs required (after `minScts`). */
  required: number;
  /** Distinct logs with a valid SCT. */
  distinctLogs: number;
  distinctOperators: number;
  /** One line per unmet requirement. */
  failures: string[];
}

const DAY = 86_400_000;

/** RFC 5280 validity period (notBefore through notAfter inclusive) in days, a started day counting whole. */
export function lifetimeDays(notBefore: number, notAfter: number): number {
  return Math.ceil((notAfter - notBefore + 1000) / DAY);
}

function distinct<T>(values: T[]): number {
  return new Set(values).size;
}

/** Picks at most one SCT per log (the first), so one log cannot count twice. */
function perLog(scts: SctVerdict[]): SctVerdict[] {
  const seen = new Set<string>();
  return scts.filter((sct) => {
    if (!sct.logId || seen.has(sct.logId)) return false;
    seen.add(sct.logId);
    return true;
  });
}

export function evaluateCtPolicy(
  policy: CtPolicyName,
  scts: SctVerdict[],
  leaf: { notBefore: number; notAfter: number },
  minScts: number | undefined,
): CtPolicyResult {
  const valid = perLog(scts.filter((sct) => sct.status === 'valid'));
  const embedded = valid.filter((sct) => sct.origin === 'embedded');
  const delivered = valid.filter((sct) => sct.origin !== 'embedded');
  const days = lifetimeDays(leaf.notBefore, leaf.notAfter);
  const lifetimeCount = days <= 180 ? 2 : 3;
  const failures: string[] = [];
  let required: number;

  if (policy === 'chrome') {
    // Chromium's enforcer: a valid SCT delivered outside the certificate lowers the count to 2
    // from logs that are approved now; otherwise the count depends on the lifetime.
    // Only a delivered SCT that counts (its log approved now) lowers it: Chromium skips the others.
    const viaDelivery = delivered.some((sct) => sct.currentlyApproved);
    required = minScts ?? (viaDelivery ? 2 : lifetimeCount);
    // A delivered SCT from a log not approved now never counts, on either route.
    const counting = valid.filter((sct) => sct.currentlyApproved || sct.origin === 'embedded');
    if (distinct(counting.map((sct) => sct.logId)) < required) {
      failures.push(`needs SCTs from ${required} distinct logs${viaDelivery ? '' : ` (certificate lifetime ${days} days)`}, has ${distinct(counting.map((s) => s.logId))}`);
    }
    if (!counting.some((sct) => sct.currentlyApproved)) failures.push('needs at least 1 SCT from a log that is qualified, usable or read-only now');
    const operatorsNeeded = Math.min(2, required);
    if (distinct(counting.map((sct) => sct.operator)) < operatorsNeeded) {
      failures.push(`needs SCTs from ${operatorsNeeded} distinct log operators, has ${distinct(counting.map((s) => s.operator))}`);
    }
    return { compliant: failures.length === 0, policy, required, distinctLogs: distinct(counting.map((s) => s.logId)), distinctOperators: distinct(counting.map((s) => s.operator)), failures };
  }

  // Apple (support.apple.com/103214): 2 SCTs from once- or currently-approved logs, and either
  // 2 from currently approved logs with one delivered via TLS/OCSP, or one embedded SCT from a
  // currently approved log plus the lifetime-based count with a cap per operator.
  const maxPerOperator = days <= 180 ? 1 : 2;
  required = minScts ?? lifetimeCount;
  const approvedNow = valid.filter((sct) => sct.currentlyApproved);
  const deliveredRoute = approvedNow.length >= Math.min(2, required) && approvedNow.some((sct) => sct.origin !== 'embedded');
  const perOperator = new Map<string, number>();
  const cappedEmbedded = embedded.filter((sct) => {
    const count = perOperator.get(sct.operator ?? '') ?? 0;
    perOperator.set(sct.operator ?? '', count + 1);
    return count < maxPerOperator;
  });
  const embeddedRoute = embedded.some((sct) => sct.currentlyApproved) && cappedEmbedded.length >= required;
  if (valid.length < Math.min(2, required)) failures.push(`needs at least ${Math.min(2, required)} SCTs from once- or currently-approved logs, has ${valid.length}`);
  if (!deliveredRoute && !embeddedRoute) {
    failures.push(
      `needs either ${Math.min(2, required)} SCTs from currently approved logs with one delivered by TLS or OCSP (has ${approvedNow.length}, ${delivered.length} delivered), ` +
        `or ${required} embedded SCTs from distinct logs with at most ${maxPerOperator} per operator and one from a currently approved log (has ${cappedEmbedded.length}; certificate lifetime ${days} days)`,
    );
  }
  if (valid.length > 0 && valid.every((sct) => sct.tiled)) failures.push('needs at least 1 SCT from an RFC 6962 log (all valid SCTs come from static-CT-API logs)');
  return { compliant: failures.length === 0, policy, required, distinctLogs: valid.length, distinctOperators: distinct(valid.map((s) => s.operator)), failures };
}
