/**
 * OSV records (https://ossf.github.io/osv-schema/) reduced to what matching needs, and the
 * matching itself. Pure: records in, verdicts out.
 */
import { WirelockError } from '../errors.js';
import { highestRating, osvRatings, type Rating, type Severity } from './cvss.js';
import { compareSemVer, formatVersion, parseLenientVersion, type SemVer } from './semver.js';

export type OsvEvent = { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface OsvRange {
  /** SEMVER and ECOSYSTEM are evaluated; GIT is ignored; any other type is unreadable (fail-closed). */
  type: string;
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
  /** The highest of `ratings` (critical for malicious packages), what `--fail-on` compares. */
  severity: Severity;
  /** Score and vector of the CVSS rating that set `severity`, when a vector did. */
  score?: number;
  vector?: string;
  /** Every rating the record gives: CVSS v4, CVSS v3, the publisher's label. */
  ratings: Rating[];
  ranges: OsvRange[];
  versions: string[];
  /** sha512 SRI hashes of known-bad tarballs (malicious-packages `package_integrity` indicators). */
  integrity?: string[];
  url: string;
  /** Range events that could not be read ("<pointer>: fixed \"1.x\""); such a range covers every version. */
  unreadable?: string[];
}

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

/** Where a record came from: a file on disk, or an entry of an export ZIP. */
export interface RecordSource {
  file: string;
  /** ZIP entry name, when the record is inside an archive. */
  entry?: string;
}

function sourceOf(source: string | RecordSource): RecordSource {
  return typeof source === 'string' ? { file: source } : source;
}

/** "all.zip entry npm/X.json at /affected/0" or "x.json at /affected/0": every record problem says where. */
export function describeLocation(source: RecordSource, pointer: string): string {
  return `${source.entry !== undefined ? `${source.file} entry ${source.entry}` : source.file} at ${pointer === '' ? '(root)' : pointer}`;
}

function recordError(source: RecordSource, pointer: string, what: string): WirelockError {
  return new WirelockError('ERR_ADVISORY_DB', `${describeLocation(source, pointer)}: ${what}`, { file: source.file, ...(source.entry !== undefined ? { entry: source.entry } : {}), pointer });
}

/**
 * Validates the parts of an OSV record matching relies on and returns one Advisory per affected
 * npm package. Withdrawn records yield nothing: the schema says they must be ignored.
 * Throws ERR_ADVISORY_DB naming the file (or ZIP entry) and JSON pointer for a record that is not OSV.
 * Range versions that cannot be read do not fail the record: they are kept, listed in
 * `unreadable`, and evaluated fail-closed.
 */
export function advisoriesFromRecord(record: unknown, source: string | RecordSource = '(record)'): Advisory[] {
  const where = sourceOf(source);
  if (!isObject(record)) throw recordError(where, '', 'not an OSV record: not a JSON object');
  if (typeof record.id !== 'string' || record.id === '') throw recordError(where, '/id', 'not an OSV record: no "id"');
  const id = record.id;
  if (typeof record.modified !== 'string') throw recordError(where, '/modified', `${id}: "modified" missing`);
  if (record.withdrawn !== undefined && record.withdrawn !== null) return [];
  if (record.affected !== undefined && !Array.isArray(record.affected)) throw recordError(where, '/affected', `${id}: "affected" is not an array`);
  const malicious = isMaliciousRecord(record);
  const recordRatings = osvRatings(Array.isArray(record.severity) ? record.severity.filter(isObject) : undefined);
  const label = isObject(record.database_specific) ? record.database_specific.severity : undefined;
  const references = Array.isArray(record.references) ? record.references.filter(isObject) : [];
  const advisoryRef = references.find((ref) => ref.type === 'ADVISORY' && typeof ref.url === 'string');
  const out: Advisory[] = [];
  const affected = (record.affected ?? []) as unknown[];
  affected.forEach((entry, index) => {
    const pointer = `/affected/${index}`;
    if (!isObject(entry) || !isObject(entry.package)) throw recordError(where, pointer, `${id}: affected entry without "package"`);
    if (entry.package.ecosystem !== 'npm' || typeof entry.package.name !== 'string') return;
    const ranges: OsvRange[] = [];
    const unreadable: string[] = [];
    const rawRanges = entry.ranges === undefined ? [] : entry.ranges;
    if (!Array.isArray(rawRanges)) throw recordError(where, `${pointer}/ranges`, `${id}: "ranges" is not an array`);
    rawRanges.forEach((range, r) => {
      const at = `${pointer}/ranges/${r}`;
      if (!isObject(range) || !Array.isArray(range.events)) throw recordError(where, at, `${id}: range without "events"`);
      if (typeof range.type !== 'string') throw recordError(where, `${at}/type`, `${id}: range without "type"`);
      const events: OsvEvent[] = [];
      range.events.forEach((event, e) => {
        const keys = isObject(event) ? Object.keys(event).filter((k) => (EVENT_KINDS as readonly string[]).includes(k)) : [];
        const value = keys.length === 1 && isObject(event) ? event[keys[0]!] : undefined;
        if (keys.length !== 1 || typeof value !== 'string') throw recordError(where, `${at}/events/${e}`, `${id}: malformed range event (one of introduced, fixed, last_affected, limit with a string version)`);
        events.push({ [keys[0]!]: value } as OsvEvent);
        if (SUPPORTED_RANGE(range.type as string) && readEventVersion(keys[0] as EventKind, value) === undefined) unreadable.push(`${at}/events/${e}: ${keys[0]} ${JSON.stringify(value)}`);
      });
      if (!SUPPORTED_RANGE(range.type) && range.type !== 'GIT') unreadable.push(`${at}/type: range type ${JSON.stringify(range.type)}`);
      // GIT ranges name commits, which a lockfile version cannot be compared with.
      if (range.type !== 'GIT') ranges.push({ type: range.type, events });
    });
    if (entry.versions !== undefined && !Array.isArray(entry.versions)) throw recordError(where, `${pointer}/versions`, `${id}: "versions" is not an array`);
    const integrity: string[] = [];
    const indicators = isObject(entry.database_specific) && isObject(entry.database_specific.indicators) ? entry.database_specific.indicators : undefined;
    if (indicators && Array.isArray(indicators.package_integrity)) {
      for (const item of indicators.package_integrity) {
        if (isObject(item) && isObject(item.hashes) && typeof item.hashes.sha512_sri === 'string') integrity.push(item.hashes.sha512_sri);
      }
    }
    // Schema 1.4+: severity may be given per affected package instead of for the whole record.
    const own = Array.isArray(entry.severity) ? osvRatings(entry.severity.filter(isObject)) : [];
    const ratings = [...(own.length ? own : recordRatings), ...osvRatings(undefined, label)];
    const top = highestRating(ratings);
    const advisory: Advisory = {
      id,
      aliases: strings(record.aliases),
      package: entry.package.name,
      summary: typeof record.summary === 'string' ? record.summary : typeof record.details === 'string' ? record.details.split('\n')[0]!.slice(0, 200) : '',
      modified: record.modified as string,
      malicious,
      severity: malicious ? 'critical' : (top?.severity ?? 'unknown'),
      ratings,
      ranges,
      versions: strings(entry.versions),
      url: typeof advisoryRef?.url === 'string' && advisoryRef.url.startsWith('https://') ? advisoryRef.url : `https://osv.dev/vulnerability/${id}`,
    };
    if (typeof record.published === 'string') advisory.published = record.published;
    if (top?.score !== undefined) advisory.score = top.score;
    if (top?.vector !== undefined) advisory.vector = top.vector;
    if (integrity.length) advisory.integrity = integrity;
    if (unreadable.length) advisory.unreadable = unreadable;
    out.push(advisory);
  });
  return out;
}

type Bound = SemVer | typeof ZERO;

/** "0" (and "*", which real records also write) as introduced means "from the very first version", below every prerelease of 0.0.0. */
const ZERO = Symbol('zero');
/** "limit: *" means no limit. */
const UNBOUNDED = Symbol('unbounded');

const EVENT_KINDS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;
type EventKind = (typeof EVENT_KINDS)[number];

function eventEntry(event: OsvEvent): [EventKind, string] {
  const kind = EVENT_KINDS.find((k) => k in event)!;
  return [kind, (event as Record<string, string>)[kind]!];
}

/** One event's version, read as leniently as osv-scanner reads npm versions; undefined = unreadable. */
function readEventVersion(kind: EventKind, text: string): Bound | typeof UNBOUNDED | undefined {
  const t = text.trim();
  if (kind === 'introduced' && (t === '0' || t === '*')) return ZERO;
  if (kind === 'limit' && t === '*') return UNBOUNDED;
  return parseLenientVersion(t);
}

function cmp(a: Bound, b: Bound): number {
  if (a === ZERO) return b === ZERO ? 0 : -1;
  if (b === ZERO) return 1;
  return compareSemVer(a, b);
}

const SUPPORTED_RANGE = (type: string) => type === 'SEMVER' || type === 'ECOSYSTEM';

/**
 * Why a range cannot be evaluated, or undefined when it can. GIT ranges are not "unreadable":
 * commits say nothing about npm versions, and the records that carry them also carry npm ranges.
 */
export function rangeProblem(range: OsvRange): string | undefined {
  if (!SUPPORTED_RANGE(range.type)) return range.type === 'GIT' ? undefined : `range type ${JSON.stringify(range.type)}`;
  for (const event of range.events) {
    const [kind, text] = eventEntry(event);
    if (readEventVersion(kind, text) === undefined) return `${kind} ${JSON.stringify(text)}`;
  }
  return undefined;
}

export interface RangeVerdict {
  affected: boolean;
  /** Lowest `fixed` above the version within the range that matched. */
  fixed?: string;
  lastAffected?: string;
  /** The range could not be read, so it is treated as covering every version (fail-closed). */
  unreadable?: boolean;
}

/**
 * OSV "Evaluation" algorithm: events sorted by version, walked in order; introduced opens,
 * fixed closes at that version, last_affected closes after it, limit caps the whole range.
 * Events are sorted here because the schema does not require producers to sort them.
 * A range with a version that cannot be read at all covers every version: dropping the event
 * (what this did before) silently turned "affected from 1.0" into "never affected".
 */
export function evaluateRange(version: SemVer, range: OsvRange): RangeVerdict {
  if (range.type === 'GIT') return { affected: false };
  if (!SUPPORTED_RANGE(range.type)) return { affected: true, unreadable: true };
  const prepared = prepareRange(range);
  if (prepared.unreadable) return { affected: true, unreadable: true };
  const { limits, sorted } = prepared;
  if (limits.length > 0 && !prepared.unbounded && !limits.some((item) => cmp(version, item.v) < 0)) return { affected: false };
  let affected = false;
  for (const item of sorted) {
    const c = cmp(version, item.v);
    if (item.kind === 'introduced' && c >= 0) affected = true;
    else if (item.kind === 'fixed' && c >= 0) affected = false;
    else if (item.kind === 'last_affected' && c > 0) affected = false;
  }
  if (!affected) return { affected };
  const next = sorted.find((item) => (item.kind === 'fixed' && cmp(version, item.v) < 0) || (item.kind === 'last_affected' && cmp(version, item.v) <= 0));
  if (next?.kind === 'fixed') return { affected, fixed: formatVersion(next.v as SemVer) };
  if (next?.kind === 'last_affected') return { affected, lastAffected: formatVersion(next.v as SemVer) };
  return { affected };
}

interface PreparedRange {
  /** Every event's version as read (undefined: unreadable), in the record's order. */
  events: Array<{ kind: EventKind; text: string; v: Bound | typeof UNBOUNDED | undefined }>;
  unreadable: boolean;
  unbounded: boolean;
  limits: Array<{ kind: EventKind; text: string; v: Bound }>;
  /** The non-limit events, sorted as the evaluation walks them. */
  sorted: Array<{ kind: EventKind; text: string; v: Bound }>;
}

// Each range's versions are read and sorted once per audit, not once per package version checked.
const preparedRanges = new WeakMap<OsvRange, PreparedRange>();

function prepareRange(range: OsvRange): PreparedRange {
  const known = preparedRanges.get(range);
  if (known) return known;
  const events = range.events.map((event): PreparedRange['events'][number] => {
    const [kind, text] = eventEntry(event);
    return { kind, text, v: readEventVersion(kind, text) };
  });
  const parsed: Array<{ kind: EventKind; text: string; v: Bound }> = [];
  let unbounded = false;
  let unreadable = false;
  for (const { kind, text, v } of events) {
    if (v === undefined) unreadable = true;
    else if (v === UNBOUNDED) unbounded = true;
    else parsed.push({ kind, text, v });
  }
  // At equal versions "introduced" comes first, so introduced X + fixed X is the empty interval
  // whatever order the producer wrote them in.
  const sorted = parsed.filter((item) => item.kind !== 'limit').sort((a, b) => cmp(a.v, b.v) || (a.kind === 'introduced' ? 0 : 1) - (b.kind === 'introduced' ? 0 : 1));
  const prepared: PreparedRange = { events, unreadable, unbounded, limits: parsed.filter((item) => item.kind === 'limit'), sorted };
  preparedRanges.set(range, prepared);
  return prepared;
}

// The `versions` list of each advisory, read once.
const listedVersions = new WeakMap<Advisory, Array<SemVer | undefined>>();

function listedVersion(listed: string, other: SemVer | undefined, version: string, parsed: SemVer | undefined): boolean {
  if (listed === version) return true;
  if (!parsed) return false;
  // Build metadata never changes precedence, so "1.0.0+x" is listed as "1.0.0" by some producers;
  // "v1.0.0" and "=1.0.0" name the same version too.
  return other !== undefined && compareSemVer(parsed, other) === 0;
}

/** Does the advisory's `versions` list or any of its ranges cover this version? */
function covers(advisory: Advisory, version: string, parsed: SemVer | undefined): { by: 'versions' } | { by: 'range'; verdict: RangeVerdict } | undefined {
  let listed = listedVersions.get(advisory);
  if (!listed) listedVersions.set(advisory, (listed = advisory.versions.map((text) => parseLenientVersion(text))));
  const others = listed;
  if (advisory.versions.some((text, k) => listedVersion(text, others[k], version, parsed))) return { by: 'versions' };
  if (!parsed) return undefined;
  let unreadable: RangeVerdict | undefined;
  for (const range of advisory.ranges) {
    const verdict = evaluateRange(parsed, range);
    if (!verdict.affected) continue;
    // A readable range that covers the version is the better evidence (it can name a fix).
    if (!verdict.unreadable) return { by: 'range', verdict };
    unreadable ??= verdict;
  }
  return unreadable ? { by: 'range', verdict: unreadable } : undefined;
}

/**
 * The lowest version above `version` that none of the advisories covers, chosen among the
 * `fixed` versions they name: with several ranges (or merged records) the first fix of one range
 * can sit inside another, and showing it would send the user to another affected version.
 * Undefined when no fixed version escapes every range (or a range is unreadable).
 */
export function fixVersion(advisories: readonly Advisory[], version: string): string | undefined {
  const parsed = parseLenientVersion(version);
  if (!parsed) return undefined;
  const candidates: SemVer[] = [];
  for (const advisory of advisories) {
    for (const range of advisory.ranges) {
      if (!SUPPORTED_RANGE(range.type)) continue;
      for (const { kind, v } of prepareRange(range).events) {
        if (kind !== 'fixed') continue;
        if (v !== undefined && v !== ZERO && v !== UNBOUNDED && compareSemVer(v, parsed) > 0) candidates.push(v);
      }
    }
  }
  candidates.sort(compareSemVer);
  for (const candidate of candidates) {
    const text = formatVersion(candidate);
    if (!advisories.some((advisory) => covers(advisory, text, candidate))) return text;
  }
  return undefined;
}

export interface MatchResult {
  advisory: Advisory;
  /** Lowest version no range of the record covers (see fixVersion), whichever way the match was made. */
  fixed?: string;
  lastAffected?: string;
  /** How the match was made: an explicit `versions` entry, a range, or a tarball hash indicator. */
  by: 'versions' | 'range' | 'integrity';
  /** Matched only through a range whose versions could not be read (fail-closed). */
  unreadable?: boolean;
}

/** Does `advisory` cover `version` (and, for malware indicators, a tarball with this integrity)? */
export function matchAdvisory(advisory: Advisory, version: string, integrity?: string): MatchResult | undefined {
  const parsed = parseLenientVersion(version);
  const hit = covers(advisory, version, parsed);
  if (hit) {
    const result: MatchResult = { advisory, by: hit.by };
    const fixed = fixVersion([advisory], version);
    if (fixed) result.fixed = fixed;
    if (hit.by === 'range') {
      if (hit.verdict.lastAffected && !fixed) result.lastAffected = hit.verdict.lastAffected;
      if (hit.verdict.unreadable) result.unreadable = true;
    }
    return result;
  }
  if (integrity && advisory.integrity?.some((hash) => integrity.split(/\s+/).includes(hash))) return { advisory, by: 'integrity' };
  return undefined;
}
