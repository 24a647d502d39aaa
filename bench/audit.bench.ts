// `wirelock audit` at full scale: generated npm lockfiles of 5,000 and 200,000 packages (a large
// monorepo's and a generated one's) against a synthesized OSV npm export of the real size (214,000
// records, as in the Jan 2026 export: 209,647 MAL- and 4,410 vulnerabilities). Each measurement is a
// fresh `node dist/cli/main.js` process, rounds interleaved:
//   cold index  `audit db update --from all.zip` (unzip, CRC, parse, index, write the cache)
//   baseline    `audit <5k lockfile> --db all.zip`: what a scanner with no index pays every run
//   warm        `audit <lockfile>` from the cache, for each size: the everyday path
// Reported: median time in the CLI, median wall time (with Node start-up), peak RSS (VmHWM, max over
// rounds), ratios. Goals (issue 13): 200k packages warm < 3 s and < 300 MB, 5k < 0.5 s.
// BENCH_AUDIT_PACKAGES=5000,200000 BENCH_AUDIT_RECORDS=214000 BENCH_AUDIT_ROUNDS=5 change the sizes.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeZip } from '../src/audit/zip.js';
import { median, formatRow } from './support/stats.js';

const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 214_000);
const VULN_RECORDS = Math.round(RECORDS * 0.0206);
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

/** The lockfile sizes measured side by side: a large monorepo's and a generated one's. */
const SIZES = (process.env.BENCH_AUDIT_PACKAGES ?? '5000,200000').split(',').map(Number);
const MAX_PACKAGES = Math.max(...SIZES);

