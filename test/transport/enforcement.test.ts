import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { createFetch } from '../../src/transport/fetch.js';
import { createAgent, createHttpAgent } from '../../src/transport/agent.js';
import { WirelockError } from '../../src/errors.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { certificatePin, toPem } from '../../src/x509/certificate.js';
import { issueCertificate, generateKeys, issueChain, buildTbsCertificate, signTbs } from '../../src/x509/issue.js';
import { concat, readNode } from '../../src/x509/der.js';
import { createTestPki } from './pki.js';
import { issueLeaf } from '../../src/lab/pki.js';
import type { ViolationReport } from '../../src/transport/report.js';

const run = promisify(execFile);
const pki = createTestPki();
const SECRET = 'card=4111111111111111';
const servers: CountingServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'wirelock-transport-'));

async function server(options: Parameters<typeof startCountingServer>[0]): Promise<CountingServer> {
  const started = await startCountingServer(options);
  servers.push(started);
  return started;
}

/** The policy the legitimate deployment would ship: its own root, its intermediate pinned plus a backup. */
function policyFor(extra: Record<string, unknown> = {}, domain: Record<string, unknown> = {}) {
  return {
    version: 1,
    trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
    ...extra,
    domains: { '127.0.0.1': { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin], ...domain } },
  };
}

async function expectBlocked(promise: Promise<unknown>, code: string, target: CountingServer): Promise<WirelockError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected ${code}, the request succeeded`),
    (error: unknown) => {
      caught = error;
    },
  );
  assert.ok(caught instanceof WirelockError, `expected a WirelockError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(target.connections >= 1, 'the client really reached the attacker');
  assert.equal(target.applicationBytes, 0, 'no byte of application data reached the server');
  assert.ok(!target.captured.includes(SECRET));
  return caught;
}

function post(url: string, fetchImpl = createFetch(policyFor())) {
  return fetchImpl(url, { method: 'POST', body: SECRET });
}

async function childClient(mode: 'plain' | 'wirelock', url: string, env: Record<string, string> = {}, nodeFlags: string[] = []) {
  const { stdout } = await run(process.execPath, [...nodeFlags, '--import', 'tsx', 'test/fixtures/transport/client.ts'], {
    env: { ...process.env, MODE: mode, TARGET_URL: url, SECRET, POLICY_JSON: JSON.stringify(policyFor()), ...env },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; status?: number; code?: string };
}

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

test('the legitimate server is reached and receives the request', async () => {
  const origin = await server(pki.serverOptions(pki.legit));
  const response = await post(origin.url('127.0.0.1', '/pay'));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, path: '/pay' });
  assert.ok(origin.captured.includes(SECRET));
});

test('ERR_CERT_UNTRUSTED: a rogue CA installed through NODE_EXTRA_CA_CERTS (positive control: plain fetch accepts it)', async () => {
  const attacker = await server(pki.serverOptions(pki.rogue));
  const caFile = join(dir, 'rogue-root.pem');
  writeFileSync(caFile, pki.rogue.root.pem);
  const plain = await childClient('plain', attacker.url('127.0.0.1', '/pay'), { NODE_EXTRA_CA_CERTS: caFile });
  assert.equal(plain.ok, true, 'Node\'s plain fetch trusts the user-installed CA');
  assert.ok(attacker.captured.includes(SECRET), 'the attacker read the secret from the plain client');
  attacker.reset();
  const protectedResult = await childClient('wirelock', attacker.url('127.0.0.1', '/pay'), { NODE_EXTRA_CA_CERTS: caFile });
  assert.deepEqual([protectedResult.ok, protectedResult.code], [false, 'ERR_CERT_UNTRUSTED']);
  assert.equal(attacker.applicationBytes, 0);
  await expectBlocked(post(attacker.url('127.0.0.1', '/pay')), 'ERR_CERT_UNTRUSTED', attacker);
});

test('ERR_CERT_UNTRUSTED: a rogue CA in the OpenSSL store used through --use-openssl-ca (positive control: plain fetch accepts it)', async () => {
  const attacker = await server(pki.serverOptions(pki.rogue));
  const caFile = join(dir, 'rogue-openssl-store.pem');
  writeFileSync(caFile, pki.rogue.root.pem);
  const env = { SSL_CERT_FILE: caFile, SSL_CERT_DIR: dir, NODE_EXTRA_CA_CERTS: '' };
  const plain = await childClient('plain', attacker.url('127.0.0.1', '/pay'), env, ['--use-openssl-ca']);
  assert.equal(plain.ok, true, JSON.stringify(plain));
  assert.ok(attacker.captured.includes(SECRET));
  attacker.reset();
  const protectedResult = await childClient('wirelock', attacker.url('127.0.0.1', '/pay'), env, ['--use-openssl-ca']);
  assert.deepEqual([protectedResult.ok, protectedResult.code], [false, 'ERR_CERT_UNTRUSTED']);
  assert.equal(attacker.applicationBytes, 0);
});

