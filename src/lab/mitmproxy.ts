import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WirelockError } from '../errors.js';
import { canConnect, freePort } from './ports.js';
import type { Attacker, LabContext } from './scenarios.js';

/**
 * mitmproxy (`mitmdump`, Debian package `mitmproxy`) as a real adversary nobody on this team wrote.
 * A tiny addon only records what mitmproxy decrypted, so the lab can count bytes and look for the
 * secret; the flow dump (`-w`) is kept as mitmproxy's own record.
 */
export interface Mitmproxy extends Attacker {
  /** http://127.0.0.1:port (regular mode) or https://127.0.0.1:port (reverse mode). */
  readonly url: string;
  /** mitmproxy's CA certificate (PEM), for the "user-installed CA" half of the attack. */
  readonly caFile: string;
  /** mitmproxy's own flow dump file. */
  readonly flowsFile: string;
}

const RECORDER_ADDON = `
import json
LOG = ${'${LOG}'}
def request(flow):
    raw = flow.request.raw_content or b""
    head = sum(len(k) + len(v) + 4 for k, v in flow.request.headers.fields)
    with open(LOG, "a") as out:
        out.write(json.dumps({"url": flow.request.pretty_url, "bytes": head + len(raw), "body": raw.decode("latin1")}) + "\\n")
`;

export async function startMitmproxy(lab: LabContext, mode: 'regular' | { reverseTo: string }, name: string): Promise<Mitmproxy> {
  const confdir = join(lab.dir, `mitmproxy-${name}`);
  const logFile = join(lab.dir, `mitmproxy-${name}.jsonl`);
  const flowsFile = join(lab.dir, `mitmproxy-${name}.flows`);
  const addon = join(lab.dir, `mitmproxy-${name}-recorder.py`);
  writeFileSync(addon, RECORDER_ADDON.replace('${LOG}', JSON.stringify(logFile)));
  writeFileSync(logFile, '');
  const port = await freePort();
  const args = [
    '--listen-host', '127.0.0.1',
    '--listen-port', String(port),
    '--set', `confdir=${confdir}`,
    // The lab's origin has a certificate from the lab's own CA; the attacker does not care.
    '--ssl-insecure',
    '--flow-detail', '0',
    '-w', flowsFile,
    '-s', addon,
    ...(mode === 'regular' ? [] : ['--mode', `reverse:${mode.reverseTo}`]),
  ];
  const child = spawn('mitmdump', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  lab.onClose(async () => {
    child.kill('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  const caFile = join(confdir, 'mitmproxy-ca-cert.pem');
  const deadline = Date.now() + 30_000;
  while (!(existsSync(caFile) && (await canConnect(port)))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new WirelockError('ERR_LAB', `mitmdump did not start (${child.exitCode !== null ? `exit ${child.exitCode}` : 'timeout'}): ${output.trim().slice(-500)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const records = (): Array<{ bytes: number; body: string; url: string }> =>
    readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { bytes: number; body: string; url: string });
  return {
    url: `${mode === 'regular' ? 'http' : 'https'}://127.0.0.1:${port}`,
    caFile,
    flowsFile,
    get connections() {
      return records().length;
    },
    get applicationBytes() {
      return records().reduce((sum, record) => sum + record.bytes, 0);
    },
    get captured() {
      return records().map((record) => `${record.url}\n${record.body}`).join('\n');
    },
  };
}
