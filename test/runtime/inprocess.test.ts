// lockdown() in this very process (the test runner runs under `--import tsx`, a preload that is
// allow-listed by name here): http2 goes through the policy too, and release() puts every slot
// back exactly.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SLOTS, readSlot } from '../../src/runtime/builtins.js';
import { lockdown } from '../../src/runtime/lockdown.js';
import { issueChain } from '../../src/x509/issue.js';

function h2Get(port: number, ca?: string): Promise<{ body?: string; error?: string }> {
  return new Promise((resolve) => {
    const client = http2.connect(`https://127.0.0.1:${port}`, ca ? { ca } : {});
    let settled = false;
    const done = (value: { body?: string; error?: string }): void => {
      if (settled) return;
      settled = true;
      client.close();
      resolve(value);
    };
    client.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    const request = client.request({ ':path': '/' });
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => done({ body }));
    request.on('error', () => undefined);
    request.end();
  });
}

test('http2.connect runs under the policy: the legitimate server works, a certificate from a CA the client itself passes is refused', async () => {
  const legit = issueChain({ hostnames: ['127.0.0.1'], rootName: 'H2 Legit Root' });
  const rogue = issueChain({ hostnames: ['127.0.0.1'], rootName: 'H2 Rogue Root' });
  let streams = 0;
  const server = http2.createSecureServer({ cert: legit.leaf.pem + legit.intermediate.pem, key: legit.leaf.keyPem }, (_req, res) => {
    streams++;
    res.end('h2 ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const handle = lockdown({ version: 1, trustAnchors: [legit.root.pem], domains: { '127.0.0.1': {} } }, { allow: { hookers: ['tsx'] } });
  try {
    assert.equal(handle.blockingFinding(), undefined);
    assert.deepEqual(await h2Get(port), { body: 'h2 ok' });
    server.setSecureContext({ cert: rogue.leaf.pem + rogue.intermediate.pem, key: rogue.leaf.keyPem });
    streams = 0;
    const refused = await h2Get(port, rogue.root.pem);
    assert.equal(refused.error, 'ERR_CERT_UNTRUSTED');
    assert.equal(streams, 0);
  } finally {
    handle.release();
    server.close();
  }
  // Positive control: without lockdown the same client trusts the CA it passes.
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const controlPort = (server.address() as AddressInfo).port;
  assert.deepEqual(await h2Get(controlPort, rogue.root.pem), { body: 'h2 ok' });
  server.close();
});

test('release() puts every watched slot back to the value it had before lockdown', () => {
  const before = SLOTS.map((slot) => [slot.name, readSlot(slot)] as const);
  const descriptors = SLOTS.map((slot) => Reflect.getOwnPropertyDescriptor(slot.target, slot.key));
  const handle = lockdown({ version: 1 }, { allow: { hookers: ['tsx'] } });
  assert.notEqual(readSlot(SLOTS.find((slot) => slot.name === 'tls.connect')!), before.find(([name]) => name === 'tls.connect')![1]);
  handle.release();
  for (const [index, slot] of SLOTS.entries()) {
    if (slot.name === 'undici.globalDispatcher') continue;
    assert.equal(readSlot(slot), before[index]![1], slot.name);
    const descriptor = Reflect.getOwnPropertyDescriptor(slot.target, slot.key);
    assert.equal(Boolean(descriptor?.get), Boolean(descriptors[index]?.get), `${slot.name} descriptor kind`);
  }
  // A second lockdown is possible after release, never two at once.
  const again = lockdown({ version: 1 }, { allow: { hookers: ['tsx'] } });
  assert.throws(() => lockdown({ version: 1 }), { code: 'ERR_USAGE' });
  again.release();
});
