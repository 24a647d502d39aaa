import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { advisoriesFromRecord, evaluateRange, matchAdvisory, type Advisory, type OsvRange } from '../../src/audit/osv.js';
import { compareSemVer, formatVersion, parseVersion, type SemVer } from '../../src/audit/semver.js';
import { isWirelockError } from '../../src/errors.js';

// Real-world OSV records kept in test/vectors/osv (provenance in its SOURCES.md).
const VECTORS = join(process.cwd(), 'test', 'vectors', 'osv', 'npm');
const records = readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, record: JSON.parse(readFileSync(join(VECTORS, f), 'utf8')) as Record<string, any> }));
const all: Advisory[] = records.flatMap(({ file, record }) => advisoriesFromRecord(record, file));

function idsFor(name: string, version: string, integrity?: string): string[] {
  return all
    .filter((a) => a.package === name)
    .map((a) => matchAdvisory(a, version, integrity))
    .filter((m) => m !== undefined)
    .map((m) => m!.advisory.id)
    .sort();
}

test('every shared OSV record loads; withdrawn ones yield nothing', () => {
  assert.ok(records.length >= 4, `expected the shared vectors, found ${records.length}`);
  for (const { file, record } of records) {
    const advisories = advisoriesFromRecord(record, file);
    if (record.withdrawn) assert.equal(advisories.length, 0, `${file} is withdrawn`);
    else assert.equal(advisories.length, record.affected.filter((a: any) => a.package.ecosystem === 'npm').length, file);
  }
});

test('every shared record matches as its own ranges say (introduced in, fixed out, just below fixed in)', () => {
  let checked = 0;
  for (const { file, record } of records) {
    const live = record.withdrawn ? { ...record, withdrawn: undefined } : record;
    for (const advisory of advisoriesFromRecord(live, file)) {
      for (const v of advisory.versions) {
        assert.ok(matchAdvisory(advisory, v), `${file}: listed version ${v}`);
        checked++;
      }
      for (const range of advisory.ranges) {
        for (const event of range.events) {
          const [kind, version] = Object.entries(event)[0]!;
          if (kind === 'introduced' && version !== '0') assert.ok(evaluateRange(parseVersion(version)!, range).affected, `${file}: introduced ${version}`);
          if (kind === 'fixed') {
            const fixed = parseVersion(version)!;
            assert.equal(evaluateRange(fixed, range).affected, false, `${file}: fixed ${version}`);
            const below = fixed.patch > 0 ? { ...fixed, patch: fixed.patch - 1, pre: [] } : { ...fixed, pre: ['rc', 0] };
            assert.ok(evaluateRange(below, range).affected, `${file}: ${formatVersion(below)} below fixed ${version}`);
            assert.equal(evaluateRange(below, range).fixed, version);
          }
          checked++;
        }
      }
    }
  }
  assert.ok(checked >= 8);
});

test('known answers: lodash 4.17.15 and minimist 1.2.0 get exactly the covering advisories, fixed versions none', () => {
  assert.deepEqual(idsFor('lodash', '4.17.15'), ['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw']);
  assert.deepEqual(idsFor('lodash', '4.17.19'), ['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw']);
  assert.deepEqual(idsFor('lodash', '4.17.20'), ['GHSA-35jh-r3h4-6jhm']);
  assert.deepEqual(idsFor('lodash', '4.17.21'), []);
  assert.deepEqual(idsFor('lodash-es', '4.17.15'), ['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw']);
  assert.deepEqual(idsFor('lodash-es', '4.17.21'), []);
  assert.deepEqual(idsFor('minimist', '1.2.0'), ['GHSA-vh95-rmgr-6w4m']);
  assert.deepEqual(idsFor('minimist', '0.0.8'), ['GHSA-vh95-rmgr-6w4m']);
  assert.deepEqual(idsFor('minimist', '0.2.1'), []);
  assert.deepEqual(idsFor('minimist', '0.2.4'), [], 'between the two ranges');
  assert.deepEqual(idsFor('minimist', '1.2.3'), []);
  assert.deepEqual(idsFor('minimist', '1.2.8'), []);
  assert.deepEqual(idsFor('minimist', '1.2.3-beta.1'), ['GHSA-vh95-rmgr-6w4m'], 'a prerelease of the fix is still before it');
  assert.deepEqual(idsFor('chalk', '2.4.2'), []);
  const fix = matchAdvisory(all.find((a) => a.id === 'GHSA-vh95-rmgr-6w4m' && a.ranges[0]!.events.some((e) => 'introduced' in e && e.introduced === '1.0.0'))!, '1.2.0');
  assert.equal(fix?.fixed, '1.2.3');
});

