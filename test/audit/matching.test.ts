// Known answers for OSV matching on records shaped like the real ones (test/fixtures/audit/osv-shapes):
// lenient versions, fail-closed unreadable ranges, fixes derived from every range, every rating shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { auditGraph } from '../../src/audit/audit.js';
import { buildIndex, indexFromDirectory, indexLookup } from '../../src/audit/db.js';
import { parseLockfile } from '../../src/audit/lockfile/read.js';
import { advisoriesFromRecord, fixVersion, matchAdvisory, type Advisory } from '../../src/audit/osv.js';
import { compareSemVer, formatVersion, parseLenientVersion, parseVersion, type SemVer } from '../../src/audit/semver.js';
import { FIXTURES } from './support.js';

const SHAPES = join(FIXTURES, 'osv-shapes');
const records = readdirSync(SHAPES).filter((f) => f.endsWith('.json')).map((f) => ({ file: f, record: JSON.parse(readFileSync(join(SHAPES, f), 'utf8')) as Record<string, any> }));
const advisory = (id: string): Advisory => advisoriesFromRecord(records.find((r) => r.record.id === id)!.record, join(SHAPES, `${id}.json`))[0]!;
const verdicts = (a: Advisory, versions: string[]) => versions.map((v) => (matchAdvisory(a, v) ? `${v}:${matchAdvisory(a, v)!.fixed ?? '-'}` : `${v}:no`));

test('lenient versions as real records write them: "1.0", "v1.2.3", "=1.2.3", "*"', () => {
  assert.deepEqual(parseLenientVersion('1.0'), { major: 1, minor: 0, patch: 0, pre: [] });
  assert.deepEqual(parseLenientVersion('v7.4.6'), { major: 7, minor: 4, patch: 6, pre: [] });
  assert.deepEqual(parseLenientVersion('=1.2.3'), { major: 1, minor: 2, patch: 3, pre: [] });
  assert.deepEqual(parseLenientVersion('2'), { major: 2, minor: 0, patch: 0, pre: [] });
  assert.deepEqual(parseLenientVersion('1.0-beta.2'), { major: 1, minor: 0, patch: 0, pre: ['beta', 2] });
  for (const bad of ['2.x', '^1.2.3', 'latest', '', '1.2.3.4', '>=1.0.0', 'abcdef0']) assert.equal(parseLenientVersion(bad), undefined, bad);

  // "introduced": "1.0": before, this event was dropped and the range never matched (fail open).
  assert.deepEqual(verdicts(advisory('GHSA-wl01-intr-1000'), ['0.9.9', '1.0.0', '1.0.0-rc.1', '1.3.9', '1.4.2', '2.0.0']), ['0.9.9:no', '1.0.0:1.4.2', '1.0.0-rc.1:no', '1.3.9:1.4.2', '1.4.2:no', '2.0.0:no']);
  // "introduced": "*" opens at the very first version; the v-prefixed fix prints as a version.
  assert.deepEqual(verdicts(advisory('GHSA-wl02-star-vfix'), ['0.0.0-alpha', '0.1.0', '7.4.5', '7.4.6', '8.0.0']), ['0.0.0-alpha:7.4.6', '0.1.0:7.4.6', '7.4.5:7.4.6', '7.4.6:no', '8.0.0:no']);
  // "=1.2.0" .. last_affected "=1.2.3": no fixed version named, so no fix shown; the last affected one is.
  const eq = advisory('GHSA-wl03-eqla-last');
  assert.deepEqual(verdicts(eq, ['1.1.9', '1.2.0', '1.2.3', '1.2.4-0', '1.2.4']), ['1.1.9:no', '1.2.0:-', '1.2.3:-', '1.2.4-0:no', '1.2.4:no']);
  assert.equal(matchAdvisory(eq, '1.2.1')?.lastAffected, '1.2.3');
  for (const a of records.flatMap((r) => advisoriesFromRecord(r.record, r.file))) {
    if (a.id !== 'GHSA-wl07-unre-adbl') assert.equal(a.unreadable, undefined, `${a.id} is fully readable`);
  }
});

