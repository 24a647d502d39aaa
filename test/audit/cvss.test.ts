import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cvss3BaseScore, highestRating, osvRatings, ratingOf, severityRank } from '../../src/audit/cvss.js';
import { cvss4BaseScore } from '../../src/audit/cvss4.js';

// Base scores as published by NVD / the FIRST calculator for these vectors.
const V3_KNOWN: Array<[string, number]> = [
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N', 9.1],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8],
  ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5],
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H', 7.4], // GHSA-p6mc-m468-83gw
  ['CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 7.2], // GHSA-35jh-r3h4-6jhm
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L', 5.6], // GHSA-vh95-rmgr-6w4m
  ['CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N', 5.4],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N', 5.3],
  ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
];

test('CVSS v3.x base scores match the published ones', () => {
  for (const [vector, score] of V3_KNOWN) assert.equal(cvss3BaseScore(vector), score, vector);
});

test('malformed v3 vectors give no score instead of a guess', () => {
  for (const bad of ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', 'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'CVSS:2.0/AV:N', 'AV:N/AC:L/Au:N/C:P/I:P/A:P', 'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H']) {
    assert.equal(cvss3BaseScore(bad), undefined, bad);
  }
});

test('CVSS v4.0 base scores (FIRST calculator values)', () => {
  assert.equal(cvss4BaseScore('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'), 9.3);
  assert.equal(cvss4BaseScore('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N'), 0);
  assert.equal(cvss4BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), undefined);
  assert.equal(cvss4BaseScore('CVSS:4.0/AV:Q'), undefined);
});

test('OSV severity: every rating kept (v4, v3, label), the highest one gates', () => {
  const ratings = osvRatings(
    [
      { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L' },
      { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
    ],
    'MODERATE',
  );
  assert.deepEqual(ratings.map((r) => [r.type, r.severity, r.score ?? r.label]), [['CVSS_V4', 'critical', 9.3], ['CVSS_V3', 'medium', 5.6], ['LABEL', 'medium', 'MODERATE']]);
  assert.equal(highestRating(ratings)?.type, 'CVSS_V4');
  // A low v4 score never weakens the publisher's own label.
  const low = osvRatings([{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:H/AT:P/PR:L/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N' }], 'MODERATE');
  assert.equal(low[0]!.severity, 'low');
  assert.deepEqual([highestRating(low)?.type, highestRating(low)?.severity], ['LABEL', 'medium']);
  assert.deepEqual(osvRatings([{ type: 'CVSS_V3', score: 'garbage' }]), []);
  assert.deepEqual(osvRatings(undefined, 'nonsense'), []);
  assert.deepEqual([0, 0.1, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(ratingOf), ['none', 'low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical']);
  assert.ok(severityRank('unknown') >= severityRank('high'), 'an unrated advisory must not pass a high gate');
});
