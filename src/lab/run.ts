import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WirelockError } from '../errors.js';
import { createTestLog, writeLogListFiles } from '../ct/testlog.js';
import { PROXY_VARIABLES } from '../runtime/inspect.js';
import { createLabPki, type LabPki } from './pki.js';
import { SCENARIOS, type Attacker, type LabContext, type Scenario, type StagedAttack } from './scenarios.js';
import { startCountingServer } from './servers.js';

export type PolicyMode = 'enforce' | 'report-only';

export interface LabOptions {
  /** Scenario ids to run; all when empty. */
  only?: string[];
  /** A shell command to attack instead of wirelock's own client. */
  client?: string;
  /** Runs wirelock's side in report-only mode: the way to see what a non-enforcing policy lets through. */
  policyMode?: PolicyMode;
  concurrency?: number;
  onEvent?: (event: LabEvent) => void;
}

export type LabEvent = { type: 'start'; scenario: Scenario } | { type: 'done'; result: ScenarioResult };

/** One client run against the staged attack. */
export interface ClientRun {
  ok: boolean;
  status?: number;
  code?: string;
  message?: string;
  reports: Array<{ kind: string; code: string; blocked: boolean; message: string }>;
  /** Application data the attacker received during this run. */
  attackerBytes: number;
  /** The run's secret reached the attacker. */
  secretCaptured: boolean;
  exitCode?: number | null;
  stderr?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  attack: string;
  expect: Scenario['expect'];
  expectedCode?: string;
  /** The unprotected client (positive control); undefined when the scenario has none. */
  control?: ClientRun & { configuration: string; intercepted: boolean };
  /** wirelock's client, or the user's program under --client. */
  subject?: ClientRun & { name: string };
  verdict: 'blocked' | 'bypassed' | 'allowed-with-report' | 'delivered' | 'leaked' | 'unexpected' | 'unavailable';
  pass: boolean;
  /** Why the scenario failed, when it did. */
  problems: string[];
  wallMs: number;
}

export interface LabResult {
  ok: boolean;
  wallMs: number;
  policyMode: PolicyMode;
  client: string | null;
  node: string;
  scenarios: ScenarioResult[];
  failed: string[];
}

const CLIENT_TIMEOUT_MS = 30_000;

/** Variables that would let the parent's environment decide a scenario's outcome. */
const INHERITED_BLOCKLIST = [
  ...PROXY_VARIABLES,
  'NO_PROXY',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'NODE_TLS_REJECT_UNAUTHORIZED',
  'NODE_USE_ENV_PROXY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'WIRELOCK_POLICY',
];

function builtinClient(): { command: string; args: string[] } {
  const compiled = fileURLToPath(new URL('./client.js', import.meta.url));
  if (existsSync(compiled)) return { command: process.execPath, args: [compiled] };
  // Running from source (tests through tsx): the client is TypeScript too.
  return { command: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('./client.ts', import.meta.url))] };
}

export function isOnPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

function labPolicies(pki: LabPki, mode: PolicyMode, logList: { logList: string; logListKey: string }): Record<NonNullable<StagedAttack['policy']>, object> {
  const base = { version: 1, mode, trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem] };
  return {
    ct: { ...base, domains: { '127.0.0.1': { certificateTransparency: { enforce: true, policy: 'chrome', ...logList } } } },
    lab: { ...base, domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } } },
    // The lab policy, routed through whatever proxy HTTPS_PROXY names when the client starts.
    'proxy-env': { ...base, proxy: 'env', domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } } },
    'expired-pins': {
      ...base,
      // The server rotated to a key the old pins do not name; the pins expired, so they must not be enforced.
      domains: { '127.0.0.1': { pins: [retiredPin(), retiredPin()], pinsExpire: '2020-01-01' } },
    },
  };
}

/** The pin of a key the server no longer uses. */
function retiredPin(): string {
  return `sha256/${randomBytes(32).toString('base64')}`;
}

interface ChildOutput {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv, shell: boolean): Promise<ChildOutput> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, shell, stdio: ['ignore', 'pipe', 'pipe'], timeout: CLIENT_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve({ exitCode: null, stdout, stderr: stderr + String(error) }));
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

function parseOutcome(output: ChildOutput): Omit<ClientRun, 'attackerBytes' | 'secretCaptured'> {
  const last = output.stdout.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(last) as Omit<ClientRun, 'attackerBytes' | 'secretCaptured'>;
    return { ...parsed, reports: parsed.reports ?? [] };
  } catch {
    return { ok: output.exitCode === 0, code: output.exitCode === 0 ? undefined : `EXIT_${output.exitCode}`, message: output.stderr.trim().split('\n').slice(-3).join(' '), reports: [] };
  }
}