test('a versions list and ranges in one entry: a versions hit still gets the fix from the range', () => {
  const both = advisory('GHSA-wl04-vers-rang');
  const hit = matchAdvisory(both, '4.0.0')!;
  assert.equal(hit.by, 'versions');
  assert.equal(hit.fixed, '4.0.1', 'was "no fix" when the versions hit returned before the ranges were read');
  assert.deepEqual(verdicts(both, ['2.9.9', '3.0.0', '3.1.0', '3.3.0', '4.0.1']), ['2.9.9:no', '3.0.0:4.0.1', '3.1.0:4.0.1', '3.3.0:4.0.1', '4.0.1:no']);
});

test('several ranges: the fix is the lowest version no range covers', () => {
  const many = advisory('GHSA-wl05-many-rang');
  // 1.2.0 fixes the first range but sits inside the second (1.1.5 .. 1.3.0).
  assert.deepEqual(verdicts(many, ['0.9.0', '1.0.0', '1.1.9', '1.2.0', '1.2.9', '1.3.0', '1.9.0', '2.0.0', '2.0.4']), ['0.9.0:no', '1.0.0:1.3.0', '1.1.9:1.3.0', '1.2.0:1.3.0', '1.2.9:1.3.0', '1.3.0:no', '1.9.0:no', '2.0.0:2.0.4', '2.0.4:no']);
  assert.equal(matchAdvisory(many, '1.0.0-beta'), undefined);
  // Merged records (one CVE, two GHSA ids): one finding, and its fix clears both.
  const merged = ['GHSA-wl08-alia-sone', 'GHSA-wl09-alia-stwo'].map(advisory);
  assert.equal(fixVersion(merged, '5.0.7'), '5.1.3');
  assert.equal(fixVersion(merged, '5.0.1'), '5.1.3', '5.1.0 fixes the first record only');
  assert.equal(fixVersion([merged[0]!], '5.0.1'), '5.1.0');
});

test('severity: every rating shown (v4, v3, label), the gate uses the highest', () => {
  const sev = advisory('GHSA-wl06-sev3-4lab');
  assert.deepEqual(sev.ratings.map((r) => `${r.type} ${r.score ?? r.label} ${r.severity}`), ['CVSS_V4 2.3 low', 'CVSS_V3 5.3 medium', 'LABEL MODERATE medium']);
  assert.equal(sev.severity, 'medium', 'the v4 score (2.3, low) used to win and pass --fail-on medium');
  assert.equal(advisory('GHSA-wl01-intr-1000').severity, 'critical');
});

test('an unreadable range is fail-closed: every version affected, flagged, no fix, counted at index time', () => {
  const bad = advisory('GHSA-wl07-unre-adbl');
  assert.deepEqual(bad.unreadable, ['/affected/0/ranges/0/events/1: fixed "2.x"']);
  for (const v of ['0.1.0', '2.0.0', '9.9.9']) {
    const m = matchAdvisory(bad, v)!;
    assert.deepEqual([m.by, m.unreadable, m.fixed], ['range', true, undefined], v);
  }
  const built = indexFromDirectory(SHAPES);
  assert.equal(built.meta.unreadableRanges, 1);
  assert.equal(built.meta.unreadableExamples.length, 1);
  assert.match(built.meta.unreadableExamples[0]!, /^GHSA-wl07-unre-adbl \(.*GHSA-wl07-unre-adbl\.json at \/affected\/0\/ranges\/0\/events\/1\): fixed "2\.x"$/);
  // Unknown range types are unreadable too; GIT ranges are not (commits are not npm versions).
  const odd = advisoriesFromRecord({ id: 'X-1', modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'p' }, ranges: [{ type: 'GIT', repo: 'https://example.invalid/r', events: [{ introduced: '0' }, { fixed: 'abc' }] }, { type: 'SEMVER2', events: [{ introduced: '0' }] }] }] })[0]!;
  assert.deepEqual(odd.unreadable, ['/affected/0/ranges/1/type: range type "SEMVER2"']);
  assert.equal(matchAdvisory(odd, '1.0.0')?.unreadable, true);
});

