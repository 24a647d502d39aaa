import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as plist from 'plist';
import { DOMParser } from '@xmldom/xmldom';
import { definePolicy } from '../../src/policy/define.js';
import { checkNetworkSecurityConfig } from '../../src/mobile/android.js';
import { generateTarget } from '../../src/mobile/generate.js';
import { fixtures, vectors, EXPO_PINS, expoPolicyDocument } from './support.js';

// The real mod engine, loaded the way an Expo project loads it (CommonJS).
const require = createRequire(import.meta.url);
const configPlugins = require('@expo/config-plugins') as typeof import('@expo/config-plugins');
const root = process.cwd();


/**
 * A project as `expo prebuild` lays it out: Expo's bare template (android/, ios/ with the real
 * manifest, Info.plist and Xcode project), app.json with the plugin, the policy and a private CA.
 */
const projects: string[] = [];
after(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

function createExpoProject(plugins: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-expo-'));
  projects.push(dir);
  cpSync(join(fixtures, 'expo-template'), dir, { recursive: true });
  // npm strips .gitignore from packages: Expo's template ships it as "gitignore" and renames it.
  renameSync(join(dir, 'gitignore'), join(dir, '.gitignore'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'wirelock-demo', version: '1.0.0', private: true }));
  writeFileSync(join(dir, 'app.json'), JSON.stringify({ expo: { name: 'HelloWorld', slug: 'wirelock-demo', ios: { bundleIdentifier: 'com.example.helloworld' }, android: { package: 'com.helloworld' }, plugins } }, null, 2));
  writeFileSync(join(dir, 'wirelock.json'), JSON.stringify(expoPolicyDocument));
  mkdirSync(join(dir, 'certs'));
  copyFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R1.pem'), join(dir, 'certs', 'corp-root.pem'));
  // The package and Expo's config plugins, installed as a project would have them.
  mkdirSync(join(dir, 'node_modules', '@expo'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules', 'wirelock'), 'dir');
  symlinkSync(join(root, 'node_modules', '@expo', 'config-plugins'), join(dir, 'node_modules', '@expo', 'config-plugins'), 'dir');
  return dir;
}

async function prebuild(dir: string) {
  const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')).expo;
  let config = { ...app, _internal: { projectRoot: dir } };
  // withPlugins resolves "wirelock/expo" from the project exactly as expo prebuild does.
  config = configPlugins.withPlugins(config, app.plugins);
  return configPlugins.compileModsAsync(config, { projectRoot: dir, platforms: ['android', 'ios'], assertMissingModProviders: true });
}

test('expo prebuild with wirelock/expo writes the Network Security Config, the manifest attribute, raw anchors and the ATS keys', async () => {
  assert.ok(existsSync(join(root, 'dist', 'mobile', 'expo-plugin.cjs')), 'build first (npm run build)');
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', debugCertificates: ['user'] }]]);
  await prebuild(dir);
  const res = join(dir, 'android', 'app', 'src', 'main', 'res');
  const xml = readFileSync(join(res, 'xml', 'network_security_config.xml'), 'utf8');
  assert.deepEqual(checkNetworkSecurityConfig(xml), []);
  const policy = definePolicy(expoPolicyDocument, { baseDir: dir });
  const expected = generateTarget('android', policy, { android: { source: './wirelock.json', debugOverrides: ['user'], debugOverridesFile: true } }).result;
  assert.equal(xml, expected.files[0]!.contents, 'the plugin writes exactly what `wirelock generate android` writes');
  assert.equal(readFileSync(join(res, 'raw', 'wirelock_corp_root.pem'), 'utf8'), expected.files.find((f) => f.path === 'raw/wirelock_corp_root.pem')!.contents);

  const manifest = new DOMParser().parseFromString(readFileSync(join(dir, 'android', 'app', 'src', 'main', 'AndroidManifest.xml'), 'utf8'), 'text/xml');
  const application = manifest.getElementsByTagName('application')[0]!;
  assert.equal(application.getAttribute('android:networkSecurityConfig'), '@xml/network_security_config');
  assert.equal(application.getAttribute('android:allowBackup'), 'false', 'other attributes are kept');

  const info = plist.parse(readFileSync(join(dir, 'ios', 'HelloWorld', 'Info.plist'), 'utf8')) as Record<string, any>;
  const ats = info.NSAppTransportSecurity;
  assert.equal(ats.NSAllowsArbitraryLoads, false);
  assert.equal(ats.NSAllowsLocalNetworking, undefined, 'the template\'s local networking is replaced: the policy does not allow loopback cleartext');
  assert.deepEqual(ats.NSPinnedDomains['api.example.com'].NSPinnedCAIdentities.map((i: Record<string, string>) => i['SPKI-SHA256-BASE64']), EXPO_PINS.map((p) => p.pin.slice(7)));
  assert.equal(info.CFBundleExecutable, '$(EXECUTABLE_NAME)', 'other Info.plist keys are kept');
  assert.ok(info.UIApplicationSceneManifest, 'other Info.plist keys are kept');
  assert.equal(info.TSKConfiguration, undefined);
});

test('trustkit: true adds TSKConfiguration; platforms limits what is touched', async () => {
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', trustkit: true, platforms: ['ios'] }]]);
  await prebuild(dir);
  const info = plist.parse(readFileSync(join(dir, 'ios', 'HelloWorld', 'Info.plist'), 'utf8')) as Record<string, any>;
  assert.deepEqual(info.TSKConfiguration.TSKPinnedDomains['api.example.com'].TSKPublicKeyHashes, EXPO_PINS.map((p) => p.pin.slice(7)));
  assert.equal(info.TSKConfiguration.TSKPinnedDomains['api.example.com'].TSKExpirationDate, '2031-06-02');
  assert.equal(existsSync(join(dir, 'android', 'app', 'src', 'main', 'res', 'xml', 'network_security_config.xml')), false);
});

test('strict: a rule the platform cannot express fails the prebuild and writes nothing for that platform', async () => {
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', strict: true }]]);
  const infoPlist = join(dir, 'ios', 'HelloWorld', 'Info.plist');
  const before = readFileSync(infoPlist, 'utf8');
  await assert.rejects(prebuild(dir), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'ERR_GENERATE_UNSUPPORTED');
    assert.match(error.message, /android\/min-tls/);
    return true;
  });
  assert.equal(existsSync(join(dir, 'android', 'app', 'src', 'main', 'res', 'xml', 'network_security_config.xml')), false);
  const iosOnly = createExpoProject([['wirelock/expo', { policy: './wirelock.json', strict: true, platforms: ['ios'] }]]);
  await assert.rejects(prebuild(iosOnly), /ios\/pins-expire|ios\/trust-anchors|ios\/ip-address/);
  assert.equal(readFileSync(join(iosOnly, 'ios', 'HelloWorld', 'Info.plist'), 'utf8'), before, 'Info.plist untouched');
});

