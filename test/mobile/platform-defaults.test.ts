// Two ways a hand-edited Network Security Config passed `--check` while Android applies weaker
// rules (review of issue 15): values the file leaves to the platform default, and a DOCTYPE whose
// quoted literal hides the real document. Every test here failed on the code before the fix.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePolicy } from '../../src/policy/define.js';
import { checkNetworkSecurityConfig, evaluateAndroid, generateAndroid, type ParsedNetworkSecurityConfig } from '../../src/mobile/android.js';
import { checkDrift } from '../../src/mobile/drift.js';
import { parsePlist, serializePlist } from '../../src/mobile/plist.js';
import { parseXml } from '../../src/mobile/xml.js';

const P1 = 'sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=';
const P2 = 'sha256/13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs=';
// The reviewer's policy: cleartext blocked, system CAs only, api.example.com pinned.
const policy = definePolicy({
  version: 1,
  mode: 'enforce',
  cleartext: 'block',
  unlistedHosts: 'allow',
  trustAnchors: ['builtin'],
  domains: { 'api.example.com': { includeSubdomains: true, pins: [{ pin: P1, role: 'ca' }, { pin: P2, role: 'ca' }], pinsExpire: '2031-06-01' } },
});
const generated = generateAndroid(policy).files[0]!.contents;

