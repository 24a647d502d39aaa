import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { issueChain } from '../../src/x509/issue.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const FIXTURES = join(ROOT, 'test/fixtures/runtime');
export const APP = join(FIXTURES, 'app.mjs');
export const REGISTER = join(ROOT, 'dist/runtime/register.js');
export const attack = (name: string): string => join(FIXTURES, 'attacks', name);
export const benign = (name: string): string => join(FIXTURES, 'benign', name);

/**
 * The lab of one test file: started before its first test, closed after its last. Its fields are
 * read inside tests only (before that the lab does not exist yet, and reading one throws).
 */
export function labForThisFile(): Lab {
  let lab: Lab | undefined;
  before(async () => {
    lab = await startLab();
  });
  after(async () => {
    await lab?.close();
  });
  return new Proxy({} as Lab, {
    get(_target, key) {
      if (!lab) throw new Error('the runtime lab is read before it started (outside a test)');
      return lab[key as keyof Lab];
    },
  });
}

/** Per-run PKI and loopback servers: the legitimate origin, a C2, and a MITM with a rogue CA. */
export interface Lab {
  dir: string;
  legit: ReturnType<typeof issueChain>;
  rogue: ReturnType<typeof issueChain>;
  legitRootFile: string;
  origin: CountingServer;
  c2: CountingServer;
  mitm: CountingServer;
  /** Base environment for the app: where the C2 is, the secret, the origin. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Lockdown policy: the origin is listed with the legit root as anchor; everything else blocked. */
  policy: Record<string, unknown>;
  reset(): void;
  close(): Promise<void>;
}

export async function startLab(): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-runtime-'));
  const legit = issueChain({ hostnames: ['127.0.0.1', '127.0.0.2', 'localhost'], rootName: 'Runtime Legit Root' });
  const rogue = issueChain({ hostnames: ['127.0.0.1', '127.0.0.2', 'localhost'], rootName: 'Runtime Rogue Root' });
  const legitRootFile = join(dir, 'legit-root.pem');
  writeFileSync(legitRootFile, legit.root.pem);
  const origin = await startCountingServer({ cert: legit.leaf.pem + legit.intermediate.pem, key: legit.leaf.keyPem, host: '127.0.0.1' });
  const mitm = await startCountingServer({ cert: rogue.leaf.pem + rogue.intermediate.pem, key: rogue.leaf.keyPem, host: '127.0.0.2' });
  const c2 = await startCountingServer({ host: '127.0.0.2' });
  const policy = {
    version: 1,
    unlistedHosts: 'block',
    trustAnchors: [legit.root.pem],
    // The C2 and the MITM listen on 127.0.0.2, which the policy does not list.
    domains: { '127.0.0.1': {} },
  };
  return {
    dir,
    legit,
    rogue,
    legitRootFile,
    origin,
    c2,
    mitm,
    policy,
    env(extra = {}) {
      return { C2_PORT: String(c2.port), C2_HOST: '127.0.0.2', SECRET: 'TOP-SECRET-BODY-4711', TARGET_URL: origin.url('127.0.0.1', '/api'), POLICY_JSON: JSON.stringify(policy), ...extra };
    },
    reset() {
      origin.reset();
      c2.reset();
      mitm.reset();
    },
    async close() {
      await Promise.all([origin.close(), c2.close(), mitm.close()]);
    },
  };
}

export interface AppFinding {
  key: string;
  severity: string;
  allowedBy?: string;
  evidence: Record<string, unknown>;
}
export interface AppResult {
  outcome?: { ok: boolean; status?: number; body?: string; code?: string; message?: string; finding?: string };
  dependency: Record<string, unknown>;
  inspectorUrl: string | null;
  limits: string[] | null;
  exfilError: string | null;
  findings: AppFinding[];
  stderr: string;
}

/**
 * Runs the fixture app in a fresh process with exactly the given environment (plus PATH/HOME):
 * this shell's NODE_EXTRA_CA_CERTS, SSL_CERT_* and proxies must not leak into the experiment.
 */
export async function runApp(options: { flags?: string[]; env?: Record<string, string>; node?: string; cwd?: string; script?: string; wrapper?: string[] }): Promise<AppResult> {
  // RUNTIME_CHILD_NODE runs every child on another Node (e.g. 24) from the same test run.
  const node = options.node ?? process.env.RUNTIME_CHILD_NODE ?? process.execPath;
  const command = options.wrapper ? options.wrapper[0]! : node;
  const args = [...(options.wrapper ? [...options.wrapper.slice(1), node] : []), ...(options.flags ?? []), options.script ?? APP];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...(options.env ?? {}) };
  // RUNTIME_CHILD_FREEZE=1 runs every in-process lockdown with freeze: true (measuring what it breaks).
  if (process.env.RUNTIME_CHILD_FREEZE && env.LOCKDOWN) env.FREEZE = '1';
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd ?? ROOT, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ ...(JSON.parse(line) as Omit<AppResult, 'stderr'>), stderr });
      } catch {
        reject(new Error(`app did not report (exit ${error?.code ?? 0}):\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}

export function keys(result: AppResult, minimum: 'info' | 'low' | 'medium' | 'high' | 'critical' = 'info'): string[] {
  const order = ['info', 'low', 'medium', 'high', 'critical'];
  return result.findings.filter((finding) => order.indexOf(finding.severity) >= order.indexOf(minimum)).map((finding) => finding.key);
}

/**
 * The running Node when it has tls.setDefaultCACertificates (Node >= 22.19 / 24), else undefined: each
 * leg of `.ci/run` (Node 20 and Node 24) tests its own Node, never a binary at a fixed path.
 */
export async function nodeWithSetDefaultCas(): Promise<string | undefined> {
  const tls = await import('node:tls');
  return 'setDefaultCACertificates' in tls ? process.execPath : undefined;
}

/** A DNS response to `query`: same id and question, QR and RA set, RCODE 3 (no such name). */
function nxdomain(query: Buffer): Buffer {
  let end = 12;
  while (end < query.length && query[end] !== 0) end += query[end]! + 1;
  const reply = Buffer.from(query.subarray(0, Math.min(end + 5, query.length)));
  reply[2] = 0x80 | (query[2]! & 0x01);
  reply[3] = 0x83;
  reply.writeUInt16BE(1, 4);
  reply.fill(0, 6, 12);
  return reply;
}

/**
 * A loopback name server that records every query and answers NXDOMAIN at once (an attacker's has
 * the data by then), so an unprotected control does not wait out c-ares' timeouts (5 s x 4 tries).
 */
export async function nameServer(host: string): Promise<{ socket: dgram.Socket; queries: Buffer[]; address: string }> {
  const socket = dgram.createSocket('udp4');
  const queries: Buffer[] = [];
  socket.on('message', (message, from) => {
    queries.push(message);
    socket.send(nxdomain(message), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return { socket, queries, address: `${host}:${socket.address().port}` };
}
