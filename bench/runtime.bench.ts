// Cost of lockdown's per-connection integrity gate: new TLS connections through the lockdown
// (global dispatcher, gate + policy) against the same policy without lockdown (createDispatcher)
// and plain undici, in interleaved blocks in one run (lockdown is process-wide, so blocks toggle
// it with release()). Also the gate alone (check()) and a full re-inspection (recheck()), and what
// lockdown adds to a write on a plain TCP connection (the cleartext guard at the handle).
import net from 'node:net';
import { Agent, getGlobalDispatcher } from 'undici';
import { lockdown } from '../src/runtime/lockdown.js';
import { createDispatcher } from '../src/transport/dispatcher.js';
import { issueChain } from '../src/x509/issue.js';
import { certificatePin } from '../src/x509/certificate.js';
import { median, formatRow } from './support/stats.js';
import { startTlsServerProcess, timeRequest } from './support/loopback.js';

export async function run(): Promise<void> {
  const pki = issueChain({ hostnames: ['127.0.0.1'] });
  const server = await startTlsServerProcess(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem);
  const url = `https://127.0.0.1:${server.port}/`;
  const policy = { version: 1, trustAnchors: [pki.root.pem], domains: { '127.0.0.1': { pins: [certificatePin(pki.intermediate.der), 'sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg='] } } };
  // The bench itself runs under `--import tsx`: a preload, allow-listed by name like any dev tool.
  const options = { onTamper: 'block' as const, allow: { hookers: ['tsx'] } };
  const plain = new Agent({ connect: { ca: pki.root.pem } });
  const wirelock = createDispatcher(policy);

  const blocks = Number(process.env.BENCH_RUNTIME_BLOCKS ?? 10);
  const perBlock = Number(process.env.BENCH_RUNTIME_PER_BLOCK ?? 30);
  const latency: Record<string, number[]> = { 'undici (plain)': [], 'wirelock dispatcher': [], 'lockdown (gate + policy)': [] };
  const gate: number[] = [];
  const full: number[] = [];
  // A plain TCP sink on loopback (listed in the policy), written to in 512-byte binary chunks.
  const sink = net.createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const chunk = Buffer.alloc(512, 0x51);
  chunk[0] = 0;
  const writes: Record<string, number[]> = { plain: [], lockdown: [] };
  const timeWrites = async (into: number[] | undefined): Promise<void> => {
    const socket = net.connect((sink.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    for (let i = 0; i < 2000; i++) {
      const start = process.hrtime.bigint();
      socket.write(chunk);
      into?.push(Number(process.hrtime.bigint() - start));
    }
    await new Promise<void>((resolve) => socket.end(resolve));
  };
  for (let block = -1; block < blocks; block++) {
    // Block -1 warms up both paths and is not recorded.
    const record = block >= 0;
    for (let i = 0; i < perBlock; i++) {
      const a = await timeRequest(url, plain);
      const b = await timeRequest(url, wirelock);
      if (record) {
        latency['undici (plain)']!.push(a);
        latency['wirelock dispatcher']!.push(b);
      }
    }
    await timeWrites(record ? writes.plain : undefined);
    const handle = lockdown(policy, options);
    if (handle.blockingFinding()) throw new Error(`bench environment is not clean: ${handle.blockingFinding()!.key}`);
    const dispatcher = getGlobalDispatcher();
    for (let i = 0; i < perBlock; i++) {
      const c = await timeRequest(url, dispatcher);
      if (record) latency['lockdown (gate + policy)']!.push(c);
    }
    await timeWrites(record ? writes.lockdown : undefined);
    for (let i = 0; i < 2000; i++) {
      const start = process.hrtime.bigint();
      handle.check();
      if (record) gate.push(Number(process.hrtime.bigint() - start) / 1e3);
    }
    if (record) {
      const start = process.hrtime.bigint();
      handle.recheck();
      full.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    handle.release();
  }

  const widths = [28, 26, 20, 20];
  const plainMedian = median(latency['undici (plain)']!);
  const base = median(latency['wirelock dispatcher']!);
  console.log(formatRow(['client', 'new connection (median ms)', 'ratio to plain', 'ratio to wirelock'], widths));
  for (const [name, values] of Object.entries(latency)) {
    console.log(formatRow([name, median(values).toFixed(3), `${(median(values) / plainMedian).toFixed(3)}x`, `${(median(values) / base).toFixed(3)}x`], widths));
  }
  const gateMs = median(gate) / 1000;
  console.log(`integrity gate alone (check(), no change): median ${median(gate).toFixed(2)} us = ${((gateMs / base) * 100).toFixed(2)}% of a new wirelock connection (target: under 10 us)`);
  console.log(`lockdown new connection vs plain undici: ${(median(latency['lockdown (gate + policy)']!) / plainMedian).toFixed(3)}x (target: within 1.10x)`);
  console.log(`full re-inspection after a change (recheck(), inspector origins): median ${median(full).toFixed(1)} ms`);
  const writePlain = median(writes.plain!);
  const writeLocked = median(writes.lockdown!);
  console.log(`socket.write of 512 B on plain TCP: median ${writePlain.toFixed(0)} ns without lockdown, ${writeLocked.toFixed(0)} ns under lockdown (${(writeLocked / writePlain).toFixed(3)}x, cleartext guard at the handle)`);
  console.log(`(${blocks} interleaved blocks of ${perBlock} new connections per client, 2000 gate calls and 2000 plain writes per block and side)`);
  await Promise.all([plain.close(), wirelock.close()]);
  sink.close();
  server.stop();
}