test('severity from the vector, aliases kept, malicious records always critical', () => {
  const lodash = all.find((a) => a.id === 'GHSA-35jh-r3h4-6jhm')!;
  assert.deepEqual([lodash.severity, lodash.score, lodash.aliases], ['high', 7.2, ['CVE-2021-23337']]);
  assert.equal(all.find((a) => a.id === 'GHSA-vh95-rmgr-6w4m')!.severity, 'medium');
  const mal = records.find((r) => r.record.id.startsWith('MAL-'))!.record;
  assert.ok(mal.withdrawn, 'the shared MAL record is a withdrawn one');
  assert.deepEqual(advisoriesFromRecord(mal), [], 'withdrawn: ignored');
  const live = advisoriesFromRecord({ ...mal, withdrawn: undefined });
  assert.equal(live[0]!.malicious, true);
  assert.equal(live[0]!.severity, 'critical');
  assert.ok(matchAdvisory(live[0]!, '6.0.0'));
  assert.equal(matchAdvisory(live[0]!, '6.0.1'), undefined, 'only the listed version');
  // The record's tarball hash indicator also identifies the bad tarball under another version string.
  const sri = mal.affected[0].database_specific.indicators.package_integrity[0].hashes.sha512_sri;
  assert.equal(matchAdvisory(live[0]!, '0.0.0-local', sri)?.by, 'integrity');
});

const base = { schema_version: '1.6.0', modified: '2024-01-01T00:00:00Z' };
const rec = (ranges: unknown, extra: Record<string, unknown> = {}) =>
  advisoriesFromRecord({ ...base, id: 'TEST-1', affected: [{ package: { ecosystem: 'npm', name: 'p' }, ranges, ...extra }] })[0]!;
const hit = (advisory: Advisory, v: string) => matchAdvisory(advisory, v) !== undefined;

test('range edge cases: last_affected, limit, unsorted events, several intervals, prerelease, GIT ranges, versions', () => {
  const lastAffected = rec([{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { last_affected: '1.4.2' }] }]);
  assert.deepEqual(['0.9.9', '1.0.0', '1.4.2', '1.4.3-alpha', '1.4.3'].map((v) => hit(lastAffected, v)), [false, true, true, false, false]);

  const limited = rec([{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { limit: '2.0.0' }] }]);
  assert.deepEqual(['0.0.0-a', '1.9.9', '2.0.0', '3.0.0'].map((v) => hit(limited, v)), [true, true, false, false]);
  const star = rec([{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { limit: '*' }] }]);
  assert.equal(hit(star, '99.0.0'), true);

  // Producers do not always sort: the evaluation must.
  const unsorted = rec([{ type: 'SEMVER', events: [{ fixed: '2.0.1' }, { introduced: '3.0.0' }, { fixed: '1.1.0' }, { introduced: '2.0.0' }, { introduced: '1.0.0' }] }]);
  assert.deepEqual(['0.5.0', '1.0.0', '1.0.9', '1.1.0', '1.9.9', '2.0.0', '2.0.1', '2.9.9', '3.0.0', '9.0.0'].map((v) => hit(unsorted, v)), [false, true, true, false, false, true, false, false, true, true]);
  assert.equal(matchAdvisory(unsorted, '2.0.0')?.fixed, '2.0.1');
  assert.equal(matchAdvisory(unsorted, '3.1.0')?.fixed, undefined, 'no fix above 3.0.0');

  const pre = rec([{ type: 'SEMVER', events: [{ introduced: '2.0.0-beta.2' }, { fixed: '2.0.0-rc.1' }] }]);
  assert.deepEqual(['2.0.0-beta.1', '2.0.0-beta.2', '2.0.0-beta.10', '2.0.0-rc.1', '2.0.0', '1.9.9'].map((v) => hit(pre, v)), [false, true, true, false, false, false]);

  const git = rec([{ type: 'GIT', repo: 'https://example.invalid/r', events: [{ introduced: '0' }, { fixed: 'abcdef' }] }]);
  assert.equal(hit(git, '1.0.0'), false, 'commit ranges say nothing about npm versions');

  const both = rec([{ type: 'SEMVER', events: [{ introduced: '5.0.0' }] }], { versions: ['1.0.0', '2.0.0+build'] });
  assert.deepEqual(['1.0.0', '1.0.1', '2.0.0+build', '4.9.9', '5.0.0', '6.1.0'].map((v) => hit(both, v)), [true, false, true, false, true, true]);
  assert.equal(hit(both, 'not-a-version'), false);
});

