// System suite (`npm run test:system`): every client API through real proxies from Debian's packages:
// tinyproxy (a corporate CONNECT proxy, with and without Basic auth) and mitmproxy in regular mode
// (a TLS-inspecting proxy). Fails, never skips, when a tool is missing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { inspect, promisify } from 'node:util';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { startMitmproxy } from '../../src/lab/mitmproxy.js';
import { openLab, type LabResult } from '../../src/lab/run.js';
import { startTinyproxy } from '../../src/lab/tinyproxy.js';
import type { ViolationReport } from '../../src/transport/report.js';
import { startSquid } from '../support/squid.js';
import { requireTool } from '../support/system.js';
import { proxyClients, wirelockErrorOf } from './proxy-clients.js';

const run = promisify(execFile);
const { lab, close } = openLab();
const { pki } = lab;
after(close);

const SECRET = 'card=5500000000000004';
const PASSWORD = 'Corp-Proxy-Pa55-91f3';
const origin = await lab.startServer(pki.serverOptions(pki.legit));

function policyWith(proxy: unknown, trustAnchors: string[] = [pki.legit.root.pem]) {
  return { version: 1, trustAnchors, proxy, domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } } };
}

/** Sends the secret through the proxy with every client API; each must reach the pinned origin. Returns how many ran. */
async function everyClientReachesOrigin(proxyUrl: string): Promise<number> {
  const { clients, close: closeClients } = proxyClients(policyWith({ url: proxyUrl }));
  try {
    for (const [name, call] of Object.entries(clients)) {
      origin.reset();
      assert.equal(await call(origin.url('127.0.0.1', '/pay'), SECRET), 200, name);
      assert.ok(origin.captured.includes(SECRET), `${name}: arrived at the origin`);
    }
  } finally {
    await closeClients();
  }
  return Object.keys(clients).length;
}

test('tinyproxy: every client API reaches the pinned origin through it, and tinyproxy logged each tunnel', async () => {
  requireTool('tinyproxy', 'tinyproxy');
  const proxy = await startTinyproxy(lab, 'plain');
  const clientCount = await everyClientReachesOrigin(proxy.url);
  const tunnels = proxy.connects().filter((target) => target === `127.0.0.1:${origin.port}`);
  assert.equal(tunnels.length, clientCount, `tinyproxy's log: ${proxy.connects().join(', ')}`);
});

