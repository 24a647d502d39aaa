// System suite: every generated mobile file read by independent standard parsers besides wirelock's
// own reader: xmllint (libxml2) and Python's pyexpat (expat, the parser aapt2 uses for resources)
// for XML, Python's plistlib for property lists. Fails, never skips, when a tool is missing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePolicy } from '../../src/policy/define.js';
import { generateTarget, TARGETS } from '../../src/mobile/generate.js';
import { checkNetworkSecurityConfig, generateAndroid } from '../../src/mobile/android.js';
import { mergeAtsIntoInfoPlist } from '../../src/mobile/ios.js';
import { parsePlist, type PlistValue } from '../../src/mobile/plist.js';
import { loadPolicy } from '../../src/policy/define.js';
import { requireTool } from '../support/system.js';
import { fixtures, loadEveryFeature, vectors } from './support.js';

const xmllint = requireTool('xmllint', 'libxml2-utils');
const python = requireTool('python3', 'python3');

const dir = mkdtempSync(join(tmpdir(), 'wirelock-parsers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const debugPem = readFileSync(join(vectors, 'spki-pins', 'certs', 'GTS_Root_R3.pem'), 'utf8');

/** Every file the generators write, for the two golden policies and the edge cases of issue 15. */
async function generatedFiles(): Promise<Array<{ name: string; contents: string }>> {
  const out: Array<{ name: string; contents: string }> = [];
  const policies = [await loadEveryFeature(), await loadPolicy(join(fixtures, 'global-rules.wirelock.json'), { now: new Date('2026-11-01T00:00:00Z') })];
  for (const [index, policy] of policies.entries()) {
    for (const target of TARGETS) {
      for (const separate of [false, true]) {
        // Policy file names XML comments cannot hold as they are.
        const android = { source: ['team---policy--v2-.json', '-->x.json'][index]!, debugOverrides: ['user' as const, { name: 'proxy.pem', pem: debugPem }], debugOverridesFile: separate };
        for (const file of generateTarget(target, policy, { android }).result.files) out.push({ name: `${index}-${target}-${separate}-${file.path.replace(/\//g, '_')}`, contents: file.contents });
      }
    }
    out.push({ name: `${index}-debug-cleartext.xml`, contents: generateAndroid(policy, { source: 'a--b', debugBuildCleartext: true }).files[0]!.contents });
    const template = readFileSync(join(fixtures, 'expo-template', 'ios', 'HelloWorld', 'Info.plist'), 'utf8');
    const variants = template.replace('<key>NSAppTransportSecurity</key>', '<key>NSAppTransportSecurity~iphone</key>\n\t<dict>\n\t\t<key>NSAllowsArbitraryLoads</key>\n\t\t<true/>\n\t</dict>\n\t<key>NSAppTransportSecurity</key>');
    const ios = generateTarget('ios', policy).result.files[0]!.contents;
    out.push({ name: `${index}-merged-Info.plist`, contents: mergeAtsIntoInfoPlist(variants, ios).text });
  }
  return out;
}

const files = await generatedFiles();

test('xmllint (libxml2) parses every generated file', () => {
  assert.ok(files.length >= 20, `${files.length} files`);
  for (const file of files.filter((f) => !f.name.endsWith('.json') && !f.name.endsWith('.pem'))) {
    const path = join(dir, file.name);
    writeFileSync(path, file.contents);
    const result = spawnSync(xmllint, ['--noout', '--nonet', path], { encoding: 'utf8' });
    assert.equal(result.status, 0, `${file.name}: ${result.stderr}`);
  }
});

test('expat (pyexpat, the parser aapt2 uses) parses every generated XML file', () => {
  const xml = files.filter((f) => !f.name.endsWith('.json') && !f.name.endsWith('.pem'));
  const script = 'import sys, xml.parsers.expat\nfor path in sys.argv[1:]:\n    p = xml.parsers.expat.ParserCreate()\n    p.Parse(open(path, "rb").read(), True)\nprint(len(sys.argv) - 1)';
  const paths = xml.map((file) => {
    const path = join(dir, file.name);
    writeFileSync(path, file.contents);
    return path;
  });
  const result = spawnSync(python, ['-c', script, ...paths], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), String(paths.length));
});

test('Python plistlib reads every generated plist as wirelock\'s reader does', () => {
  const plists = files.filter((f) => f.name.endsWith('.plist'));
  assert.ok(plists.length >= 6);
  const script = 'import sys, json, plistlib\nprint(json.dumps([plistlib.load(open(p, "rb")) for p in sys.argv[1:]]))';
  const paths = plists.map((file) => {
    const path = join(dir, file.name);
    writeFileSync(path, file.contents);
    return path;
  });
  const result = spawnSync(python, ['-c', script, ...paths], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const theirs = JSON.parse(result.stdout) as PlistValue[];
  plists.forEach((file, index) => assert.deepEqual(theirs[index], parsePlist(file.contents), file.name));
});

test('positive control: xmllint and expat refuse a comment holding "--" (what the old generator wrote for such a name)', () => {
  const bad = join(dir, 'bad.xml');
  writeFileSync(bad, '<?xml version="1.0" encoding="utf-8"?>\n<!-- Generated by wirelock from team- --policy- -v2-.json. -->\n<network-security-config/>\n');
  assert.notEqual(spawnSync(xmllint, ['--noout', '--nonet', bad], { encoding: 'utf8' }).status, 0);
  const result = spawnSync(python, ['-c', 'import sys, xml.parsers.expat\nxml.parsers.expat.ParserCreate().Parse(open(sys.argv[1], "rb").read(), True)', bad], { encoding: 'utf8' });
  assert.notEqual(result.status, 0);
  // And definePolicy is the only input: a plain policy gives a plain file that both accept.
  const ok = generateAndroid(definePolicy({ version: 1, domains: { 'api.example.com': {} } })).files[0]!.contents;
  writeFileSync(bad, ok);
  assert.equal(spawnSync(xmllint, ['--noout', '--nonet', bad]).status, 0);
});

test('positive control for the DOCTYPE refusal: xmllint and expat read the document after a quoted ">" in the DOCTYPE, wirelock refuses the file', () => {
  // XML 1.0 section 2.8: the SystemLiteral '...' holds the decoy, so the real root is the weak one after it.
  const strong = generateAndroid(definePolicy({ version: 1, domains: { 'api.example.com': {} } })).files[0]!.contents;
  const decoy = strong.replace(/^<\?xml[^>]*>\n<!--[^]*?-->\n/, '').replace(/\n\s*/g, '');
  const weak = '<network-security-config><base-config cleartextTrafficPermitted="true"><trust-anchors><certificates src="system"/><certificates src="user"/></trust-anchors></base-config></network-security-config>';
  const file = join(dir, 'doctype-decoy.xml');
  writeFileSync(file, `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE network-security-config SYSTEM '>${decoy}<!--'>\n${weak}\n`);
  const xpath = spawnSync(xmllint, ['--nonet', '--xpath', 'string(/network-security-config/base-config/@cleartextTrafficPermitted)', file], { encoding: 'utf8' });
  assert.equal(xpath.stdout.trim(), 'true', xpath.stderr);
  const script = 'import sys, json, xml.parsers.expat\nseen = []\np = xml.parsers.expat.ParserCreate()\np.StartElementHandler = lambda name, attrs: seen.append([name, attrs])\np.Parse(open(sys.argv[1], "rb").read(), True)\nprint(json.dumps(seen))';
  const expat = spawnSync(python, ['-c', script, file], { encoding: 'utf8' });
  assert.equal(expat.status, 0, expat.stderr);
  const elements = JSON.parse(expat.stdout) as Array<[string, Record<string, string>]>;
  assert.deepEqual(elements.find(([name]) => name === 'base-config')?.[1], { cleartextTrafficPermitted: 'true' });
  assert.ok(elements.some(([name, attrs]) => name === 'certificates' && attrs.src === 'user'), 'expat reads the user CAs');
  assert.ok(!elements.some(([name]) => name === 'domain-config'), 'the decoy is not part of the document');
  assert.ok(checkNetworkSecurityConfig(readFileSync(file, 'utf8')).some((p) => /DOCTYPE is not accepted/.test(p.message)));
});
