// Class: client libraries open their own TLS connections outside the agent. Each library runs in a fresh
// process with the environment a real machine has: HTTPS_PROXY (and NODE_USE_ENV_PROXY) pointing at a
// loopback proxy that intercepts with a user-installed CA (NODE_EXTRA_CA_CERTS), or a server that
// offers HTTP/2. Positive controls: the same library without wirelock hands the attacker the secret.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { startCountingServer } from '../../src/lab/servers.js';
import { createTestPki } from './pki.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const SECRET = 'client-libs-secret-6620';
const pki = createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'wirelock-clients-'));
const rogueRoot = join(dir, 'user-installed-ca.pem');
writeFileSync(rogueRoot, pki.rogue.root.pem);
const policy = { version: 1, trustAnchors: [pki.legit.root.pem], domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } } };
const rogue = pki.serverOptions(pki.rogue);

interface Observed {
  port: number;
  connections: number;
  captured: string;
  reset(): void;
  close(): Promise<void>;
}

/** Listens on an ephemeral loopback port; what the server saw is read through `state`. */
async function listenObserved(server: http.Server | http2.Http2SecureServer, state: { connections: number; captured: string }): Promise<Observed> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    get captured() {
      return state.captured;
    },
    reset() {
      state.connections = 0;
      state.captured = '';
    },
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TLS server offering h2 and http/1.1 (the compat API answers both). */
async function startH2Server(options: { cert: string; key: string }): Promise<Observed> {
  const state = { connections: 0, captured: '' };
  const server = http2.createSecureServer({ ...options, allowHTTP1: true });
  server.on('secureConnection', () => state.connections++);
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (state.captured += chunk));
    req.on('end', () => res.end('ok'));
  });
  return listenObserved(server, state);
}

/** An HTTP CONNECT proxy that terminates the tunnelled TLS with a certificate from the user-installed CA. */
async function startInterceptingProxy(): Promise<Observed> {
  const state = { connections: 0, captured: '' };
  const context = tls.createSecureContext(rogue);
  const server = http.createServer((_req, res) => res.writeHead(502).end());
  server.on('connect', (_req: http.IncomingMessage, socket: import('node:net').Socket) => {
    state.connections++;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const inner = new tls.TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
    let request = '';
    inner.on('data', (chunk: Buffer) => {
      request += chunk.toString('latin1');
      state.captured += chunk.toString('latin1');
      const headerEnd = request.indexOf('\r\n\r\n');
      const length = Number(/content-length:\s*(\d+)/i.exec(request)?.[1] ?? 0);
      if (headerEnd >= 0 && request.length - headerEnd - 4 >= length) {
        inner.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
        request = '';
      }
    });
    inner.on('error', () => socket.destroy());
    socket.on('error', () => inner.destroy());
  });
  return listenObserved(server, state);
}

const origin = await startCountingServer(pki.serverOptions(pki.legit));
const h2Origin = await startH2Server(pki.serverOptions(pki.legit));
const h2Attacker = await startH2Server(rogue);
const proxy = await startInterceptingProxy();
after(() => Promise.all([origin.close(), h2Origin.close(), h2Attacker.close(), proxy.close()]));

interface Outcome {
  ok: boolean;
  status?: number;
  codes?: string[];
  message?: string;
}

async function client(clientName: string, mode: 'plain' | 'wirelock' | 'readme-1', url: string, extra: Record<string, string> = {}): Promise<Outcome> {
  const proxyUrl = `http://127.0.0.1:${proxy.port}`;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/transport/client-libs.ts')], {
    cwd: ROOT,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      NODE_EXTRA_CA_CERTS: rogueRoot,
      HTTPS_PROXY: proxyUrl,
      https_proxy: proxyUrl,
      HTTP_PROXY: proxyUrl,
      NODE_USE_ENV_PROXY: '1',
      CLIENT: clientName,
      MODE: mode,
      TARGET_URL: url,
      SECRET,
      POLICY_JSON: JSON.stringify(policy),
      ...extra,
    },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Outcome;
}

const CLIENTS = ['axios', 'got', 'superagent', 'node-fetch'] as const;
// Node 22.21+/24.5+ built-in agents honour proxy variables under NODE_USE_ENV_PROXY.
const nodeHonoursEnvProxy = process.allowedNodeEnvironmentFlags.has('--use-env-proxy');