test('malformed records are refused with a JSON pointer', () => {
  const cases: Array<[unknown, string]> = [
    [{ ...base, affected: [] }, '/id'],
    [{ id: 'X', affected: [] }, '/modified'],
    [{ ...base, id: 'X', affected: {} }, '/affected'],
    [{ ...base, id: 'X', affected: [{ package: { ecosystem: 'npm', name: 'p' }, ranges: [{ type: 'SEMVER' }] }] }, '/affected/0/ranges/0'],
    [{ ...base, id: 'X', affected: [{ package: { ecosystem: 'npm', name: 'p' }, ranges: [{ type: 'SEMVER', events: [{ fixed: 1 }] }] }] }, '/affected/0/ranges/0/events/0'],
  ];
  for (const [record, pointer] of cases) {
    assert.throws(() => advisoriesFromRecord(record, 'x.json'), (error: unknown) => isWirelockError(error, 'ERR_ADVISORY_DB') && error.details.pointer === pointer, pointer);
  }
  assert.deepEqual(advisoriesFromRecord({ ...base, id: 'PYSEC-1', affected: [{ package: { ecosystem: 'PyPI', name: 'p' } }] }), [], 'other ecosystems are skipped');
});

// Reference model: the OSV evaluation written the slow, obvious way (interval list), compared
// with the implementation on random event lists in random order.
const small: fc.Arbitrary<SemVer> = fc.record({ major: fc.nat(3), minor: fc.nat(3), patch: fc.nat(3), pre: fc.oneof(fc.constant([] as Array<string | number>), fc.constant(['rc', 1] as Array<string | number>)) });

test('property: evaluateRange equals a reference interval model, whatever the event order', () => {
  fc.assert(
    fc.property(fc.uniqueArray(small, { minLength: 1, maxLength: 6, selector: formatVersion }), fc.array(fc.constantFrom('introduced', 'fixed', 'last_affected'), { minLength: 6, maxLength: 6 }), small, fc.boolean(), (versions, kinds, probe, zero) => {
      const events = versions.map((v, i) => ({ [kinds[i]!]: formatVersion(v) }) as Record<string, string>);
      if (zero) events.push({ introduced: '0' });
      const range = { type: 'SEMVER', events } as unknown as OsvRange;
      // Reference: sort, then the state after the last event at or below the probe decides.
      const sorted = [...events].sort((a, b) => {
        const va = Object.values(a)[0]!;
        const vb = Object.values(b)[0]!;
        if (va === '0') return vb === '0' ? 0 : -1;
        if (vb === '0') return 1;
        return compareSemVer(parseVersion(va)!, parseVersion(vb)!);
      });
      let expected = false;
      for (const event of sorted) {
        const [kind, v] = Object.entries(event)[0]!;
        const c = v === '0' ? 1 : compareSemVer(probe, parseVersion(v)!);
        if (kind === 'introduced' && c >= 0) expected = true;
        else if (kind === 'fixed' && c >= 0) expected = false;
        else if (kind === 'last_affected' && c > 0) expected = false;
      }
      const shuffled = { ...range, events: [...range.events].reverse() };
      assert.equal(evaluateRange(probe, range).affected, expected);
      assert.equal(evaluateRange(probe, shuffled).affected, expected, 'order of events must not matter');
    }),
    { numRuns: 3000 },
  );
});

test('severity given per affected package (schema 1.4+) wins over the record-level one', () => {
  const [a, b] = advisoriesFromRecord({
    id: 'TEST-SEV', modified: '2025-01-01T00:00:00Z',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L' }],
    affected: [
      { package: { ecosystem: 'npm', name: 'a' }, severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }], versions: ['1.0.0'] },
      { package: { ecosystem: 'npm', name: 'b' }, versions: ['1.0.0'] },
    ],
  });
  assert.deepEqual([a!.severity, a!.score, b!.severity, b!.score], ['critical', 9.8, 'medium', 5.6]);
});