export async function runLab(options: LabOptions = {}): Promise<LabResult> {
  const started = performance.now();
  const policyMode = options.policyMode ?? 'enforce';
  const selected = selectScenarios(options.only);
  const { lab, close } = openLab();
  const { pki, dir } = lab;
  const { logList, logListKey } = writeLogListFiles(join(dir, 'ct'), lab.ctLogs.listed);
  const policies = labPolicies(pki, policyMode, { logList, logListKey });
  const policyFiles = Object.fromEntries(
    Object.entries(policies).map(([name, policy]) => {
      const file = join(dir, `${name}.wirelock.json`);
      writeFileSync(file, JSON.stringify(policy, null, 2));
      return [name, file];
    }),
  ) as Record<keyof typeof policies, string>;

  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED_BLOCKLIST) delete baseEnv[name];
  // The lab's own per-run variables (a lab started from a --client run has them all): a leftover
  // WIRELOCK_LAB_LOCKDOWN or _DEPENDENCY would change every scenario it does not set itself.
  for (const name of Object.keys(baseEnv)) if (name.startsWith('WIRELOCK_LAB_')) delete baseEnv[name];
  const client = builtinClient();

  async function attack(staged: StagedAttack, side: 'plain' | 'wirelock' | 'user', scenarioId: string): Promise<ClientRun> {
    const secret = `wl-secret-${scenarioId}-${side}-${randomBytes(6).toString('hex')}`;
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      ...(side === 'user' ? {} : { NODE_OPTIONS: '' }),
      ...staged.env,
      WIRELOCK_LAB_URL: staged.url,
      WIRELOCK_LAB_SECRET: secret,
      WIRELOCK_POLICY: policyFiles[staged.policy ?? 'lab'],
      WIRELOCK_LAB_SIDE: side,
      WIRELOCK_LAB_WEAKNESS: staged.weakness ?? 'none',
      ...(staged.lockdown ? { WIRELOCK_LAB_LOCKDOWN: '1' } : {}),
      ...(staged.dependency ? { WIRELOCK_LAB_DEPENDENCY: staged.dependency } : {}),
      ...(staged.api ? { WIRELOCK_LAB_API: staged.api } : {}),
    };
    const bytesBefore = staged.attacker.applicationBytes;
    const output = side === 'user' ? await runChild(options.client!, [], env, true) : await runChild(client.command, client.args, env, false);
    await settle(staged.attacker);
    const outcome = side === 'user' ? userOutcome(output) : parseOutcome(output);
    return {
      ...outcome,
      attackerBytes: staged.attacker.applicationBytes - bytesBefore,
      secretCaptured: staged.attacker.captured.includes(secret),
      ...(side === 'user' ? { exitCode: output.exitCode, stderr: output.stderr.slice(-2000) } : {}),
    };
  }

  async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
    const scenarioStart = performance.now();
    const base = { id: scenario.id, title: scenario.title, attack: scenario.attack, expect: scenario.expect, ...(scenario.expectedCode ? { expectedCode: scenario.expectedCode } : {}) };
    if (scenario.requires && !isOnPath(scenario.requires)) {
      return { ...base, verdict: 'unavailable', pass: true, problems: [`${scenario.requires} is not installed`], wallMs: performance.now() - scenarioStart };
    }
    if (options.client && scenario.builtinClientOnly) {
      return { ...base, verdict: 'unavailable', pass: true, problems: [`not applicable to --client: ${scenario.builtinClientOnly}`], wallMs: performance.now() - scenarioStart };
    }
    options.onEvent?.({ type: 'start', scenario });
    const problems: string[] = [];
    let staged: StagedAttack;
    try {
      staged = await scenario.stage(lab);
    } catch (error) {
      problems.push(`could not stage the attack: ${(error as Error).message}`);
      return { ...base, verdict: 'unexpected', pass: false, problems, wallMs: performance.now() - scenarioStart };
    }
    let control: ScenarioResult['control'];
    if (scenario.control !== undefined) {
      const run = await attack(staged, 'plain', scenario.id);
      control = { ...run, configuration: scenario.control, intercepted: run.secretCaptured };
      if (!run.secretCaptured) problems.push(`positive control not intercepted: the plain client's secret never reached the attacker (${run.code ?? 'request completed'}${run.message ? `: ${run.message}` : ''}), so this attack proves nothing`);
    }
    const side = options.client ? 'user' : 'wirelock';
    const run = await attack(staged, side, scenario.id);
    const subject = { ...run, name: options.client ?? 'wirelock' };
    const verdict = judge(scenario, subject, side, problems);
    return { ...base, ...(control ? { control } : {}), subject, verdict, pass: problems.length === 0, problems, wallMs: performance.now() - scenarioStart };
  }

  try {
    const results = await mapConcurrently(selected, options.concurrency ?? 4, async (scenario) => {
      const result = await runScenario(scenario);
      options.onEvent?.({ type: 'done', result });
      return result;
    });
    const failed = results.filter((result) => !result.pass).map((result) => result.id);
    return {
      ok: failed.length === 0,
      wallMs: performance.now() - started,
      policyMode,
      client: options.client ?? null,
      node: process.version,
      scenarios: results,
      failed,
    };
  } finally {
    await close();
  }
}

