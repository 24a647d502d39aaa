import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync as makeTemp, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as plist from 'plist';
import { checkNetworkSecurityConfig, evaluateAndroid, parseNetworkSecurityConfig } from '../../src/mobile/android.js';

// The built CLI (`npm test` builds first), run as a user would.
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const fixture = join(process.cwd(), 'test', 'fixtures', 'mobile', 'every-feature.wirelock.json');
const vectors = join(process.cwd(), 'test', 'vectors');

const temporary: string[] = [];
after(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
function mkdtempSync(prefix: string): string {
  const dir = makeTemp(prefix);
  temporary.push(dir);
  return dir;
}

function wirelock(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd, env: { PATH: process.env.PATH, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('generate android -o writes the XML and the private CA into res/raw, warnings name rule and policy pointer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const out = join(dir, 'app', 'src', 'main', 'res', 'xml', 'network_security_config.xml');
  const result = await wirelock(dir, 'generate', 'android', '--policy', fixture, '-o', out);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, '');
  assert.deepEqual(checkNetworkSecurityConfig(readFileSync(out, 'utf8')), []);
  assert.ok(existsSync(join(dir, 'app', 'src', 'main', 'res', 'raw', 'wirelock_gts_root_r1.pem')));
  assert.match(result.stderr, /warning +android\/report-only +\S+every-feature\.wirelock\.json#\/domains\/telemetry\.example\.org/);
  assert.match(result.stderr, /warning +android\/min-tls/);
  assert.match(result.stderr, /wrote .*network_security_config\.xml/);
});

test('generate android without -o refuses when private CAs need res/raw (exit 2)', async () => {
  const result = await wirelock(process.cwd(), 'generate', 'android', '--policy', fixture);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /ERR_USAGE: the policy names private CAs/);
});

test('generate ios --json: files, warnings with rule ids, and the equivalence summary', async () => {
  const result = await wirelock(process.cwd(), 'generate', 'ios', '--policy', fixture, '--json');
  assert.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.equal(out.target, 'ios');
  const document = plist.parse(out.files[0].contents) as Record<string, any>;
  assert.equal(document.NSAppTransportSecurity.NSAllowsArbitraryLoads, false);
  assert.ok(out.warnings.some((w: { rule: string; pointer: string }) => w.rule === 'ios/pins-expire' && w.pointer === '/domains/api.example.com/pinsExpire'));
  assert.ok(out.equivalence.every((r: { differences: number; announced: number }) => r.differences === r.announced));
  const details = out.equivalence[0].details as Array<{ host: string; aspect: string; warning: string }>;
  assert.ok(details.some((d) => d.host === 'api.example.com' && d.aspect === 'pins-expire' && d.warning === 'ios/pins-expire'));
});

test('--strict fails with exit 1 and writes nothing; --accept for every rule lets it pass', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const out = join(dir, 'ats.plist');
  const strict = await wirelock(dir, 'generate', 'ios', '--policy', fixture, '--strict', '-o', out);
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /ERR_GENERATE_UNSUPPORTED: ios cannot express \d+ rules/);
  assert.match(strict.stderr, /ios\/pin-roles-mixed \(.*#\/domains\/login\.api\.example\.com\/pins\)/);
  assert.equal(existsSync(out), false);
  const rules = [...new Set(JSON.parse((await wirelock(dir, 'generate', 'ios', '--policy', fixture, '--json')).stdout).warnings.map((w: { rule: string }) => w.rule))] as string[];
  const accepted = await wirelock(dir, 'generate', 'ios', '--policy', fixture, '--strict', '-o', out, ...rules.flatMap((rule) => ['--accept', rule]));
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stderr, /accepted ios\/pins-expire/);
  assert.ok(existsSync(out));
});

test('generate trustkit: JSON by default, --format plist for native TrustKit', async () => {
  const json = await wirelock(process.cwd(), 'generate', 'trustkit', '--policy', fixture);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout)).sort(), ['api.example.com', 'login.api.example.com', 'xn--bcher-kva.de'], 'internal.corp.example has no known public suffix: TrustKit would raise');
  const native = await wirelock(process.cwd(), 'generate', 'trustkit', '--policy', fixture, '--format', 'plist');
  assert.equal(native.code, 0, native.stderr);
  assert.equal((plist.parse(native.stdout) as Record<string, any>).TSKConfiguration.TSKSwizzleNetworkDelegates, true);
});

