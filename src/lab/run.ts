import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WirelockError } from '../errors.js';
import { codeExtension, codeRoot } from '../location.js';
import { createTestLog, issueWithScts, writeLogListFiles } from '../ct/testlog.js';
import { PROXY_VARIABLES } from '../runtime/inspect.js';
import { createLabPki, PINNED_NAME, type LabPki } from './pki.js';
import { SCENARIOS, type Attacker, type LabContext, type Scenario, type StagedAttack } from './scenarios.js';
import { startCountingServer, type CountingServer } from './servers.js';

export type PolicyMode = 'enforce' | 'report-only';

export interface LabOptions {
  /** Scenario ids to run; all when empty. */
  scenarios?: string[];
  /** A shell command to attack instead of wirelock's own client. */
  client?: string;
  /**
   * Rewrites a lab policy before it is written (tests of the lab itself: a wirelock that refuses
   * everything must fail the legitimate-origin control, not pass as "blocked").
   */
  transformPolicy?: (name: PolicyName, policy: object) => object;
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

/**
 * The subject run against the legitimate server with no attack, in the same configuration (policy,
 * client settings, host name): a client that reaches no one is never intercepted, so without this
 * a "blocked" proves nothing.
 */
export interface OriginControl {
  /** The URL called: the lab's legitimate server. */
  url: string;
  /** The secret arrived at the legitimate server. */
  reached: boolean;
  ok: boolean;
  code?: string;
  message?: string;
  exitCode?: number | null;
  /** The subject's own output (--client), for the explanation. */
  output?: string;
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
  /** The subject against the legitimate server with no attack; undefined when the scenario did not run. */
  originControl?: OriginControl;
  /** unproven: the subject never reached the legitimate server either, so not being intercepted proves nothing. */
  verdict: 'blocked' | 'bypassed' | 'allowed-with-report' | 'delivered' | 'leaked' | 'unexpected' | 'unavailable' | 'unproven';
  pass: boolean;
  /** Why the scenario failed, when it did. */
  problems: string[];
  /** How to fix what failed, when the lab can tell. */
  hints: string[];
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
  /** Scenarios whose subject never reached the legitimate server: no verdict. */
  unproven: string[];
}

export type PolicyName = NonNullable<StagedAttack['policy']>;

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
  const compiled = fileURLToPath(new URL('lab/client.js', codeRoot));
  if (codeExtension === '.js' && existsSync(compiled)) return { command: process.execPath, args: [compiled] };
  // Running from source (tests through tsx): the client is TypeScript too.
  return { command: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('lab/client.ts', codeRoot))] };
}