test('squid: every client API reaches the pinned origin through it, and squid logged each tunnel', async () => {
  requireTool('squid', 'squid');
  const squid = await startSquid();
  try {
    const clientCount = await everyClientReachesOrigin(squid.url);
    // squid writes its access log line when a tunnel closes: give it a moment after the last one.
    const deadline = Date.now() + 5000;
    while (squid.connects().length < clientCount && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(squid.connects().filter((target) => target === `127.0.0.1:${origin.port}`).length, clientCount, `squid's log: ${squid.connects().join(', ')}`);
  } finally {
    await squid.stop();
  }
});

test('tinyproxy with Basic auth: a wrong password is ERR_PROXY_REFUSED (tinyproxy: 401) for every client, the right one works; the password is in no error or report', async () => {
  requireTool('tinyproxy', 'tinyproxy');
  const proxy = await startTinyproxy(lab, 'auth', { basicAuth: { user: 'alice', password: PASSWORD } });
  const policy = policyWith({ url: proxy.url, auth: 'env:WIRELOCK_SYSTEM_PROXY_AUTH' });
  const reports: ViolationReport[] = [];
  try {
    process.env.WIRELOCK_SYSTEM_PROXY_AUTH = `alice:${PASSWORD}x`;
    const wrong = proxyClients(policy, { onViolation: (report) => reports.push(report) });
    try {
      for (const [name, call] of Object.entries(wrong.clients)) {
        const error = await call(origin.url('127.0.0.1', '/pay'), SECRET).then(() => assert.fail(`${name}: went through`), (caught: unknown) => caught);
        const found = wirelockErrorOf(error);
        assert.equal(found?.code, 'ERR_PROXY_REFUSED', `${name}: ${String(error)}`);
        // tinyproxy says 401 to a CONNECT, where the RFC says 407: the message reads the same either way.
        assert.match(found!.message, /40[17] .*the credentials from WIRELOCK_SYSTEM_PROXY_AUTH were rejected/);
        const text = [String(error), (error as Error).stack, inspect(error, { depth: 8 }), JSON.stringify(reports)].join('\n');
        assert.ok(!text.includes(PASSWORD), `${name}: the password appears in the error or a report`);
      }
    } finally {
      await wrong.close();
    }
    process.env.WIRELOCK_SYSTEM_PROXY_AUTH = `alice:${PASSWORD}`;
    const right = proxyClients(policy);
    try {
      for (const [name, call] of Object.entries(right.clients)) assert.equal(await call(origin.url('127.0.0.1', '/pay'), SECRET), 200, name);
    } finally {
      await right.close();
    }
  } finally {
    delete process.env.WIRELOCK_SYSTEM_PROXY_AUTH;
  }
  assert.ok(reports.some((report) => report.code === 'ERR_PROXY_REFUSED'));
});

test('mitmproxy (regular mode) intercepting: every client API is refused for the pinned host, 0 bytes decrypted; a plain client is read (positive control)', async () => {
  requireTool('mitmdump', 'mitmproxy');
  const mitm = await startMitmproxy(lab, 'regular', 'system-proxy');
  const mitmCa = readFileSync(mitm.caFile, 'utf8');
  // Without its CA in the policy: the usual untrusted-chain refusal. With it (the company listed its
  // inspection CA): the pins still refuse. Either way the error names the proxy.
  for (const [anchors, code] of [[[pki.legit.root.pem], 'ERR_CERT_UNTRUSTED'], [[pki.legit.root.pem, mitmCa], 'ERR_PIN_MISMATCH']] as const) {
    const { clients, close: closeClients } = proxyClients(policyWith({ url: mitm.url }, [...anchors]));
    try {
      for (const [name, call] of Object.entries(clients)) {
        const error = await call(origin.url('127.0.0.1', '/pay'), SECRET).then(() => assert.fail(`${name}: went through`), (caught: unknown) => caught);
        const found = wirelockErrorOf(error);
        assert.equal(found?.code, code, `${name}: ${String(error)}`);
        assert.match(found!.message, /came through the proxy/);
      }
    } finally {
      await closeClients();
    }
  }
  assert.equal(mitm.applicationBytes, 0, 'mitmproxy decrypted nothing from wirelock');
  assert.ok(!mitm.captured.includes(SECRET));
  const control = await undiciFetch(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET, dispatcher: new ProxyAgent({ uri: mitm.url, requestTls: { ca: [mitmCa] } }) });
  await control.arrayBuffer();
  assert.ok(mitm.captured.includes(SECRET), 'positive control: mitmproxy reads an unprotected client through the same proxy');
});

test('wirelock lab: the corporate proxy row runs with tinyproxy and mitmproxy (not unavailable) and passes', async () => {
  requireTool('tinyproxy', 'tinyproxy');
  requireTool('mitmdump', 'mitmproxy');
  const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'lab', '--json', '--only', 'corporate-proxy,mitmproxy-corporate']);
  const result = JSON.parse(stdout) as LabResult;
  assert.equal(result.ok, true, JSON.stringify(result.scenarios.map((s) => [s.id, s.problems])));
  const byId = Object.fromEntries(result.scenarios.map((s) => [s.id, s]));
  assert.equal(byId['corporate-proxy']?.verdict, 'delivered');
  assert.equal(byId['corporate-proxy']?.subject?.secretCaptured, true, 'the request arrived at the origin through tinyproxy');
  assert.equal(byId['mitmproxy-corporate']?.verdict, 'blocked');
  assert.equal(byId['mitmproxy-corporate']?.subject?.code, 'ERR_CERT_UNTRUSTED');
  assert.equal(byId['mitmproxy-corporate']?.subject?.attackerBytes, 0);
  assert.equal(byId['mitmproxy-corporate']?.control?.intercepted, true);
});
