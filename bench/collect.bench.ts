// Sustained ingest of `wirelock collect`: devices POSTing one report per request (as TrustKit and wirelock do),
// from a separate load-generator process, against the embedded store (PGlite) and a real PostgreSQL server side
// by side in one run. Every 202 is a committed report. Prints the rate, median and p99 acknowledgement latency.
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCollector } from '../src/collect/server.js';
import { openStore } from '../src/collect/backends.js';
import { createLabPki } from '../src/lab/pki.js';
import { startPostgres, tempDir, trustKitReport } from '../test/collect/support.js';
import { formatRow, median } from './support/stats.js';

const run$ = promisify(execFile);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function measure(db: string, connections: number, seconds: number, bodyFile: string) {
  const collector = await startCollector({
    db,
    port: 0,
    // The bench is one source address standing for a fleet: the per-source budget is the thing not measured.
    limits: { perSourceRate: 1e9, perSourceBurst: 1e9, perAppRate: 1e9, perAppBurst: 1e9 },
  });
  try {
    const script = join(import.meta.dirname, 'support', 'collect-load.mjs');
    // Warm-up: JIT, connection pools, the first commits.
    await run$(process.execPath, [script, collector.url, String(connections), '1', bodyFile], { maxBuffer: 1 << 28 });
    const count = async () => Number((await collector.store.query<{ n: number }>(`select count(*)::int as n from reports`)).rows[0]!.n);
    const before = await count();
    const { stdout } = await run$(process.execPath, [script, collector.url, String(connections), String(seconds), bodyFile], { maxBuffer: 1 << 28 });
    const result = JSON.parse(stdout) as { latencies: number[]; statuses: Record<string, number>; elapsed: number };
    const accepted = result.statuses['202'] ?? 0;
    return { rate: accepted / result.elapsed, median: median(result.latencies), p99: percentile(result.latencies, 99), accepted, stored: (await count()) - before, statuses: result.statuses };
  } finally {
    await collector.close();
  }
}

export async function run(): Promise<void> {
  const pki = createLabPki();
  const bodyFile = join(tempDir('wirelock-bench-'), 'report.json');
  writeFileSync(bodyFile, JSON.stringify(trustKitReport(pki.legit, { 'app-vendor-id': '__CLIENT__' })));
  const connections = Number(process.env.BENCH_COLLECT_CONNECTIONS ?? 64);
  const seconds = Number(process.env.BENCH_COLLECT_SECONDS ?? 10);
  const backends: Array<[string, () => Promise<{ db: string; stop(): void }>]> = [
    ['embedded (PGlite)', async () => ({ db: tempDir(), stop() {} })],
  ];
  if (existsSync('/usr/lib/postgresql')) {
    backends.push(['PostgreSQL (pg)', async () => {
      const server = await startPostgres();
      // Migrate before timing: the first collector to start does it.
      const store = await openStore(server.url);
      await store.close();
      return { db: server.url, stop: server.stop };
    }]);
  } else {
    console.log('PostgreSQL not installed (apt-get install postgresql): only the embedded store is measured');
  }
  console.log(`${connections} concurrent devices, ${seconds} s each, one report per request; p99 of acknowledgement latency`);
  const widths = [20, 14, 12, 12, 12, 12];
  console.log(formatRow(['store', 'reports/s', 'median ms', 'p99 ms', 'acked', 'stored'], widths));
  for (const [name, open] of backends) {
    const backend = await open();
    try {
      const r = await measure(backend.db, connections, seconds, bodyFile);
      console.log(formatRow([name, r.rate.toFixed(0), r.median.toFixed(2), r.p99.toFixed(2), r.accepted, r.stored], widths));
      if (r.stored < r.accepted) console.log(`  !! ${r.accepted - r.stored} acknowledged reports missing from the store`);
      const other = Object.entries(r.statuses).filter(([status]) => status !== '202');
      if (other.length > 0) console.log(`  other statuses: ${JSON.stringify(Object.fromEntries(other))}`);
    } finally {
      backend.stop();
    }
  }
}
