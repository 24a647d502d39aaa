// Cost of Certificate Transparency per handshake, side by side with pins only:
// 1. the handshake decision in-process (chain + pins; + CT with a warm cache; + CT cold, i.e. the
//    first handshake of a certificate: precertificate rebuild and every SCT signature checked);
// 2. new HTTPS connections over loopback, pins only vs pins + CT (warm cache), interleaved.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { createDispatcher } from '../src/transport/dispatcher.js';
import { evaluateHandshake } from '../src/transport/evaluate.js';
import { definePolicy } from '../src/policy/define.js';
import { checkCt, verifierFor } from '../src/ct/enforce.js';
import { CtVerifier } from '../src/ct/verifier.js';
import { createTestLog, issueWithScts, writeLogListFiles } from '../src/ct/testlog.js';
import { issueChain } from '../src/x509/issue.js';
import { certificatePin } from '../src/x509/certificate.js';
import { toChainCertificate } from '../src/x509/chain.js';
import { median, formatRow } from './support/stats.js';
import { startTlsServerProcess, timeRequest } from './support/loopback.js';

function timeSync(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e3;
}

export async function run(): Promise<void> {
  const pki = issueChain({ hostnames: ['127.0.0.1'] });
  // A realistic mix: ECDSA and RSA logs, three SCTs (Chrome's count for a lifetime over 180 days).
  const logs = [
    createTestLog({ name: 'bench A', operator: 'Op A' }),
    createTestLog({ name: 'bench B', operator: 'Op B', keyAlgorithm: 'rsa-2048' }),
    createTestLog({ name: 'bench C', operator: 'Op C' }),
  ];
  const list = writeLogListFiles(join(mkdtempSync(join(tmpdir(), 'wirelock-ct-bench-')), 'list'), logs);
  const cert = issueWithScts({ issuer: pki.intermediate, hostnames: ['127.0.0.1'], logs, notAfter: new Date(Date.now() + 200 * 864e5) });
  const pins = [certificatePin(pki.intermediate.der), 'sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg='];
  const ctConfig = { enforce: true, policy: 'chrome', logList: list.logList, logListKey: list.logListKey };
  const pinsOnly = { version: 1, trustAnchors: [pki.root.pem], domains: { '127.0.0.1': { pins } } };
  const withCt = { version: 1, trustAnchors: [pki.root.pem], domains: { '127.0.0.1': { pins, certificateTransparency: ctConfig } } };

  // ---- 1. the decision, in-process
  const policyPins = definePolicy(pinsOnly);
  const policyCt = definePolicy(withCt);
  const served = [toChainCertificate(cert.certificate.der), toChainCertificate(pki.intermediate.der)];
  const config = policyCt.domains[0]!.certificateTransparency!;
  const parsedList = verifierFor(config).list;
  const base = { host: '127.0.0.1', port: 443, served };
  const variants: Record<string, () => unknown> = {
    'pins only': () => evaluateHandshake({ ...base, policy: policyPins, domain: policyPins.domains[0], now: new Date() }),
    'pins + CT (cached)': () =>
      evaluateHandshake({ ...base, policy: policyCt, domain: policyCt.domains[0], now: new Date(), checkCt: (path) => checkCt(config, path, undefined, new Date()) }),
    'pins + CT (cold)': () =>
      evaluateHandshake({
        ...base,
        policy: policyCt,
        domain: policyCt.domains[0],
        now: new Date(),
        checkCt: (path) => {
          // A fresh verifier has an empty cache: what the first handshake with a certificate pays.
          const evaluation = new CtVerifier(parsedList).evaluate({ leaf: path[0]!.der, issuer: path[1]?.der }, new Date(), { policy: 'chrome', minScts: undefined });
          if (!evaluation.compliant || evaluation.cached) throw new Error('bench setup: expected a compliant cold evaluation');
          return { compliant: true, listStale: false, message: '', details: {} };
        },
      }),
  };
  const outcome = checkCt(config, served, undefined, new Date());
  if (!outcome.compliant) throw new Error(`bench setup: certificate not compliant: ${outcome.message}`);
  const names = Object.keys(variants);
  for (const name of names) for (let i = 0; i < 200; i++) variants[name]!();
  const decisionRounds = Number(process.env.BENCH_CT_DECISIONS ?? 2000);
  const decision: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < decisionRounds; i++) {
    const order = i % 2 ? names : [...names].reverse();
    for (const name of order) decision[name]!.push(timeSync(variants[name]!));
  }
  const widths = [22, 30, 10];
  console.log(formatRow(['handshake decision', 'median µs per handshake', 'ratio'], widths));
  const baseline = median(decision['pins only']!);
  for (const name of names) {
    const value = median(decision[name]!);
    console.log(formatRow([name, value.toFixed(1), `${(value / baseline).toFixed(2)}x`], widths));
  }
  console.log(`(${decisionRounds} decisions each, interleaved; 3 SCTs: 2 ECDSA P-256 + 1 RSA-2048 log)\n`);

  // ---- 2. new connections over loopback
  const server = await startTlsServerProcess(cert.chainPem, cert.certificate.keyPem);
  const url = `https://127.0.0.1:${server.port}/`;
  const clients: Record<string, Dispatcher> = { 'pins only': createDispatcher(pinsOnly), 'pins + CT (cached)': createDispatcher(withCt) };
  const clientNames = Object.keys(clients);
  for (const name of clientNames) for (let i = 0; i < 30; i++) await timeRequest(url, clients[name]!);
  const connectRounds = Number(process.env.BENCH_CONNECT_ROUNDS ?? 300);
  const latency: Record<string, number[]> = Object.fromEntries(clientNames.map((n) => [n, []]));
  for (let i = 0; i < connectRounds; i++) {
    const order = i % 2 ? clientNames : [...clientNames].reverse();
    for (const name of order) latency[name]!.push(await timeRequest(url, clients[name]!));
  }
  console.log(formatRow(['new connection', 'median ms per connection', 'ratio'], widths));
  const connBaseline = median(latency['pins only']!);
  for (const name of clientNames) {
    const value = median(latency[name]!);
    console.log(formatRow([name, value.toFixed(3), `${(value / connBaseline).toFixed(3)}x`], widths));
  }
  console.log(`(${connectRounds} new TLS connections each, interleaved; CT adds OCSP stapling to the ClientHello and the check above)`);
  await Promise.all(Object.values(clients).map((client) => client.close()));
  server.stop();
}