test('`wirelock pin --format json` output pastes into a policy and comes out as the same pins', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const pinned = await wirelock(dir, 'pin', '--cert', join(vectors, 'spki-pins', 'trustkit', 'www.globalsign.com.der'), '--format', 'json');
  assert.equal(pinned.code, 0, pinned.stderr);
  const backup = await wirelock(dir, 'pin', '--cert', join(vectors, 'spki-pins', 'spki', 'GoogleBackup2048.spki.pem'), '--format', 'json');
  const pins = [...JSON.parse(pinned.stdout).pins, ...JSON.parse(backup.stdout).pins];
  writeFileSync(join(dir, 'wirelock.json'), JSON.stringify({ version: 1, domains: { 'www.globalsign.com': { pins } } }));
  const result = await wirelock(dir, 'generate', 'android');
  assert.equal(result.code, 0, result.stderr);
  const applied = evaluateAndroid(parseNetworkSecurityConfig(result.stdout), 'www.globalsign.com', { apiLevel: 36 });
  assert.deepEqual(applied.pins, pins.map((p: { pin: string }) => p.pin.slice(7)));
});

test('usage errors exit 2', async () => {
  for (const args of [['generate'], ['generate', 'windows', '--policy', fixture], ['generate', 'ios', '--policy', fixture, '--format', 'plist'], ['generate', 'trustkit', '--policy', fixture, '--format', 'xml']]) {
    const result = await wirelock(process.cwd(), ...args);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, /ERR_USAGE/);
  }
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const none = await wirelock(dir, 'generate', 'ios');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no policy/);
});

test('--check: overridePins="true" on a trust anchor turns pinning off for its chains: drift, not in sync', async () => {
  // Android skips the pin-set for a chain that ends in an anchor marked overridePins="true"; on
  // "system" that is every publicly trusted chain, so the hand-edited file pins nothing in practice.
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const xmlFile = join(dir, 'res', 'xml', 'network_security_config.xml');
  assert.equal((await wirelock(dir, 'generate', 'android', '--policy', fixture, '-o', xmlFile)).code, 0);
  const original = readFileSync(xmlFile, 'utf8');
  assert.equal((await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile)).code, 0, 'positive control: the generated file is in sync');
  const edited = original.replace('<certificates src="system" />', '<certificates src="system" overridePins="true" />');
  assert.notEqual(edited, original);
  assert.deepEqual(checkNetworkSecurityConfig(edited), [], 'a valid Network Security Config');
  writeFileSync(xmlFile, edited);
  const result = await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile, '--json');
  assert.equal(result.code, 1, result.stdout);
  const report = JSON.parse(result.stdout);
  assert.equal(report.drifted, true);
  assert.ok(report.drift.some((d: { host: string; aspect: string }) => d.host === 'api.example.com' && d.aspect === 'pins'), result.stdout);
  // In <debug-overrides> an anchor without overridePins overrides pins (AOSP XmlConfigSource:
  // defaultOverridePins = configType == CONFIG_DEBUG): debuggable builds would pin nothing. Drift.
  const debugOnly = original.replace('</network-security-config>', '    <debug-overrides>\n        <trust-anchors>\n            <certificates src="user" overridePins="true" />\n        </trust-anchors>\n    </debug-overrides>\n</network-security-config>');
  for (const [variant, code] of [[debugOnly, 1], [debugOnly.replace(' overridePins="true"', ''), 1], [debugOnly.replace('overridePins="true"', 'overridePins="false"'), 0]] as const) {
    writeFileSync(xmlFile, variant);
    const checked = await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile, '--json');
    assert.equal(checked.code, code, checked.stdout);
    if (code === 1) assert.ok(JSON.parse(checked.stdout).drift.every((d: { evaluator: string }) => d.evaluator === 'android-api-36-debuggable'), 'release builds are unaffected');
  }
  const config = parseNetworkSecurityConfig(debugOnly);
  assert.deepEqual(evaluateAndroid(config, 'api.example.com', { apiLevel: 34, debuggable: true }).pinsOverriddenBy, ['user']);
  assert.deepEqual(evaluateAndroid(config, 'api.example.com', { apiLevel: 34 }).pinsOverriddenBy, []);
});

