import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as plist from 'plist';
import { loadPolicy } from '../../src/policy/define.js';
import { checkNetworkSecurityConfig, evaluateAndroid, parseNetworkSecurityConfig } from '../../src/mobile/android.js';
import { generateTarget, TARGETS } from '../../src/mobile/generate.js';
import { evaluateTrustKit } from '../../src/mobile/trustkit.js';
import { assertGolden, fixtures, vectors } from './support.js';

// The second golden policy: global rules (CT, TLS 1.3, egress allowlist, a private root next to the
// builtin ones), a domain opting out of CT, a report-only domain, debug-overrides.
const policy = await loadPolicy(join(fixtures, 'global-rules.wirelock.json'), { now: new Date('2026-11-01T00:00:00Z') });
const debugPem = readFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R3.pem'), 'utf8');

test('golden: global rules policy for every target, every difference announced', () => {
  for (const target of TARGETS) {
    const { result, equivalence } = generateTarget(target, policy, { android: { source: 'global-rules.wirelock.json', debugOverrides: ['user', { name: 'proxy.pem', pem: debugPem }] } });
    for (const file of result.files.filter((f) => !f.path.startsWith('raw/'))) assertGolden(`global-rules.${target}.${file.path.replace(/.*\//, '')}`, file.contents);
    for (const report of equivalence) assert.deepEqual(report.unexplained, [], report.evaluator);
  }
});

test('global CT and anchors land in base-config; the CT opt-out and report-only are explicit', () => {
  const { result } = generateTarget('android', policy);
  const xml = result.files[0]!.contents;
  assert.deepEqual(checkNetworkSecurityConfig(xml), []);
  const config = parseNetworkSecurityConfig(xml);
  assert.deepEqual(config.base.anchors, ['system', '@raw/wirelock_globalsign_root_ca']);
  assert.equal(config.base.ct, true);
  assert.equal(evaluateAndroid(config, 'unlisted.example.org', { apiLevel: 36 }).certificateTransparency, true);
  assert.equal(evaluateAndroid(config, 'img.static.example.com', { apiLevel: 36 }).certificateTransparency, false);
  assert.deepEqual(evaluateAndroid(config, 'beta.example.com', { apiLevel: 36 }).pins, [], 'report-only: no pins on Android');
  const rules = result.warnings.map((w) => w.rule);
  for (const rule of ['android/unlisted-hosts', 'android/ct-old-versions', 'android/report-only', 'android/no-reports', 'android/min-tls']) assert.ok(rules.includes(rule), rule);
  const tk = generateTarget('trustkit', policy).result;
  const configuration = (plist.parse(tk.files[1]!.contents) as Record<string, any>).TSKConfiguration;
  assert.equal(evaluateTrustKit(configuration, 'beta.example.com')!.enforced, false, 'TrustKit keeps report-only');
  assert.equal(evaluateTrustKit(configuration, 'private.example.net')!.enforcedThrough, '2030-12-31');
  assert.equal(configuration.TSKPinnedDomains['private.example.net'].TSKExpirationDate, '2031-01-01', 'TrustKit expires at the start of that day');
});
