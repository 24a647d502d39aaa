import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser } from '@xmldom/xmldom';
import { definePolicy } from '../../src/policy/define.js';
import { ANDROID_XML_PATH, checkNetworkSecurityConfig, evaluateAndroid, generateAndroid, parseNetworkSecurityConfig } from '../../src/mobile/android.js';
import { checkAndroid, hostMatrix } from '../../src/mobile/equivalence.js';
import { certificatePin, pemBlocks } from '../../src/x509/certificate.js';
import { assertGolden, loadEveryFeature, vectors } from './support.js';

const policy = await loadEveryFeature();
const result = generateAndroid(policy, { source: 'every-feature.wirelock.json' });
const xml = result.files.find((f) => f.path === ANDROID_XML_PATH)!.contents;

test('golden: the Network Security Config for a policy that uses every feature', () => {
  assertGolden('every-feature.network_security_config.xml', xml);
});

test('the generated XML follows the format rules and a W3C DOM parser reads the same structure', () => {
  assert.deepEqual(checkNetworkSecurityConfig(xml), []);
  const dom = new DOMParser().parseFromString(xml, 'text/xml');
  const root = dom.documentElement!;
  assert.equal(root.nodeName, 'network-security-config');
  const configs = Array.from(root.getElementsByTagName('domain-config'));
  assert.equal(configs.length, policy.domains.length + 1, 'one per domain plus the loopback entry');
  for (const pin of Array.from(root.getElementsByTagName('pin'))) {
    assert.equal(pin.getAttribute('digest'), 'SHA-256');
    assert.equal(Buffer.from(pin.textContent!, 'base64').length, 32);
  }
  const base = root.getElementsByTagName('base-config')[0]!;
  assert.equal(base.getAttribute('cleartextTrafficPermitted'), 'false');
  assert.deepEqual(Array.from(root.getElementsByTagName('certificates')).map((c) => c.getAttribute('src')).filter((s) => s === 'user'), [], 'never user CAs outside debug-overrides');
});

test('base-config: no cleartext, system trust only; domains carry includeSubdomains, pins, expiry, CT and IDN as punycode', () => {
  const config = parseNetworkSecurityConfig(xml);
  assert.equal(config.base.cleartext, false);
  assert.deepEqual(config.base.anchors, ['system']);
  const api = evaluateAndroid(config, 'deep.sub.api.example.com', { apiLevel: 36 });
  assert.equal(api.matched, 'api.example.com');
  // Android stops at the start of the expiration day: the attribute is the day after pinsExpire.
  assert.equal(api.pinsExpire, '2031-06-02');
  assert.equal(api.pinsEnforcedThrough, '2031-06-01');
  assert.equal(api.certificateTransparency, true);
  assert.equal(evaluateAndroid(config, 'deep.sub.api.example.com', { apiLevel: 35 }).certificateTransparency, false);
  const idn = evaluateAndroid(config, new URL('https://www.bücher.de/').hostname, { apiLevel: 36 });
  assert.equal(idn.matched, 'xn--bcher-kva.de');
  assert.equal(evaluateAndroid(config, 'notapi.example.com', { apiLevel: 36 }).matched, undefined, 'suffix without a dot boundary does not match');
  const corp = evaluateAndroid(config, 'x.internal.corp.example', { apiLevel: 36 });
  assert.deepEqual(corp.trustAnchors, ['@raw/wirelock_gts_root_r1']);
});

test('private CA anchors are copied as raw PEM resources with the same certificates as the policy names', () => {
  const raw = result.files.find((f) => f.path === 'raw/wirelock_gts_root_r1.pem')!;
  const source = readFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R1.pem'), 'latin1');
  const fp = (pem: string) => pemBlocks(pem).map((der) => createHash('sha256').update(der).digest('hex'));
  assert.deepEqual(fp(raw.contents), fp(source));
});

