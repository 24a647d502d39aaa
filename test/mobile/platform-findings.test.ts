// One test per finding of issue 15 (a mobile-security review against the platforms' own source).
// Each test names the upstream code it models; docs/mobile.md "Platform facts" lists the same
// facts with file, line and upstream version. Every test here failed on the code before the fix.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as plist from 'plist';
import { DOMParser } from '@xmldom/xmldom';
import { definePolicy } from '../../src/policy/define.js';
import { evaluateAndroid, parseNetworkSecurityConfig } from '../../src/mobile/android.js';
import { checkDrift } from '../../src/mobile/drift.js';
import { writeAndroidResources } from '../../src/mobile/files.js';
import { generateTarget } from '../../src/mobile/generate.js';
import { evaluateOkHttp } from '../../src/mobile/trustkit.js';
import { fixtures, trustKitDomainKey } from './support.js';

const P1 = 'sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=';
const P2 = 'sha256/13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs=';
type Dict = Record<string, any>;

const temporary: string[] = [];
after(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-findings-'));
  temporary.push(dir);
  return dir;
}


test('TrustKit: no kSKExcludeSubdomainFromParentPolicy entry TrustKit cannot attach (it raises at load: launch crash)', () => {
  // The example: a pinned example.com with subdomains and an unpinned cdn.example.net.
  const policy = definePolicy({ version: 1, domains: { 'example.com': { includeSubdomains: true, pins: [P1, P2] }, 'cdn.example.net': {}, 'cdn.example.com': {} } });
  const { result } = generateTarget('trustkit', policy);
  const domains = (plist.parse(result.files.find((f) => f.path === 'TrustKit-Info.plist')!.contents) as Dict).TSKConfiguration.TSKPinnedDomains as Dict;
  for (const [name, entry] of Object.entries(domains)) {
    if (entry.kSKExcludeSubdomainFromParentPolicy === true) assert.ok(trustKitDomainKey(`a${name}`, domains), `${name}: TrustKit finds no parent and raises at launch`);
  }
  assert.equal(domains['cdn.example.net'], undefined, 'TrustKit does not pin cdn.example.net (other suffix): no exclusion');
  assert.deepEqual(domains['cdn.example.com'], { kSKExcludeSubdomainFromParentPolicy: true }, 'the real child still gets its exclusion');
  // The old warning said the opposite of TrustKit's behaviour.
  for (const warning of result.warnings) assert.doesNotMatch(warning.message, /without a dot boundary/);
});

test('--check reads every name the file holds: a hand-added weaker entry for a name outside the host matrix is drift', () => {
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { includeSubdomains: true, pins: [{ pin: P1, role: 'ca' }, { pin: P2, role: 'ca' }] } } });
  // Android: a cleartext domain-config without pins for a subdomain (AOSP ApplicationConfig.java:75-116: the most specific domain wins).
  const dir = tempDir();
  const xmlFile = join(dir, 'res', 'xml', 'network_security_config.xml');
  writeAndroidResources(generateTarget('android', policy).result, xmlFile);
  assert.equal(checkDrift('android', policy, xmlFile).drifted, false, 'positive control: in sync');
  writeFileSync(xmlFile, readFileSync(xmlFile, 'utf8').replace('</network-security-config>', '    <domain-config cleartextTrafficPermitted="true">\n        <domain includeSubdomains="true">legacy.api.example.com</domain>\n    </domain-config>\n</network-security-config>'));
  const android = checkDrift('android', policy, xmlFile);
  assert.equal(android.drifted, true);
  assert.ok(android.reports.some((r) => r.unexplained.some((d) => d.host === 'legacy.api.example.com' && d.aspect === 'pins')), 'android: legacy.api.example.com pins drift');
  // iOS: an NSExceptionDomains entry allowing http for the same name.
  const ios = plist.parse(generateTarget('ios', policy).result.files[0]!.contents) as Dict;
  ios.NSAppTransportSecurity.NSExceptionDomains['legacy.api.example.com'] = { NSIncludesSubdomains: true, NSExceptionAllowsInsecureHTTPLoads: true };
  const plistFile = join(dir, 'Info.plist');
  writeFileSync(plistFile, plist.build(ios));
  assert.ok(checkDrift('ios', policy, plistFile).reports.some((r) => r.unexplained.some((d) => d.host === 'legacy.api.example.com' && d.aspect === 'cleartext')), 'ios: legacy.api.example.com cleartext drift');
  // TrustKit: an exclusion entry for that name switches its pins off.
  const tk = plist.parse(generateTarget('trustkit', policy).result.files[1]!.contents) as Dict;
  tk.TSKConfiguration.TSKPinnedDomains['legacy.api.example.com'] = { kSKExcludeSubdomainFromParentPolicy: true };
  const tkFile = join(dir, 'TrustKit-Info.plist');
  writeFileSync(tkFile, plist.build(tk));
  assert.ok(checkDrift('trustkit', policy, tkFile).reports.some((r) => r.unexplained.some((d) => d.host === 'legacy.api.example.com' && d.aspect === 'pins')), 'trustkit: legacy.api.example.com pins drift');
});

