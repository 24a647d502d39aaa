import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { inspect, promisify } from 'node:util';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { createFetch } from '../../src/transport/fetch.js';
import { createHttpAgent } from '../../src/transport/agent.js';
import { definePolicy } from '../../src/policy/define.js';
import { WirelockError } from '../../src/errors.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { certificatePin } from '../../src/x509/certificate.js';
import { issueLeaf } from '../../src/lab/pki.js';
import type { ViolationReport } from '../../src/transport/report.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { proxyClients, wirelockErrorOf } from './proxy-clients.js';
import { createTestPki } from './pki.js';

const run = promisify(execFile);
const pki = createTestPki();
const SECRET = 'card=4111111111111111';
const PASSWORD = 'Pr0xy-Pa55w0rd-7c1e';
const origin = await startCountingServer(pki.serverOptions(pki.legit));
const started: Array<{ close(): Promise<void> }> = [origin];
after(async () => {
  await Promise.all(started.map((item) => item.close()));
});

async function proxy(options: Parameters<typeof startConnectProxy>[0] = {}): Promise<ConnectProxy> {
  const result = await startConnectProxy(options);
  started.push(result);
  return result;
}

function policyWith(proxySection: unknown, extra: Record<string, unknown> = {}) {
  return {
    version: 1,
    trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
    proxy: proxySection,
    ...extra,
    domains: { '127.0.0.1': { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] } },
  };
}

/** Everything a user or an operator could read about a failure: message, stack, JSON, inspect, reports. */
function allText(error: unknown, reports: ViolationReport[]): string {
  const parts = [String(error), (error as Error)?.stack ?? '', inspect(error, { depth: 8 }), JSON.stringify(reports)];
  try {
    parts.push(JSON.stringify(error));
  } catch {
    // node-fetch errors may hold cycles; inspect above covers them.
  }
  for (let current = (error as { cause?: unknown })?.cause; current; current = (current as { cause?: unknown }).cause) parts.push(inspect(current, { depth: 8 }));
  return parts.join('\n');
}

test('every client API reaches the pinned origin through a CONNECT proxy; the proxy sees only the CONNECT', async () => {
  const tunnel = await proxy();
  const { clients, close } = proxyClients(policyWith({ url: tunnel.url }));
  try {
    for (const [name, call] of Object.entries(clients)) {
      origin.reset();
      const before = tunnel.tunnels;
      assert.equal(await call(origin.url('127.0.0.1', '/pay'), SECRET), 200, name);
      assert.ok(origin.captured.includes(SECRET), `${name}: the origin received the request`);
      assert.equal(tunnel.tunnels, before + 1, `${name}: through the proxy`);
    }
    assert.ok(tunnel.connects.every((connect) => connect.target === `127.0.0.1:${origin.port}`));
    assert.ok(!tunnel.seen.includes(SECRET), 'the proxy only relays ciphertext');
  } finally {
    await close();
  }
});