test('ERR_CERT_UNTRUSTED: a self-signed certificate', async () => {
  const keys = generateKeys();
  const selfSigned = issueCertificate({ subject: { commonName: '127.0.0.1' }, keys, ipAddresses: ['127.0.0.1'] });
  const attacker = await server({ cert: selfSigned.pem, key: selfSigned.keyPem });
  await expectBlocked(post(attacker.url()), 'ERR_CERT_UNTRUSTED', attacker);
});

test('ERR_PIN_MISMATCH: a trusted but compromised CA, with a message ready to paste', async () => {
  const attacker = await server(pki.serverOptions(pki.compromised));
  const error = await expectBlocked(post(attacker.url()), 'ERR_PIN_MISMATCH', attacker);
  assert.match(error.message, /Certificate pinning failure for 127\.0\.0\.1!/);
  assert.ok(error.message.includes(certificatePin(pki.compromised.leaf.der)), 'lists the served chain pins');
  assert.ok(error.message.includes(certificatePin(pki.compromised.root.der)), 'lists the anchor');
  assert.ok(error.message.includes(certificatePin(pki.legit.intermediate.der)), 'lists the configured pins');
  assert.match(error.message, /Compromised Public CA/);
  assert.equal(error.host, '127.0.0.1');
  assert.equal(error.port, attacker.port);
});

test('ERR_PIN_MISMATCH: CVE-2016-2402, the pinned certificate appended to a rogue chain does not satisfy the pin', async () => {
  const attacker = await server(pki.serverOptions(pki.compromised, pki.legit.intermediate, pki.legit.root));
  await expectBlocked(post(attacker.url()), 'ERR_PIN_MISMATCH', attacker);
});

test('ERR_CERT_EXPIRED: an expired leaf from the legitimate CA', async () => {
  const expired = issueCertificate({
    subject: { commonName: '127.0.0.1' },
    keys: generateKeys(),
    issuer: pki.legit.intermediate,
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(Date.now() - 40 * 864e5),
    notAfter: new Date(Date.now() - 864e5),
  });
  const attacker = await server({ cert: expired.pem + pki.legit.intermediate.pem, key: expired.keyPem });
  await expectBlocked(post(attacker.url()), 'ERR_CERT_EXPIRED', attacker);
});

test('ERR_CERT_HOSTNAME: a valid certificate for another host', async () => {
  const other = issueCertificate({ subject: { commonName: 'other.example' }, keys: generateKeys(), issuer: pki.legit.intermediate, dnsNames: ['other.example'] });
  const attacker = await server({ cert: other.pem + pki.legit.intermediate.pem, key: other.keyPem });
  await expectBlocked(post(attacker.url()), 'ERR_CERT_HOSTNAME', attacker);
});