test('bad plugin options are refused with a clear message', async () => {
  for (const [props, message] of [
    [{}, /"policy" must be/],
    [{ policy: './wirelock.json', strct: true }, /unknown option "strct"/],
    [{ policy: './wirelock.json', platforms: ['web'] }, /"platforms"/],
    [{ policy: './missing.json' }, /cannot read policy file/],
  ] as const) {
    const dir = createExpoProject([['wirelock/expo', props]]);
    await assert.rejects(prebuild(dir), message);
  }
});

test('debugCleartext: a debug-build-type copy permits cleartext for Metro; the release config does not', async () => {
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', debugCleartext: true, platforms: ['android'] }]]);
  await prebuild(dir);
  const release = readFileSync(join(dir, 'android', 'app', 'src', 'main', 'res', 'xml', 'network_security_config.xml'), 'utf8');
  const debug = readFileSync(join(dir, 'android', 'app', 'src', 'debug', 'res', 'xml', 'network_security_config.xml'), 'utf8');
  // Why: the template lets debug builds use cleartext through the manifest, which Android ignores
  // once a Network Security Config is set.
  assert.match(readFileSync(join(dir, 'android', 'app', 'src', 'debug', 'AndroidManifest.xml'), 'utf8'), /android:usesCleartextTraffic="true"/);
  assert.match(release, /<base-config cleartextTrafficPermitted="false">/);
  assert.match(debug, /<base-config cleartextTrafficPermitted="true">/);
  assert.deepEqual(checkNetworkSecurityConfig(debug), []);
  // Everything but the base cleartext flag (and its comment) is the release file.
  const strip = (xml: string) => xml.replace(/<!-- Debug build type only[^>]*-->\n/, '').replace('cleartextTrafficPermitted="true">', 'cleartextTrafficPermitted="false">');
  assert.equal(strip(debug), release);
});