test('an intercepting proxy is refused for the pinned host by every client API, 0 bytes reach it, and the error says the chain came through the proxy', async () => {
  // Its CA is one the policy trusts (a compromised public CA): only the pins stop it.
  const compromisedLeaf = issueLeaf(pki.compromised.intermediate, { hostnames: ['127.0.0.1', 'localhost'] });
  const mitm = await proxy({ intercept: pki.serverOptions({ leaf: compromisedLeaf, intermediate: pki.compromised.intermediate }) as { cert: string; key: string } });
  const { clients, close } = proxyClients(policyWith({ url: mitm.url }));
  try {
    for (const [name, call] of Object.entries(clients)) {
      let caught: unknown;
      await call(origin.url('127.0.0.1', '/pay'), SECRET).then(() => assert.fail(`${name}: went through`), (error: unknown) => (caught = error));
      const error = wirelockErrorOf(caught);
      assert.equal(error?.code, 'ERR_PIN_MISMATCH', `${name}: ${String(caught)}`);
      assert.match(error!.message, new RegExp(`came through the proxy ${mitm.url.replace(/[.]/g, '\\.')}`), name);
      if (error?.details) assert.equal(error.details.proxy, mitm.url);
    }
    assert.ok(mitm.connects.length >= Object.keys(clients).length, 'every client really went to the intercepting proxy');
    assert.ok(!mitm.seen.includes(SECRET), 'the proxy decrypted nothing of the request');
    assert.equal(mitm.seen.replace(/CONNECT \S+\n/g, ''), '', 'not one byte of application data: only the CONNECT lines');
  } finally {
    await close();
  }
  // Positive control: an unprotected client through the same proxy, trusting its CA, hands it the secret.
  const control = await undiciFetch(origin.url('127.0.0.1', '/pay'), {
    method: 'POST',
    body: SECRET,
    dispatcher: new ProxyAgent({ uri: mitm.url, requestTls: { ca: [pki.compromised.root.pem] } }),
  });
  await control.arrayBuffer();
  assert.ok(mitm.seen.includes(SECRET), 'positive control: the intercepting proxy reads a plain client');
});