test('ERR_TLS_VERSION: a server that only speaks TLS 1.0/1.1', async () => {
  const legacy = await server({ ...pki.serverOptions(pki.legit), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  await expectBlocked(post(legacy.url()), 'ERR_TLS_VERSION', legacy);
});

test('ERR_CLEARTEXT_BLOCKED: http, and an https -> http redirect', async () => {
  const cleartext = await server({});
  await expectBlocked(post(cleartext.url('127.0.0.1', '/pay')), 'ERR_CLEARTEXT_BLOCKED', { ...cleartext, connections: 1 } as CountingServer);
  assert.equal(cleartext.connections, 0, 'no socket was even opened');
  const redirector = await server({
    ...pki.serverOptions(pki.legit),
    respond: (_req, res) => {
      res.writeHead(307, { location: cleartext.url('127.0.0.1', '/pay') });
      res.end();
    },
  });
  await expectBlocked(post(redirector.url('127.0.0.1', '/start')), 'ERR_CLEARTEXT_BLOCKED', { ...cleartext, connections: 1 } as CountingServer);
  assert.equal(redirector.requests.length, 1, 'the first hop was served');
  assert.equal(cleartext.connections, 0);
});

test('ERR_HOST_NOT_ALLOWED: unlisted hosts blocked as an egress allowlist', async () => {
  const elsewhere = await server(pki.serverOptions(pki.legit));
  const fetchAllowlisted = createFetch(policyFor({ unlistedHosts: 'block' }));
  const error = await expectBlocked(fetchAllowlisted(elsewhere.url('localhost', '/exfil'), { method: 'POST', body: SECRET }), 'ERR_HOST_NOT_ALLOWED', { ...elsewhere, connections: 1 } as CountingServer);
  assert.equal(error.host, 'localhost');
  assert.equal(elsewhere.connections, 0);
});

test('NODE_TLS_REJECT_UNAUTHORIZED=0 set at run time has no effect (positive control: https.get accepts anything)', async () => {
  const attacker = await server(pki.serverOptions(pki.rogue));
  const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  const warn = process.emitWarning;
  process.emitWarning = () => {};
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request(attacker.url('127.0.0.1', '/pay'), { method: 'POST', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(SECRET);
    });
    assert.equal(status, 200);
    assert.ok(attacker.captured.includes(SECRET), 'the plain client was intercepted');
    attacker.reset();
    await expectBlocked(post(attacker.url('127.0.0.1', '/pay')), 'ERR_CERT_UNTRUSTED', attacker);
  } finally {
    if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
    process.emitWarning = warn;
  }
});

test('a resumable TLS session offered to the agent does not skip the checks', async () => {
  const attacker = await server(pki.serverOptions(pki.compromised));
  // A session obtained by a connection that trusted the server.
  const session = await new Promise<Buffer>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: attacker.port, ca: pki.compromised.root.pem });
    socket.once('session', (s) => {
      resolve(s);
      socket.end();
    });
    socket.once('error', reject);
  });
  attacker.reset();
  const agent = createAgent(policyFor());
  const result = new Promise<void>((resolve, reject) => {
    const req = https.request(attacker.url('127.0.0.1', '/pay'), { method: 'POST', agent, session } as https.RequestOptions, () => resolve());
    req.on('error', reject);
    req.end(SECRET);
  });
  await expectBlocked(result, 'ERR_PIN_MISMATCH', attacker);
  agent.destroy();
});

test('connections are not shared between hosts with different policies on the same address', async () => {
  const shared = await server(pki.serverOptions(pki.legit));
  const lookup = ((_host: string, options: unknown, callback: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    if ((options as { all?: boolean })?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  }) as never;
  const wrongPins = ['sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=', pki.backupPin];
  const fetchTwoHosts = createFetch(
    {
      version: 1,
      trustAnchors: [pki.legit.root.pem],
      domains: {
        'a.wirelock.test': { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] },
        'b.wirelock.test': { pins: wrongPins },
      },
    },
    { lookup },
  );
  const ok = await fetchTwoHosts(shared.url('a.wirelock.test', '/a'));
  assert.equal(ok.status, 200);
  await ok.text();
  const before = shared.applicationBytes;
  await assert.rejects(fetchTwoHosts(shared.url('b.wirelock.test', '/b'), { method: 'POST', body: SECRET }), (error: unknown) => error instanceof WirelockError && error.code === 'ERR_PIN_MISMATCH');
  assert.equal(shared.applicationBytes, before, 'the pooled a.wirelock.test connection was not reused for b.wirelock.test');
  assert.equal(shared.requests.length, 1);
});

test('report-only mode never blocks what Node itself would allow (a user-installed CA), and reports it', async () => {
  const attacker = await server(pki.serverOptions(pki.rogue));
  const caFile = join(dir, 'rogue-root-report-only.pem');
  writeFileSync(caFile, pki.rogue.root.pem);
  const viaChild = await childClient('wirelock', attacker.url(), { NODE_EXTRA_CA_CERTS: caFile, POLICY_JSON: JSON.stringify(policyFor({ mode: 'report-only' })) });
  assert.equal(viaChild.ok, true);
  assert.ok(attacker.captured.includes(SECRET), 'report-only is as open as an unprotected client');
  const reports: ViolationReport[] = [];
  const enforcing = createFetch(policyFor(), { onViolation: (r) => reports.push(r) });
  attacker.reset();
  await expectBlocked(post(attacker.url(), enforcing), 'ERR_CERT_UNTRUSTED', attacker);
  assert.equal(reports.length, 1, 'a block by OpenSSL verification is reported too');
  assert.equal(reports[0]!.code, 'ERR_CERT_UNTRUSTED');
  assert.equal(reports[0]!.blocked, true);
});

test('TLS 1.2 handshakes are checked before any byte is sent too', async () => {
  const attacker = await server({ ...pki.serverOptions(pki.compromised), maxVersion: 'TLSv1.2' });
  await expectBlocked(post(attacker.url()), 'ERR_PIN_MISMATCH', attacker);
  const origin = await server({ ...pki.serverOptions(pki.legit), maxVersion: 'TLSv1.2' });
  assert.equal((await post(origin.url())).status, 200);
});

