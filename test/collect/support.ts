// Helpers for the collector tests: real collectors on loopback, real HTTP, report bodies as devices send them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IssuedChain } from '../../src/lab/pki.js';
import { toPem, certificatePin } from '../../src/x509/certificate.js';

export function tempDir(prefix = 'wirelock-collect-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(`${url}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}

export async function get(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(`${url}${path}`, { headers });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** The field names and value shapes of TrustKit's TSKPinFailureReport (iOS) as it POSTs them. */
export function trustKitReport(chain: IssuedChain, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'app-bundle-id': 'com.example.payments',
    'app-version': '4.2.0',
    'app-platform': 'IOS',
    'app-platform-version': '18.1.0',
    'app-vendor-id': 'A1B2C3D4-0000-4000-8000-000000000001',
    'trustkit-version': '3.0.5',
    'date-time': '2026-11-30T10:00:00Z',
    hostname: 'api.example.com',
    port: 443,
    'noted-hostname': 'example.com',
    'include-subdomains': true,
    'enforce-pinning': false,
    'validated-certificate-chain': [toPem(chain.leaf.der), toPem(chain.intermediate.der), toPem(chain.root.der)],
    'known-pins': [`pin-sha256="${certificatePin(chain.intermediate.der).slice(7)}"`, 'pin-sha256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="'],
    'validation-result': 1,
    'known-pins-expiration-date': null,
    ...overrides,
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';

/** `wirelock collect` as a real process (the built CLI), resolved once it prints where it listens. */
export async function spawnCollector(args: string[]): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; output(): string }> {
  const child = spawn(process.execPath, ['dist/cli/main.js', 'collect', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited (${code}) before listening:\n${output}`));
    });
  });
  return { child, url, exited, output: () => output };
}

/**
 * Streams unique reports at a collector from several concurrent senders, SIGKILLs it once `killAfter`
 * have been acknowledged, and returns the ids of every acknowledged report.
 */
export async function streamThenKill(url: string, child: ChildProcess, killAfter: number, chain: IssuedChain): Promise<Set<string>> {
  const acked = new Set<string>();
  let next = 0;
  let killed = false;
  async function sender(): Promise<void> {
    while (!killed || next < killAfter * 4) {
      const id = `durable-${next++}`;
      try {
        const response = await post(url, trustKitReport(chain, { hostname: 'durable.example.com', 'app-vendor-id': id }));
        if (response.status === 202) acked.add(id);
      } catch {
        return; // the collector is gone: connection refused or reset
      }
      if (!killed && acked.size >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
  }
  await Promise.all([sender(), sender(), sender(), sender()]);
  return acked;
}

export interface PostgresServer {
  url: string;
  /** Runs one SQL statement as the superuser on the `collect` database (e.g. `create database ...`). */
  admin(sql: string): Promise<void>;
  postmasterPid(): number;
  stop(): void;
}

/**
 * A real PostgreSQL server (Debian's postgresql package) in a temp folder, on a free port, for one test file.
 * `settings` are server parameters (`-c name=value`); fsync and synchronous_commit stay on whatever is given.
 */
export async function startPostgres(settings: Record<string, string> = {}): Promise<PostgresServer> {
  const versions = readdirSync('/usr/lib/postgresql').sort();
  const bin = `/usr/lib/postgresql/${versions[versions.length - 1]}/bin`;
  const dir = tempDir('wirelock-pg-');
  chmodSync(dir, 0o777);
  const asPostgres = (command: string[]) => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...command] : command);
  const run = (command: string[]) => {
    const [file, ...args] = asPostgres(command);
    const result = spawnSync(file!, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command.join(' ')} failed: ${result.stderr}${result.stdout}`);
  };
  run([`${bin}/initdb`, '-D', `${dir}/data`, '-U', 'wirelock', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const options = Object.entries({ ...settings, fsync: 'on', synchronous_commit: 'on' }).map(([name, value]) => `-c ${name}=${value}`).join(' ');
  run([`${bin}/pg_ctl`, '-D', `${dir}/data`, '-l', `${dir}/log`, '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ${options}`, 'start']);
  run([`${bin}/createdb`, '-h', '127.0.0.1', '-p', String(port), '-U', 'wirelock', 'collect']);
  return {
    url: `postgres://wirelock@127.0.0.1:${port}/collect`,
    async admin(sql) {
      run([`${bin}/psql`, '-h', '127.0.0.1', '-p', String(port), '-U', 'wirelock', '-d', 'collect', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    },
    postmasterPid: () => Number(readFileSync(`${dir}/data/postmaster.pid`, 'utf8').split('\n')[0]),
    stop: () => run([`${bin}/pg_ctl`, '-D', `${dir}/data`, '-m', 'immediate', 'stop']),
  };
}

/**
 * The durability experiment on one store: a collector process is SIGKILLed in the middle of a stream of
 * reports, a new one starts on the same store, and every report the first acknowledged must be there.
 * Returns the acknowledged ids and the ids missing after the restart (the test asserts it is empty).
 */
export async function killDuringIngest(db: string, killAfter: number, chain: IssuedChain): Promise<{ acked: Set<string>; lost: string[]; killed: boolean }> {
  const first = await spawnCollector(['--db', db]);
  const acked = await streamThenKill(first.url, first.child, killAfter, chain);
  const killed = (await first.exited) === null;
  const second = await spawnCollector(['--db', db]);
  try {
    const { text } = await get(second.url, '/api/reports?host=durable.example.com&limit=1000');
    const stored = new Set(JSON.parse(text).reports.map((r: { clientId: string }) => r.clientId));
    return { acked, lost: [...acked].filter((id) => !stored.has(id)), killed };
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
}