test('through the audit: findings carry the fix, every rating, the unreadable flag; --fail-on medium fails on the label', () => {
  const db = indexLookup(indexFromDirectory(SHAPES));
  const deps: Record<string, string> = { 'wl-intro': '1.0.0', 'wl-star': '7.4.5', 'wl-both': '4.0.0', 'wl-ranges': '1.2.0', 'wl-severity': '2.0.0', 'wl-unreadable': '3.0.0', 'wl-merged': '5.0.7', 'wl-equal': '1.2.4' };
  const lock = { name: 'app', version: '1.0.0', lockfileVersion: 3, packages: { '': { name: 'app', dependencies: deps }, ...Object.fromEntries(Object.entries(deps).map(([n, v]) => [`node_modules/${n}`, { version: v, resolved: `https://registry.npmjs.org/${n}/-/${n}-${v}.tgz`, integrity: 'sha512-AAAA' }])) } };
  const result = auditGraph(parseLockfile(JSON.stringify(lock), 'package-lock.json'), 'package-lock.json', db);
  const vulns = result.findings.filter((f) => f.kind === 'vulnerability');
  const by = Object.fromEntries(vulns.map((f) => [f.package.name, f]));
  assert.deepEqual(Object.keys(by).sort(), ['wl-both', 'wl-intro', 'wl-merged', 'wl-ranges', 'wl-severity', 'wl-star', 'wl-unreadable']);
  assert.deepEqual(Object.fromEntries(vulns.map((f) => [f.package.name, f.fixed ?? null])), { 'wl-intro': '1.4.2', 'wl-star': '7.4.6', 'wl-both': '4.0.1', 'wl-ranges': '1.3.0', 'wl-severity': '2.1.0', 'wl-unreadable': null, 'wl-merged': '5.1.3' });
  assert.deepEqual(by['wl-merged']!.aliases, ['CVE-2025-90008', 'GHSA-wl08-alia-sone', 'GHSA-wl09-alia-stwo']);
  assert.equal(vulns.filter((f) => f.package.name === 'wl-merged').length, 1);
  assert.deepEqual(by['wl-unreadable']!.flags, ['range unreadable']);
  assert.equal(by['wl-intro']!.flags, undefined);
  assert.equal(by['wl-severity']!.severity, 'medium');
  assert.deepEqual(by['wl-severity']!.ratings!.map((r) => r.type), ['CVSS_V4', 'CVSS_V3', 'LABEL']);
});

test('record problems name the file or ZIP entry and the JSON pointer', () => {
  const bad = (record: unknown) => ({ name: 'npm/BAD-2.json', bytes: JSON.stringify(record), where: { file: '/tmp/all.zip', entry: 'npm/BAD-2.json' } });
  const cases: Array<[unknown, string, RegExp]> = [
    [{ modified: '2025-01-01T00:00:00Z' }, '/id', /not an OSV record: no "id"/],
    [[], '', /not a JSON object/],
    [{ id: 'BAD-2', modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'p' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: 3 }] }] }] }, '/affected/0/ranges/0/events/1', /BAD-2: malformed range event/],
    [{ id: 'BAD-2', modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'p' }, versions: '1.0.0' }] }, '/affected/0/versions', /"versions" is not an array/],
  ];
  for (const [record, pointer, what] of cases) {
    assert.throws(() => buildIndex([bad(record)], '/tmp/all.zip'), (e: any) => {
      assert.equal(e.code, 'ERR_ADVISORY_DB');
      assert.deepEqual([e.details.file, e.details.entry, e.details.pointer], ['/tmp/all.zip', 'npm/BAD-2.json', pointer]);
      assert.ok(e.message.startsWith(`/tmp/all.zip entry npm/BAD-2.json at ${pointer || '(root)'}: `), e.message);
      assert.match(e.message, what);
      return true;
    });
  }
  assert.throws(() => buildIndex([{ name: 'npm/x.json', bytes: '{nope', where: { file: '/tmp/all.zip', entry: 'npm/x.json' } }], '/tmp/all.zip'), /\/tmp\/all\.zip entry npm\/x\.json at \(root\): not JSON/);
  // A folder of records: the file path itself.
  assert.throws(() => buildIndex([{ name: 'a/b.json', bytes: '{"id":"B","modified":"x","affected":{}}' }], '/srv/osv'), /^WirelockError: \/srv\/osv\/a\/b\.json at \/affected: B: "affected" is not an array$/);
});

