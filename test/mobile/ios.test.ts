import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as plist from 'plist';
import { definePolicy } from '../../src/policy/define.js';
import { atsPinLists, evaluateAts, generateIos, mergeAtsIntoInfoPlist } from '../../src/mobile/ios.js';
import { checkIos } from '../../src/mobile/equivalence.js';
import { parsePlist } from '../../src/mobile/plist.js';
import { assertGolden, fixtures, loadEveryFeature } from './support.js';

const policy = await loadEveryFeature();
const result = generateIos(policy);
const text = result.files[0]!.contents;
type Dict = Record<string, any>;

test('golden: the Info.plist NSAppTransportSecurity for a policy that uses every feature', () => {
  assertGolden('every-feature.ios.plist', text);
});

test('a real plist parser reads the generated plist, and reads what wirelock\'s reader reads', () => {
  const parsed = plist.parse(text) as Dict;
  assert.deepEqual(parsePlist(text) as Dict, parsed);
  const ats = parsed.NSAppTransportSecurity as Dict;
  assert.equal(ats.NSAllowsArbitraryLoads, false, 'arbitrary loads are never allowed');
  assert.equal(ats.NSAllowsLocalNetworking, true, 'the policy allows loopback cleartext');
  assert.equal(ats.NSExceptionDomains['api.example.com'].NSExceptionMinimumTLSVersion, 'TLSv1.3');
  assert.equal(ats.NSExceptionDomains['api.example.com'].NSRequiresCertificateTransparency, true);
  assert.equal(ats.NSExceptionDomains['legacy.example.org'].NSExceptionAllowsInsecureHTTPLoads, true);
  assert.equal(ats.NSExceptionDomains['xn--bcher-kva.de'].NSIncludesSubdomains, true, 'IDN as punycode');
  assert.deepEqual(ats.NSPinnedDomains['api.example.com'], {
    NSIncludesSubdomains: true,
    NSPinnedCAIdentities: [{ 'SPKI-SHA256-BASE64': 'LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=' }, { 'SPKI-SHA256-BASE64': '13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs=' }],
  });
  // The same document rebuilt by the real library is semantically identical.
  assert.deepEqual(plist.parse(plist.build(parsed)), parsed);
});

test('pin roles: CA pins go to NSPinnedCAIdentities, leaf pins to NSPinnedLeafIdentities, never both lists', () => {
  const ca = { pin: 'sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=', digest: new Uint8Array(32), role: 'ca' as const };
  const leaf = { pin: 'sha256/CQdkIqciEXUWNrcc7HfymsDEOMjurCN92sPn3dSEUTg=', digest: new Uint8Array(32), role: 'leaf' as const };
  const bare = { pin: 'sha256/eRyaOQhdKK5QJ2K3+v9Y5mQ/9NigDbUTrOmpt5ofj0U=', digest: new Uint8Array(32) };
  assert.equal(atsPinLists([ca, { ...ca, pin: 'sha256/x' }]).list, 'NSPinnedCAIdentities');
  assert.equal(atsPinLists([leaf, { ...leaf, pin: 'sha256/y' }]).list, 'NSPinnedLeafIdentities');
  const mixed = atsPinLists([leaf, ca]);
  assert.deepEqual([mixed.list, mixed.pins, mixed.droppedLeaf], ['NSPinnedCAIdentities', [ca], [leaf]]);
  const unknown = atsPinLists([bare, ca]);
  assert.deepEqual([unknown.list, unknown.unknown], ['NSPinnedCAIdentities', [bare]]);
  const ats = (plist.parse(text) as Dict).NSAppTransportSecurity as Dict;
  for (const entry of Object.values(ats.NSPinnedDomains) as Dict[]) {
    assert.ok(!(entry.NSPinnedCAIdentities && entry.NSPinnedLeafIdentities), 'ATS would AND the two lists');
  }
  assert.equal(ats.NSPinnedDomains['xn--bcher-kva.de'], undefined, 'pins without a role are not guessed');
  const rules = result.warnings.map((w) => w.rule);
  for (const rule of ['ios/pin-roles-mixed', 'ios/pin-role-unknown', 'ios/pins-expire', 'ios/report-only', 'ios/trust-anchors', 'ios/ip-address']) assert.ok(rules.includes(rule), rule);
});

test('host matrix: every difference between wirelock and ATS is a printed warning', () => {
  const report = checkIos(policy, result);
  assert.deepEqual(report.unexplained, []);
  const hosts = new Set(report.differences.map((d) => d.host));
  assert.ok(hosts.has('127.0.0.2') && hosts.has('api.example.com'), 'differences exist and are announced');
  // Where nothing is announced the two agree on an apex, a deep subdomain and an unlisted host.
  const agree = (host: string) => !report.differences.some((d) => d.host === host);
  assert.ok(agree('unlisted.example.net'));
  assert.ok(agree('x.y.z.legacy.example.org'));
  assert.ok(agree('notapi.example.com'));
});