export function isOnPath(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

function labPolicies(pki: LabPki, mode: PolicyMode, logList: { logList: string; logListKey: string }): Record<PolicyName, object> {
  const base = { version: 1, mode, trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem] };
  const pins = [pki.legitPin, pki.backupPin];
  return {
    ct: { ...base, domains: { '127.0.0.1': { certificateTransparency: { enforce: true, policy: 'chrome', ...logList } } } },
    lab: { ...base, domains: { '127.0.0.1': { pins }, [PINNED_NAME]: { pins } } },
    // The lab policy, routed through whatever proxy HTTPS_PROXY names when the client starts.
    'proxy-env': { ...base, proxy: 'env', domains: { '127.0.0.1': { pins } } },
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

/**
 * Runs a client; with `hostsFile`, inside its own mount namespace where that file is /etc/hosts, so
 * the system resolver (any client: Node, curl, Python) answers what the attacker chose for that
 * process only.
 */
function runChild(command: string, args: string[], env: NodeJS.ProcessEnv, shell: boolean, hostsFile?: string): Promise<ChildOutput> {
  if (hostsFile) {
    // sh -c SCRIPT $0 $1...: the hosts file is $0, the client's command line is "$@".
    const exec = shell ? 'exec sh -c "$1"' : 'exec "$@"';
    return runChild('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', `mount --bind "$0" /etc/hosts && ${exec}`, hostsFile, command, ...args], env, false);
  }
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
  const selected = selectScenarios(options.scenarios);
  const { lab, close } = openLab();
  const { pki, dir } = lab;
  const { logList, logListKey } = writeLogListFiles(join(dir, 'ct'), lab.ctLogs.listed);
  const policies = labPolicies(pki, policyMode, { logList, logListKey });
  const policyFiles = Object.fromEntries(
    Object.entries(policies).map(([name, policy]) => {
      const file = join(dir, `${name}.wirelock.json`);
      writeFileSync(file, JSON.stringify(options.transformPolicy ? options.transformPolicy(name as PolicyName, policy) : policy, null, 2));
      return [name, file];
    }),
  ) as Record<PolicyName, string>;
  // What a non-Node client needs to trust the legitimate server the way a policy does.
  const trustAnchorFile = lab.caFile('legitimate-ca', pki.legit.root.pem);

  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED_BLOCKLIST) delete baseEnv[name];
  // The lab's own per-run variables (a lab started from a --client run has them all): a leftover
  // WIRELOCK_LAB_LOCKDOWN or _DEPENDENCY would change every scenario it does not set itself.
  for (const name of Object.keys(baseEnv)) if (name.startsWith('WIRELOCK_LAB_')) delete baseEnv[name];
  const client = builtinClient();
  const side: 'wirelock' | 'user' = options.client ? 'user' : 'wirelock';
  const hostsFiles = new Map<string, string>();

  function hostsFileFor(hosts: Record<string, string>): string {
    const content = ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(hosts).map(([name, address]) => `${address} ${name}`)].join('\n') + '\n';
    let file = hostsFiles.get(content);
    if (!file) {
      file = join(dir, `hosts-${hostsFiles.size + 1}`);
      writeFileSync(file, content);
      hostsFiles.set(content, file);
    }
    return file;
  }

  async function attack(staged: StagedAttack, runSide: 'plain' | 'wirelock' | 'user', label: string): Promise<ClientRun & { output: ChildOutput; secret: string }> {
    const secret = `wl-secret-${label}-${runSide}-${randomBytes(6).toString('hex')}`;
    const host = urlHost(staged.url);
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      // Node >= 22.1 keeps the compiled code of the lab's client here, so its later starts skip compiling
      // wirelock's modules (ignored by Node 20). Never for the user's program: its environment is its own.
      ...(runSide === 'user' ? {} : { NODE_OPTIONS: '', NODE_COMPILE_CACHE: join(dir, 'compile-cache') }),
      ...staged.env,
      WIRELOCK_LAB_URL: staged.url,
      WIRELOCK_LAB_SECRET: secret,
      WIRELOCK_POLICY: policyFiles[staged.policy ?? 'lab'],
      WIRELOCK_LAB_SIDE: runSide,
      WIRELOCK_LAB_WEAKNESS: staged.weakness ?? 'none',
      ...(staged.lockdown ? { WIRELOCK_LAB_LOCKDOWN: '1' } : {}),
      ...(staged.dependency ? { WIRELOCK_LAB_DEPENDENCY: staged.dependency } : {}),
      ...(staged.api ? { WIRELOCK_LAB_API: staged.api } : {}),
      ...(staged.headers ? { WIRELOCK_LAB_HEADERS: JSON.stringify(staged.headers) } : {}),
      // For programs that cannot read a policy (curl, Python, a mobile build): the legitimate
      // trust anchor and the pins the policy holds for this host.
      ...(runSide === 'user' ? { WIRELOCK_LAB_CA: trustAnchorFile, WIRELOCK_LAB_PINS: policyPins(policies[staged.policy ?? 'lab'], host).join(',') } : {}),
    };
    const hostsFile = staged.hosts ? hostsFileFor(staged.hosts) : undefined;
    const bytesBefore = staged.attacker.applicationBytes;
    const output = runSide === 'user' ? await runChild(options.client!, [], env, true, hostsFile) : await runChild(client.command, client.args, env, false, hostsFile);
    if (staged.attacker.observe) await staged.attacker.observe();
    else await settle(staged.attacker);
    const outcome = runSide === 'user' ? userOutcome(output) : parseOutcome(output);
    return {
      ...outcome,
      attackerBytes: staged.attacker.applicationBytes - bytesBefore,
      secretCaptured: staged.attacker.captured.includes(secret),
      ...(runSide === 'user' ? { exitCode: output.exitCode, stderr: output.stderr.slice(-2000) } : {}),
      output,
      secret,
    };
  }

  // The legitimate servers, one per policy kind, shared by every origin control of the run.
  const origins = new Map<PolicyName, Promise<CountingServer>>();
  function originFor(policy: PolicyName): Promise<CountingServer> {
    let origin = origins.get(policy);
    if (!origin) {
      if (policy === 'ct') {
        // The CT policy needs a certificate logged in the listed logs, as a real deployment's is.
        const issued = issueWithScts({ issuer: pki.legit.intermediate, hostnames: ['127.0.0.1', 'localhost', PINNED_NAME], logs: lab.ctLogs.listed });
        origin = lab.startServer({ cert: `${issued.chainPem}`, key: issued.certificate.keyPem });
      } else origin = lab.startServer(pki.serverOptions(pki.legit));
      origins.set(policy, origin);
    }
    return origin;
  }

  const controls = new Map<string, Promise<OriginControl>>();
  /** The subject's configuration without the attack: same policy, client settings and host name. */
  function originControl(staged: StagedAttack): Promise<OriginControl> {
    const policy = staged.policy ?? 'lab';
    const host = urlHost(staged.url);
    const key = JSON.stringify(side === 'user' ? [policy, host] : [policy, host, staged.weakness ?? 'none', staged.lockdown ?? false, staged.api ?? 'fetch']);
    let control = controls.get(key);
    if (!control) {
      control = (async () => {
        const origin = await originFor(policy);
        const url = `https://${host.includes(':') ? `[${host}]` : host}:${origin.port}/pay`;
        const legitimate: StagedAttack = {
          url,
          attacker: origin,
          env: { NODE_EXTRA_CA_CERTS: lab.caFile('trust-store', pki.legit.root.pem) },
          policy,
          ...(staged.weakness ? { weakness: staged.weakness } : {}),
          ...(staged.lockdown ? { lockdown: true } : {}),
          ...(staged.api ? { api: staged.api } : {}),
          ...(isIP(host) === 0 && host !== 'localhost' ? { hosts: { [host]: origin.host } } : {}),
        };
        const run = await attack(legitimate, side, `origin-${controls.size}`);
        const reached = origin.requests.some((request) => request.body.includes(run.secret));
        return {
          url,
          reached,
          ok: run.ok,
          ...(run.code ? { code: run.code } : {}),
          ...(run.message ? { message: run.message } : {}),
          ...(side === 'user' ? { exitCode: run.output.exitCode, output: childOutputTail(run.output) } : {}),
        };
      })();
      controls.set(key, control);
    }
    return control;
  }

  async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
    const scenarioStart = performance.now();
    const base = { id: scenario.id, title: scenario.title, attack: scenario.attack, expect: scenario.expect, ...(scenario.expectedCode ? { expectedCode: scenario.expectedCode } : {}) };
    const missing = unavailableReason(scenario);
    if (missing) return { ...base, verdict: 'unavailable', pass: true, problems: [missing], hints: [], wallMs: performance.now() - scenarioStart };
    if (options.client && scenario.builtinClientOnly) {
      return { ...base, verdict: 'unavailable', pass: true, problems: [`not applicable to --client: ${scenario.builtinClientOnly}`], hints: [], wallMs: performance.now() - scenarioStart };
    }
    options.onEvent?.({ type: 'start', scenario });
    const problems: string[] = [];
    let staged: StagedAttack;
    try {
      staged = await scenario.stage(lab);
    } catch (error) {
      problems.push(`could not stage the attack: ${(error as Error).message}`);
      return { ...base, verdict: 'unexpected', pass: false, problems, hints: [], wallMs: performance.now() - scenarioStart };
    }
    // The origin control runs beside the attack: it shares nothing with it but the configuration.
    const origin = originControl(staged);
    let control: ScenarioResult['control'];
    if (scenario.control !== undefined) {
      const { output: _output, secret: _secret, ...run } = await attack(staged, 'plain', scenario.id);
      control = { ...run, configuration: scenario.control, intercepted: run.secretCaptured };
      if (!run.secretCaptured) problems.push(`positive control not intercepted: the plain client's secret never reached the attacker (${run.code ?? 'request completed'}${run.message ? `: ${run.message}` : ''}), so this attack proves nothing`);
    }
    const { output: _output, secret: _secret, ...run } = await attack(staged, side, scenario.id);
    const subject = { ...run, name: options.client ?? 'wirelock' };
    const originControlResult = await origin;
    let verdict = judge(scenario, subject, side, problems);
    const hints: string[] = [];
    if (!originControlResult.reached && verdict !== 'leaked') {
      // Not being intercepted means nothing for a client that reaches no one.
      verdict = 'unproven';
      // Whatever the attacked run did (refused with some code) is not evidence: only this is said.
      const positiveControl = problems.filter((problem) => problem.startsWith('positive control'));
      problems.splice(0, problems.length, `${side === 'user' ? 'your client' : 'wirelock'} never reached the legitimate server (no attack running: ${originControlResult.code ?? 'the request completed but the secret did not arrive'}), so nothing was proved`, ...positiveControl);
      hints.push(originHint(side, originControlResult));
    } else if (problems.length && scenario.fixHint && (verdict === 'leaked' || verdict === 'bypassed')) hints.push(scenario.fixHint);
    return { ...base, ...(control ? { control } : {}), subject, originControl: originControlResult, verdict, pass: problems.length === 0, problems, hints, wallMs: performance.now() - scenarioStart };
  }

  try {
    // Scenarios that start external programs (mitmproxy, tcpdump) take longest: start them first.
    const order = [...selected].sort((a, b) => Number(Boolean(b.requires?.length)) - Number(Boolean(a.requires?.length)));
    const done = await mapConcurrently(order, options.concurrency ?? 4, async (scenario) => {
      const result = await runScenario(scenario);
      options.onEvent?.({ type: 'done', result });
      return result;
    });
    const results = selected.map((scenario) => done[order.indexOf(scenario)]!);
    const failed = results.filter((result) => !result.pass).map((result) => result.id);
    return {
      ok: failed.length === 0,
      wallMs: performance.now() - started,
      policyMode,
      client: options.client ?? null,
      node: process.version,
      scenarios: results,
      failed,
      unproven: results.filter((result) => result.verdict === 'unproven').map((result) => result.id),
    };
  } finally {
    await close();
  }
}