test('--check: a freshly generated file is in sync; a hand edit or a missing raw anchor is drift (exit 1)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const xmlFile = join(dir, 'res', 'xml', 'network_security_config.xml');
  assert.equal((await wirelock(dir, 'generate', 'android', '--policy', fixture, '-o', xmlFile)).code, 0);
  const clean = await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /in sync/);
  const original = readFileSync(xmlFile, 'utf8');
  writeFileSync(xmlFile, original.replace('<domain includeSubdomains="true">api.example.com</domain>', '<domain includeSubdomains="false">api.example.com</domain>'));
  const edited = await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile, '--json');
  assert.equal(edited.code, 1);
  const report = JSON.parse(edited.stdout);
  assert.equal(report.drifted, true);
  assert.ok(report.drift.some((d: { host: string; aspect: string }) => d.host === 'www.api.example.com' && d.aspect === 'pins'));
  writeFileSync(xmlFile, original.replace('digest="SHA-256"', 'digest="SHA-1"'));
  const invalid = await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stdout, /invalid .*digest="SHA-256"/);
  writeFileSync(xmlFile, original);
  const ios = join(dir, 'Info.plist');
  writeFileSync(ios, plist.build({ CFBundleName: 'App', NSAppTransportSecurity: { NSAllowsArbitraryLoads: true } }));
  const arbitrary = await wirelock(dir, 'generate', 'ios', '--policy', fixture, '--check', ios);
  assert.equal(arbitrary.code, 1);
  assert.match(arbitrary.stdout, /drift +ios-ats unlisted\.example\.net cleartext/);
});

test('generate ios --merge updates an existing Info.plist in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const info = join(dir, 'Info.plist');
  writeFileSync(info, plist.build({ CFBundleName: 'App', NSAppTransportSecurity: { NSAllowsArbitraryLoads: true } }));
  const result = await wirelock(dir, 'generate', 'ios', '--policy', fixture, '--merge', info);
  assert.equal(result.code, 0, result.stderr);
  const merged = plist.parse(readFileSync(info, 'utf8')) as Record<string, any>;
  assert.equal(merged.CFBundleName, 'App');
  assert.equal(merged.NSAppTransportSecurity.NSAllowsArbitraryLoads, false);
  assert.equal((await wirelock(dir, 'generate', 'ios', '--policy', fixture, '--check', info)).code, 0, 'in sync after the merge');
  assert.equal((await wirelock(dir, 'generate', 'android', '--policy', fixture, '--merge', info)).code, 2);
});

test('--check: values left to the platform default and a DOCTYPE decoy are drift (exit 1), each with a message naming the cause', async () => {
  // AOSP XmlConfigSource.parseNetworkSecurityConfig: NetworkSecurityConfig.getDefaultBuilder() is the
  // parent of <base-config> (cleartext permitted for every app on API 24-25); XML 1.0 section 2.8:
  // a DOCTYPE ends after its quoted SystemLiteral, so xmllint and expat read the document after it.
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-gen-'));
  const xmlFile = join(dir, 'res', 'xml', 'network_security_config.xml');
  assert.equal((await wirelock(dir, 'generate', 'android', '--policy', fixture, '-o', xmlFile)).code, 0);
  const original = readFileSync(xmlFile, 'utf8');
  assert.equal((await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile)).code, 0, 'positive control: in sync');
  const body = original.replace(/^<\?xml[^>]*>/, '').replace(/<!--[^]*?-->/g, '').replace(/\n\s*/g, '');
  const cases: Array<[string, RegExp]> = [
    [original.replace(/ cleartextTrafficPermitted="false"/g, ''), /cleartextTrafficPermitted: Android then uses the platform default/],
    [original.replace(/<base-config[^]*?<\/base-config>/, ''), /no <base-config>/],
    // The reviewer's decoy: the generated file inside the SystemLiteral, a weak one after it.
    [`<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE network-security-config SYSTEM '>${body}<!--'>\n${body.replace(/cleartextTrafficPermitted="false"/g, 'cleartextTrafficPermitted="true"')}\n<!-- end -->\n`, /DOCTYPE is not accepted/],
  ];
  for (const [edited, message] of cases) {
    assert.notEqual(edited, original);
    writeFileSync(xmlFile, edited);
    const result = await wirelock(dir, 'generate', 'android', '--policy', fixture, '--check', xmlFile);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, message);
  }
});