test('IPv6 loopback literals are matched and enforced', async () => {
  const v6 = issueChain({ hostnames: ['::1'], rootName: 'V6 Root' });
  const origin = await server({ cert: v6.leaf.pem + v6.intermediate.pem, key: v6.leaf.keyPem, host: '::1' });
  const fetchV6 = createFetch({ version: 1, trustAnchors: [v6.root.pem], domains: { '[::1]': { pins: [certificatePin(v6.intermediate.der), pki.backupPin] } } });
  assert.equal((await fetchV6(origin.url('::1', '/v6'))).status, 200);
  const wrongPins = createFetch({ version: 1, trustAnchors: [v6.root.pem], domains: { '::1': { pins: [pki.backupPin, certificatePin(pki.legit.root.der)] } } });
  origin.reset();
  await expectBlocked(wrongPins(origin.url('::1', '/v6'), { method: 'POST', body: SECRET }), 'ERR_PIN_MISMATCH', origin);
});

test('an https -> http redirect is a downgrade even where cleartext to the target is allowed', async () => {
  const cleartext = await server({});
  const loopbackCleartext = createFetch(policyFor({ cleartext: 'allow-loopback' }));
  const direct = await loopbackCleartext(cleartext.url('127.0.0.1', '/direct'));
  assert.equal(direct.status, 200, 'cleartext to loopback is allowed by this policy');
  await direct.text();
  cleartext.reset();
  const redirector = await server({
    ...pki.serverOptions(pki.legit),
    respond: (_req, res) => {
      res.writeHead(302, { location: cleartext.url('127.0.0.1', '/pay') });
      res.end();
    },
  });
  const error = await expectBlocked(loopbackCleartext(redirector.url('127.0.0.1', '/start')), 'ERR_CLEARTEXT_BLOCKED', { ...cleartext, connections: 1 } as CountingServer);
  assert.equal(error.details.downgrade, true);
  assert.equal(cleartext.connections, 0);
});