const wirelockCli = join(process.cwd(), 'dist', 'cli', 'main.js');
function cli(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [wirelockCli, ...args], { cwd, env: { PATH: process.env.PATH, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('--merge removes every device-specific NSAppTransportSecurity variant and says so; --check reads them', async () => {
  // CFBundle_InfoPlist.c:379-424,428-498 (swift-corelibs-foundation e55e1d8): Key-iphoneos~iphone,
  // then Key~iphone, then Key-iphoneos replace Key on a matching device (products iphone/ipad/ipod, :232).
  const dir = tempDir();
  const policyFile = join(dir, 'wirelock.json');
  writeFileSync(policyFile, JSON.stringify({ version: 1, domains: { 'api.example.com': { pins: [{ pin: P1, role: 'ca' }, { pin: P2, role: 'ca' }] } } }));
  const infoFile = join(dir, 'Info.plist');
  writeFileSync(infoFile, readFileSync(join(fixtures, 'expo-template', 'ios', 'HelloWorld', 'Info.plist'), 'utf8'));
  assert.equal((await cli(dir, 'generate', 'ios', '--policy', policyFile, '--merge', infoFile)).code, 0);
  assert.equal((await cli(dir, 'generate', 'ios', '--policy', policyFile, '--check', infoFile)).code, 0, 'positive control: in sync after a merge');
  const info = plist.parse(readFileSync(infoFile, 'utf8')) as Dict;
  info['NSAppTransportSecurity~iphone'] = { NSAllowsArbitraryLoads: true };
  info['NSAppTransportSecurity-iphoneos~ipad'] = { NSAllowsArbitraryLoads: true };
  info['NSAppTransportSecurity-iphoneos'] = { NSAllowsArbitraryLoads: true };
  writeFileSync(infoFile, plist.build(info));
  const checked = await cli(dir, 'generate', 'ios', '--policy', policyFile, '--check', infoFile, '--json');
  assert.equal(checked.code, 1, 'an iPhone reads NSAppTransportSecurity~iphone: drift');
  assert.ok(JSON.parse(checked.stdout).drift.some((d: { evaluator: string; aspect: string }) => d.evaluator.startsWith('ios-ats') && d.aspect === 'cleartext'), checked.stdout);
  const merged = await cli(dir, 'generate', 'ios', '--policy', policyFile, '--merge', infoFile);
  assert.equal(merged.code, 0, merged.stderr);
  const after = plist.parse(readFileSync(infoFile, 'utf8')) as Dict;
  assert.deepEqual(Object.keys(after).filter((k) => k.startsWith('NSAppTransportSecurity')), ['NSAppTransportSecurity']);
  for (const key of ['NSAppTransportSecurity~iphone', 'NSAppTransportSecurity-iphoneos~ipad', 'NSAppTransportSecurity-iphoneos']) assert.match(merged.stderr, new RegExp(`removed .*${key.replace(/[~-]/g, '\\$&')}`));
  assert.equal((await cli(dir, 'generate', 'ios', '--policy', policyFile, '--check', infoFile)).code, 0, 'in sync after the merge');
});

test('iOS --check reads NSAllowsArbitraryLoadsInWebContent / ForMedia and the legacy NSTemporaryException* / NSThirdPartyException* keys', () => {
  // Apple, NSAppTransportSecurity key reference: NSAllowsArbitraryLoadsInWebContent and
  // NSAllowsArbitraryLoadsForMedia disable ATS for web views / AV Foundation to unlisted domains;
  // NSExceptionDomains also reads NSTemporaryException* (and NSThirdPartyException*) keys.
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { includeSubdomains: true, pins: [{ pin: P1, role: 'ca' }, { pin: P2, role: 'ca' }] } } });
  const generated = plist.parse(generateTarget('ios', policy).result.files[0]!.contents) as Dict;
  const dir = tempDir();
  const drifted = (edit: (ats: Dict) => void) => {
    const copy = structuredClone(generated);
    edit(copy.NSAppTransportSecurity);
    const file = join(dir, 'Info.plist');
    writeFileSync(file, plist.build(copy));
    return checkDrift('ios', policy, file).drifted;
  };
  assert.equal(drifted(() => {}), false, 'positive control');
  assert.equal(drifted((ats) => (ats.NSAllowsArbitraryLoadsInWebContent = true)), true, 'web views');
  assert.equal(drifted((ats) => (ats.NSAllowsArbitraryLoadsForMedia = true)), true, 'media');
  assert.equal(drifted((ats) => (ats.NSExceptionDomains['api.example.com'].NSTemporaryExceptionAllowsInsecureHTTPLoads = true)), true, 'legacy http key');
  assert.equal(drifted((ats) => (ats.NSExceptionDomains['api.example.com'].NSTemporaryExceptionMinimumTLSVersion = 'TLSv1.0')), true, 'legacy TLS floor');
  assert.equal(drifted((ats) => (ats.NSExceptionDomains['api.example.com'].NSThirdPartyExceptionAllowsInsecureHTTPLoads = true)), true, 'third-party http key');
  assert.equal(drifted((ats) => (ats.NSExceptionDomains['api.example.com'].NSExceptionRequiresForwardSecrecy = false)), true, 'forward secrecy off');
  assert.equal(drifted((ats) => (ats.NSExceptionDomains['API.Example.COM.'] = { NSExceptionAllowsInsecureHTTPLoads: true })), true, 'a key in other case / with a trailing dot');
  assert.equal(drifted((ats) => { ats.NSPinnedDomains['API.example.com'] = ats.NSPinnedDomains['api.example.com']; delete ats.NSPinnedDomains['api.example.com']; }), true, 'pins under a key the device may not match');
});