const temporary: string[] = [];
after(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
function writeXml(contents: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-defaults-'));
  temporary.push(dir);
  mkdirSync(join(dir, 'res', 'xml'), { recursive: true });
  const file = join(dir, 'res', 'xml', 'network_security_config.xml');
  writeFileSync(file, contents);
  return file;
}

function edit(from: RegExp | string, to: string): string {
  const edited = generated.replace(from, to);
  assert.notEqual(edited, generated, `the edit ${String(from)} applies`);
  return edited;
}

// AOSP frameworks/base core/java/android/security/net/config/XmlConfigSource.java,
// parseNetworkSecurityConfig(): `baseConfigBuilder.setParent(NetworkSecurityConfig.getDefaultBuilder(...))`,
// or, with no <base-config>, the default builder *is* the base config; every top-level
// domain-config gets base-config as its parent. NetworkSecurityConfig.getDefaultBuilder():
// android-7.0.0_r1 (API 24-25) setCleartextTrafficPermitted(true) for every app; android-8.0.0_r1
// (API 26-27) `targetSandboxVersion < 2`; android-9.0.0_r1 on `targetSdkVersion < P && targetSandboxVersion < 2`;
// all of them add the user CA store when `targetSdkVersion <= M` (23).
test('--check: a file that leaves cleartext or trust anchors to the platform default is drift, not in sync', () => {
  assert.deepEqual(checkDrift('android', policy, writeXml(generated)).drifted, false, 'positive control: the generated file is in sync');
  const cases: Array<[string, string, RegExp]> = [
    // a1: every cleartextTrafficPermitted removed
    ['a1 no cleartext attributes', generated.replace(/ cleartextTrafficPermitted="false"/g, ''), /cleartextTrafficPermitted.*platform default.*API 24-25/s],
    // a2: no <base-config>
    ['a2 no base-config', edit(/ {4}<base-config[^]*?<\/base-config>\n/, ''), /no <base-config>.*platform default/s],
    // a3: <base-config> without <trust-anchors>
    ['a3 no base trust-anchors', edit(/ {8}<trust-anchors>[^]*?<\/trust-anchors>\n/, ''), /<trust-anchors>.*platform default.*user.*targetSdkVersion <= 23/s],
  ];
  for (const [name, xml, message] of cases) {
    const problems = checkNetworkSecurityConfig(xml);
    assert.ok(problems.some((p) => message.test(p.message)), `${name}: ${JSON.stringify(problems)}`);
    const report = checkDrift('android', policy, writeXml(xml));
    assert.equal(report.drifted, true, `${name}: drift`);
    assert.ok(report.formatProblems.some((p) => message.test(p)), `${name}: ${report.formatProblems.join('\n')}`);
  }
  // A domain-config that leaves cleartext to an explicit base-config is fine: nothing reaches the default.
  assert.deepEqual(checkNetworkSecurityConfig(edit('<domain-config cleartextTrafficPermitted="false">', '<domain-config>')), []);
  // Without a base-config, each domain-config that does not set a value reaches the default too: named.
  const noBase = edit(/ {4}<base-config[^]*?<\/base-config>\n/, '').replace(' cleartextTrafficPermitted="false"', '');
  assert.ok(checkNetworkSecurityConfig(noBase).some((p) => /<domain-config> for api\.example\.com.*cleartextTrafficPermitted.*platform default/s.test(p.message)), JSON.stringify(checkNetworkSecurityConfig(noBase)));
});

test('evaluator: values a file does not set come from getDefaultBuilder for the API level and the app\'s targetSdkVersion / targetSandboxVersion', () => {
  const config: ParsedNetworkSecurityConfig = {
    base: { cleartext: undefined, anchors: undefined, overridePins: undefined, pins: undefined, ct: undefined },
    domains: [],
    debugAnchors: undefined,
    debugOverridePins: undefined,
  };
  const at = (apiLevel: number, app: { targetSdkVersion?: number; targetSandboxVersion?: number } = {}) => evaluateAndroid(config, 'unlisted.example', { apiLevel, ...app });
  // Android 7.x: cleartext permitted for every app, whatever it targets.
  assert.equal(at(24, { targetSdkVersion: 35 }).cleartextPermitted, true);
  assert.equal(at(25, { targetSdkVersion: 35 }).cleartextPermitted, true);
  // Android 8.x: only a targetSandboxVersion 2 app (instant apps) is https-only.
  assert.equal(at(26, { targetSdkVersion: 35 }).cleartextPermitted, true);
  assert.equal(at(27, { targetSdkVersion: 35, targetSandboxVersion: 2 }).cleartextPermitted, false);
  // Android 9+: targetSdkVersion 28+ is https-only.
  assert.equal(at(28, { targetSdkVersion: 27 }).cleartextPermitted, true);
  assert.equal(at(36, { targetSdkVersion: 28 }).cleartextPermitted, false);
  // User CAs join the default for targetSdkVersion <= 23, on every API level.
  assert.deepEqual(at(36, { targetSdkVersion: 23 }).trustAnchors, ['system', 'user']);
  assert.deepEqual(at(36, { targetSdkVersion: 24 }).trustAnchors, ['system']);
  // An app whose versions are not given is read the weakest way: a checker must not assume a stronger default.
  assert.deepEqual([at(36).cleartextPermitted, at(36).trustAnchors], [true, ['system', 'user']]);
});

// A DOCTYPE whose SystemLiteral holds ">": XML 1.0 section 2.8 (doctypedecl, ExternalID,
// SystemLiteral ::= ('"' [^"]* '"') | ("'" [^']* "'")) ends the declaration after the closing
// quote, and so do libxml2 (xmllint) and expat (aapt2's parser); the decoy inside the literal is
// not part of the document. Android's Network Security Config never needs a DOCTYPE.
const weakAfterDecoy = `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE network-security-config SYSTEM '>${generated.replace(/^<\?xml[^>]*>\n<!--[^]*?-->\n/, '').replace(/\n\s*/g, '')}<!--'>
<network-security-config>
    <base-config cleartextTrafficPermitted="true">
        <trust-anchors>
            <certificates src="system" />
            <certificates src="user" />
        </trust-anchors>
    </base-config>
</network-security-config>
<!-- end -->
`;

test('--check: a DOCTYPE in a Network Security Config is refused (a quoted ">" hid the real, weaker document)', () => {
  const problems = checkNetworkSecurityConfig(weakAfterDecoy);
  assert.ok(problems.some((p) => /DOCTYPE.*not accepted.*Network Security Config/s.test(p.message)), JSON.stringify(problems));
  const report = checkDrift('android', policy, writeXml(weakAfterDecoy));
  assert.equal(report.drifted, true);
  assert.ok(report.formatProblems.some((p) => /DOCTYPE/.test(p)), report.formatProblems.join('\n'));
  // Any DOCTYPE, even a harmless one: no spelling of it gets through.
  for (const doctype of ['<!DOCTYPE network-security-config>', '<!DOCTYPE network-security-config SYSTEM "x.dtd">', '<!DOCTYPE x [<!ENTITY e "x">]>']) {
    const xml = generated.replace('<network-security-config>', `${doctype}\n<network-security-config>`);
    assert.ok(checkNetworkSecurityConfig(xml).some((p) => /DOCTYPE/.test(p.message)), doctype);
  }
});

test('plist: only Apple\'s plist DOCTYPE is accepted, read to its real end (quoted literals respected)', () => {
  const apple = serializePlist({ NSAppTransportSecurity: { NSAllowsArbitraryLoads: false } });
  assert.deepEqual(parsePlist(apple), { NSAppTransportSecurity: { NSAllowsArbitraryLoads: false } }, 'positive control: the DOCTYPE Xcode and wirelock write');
  const legacy = apple.replace('-//Apple//DTD PLIST 1.0//EN', '-//Apple Computer//DTD PLIST 1.0//EN');
  assert.deepEqual(parsePlist(legacy), { NSAppTransportSecurity: { NSAllowsArbitraryLoads: false } }, 'the pre-2006 public identifier older Info.plist files carry');
  const body = (flag: boolean) => `<plist version="1.0"><dict><key>NSAppTransportSecurity</key><dict><key>NSAllowsArbitraryLoads</key><${flag}/></dict></dict></plist>`;
  const refused = [
    `<!DOCTYPE plist SYSTEM '>${body(false)}<!--'>\n${body(true)}\n<!-- -->`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd'>${body(false)}<!--">\n${body(true)}\n<!-- -->`,
    `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd" [<!ENTITY e "x">]>${body(true)}`,
    `<!DOCTYPE plist>${body(true)}`,
    `<!DOCTYPE dict PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">${body(true)}`,
  ];
  for (const doctype of refused) assert.throws(() => parsePlist(`<?xml version="1.0" encoding="UTF-8"?>\n${doctype}`), /DOCTYPE/, doctype);
});

test('xml: a DOCTYPE is refused unless the caller accepts one, and is read to its real end (XML 1.0 section 2.8)', () => {
  assert.throws(() => parseXml('<!DOCTYPE a SYSTEM "x>y"><a>real</a>'), /DOCTYPE is not accepted/);
  // The whole declaration is read, quoted ">" included, before it is judged: the message quotes all of it.
  assert.throws(() => parseXml('<!DOCTYPE plist SYSTEM "x>y"><plist/>', 'Info.plist', { doctype: 'plist' }), /SYSTEM "x>y">.*not Apple's plist DOCTYPE/s);
  assert.throws(() => parseXml('<!DOCTYPE plist SYSTEM "x><plist/>', 'Info.plist', { doctype: 'plist' }), /unterminated DOCTYPE/);
});
