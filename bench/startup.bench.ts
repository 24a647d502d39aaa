// Start-up cost: whole process starts, interleaved, medians and ratios to the bare app. CLIs and
// serverless functions pay this on every start. Runs the built package (dist/), as an app would.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, formatRow } from './support/stats.js';

const ROOT = new URL('../', import.meta.url).pathname;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-startup-'));
  const policyFile = join(dir, 'wirelock.json');
  writeFileSync(policyFile, JSON.stringify({ version: 1, domains: { 'api.example.com': {} } }));
  // The one-line app: prints its peak RSS (kB) so memory is measured by the same start.
  const app = join(dir, 'app.mjs');
  writeFileSync(app, 'console.log(process.resourceUsage().maxRSS);\n');
  // An app that only uses createAgent (https.request, axios, got, node-fetch).
  const agentApp = join(dir, 'agent-app.mjs');
  writeFileSync(
    agentApp,
    `import { createAgent, loadPolicySync } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};\n` +
      `createAgent(loadPolicySync(${JSON.stringify(policyFile)}));\nconsole.log(process.resourceUsage().maxRSS);\n`,
  );
  // The same app with Node's own https.Agent: what createAgent replaces (node:https and node:tls load).
  const httpsApp = join(dir, 'https-app.mjs');
  writeFileSync(httpsApp, `import https from 'node:https';\nnew https.Agent({ keepAlive: true });\nconsole.log(process.resourceUsage().maxRSS);\n`);
  const variants: Record<string, string[]> = {
    'node app.mjs': [app],
    'plain https.Agent app': [httpsApp],
    'import wirelock (createAgent)': [agentApp],
    'node --import wirelock/register': ['--import', join(ROOT, 'dist/runtime/register.js'), app],
  };
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', WIRELOCK_POLICY: policyFile };
  const names = Object.keys(variants);
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const rss: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 25);
  for (let round = -2; round < rounds; round++) {
    // Rotate the order so no variant always follows another (page cache, CPU frequency).
    const order = names.map((_, i) => names[(i + round + names.length) % names.length]!);
    for (const name of order) {
      const start = process.hrtime.bigint();
      const result = spawnSync(process.execPath, variants[name]!, { env, encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr}`);
      if (round < 0) continue; // warm-up
      times[name]!.push(ms);
      rss[name]!.push(Number(result.stdout.trim().split('\n').pop()) / 1024);
    }
  }
  const base = names[0]!;
  const widths = [34, 18, 10, 16, 14];
  console.log(formatRow(['start', 'median ms', 'ratio', 'median RSS MB', 'RSS delta'], widths));
  for (const name of names) {
    const t = median(times[name]!);
    const m = median(rss[name]!);
    console.log(formatRow([name, t.toFixed(1), `${(t / median(times[base]!)).toFixed(2)}x`, m.toFixed(1), `+${(m - median(rss[base]!)).toFixed(1)}`], widths));
  }
  console.log(`(${rounds} interleaved starts per variant on ${process.version}; goals: register < 1.5x, import < 1.25x)`);
}
