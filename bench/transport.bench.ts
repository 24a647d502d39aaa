// New-connection latency and keep-alive throughput: wirelock (createDispatcher, pins + own chain
// verification) against plain undici with the same CA, interleaved in one run on loopback.
import { Agent, type Dispatcher } from 'undici';
import { createDispatcher } from '../src/transport/dispatcher.js';
import { PolicyEngine, servernameFinding } from '../src/transport/engine.js';
import { evaluateHandshake } from '../src/transport/evaluate.js';
import { findDomainPolicy } from '../src/policy/match.js';
import { toChainCertificate } from '../src/x509/chain.js';
import { issueChain } from '../src/x509/issue.js';
import { certificatePin } from '../src/x509/certificate.js';
import { median, formatRow } from './support/stats.js';
import { startTlsServerProcess, timeRequest } from './support/loopback.js';

export async function run(): Promise<void> {
  const pki = issueChain({ hostnames: ['127.0.0.1'] });
  const server = await startTlsServerProcess(pki.leaf.pem + pki.intermediate.pem, pki.leaf.keyPem);
  const url = `https://127.0.0.1:${server.port}/`;
  const policy = {
    version: 1,
    trustAnchors: [pki.root.pem],
    domains: { '127.0.0.1': { pins: [certificatePin(pki.intermediate.der), 'sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg='] } },
  };
  const clients: Record<string, Dispatcher> = {
    'undici (plain)': new Agent({ connect: { ca: pki.root.pem } }),
    wirelock: createDispatcher(policy),
  };
  const names = Object.keys(clients);

  // Warm-up: JIT, first-connection costs, anchor index.
  for (const name of names) for (let i = 0; i < 30; i++) await timeRequest(url, clients[name]!, true);

  const connectRounds = Number(process.env.BENCH_CONNECT_ROUNDS ?? 300);
  const latency: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < connectRounds; i++) {
    // Alternate the order so neither side always runs second.
    const order = i % 2 ? names : [...names].reverse();
    for (const name of order) latency[name]!.push(await timeRequest(url, clients[name]!, true));
  }

  // Many short interleaved rounds: machine drift hits both sides of a pair alike.
  const throughputRounds = Number(process.env.BENCH_KEEPALIVE_ROUNDS ?? 21);
  const requestsPerRound = Number(process.env.BENCH_KEEPALIVE_REQUESTS ?? 1000);
  const concurrency = 8;
  const throughput: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < throughputRounds; round++) {
    const order = round % 2 ? names : [...names].reverse();
    for (const name of order) {
      let remaining = requestsPerRound;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (remaining-- > 0) await timeRequest(url, clients[name]!, false);
        }),
      );
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      throughput[name]!.push(requestsPerRound / seconds);
    }
  }

  const baseline = names[0]!;
  // Each round's pair ran back to back, so the median of per-round ratios is steadier than a ratio of medians.
  const pairedRatio = (name: string): number => median(throughput[name]!.map((value, round) => value / throughput[baseline]![round]!));
  const widths = [18, 26, 14, 30, 14];
  console.log(formatRow(['client', 'new connection (median ms)', 'ratio', 'keep-alive (median req/s)', 'ratio'], widths));
  for (const name of names) {
    const l = median(latency[name]!);
    const t = median(throughput[name]!);
    console.log(
      formatRow([name, l.toFixed(3), `${(l / median(latency[baseline]!)).toFixed(3)}x`, t.toFixed(0), `${pairedRatio(name).toFixed(3)}x`], widths),
    );
  }
  console.log(`(${connectRounds} new connections and ${throughputRounds} x ${requestsPerRound} keep-alive requests (concurrency ${concurrency}) per client, interleaved; keep-alive ratio = median of per-round ratios)`);
  // The per-connection work of the policy itself, in process (no I/O): the gate before a socket
  // exists (egress/cleartext rules and the servername check), and the handshake verdict (path
  // building with RFC 5280 constraints, pins) on a served chain whose parsing is cached, as on every
  // connection after the first.
  const engine = new PolicyEngine(policy);
  const served = [pki.leaf.der, pki.intermediate.der].map((der) => toChainCertificate(der));
  const domain = findDomainPolicy(engine.policy, '127.0.0.1');
  const perCall = (work: () => void): number => {
    const samples: number[] = [];
    for (let batch = 0; batch < 31; batch++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 1000; i++) work();
      samples.push(Number(process.hrtime.bigint() - start) / 1000 / 1000);
    }
    return median(samples);
  };
  const gate = perCall(() => {
    engine.checkDestination('https:', '127.0.0.1', server.port);
    servernameFinding(engine.policy, '127.0.0.1', domain, '127.0.0.1');
  });
  const verdict = perCall(() => {
    const result = evaluateHandshake({ policy: engine.policy, domain, host: '127.0.0.1', port: server.port, served, now: new Date() });
    if (result.violations.length > 0) throw new Error('bench chain must verify');
  });
  console.log(`per-connection gate (destination + servername): ${gate.toFixed(2)} µs median; handshake verdict (RFC 5280 path + pins): ${verdict.toFixed(2)} µs median`);
  await Promise.all(Object.values(clients).map((client) => client.close()));
  server.stop();
}