test('debug-overrides: generated anchors say overridePins="false" (AOSP default inside <debug-overrides> is true)', () => {
  // XmlConfigSource.java:178 (overridePins defaults to defaultOverridePins) and :228
  // (defaultOverridePins = configType == CONFIG_DEBUG); NetworkSecurityTrustManager.java:98-141
  // (a chain ending in an overridesPins anchor skips the pin-set). aosp-mirror/platform_frameworks_base 0172a23, 3c096b3.
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { pins: [P1, P2] } } });
  const xml = generateTarget('android', policy, { android: { debugOverrides: ['user'] } }).result.files[0]!.contents;
  // Read with an independent DOM parser and AOSP's default.
  const document = new DOMParser().parseFromString(xml, 'text/xml');
  const debugAnchors = Array.from(document.getElementsByTagName('debug-overrides')[0]!.getElementsByTagName('certificates'));
  assert.ok(debugAnchors.length > 0, 'debug anchors present');
  for (const anchor of debugAnchors) {
    const attribute = anchor.getAttribute('overridePins');
    const overridesPins = attribute === null || attribute === '' ? true : attribute === 'true';
    assert.equal(overridesPins, false, `${anchor.getAttribute('src')}: pins must still apply in debuggable builds`);
  }
  // wirelock's evaluator applies the same default to a hand-written file.
  const handWritten = xml.replace(/ overridePins="false"/g, '');
  assert.deepEqual(evaluateAndroid(parseNetworkSecurityConfig(handWritten), 'api.example.com', { apiLevel: 34, debuggable: true }).pinsOverriddenBy, ['user']);
  assert.deepEqual(evaluateAndroid(parseNetworkSecurityConfig(xml), 'api.example.com', { apiLevel: 34, debuggable: true }).pinsOverriddenBy, []);
});