// Property: random records (several ranges of introduced/fixed/last_affected intervals in any
// order and any of the spellings real records use, plus a versions list) and random versions.
const small: fc.Arbitrary<SemVer> = fc.record({ major: fc.nat(4), minor: fc.nat(3), patch: fc.nat(3), pre: fc.oneof({ weight: 4, arbitrary: fc.constant([] as Array<string | number>) }, { weight: 1, arbitrary: fc.constant(['rc', 1] as Array<string | number>) }) });
const spelled = (v: SemVer) =>
  fc.constantFrom(
    formatVersion(v),
    `v${formatVersion(v)}`,
    `=${formatVersion(v)}`,
    // "1.0" only where it means the same version (no patch, no prerelease).
    v.patch === 0 && v.pre.length === 0 ? `${v.major}.${v.minor}` : formatVersion(v),
  );
interface Interval { lo: SemVer | 'zero'; hi: SemVer | undefined; closed: boolean }
const interval: fc.Arbitrary<{ interval: Interval; events: fc.Arbitrary<Array<Record<string, string>>> }> = fc
  .tuple(fc.option(small, { nil: undefined }), fc.option(small, { nil: undefined }), fc.boolean())
  .map(([a, b, closed]) => {
    let lo: SemVer | 'zero' = a ?? 'zero';
    let hi = b;
    if (lo !== 'zero' && hi && compareSemVer(lo, hi) > 0) [lo, hi] = [hi, lo];
    const events = fc.tuple(lo === 'zero' ? fc.constantFrom('0', '*') : spelled(lo), hi ? spelled(hi) : fc.constant('')).map(([l, h]): Array<Record<string, string>> => [{ introduced: l }, ...(hi ? [closed ? { last_affected: h } : { fixed: h }] : [])]);
    return { interval: { lo, hi, closed }, events };
  });
const inInterval = (v: SemVer, i: Interval) => (i.lo === 'zero' || compareSemVer(v, i.lo) >= 0) && (i.hi === undefined || (i.closed ? compareSemVer(v, i.hi) <= 0 : compareSemVer(v, i.hi) < 0));

test('property: a version inside any range is always reported, and the fix shown is never itself affected', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(interval, { minLength: 1, maxLength: 1 }), { minLength: 1, maxLength: 3 }).chain((ranges) =>
        fc.tuple(fc.constant(ranges.map((r) => r[0]!.interval)), fc.tuple(...ranges.map((r) => r[0]!.events)), fc.array(small, { maxLength: 3 }), small, fc.boolean()),
      ),
      ([intervals, eventLists, listed, probe, reverse]) => {
        const record = {
          id: 'GHSA-prop-erty-test',
          modified: '2025-01-01T00:00:00Z',
          affected: [{ package: { ecosystem: 'npm', name: 'p' }, ranges: eventLists.map((events) => ({ type: 'ECOSYSTEM', events: reverse ? [...events].reverse() : events })), versions: listed.map(formatVersion) }],
        };
        const [adv] = advisoriesFromRecord(record, 'prop.json');
        const text = formatVersion(probe);
        const expected = intervals.some((i) => inInterval(probe, i)) || listed.some((l) => compareSemVer(l, probe) === 0);
        const match = matchAdvisory(adv!, text);
        assert.equal(match !== undefined, expected, `${text} in ${JSON.stringify(record.affected[0])}`);
        if (match?.fixed) {
          const fix = parseVersion(match.fixed)!;
          assert.ok(compareSemVer(fix, probe) > 0, 'a fix is an upgrade');
          assert.equal(matchAdvisory(adv!, match.fixed), undefined, `fix ${match.fixed} for ${text} is itself affected`);
          assert.ok(!intervals.some((i) => inInterval(fix, i)) && !listed.some((l) => compareSemVer(l, fix) === 0));
        }
      },
    ),
    { numRuns: 3000 },
  );
});
