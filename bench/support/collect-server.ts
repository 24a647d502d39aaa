// One collector process for bench/collect.bench.ts: `node --import tsx collect-server.ts <server module> <db>`.
// The module is given so the bench can run an older checkout's collector side by side with this one.
// Prints the collector's URL on its first line, then serves until SIGTERM.
const [serverModule, db] = process.argv.slice(2);
const { startCollector } = (await import(serverModule!)) as typeof import('../../src/collect/server.js');
const collector = await startCollector({
  db: db!,
  port: 0,
  // The bench is one source address standing for a fleet: the per-source and per-app budgets are not what is measured.
  limits: { perSourceRate: 1e9, perSourceBurst: 1e9, perAppRate: 1e9, perAppBurst: 1e9, ...(process.env.BENCH_COLLECT_COMMITS ? { commitsInFlight: Number(process.env.BENCH_COLLECT_COMMITS) } : {}) },
});
process.stdout.write(`${collector.url}\n`);
process.once('SIGTERM', () => void collector.close().finally(() => process.exit(0)));
