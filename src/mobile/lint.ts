/**
 * Lint rules for policies that ship in mobile apps (the OWASP MASTG network checks: cleartext,
 * trusted CAs, pinning hygiene). Installed apps cannot be fixed quickly, so pinning mistakes that a
 * server could hot-fix brick clients for weeks. Pure: a validated policy in, issues out.
 */
import { definePolicy } from '../policy/define.js';
import type { Policy, PolicyIssue } from '../policy/types.js';

const NEAR_EXPIRY_DAYS = 30;

export function lintMobilePolicy(policy: Policy, now: Date = new Date()): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const warn = (pointer: string, rule: string, message: string) => issues.push({ pointer, rule, message, severity: 'warning' });
  for (const domain of policy.domains) {
    const mode = domain.mode;
    if (domain.cleartext === 'allow') {
      warn(`${domain.pointer}/cleartext`, 'mobile/cleartext-allowed', `${domain.name} allows cleartext http: anyone on the network can read and change this traffic (MASTG: cleartext traffic)`);
    }
    if (domain.pins.length === 1) {
      warn(`${domain.pointer}/pins`, 'mobile/no-backup-pin', `${domain.name} has a single pin: TrustKit refuses it, and switching to enforce with one pin locks the app out at the next key change; add a backup pin`);
    }
    if (domain.pins.length > 0 && domain.pins.every((pin) => pin.role === 'leaf')) {
      warn(`${domain.pointer}/pins`, 'mobile/leaf-only-pins', `${domain.name} pins only leaf keys: certificates are renewed every few months, often with a new key, and installed apps cannot follow; pin an intermediate or root (role "ca") or a backup key as well`);
    }
    if (domain.pins.some((pin) => pin.role === undefined)) {
      warn(`${domain.pointer}/pins`, 'mobile/pin-role-missing', `${domain.name}: pins without "role" ("leaf" or "ca") cannot be placed in iOS NSPinnedDomains; \`wirelock pin --format json\` prints them with roles`);
    }
    if (domain.pinsExpire && domain.pins.length > 0 && domain.pinsExpire >= now) {
      const days = Math.floor((domain.pinsExpire.getTime() - now.getTime()) / 86_400_000);
      if (days < NEAR_EXPIRY_DAYS) {
        warn(`${domain.pointer}/pinsExpire`, 'mobile/pins-near-expiry', `${domain.name}: pins expire in ${days} day(s) (${domain.pinsExpireText}); apps already installed stop pinning then (Android, TrustKit) or keep stale pins (iOS ATS): ship an update with fresh pins now`);
      }
    }
    if (mode === 'report-only' && domain.pins.length > 0) {
      warn(`${domain.pointer}/mode`, 'mobile/report-only-pins', `${domain.name} is report-only: Android and iOS ATS cannot report without blocking, so these pins are enforced on no mobile platform except through TrustKit`);
    }
  }
  return issues;
}

/** The `wirelock policy lint` pass: runs only on a policy that validates (errors are reported already). */
export async function mobileLinter(document: unknown, file: string): Promise<PolicyIssue[]> {
  let policy: Policy;
  try {
    policy = definePolicy(document, { source: file });
  } catch {
    return [];
  }
  return lintMobilePolicy(policy);
}
