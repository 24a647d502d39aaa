// Load generator for bench/collect.bench.ts, in its own process so it does not share the collector's event loop:
// `connections` devices POST one report each, back to back, for `seconds`; prints JSON with per-request latencies.
import { Pool } from 'undici';

const [url, connections, seconds, bodyFile] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const template = readFileSync(bodyFile, 'utf8');
const pool = new Pool(url, { connections: Number(connections), pipelining: 1 });
const latencies = [];
let statuses = {};
let sequence = 0;
const end = performance.now() + Number(seconds) * 1000;
async function device(id) {
  while (performance.now() < end) {
    const body = template.replace('__CLIENT__', `${process.pid}-${id}-${sequence++}`);
    const start = performance.now();
    const response = await pool.request({ path: '/api/reports', method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.body.dump();
    latencies.push(performance.now() - start);
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: Number(connections) }, (_, i) => device(i)));
const elapsed = (performance.now() - started) / 1000;
await pool.close();
process.stdout.write(JSON.stringify({ latencies, statuses, elapsed }));