// ---------------------------------------------------------------------------------------------
// Findings of a real `expo prebuild` (issue 15), with the real @expo/config-plugins mod engine.

async function captureWarnings<T>(run: () => Promise<T>): Promise<{ warnings: string[]; result: T }> {
  // WarningAggregator prints with console.warn (@expo/config-plugins build/utils/warnings.js).
  const original = console.warn;
  const warnings: string[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  try {
    return { warnings, result: await run() };
  } finally {
    console.warn = original;
  }
}

test('warnings are printed once per prebuild although Expo evaluates the config several times', async () => {
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json' }]]);
  const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')).expo;
  const { warnings } = await captureWarnings(async () => {
    let config = { ...app, _internal: { projectRoot: dir } };
    // expo prebuild reads the config (getConfig, getPrebuildConfig) before it compiles the mods once.
    for (let i = 0; i < 4; i++) config = configPlugins.withPlugins({ ...app, _internal: { projectRoot: dir } }, app.plugins);
    return configPlugins.compileModsAsync(config, { projectRoot: dir, platforms: ['android', 'ios'], assertMissingModProviders: true });
  });
  const count = (rule: string) => warnings.filter((w) => w.includes(`${rule}:`)).length;
  assert.equal(count('android/min-tls'), 1, warnings.join('\n'));
  assert.equal(count('ios/ip-address'), 1, warnings.join('\n'));
});

test('expo prebuild --platform android: a strict run is not failed by iOS rules', async () => {
  const probe = createExpoProject([]);
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', strict: true, accept: androidRules(probe) }]]);
  const app = JSON.parse(readFileSync(join(dir, 'app.json'), 'utf8')).expo;
  const config = configPlugins.withPlugins({ ...app, _internal: { projectRoot: dir } }, app.plugins);
  await configPlugins.compileModsAsync(config, { projectRoot: dir, platforms: ['android'], assertMissingModProviders: true });
  assert.ok(existsSync(join(dir, 'android', 'app', 'src', 'main', 'res', 'xml', 'network_security_config.xml')), 'android files written');
});

function androidRules(projectDir: string): string[] {
  const policy = definePolicy(expoPolicyDocument, { baseDir: projectDir });
  return [...new Set(generateTarget('android', policy).result.warnings.map((w) => w.rule))];
}

test('trustkit: a domain under a non-public suffix fails the prebuild with the real cause', async () => {
  // TrustKit parse_configuration.m:69-76 raises on GetRegistryLength() == 0 (".internal" is not in the Public Suffix List).
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', trustkit: true, platforms: ['ios'] }]]);
  writeFileSync(join(dir, 'wirelock.json'), JSON.stringify({ version: 1, domains: { 'api.corp.internal': { pins: EXPO_PINS } } }));
  await assert.rejects(prebuild(dir), (error: Error) => {
    assert.match(error.message, /api\.corp\.internal/);
    assert.match(error.message, /public suffix/i);
    return true;
  });
});

test('a .gitignore rule (Expo template: *.pem) that hides the policy\'s CA is detected, with the fix', async () => {
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', platforms: ['android'] }]]);
  assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^\*\.pem$/m, 'the real template ignores *.pem');
  const { warnings } = await captureWarnings(() => prebuild(dir));
  assert.ok(warnings.some((w) => w.includes('certs/corp-root.pem') && w.includes('!/certs/corp-root.pem')), warnings.join('\n'));
  // A fresh clone has no certs/corp-root.pem: the error names the ignore rule and the fix.
  rmSync(join(dir, 'certs'), { recursive: true });
  await assert.rejects(prebuild(dir), /\*\.pem.*\.gitignore[\s\S]*!\/certs\/corp-root\.pem/);
  // Positive control: with the re-include rule there is no warning.
  const fixed = createExpoProject([['wirelock/expo', { policy: './wirelock.json', platforms: ['android'] }]]);
  writeFileSync(join(fixed, '.gitignore'), `${readFileSync(join(fixed, '.gitignore'), 'utf8')}\n!/certs/corp-root.pem\n`);
  const clean = await captureWarnings(() => prebuild(fixed));
  assert.ok(!clean.warnings.some((w) => w.includes('anchor-gitignored')), clean.warnings.join('\n'));
});

