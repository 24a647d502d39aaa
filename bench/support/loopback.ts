import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request, type Dispatcher } from 'undici';

/** A TLS server in its own process, so the client under test does not share an event loop with it. */
export async function startTlsServerProcess(cert: string, key: string): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./tls-server.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.write(`${JSON.stringify({ cert, key })}\n`);
  const [data] = (await once(child.stdout, 'data')) as [Buffer];
  return { port: Number(data.toString().trim()), stop: () => child.stdin.end() };
}

/** Milliseconds for one GET; `reset` closes the connection afterwards, so the next one is new. */
export async function timeRequest(url: string, dispatcher: Dispatcher, reset = true): Promise<number> {
  const start = process.hrtime.bigint();
  const response = await request(url, { dispatcher, reset });
  await response.body.text();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
