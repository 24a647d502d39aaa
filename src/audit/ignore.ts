/**
 * The ignore file: every entry names what it silences, why, and until when. An expired entry
 * silences nothing (the finding comes back) and is reported, so an exception cannot outlive its
 * reason unnoticed.
 */
import { WirelockError } from '../errors.js';
import type { Finding } from './audit.js';

export interface IgnoreEntry {
  /** Advisory id or any alias (GHSA-..., CVE-..., MAL-...), or a rule id ("lockfile/git-dependency"). */
  id: string;
  /** Limit to one package (name, or name@version). */
  package?: string;
  reason: string;
  /** YYYY-MM-DD: the entry stops applying at the end of this day (UTC). */
  expires: string;
}

export interface IgnoreOutcome {
  findings: Finding[];
  expired: IgnoreEntry[];
  unused: IgnoreEntry[];
}

export function parseIgnoreFile(text: string, file: string): IgnoreEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new WirelockError('ERR_INPUT_INVALID', `${file} is not JSON: ${(error as Error).message}`, { file });
  }
  const list = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as { ignore?: unknown }).ignore : undefined;
  if (!Array.isArray(list)) throw new WirelockError('ERR_INPUT_INVALID', `${file}: expected {"ignore": [...]}`, { file, pointer: '/ignore' });
  return list.map((entry, index): IgnoreEntry => {
    const pointer = `/ignore/${index}`;
    if (typeof entry !== 'object' || entry === null) throw new WirelockError('ERR_INPUT_INVALID', `${file}: entry ${index} is not an object`, { file, pointer });
    const e = entry as Record<string, unknown>;
    if (typeof e.id !== 'string' || e.id === '') throw new WirelockError('ERR_INPUT_INVALID', `${file}: entry ${index} needs an "id"`, { file, pointer: `${pointer}/id` });
    if (typeof e.reason !== 'string' || e.reason.trim().length < 3) throw new WirelockError('ERR_INPUT_INVALID', `${file}: entry ${index} (${e.id}) needs a "reason"`, { file, pointer: `${pointer}/reason` });
    if (typeof e.expires !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(e.expires) || Number.isNaN(Date.parse(`${e.expires}T00:00:00Z`))) {
      throw new WirelockError('ERR_INPUT_INVALID', `${file}: entry ${index} (${e.id}) needs "expires" as YYYY-MM-DD`, { file, pointer: `${pointer}/expires` });
    }
    if (e.package !== undefined && typeof e.package !== 'string') throw new WirelockError('ERR_INPUT_INVALID', `${file}: entry ${index}: "package" must be a string`, { file, pointer: `${pointer}/package` });
    return { id: e.id, reason: e.reason, expires: e.expires, ...(typeof e.package === 'string' ? { package: e.package } : {}) };
  });
}

function packageMatches(spec: string | undefined, finding: Finding): boolean {
  if (spec === undefined) return true;
  return spec === finding.package.name || spec === `${finding.package.name}@${finding.package.version}`;
}

export function applyIgnores(findings: Finding[], entries: IgnoreEntry[], now = new Date()): IgnoreOutcome {
  const live = entries.filter((entry) => Date.parse(`${entry.expires}T23:59:59.999Z`) >= now.getTime());
  const expired = entries.filter((entry) => !live.includes(entry));
  const used = new Set<IgnoreEntry>();
  const out = findings.map((finding) => {
    const entry = live.find((e) => (e.id === finding.id || finding.aliases.includes(e.id)) && packageMatches(e.package, finding));
    if (!entry) return finding;
    used.add(entry);
    return { ...finding, suppressed: { reason: entry.reason, expires: entry.expires } };
  });
  return { findings: out, expired, unused: live.filter((entry) => !used.has(entry)) };
}
