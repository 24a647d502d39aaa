// New connection through a CONNECT proxy: wirelock (policy "proxy", pins + own chain verification
// inside the tunnel) against plain undici's ProxyAgent with the same CA, interleaved in one run on
// loopback. Origin and proxy each run in their own process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ProxyAgent, type Dispatcher } from 'undici';
import { createDispatcher } from '../src/transport/dispatcher.js';
import { issueChain } from '../src/x509/issue.js';
import { certificatePin } from '../src/x509/certificate.js';
import { median, formatRow } from './support/stats.js';
import { startTlsServerProcess, timeRequest } from './support/loopback.js';

async function startProxyProcess(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./support/proxy-server.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [data] = (await once(child.stdout, 'data')) as [Buffer];
  return { port: Number(data.toString().trim()), stop: () => child.stdin.end() };
}

export async function run(): Promise<void> {
  const pki = issueChain({ hostnames: ['127.0.0.1'] });
  const server = await startTlsServerProcess(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem);
  const proxy = await startProxyProcess();
  const url = `https://127.0.0.1:${server.port}/`;
  const proxyUrl = `http://127.0.0.1:${proxy.port}`;
  const policy = {
    version: 1,
    trustAnchors: [pki.root.pem],
    proxy: { url: proxyUrl },
    domains: { '127.0.0.1': { pins: [certificatePin(pki.intermediate.der), 'sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg='] } },
  };
  // ProxyAgent resumes TLS sessions with the origin by default (an abbreviated handshake that skips
  // certificate verification); wirelock never does, because Node skips checkServerIdentity on a
  // resumed session. The baseline for the goal is ProxyAgent doing the same full handshake; the
  // default ProxyAgent is printed beside it.
  const clients: Record<string, Dispatcher> = {
    'ProxyAgent (full handshake)': new ProxyAgent({ uri: proxyUrl, requestTls: { ca: pki.root.pem, maxCachedSessions: 0 } as object }),
    'ProxyAgent (default, resumes)': new ProxyAgent({ uri: proxyUrl, requestTls: { ca: pki.root.pem } }),
    wirelock: createDispatcher(policy),
  };
  const names = Object.keys(clients);
  for (const name of names) for (let i = 0; i < 30; i++) await timeRequest(url, clients[name]!, true);

  const rounds = Number(process.env.BENCH_PROXY_ROUNDS ?? 300);
  const latency: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    // Rotate the order so no client always runs first or last.
    const order = names.map((_, k) => names[(i + k) % names.length]!);
    for (const name of order) latency[name]!.push(await timeRequest(url, clients[name]!, true));
  }
  const baseline = names[0]!;
  // Pairs ran back to back: the median of per-pair ratios is steadier than a ratio of medians.
  const pairedRatio = (name: string): number => median(latency[name]!.map((value, i) => value / latency[baseline]![i]!));
  const widths = [30, 40, 14, 22];
  console.log(formatRow(['client', 'new connection via proxy (median ms)', 'ratio', 'paired ratio (median)'], widths));
  for (const name of names) {
    const l = median(latency[name]!);
    console.log(formatRow([name, l.toFixed(3), `${(l / median(latency[baseline]!)).toFixed(3)}x`, `${pairedRatio(name).toFixed(3)}x`], widths));
  }
  console.log(`(${rounds} new connections per client through the same CONNECT proxy, interleaved; goal: wirelock <= 1.10x the full-handshake baseline)`);
  // ProxyAgent and undici's Agent keep no sockets open after reset requests; close quickly.
  await Promise.all(Object.values(clients).map((client) => client.close()));
  proxy.stop();
  server.stop();
}
