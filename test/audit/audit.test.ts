import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { auditGraph, type Finding } from '../../src/audit/audit.js';
import { buildIndex, indexFromDirectory, indexLookup, type AdvisoryLookup } from '../../src/audit/db.js';
import { applyIgnores, parseIgnoreFile } from '../../src/audit/ignore.js';
import { listInstalled, scanPackageCode } from '../../src/audit/installed.js';
import { readLockfile } from '../../src/audit/lockfile/read.js';
import { purlOf, renderTable, toCycloneDx, toJson, toSarif, type ReportContext } from '../../src/audit/report.js';
import { isWirelockError } from '../../src/errors.js';
import { FIXTURES, installedProject, OSV_VECTORS } from './support.js';

const require = createRequire(import.meta.url);
const built = indexFromDirectory(OSV_VECTORS);
const vectors: AdvisoryLookup = indexLookup(built);
const simple = (dir: string) => join(FIXTURES, 'projects', 'simple', dir);
const key = (f: Finding) => `${f.id} ${f.package.name}@${f.package.version}`;

test('the same vulnerable project gives the same advisories from every lockfile format', () => {
  const expected = ['GHSA-35jh-r3h4-6jhm lodash@4.17.15', 'GHSA-p6mc-m468-83gw lodash@4.17.15', 'GHSA-vh95-rmgr-6w4m minimist@0.0.8', 'GHSA-vh95-rmgr-6w4m minimist@1.2.0'];
  for (const dir of ['npm-v1', 'npm-v2', 'npm-v3', 'yarn1', 'berry', 'pnpm-v6', 'pnpm-v9', 'bun']) {
    const result = auditGraph(readLockfile(simple(dir)), 'lock', vectors);
    const vulns = result.findings.filter((f) => f.kind === 'vulnerability');
    assert.deepEqual(vulns.map(key).sort(), expected, dir);
    const nested = vulns.find((f) => f.package.version === '0.0.8')!;
    assert.deepEqual([nested.fixed, nested.via, nested.path.slice(1)], ['0.2.1', ['mkdirp@0.5.1'], ['mkdirp@0.5.1', 'minimist@0.0.8']], dir);
    assert.equal(vulns.find((f) => f.package.version === '1.2.0')!.fixed, '1.2.3');
    assert.equal(result.findings.filter((f) => f.kind === 'lockfile').length, 0, `${dir}: real lockfiles are clean`);
    // lodash-es@4.17.21 (dev) is the fixed version: no finding (negative control in the same run).
    assert.ok(!vulns.some((f) => f.package.name === 'lodash-es'));
  }
});

