import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WirelockError } from '../errors.js';
import { canConnect, freePort } from './ports.js';
import type { LabContext } from './scenarios.js';

/**
 * tinyproxy (Debian package `tinyproxy`) as the corporate CONNECT proxy nobody on this team wrote:
 * a real forward proxy that relays CONNECT tunnels and logs each one, optionally with Basic auth.
 */
export interface Tinyproxy {
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly port: number;
  /** The CONNECT targets tinyproxy logged (host:port), in order. */
  connects(): string[];
}

export async function startTinyproxy(lab: Pick<LabContext, 'dir' | 'onClose'>, name: string, options: { basicAuth?: { user: string; password: string } } = {}): Promise<Tinyproxy> {
  const port = await freePort();
  const logFile = join(lab.dir, `tinyproxy-${name}.log`);
  const config = join(lab.dir, `tinyproxy-${name}.conf`);
  writeFileSync(logFile, '');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 30',
      'MaxClients 50',
      'Allow 127.0.0.1',
      // No ConnectPort line: CONNECT is allowed to every port (the lab's origins use ephemeral ones).
      'LogLevel Connect',
      `LogFile "${logFile}"`,
      `PidFile "${join(lab.dir, `tinyproxy-${name}.pid`)}"`,
      ...(options.basicAuth ? [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`] : []),
      '',
    ].join('\n'),
  );
  // -d: stay in the foreground, so the lab owns the process and stops it.
  const child = spawn('tinyproxy', ['-d', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  lab.onClose(async () => {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new WirelockError('ERR_LAB', `tinyproxy did not start (${child.exitCode !== null ? `exit ${child.exitCode}` : 'timeout'}): ${output.trim().slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connects() {
      if (!existsSync(logFile)) return [];
      return [...readFileSync(logFile, 'utf8').matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((match) => match[1]!);
    },
  };
}
