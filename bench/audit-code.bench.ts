// Installed-code analysis over a real ~1,000-package tree (the popular packages of
// test/audit/popular-packages.json, installed once with --ignore-scripts into a folder kept between
// runs; needs the npm registry the first time). Phases, in fresh CLI processes, interleaved:
// - baseline: the line scanner (regular expressions) the audit used before, over the same files
// - cold: `wirelock audit` with an empty code cache (parse and analyse every package)
// - warm: `wirelock audit` again with that cache (reads only what changed: nothing)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRow, median } from './support/stats.js';

const ROUNDS = Number(process.env.WIRELOCK_BENCH_ROUNDS ?? 3);

function tree(): string {
  const dir = process.env.WIRELOCK_BENCH_TREE ?? join(tmpdir(), 'wirelock-bench-popular');
  if (existsSync(join(dir, 'node_modules')) && existsSync(join(dir, 'package-lock.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-popular', version: '1.0.0', private: true }));
  const { packages } = JSON.parse(readFileSync(new URL('../test/audit/popular-packages.json', import.meta.url), 'utf8')) as { packages: string[] };
  console.log(`installing ${packages.length} popular packages into ${dir} (--ignore-scripts, once)...`);
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...packages], { cwd: dir, stdio: 'inherit' });
  return dir;
}

const WORKER = `
const [mode, ...args] = process.argv.slice(2);
const { Writable } = await import('node:stream');
const start = performance.now();
const cpuStart = process.cpuUsage();
let summary = {};
if (mode === 'baseline') {
  const { listInstalled, scanPackageCode } = await import(process.env.WL_INSTALLED);
  const packages = listInstalled(args[0]);
  let hits = 0;
  for (const pkg of packages) hits += scanPackageCode(args[0], pkg).length;
  summary = { packages: packages.length, hits };
} else {
  const { main } = await import(process.env.WL_CLI);
  let out = '';
  const sink = new Writable({ write(chunk, _e, cb) { out += chunk; cb(); } });
  await main([mode, ...args], { stdout: sink, stderr: new Writable({ write(c, _e, cb) { process.stderr.write(c); cb(); } }), env: { ...process.env, NO_COLOR: '1' }, cwd: process.cwd() });
  const json = JSON.parse(out);
  summary = { packages: (json.capabilities ?? []).length, hits: json.findings.filter((f) => f.kind === 'code' || f.kind === 'network-hook').filter((f) => f.severity !== 'info').length };
}
const ms = performance.now() - start;
const cpu = process.cpuUsage(cpuStart);
// VmHWM: this process's peak, worker threads included (they share the address space).
let rssMb = process.resourceUsage().maxRSS / 1024;
try { rssMb = Number(/VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) / 1024; } catch {}
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMb, ...summary }));
`;

interface Run {
  ms: number;
  cpuMs: number;
  rssMb: number;
  packages: number;
  hits: number;
}

function runWorker(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', WORKER, 'bench-worker', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), WL_CLI: new URL('../dist/cli/main.js', import.meta.url).href, WL_INSTALLED: new URL('../dist/audit/installed.js', import.meta.url).href },
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(text) as Run);
      } catch (error) {
        reject(new Error(`bench worker failed: ${text} ${String(error)}`));
      }
    });
  });
}

export async function run(): Promise<void> {
  const dir = tree();
  const scratch = mkdtempSync(join(tmpdir(), 'wirelock-code-bench-'));
  const db = new URL('../test/vectors/osv', import.meta.url).pathname;
  try {
    const audit = (cache: string) => ['audit', dir, '--db', db, '--json', '--fail-on', 'none', '--max-db-age', '100000', '--code-cache-dir', cache];
    const warmCache = join(scratch, 'warm');
    await runWorker(audit(warmCache)); // fills the cache the warm phase reads
    const results: Record<string, Run[]> = { 'baseline: line scanner (regex)': [], 'cold: parse + analyse (empty cache)': [], 'warm: re-scan (cache)': [] };
    for (let round = 0; round < ROUNDS; round++) {
      results['warm: re-scan (cache)']!.push(await runWorker(audit(warmCache)));
      results['cold: parse + analyse (empty cache)']!.push(await runWorker(audit(join(scratch, `cold-${round}`))));
      results['baseline: line scanner (regex)']!.push(await runWorker(['baseline', dir]));
    }
    const widths = [38, 12, 12, 12, 10, 22];
    console.log(`tree: ${dir} (${results['cold: parse + analyse (empty cache)']![0]!.packages} packages), ${ROUNDS} rounds`);
    console.log(formatRow(['phase', 'median ms', 'median CPU ms', 'peak RSS MB', 'packages', 'hits (medium+ for audit)'], widths));
    for (const [name, rows] of Object.entries(results)) {
      console.log(formatRow([name, median(rows.map((r) => r.ms)).toFixed(0), median(rows.map((r) => r.cpuMs)).toFixed(0), Math.max(...rows.map((r) => r.rssMb)).toFixed(0), rows[0]!.packages, rows[0]!.hits], widths));
    }
    const cold = median(results['cold: parse + analyse (empty cache)']!.map((r) => r.ms));
    const warm = median(results['warm: re-scan (cache)']!.map((r) => r.ms));
    const base = median(results['baseline: line scanner (regex)']!.map((r) => r.ms));
    console.log(`cold / line-scanner baseline: ${(cold / base).toFixed(2)}; warm / baseline: ${(warm / base).toFixed(3)}; warm is ${(cold / warm).toFixed(0)}x faster than cold`);
    console.log(`targets: cold < 15 s: ${cold < 15_000 ? 'met' : 'MISSED'} (${(cold / 1000).toFixed(1)} s); warm < 2 s: ${warm < 2000 ? 'met' : 'MISSED'} (${(warm / 1000).toFixed(2)} s)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