test('records sharing an alias are merged into one finding with every id; the fix clears all of them', () => {
  const record = (id: string, aliases: string[], fixed: string, vector: string) => ({
    id, aliases, modified: '2025-01-01T00:00:00Z', summary: `${id} summary`,
    severity: [{ type: 'CVSS_V3', score: vector }],
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
  });
  const index = buildIndex(
    [
      { name: 'a.json', bytes: JSON.stringify(record('GHSA-aaaa-aaaa-aaaa', ['CVE-2099-1'], '4.17.16', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L')) },
      { name: 'b.json', bytes: JSON.stringify(record('OSV-2099-9', ['CVE-2099-1'], '4.17.18', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')) },
      { name: 'c.json', bytes: JSON.stringify(record('GHSA-cccc-cccc-cccc', [], '4.17.16', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N')) },
    ],
    'test',
  );
  const db: AdvisoryLookup = indexLookup(index);
  const findings = auditGraph(readLockfile(simple('npm-v3')), 'lock', db).findings.filter((f) => f.package.name === 'lodash');
  assert.equal(findings.length, 2);
  const merged = findings.find((f) => f.aliases.includes('CVE-2099-1'))!;
  assert.deepEqual(merged.aliases, ['CVE-2099-1', 'GHSA-aaaa-aaaa-aaaa', 'OSV-2099-9']);
  assert.equal(merged.id, 'GHSA-aaaa-aaaa-aaaa');
  assert.deepEqual([merged.severity, merged.score, merged.fixed], ['critical', 9.8, '4.17.18']);
});

test('installed project: malicious-package records, hooks, install scripts, severities, --production', () => {
  const dir = installedProject();
  try {
    const mal = buildIndex([{ name: 'm.json', bytes: JSON.stringify({ id: 'MAL-2099-1', modified: '2099-01-01T00:00:00Z', summary: 'Malicious code in evil-sdk (npm)', affected: [{ package: { ecosystem: 'npm', name: 'evil-sdk' }, versions: ['1.0.0'] }] }) }, ...readdirJson()], 'test');
    const db: AdvisoryLookup = indexLookup(mal);
    const packages = listInstalled(dir);
    const installed = { packages, hits: new Map(packages.map((p) => [p.dir, scanPackageCode(dir, p)])) };
    const result = auditGraph(readLockfile(dir), 'package-lock.json', db, {}, installed);
    const lines = result.findings.map((f) => `${f.severity} ${f.kind} ${f.id} ${f.package.name}`);
    assert.equal(lines[0], 'critical malicious MAL-2099-1 evil-sdk', 'malicious first, always critical');
    for (const expected of [
      'critical network-hook network-hook/env-exfiltration evil-sdk',
      'high network-hook network-hook/reassign-http-request evil-sdk',
      'high network-hook network-hook/reassign-fetch evil-sdk',
      'high network-hook network-hook/reassign-tls-connect tls-mitm',
      'high network-hook network-hook/replace-undici-dispatcher tls-mitm',
      'high network-hook network-hook/patch-xmlhttprequest @acme/xhr-spy',
      'medium vulnerability GHSA-vh95-rmgr-6w4m minimist',
      'info network-hook network-hook/wrap-network-function dd-trace',
      'high install-script install-script/suspicious evil-sdk',
      'info install-script install-script native-addon',
    ]) assert.ok(lines.includes(expected), `missing: ${expected}\n${lines.join('\n')}`);
    assert.ok(!lines.some((l) => l.endsWith(' benign')), 'benign package: no finding');
    const hook = result.findings.find((f) => f.id === 'network-hook/reassign-fetch')!;
    assert.deepEqual(hook.location, { file: 'node_modules/evil-sdk/index.js', line: 9, column: 1, snippet: 'globalThis.fetch = async (input, init) => realFetch(input, init);' });
    assert.deepEqual(hook.via, ['evil-sdk@1.0.0']);
    // Its postinstall runs the file that ships process.env off: the install script is suspicious too.
    const script = result.findings.find((f) => f.kind === 'install-script' && f.package.name === 'evil-sdk')!;
    assert.match(script.summary, /runs lib\/beacon\.js, flagged network-hook\/env-exfiltration at node_modules\/evil-sdk\/lib\/beacon\.js:2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function readdirJson() {
  return ['GHSA-vh95-rmgr-6w4m.json'].map((name) => ({ name, bytes: readFileSync(join(OSV_VECTORS, name)) }));
}

test('--production leaves out dev-only packages', () => {
  const withDev = auditGraph(readLockfile(simple('npm-v3')), 'lock', vectors);
  const prod = auditGraph(readLockfile(simple('npm-v3')), 'lock', vectors, { production: true });
  assert.equal(withDev.packages.length - prod.packages.length, 2, 'ms and lodash-es are dev-only');
});

test('ignore file: needs a reason and an expiry; expired entries stop applying', () => {
  const findings = auditGraph(readLockfile(simple('npm-v3')), 'lock', vectors).findings;
  const entries = parseIgnoreFile(JSON.stringify({ ignore: [
    { id: 'CVE-2021-23337', reason: 'template() is never called with user input', expires: '2026-12-31' },
    { id: 'GHSA-vh95-rmgr-6w4m', package: 'minimist@0.0.8', reason: 'build-time only', expires: '2026-01-01' },
    { id: 'GHSA-nope-nope-nope', reason: 'stale entry', expires: '2027-01-01' },
  ] }), 'ignore.json');
  const outcome = applyIgnores(findings, entries, new Date('2026-06-01T00:00:00Z'));
  const suppressed = outcome.findings.filter((f) => f.suppressed).map(key);
  assert.deepEqual(suppressed, ['GHSA-35jh-r3h4-6jhm lodash@4.17.15'], 'matched by alias; the expired entry suppresses nothing');
  assert.deepEqual(outcome.expired.map((e) => e.id), ['GHSA-vh95-rmgr-6w4m']);
  assert.deepEqual(outcome.unused.map((e) => e.id), ['GHSA-nope-nope-nope']);
  const later = applyIgnores(findings, entries, new Date('2027-01-02T00:00:00Z'));
  assert.equal(later.findings.filter((f) => f.suppressed).length, 0);
  for (const bad of [{ id: 'X', expires: '2026-01-01' }, { id: 'X', reason: 'ok reason', expires: 'next year' }, { reason: 'r', expires: '2026-01-01' }]) {
    assert.throws(() => parseIgnoreFile(JSON.stringify({ ignore: [bad] }), 'i.json'), (e: unknown) => isWirelockError(e, 'ERR_INPUT_INVALID') && typeof e.details.pointer === 'string');
  }
});

test('ignoring benign install scripts does not silence a suspicious one', () => {
  // An entry written to quiet the `info` install-script notices (all of them, or one package's)
  // must not also hide the `high` finding for a script that ships process.env off: a later,
  // compromised version of the same package would pass the gate unseen.
  const dir = installedProject();
  try {
    const packages = listInstalled(dir);
    const result = auditGraph(readLockfile(dir), 'package-lock.json', vectors, {}, { packages, hits: new Map(packages.map((p) => [p.dir, scanPackageCode(dir, p)])) });
    const suspicious = (findings: Finding[]) => findings.find((f) => f.id === 'install-script/suspicious' && f.package.name === 'evil-sdk')!;
    assert.equal(suspicious(result.findings).severity, 'high');
    for (const entry of [{ id: 'install-script' }, { id: 'install-script', package: 'evil-sdk' }]) {
      const outcome = applyIgnores(result.findings, [{ ...entry, reason: 'native builds reviewed', expires: '2999-01-01' }]);
      assert.equal(suspicious(outcome.findings).suppressed, undefined, JSON.stringify(entry));
      if (!entry.package) assert.ok(outcome.findings.find((f) => f.id === 'install-script' && f.package.name === 'native-addon')!.suppressed, 'positive control: the benign notice is silenced');
    }
    const explicit = applyIgnores(result.findings, [{ id: 'install-script/suspicious', package: 'evil-sdk', reason: 'reviewed: test fixture', expires: '2999-01-01' }]);
    assert.ok(suspicious(explicit.findings).suppressed, 'an entry naming the suspicious rule still applies');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const context: ReportContext = { tool: { name: 'wirelock', version: '0.1.0' }, db: built.meta, dbAgeDays: 3, lockfileUri: 'package-lock.json', lineOf: () => 7 };

test('SARIF 2.1.0 output validates against the official schema and carries GitHub security-severity', () => {
  const dir = installedProject();
  try {
    const packages = listInstalled(dir);
    const result = auditGraph(readLockfile(dir), 'package-lock.json', vectors, {}, { packages, hits: new Map(packages.map((p) => [p.dir, scanPackageCode(dir, p)])) });
    const outcome = applyIgnores(result.findings, [{ id: 'install-script', package: 'native-addon', reason: 'reviewed binding', expires: '2999-01-01' }]);
    const sarif = toSarif({ ...result, findings: outcome.findings }, context) as any;
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
    type Validator = ((data: unknown) => boolean) & { errors?: unknown[] | null };
    const AjvDraft04 = (require('ajv-draft-04') as { default: new (options: object) => { compile(schema: unknown): Validator } }).default;
    const ajv = new AjvDraft04({ allErrors: true, strict: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    assert.ok(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.equal(validate({ version: '2.1.0', runs: [{ results: [] }] }), false, 'the validator does reject (a run needs a tool)');
    const run = sarif.runs[0];
    const vuln = run.results.find((r: any) => r.ruleId === 'GHSA-vh95-rmgr-6w4m');
    assert.equal(run.tool.driver.rules[vuln.ruleIndex].properties['security-severity'], '5.6');
    assert.equal(vuln.locations[0].physicalLocation.artifactLocation.uri, 'package-lock.json');
    const hook = run.results.find((r: any) => r.ruleId === 'network-hook/reassign-fetch');
    assert.deepEqual(hook.locations[0].physicalLocation.region, { startLine: 9, startColumn: 1 });
    assert.equal(hook.locations[0].physicalLocation.artifactLocation.uri, 'node_modules/evil-sdk/index.js');
    const ignored = run.results.find((r: any) => r.ruleId === 'install-script' && r.properties.package === 'native-addon');
    assert.equal(ignored.suppressions[0].justification, 'reviewed binding (until 2999-01-01)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CycloneDX 1.6 SBOM with vulnerabilities validates against the official schema', async () => {
  const graph = readLockfile(simple('npm-v3'));
  const result = auditGraph(graph, 'package-lock.json', vectors);
  const bom = toCycloneDx(result, graph, { ...context, projectName: 'audit-demo', projectVersion: '1.0.0' }) as any;
  const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
  const errors = await validator.validate(JSON.stringify(bom));
  assert.equal(errors, null, JSON.stringify(errors)?.slice(0, 800));
  assert.notEqual(await validator.validate(JSON.stringify({ ...bom, components: [{ type: 'library' }] })), null, 'the validator does reject (a component needs a name)');
  assert.equal(bom.components.length, 15);
  const lodash = bom.components.find((c: any) => c.name === 'lodash');
  assert.equal(lodash.purl, 'pkg:npm/lodash@4.17.15');
  assert.deepEqual(lodash.hashes[0].alg, 'SHA-512');
  assert.equal(bom.components.find((c: any) => c.name === 'ms').scope, 'excluded', 'dev dependency');
  assert.equal(bom.components.find((c: any) => c.name === 'is-number').scope, 'optional');
  const vuln = bom.vulnerabilities.find((v: any) => v.id === 'GHSA-vh95-rmgr-6w4m');
  assert.deepEqual(vuln.affects.map((a: any) => a.ref).sort(), ['pkg:npm/minimist@0.0.8', 'pkg:npm/minimist@1.2.0']);
  assert.deepEqual([vuln.ratings[0].score, vuln.ratings[0].method, vuln.ratings[0].severity], [5.6, 'CVSSv31', 'medium']);
  assert.deepEqual(bom.dependencies.find((d: any) => d.ref === 'pkg:npm/mkdirp@0.5.1').dependsOn, ['pkg:npm/minimist@0.0.8']);
  assert.equal(purlOf('@babel/core', '7.0.0'), 'pkg:npm/%40babel/core@7.0.0');
});

test('table and JSON: grouped by severity, fix versions, paths; JSON summary counts', () => {
  const result = auditGraph(readLockfile(simple('pnpm-v9')), 'pnpm-lock.yaml', vectors);
  const table = renderTable(result, context);
  assert.ok(table.indexOf('HIGH (2)') < table.indexOf('MEDIUM (2)'));
  assert.match(table, /GHSA-vh95-rmgr-6w4m\s+minimist@0\.0\.8\s+fix: 0\.2\.1/);
  assert.match(table, /via audit-demo > mkdirp@0\.5\.1 > minimist@0\.0\.8/);
  assert.doesNotMatch(table, /\u001b\[/, 'no colour without a TTY');
  const json = toJson(result, context) as any;
  assert.deepEqual(json.summary, { critical: 0, high: 2, medium: 2, low: 0, unknown: 0, info: 0 });
});

test('the 454-package project: known answers across formats (lodash 4.17.20 only CVE-2021-23337; minimist 1.2.5 fixed)', () => {
  for (const dir of ['npm-v1', 'npm-v3', 'yarn1', 'berry', 'pnpm-v6', 'pnpm-v9', 'bun']) {
    const result = auditGraph(readLockfile(join(FIXTURES, 'projects', 'large', dir)), 'lock', vectors);
    const vulns = result.findings.filter((f) => f.kind === 'vulnerability').map((f) => `${key(f)} via ${f.via.join(',')}`);
    assert.deepEqual(vulns, ['GHSA-35jh-r3h4-6jhm lodash@4.17.20 via lodash@4.17.20'], dir);
  }
});
