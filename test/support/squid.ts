// squid (Debian package `squid`) as a second real corporate CONNECT proxy for the system suite:
// foreground (-N), memory only, loopback clients allowed, its access log read back.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from '../../src/lab/ports.js';

export interface Squid {
  readonly url: string;
  /** CONNECT targets (host:port) squid logged. */
  connects(): string[];
  stop(): Promise<void>;
}

export async function startSquid(): Promise<Squid> {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-squid-'));
  // Started as root, squid drops to its own user, which must be able to write its logs here.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const accessLog = join(dir, 'access.log');
  writeFileSync(
    join(dir, 'squid.conf'),
    [
      `http_port 127.0.0.1:${port}`,
      `pid_filename ${join(dir, 'squid.pid')}`,
      `cache_log ${join(dir, 'cache.log')}`,
      `access_log stdio:${accessLog}`,
      `coredump_dir ${dir}`,
      'cache deny all',
      'pinger_enable off',
      'visible_hostname wirelock-test',
      'shutdown_lifetime 0 seconds',
      // No SSL_ports rule: the test origins listen on ephemeral ports.
      'http_access allow localhost',
      'http_access deny all',
      '',
    ].join('\n'),
  );
  const child = spawn('squid', ['-N', '-f', join(dir, 'squid.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`squid did not start: ${output.trim().slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    connects: () => (existsSync(accessLog) ? [...readFileSync(accessLog, 'utf8').matchAll(/ CONNECT (\S+) /g)].map((match) => match[1]!) : []),
    stop,
  };
}