test('React Native JSON on Android: expirationDate is honoured (the old warning said OkHttp ignores it)', () => {
  // SslPublicKeyPinningModule.java:76-84 (frw/react-native-ssl-public-key-pinning e35c227, v1.2.6+):
  // an entry whose expirationDate (yyyy-MM-dd, UTC) has passed is left out of the CertificatePinner.
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { pins: [P1, P2], pinsExpire: '2031-06-01' } } });
  const { result } = generateTarget('trustkit', policy);
  const json = JSON.parse(result.files[0]!.contents);
  assert.equal(json['api.example.com'].expirationDate, '2031-06-02');
  assert.equal(evaluateOkHttp(json, 'api.example.com')!.enforcedThrough, '2031-06-01');
  for (const warning of result.warnings) assert.doesNotMatch(warning.message, /no expiry|ignores expirationDate/);
});

test('a policy file name with "--" never lands inside an XML comment (expat/aapt2 and libxml2 reject it)', () => {
  // XML 1.0 section 2.5: "--" must not occur within comments, and a comment must not end in "-".
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { pins: [P1, P2] } } });
  for (const source of ['team---policy--v2-.json', 'a--b.json', '-->.json', 'x-']) {
    const xml = generateTarget('android', policy, { android: { source } }).result.files[0]!.contents;
    for (const [, body] of xml.matchAll(/<!--([\s\S]*?)-->/g)) {
      assert.ok(!body!.includes('--'), `${source}: comment holds "--": ${body}`);
      assert.ok(!body!.endsWith('-'), `${source}: comment ends in "-"`);
    }
    assert.equal(xml.match(/<!--/g)!.length, xml.match(/-->/g)!.length, `${source}: no comment closed early`);
  }
});

test('TrustKit under a non-public suffix: the refusal names the domain and the real cause', () => {
  // parse_configuration.m:69-76: GetRegistryLength() == 0 raises "invalid domain" at launch.
  const policy = definePolicy({ version: 1, domains: { 'api.corp.internal': { pins: [P1, P2] } } });
  assert.throws(() => generateTarget('trustkit', policy), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_GENERATE_UNSUPPORTED');
    assert.match(error.message, /api\.corp\.internal/);
    assert.match(error.message, /public suffix/i);
    return true;
  });
});

// ---------------------------------------------------------------------------------------------
// Found in the adversarial pass (issue 15, end): more ways to make a checked file weaker than the
// policy without --check noticing. Each failed on the code before this pass.

test('adversarial: boolean keys holding <integer>/<string> (Foundation boolValue reads them) are reported', () => {
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { includeSubdomains: true, pins: [{ pin: P1, role: 'ca' }, { pin: P2, role: 'ca' }] } } });
  const dir = tempDir();
  const ios = plist.parse(generateTarget('ios', policy).result.files[0]!.contents) as Dict;
  ios.NSAppTransportSecurity.NSAllowsArbitraryLoads = 1; // <integer>1</integer>: boolValue YES
  writeFileSync(join(dir, 'Info.plist'), plist.build(ios));
  const iosDrift = checkDrift('ios', policy, join(dir, 'Info.plist'));
  assert.equal(iosDrift.drifted, true);
  assert.ok(iosDrift.formatProblems.some((p) => p.includes('NSAllowsArbitraryLoads')), iosDrift.formatProblems.join('\n'));
  // TrustKit: parse_configuration.m:145-154 reads TSKEnforcePinning with boolValue: "NO" is report-only.
  const tk = plist.parse(generateTarget('trustkit', policy).result.files[1]!.contents) as Dict;
  tk.TSKConfiguration.TSKPinnedDomains['api.example.com'].TSKEnforcePinning = 'NO';
  writeFileSync(join(dir, 'tk.plist'), plist.build(tk));
  assert.equal(checkDrift('trustkit', policy, join(dir, 'tk.plist')).drifted, true);
});