export function generate(dir: string): { zip: string; lockDirs: Map<number, string>; zipBytes: number; expectedVulnerable: Map<number, number> } {
  const lockNames = Array.from({ length: MAX_PACKAGES }, (_, i) => (i % 7 === 0 ? `@bench-scope${i % 13}/pkg-${i}` : `bench-pkg-${i}`));
  const lockVersions = lockNames.map(() => version());
  const hitIndexes: number[] = [];
  const files = (function* () {
    for (let i = 0; i < RECORDS - VULN_RECORDS; i++) {
      // 1 in 100 malicious names is one the largest lockfile has, at its version (spread over it).
      const hit = i % 100 === 0;
      const k = ((i / 100) * 37) % MAX_PACKAGES;
      const name = hit ? lockNames[k]! : `mal-${i.toString(36)}-${Math.floor(rand() * 1e6).toString(36)}`;
      const versions = hit ? [lockVersions[k]!] : Array.from({ length: 1 + Math.floor(rand() * 3) }, version);
      if (hit) hitIndexes.push(k);
      yield { name: `MAL-2025-${i}.json`, data: Buffer.from(JSON.stringify(malRecord(i, name, versions))) };
    }
    for (let i = 0; i < VULN_RECORDS; i++) {
      const k = (i * 3) % MAX_PACKAGES;
      yield { name: `GHSA-bnch-${i}.json`, data: Buffer.from(JSON.stringify(vulnRecord(i, lockNames[k]!, '0', pick(['0.5.0', '5.0.0', '99.0.0'])))) };
    }
  })();
  const zip = join(dir, 'all.zip');
  const bytes = writeZip(files);
  writeFileSync(zip, bytes);
  const lockDirs = new Map<number, string>();
  const expectedVulnerable = new Map<number, number>();
  for (const size of SIZES) {
    expectedVulnerable.set(size, new Set(hitIndexes.filter((k) => k < size)).size);
    // An npm v3 lockfile shaped like a real dependency graph: 60 direct dependencies, every other
    // package depended on by an earlier one (picked with a bias toward the first ones, so the graph
    // is shallow, as real ones are), plus up to three more dependencies on popular (low-numbered)
    // packages, some of them cycles.
    const depsOf: Array<Set<number>> = Array.from({ length: size }, () => new Set<number>());
    for (let i = 60; i < size; i++) depsOf[Math.floor(i * rand() ** 2)]!.add(i);
    for (let i = 0; i < size; i++) for (let d = Math.floor(rand() * 4); d > 0; d--) depsOf[i]!.add(Math.floor(size * rand() ** 4));
    const packages: Record<string, unknown> = { '': { name: 'bench-app', version: '1.0.0', dependencies: Object.fromEntries(lockNames.slice(0, 60).map((n, i) => [n, lockVersions[i]])) } };
    for (let i = 0; i < size; i++) {
      const name = lockNames[i]!;
      const deps = Object.fromEntries([...depsOf[i]!].filter((j) => j !== i).map((j) => [lockNames[j]!, lockVersions[j]!]));
      const base = name.includes('/') ? name.split('/')[1] : name;
      packages[`node_modules/${name}`] = {
        version: lockVersions[i],
        resolved: `https://registry.npmjs.org/${name}/-/${base}-${lockVersions[i]}.tgz`,
        integrity: `sha512-${Buffer.alloc(64, i % 251).toString('base64')}`,
        dependencies: deps,
      };
    }
    const lockDir = join(dir, `project-${size}`);
    mkdirSync(lockDir);
    // Written as npm writes it (two-space indentation): the line finder and the parser see real sizes.
    writeFileSync(join(lockDir, 'package-lock.json'), JSON.stringify({ name: 'bench-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
    lockDirs.set(size, lockDir);
  }
  return { zip, lockDirs, zipBytes: bytes.length, expectedVulnerable };
}

const WORKER = `
// argv[1] is a placeholder: main.js inspects it to decide whether it is the entry point.
const args = process.argv.slice(2);
const { main } = await import(process.env.WL_CLI);
const { Writable } = await import('node:stream');
// Output kept as the bytes written (a pipe would not hold it at all), parsed only after the peak is read.
const chunks = [];
const sink = new Writable({ write(chunk, _e, cb) { chunks.push(chunk); cb(); } });
const start = performance.now();
const code = await main(args, { stdout: sink, stderr: new Writable({ write(_c, _e, cb) { cb(); } }), env: { ...process.env, NO_COLOR: '1' }, cwd: process.cwd() });
const ms = performance.now() - start;
// getrusage's maxrss survives fork+exec (it would include this bench's own memory); VmHWM belongs
// to the new address space only. Read before the bench parses the report: that is not the CLI's memory.
let rssMb = process.resourceUsage().maxRSS / 1024;
try { rssMb = Number(/VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) / 1024; } catch {}
let findings = null;
try { findings = JSON.parse(Buffer.concat(chunks.map((c) => Buffer.from(c))).toString('utf8')).findings.filter((f) => f.kind === 'malicious' || f.kind === 'vulnerability').length; } catch {}
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
    const { zip, lockDirs, zipBytes, expectedVulnerable } = generate(dir);
    console.log(`synthesized ${RECORDS} OSV records (${RECORDS - VULN_RECORDS} MAL-, ${VULN_RECORDS} GHSA-) -> ${(zipBytes / 1048576).toFixed(1)} MB ZIP, ` +
      `lockfiles of ${SIZES.map((n) => `${n} packages (${(statSync(join(lockDirs.get(n)!, 'package-lock.json')).size / 1048576).toFixed(1)} MB)`).join(', ')} in ${((performance.now() - genStart) / 1000).toFixed(1)} s`);
    const cache = join(dir, 'cache');
    const small = Math.min(...SIZES);
    const scan = (lockDir: string, ...db: string[]) => ['audit', lockDir, ...db, '--json', '--fail-on', 'none', '--max-db-age', '100000', '--skip-installed'];
    const phases: Record<string, string[]> = {
      'cold index (db update)': ['audit', 'db', 'update', '--from', zip, '--cache-dir', cache, '--json'],
      [`baseline: ${small} pkgs, no cache`]: scan(lockDirs.get(small)!, '--db', zip),
      ...Object.fromEntries(SIZES.map((n) => [`warm: ${n} pkgs (cache)`, scan(lockDirs.get(n)!, '--cache-dir', cache)])),
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
    const warm = (n: number) => median(results[`warm: ${n} pkgs (cache)`]!.map((r) => r.ms));
    const warmRss = (n: number) => Math.max(...results[`warm: ${n} pkgs (cache)`]!.map((r) => r.rssMb));
    const base = median(results[`baseline: ${small} pkgs, no cache`]!.map((r) => r.ms));
    console.log(`warm ${small} / no-cache baseline: ${(warm(small) / base).toFixed(3)} (${(base / warm(small)).toFixed(1)}x faster)`);
    for (const n of SIZES) if (n !== small) console.log(`warm ${n} / warm ${small}: ${(warm(n) / warm(small)).toFixed(2)}x the time for ${(n / small).toFixed(0)}x the packages`);
    console.log(`expected malicious hits: ${SIZES.map((n) => `${n} pkgs: ${expectedVulnerable.get(n)}`).join(', ')} (the findings column also counts GHSA- hits)`);
    const goals: Array<[number, number, number]> = [[5000, 500, Infinity], [200000, 3000, 300]];
    for (const [n, ms, mb] of goals) {
      if (!SIZES.includes(n)) continue;
      console.log(`goal ${n} pkgs warm < ${ms} ms${Number.isFinite(mb) ? ` and < ${mb} MB` : ''}: ${warm(n) < ms && warmRss(n) < mb ? 'met' : 'MISSED'} (${warm(n).toFixed(0)} ms, ${warmRss(n).toFixed(0)} MB)`);
    }
  } finally {
    // BENCH_AUDIT_KEEP=1 keeps the synthesized export, cache and lockfiles for profiling one phase.
    if (process.env.BENCH_AUDIT_KEEP === '1') console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