test('pins are the base64 SHA-256 of the SPKI: shared TrustKit/Firefox vectors survive the conversion', () => {
  const pins = JSON.parse(readFileSync(join(vectors, 'spki-pins', 'pins.json'), 'utf8')) as { entries: Array<{ name: string; expected_pin_sha256_b64: string; file?: string; cert_file?: string }> };
  const certs = readdirSync(join(vectors, 'spki-pins', 'certs')).filter((f) => f.endsWith('.pem')).slice(0, 6);
  const computed = certs.map((file) => certificatePin(pemBlocks(readFileSync(join(vectors, 'spki-pins', 'certs', file), 'latin1'))[0]!));
  const published = new Set(pins.entries.map((e) => e.expected_pin_sha256_b64));
  assert.ok(computed.some((pin) => published.has(pin.slice(7))), 'at least one computed pin is a published vector');
  const generated = generateAndroid(definePolicy({ version: 1, domains: { 'vectors.example': { pins: computed } } }));
  const config = parseNetworkSecurityConfig(generated.files[0]!.contents);
  assert.deepEqual(evaluateAndroid(config, 'vectors.example', { apiLevel: 36 }).pins, computed.map((pin) => pin.slice(7)));
});

test('host matrix: every difference between wirelock and Android (API 24 and 36) is a printed warning', () => {
  for (const apiLevel of [24, 36]) {
    const report = checkAndroid(policy, result, apiLevel);
    assert.deepEqual(report.unexplained, [], `API ${apiLevel}`);
    assert.ok(report.hosts.length >= 40);
  }
  // The ones that must show up, each announced by its own rule.
  const api24 = checkAndroid(policy, result, 24);
  const byRule = new Set(api24.differences.map((d) => d.warning));
  for (const rule of ['android/min-tls', 'android/ct-old-versions', 'android/report-only', 'android/loopback']) assert.ok(byRule.has(rule), rule);
  assert.ok(hostMatrix(policy).includes('xn--bcher-kva.de'));
});

test('positive control: a tampered XML (includeSubdomains dropped, a pin swapped, cleartext on) is caught', () => {
  const tamper = (from: string, to: string) => {
    const contents = xml.replace(from, to);
    assert.notEqual(contents, xml);
    return checkAndroid(policy, { ...result, files: [{ ...result.files[0]!, contents }, ...result.files.slice(1)] }, 36).unexplained;
  };
  const sub = tamper('<domain includeSubdomains="true">api.example.com</domain>', '<domain includeSubdomains="false">api.example.com</domain>');
  assert.ok(sub.some((d) => d.host === 'www.api.example.com' && d.aspect === 'pins'));
  const pin = tamper('LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=', Buffer.alloc(32, 7).toString('base64').replace(/^./, 'A'));
  assert.ok(pin.some((d) => d.host === 'api.example.com' && d.aspect === 'pins'));
  // Writing pinsExpire itself would stop pinning a day early: Android expires at the start of the day.
  const early = tamper('expiration="2031-06-02"', 'expiration="2031-06-01"');
  assert.ok(early.some((d) => d.host === 'api.example.com' && d.aspect === 'pins-expire'));
  const clear = tamper('<base-config cleartextTrafficPermitted="false">', '<base-config cleartextTrafficPermitted="true">');
  assert.ok(clear.some((d) => d.host === 'unlisted.example.net' && d.aspect === 'cleartext'));
});

test('format checker refuses what Android rejects or misreads', () => {
  const wrap = (inner: string) => `<?xml version="1.0" encoding="utf-8"?>\n<network-security-config>${inner}</network-security-config>`;
  const cases: Array<[string, RegExp]> = [
    [wrap('<domain-config><domain>a.example</domain><pin-set><pin digest="SHA-1">AAAA</pin></pin-set></domain-config>'), /digest="SHA-256"/],
    [wrap('<domain-config><pin-set><pin digest="SHA-256">x</pin></pin-set><domain>a.example</domain></domain-config>'), /<domain> elements come first/],
    [wrap('<domain-config><domain>a.example</domain><pin-set expiration="2027-13-01"><pin digest="SHA-256">LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=</pin></pin-set></domain-config>'), /invalid value|calendar date/],
    [wrap('<domain-config><domain>a.example</domain><pin-set expiration="01/06/2027"><pin digest="SHA-256">LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=</pin></pin-set></domain-config>'), /expiration/],
    [wrap('<domain-config><domain>a.example</domain><pin-set></pin-set><pin-set></pin-set></domain-config>'), /only one <pin-set>/],
    [wrap('<domain-config cleartextTrafficPermitted="yes"><domain>a.example</domain></domain-config>'), /invalid value/],
    [wrap('<domain-config></domain-config>'), /at least one <domain>/],
    [wrap('<domain-config><domain>*.example.com</domain></domain-config>'), /not a lower-case ASCII host/],
    [wrap('<base-config><domain-config><domain>a.example</domain></domain-config></base-config>'), /not allowed in <base-config>/],
    [wrap('<pin-set/>'), /not allowed in <network-security-config>/],
    [wrap('<base-config/><base-config/>'), /only one <base-config>/],
    [wrap('<base-config><trust-anchors><certificates src="@raw/Bad-Name"/></trust-anchors></base-config>'), /invalid value/],
    ['<!DOCTYPE x [<!ENTITY e "x">]><network-security-config/>', /DOCTYPE/],
  ];
  for (const [input, expected] of cases) {
    const problems = checkNetworkSecurityConfig(input);
    assert.ok(problems.some((p) => expected.test(p.message)), `${input}\n${JSON.stringify(problems)}`);
  }
});

