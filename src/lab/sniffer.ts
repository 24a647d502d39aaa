import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WirelockError } from '../errors.js';
import type { Attacker, LabContext } from './scenarios.js';

/**
 * A passive attacker: `tcpdump` (Debian package tcpdump) records the loopback traffic to one port
 * while the client leaks its TLS session keys to a key log; Wireshark's `tshark` (package tshark)
 * then decrypts the capture with that key log. What tshark can read of the TLS streams is what the
 * attacker got; neither program was written here.
 */
export interface Sniffer extends Attacker {
  /** The key log file the client is made to write (NSS key log format). */
  readonly keyLogFile: string;
  /** tcpdump's capture file. */
  readonly captureFile: string;
}

/** Streams tshark is asked to follow per analysis; a scenario opens a handful of connections at most. */
const FOLLOWED_STREAMS = 16;

function runTool(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve({ code: null, stdout, stderr: stderr + String(error) }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Decrypted application data of every TLS stream in `captureFile`, as tshark's "follow tls" shows
 * it (hex lines, both directions). Empty when there is nothing to decrypt with.
 */
export async function decryptCapture(captureFile: string, keyLogFile: string, port: number): Promise<Buffer> {
  const follow = Array.from({ length: FOLLOWED_STREAMS }, (_, stream) => ['-z', `follow,tls,raw,${stream}`]).flat();
  const result = await runTool('tshark', ['-n', '-r', captureFile, '-o', `tls.keylog_file:${keyLogFile}`, '-d', `tcp.port==${port},tls`, '-q', ...follow]);
  if (result.code !== 0) throw new WirelockError('ERR_LAB', `tshark could not read the capture (exit ${result.code}): ${result.stderr.trim().slice(-500)}`);
  const chunks = result.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^[0-9a-f]+$/i.test(line) && line.length % 2 === 0)
    .map((line) => Buffer.from(line, 'hex'));
  return Buffer.concat(chunks);
}

export async function startSniffer(lab: LabContext, port: number, name: string): Promise<Sniffer> {
  const captureFile = join(lab.dir, `sniff-${name}.pcap`);
  const keyLogFile = join(lab.dir, `sniff-${name}.keys`);
  // tshark must find the file even when the client never wrote a key (nothing to decrypt with).
  writeFileSync(keyLogFile, '');
  // -U: every packet reaches the file as it is captured, so tshark can read it while tcpdump runs;
  // --immediate-mode: the kernel hands packets over at once instead of in blocks (up to a second late
  // on Linux), which on an idle machine would leave the control's packets out of the capture read.
  const child = spawn('tcpdump', ['-i', 'lo', '-U', '--immediate-mode', '-n', '-w', captureFile, `tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new WirelockError('ERR_LAB', `tcpdump did not start (exit ${code}): ${output.trim().slice(-500)}`)));
    child.once('error', (error) => reject(new WirelockError('ERR_LAB', `tcpdump did not start: ${error.message}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  lab.onClose(async () => {
    child.kill('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await listening;

  let decrypted: Buffer = Buffer.alloc(0);
  let keysAnalysed = '';
  return {
    captureFile,
    keyLogFile,
    get connections() {
      return 0;
    },
    get applicationBytes() {
      return decrypted.length;
    },
    get captured() {
      return decrypted.toString('latin1');
    },
    async observe() {
      // tcpdump writes each packet as it sees it; give the last segments of the connection a moment.
      await new Promise((resolve) => setTimeout(resolve, 150));
      // Every TLS connection logs its own secrets: with no new key and no new packet there is nothing
      // new to decrypt, so tshark (the costliest step of a run) is skipped. A late packet or key (a
      // fast machine reads the capture before the last segments land) is read on the next look.
      if (!existsSync(captureFile)) return;
      const seen = `${statSync(keyLogFile).size}:${statSync(captureFile).size}`;
      if (seen === keysAnalysed) return;
      decrypted = await decryptCapture(captureFile, keyLogFile, port);
      keysAnalysed = seen;
    },
  };
}
