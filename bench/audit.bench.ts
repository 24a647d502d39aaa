// `wirelock audit` at full scale: a generated 5,000-package lockfile against a synthesized OSV npm
// export of the real size (~200,000 records, mostly malicious-package ones, as in the Jan 2026 export:
// 209,647 MAL- and 4,410 vulnerabilities). Each measurement is a fresh `node dist/cli/main.js`
// process, rounds interleaved:
//   cold index  `audit db update --from all.zip` (unzip, CRC, parse, index, write the cache)
//   no-cache    `audit <lockfile> --db all.zip`  — baseline: what a scanner with no index pays every run
//   warm        `audit <lockfile>` from the cache — the everyday path
// Reported: median wall time, peak RSS (max over rounds), warm/baseline ratio. Targets: warm < 1 s, peak RSS < 500 MB.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeZip } from '../src/audit/zip.js';
import { median, formatRow } from './support/stats.js';

const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 214_000);
const VULN_RECORDS = Math.round(RECORDS * 0.0206);
const PACKAGES = Number(process.env.BENCH_AUDIT_PACKAGES ?? 5_000);
const ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? 5);

// Deterministic generator so runs compare.
let seed = 0x5eed;
const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
const version = () => `${Math.floor(rand() * 12)}.${Math.floor(rand() * 30)}.${Math.floor(rand() * 40)}`;

function malRecord(i: number, name: string, versions: string[]) {
  // Shaped like ossf/malicious-packages records (see test/vectors/osv/npm/MAL-2026-4377.json).
  return {
    modified: '2026-01-10T17:12:48Z',
    published: '2026-01-09T19:34:41Z',
    schema_version: '1.7.4',
    id: `MAL-2025-${i}`,
    summary: `Malicious code in ${name} (npm)`,
    details: `\n---\n_-= Per source details. Do not edit below this line.=-_\n\n## Source: amazon-inspector (IN-MAL-${i})\nThe package ${name} was found to contain malicious code that exfiltrates environment variables and credentials at install time.\n`,
    affected: [
      {
        package: { ecosystem: 'npm', name },
        versions,
        database_specific: {
          cwes: [{ cweId: 'CWE-506', description: 'The product contains code that appears to be malicious in nature.', name: 'Embedded Malicious Code' }],
        },
      },
    ],
    references: [{ type: 'PACKAGE', url: `https://www.npmjs.com/package/${name}` }],
    credits: [{ name: 'Amazon Inspector', type: 'FINDER', contact: ['actran@amazon.com'] }],
    database_specific: { 'malicious-packages-origins': [{ id: `IN-MAL-${i}`, import_time: '2026-01-10T05:50:56.773305951Z', modified_time: '2026-01-09T19:34:41Z', sha256: 'ab'.repeat(32), source: 'amazon-inspector', versions }] },
  };
}

function vulnRecord(i: number, name: string, introduced: string, fixed: string) {
  // Shaped like github/advisory-database records (see GHSA-35jh-r3h4-6jhm.json).
  return {
    schema_version: '1.4.0',
    id: `GHSA-bnch-${String(i).padStart(4, '0')}-xxxx`,
    modified: '2025-11-08T21:35:09Z',
    published: '2024-05-06T16:05:51Z',
    aliases: [`CVE-2024-${10000 + i}`],
    summary: `Prototype pollution in ${name}`,
    details: `Versions of ${name} prior to ${fixed} are vulnerable to prototype pollution. ${'Lorem ipsum dolor sit amet. '.repeat(20)}`,
    severity: [{ type: 'CVSS_V3', score: pick(['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L', 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H']) }],
    affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced }, { fixed }] }] }],
    references: Array.from({ length: 8 }, (_, k) => ({ type: k === 0 ? 'ADVISORY' : 'WEB', url: `https://example.org/advisories/${name}/${k}` })),
    database_specific: { cwe_ids: ['CWE-1321'], severity: 'HIGH', github_reviewed: true, github_reviewed_at: '2024-03-31T23:59:26Z', nvd_published_at: null },
  };
}

