// Sustained ingest of `wirelock collect`: devices POSTing one report per request (as TrustKit and wirelock do),
// from a separate load-generator process, against collector processes on the embedded store (PGlite) and on a
// real PostgreSQL server, side by side in one run. Every 202 is a committed report. Prints the rate, median and
// p99 acknowledgement latency, and where the CPU went (load generator, collectors, PostgreSQL's processes) per
// 1,000 reports: on a shared machine the rate is noisy, CPU per report much less so.
//
// BENCH_COLLECT_SECONDS (10), BENCH_COLLECT_CONNECTIONS (64). BENCH_COLLECT_BASELINE=<folder of an older checkout>
// also measures that checkout's built collector (its dist/collect/server.js: run `npx tsc -p tsconfig.build.json`
// there first) with the same load, for before/after ratios. BENCH_COLLECT_COMMITS sets the collectors'
// limits.commitsInFlight (default 2) to compare group-commit settings.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLabPki } from '../src/lab/pki.js';
import { openStore } from '../src/collect/backends.js';
import { startPostgres, tempDir, trustKitReport, type PostgresServer } from '../test/collect/support.js';
import { formatRow, median } from './support/stats.js';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** CPU seconds a process has used so far, user and system (the kernel's side of its sockets), from /proc. */
function cpuSeconds(pid: number): { user: number; system: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** PostgreSQL's processes: the postmaster and its children (backends, WAL writer, checkpointer, ...). */
function postgresCpu(postmaster: number): Map<number, number> {
  const usage = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const pid = Number(entry);
      if (pid === postmaster || Number(stat[1]) === postmaster) usage.set(pid, (Number(stat[11]) + Number(stat[12])) / 100);
    } catch {
      // exited while we looked
    }
  }
  return usage;
}

function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

async function startCollectorProcess(serverModule: string, db: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'collect-server.ts'), serverModule, db], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolveUrl(output.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`collector exited (${code}) before listening`)));
  });
  return { child, url };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  await exited;
}

interface LoadResult {
  latencies: number[];
  statuses: Record<string, number>;
  elapsed: number;
  reportsPerRequest: number;
  cpuMs: number;
}

async function load(urls: string[], connections: number, seconds: number, bodyFile: string, perRequest: number): Promise<LoadResult> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'support', 'collect-load.mjs'), urls.join(','), String(connections), String(seconds), bodyFile, String(perRequest)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise((done) => child.once('exit', done));
  if (code !== 0) throw new Error(`load generator exited ${code}`);
  return JSON.parse(output) as LoadResult;
}

interface Measurement {
  rate: number;
  median: number;
  p99: number;
  accepted: number;
  stored: number;
  statuses: Record<string, number>;
  /** CPU ms per 1,000 reports; collectorsSystem is the part of collectors spent in the kernel. */
  cpu: { load: number; collectors: number; collectorsSystem: number; postgres: number | null };
}

export async function measure(options: { serverModule: string; db: string; processes: number; connections: number; seconds: number; bodyFile: string; perRequest: number; postmaster?: number }): Promise<Measurement> {
  const collectors: Array<{ child: ChildProcess; url: string }> = [];
  for (let i = 0; i < options.processes; i++) collectors.push(await startCollectorProcess(options.serverModule, options.db));
  const urls = collectors.map((c) => c.url);
  try {
    // Warm-up: JIT, connection pools, the first commits.
    await load(urls, options.connections, 1, options.bodyFile, options.perRequest);
    const collectorCpu = () =>
      collectors.reduce((sum, c) => {
        const used = cpuSeconds(c.child.pid!);
        return { user: sum.user + used.user, system: sum.system + used.system };
      }, { user: 0, system: 0 });
    const cpuBefore = collectorCpu();
    const pgBefore = options.postmaster ? postgresCpu(options.postmaster) : undefined;
    const result = await load(urls, options.connections, options.seconds, options.bodyFile, options.perRequest);
    const cpuAfter = collectorCpu();
    const collectorsSystem = cpuAfter.system - cpuBefore.system;
    const collectorsCpu = cpuAfter.user - cpuBefore.user + collectorsSystem;
    const postgres = options.postmaster ? cpuDelta(pgBefore!, postgresCpu(options.postmaster)) : null;
    const accepted = (result.statuses['202'] ?? 0) * result.reportsPerRequest;
    const perThousand = (seconds: number) => (seconds * 1000 * 1000) / Math.max(1, accepted);
    // Stored = rows in the store after the collectors are gone (for the embedded store, only they can open it).
    return {
      rate: accepted / result.elapsed,
      median: median(result.latencies),
      p99: percentile(result.latencies, 99),
      accepted,
      stored: NaN,
      statuses: result.statuses,
      cpu: { load: perThousand(result.cpuMs / 1000), collectors: perThousand(collectorsCpu), collectorsSystem: perThousand(collectorsSystem), postgres: postgres === null ? null : perThousand(postgres) },
    };
  } finally {
    for (const collector of collectors) await stopProcess(collector.child);
  }
}

async function countReports(db: string): Promise<{ stored: number; bytesPerReport: number }> {
  const store = await openStore(db);
  try {
    const { rows } = await store.query<{ n: number; bytes: number }>(`select count(*)::int as n, pg_total_relation_size('reports')::float8 as bytes from reports`);
    return { stored: Number(rows[0]!.n), bytesPerReport: Number(rows[0]!.bytes) / Math.max(1, Number(rows[0]!.n)) };
  } finally {
    await store.close();
  }
}

/** The server's WAL position in bytes: the difference over a run is what the disk had to write durably. */
async function walPosition(db: string): Promise<number> {
  const store = await openStore(db);
  try {
    return Number((await store.query<{ at: number }>(`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 as at`)).rows[0]!.at);
  } finally {
    await store.close();
  }
}