/**
 * The lab's per-run world: a fresh PKI and CT logs, a scratch directory, and everything started
 * through it released by `close()`.
 */
export function openLab(): { lab: LabContext; close(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-lab-'));
  const closers: Array<() => Promise<void> | void> = [];
  let caFiles = 0;
  const lab: LabContext = {
    pki: createLabPki(),
    ctLogs: {
      listed: [createTestLog({ name: 'Lab Log A', operator: 'Lab Operator A' }), createTestLog({ name: 'Lab Log B', operator: 'Lab Operator B' })],
      unlisted: [createTestLog({ name: 'Attacker Log 1', operator: 'Attacker' }), createTestLog({ name: 'Attacker Log 2', operator: 'Attacker Two' })],
    },
    dir,
    caFile(name, ...pems) {
      const file = join(dir, `${name}-${++caFiles}.pem`);
      writeFileSync(file, pems.join(''));
      return file;
    },
    async startServer(serverOptions) {
      const server = await startCountingServer(serverOptions);
      closers.push(() => server.close());
      return server;
    },
    onClose(release) {
      closers.push(release);
    },
  };
  return {
    lab,
    async close() {
      await Promise.allSettled(closers.map((release) => release()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function judge(scenario: Scenario, run: ClientRun, side: 'wirelock' | 'user', problems: string[]): ScenarioResult['verdict'] {
  if (scenario.expect === 'allowed-with-report') {
    if (!run.ok) problems.push(`expected the request to be allowed, it failed with ${run.code}: ${run.message}`);
    if (!run.reports.some((report) => report.kind === scenario.expectedReport)) problems.push(`expected a ${scenario.expectedReport} report, got ${run.reports.map((r) => r.kind).join(', ') || 'none'}`);
    return problems.length ? 'unexpected' : 'allowed-with-report';
  }
  if (scenario.expect === 'delivered') {
    if (!run.ok) problems.push(`expected the request to arrive, it failed with ${run.code}: ${run.message}`);
    else if (!run.secretCaptured) problems.push('the request completed but did not arrive at the origin through the proxy');
    return problems.length ? 'unexpected' : 'delivered';
  }
  if (run.secretCaptured || run.attackerBytes > 0) {
    problems.push(`the attacker received ${run.attackerBytes} bytes of application data${run.secretCaptured ? ', including the secret' : ''}`);
    return 'leaked';
  }
  if (scenario.expect === 'bypassed') {
    if (side === 'wirelock' && !run.ok) problems.push(`expected the request to go around the attacker, it failed with ${run.code}: ${run.message}`);
    return run.ok ? 'bypassed' : 'blocked';
  }
  if (side === 'wirelock') {
    if (run.ok) problems.push('the request completed although it should have been blocked');
    else if (scenario.expectedCode && run.code !== scenario.expectedCode) problems.push(`blocked, but with ${run.code} instead of ${scenario.expectedCode}: ${run.message}`);
    else if (scenario.expectedFinding && !run.message?.includes(scenario.expectedFinding)) problems.push(`blocked, but not for ${scenario.expectedFinding}: ${run.message}`);
  }
  return run.ok ? 'bypassed' : 'blocked';
}

/** A user's program reports nothing structured: its exit status and stderr are all the lab sees. */
function userOutcome(output: ChildOutput): Omit<ClientRun, 'attackerBytes' | 'secretCaptured'> {
  const lastLine = output.stderr.trim().split('\n').filter(Boolean).pop();
  const code = /\b(ERR_[A-Z0-9_]+)\b/.exec(output.stderr)?.[1];
  return { ok: output.exitCode === 0, ...(code ? { code } : output.exitCode === 0 ? {} : { code: `EXIT_${output.exitCode}` }), ...(lastLine ? { message: lastLine } : {}), reports: [] };
}

/** The attacker's side of a socket can still be reading when the client process exits. */
async function settle(attacker: Attacker): Promise<void> {
  let last = -1;
  for (let i = 0; i < 20 && attacker.applicationBytes !== last; i++) {
    last = attacker.applicationBytes;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function selectScenarios(only: string[] | undefined): Scenario[] {
  if (!only || only.length === 0) return [...SCENARIOS];
  const unknown = only.filter((id) => !SCENARIOS.some((scenario) => scenario.id === id));
  if (unknown.length) {
    throw new WirelockError('ERR_USAGE', `unknown scenario ${unknown.map((id) => `"${id}"`).join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  }
  return SCENARIOS.filter((scenario) => only.includes(scenario.id));
}

async function mapConcurrently<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

export const SCENARIO_IDS: readonly string[] = SCENARIOS.map((scenario) => scenario.id);