test('a trusted certificate that is BER, not DER, is refused with ERR_CERT_MALFORMED instead of crashing the process', async () => {
  // OpenSSL accepts a non-minimal length and verifies the signature over the bytes as sent; wirelock's
  // strict DER reader refuses them. That refusal used to be thrown out of checkServerIdentity,
  // i.e. from inside the TLS handshake callback: an uncaught exception that killed the client.
  const keys = generateKeys();
  const { tbs, signatureAlgorithm } = buildTbsCertificate({ subject: { commonName: '127.0.0.1' }, keys, issuer: pki.legit.intermediate, ipAddresses: ['127.0.0.1'] });
  const header = readNode(tbs);
  const length = header.end - header.contentStart;
  const berTbs = concat([Uint8Array.of(0x30, 0x84, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff), tbs.subarray(header.contentStart)]);
  const leaf = { pem: toPem(signTbs(berTbs, signatureAlgorithm, pki.legit.intermediate.keys)), keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  const attacker = await server({ cert: leaf.pem + pki.legit.intermediate.pem, key: leaf.keyPem });
  // Positive control: Node (OpenSSL) trusts this chain.
  const plainStatus = await new Promise<number | undefined>((resolve, reject) => {
    https.get(attacker.url('127.0.0.1', '/'), { ca: pki.legit.root.pem, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', reject);
  });
  assert.equal(plainStatus, 200);
  attacker.reset();
  const error = await expectBlocked(post(attacker.url('127.0.0.1', '/pay')), 'ERR_CERT_MALFORMED', attacker);
  assert.equal(error.host, '127.0.0.1');
  const reportOnly = await expectBlocked(post(attacker.url('127.0.0.1', '/pay'), createFetch(policyFor({ mode: 'report-only' }))), 'ERR_CERT_MALFORMED', attacker);
  assert.equal(reportOnly.code, 'ERR_CERT_MALFORMED');
});

test('an IP servername with a pinned host name: the pins are not skipped by looking up one name and verifying another', async () => {
  // The policy pins localhost; 127.0.0.1 is unlisted. https.request({ host: 'localhost', servername: '127.0.0.1' })
  // used to look the policy up by the servername (no pins) while Node verified the certificate for
  // the host ('localhost'): a compromised CA's certificate for the pinned name was accepted.
  const leaf = issueLeaf(pki.compromised.intermediate, { hostnames: ['localhost'] });
  const attacker = await server(pki.serverOptions({ leaf, intermediate: pki.compromised.intermediate }));
  const policy = {
    version: 1,
    trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
    domains: { localhost: { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] } },
  };
  const send = (agent: https.Agent, options: https.RequestOptions) =>
    new Promise<number | undefined>((resolve, reject) => {
      const req = https.request({ host: 'localhost', port: attacker.port, path: '/pay', method: 'POST', agent, ...options }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end(SECRET);
    });
  const agent = createAgent(policy, { lookup: ((_h: string, o: unknown, c: unknown) => {
    const cb = (typeof o === 'function' ? o : c) as (...args: unknown[]) => void;
    if ((o as { all?: boolean })?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  }) as never });
  // Positive control: without the servername trick the pin is enforced.
  await expectBlocked(send(agent, {}), 'ERR_PIN_MISMATCH', attacker);
  attacker.reset();
  // The destination (localhost, pinned) decides the policy; a servername that would select the
  // unpinned 127.0.0.1 rules is refused before any connection is made.
  const refused = await send(agent, { servername: '127.0.0.1' }).then(() => assert.fail('the request succeeded'), (error: unknown) => error);
  assert.ok(refused instanceof WirelockError && refused.code === 'ERR_SERVERNAME_MISMATCH', String(refused));
  assert.equal(attacker.connections, 0, 'refused before a TCP connection exists');
  assert.equal(attacker.applicationBytes, 0, 'no byte of application data reached the server');
  agent.destroy();
});

test('a host name with two trailing dots is not an unlisted host that Node still verifies as the pinned name', async () => {
  // WHATWG URL keeps "localhost..", and Node's checkServerIdentity strips a trailing dot twice, so it
  // accepted a certificate for localhost; the policy lookup did not recognize the name and applied
  // the global rules (no pins). A compromised CA's certificate for the pinned host got through.
  const attacker = await server(pki.serverOptions(pki.compromised));
  const lookup = ((_host: string, options: unknown, callback: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
    if ((options as { all?: boolean })?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  }) as never;
  const pinned = createFetch(
    {
      version: 1,
      trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
      domains: { localhost: { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] } },
    },
    { lookup },
  );
  // Positive control: the plain name is pinned.
  await expectBlocked(post(attacker.url('localhost', '/pay'), pinned), 'ERR_PIN_MISMATCH', attacker);
  attacker.reset();
  const blocked = await post(attacker.url('localhost', '/pay').replace('localhost:', 'localhost..:'), pinned).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(blocked instanceof WirelockError, `expected a WirelockError, got ${String(blocked)}`);
  assert.equal(attacker.applicationBytes, 0, 'no byte of application data reached the server');
});

test('allow-loopback: a loopback *name* that the resolver maps elsewhere is not cleartext to loopback', async () => {
  // "localhost." and "*.localhost" are loopback names to the policy, but glibc sends them to DNS
  // (they are not in /etc/hosts), where a network attacker answers. 0.0.0.0 stands for the
  // attacker's address here: not a loopback address, yet it keeps the test on this host.
  const cleartext = await server({});
  const resolveTo = (address: string) =>
    ((_host: string, options: unknown, callback: unknown) => {
      const cb = (typeof options === 'function' ? options : callback) as (...args: unknown[]) => void;
      if ((options as { all?: boolean })?.all) cb(null, [{ address, family: 4 }]);
      else cb(null, address, 4);
    }) as never;
  const policy = { version: 1, cleartext: 'allow-loopback' };
  // Positive control: the name resolving to 127.0.0.1 is allowed in cleartext.
  const ok = await createFetch(policy, { lookup: resolveTo('127.0.0.1') })(cleartext.url('localhost.', '/ok'));
  assert.equal(ok.status, 200);
  await ok.text();
  cleartext.reset();
  const spoofed = createFetch(policy, { lookup: resolveTo('0.0.0.0') });
  for (const name of ['localhost.', 'evil.localhost']) {
    await expectBlocked(post(cleartext.url(name, '/pay'), spoofed), 'ERR_CLEARTEXT_BLOCKED', { ...cleartext, connections: 1 } as CountingServer);
  }
  assert.equal(cleartext.connections, 0, 'no socket was opened to the non-loopback address');
  const agent = createHttpAgent(policy, { lookup: resolveTo('0.0.0.0') });
  const viaAgent = new Promise<void>((resolve, reject) => {
    const req = http.request(cleartext.url('localhost.', '/pay'), { method: 'POST', agent }, () => resolve());
    req.on('error', reject);
    req.end(SECRET);
  });
  await expectBlocked(viaAgent, 'ERR_CLEARTEXT_BLOCKED', { ...cleartext, connections: 1 } as CountingServer);
  assert.equal(cleartext.connections, 0);
  agent.destroy();
});