export async function run(): Promise<void> {
  const pki = createLabPki();
  const bodyFile = join(tempDir('wirelock-bench-'), 'report.json');
  writeFileSync(bodyFile, JSON.stringify(trustKitReport(pki.legit, { 'app-vendor-id': '__CLIENT__' })));
  const connections = Number(process.env.BENCH_COLLECT_CONNECTIONS ?? 64);
  const seconds = Number(process.env.BENCH_COLLECT_SECONDS ?? 10);
  // The built collector (what `wirelock collect` runs; `npm run bench` builds first), not the TypeScript sources
  // through a loader, whose helpers cost the ingest path a measurable share.
  const current = pathToFileURL(resolve(import.meta.dirname, '..', 'dist', 'collect', 'server.js')).href;
  const baselineDir = process.env.BENCH_COLLECT_BASELINE;
  const versions: Array<[string, string]> = [];
  if (baselineDir) versions.push(['baseline', pathToFileURL(resolve(baselineDir, 'dist', 'collect', 'server.js')).href]);
  versions.push(['this', current]);

  let postgres: PostgresServer | undefined;
  if (existsSync('/usr/lib/postgresql')) postgres = await startPostgres();
  else console.log('PostgreSQL not installed (apt-get install postgresql): only the embedded store is measured');
  let databases = 0;
  /** A fresh database per measurement, so every one starts from the same empty tables. */
  const freshPostgres = async () => {
    const name = `bench_${++databases}`;
    await postgres!.admin(`create database ${name}`);
    const url = postgres!.url.replace(/\/collect$/, `/${name}`);
    await (await openStore(url)).close(); // migrate before timing
    return url;
  };

  console.log(`${connections} concurrent devices (keep-alive connections), ${seconds} s each; p99 of acknowledgement latency;`);
  console.log('CPU ms per 1,000 acknowledged reports: load generator / collector processes / PostgreSQL processes');
  const widths = [34, 10, 10, 9, 9, 9, 30];
  console.log(formatRow(['store, collector', 'reports/s', 'median ms', 'p99 ms', 'acked', 'stored', 'CPU ms/1k: load/coll/pg'], widths));
  const rows: Array<{ name: string; db: () => Promise<string>; serverModule: string; processes: number; perRequest: number }> = [];
  for (const [version, serverModule] of versions) rows.push({ name: `embedded (PGlite), ${version}`, db: async () => tempDir(), serverModule, processes: 1, perRequest: 1 });
  if (postgres) {
    for (const [version, serverModule] of versions) rows.push({ name: `PostgreSQL, ${version}`, db: freshPostgres, serverModule, processes: 1, perRequest: 1 });
    rows.push({ name: 'PostgreSQL, this, 2 processes', db: freshPostgres, serverModule: current, processes: 2, perRequest: 1 });
    rows.push({ name: 'PostgreSQL, this, arrays of 10 *', db: freshPostgres, serverModule: current, processes: 1, perRequest: 10 });
  }
  const results = new Map<string, Measurement>();
  try {
    for (const row of rows) {
      const db = await row.db();
      const isPostgres = db.startsWith('postgres');
      const walBefore = isPostgres ? await walPosition(db) : 0;
      const r = await measure({ serverModule: row.serverModule, db, processes: row.processes, connections, seconds, bodyFile, perRequest: row.perRequest, postmaster: isPostgres ? postgres!.postmasterPid() : undefined });
      const walBytes = isPostgres ? (await walPosition(db)) - walBefore : 0;
      const { stored, bytesPerReport } = await countReports(db);
      r.stored = stored;
      results.set(row.name, r);
      const cpu = `${r.cpu.load.toFixed(0)} / ${r.cpu.collectors.toFixed(0)} (kernel ${r.cpu.collectorsSystem.toFixed(0)}) / ${r.cpu.postgres === null ? '-' : r.cpu.postgres.toFixed(0)}`;
      console.log(formatRow([row.name, r.rate.toFixed(0), r.median.toFixed(2), r.p99.toFixed(2), r.accepted, r.stored, cpu], widths));
      // Warm-up reports are stored too, so stored >= acked; fewer would be a lost acknowledged report.
      // Includes the warm-up's reports, which are in the table too; WAL of the whole server (other databases idle).
      if (isPostgres) console.log(`  WAL ${(walBytes / stored).toFixed(0)} bytes per stored report (server-wide), table + indexes ${bytesPerReport.toFixed(0)} bytes per report`);
      if (r.stored < r.accepted) console.log(`  !! ${r.accepted - r.stored} acknowledged reports missing from the store`);
      const other = Object.entries(r.statuses).filter(([status]) => status !== '202');
      if (other.length > 0) console.log(`  other statuses: ${JSON.stringify(Object.fromEntries(other))}`);
    }
  } finally {
    postgres?.stop();
  }
  console.log('* arrays of 10 reports per request: not the headline figure (devices post one report per request)');
  const ratio = (a?: Measurement, b?: Measurement) => (a && b ? (b.rate / a.rate).toFixed(2) : '-');
  if (baselineDir) {
    console.log(`ratio this/baseline, reports/s: embedded ${ratio(results.get('embedded (PGlite), baseline'), results.get('embedded (PGlite), this'))}, PostgreSQL ${ratio(results.get('PostgreSQL, baseline'), results.get('PostgreSQL, this'))}`);
  }
  if (postgres) console.log(`ratio 2 processes / 1 process, reports/s: ${ratio(results.get('PostgreSQL, this'), results.get('PostgreSQL, this, 2 processes'))}`);
}