test('HTTPS_PROXY with a user-installed CA: axios without wirelock tunnels and the proxy reads the secret (positive control)', async () => {
  proxy.reset();
  const plain = await client('axios', 'plain', origin.url('127.0.0.1', '/pay'));
  assert.deepEqual(plain, { ok: true, status: 200 });
  assert.ok(proxy.captured.includes(SECRET), 'the intercepting proxy read the request');
});

test('HTTPS_PROXY: the previous README axios setup (httpsAgent only) is refused loudly, not tunnelled', async () => {
  proxy.reset();
  const outcome = await client('axios', 'readme-1', origin.url('127.0.0.1', '/pay'));
  assert.equal(outcome.ok, false);
  assert.ok(outcome.codes?.includes('ERR_CLIENT_BYPASS'), JSON.stringify(outcome));
  assert.ok(proxy.connections >= 1, 'axios really tried the proxy tunnel');
  assert.ok(!proxy.captured.includes(SECRET));
  assert.ok(!proxy.captured.includes('POST'), '0 bytes of the request reached the proxy');
});

for (const name of CLIENTS) {
  test(`HTTPS_PROXY: ${name} with wirelock's integration reaches the pinned origin directly, the proxy gets nothing`, async () => {
    proxy.reset();
    origin.reset();
    const protectedOutcome = await client(name, 'wirelock', origin.url('127.0.0.1', '/pay'));
    assert.deepEqual(protectedOutcome, { ok: true, status: 200 });
    assert.ok(origin.captured.includes(SECRET), 'the legitimate origin got the request');
    assert.equal(proxy.captured, '', 'not one byte went through the proxy');
  });
}

test('NODE_USE_ENV_PROXY (positive control): got and node-fetch without wirelock use the global agent, which tunnels where Node honours it', async () => {
  for (const name of ['got', 'node-fetch']) {
    proxy.reset();
    // (Without the proxy the plain client fails on the origin, whose CA it does not trust.)
    const plain = await client(name, 'plain', origin.url('127.0.0.1', '/pay'));
    assert.equal(plain.ok, nodeHonoursEnvProxy, JSON.stringify(plain));
    assert.equal(proxy.connections > 0, nodeHonoursEnvProxy);
    // Node 22.21+/24.5+: the user-installed CA lets the proxy read the request; older Node ignores the variables.
    assert.equal(proxy.captured.includes(SECRET), nodeHonoursEnvProxy, `${name} on ${process.version}: ${proxy.connections} tunnel(s)`);
  }
});

for (const name of CLIENTS) {
  test(`HTTP/2 attacker with a user-installed CA: ${name} without wirelock leaks (positive control), with wirelock refused`, async () => {
    h2Attacker.reset();
    const url = `https://127.0.0.1:${h2Attacker.port}/pay`;
    const noProxy = { HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '', NO_PROXY: '*' };
    const plain = await client(name, 'plain', url, { ...noProxy, H2: name === 'node-fetch' ? '0' : '1' });
    assert.deepEqual(plain, { ok: true, status: 200 });
    assert.ok(h2Attacker.captured.includes(SECRET), `${name} handed the secret to the attacker`);
    h2Attacker.reset();
    const outcome = await client(name, 'wirelock', url, { ...noProxy, H2: name === 'node-fetch' ? '0' : '1' });
    assert.equal(outcome.ok, false, JSON.stringify(outcome));
    // axios httpVersion 2 runs through the policy (the attacker's CA is not trusted); got and
    // superagent HTTP/2 are refused before any connection; node-fetch only speaks HTTP/1.1.
    const expected = name === 'got' || name === 'superagent' ? 'ERR_CLIENT_BYPASS' : 'ERR_CERT_UNTRUSTED';
    assert.ok(outcome.codes?.includes(expected), `${name}: ${JSON.stringify(outcome)}`);
    if (expected === 'ERR_CLIENT_BYPASS') assert.equal(h2Attacker.connections, 0);
    assert.equal(h2Attacker.captured, '', '0 bytes of the request reached the attacker');
  });
}

test('HTTP/2 origin: axios httpVersion 2 through axiosConfig works when the server is the legitimate one', async () => {
  h2Origin.reset();
  const outcome = await client('axios', 'wirelock', `https://127.0.0.1:${h2Origin.port}/pay`, { H2: '1', HTTPS_PROXY: '', https_proxy: '', HTTP_PROXY: '' });
  assert.deepEqual(outcome, { ok: true, status: 200 });
  assert.ok(h2Origin.captured.includes(SECRET));
});