test('adversarial: an NSAppTransportSecurity variant for another platform (-xros, ~appletv) is a reading --check evaluates', () => {
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { pins: [{ pin: P1, role: 'ca' }, { pin: P2, role: 'ca' }] } } });
  const dir = tempDir();
  const ios = plist.parse(generateTarget('ios', policy).result.files[0]!.contents) as Dict;
  ios['NSAppTransportSecurity-xros'] = { NSAllowsArbitraryLoads: true };
  writeFileSync(join(dir, 'Info.plist'), plist.build(ios));
  assert.equal(checkDrift('ios', policy, join(dir, 'Info.plist')).drifted, true);
});

test('adversarial: a TrustKit file TrustKit raises on (exclusion with a second key, exclusion without a parent) is reported', () => {
  // parse_configuration.m:84-99 and 221-234: the app dies at launch.
  const policy = definePolicy({ version: 1, domains: { 'example.com': { includeSubdomains: true, pins: [P1, P2] }, 'cdn.example.com': {} } });
  const dir = tempDir();
  const generated = plist.parse(generateTarget('trustkit', policy).result.files[1]!.contents) as Dict;
  for (const edit of [
    (d: Dict) => (d['cdn.example.com'].TSKIncludeSubdomains = false),
    (d: Dict) => (d['cdn.example.net'] = { kSKExcludeSubdomainFromParentPolicy: true }),
  ]) {
    const copy = structuredClone(generated);
    edit(copy.TSKConfiguration.TSKPinnedDomains);
    writeFileSync(join(dir, 'tk.plist'), plist.build(copy));
    const drift = checkDrift('trustkit', policy, join(dir, 'tk.plist'));
    assert.ok(drift.formatProblems.some((p) => /TrustKit raises/.test(p)), drift.formatProblems.join('\n'));
  }
});

test('adversarial: NSPinnedDomains includeSubdomains is documented one label deep: deeper names are warned, and a deep weaker entry is drift under either reading', () => {
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { includeSubdomains: true, pins: [{ pin: P1, role: 'ca' }, { pin: P2, role: 'ca' }] } } });
  const { result } = generateTarget('ios', policy);
  assert.ok(result.warnings.some((w) => w.rule === 'ios/subdomain-depth'), 'ios/subdomain-depth warned');
  const dir = tempDir();
  const ios = plist.parse(result.files[0]!.contents) as Dict;
  ios.NSAppTransportSecurity.NSExceptionDomains['a.b.api.example.com'] = { NSExceptionAllowsInsecureHTTPLoads: true };
  writeFileSync(join(dir, 'Info.plist'), plist.build(ios));
  const drift = checkDrift('ios', policy, join(dir, 'Info.plist'));
  assert.ok(drift.reports.some((r) => r.evaluator === 'ios-ats-any-depth' && r.unexplained.some((d) => d.host === 'a.b.api.example.com')), 'a.b.api.example.com drift under the any-depth reading');
});

test('adversarial: a TrustKit plist with TSKSwizzleNetworkDelegates = NO (TrustKit then pins only where the app calls its validator) is drift', () => {
  // parse_configuration.m:34-44: the default is NO; TrustKit.m:106 swizzles NSURLSession delegates only when it is YES.
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { pins: [P1, P2] } } });
  const dir = tempDir();
  const tk = plist.parse(generateTarget('trustkit', policy).result.files[1]!.contents) as Dict;
  for (const edit of [(c: Dict) => (c.TSKSwizzleNetworkDelegates = false), (c: Dict) => delete c.TSKSwizzleNetworkDelegates]) {
    const copy = structuredClone(tk);
    edit(copy.TSKConfiguration);
    writeFileSync(join(dir, 'tk.plist'), plist.build(copy));
    assert.equal(checkDrift('trustkit', policy, join(dir, 'tk.plist')).drifted, true, 'swizzling off');
  }
});
