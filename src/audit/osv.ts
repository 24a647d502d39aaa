/**
 * OSV records (https://ossf.github.io/osv-schema/) reduced to what matching needs, and the
 * matching itself. Pure: records in, verdicts out.
 */
import { WirelockError } from '../errors.js';
import { scoreOsvSeverity, type Severity } from './cvss.js';
import { compareSemVer, parseVersion, type SemVer } from './semver.js';

export type OsvEvent = { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface OsvRange {
  type: 'SEMVER' | 'ECOSYSTEM';
  events: OsvEvent[];
}

/** One record's claim about one npm package: what the index stores, one entry per (record, package). */
export interface Advisory {
  id: string;
  aliases: string[];
  package: string;
  summary: string;
  modified: string;
  published?: string;
  malicious: boolean;
  severity: Severity;
  score?: number;
  vector?: string;
  ranges: OsvRange[];
  versions: string[];
  /** sha512 SRI hashes of known-bad tarballs (malicious-packages `package_integrity` indicators). */
  integrity?: string[];
  url: string;
}

const GHSA_SEVERITY: Record<string, Severity> = { LOW: 'low', MODERATE: 'medium', MEDIUM: 'medium', HIGH: 'high', CRITICAL: 'critical' };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * Malicious-package records: OSSF MAL- ids, records aliased to one, and GitHub malware advisories
 * (CWE-506, "Embedded Malicious Code"). These are always critical, whatever severity they carry.
 */
export function isMaliciousRecord(record: Record<string, unknown>): boolean {
  if (typeof record.id === 'string' && record.id.startsWith('MAL-')) return true;
  if (strings(record.aliases).some((alias) => alias.startsWith('MAL-'))) return true;
  const db = record.database_specific;
  return isObject(db) && strings(db.cwe_ids).includes('CWE-506');
}

/**
 * Validates the parts of an OSV record matching relies on and returns one Advisory per affected
 * npm package. Withdrawn records yield nothing: the schema says they must be ignored.
 * Throws ERR_ADVISORY_DB with a JSON pointer for a record that is not OSV.
 */
export function advisoriesFromRecord(record: unknown, file = '(record)'): Advisory[] {
  if (!isObject(record) || typeof record.id !== 'string' || record.id === '') {
    throw new WirelockError('ERR_ADVISORY_DB', 'not an OSV record: no "id"', { file, pointer: '/id' });
  }
  const id = record.id;
  if (typeof record.modified !== 'string') throw new WirelockError('ERR_ADVISORY_DB', `${id}: "modified" missing`, { file, pointer: '/modified' });
  if (record.withdrawn !== undefined && record.withdrawn !== null) return [];
  if (record.affected !== undefined && !Array.isArray(record.affected)) {
    throw new WirelockError('ERR_ADVISORY_DB', `${id}: "affected" is not an array`, { file, pointer: '/affected' });
  }
  const malicious = isMaliciousRecord(record);
  const scored = scoreOsvSeverity(Array.isArray(record.severity) ? record.severity.filter(isObject) : undefined);
  const dbSeverity = isObject(record.database_specific) ? GHSA_SEVERITY[String(record.database_specific.severity).toUpperCase()] : undefined;
  const references = Array.isArray(record.references) ? record.references.filter(isObject) : [];
  const advisoryRef = references.find((ref) => ref.type === 'ADVISORY' && typeof ref.url === 'string');
  const out: Advisory[] = [];
  const affected = (record.affected ?? []) as unknown[];
  affected.forEach((entry, index) => {
    const pointer = `/affected/${index}`;
    if (!isObject(entry) || !isObject(entry.package)) throw new WirelockError('ERR_ADVISORY_DB', `${id}: affected entry without "package"`, { file, pointer });
    if (entry.package.ecosystem !== 'npm' || typeof entry.package.name !== 'string') return;
    const ranges: OsvRange[] = [];
    const rawRanges = entry.ranges === undefined ? [] : entry.ranges;
    if (!Array.isArray(rawRanges)) throw new WirelockError('ERR_ADVISORY_DB', `${id}: "ranges" is not an array`, { file, pointer: `${pointer}/ranges` });
    rawRanges.forEach((range, r) => {
      if (!isObject(range) || !Array.isArray(range.events)) {
        throw new WirelockError('ERR_ADVISORY_DB', `${id}: range without "events"`, { file, pointer: `${pointer}/ranges/${r}` });
      }
      // GIT ranges name commits, which a lockfile version cannot be compared with.
      if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') return;
      const events: OsvEvent[] = [];
      range.events.forEach((event, e) => {
        const key = isObject(event) ? Object.keys(event).find((k) => k === 'introduced' || k === 'fixed' || k === 'last_affected' || k === 'limit') : undefined;
        const value = key && isObject(event) ? event[key] : undefined;
        if (!key || typeof value !== 'string') {
          throw new WirelockError('ERR_ADVISORY_DB', `${id}: malformed range event`, { file, pointer: `${pointer}/ranges/${r}/events/${e}` });
        }
        events.push({ [key]: value } as OsvEvent);
      });
      ranges.push({ type: range.type, events });
    });
    const integrity: string[] = [];
    const indicators = isObject(entry.database_specific) && isObject(entry.database_specific.indicators) ? entry.database_specific.indicators : undefined;
    if (indicators && Array.isArray(indicators.package_integrity)) {
      for (const item of indicators.package_integrity) {
        if (isObject(item) && isObject(item.hashes) && typeof item.hashes.sha512_sri === 'string') integrity.push(item.hashes.sha512_sri);
      }
    }
    // Schema 1.4+: severity may be given per affected package instead of for the whole record.
    const own = Array.isArray(entry.severity) ? scoreOsvSeverity(entry.severity.filter(isObject)) : undefined;
    const rated = own ?? scored;
    const advisory: Advisory = {
      id,
      aliases: strings(record.aliases),
      package: entry.package.name,
      summary: typeof record.summary === 'string' ? record.summary : typeof record.details === 'string' ? record.details.split('\n')[0]!.slice(0, 200) : '',
      modified: record.modified as string,
      malicious,
      severity: malicious ? 'critical' : (rated?.severity ?? dbSeverity ?? 'unknown'),
      ranges,
      versions: strings(entry.versions),
      url: typeof advisoryRef?.url === 'string' && advisoryRef.url.startsWith('https://') ? advisoryRef.url : `https://osv.dev/vulnerability/${id}`,
    };
    if (typeof record.published === 'string') advisory.published = record.published;
    if (rated?.score !== undefined) advisory.score = rated.score;
    if (rated?.vector !== undefined) advisory.vector = rated.vector;
    if (integrity.length) advisory.integrity = integrity;
    out.push(advisory);
  });
  return out;
}

function eventVersion(event: OsvEvent): string {
  return Object.values(event)[0] as string;
}

/** "0" as introduced means "from the very first version", below every prerelease of 0.0.0. */
const ZERO = Symbol('zero');

function parseEventVersion(text: string): SemVer | typeof ZERO | undefined {
  return text === '0' ? ZERO : parseVersion(text);
}

function cmp(a: SemVer | typeof ZERO, b: SemVer | typeof ZERO): number {
  if (a === ZERO) return b === ZERO ? 0 : -1;
  if (b === ZERO) return 1;
  return compareSemVer(a, b);
}

export interface RangeVerdict {
  affected: boolean;
  /** Lowest `fixed` above the version within the range that matched. */
  fixed?: string;
  lastAffected?: string;
}

/**
 * OSV "Evaluation" algorithm: events sorted by version, walked in order; introduced opens,
 * fixed closes at that version, last_affected closes after it, limit caps the whole range.
 * Events are sorted here because the schema does not require producers to sort them.
 * Events with versions that are not SemVer are skipped: comparing them would be a guess.
 */
export function evaluateRange(version: SemVer, range: OsvRange): RangeVerdict {
  const parsed = range.events
    .map((event) => ({ event, kind: Object.keys(event)[0] as keyof OsvEvent | string, v: parseEventVersion(eventVersion(event)) }))
    .filter((item): item is { event: OsvEvent; kind: string; v: SemVer | typeof ZERO } => item.v !== undefined);
  const limits = parsed.filter((item) => item.kind === 'limit');
  // "limit: *" means unbounded; any other limit excludes versions at or above it.
  if (limits.length > 0 && !range.events.some((event) => 'limit' in event && event.limit === '*')) {
    if (!limits.some((item) => cmp(version, item.v) < 0)) return { affected: false };
  }
  const sorted = parsed.filter((item) => item.kind !== 'limit').sort((a, b) => cmp(a.v, b.v));
  let affected = false;
  let fixed: string | undefined;
  let lastAffected: string | undefined;
  for (const item of sorted) {
    const c = cmp(version, item.v);
    if (item.kind === 'introduced' && c >= 0) affected = true;
    else if (item.kind === 'fixed' && c >= 0) affected = false;
    else if (item.kind === 'last_affected' && c > 0) affected = false;
  }
  if (affected) {
    const next = sorted.find((item) => (item.kind === 'fixed' && cmp(version, item.v) < 0) || (item.kind === 'last_affected' && cmp(version, item.v) <= 0));
    if (next?.kind === 'fixed') fixed = eventVersion(next.event);
    if (next?.kind === 'last_affected') lastAffected = eventVersion(next.event);
  }
  return { affected, ...(fixed ? { fixed } : {}), ...(lastAffected ? { lastAffected } : {}) };
}

export interface MatchResult {
  advisory: Advisory;
  fixed?: string;
  lastAffected?: string;
  /** How the match was made: an explicit `versions` entry, a range, or a tarball hash indicator. */
  by: 'versions' | 'range' | 'integrity';
}

/** Does `advisory` cover `version` (and, for malware indicators, a tarball with this integrity)? */
export function matchAdvisory(advisory: Advisory, version: string, integrity?: string): MatchResult | undefined {
  if (advisory.versions.includes(version)) return { advisory, by: 'versions' };
  const parsed = parseVersion(version);
  if (parsed) {
    // Build metadata never changes precedence, so "1.0.0+x" is listed as "1.0.0" by some producers.
    for (const listed of advisory.versions) {
      const other = parseVersion(listed);
      if (other && compareSemVer(parsed, other) === 0 && listed.split('+')[0] === version.split('+')[0]) return { advisory, by: 'versions' };
    }
    for (const range of advisory.ranges) {
      const verdict = evaluateRange(parsed, range);
      if (verdict.affected) {
        return { advisory, by: 'range', ...(verdict.fixed ? { fixed: verdict.fixed } : {}), ...(verdict.lastAffected ? { lastAffected: verdict.lastAffected } : {}) };
      }
    }
  }
  if (integrity && advisory.integrity?.some((hash) => integrity.split(/\s+/).includes(hash))) return { advisory, by: 'integrity' };
  return undefined;
}