test('debug-only material (overrides, the debug proxy PEM) lands in the debug source set, never in release res/raw', async () => {
  // XmlConfigSource.parseDebugOverridesResource: a debuggable build whose config has no
  // <debug-overrides> reads them from "<config>_debug" (network_security_config_debug.xml).
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', debugCertificates: ['user', './proxy.pem'], platforms: ['android'] }]]);
  copyFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R3.pem'), join(dir, 'proxy.pem'));
  await prebuild(dir);
  const src = join(dir, 'android', 'app', 'src');
  const main = readFileSync(join(src, 'main', 'res', 'xml', 'network_security_config.xml'), 'utf8');
  assert.doesNotMatch(main, /debug-overrides|wirelock_debug/);
  const { readdirSync } = await import('node:fs');
  assert.deepEqual(readdirSync(join(src, 'main', 'res', 'raw')).filter((f) => f.includes('debug')), [], 'release res/raw holds no debug certificate');
  const debugXml = readFileSync(join(src, 'debug', 'res', 'xml', 'network_security_config_debug.xml'), 'utf8');
  assert.match(debugXml, /<certificates src="user" overridePins="false" \/>/);
  assert.match(debugXml, /<certificates src="@raw\/wirelock_debug_proxy" overridePins="false" \/>/);
  assert.ok(existsSync(join(src, 'debug', 'res', 'raw', 'wirelock_debug_proxy.pem')), 'proxy PEM in the debug source set');
  assert.deepEqual(checkNetworkSecurityConfig(debugXml), []);
});

test('Info.plist: device-specific NSAppTransportSecurity variants are removed and reported', async () => {
  // CFBundle_InfoPlist.c:428-498: NSAppTransportSecurity~iphone replaces NSAppTransportSecurity on an iPhone.
  const dir = createExpoProject([['wirelock/expo', { policy: './wirelock.json', platforms: ['ios'] }]]);
  const infoFile = join(dir, 'ios', 'HelloWorld', 'Info.plist');
  const info = plist.parse(readFileSync(infoFile, 'utf8')) as Record<string, any>;
  info['NSAppTransportSecurity~iphone'] = { NSAllowsArbitraryLoads: true };
  info['NSAppTransportSecurity-iphoneos'] = { NSAllowsArbitraryLoads: true };
  writeFileSync(infoFile, plist.build(info));
  const { warnings } = await captureWarnings(() => prebuild(dir));
  const after = plist.parse(readFileSync(infoFile, 'utf8')) as Record<string, any>;
  assert.deepEqual(Object.keys(after).filter((k) => k.startsWith('NSAppTransportSecurity')), ['NSAppTransportSecurity']);
  assert.ok(warnings.some((w) => w.includes('removed NSAppTransportSecurity~iphone')), warnings.join('\n'));
});
