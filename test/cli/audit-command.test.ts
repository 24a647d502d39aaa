import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { writeZip } from '../../src/audit/zip.js';
import { installedProject } from '../audit/support.js';

// These run the built CLI (`npm test` builds first) as a user would.
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const OSV = join(process.cwd(), 'test', 'vectors', 'osv');
const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'audit');
const work = mkdtempSync(join(tmpdir(), 'wirelock-audit-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const zipOfVectors = writeZip(readdirSync(join(OSV, 'npm')).filter((f) => f.endsWith('.json')).map((name) => ({ name: `npm/${name}`, data: readFileSync(join(OSV, 'npm', name)) })));
let requests = 0;
const md5 = createHash('md5').update(zipOfVectors).digest('base64');
const server = createServer((req, res) => {
  requests++;
  if (req.url === '/all.zip') res.end(zipOfVectors);
  else if (req.url === '/gcs.zip') {
    // As Google Cloud Storage serves the export: an ETag and the object's MD5 in x-goog-hash.
    if (req.headers['if-none-match'] === '"v1"') res.writeHead(304).end();
    else res.writeHead(200, { etag: '"v1"', 'x-goog-hash': `crc32c=AAAAAA==,md5=${md5}` }).end(zipOfVectors);
  } else if (req.url === '/badmd5.zip') {
    res.writeHead(200, { 'x-goog-hash': `crc32c=AAAAAA==,md5=${createHash('md5').update('other').digest('base64')}` }).end(zipOfVectors);
  }
  else if (req.url === '/corrupt.zip') {
    const bad = Buffer.from(zipOfVectors);
    bad[70] = bad[70]! ^ 0xff; // inside the first record's compressed bytes
    res.end(bad);
  } else if (req.url === '/truncated') {
    res.writeHead(200, { 'content-length': String(zipOfVectors.length) });
    res.write(zipOfVectors.subarray(0, 1000));
    res.destroy();
  } else if (req.url === '/redirect') {
    res.writeHead(302, { location: 'http://example.invalid/all.zip' }).end();
  } else res.writeHead(404).end();
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => server.close());

function wirelock(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // HOME points into the temp dir so the default cache never touches the real one.
    const env = { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: work };
    execFile(process.execPath, [cli, ...args], { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const npmV3 = join(FIXTURES, 'projects', 'simple', 'npm-v3');

test('audit with --db: vulnerable project exits 1, table shows advisories, fixes and paths; stale DB warns', async () => {
  const r = await wirelock(work, 'audit', npmV3, '--db', OSV);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /GHSA-35jh-r3h4-6jhm\s+lodash@4\.17\.15\s+fix: 4\.17\.21/);
  assert.match(r.stdout, /via audit-demo > mkdirp@0\.5\.1 > minimist@0\.0\.8/);
  assert.match(r.stdout, /5 finding\(s\): 2 high, 2 medium, 1 info/);
  assert.match(r.stderr, /advisory database is stale: newest record is \d+ day\(s\) old \(2026-05-26T17:12:48Z\)/);
});

test('--fail-on sets the gate; --json is machine-readable', async () => {
  assert.equal((await wirelock(work, 'audit', npmV3, '--db', OSV, '--fail-on', 'high')).code, 1);
  assert.equal((await wirelock(work, 'audit', npmV3, '--db', OSV, '--fail-on', 'critical')).code, 0);
  assert.equal((await wirelock(work, 'audit', npmV3, '--db', OSV, '--fail-on', 'none')).code, 0);
  const r = await wirelock(work, 'audit', npmV3, '--db', OSV, '--json', '--max-db-age', '100000');
  assert.equal(r.stderr, '', 'no stale warning under a generous --max-db-age');
  const json = JSON.parse(r.stdout);
  assert.equal(json.format, 'npm-v3');
  assert.equal(json.packages, 15);
  assert.deepEqual(json.summary, { critical: 0, high: 2, medium: 2, low: 0, unknown: 0, info: 1 });
  assert.equal(json.database.records, 4);
});

test('a clean lockfile exits 0', async () => {
  const dir = join(work, 'clean');
  cpSync(join(FIXTURES, 'projects', 'simple', 'npm-v3'), dir, { recursive: true });
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  lock.packages = { '': { dependencies: { chalk: '2.4.2' } }, ...Object.fromEntries(Object.entries(lock.packages).filter(([k]) => /chalk|ansi-styles|color-|escape-string|supports-color|has-flag/.test(k))) };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
  const r = await wirelock(dir, 'audit', '--db', OSV);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /no findings/);
});

test('input errors exit 2 with a code, never a stack: no DB, no lockfile, bad flags', async () => {
  const empty = mkdtempSync(join(work, 'empty-'));
  const noDb = await wirelock(work, 'audit', npmV3, '--db', join(empty, 'missing.zip'));
  assert.equal(noDb.code, 2, 'a database that was named but is not there is an error');
  assert.match(noDb.stderr, /ERR_ADVISORY_DB: advisory database .* does not exist; run `wirelock audit db update`/);
  const noLock = await wirelock(empty, 'audit', '--db', OSV);
  assert.equal(noLock.code, 2);
  assert.match(noLock.stderr, /ERR_LOCKFILE_INVALID: no lockfile/);
  const bad = await wirelock(work, 'audit', npmV3, '--db', OSV, '--fail-on', 'severe');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /ERR_USAGE/);
  for (const r of [noDb, noLock, bad]) assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('db update from a loopback server, db status, then an offline audit from the cache', async () => {
  const cache = join(work, 'cache-a');
  const before = requests;
  const update = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/all.zip`, '--cache-dir', cache);
  assert.equal(update.code, 0, update.stderr);
  assert.equal(requests, before + 1);
  assert.match(update.stdout, /indexed 4 records \(0 malicious-package, 1 withdrawn, 0 other ecosystems\) for 3 packages/);
  const status = JSON.parse((await wirelock(work, 'audit', 'db', 'status', '--cache-dir', cache, '--json')).stdout);
  assert.equal(status.records, 4);
  assert.equal(status.newestModified, '2026-05-26T17:12:48Z');
  assert.match(status.sha256, /^[0-9a-f]{64}$/);
  const audit = await wirelock(work, 'audit', join(FIXTURES, 'projects', 'simple', 'yarn1'), '--cache-dir', cache, '--json');
  assert.equal(audit.code, 1);
  assert.equal(requests, before + 1, 'the audit itself makes no request');
  assert.deepEqual(JSON.parse(audit.stdout).findings.filter((f: any) => f.kind === 'vulnerability').map((f: any) => f.id).sort(), ['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw', 'GHSA-vh95-rmgr-6w4m', 'GHSA-vh95-rmgr-6w4m']);

  // A wrong digest, a corrupt archive and a plain-http or downgrading source leave the cache as it was.
  const wrong = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/all.zip`, '--cache-dir', cache, '--sha256', '0'.repeat(64));
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /digest mismatch/);
  const corrupt = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/corrupt.zip`, '--cache-dir', cache);
  assert.equal(corrupt.code, 2);
  assert.match(corrupt.stderr, /ERR_ADVISORY_DB/);
  const http = await wirelock(work, 'audit', 'db', 'update', '--from', 'http://example.invalid/all.zip', '--cache-dir', cache);
  assert.equal(http.code, 2);
  assert.match(http.stderr, /refusing to download the advisory database over http:/);
  const redirected = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/redirect`, '--cache-dir', cache);
  assert.equal(redirected.code, 2);
  const truncated = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/truncated`, '--cache-dir', cache);
  assert.equal(truncated.code, 2);
  assert.match(truncated.stderr, /ERR_ADVISORY_DB: (cannot download|download of) .*(closed|terminated|truncated|failed)/);
  assert.deepEqual(readdirSync(work).filter((f) => f.includes('.download-')), [], 'no partial download left behind');
  assert.equal(JSON.parse((await wirelock(work, 'audit', 'db', 'status', '--cache-dir', cache, '--json')).stdout).sha256, status.sha256);
});

test('db update from a local ZIP and folder; --db accepts a ZIP', async () => {
  const zipFile = join(work, 'osv.zip');
  writeFileSync(zipFile, zipOfVectors);
  const cache = join(work, 'cache-b');
  assert.equal((await wirelock(work, 'audit', 'db', 'update', '--from', join(OSV, 'npm'), '--cache-dir', cache)).code, 0);
  assert.equal((await wirelock(work, 'audit', 'db', 'update', '--from', zipFile, '--cache-dir', cache)).code, 0);
  const r = await wirelock(work, 'audit', join(FIXTURES, 'projects', 'workspaces', 'pnpm-v9'), '--db', zipFile, '--json');
  assert.equal(r.code, 1);
  const paths = JSON.parse(r.stdout).findings.filter((f: any) => f.package.name === 'minimist').map((f: any) => f.path.join(' > ')).sort();
  assert.deepEqual(paths, ['packages/app > mkdirp@0.5.1 > minimist@0.0.8', 'packages/lib > minimist@1.2.0']);
});

test('SARIF and CycloneDX to a file; ignore file next to the lockfile with expiry warnings', async () => {
  const dir = join(work, 'ignored');
  cpSync(npmV3, dir, { recursive: true });
  writeFileSync(join(dir, '.wirelock-audit-ignore.json'), JSON.stringify({ ignore: [
    { id: 'CVE-2021-23337', reason: 'no user input reaches template()', expires: '2999-12-31' },
    { id: 'CVE-2020-8203', reason: 'old exception', expires: '2020-01-01' },
  ] }));
  const r = await wirelock(dir, 'audit', '--db', OSV, '--format', 'sarif', '--output', 'audit.sarif');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /ignore entry CVE-2020-8203 expired on 2020-01-01/);
  const sarif = JSON.parse(readFileSync(join(dir, 'audit.sarif'), 'utf8'));
  assert.equal(sarif.version, '2.1.0');
  const suppressed = sarif.runs[0].results.filter((x: any) => x.suppressions).map((x: any) => x.ruleId);
  assert.deepEqual(suppressed, ['GHSA-35jh-r3h4-6jhm']);
  assert.ok(sarif.runs[0].results.every((x: any) => x.locations[0].physicalLocation.region.startLine > 1), 'each result points at its lockfile entry');
  const cdx = await wirelock(dir, 'audit', '--db', OSV, '--format', 'cyclonedx', '--fail-on', 'none');
  assert.equal(cdx.code, 0);
  const bom = JSON.parse(cdx.stdout);
  assert.equal(bom.specVersion, '1.6');
  assert.equal(bom.metadata.component.name, 'audit-demo');
});

test('node_modules present: install scripts and network hooks are reported with file:line', async () => {
  const dir = installedProject();
  try {
    const r = await wirelock(dir, 'audit', '--db', OSV, '--json');
    assert.equal(r.code, 1);
    const findings = JSON.parse(r.stdout).findings;
    const hook = findings.find((f: any) => f.id === 'network-hook/reassign-http-request');
    assert.equal(`${hook.location.file}:${hook.location.line}`, 'node_modules/evil-sdk/index.js:5');
    assert.equal(hook.severity, 'high');
    assert.ok(findings.some((f: any) => f.id === 'install-script/suspicious' && f.severity === 'high' && f.package.name === 'evil-sdk' && /postinstall: node lib\/beacon\.js/.test(f.summary)));
    const skipped = JSON.parse((await wirelock(dir, 'audit', '--db', OSV, '--json', '--skip-installed')).stdout).findings;
    assert.ok(!skipped.some((f: any) => f.kind === 'network-hook'));
    assert.ok(existsSync(join(dir, 'node_modules', 'evil-sdk')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('several lockfiles in one folder: the audited one is named, the others are not silently skipped', async () => {
  const dir = join(work, 'two-lockfiles');
  cpSync(npmV3, dir, { recursive: true });
  cpSync(join(FIXTURES, 'projects', 'simple', 'yarn1', 'yarn.lock'), join(dir, 'yarn.lock'));
  const r = await wirelock(dir, 'audit', '--db', OSV, '--json', '--max-db-age', '100000');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /2 lockfiles in .*; audited .*package-lock\.json, not .*yarn\.lock/);
  const yarn = await wirelock(dir, 'audit', 'yarn.lock', '--db', OSV, '--json', '--max-db-age', '100000');
  assert.equal(JSON.parse(yarn.stdout).format, 'yarn-v1');
});

test('several paths and --recursive: one report over every lockfile, locations relative to where it runs', async () => {
  const tree = join(work, 'tree');
  cpSync(join(FIXTURES, 'projects', 'simple', 'pnpm-v9'), join(tree, 'web'), { recursive: true });
  cpSync(join(FIXTURES, 'projects', 'workspaces', 'bun'), join(tree, 'services', 'api'), { recursive: true });
  const installed = installedProject();
  try {
    cpSync(installed, join(tree, 'tools'), { recursive: true });
  } finally {
    rmSync(installed, { recursive: true, force: true });
  }
  const r = await wirelock(tree, 'audit', '-r', '--db', OSV, '--json', '--max-db-age', '100000');
  assert.equal(r.code, 1, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.deepEqual(json.lockfiles.map((l: any) => `${l.lockfile} ${l.format}`), ['services/api/bun.lock bun', 'tools/package-lock.json npm-v3', 'web/pnpm-lock.yaml pnpm-v9']);
  const files = new Set(json.findings.map((f: any) => f.location.file));
  for (const file of ['services/api/bun.lock', 'tools/package-lock.json', 'web/pnpm-lock.yaml', 'tools/node_modules/evil-sdk/index.js']) assert.ok(files.has(file), file);
  const sarif = JSON.parse((await wirelock(tree, 'audit', 'web', 'services/api', '--db', OSV, '--format', 'sarif', '--max-db-age', '100000')).stdout);
  const uris = new Set(sarif.runs[0].results.map((x: any) => x.locations[0].physicalLocation.artifactLocation.uri));
  assert.deepEqual([...uris].sort(), ['services/api/bun.lock', 'web/pnpm-lock.yaml']);
  assert.ok(sarif.runs[0].results.every((x: any) => x.locations[0].physicalLocation.region.startLine > 1));
  const cdx = await wirelock(tree, 'audit', '-r', '--db', OSV, '--format', 'cyclonedx');
  assert.equal(cdx.code, 2, 'one SBOM describes one lockfile');
});

test('db update: stated MD5 checked, ETag sent back so an unchanged export is not downloaded again', async () => {
  const cache = join(work, 'cache-gcs');
  const first = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/gcs.zip`, '--cache-dir', cache);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /matches the MD5 the server states/);
  const meta = JSON.parse(readFileSync(join(cache, 'meta.json'), 'utf8'));
  assert.deepEqual([meta.etag, meta.md5Verified], ['"v1"', true]);
  const again = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/gcs.zip`, '--cache-dir', cache);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /is up to date/);
  const bad = await wirelock(work, 'audit', 'db', 'update', '--from', `${base}/badmd5.zip`, '--cache-dir', cache);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /does not match the MD5 the server states/);
  assert.equal(JSON.parse(readFileSync(join(cache, 'meta.json'), 'utf8')).etag, '"v1"', 'cache unchanged');
});

test('without a database the database-free checks run, the report says the vulnerability check was skipped and why; exit status', async () => {
  const empty = mkdtempSync(join(work, 'nodb-'));
  // Findings from the other checks still gate: exit 1.
  const dir = installedProject();
  try {
    const r = await wirelock(dir, 'audit', '--cache-dir', empty);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /warning: vulnerability and malicious-package check skipped \(no advisory database in .*; run `wirelock audit db update` or pass --db <zip\|dir>\); lockfile integrity, install scripts and network hooks were checked/);
    assert.match(r.stdout, /advisories: SKIPPED, no vulnerability or malicious-package check: no advisory database in/);
    assert.match(r.stdout, /network-hook\/reassign-http-request/);
    const json = JSON.parse((await wirelock(dir, 'audit', '--cache-dir', empty, '--json')).stdout);
    assert.equal(json.database, null);
    assert.deepEqual(json.skipped.map((s: any) => s.check), ['advisories']);
    assert.ok(json.findings.some((f: any) => f.kind === 'install-script'));
    const sarif = JSON.parse((await wirelock(dir, 'audit', '--cache-dir', empty, '--format', 'sarif')).stdout);
    assert.match(sarif.runs[0].invocations[0].toolExecutionNotifications[0].message.text, /^advisories check skipped: no advisory database/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Nothing found, but the audit could not look for known-bad packages: exit 2, unless that was asked for.
  const clean = join(work, 'nodb-clean');
  cpSync(npmV3, clean, { recursive: true });
  const r = await wirelock(clean, 'audit', '--cache-dir', empty, '--fail-on', 'critical');
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.stdout, /GHSA-/);
  const chosen = await wirelock(clean, 'audit', '--cache-dir', empty, '--fail-on', 'critical', '--skip-advisories');
  assert.equal(chosen.code, 0, chosen.stderr);
  assert.match(chosen.stderr, /check skipped \(--skip-advisories\)/);
  assert.equal((await wirelock(clean, 'audit', '--db', OSV, '--skip-advisories')).code, 2, 'contradictory flags');
});

test('bun.lockb gets its hint in folder mode too; a broken lockfile shape exits 2 naming the pointer', async () => {
  const dir = join(work, 'bun-binary');
  cpSync(join(FIXTURES, 'projects', 'simple', 'bun'), dir, { recursive: true });
  rmSync(join(dir, 'bun.lock'));
  writeFileSync(join(dir, 'bun.lockb'), Buffer.from([0x23, 0x21, 0x2f, 0x75, 0x73, 0x72, 0x00, 0x01]));
  for (const args of [[dir], [join(dir, 'bun.lockb')], ['-r', work + '/bun-binary']]) {
    const r = await wirelock(work, 'audit', ...args, '--db', OSV);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /ERR_LOCKFILE_INVALID: .*bun\.lockb: binary bun\.lockb is not supported; run `bun install --save-text-lockfile` to write bun\.lock/, args.join(' '));
  }
  // With both, the text lockfile is audited and the binary one named.
  cpSync(join(FIXTURES, 'projects', 'simple', 'bun', 'bun.lock'), join(dir, 'bun.lock'));
  const both = await wirelock(work, 'audit', dir, '--db', OSV, '--json', '--max-db-age', '100000');
  assert.equal(both.code, 1);
  assert.equal(JSON.parse(both.stdout).format, 'bun');
  assert.match(both.stderr, /2 lockfiles in .*; audited .*bun\.lock, not .*bun\.lockb/);

  const broken = join(work, 'broken-shape');
  cpSync(npmV3, broken, { recursive: true });
  writeFileSync(join(broken, 'package-lock.json'), '{"name": "x", "lockfileVersion": 3}');
  const r = await wirelock(broken, 'audit', '--db', OSV);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ERR_LOCKFILE_INVALID: .*package-lock\.json at \/packages: lockfileVersion 3: "packages" must be an object, not missing/);
});

test('severity gate: a record rated v4 2.3 (low), v3 5.3 and MODERATE fails --fail-on medium; the table shows every rating', async () => {
  const dir = join(work, 'severity');
  cpSync(npmV3, dir, { recursive: true });
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, packages: { '': { dependencies: { 'wl-severity': '2.0.0' } }, 'node_modules/wl-severity': { version: '2.0.0', resolved: 'https://registry.npmjs.org/wl-severity/-/wl-severity-2.0.0.tgz', integrity: 'sha512-AAAA' } } }));
  const shapes = join(FIXTURES, 'osv-shapes');
  const r = await wirelock(dir, 'audit', '--db', shapes, '--fail-on', 'medium', '--max-db-age', '100000');
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stdout, /MEDIUM \(1\)\n\s+GHSA-wl06-sev3-4lab\s+wl-severity@2\.0\.0\s+fix: 2\.1\.0/);
  assert.match(r.stdout, /ratings: CVSS v4 2\.3 \(low\) · CVSS v3 5\.3 \(medium\) · label MODERATE \(medium\)/);
  assert.match(r.stderr, /note: 1 advisory range event\(s\) cannot be read and are treated as covering every version/);
  assert.equal((await wirelock(dir, 'audit', '--db', shapes, '--fail-on', 'high')).code, 0);
  const update = await wirelock(work, 'audit', 'db', 'update', '--from', shapes, '--cache-dir', join(work, 'cache-shapes'));
  assert.equal(update.code, 0, update.stderr);
  assert.match(update.stderr, /warning: 1 range event\(s\) have a version that cannot be read; .*\n  GHSA-wl07-unre-adbl \(.*GHSA-wl07-unre-adbl\.json at \/affected\/0\/ranges\/0\/events\/1\): fixed "2\.x"/);
});