test('positive control: a tampered plist (pin removed, subdomains off, cleartext on) is caught', () => {
  const tamper = (mutate: (ats: Dict) => void) => {
    const document = plist.parse(text) as Dict;
    mutate(document.NSAppTransportSecurity);
    const contents = plist.build(document);
    return checkIos(policy, { ...result, files: [{ ...result.files[0]!, contents }] }).unexplained;
  };
  assert.ok(tamper((ats) => ats.NSPinnedDomains['api.example.com'].NSPinnedCAIdentities.pop()).some((d) => d.aspect === 'pins'));
  assert.ok(tamper((ats) => (ats.NSPinnedDomains['api.example.com'].NSIncludesSubdomains = false)).some((d) => d.host === 'www.api.example.com'));
  assert.ok(tamper((ats) => (ats.NSAllowsArbitraryLoads = true)).some((d) => d.aspect === 'cleartext' && d.host === 'unlisted.example.net'));
  assert.ok(tamper((ats) => delete ats.NSExceptionDomains['api.example.com'].NSExceptionMinimumTLSVersion).some((d) => d.aspect === 'min-tls'));
});

test('evaluator: ATS does not protect IP literals and local names; most specific exception wins', () => {
  const ats = (plist.parse(text) as Dict).NSAppTransportSecurity;
  assert.equal(evaluateAts(ats, '192.0.2.1').protected, false);
  assert.equal(evaluateAts(ats, 'printer.local').protected, false);
  assert.equal(evaluateAts(ats, 'login.api.example.com').minTlsVersion, 'TLSv1.2', 'the exact entry, not the TLSv1.3 parent');
  assert.equal(evaluateAts(ats, 'a.login.api.example.com', 'url-session', 'any-depth').minTlsVersion, 'TLSv1.3', 'no includeSubdomains on the child: the parent applies');
  // Apple's NSIncludesSubdomains reference: one additional label only; two labels down gets ATS's defaults.
  assert.equal(evaluateAts(ats, 'a.login.api.example.com').minTlsVersion, 'TLSv1.2');
  assert.equal(evaluateAts(ats, 'x.api.example.com').minTlsVersion, 'TLSv1.3', 'one label down: the parent applies');
});

test('a policy with nothing ATS cannot express yields only the platform-wide notes and an equivalent plist', () => {
  const simple = definePolicy({
    version: 1,
    domains: {
      'pay.example.com': {
        includeSubdomains: true,
        pins: [
          { pin: 'sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=', role: 'ca' },
          { pin: 'sha256/13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs=', role: 'ca' },
        ],
      },
    },
  });
  const generated = generateIos(simple);
  assert.deepEqual(generated.warnings.map((w) => w.rule).sort(), ['ios/ip-address', 'ios/local-names', 'ios/subdomain-depth']);
  assert.deepEqual(checkIos(simple, generated).unexplained, []);
});

test('merge into an existing Info.plist: the ATS value is replaced or added, every other byte stays', () => {
  const template = readFileSync(join(fixtures, 'expo-template', 'ios', 'HelloWorld', 'Info.plist'), 'utf8');
  const merged = mergeAtsIntoInfoPlist(template, text).text;
  const before = plist.parse(template) as Dict;
  const after = plist.parse(merged) as Dict;
  assert.deepEqual(after.NSAppTransportSecurity, (plist.parse(text) as Dict).NSAppTransportSecurity);
  for (const key of Object.keys(before)) if (key !== 'NSAppTransportSecurity') assert.deepEqual(after[key], before[key], key);
  // Outside the replaced value the text is unchanged.
  const head = template.slice(0, template.indexOf('<key>NSAppTransportSecurity</key>'));
  assert.ok(merged.startsWith(head));
  assert.ok(merged.endsWith(template.slice(template.indexOf('<key>UIApplicationSceneManifest</key>'))));
  assert.deepEqual(checkIos(policy, { ...result, files: [{ ...result.files[0]!, contents: merged }] }).unexplained, []);
  // A plist without the key gets it added; <date>, <data> and <real> values survive untouched.
  const other = plist.build({ CFBundleName: 'App', Built: new Date('2026-01-02T03:04:05Z'), Blob: Buffer.from('wirelock'), Scale: 1.5 });
  const added = mergeAtsIntoInfoPlist(other, text).text;
  const parsed = plist.parse(added) as Dict;
  assert.equal(parsed.NSAppTransportSecurity.NSAllowsArbitraryLoads, false);
  assert.equal((parsed.Built as Date).toISOString(), '2026-01-02T03:04:05.000Z');
  assert.equal(Buffer.from(parsed.Blob).toString(), 'wirelock');
  assert.equal(parsed.Scale, 1.5);
  assert.throws(() => mergeAtsIntoInfoPlist('<plist version="1.0"><array/></plist>', text), /top-level <dict>/);
});
