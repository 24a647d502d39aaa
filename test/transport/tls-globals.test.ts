// Finding G (review 3): Node fills a secure context's ciphers, maximum version and ECDH curve from
// tls.DEFAULT_* when none is given, at the moment the context is built (the first connection).
// Code running after wirelock loaded could set a NULL cipher and TLS 1.2 and read the request on the
// wire. Each scenario runs in a child (the globals are process-wide) behind a relay that records
// what crosses the "network".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { issueChain } from '../../src/x509/issue.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SECRET = 'Bearer TLS-GLOBALS-SECRET-4711';
// NULL-SHA256 is an RSA key-exchange suite: the server needs an RSA key to offer it.
const chain = issueChain({ hostnames: ['127.0.0.1'], keyAlgorithm: 'rsa-2048', rootName: 'TLS Globals Root' });
const dir = mkdtempSync(join(tmpdir(), 'wirelock-tls-globals-'));
let server: CountingServer;
let relay: net.Server;
let wire = '';

before(async () => {
  // A legacy/misconfigured server that accepts eNULL: whether the suite is used is the client's choice.
  server = await startCountingServer({ cert: chain.leaf.pem + chain.intermediate.pem, key: chain.leaf.keyPem, ciphers: 'ALL:eNULL:@SECLEVEL=0', minVersion: 'TLSv1.2' });
  relay = net.createServer((client) => {
    const upstream = net.connect(server.port, '127.0.0.1');
    client.on('data', (data: Buffer) => {
      wire += data.toString('latin1');
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => client.write(data));
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  writeFileSync(join(dir, 'root.pem'), chain.root.pem);
  writeFileSync(join(dir, 'policy.json'), JSON.stringify({ version: 1, unlistedHosts: 'block', trustAnchors: [join(dir, 'root.pem')], domains: { '127.0.0.1': {} } }));
  writeFileSync(join(dir, 'evil.mjs'), `import tls from 'node:tls';\ntls.DEFAULT_CIPHERS = 'NULL-SHA256:@SECLEVEL=0';\ntls.DEFAULT_MAX_VERSION = 'TLSv1.2';\n`);
});

after(async () => {
  await new Promise<void>((resolve) => relay.close(() => resolve()));
  await server.close();
});

type Client = 'agent' | 'register' | 'plain';

/** Runs one client in a child with a minimal environment; returns what it printed and what the relay saw. */
async function run(client: Client, attacked: boolean): Promise<{ result: { cipher?: string; protocol?: string; status?: number; error?: string }; sawSecret: boolean }> {
  wire = '';
  const port = (relay.address() as net.AddressInfo).port;
  const app = join(dir, `${client}-${attacked ? 'attacked' : 'clean'}.mjs`);
  const request = (agent: string): string =>
    `const r = https.request({ host: '127.0.0.1', port: ${port}, method: 'POST', ${agent} headers: { authorization: ${JSON.stringify(SECRET)} } }, (res) => { res.resume(); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, cipher: r.socket.getCipher().name, protocol: r.socket.getProtocol() }))); });\n` +
    `r.on('error', (e) => console.log(JSON.stringify({ error: e.code ?? e.message }))); r.end('body');\n`;
  // wirelock loads first, then the attacker's module, then the app's first connection.
  const evil = attacked ? `await import(${JSON.stringify(join(dir, 'evil.mjs'))});\n` : '';
  let source: string;
  if (client === 'agent') {
    source = `import https from 'node:https';\nimport { readFileSync } from 'node:fs';\nimport { createAgent } from ${JSON.stringify(join(ROOT, 'dist/index.js'))};\n` +
      `const agent = createAgent(JSON.parse(readFileSync(${JSON.stringify(join(dir, 'policy.json'))}, 'utf8')));\n${evil}${request('agent,')}`;
  } else if (client === 'register') {
    source = `import https from 'node:https';\n${evil}${request('')}`;
  } else {
    source = `import https from 'node:https';\nimport { readFileSync } from 'node:fs';\n${evil}${request(`ca: readFileSync(${JSON.stringify(join(dir, 'root.pem'))}, 'utf8'),`)}`;
  }
  writeFileSync(app, source);
  const args = client === 'register' ? ['--import', join(ROOT, 'dist/runtime/register.js'), app] : [app];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, ...(client === 'register' ? { WIRELOCK_POLICY: join(dir, 'policy.json') } : {}) };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, args, { env, timeout: 30_000 }, (error, out, err) => (error ? reject(new Error(`${client}: ${error.message}\n${err}`)) : resolve(out)));
  });
  const line = stdout.trim().split('\n').find((text) => text.startsWith('{'));
  assert.ok(line, `${client} printed no result: ${stdout}`);
  return { result: JSON.parse(line), sawSecret: wire.includes(SECRET) };
}

test('positive control: plain https with tls.DEFAULT_CIPHERS/DEFAULT_MAX_VERSION changed negotiates NULL-SHA256 and the secret crosses the wire', async () => {
  const { result, sawSecret } = await run('plain', true);
  assert.equal(result.cipher, 'NULL-SHA256', JSON.stringify(result));
  assert.equal(result.status, 200);
  assert.equal(sawSecret, true);
});

for (const client of ['agent', 'register'] as const) {
  const what = client === 'agent' ? 'createAgent' : 'lockdown (--import wirelock/register)';
  test(`${what}: globals changed after wirelock loaded do not reach its TLS (no NULL suite, no cleartext secret)`, async () => {
    const { result, sawSecret } = await run(client, true);
    assert.equal(sawSecret, false, JSON.stringify(result));
    // The server also speaks TLS 1.3 and strong suites: the request still succeeds, encrypted.
    assert.equal(result.status, 200, JSON.stringify(result));
    assert.ok(result.cipher && !/NULL/i.test(result.cipher), JSON.stringify(result));
    assert.equal(result.protocol, 'TLSv1.3');
  });

  test(`${what}: the request succeeds when nobody attacks`, async () => {
    const { result, sawSecret } = await run(client, false);
    assert.equal(result.status, 200, JSON.stringify(result));
    assert.equal(result.protocol, 'TLSv1.3');
    assert.equal(sawSecret, false);
  });
}
