/**
 * npm's version order (SemVer 2.0.0 precedence), the order OSV's npm ranges are written in.
 * Only versions are parsed here, never ranges: OSV ranges are event lists, not npm range syntax.
 */
export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  /** Prerelease identifiers; numeric ones are numbers so they compare numerically. */
  pre: Array<string | number>;
}

// Same leniency as `semver.parse` with loose=false: an optional "v" or "=" prefix, build metadata ignored.
const VERSION = /^[v=]?\s*(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function parseVersion(text: string): SemVer | undefined {
  const match = VERSION.exec(text.trim());
  if (!match) return undefined;
  const nums = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
  const pre = match[4] === undefined ? [] : match[4].split('.').map((id) => (/^(0|[1-9]\d*)$/.test(id) ? Number(id) : id));
  // A numeric identifier with a leading zero is invalid in SemVer 2.0.0.
  if (match[4] !== undefined && match[4].split('.').some((id) => /^0\d+$/.test(id))) return undefined;
  return { major: nums[0]!, minor: nums[1]!, patch: nums[2]!, pre };
}

function compareIdentifiers(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareSemVer(a: SemVer, b: SemVer): number {
  const core = a.major - b.major || a.minor - b.minor || a.patch - b.patch;
  if (core !== 0) return Math.sign(core);
  if (a.pre.length === 0 || b.pre.length === 0) return Math.sign(b.pre.length - a.pre.length);
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    if (i >= a.pre.length) return -1;
    if (i >= b.pre.length) return 1;
    const c = compareIdentifiers(a.pre[i]!, b.pre[i]!);
    if (c !== 0) return Math.sign(c);
  }
  return 0;
}

export function formatVersion(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}${v.pre.length ? `-${v.pre.join('.')}` : ''}`;
}

// What real OSV npm records contain besides strict SemVer: "1.0", "v1.2.3", "=1.2.3", "1" and
// numbers with leading zeros. Missing minor/patch are 0, as osv-scanner's npm comparison treats them.
const LENIENT = /^=?\s*v?\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/i;

/**
 * A version as an advisory writes it. Returns undefined for what is not a version at all
 * ("1.x", "^1.2", "latest", a commit): the caller must not guess, it must fail closed.
 */
export function parseLenientVersion(text: string): SemVer | undefined {
  const strict = parseVersion(text);
  if (strict) return strict;
  const match = LENIENT.exec(text.trim());
  if (!match) return undefined;
  const nums = [match[1], match[2] ?? '0', match[3] ?? '0'].map(Number);
  if (nums.some((n) => !Number.isSafeInteger(n))) return undefined;
  const pre = match[4] === undefined ? [] : match[4].split('.').map((id) => (/^\d+$/.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : id));
  return { major: nums[0]!, minor: nums[1]!, patch: nums[2]!, pre };
}