function urlHost(url: string): string {
  const hostname = new URL(url).hostname;
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

/** The pins a lab policy holds for `host` (none: the host is not pinned). */
function policyPins(policy: object, host: string): string[] {
  const domains = (policy as { domains?: Record<string, { pins?: string[] }> }).domains ?? {};
  return domains[host]?.pins ?? [];
}

function childOutputTail(output: ChildOutput): string {
  return [output.stdout.trim(), output.stderr.trim()].filter(Boolean).join('\n').slice(-1500);
}

/** What to do when the subject could not reach the legitimate server. */
function originHint(side: 'wirelock' | 'user', control: OriginControl): string {
  if (side === 'wirelock') {
    return `wirelock refused the lab's own server (${control.code ?? 'no request arrived'}${control.message ? `: ${control.message}` : ''}): the policy or the build under test refuses legitimate connections, so its refusals of the attacks mean nothing`;
  }
  const text = `${control.message ?? ''}\n${control.output ?? ''}`;
  if (control.exitCode === 60 || /certificate|issuer|self.signed|CERT_/i.test(text)) {
    return 'your client refused the legitimate server\'s certificate: trust the lab\'s CA, e.g. curl --cacert "$WIRELOCK_LAB_CA", Python requests verify=os.environ["WIRELOCK_LAB_CA"], a wirelock app loadPolicy(process.env.WIRELOCK_POLICY)';
  }
  return 'your client must POST the value of $WIRELOCK_LAB_SECRET in the request body to $WIRELOCK_LAB_URL, trusting the lab\'s CA ($WIRELOCK_LAB_CA, or the policy in $WIRELOCK_POLICY), and exit 0 when the request succeeded';
}

let mountNamespaces: boolean | undefined;

/** Why a scenario cannot run on this machine, or undefined when it can. */
function unavailableReason(scenario: Scenario): string | undefined {
  const missing = (scenario.requires ?? []).filter((program) => !isOnPath(program));
  if (missing.length) return `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not installed`;
  if (scenario.privilege === 'capture' && process.getuid?.() !== 0) return 'capturing loopback traffic needs root (or CAP_NET_RAW for tcpdump)';
  if (scenario.privilege === 'mount-namespace') {
    mountNamespaces ??= spawnSync('unshare', ['--mount', '--', 'true'], { stdio: 'ignore' }).status === 0;
    if (!mountNamespaces) return 'needs a private mount namespace (unshare --mount: root or user namespaces) to give its clients their own /etc/hosts';
  }
  return undefined;
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

export function selectScenarios(ids: string[] | undefined): Scenario[] {
  if (!ids || ids.length === 0) return [...SCENARIOS];
  const unknown = ids.filter((id) => !SCENARIOS.some((scenario) => scenario.id === id));
  if (unknown.length) {
    throw new WirelockError('ERR_USAGE', `unknown scenario ${unknown.map((id) => `"${id}"`).join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  }
  return SCENARIOS.filter((scenario) => ids.includes(scenario.id));
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