export function generate(dir: string): { zip: string; lockDir: string; zipBytes: number; expectedVulnerable: number } {
  const lockNames = Array.from({ length: PACKAGES }, (_, i) => (i % 7 === 0 ? `@bench-scope${i % 13}/pkg-${i}` : `bench-pkg-${i}`));
  const lockVersions = lockNames.map(() => version());
  let expectedVulnerable = 0;
  const files = (function* () {
    for (let i = 0; i < RECORDS - VULN_RECORDS; i++) {
      // 1 in 1000 malicious names is one the lockfile has, at its version.
      const hit = i % 1000 === 0 && i / 1000 < PACKAGES;
      const k = (i / 1000) * 37 % PACKAGES;
      const name = hit ? lockNames[k]! : `mal-${i.toString(36)}-${Math.floor(rand() * 1e6).toString(36)}`;
      const versions = hit ? [lockVersions[k]!] : Array.from({ length: 1 + Math.floor(rand() * 3) }, version);
      if (hit) expectedVulnerable++;
      yield { name: `MAL-2025-${i}.json`, data: Buffer.from(JSON.stringify(malRecord(i, name, versions))) };
    }
    for (let i = 0; i < VULN_RECORDS; i++) {
      const k = (i * 3) % PACKAGES;
      yield { name: `GHSA-bnch-${i}.json`, data: Buffer.from(JSON.stringify(vulnRecord(i, lockNames[k]!, '0', pick(['0.5.0', '5.0.0', '99.0.0'])))) };
    }
  })();
  const zip = join(dir, 'all.zip');
  const bytes = writeZip(files);
  writeFileSync(zip, bytes);
  // An npm v3 lockfile: every package at the top level, a random dependency tree between them.
  const packages: Record<string, unknown> = { '': { name: 'bench-app', version: '1.0.0', dependencies: Object.fromEntries(lockNames.slice(0, 60).map((n, i) => [n, lockVersions[i]])) } };
  lockNames.forEach((name, i) => {
    const deps = i < PACKAGES - 3 ? Object.fromEntries([1, 2, 3].map((d) => Math.min(PACKAGES - 1, i + d * (1 + Math.floor(rand() * 40)))).map((j) => [lockNames[j]!, lockVersions[j]!])) : {};
    const base = name.includes('/') ? name.split('/')[1] : name;
    packages[`node_modules/${name}`] = {
      version: lockVersions[i],
      resolved: `https://registry.npmjs.org/${name}/-/${base}-${lockVersions[i]}.tgz`,
      integrity: `sha512-${Buffer.alloc(64, i % 251).toString('base64')}`,
      dependencies: deps,
    };
  });
  const lockDir = join(dir, 'project');
  mkdirSync(lockDir);
  writeFileSync(join(lockDir, 'package-lock.json'), JSON.stringify({ name: 'bench-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
  return { zip, lockDir, zipBytes: bytes.length, expectedVulnerable };
}

const WORKER = `
// argv[1] is a placeholder: main.js inspects it to decide whether it is the entry point.
const args = process.argv.slice(2);
const { main } = await import(process.env.WL_CLI);
const { Writable } = await import('node:stream');
let out = '';
const sink = new Writable({ write(chunk, _e, cb) { out += chunk; cb(); } });
const start = performance.now();
const code = await main(args, { stdout: sink, stderr: new Writable({ write(_c, _e, cb) { cb(); } }), env: { ...process.env, NO_COLOR: '1' }, cwd: process.cwd() });
const ms = performance.now() - start;
let findings = null;
try { findings = JSON.parse(out).findings.filter((f) => f.kind === 'malicious' || f.kind === 'vulnerability').length; } catch {}
// getrusage's maxrss survives fork+exec (it would include this bench's own memory); VmHWM belongs
// to the new address space only.
let rssMb = process.resourceUsage().maxRSS / 1024;
try { rssMb = Number(/VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) / 1024; } catch {}
process.stdout.write(JSON.stringify({ code, ms, rssMb, findings }));
`;

function runCli(args: string[]): Promise<{ code: number; ms: number; wallMs: number; rssMb: number; findings: number | null }> {
  const cli = new URL('../dist/cli/main.js', import.meta.url).href;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WORKER, 'bench-worker', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), WL_CLI: cli } });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d));
    child.on('exit', () => {
      try {
        resolve({ ...JSON.parse(text), wallMs: performance.now() - started });
      } catch (error) {
        reject(new Error(`bench worker failed: ${text} ${String(error)}`));
      }
    });
  });
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-audit-bench-'));
  try {
    const genStart = performance.now();
    const { zip, lockDir, zipBytes, expectedVulnerable } = generate(dir);
    console.log(`synthesized ${RECORDS} OSV records (${RECORDS - VULN_RECORDS} MAL-, ${VULN_RECORDS} GHSA-) -> ${(zipBytes / 1048576).toFixed(1)} MB ZIP, ` +
      `lockfile ${PACKAGES} packages (${(statSync(join(lockDir, 'package-lock.json')).size / 1048576).toFixed(1)} MB) in ${((performance.now() - genStart) / 1000).toFixed(1)} s`);
    const cache = join(dir, 'cache');
    const phases: Record<string, string[]> = {
      'cold index (db update)': ['audit', 'db', 'update', '--from', zip, '--cache-dir', cache, '--json'],
      'baseline: no cache (--db zip)': ['audit', lockDir, '--db', zip, '--json', '--fail-on', 'none', '--max-db-age', '100000'],
      'warm scan (cache)': ['audit', lockDir, '--cache-dir', cache, '--json', '--fail-on', 'none', '--max-db-age', '100000'],
    };
    const names = Object.keys(phases);
    const results: Record<string, Array<{ ms: number; wallMs: number; rssMb: number; findings: number | null }>> = Object.fromEntries(names.map((n) => [n, []]));
    // The cache must exist before the first warm run.
    await runCli(phases[names[0]!]!);
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of round % 2 ? names : [...names].reverse()) {
        const r = await runCli(phases[name]!);
        if (r.code !== 0) throw new Error(`${name} exited ${r.code}`);
        results[name]!.push(r);
      }
    }
    const widths = [32, 14, 14, 14, 12];
    console.log(formatRow(['phase', 'median ms', 'wall ms', 'peak RSS MB', 'findings'], widths));
    for (const name of names) {
      const rows = results[name]!;
      console.log(formatRow([name, median(rows.map((r) => r.ms)).toFixed(0), median(rows.map((r) => r.wallMs)).toFixed(0), Math.max(...rows.map((r) => r.rssMb)).toFixed(0), rows[0]!.findings ?? '-'], widths));
    }
    const warm = median(results['warm scan (cache)']!.map((r) => r.ms));
    const base = median(results['baseline: no cache (--db zip)']!.map((r) => r.ms));
    const warmRss = Math.max(...results['warm scan (cache)']!.map((r) => r.rssMb));
    const peakRss = Math.max(...names.flatMap((n) => results[n]!.map((r) => r.rssMb)));
    console.log(`warm / no-cache baseline: ${(warm / base).toFixed(3)} (${(base / warm).toFixed(1)}x faster); expected malicious hits in lockfile: ${expectedVulnerable}`);
    console.log(`targets: warm scan < 1000 ms: ${warm < 1000 ? 'met' : 'MISSED'} (${warm.toFixed(0)} ms); peak RSS < 500 MB: ${peakRss < 500 ? 'met' : 'MISSED'} (warm ${warmRss.toFixed(0)} MB, overall ${peakRss.toFixed(0)} MB)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