test('report-only and unlisted-host blocking are never silently dropped', () => {
  const strictPolicy = definePolicy({
    version: 1,
    unlistedHosts: 'block',
    domains: { 'only.example': { mode: 'report-only', pins: ['sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA='] } },
  });
  const generated = generateAndroid(strictPolicy);
  const rules = generated.warnings.map((w) => w.rule);
  assert.ok(rules.includes('android/unlisted-hosts'));
  assert.ok(rules.includes('android/report-only'));
  assert.doesNotMatch(generated.files[0]!.contents, /<pin-set/);
  assert.deepEqual(checkAndroid(strictPolicy, generated, 36).unexplained, []);
});

test('debug-overrides: user CAs and a proxy CA only there, never in release configs', () => {
  const pem = readFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R3.pem'), 'latin1');
  const generated = generateAndroid(policy, { debugOverrides: ['user', { name: 'proxy.pem', pem }] });
  const contents = generated.files[0]!.contents;
  assert.deepEqual(checkNetworkSecurityConfig(contents), []);
  const config = parseNetworkSecurityConfig(contents);
  assert.deepEqual(config.debugAnchors, ['user', '@raw/wirelock_debug_proxy']);
  assert.ok(!evaluateAndroid(config, 'api.example.com', { apiLevel: 36 }).trustAnchors.includes('user'));
  assert.ok(evaluateAndroid(config, 'api.example.com', { apiLevel: 36, debuggable: true }).trustAnchors.includes('user'));
  assert.ok(generated.files.some((f) => f.path === 'raw/wirelock_debug_proxy.pem'));
});

test('evaluator follows XmlConfigSource: nested domain-configs inherit from their parent, top-level ones from base-config only', () => {
  const A = 'LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=';
  const xml = `<?xml version="1.0" encoding="utf-8"?>
<network-security-config>
    <base-config cleartextTrafficPermitted="false"><trust-anchors><certificates src="system"/></trust-anchors></base-config>
    <domain-config>
        <domain includeSubdomains="true">example.com</domain>
        <pin-set expiration="2030-01-02"><pin digest="SHA-256">${A}</pin></pin-set>
        <domain-config cleartextTrafficPermitted="true">
            <domain includeSubdomains="true">insecure.example.com</domain>
        </domain-config>
    </domain-config>
    <domain-config>
        <domain>other.example.com</domain>
    </domain-config>
</network-security-config>`;
  assert.deepEqual(checkNetworkSecurityConfig(xml), []);
  const config = parseNetworkSecurityConfig(xml);
  const nested = evaluateAndroid(config, 'a.insecure.example.com', { apiLevel: 30 });
  assert.deepEqual([nested.matched, nested.cleartextPermitted, nested.pins, nested.pinsEnforcedThrough], ['insecure.example.com', true, [A], '2030-01-01']);
  const sibling = evaluateAndroid(config, 'other.example.com', { apiLevel: 30 });
  assert.deepEqual([sibling.matched, sibling.pins, sibling.cleartextPermitted], ['other.example.com', [], false], 'a top-level domain-config does not inherit another one\'s pins');
  assert.equal(evaluateAndroid(config, 'OTHER.example.com.', { apiLevel: 30 }).matched, 'other.example.com', 'lower-cased, trailing dot dropped');
  // Android refuses the whole file on a duplicate domain ("has already been specified").
  assert.ok(checkNetworkSecurityConfig(xml.replace('<domain>other.example.com</domain>', '<domain>example.com</domain>')).some((p) => /duplicate <domain>/.test(p.message)));
});
