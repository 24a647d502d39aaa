import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareSemVer, formatVersion, parseVersion, type SemVer } from '../../src/audit/semver.js';

const cmp = (a: string, b: string) => compareSemVer(parseVersion(a)!, parseVersion(b)!);

test('SemVer 2.0.0 precedence example chain (spec section 11)', () => {
  const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '10.0.0'];
  for (let i = 0; i + 1 < chain.length; i++) {
    assert.equal(cmp(chain[i]!, chain[i + 1]!), -1, `${chain[i]} < ${chain[i + 1]}`);
    assert.equal(cmp(chain[i + 1]!, chain[i]!), 1);
  }
});

test('build metadata is ignored, v/= prefixes accepted, invalid versions rejected', () => {
  assert.equal(cmp('1.2.3+build.5', '1.2.3'), 0);
  assert.equal(cmp('v1.2.3', '=1.2.3'), 0);
  for (const bad of ['1.2', '1.2.3.4', '01.2.3', '1.2.3-01', 'latest', '', '1.2.x', '^1.2.3', 'git+https://x/y.git#abc']) assert.equal(parseVersion(bad), undefined, bad);
});

const semverArb: fc.Arbitrary<SemVer> = fc.record({
  major: fc.nat(5),
  minor: fc.nat(5),
  patch: fc.nat(5),
  pre: fc.array(fc.oneof(fc.nat(12), fc.constantFrom('alpha', 'beta', 'rc', 'x-y')), { maxLength: 3 }),
});

test('property: comparison is a total order consistent with formatting round trips', () => {
  fc.assert(
    fc.property(semverArb, semverArb, semverArb, (a, b, c) => {
      assert.ok(Math.sign(compareSemVer(a, b)) === -Math.sign(compareSemVer(b, a)), "antisymmetric");
      if (compareSemVer(a, b) <= 0 && compareSemVer(b, c) <= 0) assert.ok(compareSemVer(a, c) <= 0);
      assert.equal(compareSemVer(parseVersion(formatVersion(a))!, a), 0);
      // A prerelease sorts below its release.
      if (a.pre.length > 0) assert.equal(compareSemVer(a, { ...a, pre: [] }), -1);
    }),
    { numRuns: 2000 },
  );
});