test('an intercepting proxy with a CA outside the trust set is ERR_CERT_UNTRUSTED with the proxy named; the violation report says so', async () => {
  const mitm = await proxy({ intercept: pki.serverOptions(pki.rogue) as { cert: string; key: string } });
  const reports: ViolationReport[] = [];
  const wirelockFetch = createFetch(policyWith({ url: mitm.url }), { onViolation: (report) => reports.push(report) });
  const error = await wirelockFetch(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(() => undefined, (caught: unknown) => caught);
  await wirelockFetch.dispatcher.close();
  assert.ok(error instanceof WirelockError);
  assert.equal(error.code, 'ERR_CERT_UNTRUSTED');
  assert.equal(error.details.proxy, mitm.url);
  assert.equal(error.details.throughProxy, true);
  assert.ok(reports.some((report) => report.code === 'ERR_CERT_UNTRUSTED' && report.details?.proxy === mitm.url), JSON.stringify(reports));
  assert.ok(!mitm.seen.includes(SECRET));
});

test('proxy auth: none is a 407, a wrong password is a 407 naming the variable, the right one works; the password is in no error or report', async () => {
  const guarded = await proxy({ auth: `alice:${PASSWORD}` });
  const reports: ViolationReport[] = [];
  const attempt = async (env: string | undefined, auth: string | undefined): Promise<unknown> => {
    if (env === undefined) delete process.env.WIRELOCK_TEST_PROXY_AUTH;
    else process.env.WIRELOCK_TEST_PROXY_AUTH = env;
    const { clients, close } = proxyClients(policyWith({ url: guarded.url, ...(auth ? { auth } : {}) }), { onViolation: (report) => reports.push(report) });
    const errors: unknown[] = [];
    try {
      for (const call of Object.values(clients)) await call(origin.url('127.0.0.1', '/pay'), SECRET).catch((error: unknown) => errors.push(error));
    } finally {
      await close();
    }
    return errors;
  };
  try {
    const none = (await attempt(undefined, undefined)) as unknown[];
    assert.equal(none.length, 6);
    for (const error of none) {
      assert.equal(wirelockErrorOf(error)?.code, 'ERR_PROXY_REFUSED');
      assert.match(wirelockErrorOf(error)!.message, /407.*wants credentials/);
    }
    const unset = (await attempt(undefined, 'env:WIRELOCK_TEST_PROXY_AUTH')) as unknown[];
    for (const error of unset) {
      assert.equal(wirelockErrorOf(error)?.code, 'ERR_POLICY_INVALID');
      assert.match(wirelockErrorOf(error)!.message, /WIRELOCK_TEST_PROXY_AUTH.*not set/);
    }
    const wrong = (await attempt(`alice:${PASSWORD}-wrong`, 'env:WIRELOCK_TEST_PROXY_AUTH')) as unknown[];
    assert.equal(wrong.length, 6);
    for (const error of wrong) {
      const found = wirelockErrorOf(error);
      assert.equal(found?.code, 'ERR_PROXY_REFUSED', String(error));
      assert.match(found!.message, /407 Proxy Authentication Required: the credentials from WIRELOCK_TEST_PROXY_AUTH were rejected/);
      if (found?.details) assert.equal(found.details.status, 407);
      const text = allText(error, reports);
      assert.ok(!text.includes(PASSWORD), `the password leaked into: ${text.slice(0, 300)}`);
      assert.ok(!text.includes(Buffer.from(`alice:${PASSWORD}-wrong`).toString('base64')), 'nor its Basic encoding');
    }
    assert.ok(reports.some((report) => report.code === 'ERR_PROXY_REFUSED'), 'the refusal is reported');
    const right = (await attempt(`alice:${PASSWORD}`, 'env:WIRELOCK_TEST_PROXY_AUTH')) as unknown[];
    assert.deepEqual(right, []);
    assert.ok(guarded.tunnels >= 6);
    assert.ok(!JSON.stringify(reports).includes(PASSWORD));
  } finally {
    delete process.env.WIRELOCK_TEST_PROXY_AUTH;
  }
});

test('CONNECT refusals (403, 502) are ERR_PROXY_REFUSED with the status; the origin is never reached', async () => {
  for (const status of [403, 502]) {
    const refusing = await proxy({ refuse: status });
    origin.reset();
    const wirelockFetch = createFetch(policyWith({ url: refusing.url }));
    const error = await wirelockFetch(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(() => undefined, (caught: unknown) => caught);
    await wirelockFetch.dispatcher.close();
    assert.ok(error instanceof WirelockError, String(error));
    assert.equal(error.code, 'ERR_PROXY_REFUSED');
    assert.equal(error.details.status, status);
    assert.equal(error.details.proxy, refusing.url);
    assert.match(error.message, status === 403 ? /403.*forbid/ : /502.*could not reach the origin/);
    assert.equal(origin.connections, 0);
  }
});

test('an https:// proxy is verified against its own anchors: a rogue certificate is refused before any CONNECT, the right one works', async () => {
  const rogue = await proxy({ tls: pki.serverOptions(pki.rogue) as { cert: string; key: string } });
  const wirelockFetch = createFetch(policyWith({ url: rogue.url, trustAnchors: [pki.legit.root.pem] }));
  const error = await wirelockFetch(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(() => undefined, (caught: unknown) => caught);
  await wirelockFetch.dispatcher.close();
  assert.ok(error instanceof WirelockError, String(error));
  assert.equal(error.code, 'ERR_CERT_UNTRUSTED');
  assert.equal(error.details.peer, 'proxy');
  assert.match(error.message, new RegExp(`proxy ${rogue.url.replace(/[.]/g, '\\.')}`));
  assert.equal(rogue.connects.length, 0, 'no CONNECT (and no credential) went to the rogue proxy');

  const honest = await proxy({ tls: pki.serverOptions(pki.legit) as { cert: string; key: string }, auth: `bob:${PASSWORD}` });
  process.env.WIRELOCK_TEST_PROXY_AUTH = `bob:${PASSWORD}`;
  try {
    const { clients, close } = proxyClients(policyWith({ url: honest.url, trustAnchors: [pki.legit.root.pem], auth: 'env:WIRELOCK_TEST_PROXY_AUTH' }));
    try {
      for (const [name, call] of Object.entries(clients)) assert.equal(await call(origin.url('127.0.0.1', '/pay'), SECRET), 200, name);
    } finally {
      await close();
    }
  } finally {
    delete process.env.WIRELOCK_TEST_PROXY_AUTH;
  }
  assert.equal(honest.tunnels, 6);
});

test('noProxy hosts are reached directly; others go through the proxy', async () => {
  const tunnel = await proxy();
  for (const [noProxy, direct] of [[['127.0.0.1'], true], [['127.0.0.0/8'], true], [[`127.0.0.1:${origin.port}`], true], [['127.0.0.1:1'], false], [['.example.com'], false]] as const) {
    const before = tunnel.connects.length;
    const wirelockFetch = createFetch(policyWith({ url: tunnel.url, noProxy }));
    const response = await wirelockFetch(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET });
    await response.arrayBuffer();
    await wirelockFetch.dispatcher.close();
    assert.equal(tunnel.connects.length - before, direct ? 0 : 1, JSON.stringify(noProxy));
  }
});

test('"proxy": "env" takes HTTPS_PROXY (with its credentials) and NO_PROXY when the policy is loaded, and never shows the password', async () => {
  const guarded = await proxy({ auth: `carol:${PASSWORD}` });
  const env = { HTTPS_PROXY: guarded.url.replace('http://', `http://carol:${encodeURIComponent(PASSWORD)}@`), NO_PROXY: 'localhost' };
  const policy = definePolicy(policyWith('env'), { env });
  assert.equal(policy.proxy?.display, guarded.url);
  assert.equal(policy.proxy?.origin, 'env');
  assert.ok(!inspect(policy, { depth: 10 }).includes(PASSWORD), 'the credentials are not a property of the policy');
  assert.ok(!JSON.stringify(policy).includes(PASSWORD));
  const { clients, close } = proxyClients(policy);
  try {
    assert.equal(await clients.createFetch!(origin.url('127.0.0.1', '/pay'), SECRET), 200);
    assert.equal(await clients['createAgent (https.request)']!(origin.url('127.0.0.1', '/pay'), SECRET), 200);
  } finally {
    await close();
  }
  assert.equal(guarded.tunnels, 2);
  // Without the variables, "env" means no proxy: direct.
  assert.equal(definePolicy(policyWith('env'), { env: {} }).proxy, undefined);
  // Never by default: a policy without "proxy" ignores HTTPS_PROXY.
  assert.equal(definePolicy({ version: 1 }, { env }).proxy, undefined);
});

test('policy errors name the JSON pointer and never echo a credential', () => {
  const invalid = (proxySection: unknown, env: Record<string, string> = {}): WirelockError => {
    try {
      definePolicy(policyWith(proxySection), { env, source: 'wirelock.json' });
    } catch (error) {
      assert.ok(error instanceof WirelockError);
      assert.equal(error.code, 'ERR_POLICY_INVALID');
      return error;
    }
    assert.fail('accepted');
  };
  const cases: Array<[unknown, string, RegExp, Record<string, string>?]> = [
    [{ url: `http://dave:${PASSWORD}@proxy.corp:3128` }, '/proxy/url', /holds credentials/],
    [{ url: 'http://proxy.corp:3128', auth: `dave:${PASSWORD}` }, '/proxy/auth', /not shown/],
    [{ url: 'socks5://proxy.corp:1080' }, '/proxy/url', /only http:\/\/ and https:\/\//],
    [{ url: 'http://proxy.corp:3128/path' }, '/proxy/url', /without a path/],
    [{ url: 'http://proxy.corp:3128', noProxy: ['bad host!'] }, '/proxy/noProxy/0', /not a host name/],
    [{ url: 'http://proxy.corp:3128', proxyy: 1 }, '/proxy/proxyy', /unknown property/],
    [{ trustAnchors: ['builtin'] }, '/proxy/url', /missing "url"/],
    ['direct', '/proxy', /expected "env" or an object/],
    ['env', '/proxy', /HTTPS_PROXY uses ftp/, { HTTPS_PROXY: `ftp://eve:${PASSWORD}@proxy.corp` }],
    ['env', '/proxy', /NO_PROXY: "10\.0\.0\.0\/99" is not an IP range/, { HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '10.0.0.0/99' }],
  ];
  for (const [section, pointer, message, env] of cases) {
    const error = invalid(section, env);
    assert.equal(error.details.pointer, pointer, error.message);
    assert.match(error.message, message);
    assert.ok(!allText(error, []).includes(PASSWORD), `credential echoed: ${error.message}`);
  }
  // A bare host:port in HTTPS_PROXY is an http proxy, as curl reads it.
  assert.equal(definePolicy(policyWith('env'), { env: { https_proxy: 'proxy.corp:3128' } }).proxy?.display, 'http://proxy.corp:3128');
});

test('cleartext: an https:// URL sent in absolute form to a loopback proxy is refused even with allow-loopback (positive control: a plain agent sends it in plaintext)', async () => {
  const sniffing = await proxy();
  const policy = policyWith(undefined, { cleartext: 'allow-loopback' });
  delete (policy as { proxy?: unknown }).proxy;
  const send = (agent: http.Agent, mutate?: (req: http.ClientRequest) => void): Promise<unknown> =>
    new Promise((resolve, reject) => {
      // What needle, axios and request do with HTTPS_PROXY: the whole https:// URL to the proxy, in cleartext.
      const req = http.request({ host: '127.0.0.1', port: sniffing.port, method: 'POST', path: mutate ? '/innocent' : origin.url('127.0.0.1', '/pay'), agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      mutate?.(req);
      req.on('error', reject);
      req.end(SECRET);
    });
  const httpAgent = createHttpAgent(policy);
  try {
    for (const mutate of [undefined, (req: http.ClientRequest) => (req.path = origin.url('127.0.0.1', '/pay'))]) {
      const error = await send(httpAgent, mutate).then(() => undefined, (caught: unknown) => caught);
      assert.ok(error instanceof WirelockError, String(error));
      assert.equal(error.code, 'ERR_CLEARTEXT_BLOCKED');
      assert.match(error.message, /would be sent in cleartext to 127\.0\.0\.1/);
      assert.equal(error.host, '127.0.0.1');
      assert.equal(error.port, origin.port);
    }
    assert.ok(!sniffing.seen.includes(SECRET), '0 bytes of the request reached the proxy');
    // The same agent still sends a loopback origin-form request and an http:// target on loopback.
    const plainOrigin: CountingServer = await startCountingServer({});
    started.push(plainOrigin);
    const status = await new Promise((resolve, reject) => {
      const req = http.request(plainOrigin.url('127.0.0.1', '/ok'), { method: 'POST', agent: httpAgent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end('fine');
    });
    assert.equal(status, 200);
  } finally {
    httpAgent.destroy();
  }
  await send(new http.Agent()).catch(() => undefined);
  assert.ok(sniffing.seen.includes(SECRET), 'positive control: a plain agent hands the proxy the request in plaintext');
});

test('cleartext http:// through the proxy follows the cleartext rule: refused by default, tunnelled where the domain allows cleartext', async () => {
  const tunnel = await proxy();
  const plainOrigin = await startCountingServer({});
  started.push(plainOrigin);
  const refused = createFetch(policyWith({ url: tunnel.url }));
  const error = await refused(plainOrigin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(() => undefined, (caught: unknown) => caught);
  await refused.dispatcher.close();
  assert.equal((error as WirelockError).code, 'ERR_CLEARTEXT_BLOCKED');
  assert.equal(tunnel.connects.length, 0);
  const allowing = { ...policyWith({ url: tunnel.url }), domains: { '127.0.0.1': { cleartext: 'allow' } } };
  const { clients, close } = proxyClients(allowing);
  try {
    for (const name of ['createFetch', 'createAgent (axios)', 'createAgent (got)']) {
      assert.equal(await clients[name]!(plainOrigin.url('127.0.0.1', '/pay'), SECRET), 200, name);
    }
  } finally {
    await close();
  }
  assert.equal(tunnel.tunnels, 3, 'the cleartext requests went through the proxy');
});

async function underLockdown(policy: unknown, proxyAt: ConnectProxy): Promise<Record<string, { ok: boolean; status?: number; code?: string; message?: string }>> {
  const { stdout } = await run(process.execPath, ['test/fixtures/transport/proxy-lockdown.mjs'], {
    env: { ...process.env, POLICY_JSON: JSON.stringify(policy), TARGET_URL: origin.url('127.0.0.1', '/pay'), SECRET, PROXY_HOST: new URL(proxyAt.url).hostname, PROXY_PORT: String(proxyAt.port) },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('under lockdown with an egress allowlist: fetch and https.request go through the policy proxy; the proxy is no egress for anyone else', async () => {
  // The proxy listens on 127.0.0.2, which the policy does not list: only wirelock's own tunnels may reach it.
  const tunnel = await proxy({ host: '127.0.0.2' });
  origin.reset();
  const results = await underLockdown(policyWith({ url: tunnel.url }, { unlistedHosts: 'block' }), tunnel);
  assert.deepEqual(results.fetch, { ok: true, status: 200 });
  assert.deepEqual(results.httpsRequest, { ok: true, status: 200 });
  assert.equal(tunnel.tunnels, 2, 'both requests went through the proxy');
  assert.equal(origin.requests.length, 2);
  assert.equal(results.rawSocketToProxy!.code, 'ERR_HOST_NOT_ALLOWED', JSON.stringify(results.rawSocketToProxy));
  assert.equal(results.absoluteForm!.ok, false);
  assert.ok(!tunnel.seen.includes('exfil.example'), "another module's CONNECT never reached the proxy");
  assert.ok(!tunnel.seen.includes(SECRET));
});

test('under lockdown with allow-loopback: an https:// URL in absolute form to a proxy on 127.0.0.1 is refused (the target is judged, not the socket)', async () => {
  const sniffing = await proxy();
  const policy = { ...policyWith(undefined, { cleartext: 'allow-loopback' }) };
  delete (policy as { proxy?: unknown }).proxy;
  const results = await underLockdown(policy, sniffing);
  assert.deepEqual(results.fetch, { ok: true, status: 200 }, 'direct requests still work');
  assert.equal(results.absoluteForm!.code, 'ERR_CLEARTEXT_BLOCKED', JSON.stringify(results.absoluteForm));
  assert.match(results.absoluteForm!.message!, /would be sent in cleartext/);
  assert.ok(!sniffing.seen.includes(SECRET), '0 bytes of the request reached the proxy');
});

test("the runtime's proxy-env finding shows the proxy without its password", async () => {
  const { inspectEnvironment } = await import('../../src/runtime/inspect.js');
  const saved = process.env.HTTPS_PROXY;
  process.env.HTTPS_PROXY = `http://erin:${PASSWORD}@proxy.corp:3128`;
  try {
    const report = await inspectEnvironment({ origins: false });
    const finding = report.findings.find((candidate) => candidate.key === 'proxy-env:HTTPS_PROXY');
    assert.ok(finding, 'the variable is still a finding');
    assert.match(finding.title, /\*\*\*@proxy\.corp:3128/);
    assert.ok(!JSON.stringify(report).includes(PASSWORD));
  } finally {
    if (saved === undefined) delete process.env.HTTPS_PROXY;
    else process.env.HTTPS_PROXY = saved;
  }
});

test('a host that is not a valid name never reaches the CONNECT line (no header injection into the proxy request)', async () => {
  const tunnel = await proxy();
  const { createAgent } = await import('../../src/transport/agent.js');
  const agent = createAgent(policyWith({ url: tunnel.url }), { keepAlive: false });
  const https = await import('node:https');
  const error = await new Promise<unknown>((resolve) => {
    try {
      // setHost: false, or Node itself refuses the name while building the Host header.
      const req = https.request({ host: `127.0.0.1:${origin.port}\r\nX-Injected: 1\r\nx`, port: origin.port, method: 'POST', agent, setHost: false }, () => resolve(undefined));
      req.on('error', resolve);
      req.end(SECRET);
    } catch (thrown) {
      resolve(thrown);
    }
  });
  agent.destroy();
  assert.equal((error as WirelockError).code, 'ERR_INPUT_INVALID', String(error));
  assert.ok(!tunnel.seen.includes('X-Injected'), 'nothing was injected into what the proxy read');
  assert.equal(tunnel.connects.length, 0);
});

test('under lockdown, an intercepting proxy named by the policy is refused for fetch and for https.request (the synchronous tls.connect path), 0 bytes decrypted', async () => {
  const compromisedLeaf = issueLeaf(pki.compromised.intermediate, { hostnames: ['127.0.0.1', 'localhost'] });
  const mitm = await proxy({ intercept: pki.serverOptions({ leaf: compromisedLeaf, intermediate: pki.compromised.intermediate }) as { cert: string; key: string } });
  const results = await underLockdown(policyWith({ url: mitm.url }), mitm);
  assert.equal(results.fetch!.code, 'ERR_PIN_MISMATCH', JSON.stringify(results.fetch));
  assert.equal(results.httpsRequest!.code, 'ERR_PIN_MISMATCH', JSON.stringify(results.httpsRequest));
  assert.match(results.httpsRequest!.message!, /came through the proxy/);
  assert.ok(mitm.connects.length >= 2, 'both went to the intercepting proxy');
  assert.equal(mitm.seen.replace(/CONNECT \S+\n/g, '').replace(/POST https?:\/\/\S+\n/g, ''), '', 'the proxy decrypted nothing');
});

test('createDispatcher: an undici request with an absolute https:// path to a loopback proxy is refused under allow-loopback (positive control: plain undici sends it)', async () => {
  const { request, Agent } = await import('undici');
  const { createDispatcher } = await import('../../src/transport/dispatcher.js');
  const sniffing = await proxy();
  const policy = { ...policyWith(undefined, { cleartext: 'allow-loopback' }) };
  delete (policy as { proxy?: unknown }).proxy;
  const dispatcher = createDispatcher(policy);
  try {
    const error = await dispatcher.request({ origin: sniffing.url, method: 'POST', path: origin.url('127.0.0.1', '/pay'), body: SECRET }).then(() => undefined, (caught: unknown) => caught);
    const found = wirelockErrorOf(error);
    assert.equal(found?.code, 'ERR_CLEARTEXT_BLOCKED', String(error));
    assert.ok(!sniffing.seen.includes(SECRET), '0 bytes reached the proxy');
    // Loopback cleartext in origin form still works through the same dispatcher.
    const plainOrigin = await startCountingServer({});
    started.push(plainOrigin);
    const ok = await request(plainOrigin.url('127.0.0.1', '/ok'), { method: 'POST', body: 'fine', dispatcher });
    await ok.body.dump();
    assert.equal(ok.statusCode, 200);
  } finally {
    await dispatcher.close();
  }
  const plain = new Agent();
  const control = await plain.request({ origin: sniffing.url, method: 'POST', path: origin.url('127.0.0.1', '/pay'), body: SECRET });
  await control.body.dump();
  await plain.close();
  assert.ok(sniffing.seen.includes(SECRET), 'positive control: plain undici hands the proxy the https request in plaintext');
});

test('wirelock check and fetch go through the policy proxy; a refusing proxy is ERR_PROXY_REFUSED on the synchronous path, with no credential in the output', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-proxy-cli-'));
  const cli = async (args: string[], policy: unknown, env: Record<string, string> = {}) => {
    const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(policy));
    try {
      const { stdout, stderr } = await run(process.execPath, ['dist/cli/main.js', ...args, '--policy', file], { env: { ...process.env, ...env } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  const guarded = await proxy({ auth: `frank:${PASSWORD}` });
  const policy = policyWith({ url: guarded.url, auth: 'env:WIRELOCK_CLI_PROXY_AUTH' });
  const allowed = await cli(['check', origin.url('127.0.0.1', '/'), '--json'], policy, { WIRELOCK_CLI_PROXY_AUTH: `frank:${PASSWORD}` });
  assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
  assert.equal(JSON.parse(allowed.stdout).allowed, true);
  assert.equal(guarded.tunnels, 1, 'wirelock check went through the proxy');
  for (const args of [['check', origin.url('127.0.0.1', '/'), '--json'], ['fetch', origin.url('127.0.0.1', '/pay'), '-d', SECRET]]) {
    const refused = await cli(args, policy, { WIRELOCK_CLI_PROXY_AUTH: `frank:${PASSWORD}-old` });
    assert.equal(refused.code, 1, `${args[0]}: ${refused.stdout}${refused.stderr}`);
    assert.match(refused.stdout + refused.stderr, /ERR_PROXY_REFUSED/);
    assert.ok(!(refused.stdout + refused.stderr).includes(PASSWORD), `${args[0]} printed the password`);
  }
});

test('a proxy that closes without answering, answers with something that is not HTTP, or adds bytes of its own after the 200 is ERR_PROXY_REFUSED; one that never answers times out', async () => {
  const net = await import('node:net');
  const behaviours: Record<string, (socket: import('node:net').Socket) => void> = {
    closes: (socket) => socket.once('data', () => socket.destroy()),
    'not HTTP': (socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')),
    'bytes after 200': (socket) => socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\nX-Injected: 1\r\n\r\n')),
    silent: () => undefined,
  };
  for (const [name, behave] of Object.entries(behaviours)) {
    const sockets = new Set<import('node:net').Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      behave(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin.reset();
    const wirelockFetch = createFetch(policyWith({ url: `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}` }), { connectTimeout: 500 });
    const error = await wirelockFetch(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(() => undefined, (caught: unknown) => caught);
    await wirelockFetch.dispatcher.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (name === 'silent') {
      assert.match(String((error as { cause?: { code?: string } })?.cause?.code ?? (error as { code?: string })?.code), /TIMEOUT/, `${name}: ${String(error)}`);
    } else {
      assert.ok(error instanceof WirelockError, `${name}: ${String(error)}`);
      assert.equal(error.code, 'ERR_PROXY_REFUSED', name);
    }
    assert.equal(origin.connections, 0, name);
  }
});

test("an https:// proxy's certificate must be for the proxy's name, and TLS below 1.2 to the proxy is refused; no CONNECT is sent to either", async () => {
  const otherName = issueLeaf(pki.legit.intermediate, { hostnames: ['other.example'] });
  const misnamed = await proxy({ tls: pki.serverOptions({ leaf: otherName, intermediate: pki.legit.intermediate }) as { cert: string; key: string } });
  const legacy = await proxy({ tls: { ...(pki.serverOptions(pki.legit) as { cert: string; key: string }), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } });
  for (const [bad, code] of [[misnamed, 'ERR_CERT_HOSTNAME'], [legacy, 'ERR_TLS_VERSION']] as const) {
    const wirelockFetch = createFetch(policyWith({ url: bad.url, trustAnchors: [pki.legit.root.pem] }));
    const error = await wirelockFetch(origin.url('127.0.0.1', '/pay'), { method: 'POST', body: SECRET }).then(() => undefined, (caught: unknown) => caught);
    await wirelockFetch.dispatcher.close();
    assert.ok(error instanceof WirelockError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.details.peer, 'proxy');
    assert.equal(bad.connects.length, 0);
  }
});

test('cleartext admitted only by allow-loopback never goes through the proxy: it goes directly to loopback', async () => {
  const tunnel = await proxy();
  const plainOrigin = await startCountingServer({});
  started.push(plainOrigin);
  const { clients, close } = proxyClients(policyWith({ url: tunnel.url }, { cleartext: 'allow-loopback' }));
  try {
    for (const name of ['createFetch', 'createDispatcher (undici.request)', 'createAgent (axios)', 'createAgent (got)', 'createAgent (node-fetch)']) {
      assert.equal(await clients[name]!(plainOrigin.url('127.0.0.1', '/pay'), SECRET), 200, name);
    }
  } finally {
    await close();
  }
  assert.equal(tunnel.connects.length, 0, 'no tunnel for loopback cleartext');
  assert.ok(!tunnel.seen.includes(SECRET));
  assert.equal(plainOrigin.requests.length, 5);
});
