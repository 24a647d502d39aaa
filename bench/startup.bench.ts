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
  // Every app ends with this line: peak RSS (kB) and, on Linux, the main thread's time on the CPU
  // so far (ns, /proc/self/task/<pid>/schedstat), so memory and CPU are measured by the same start.
  // On a machine loaded by other work the CPU time moves far less than the wall time.
  const report =
    "let cpu = ''; try { cpu = process.getBuiltinModule('node:fs').readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]; } catch {} " +
    "console.log(`${process.resourceUsage().maxRSS} ${cpu}`);\n";
  // The one-line app.
  const app = join(dir, 'app.mjs');
  writeFileSync(app, report);
  // An app that only uses createAgent (https.request, axios, got, node-fetch).
  const agentApp = join(dir, 'agent-app.mjs');
  writeFileSync(
    agentApp,
    `import { createAgent, loadPolicySync } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};\n` +
      `createAgent(loadPolicySync(${JSON.stringify(policyFile)}));\n${report}`,
  );
  // The same app with Node's own https.Agent: what createAgent replaces (node:https and node:tls load).
  const httpsApp = join(dir, 'https-app.mjs');
  writeFileSync(httpsApp, `import https from 'node:https';\nnew https.Agent({ keepAlive: true });\n${report}`);
  const variants: Record<string, string[]> = {
    'node app.mjs': [app],
    'plain https.Agent app': [httpsApp],
    'import wirelock (createAgent)': [agentApp],
    'node --import wirelock/register': ['--import', join(ROOT, 'dist/runtime/register.js'), app],
  };
  // BENCH_STARTUP_BASELINE=<another checkout, built>: its createAgent app and register start run in
  // the same interleaved rounds, so a change is measured side by side with what it changes.
  const baseline = process.env.BENCH_STARTUP_BASELINE;
  if (baseline) {
    const baselineAgentApp = join(dir, 'baseline-agent-app.mjs');
    writeFileSync(
      baselineAgentApp,
      `import { createAgent, loadPolicySync } from ${JSON.stringify(join(baseline, 'dist/index.js'))};\n` +
        `createAgent(loadPolicySync(${JSON.stringify(policyFile)}));\n${report}`,
    );
    variants['baseline: import wirelock (createAgent)'] = [baselineAgentApp];
    variants['baseline: node --import wirelock/register'] = ['--import', join(baseline, 'dist/runtime/register.js'), app];
  }
  // BENCH_STARTUP_FLOOR=1: what each start must load and read before any wirelock code runs, with
  // none of wirelock's code (no compile, no checks): the floor a goal is measured against.
  if (process.env.BENCH_STARTUP_FLOOR === '1') {
    const chunks = join(ROOT, 'dist/chunks');
    const file = (name: string): string => JSON.stringify(join(chunks, name));
    const cache = (body: string): string => file(`${body}.${process.arch}.v8.cache`);
    // import 'wirelock': Node's process object from the module loader (the baseline's root, its ES
    // module facade runs every getter of process), the built-ins the baseline and the transport
    // take, the start body and its code cache (read and hashed as the start module does).
    const importFloor =
      "import nodeProcess from 'node:process';\n" +
      "for (const id of ['node:http', 'node:https', 'node:tls', 'node:net', 'node:dns', 'node:module', 'node:vm', 'node:diagnostics_channel', '_tls_wrap', 'node:path', 'node:crypto', 'node:url', 'node:fs', 'node:util']) nodeProcess.getBuiltinModule(id);\n" +
      "const { readFileSync } = nodeProcess.getBuiltinModule('node:fs');\n" +
      "const { hash } = nodeProcess.getBuiltinModule('node:crypto');\n" +
      `readFileSync(${file('start-body.js')}, 'utf8');\nhash('sha256', readFileSync(${cache('start-body')}), 'buffer');\n`;
    const importFloorApp = join(dir, 'import-floor-app.mjs');
    writeFileSync(importFloorApp, `${importFloor}new (nodeProcess.getBuiltinModule('node:https').Agent)({ keepAlive: true });\n${report}`);
    // register, in addition: the Worker guard's module, the runtime body and its cache (hashed), the
    // /proc files and the policy file lockdown reads at start.
    const registerFloor = join(dir, 'register-floor.mjs');
    writeFileSync(
      registerFloor,
      `${importFloor}nodeProcess.getBuiltinModule('node:worker_threads');\n` +
        `hash('sha256', readFileSync(${file('runtime-body.js')}), 'buffer');\nhash('sha256', readFileSync(${cache('runtime-body')}), 'buffer');\n` +
        "for (const proc of ['cmdline', 'environ', 'status', 'maps']) { try { readFileSync(`/proc/self/${proc}`, 'latin1'); } catch {} }\n" +
        `JSON.parse(readFileSync(${JSON.stringify(policyFile)}, 'utf8'));\n`,
    );
    variants['floor: import wirelock, no wirelock code'] = [importFloorApp];
    variants['floor: register, no wirelock code'] = ['--import', registerFloor, app];
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', WIRELOCK_POLICY: policyFile };
  const names = Object.keys(variants);
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const rss: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
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
      const [peak, mainCpu] = (result.stdout.trim().split('\n').pop() ?? '').split(' ');
      rss[name]!.push(Number(peak) / 1024);
      if (mainCpu) cpu[name]!.push(Number(mainCpu) / 1e6);
    }
  }
  const base = names[0]!;
  const widths = [42, 12, 8, 16, 8, 16, 12];
  const withCpu = cpu[base]!.length > 0;
  console.log(formatRow(['start', 'median ms', 'ratio', 'main-thread CPU', 'ratio', 'median RSS MB', 'RSS delta'], widths));
  for (const name of names) {
    const t = median(times[name]!);
    const m = median(rss[name]!);
    const c = withCpu ? median(cpu[name]!) : NaN;
    console.log(
      formatRow(
        [name, t.toFixed(1), `${(t / median(times[base]!)).toFixed(2)}x`, withCpu ? `${c.toFixed(1)} ms` : '-', withCpu ? `${(c / median(cpu[base]!)).toFixed(2)}x` : '-', m.toFixed(1), `+${(m - median(rss[base]!)).toFixed(1)}`],
        widths,
      ),
    );
  }
  // node:https itself is the floor of any app that uses createAgent: say how far above it wirelock is.
  const overHttps = (values: Record<string, number[]>): string => (median(values['import wirelock (createAgent)']!) / median(values['plain https.Agent app']!)).toFixed(2);
  console.log(`createAgent app / plain https.Agent app: ${overHttps(times)}x wall${withCpu ? `, ${overHttps(cpu)}x main-thread CPU` : ''}`);
  console.log(`(${rounds} interleaved starts per variant on ${process.version}; goals: register < 1.5x, import < 1.25x)`);
}
