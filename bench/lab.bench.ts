// `npm run bench lab`: what the attack lab's wall time is made of on this machine. Every scenario
// starts its clients as fresh Node processes (so NODE_EXTRA_CA_CERTS, NODE_OPTIONS... take effect at
// start-up): the table shows one client process of each kind against a loopback origin, side by side
// with a bare `node -e 0` (the floor no lab change can go under), then the whole catalogue's wall time
// at several concurrency limits.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatRow, median } from './support/stats.js';

const ROUNDS = 7;

function timeProcess(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (code) => {
      if (code !== 0 || (args[0] !== '-e' && !stdout.includes('"ok":true'))) reject(new Error(`client failed (${code}): ${stdout}`));
      else resolve(Number(process.hrtime.bigint() - start) / 1e6);
    });
  });
}

function eagerImports(): string[] {
  const modules = ['policy/define.js', 'transport/fetch.js', 'transport/agent.js', 'runtime/lockdown.js', 'x509/certificate.js'];
  const undici = import.meta.resolve('undici');
  return [undici, ...modules.map((module) => pathToFileURL(fileURLToPath(new URL(`../dist/${module}`, import.meta.url))).href)].flatMap((url) => ['--import', url]);
}

export async function run(): Promise<void> {
  // The compiled lab and client, as `npm run lab` runs them (npm run bench builds first): from source,
  // every client would start through tsx's loader, which lockdown rightly reports as a hook.
  const client = fileURLToPath(new URL('../dist/lab/client.js', import.meta.url));
  const { openLab, runLab } = (await import(pathToFileURL(fileURLToPath(new URL('../dist/lab/run.js', import.meta.url))).href)) as typeof import('../src/lab/run.js');
  const { lab, close } = openLab();
  try {
    const origin = await lab.startServer(lab.pki.serverOptions(lab.pki.legit));
    const policyFile = join(lab.dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify({ version: 1, trustAnchors: [lab.pki.legit.root.pem], domains: { '127.0.0.1': { pins: [lab.pki.legitPin, lab.pki.backupPin] } } }));
    const base = {
      PATH: process.env.PATH,
      NODE_EXTRA_CA_CERTS: lab.caFile('store', lab.pki.legit.root.pem),
      WIRELOCK_LAB_URL: origin.url('127.0.0.1', '/pay'),
      WIRELOCK_LAB_SECRET: 'bench',
      WIRELOCK_POLICY: policyFile,
    };
    const kinds: Array<[string, string[], NodeJS.ProcessEnv]> = [
      ['node -e 0 (baseline)', ['-e', '0'], base],
      ["plain client (Node's fetch)", [client], { ...base, WIRELOCK_LAB_SIDE: 'plain' }],
      // The plain client as it was before it imported lazily: every wirelock module and npm undici loaded up front.
      ['plain client, eager imports', [...eagerImports(), client], { ...base, WIRELOCK_LAB_SIDE: 'plain' }],
      ['wirelock createFetch', [client], { ...base, WIRELOCK_LAB_SIDE: 'wirelock' }],
      ['wirelock createAgent', [client], { ...base, WIRELOCK_LAB_SIDE: 'wirelock', WIRELOCK_LAB_API: 'https' }],
      ['wirelock under lockdown', [client], { ...base, WIRELOCK_LAB_SIDE: 'wirelock', WIRELOCK_LAB_LOCKDOWN: '1' }],
      // What the lab sets for its own clients: Node >= 22.1 reuses compiled code between starts (Node 20 ignores it).
      ['lockdown + NODE_COMPILE_CACHE', [client], { ...base, WIRELOCK_LAB_SIDE: 'wirelock', WIRELOCK_LAB_LOCKDOWN: '1', NODE_COMPILE_CACHE: join(lab.dir, 'compile-cache') }],
    ];
    const samples = kinds.map(() => [] as number[]);
    // Interleaved rounds, so a burst of load from elsewhere hits every kind alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [index, [, args, env]] of kinds.entries()) samples[index]!.push(await timeProcess(args, env));
    }
    const baseline = median(samples[0]!);
    const widths = [32, 14, 10];
    console.log(`one client process, start to exit (median of ${ROUNDS}, Node ${process.version})`);
    console.log(formatRow(['client', 'median ms', 'x baseline'], widths));
    for (const [index, [name]] of kinds.entries()) {
      const value = median(samples[index]!);
      console.log(formatRow([name, value.toFixed(0), (value / baseline).toFixed(2)], widths));
    }
  } finally {
    await close();
  }

  console.log('\nwhole catalogue (wirelock as the subject), wall time by concurrency limit');
  const widths = [14, 10, 12, 24];
  console.log(formatRow(['concurrency', 'wall s', 'x limit 4', 'client processes'], widths));
  const results: Array<[number, number, number]> = [];
  for (const concurrency of [4, 8]) {
    const result = await runLab({ concurrency });
    if (!result.ok) console.log(`  (concurrency ${concurrency}: failed ${result.failed.join(', ')})`);
    const processes = result.scenarios.reduce((sum, s) => sum + (s.control ? 1 : 0) + (s.subject ? 1 : 0), 0);
    results.push([concurrency, result.wallMs, processes]);
  }
  const reference = results[0]![1];
  for (const [concurrency, wallMs, processes] of results) console.log(formatRow([concurrency, (wallMs / 1000).toFixed(1), (wallMs / reference).toFixed(2), `${processes} + origin controls`], widths));
}
