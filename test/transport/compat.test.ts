import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import axios from 'axios';
import got from 'got';
import nodeFetch from 'node-fetch';
import { request } from 'undici';
import { createAgent, createHttpAgent } from '../../src/transport/agent.js';
import { createDispatcher } from '../../src/transport/dispatcher.js';
import { WirelockError } from '../../src/errors.js';
import { startCountingServer } from '../../src/lab/servers.js';
import { certificatePin } from '../../src/x509/certificate.js';
import { createTestPki } from './pki.js';

const pki = createTestPki();
const policy = {
  version: 1,
  trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
  domains: { '127.0.0.1': { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] } },
};
const origin = await startCountingServer(pki.serverOptions(pki.legit));
const attacker = await startCountingServer(pki.serverOptions(pki.compromised));
const cleartext = await startCountingServer({});
const agent = createAgent(policy);
const httpAgent = createHttpAgent(policy);
const dispatcher = createDispatcher(policy);
after(async () => {
  agent.destroy();
  httpAgent.destroy();
  await dispatcher.close();
  await Promise.all([origin.close(), attacker.close(), cleartext.close()]);
});

/** Finds the WirelockError however a library wraps it (node-fetch copies only its `code`). */
function wirelockCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    if (current instanceof WirelockError) return current.code;
    const code = (current as { code?: unknown }).code;
    if ((current as Error).name === 'FetchError' && typeof code === 'string' && code.startsWith('ERR_')) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const clients: Record<string, (url: string) => Promise<number>> = {
  'https.request': (url) =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { method: 'POST', agent }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('secret');
    }),
  axios: async (url) => (await axios.post(url, 'secret', { httpsAgent: agent, httpAgent, proxy: false })).status,
  got: async (url) => (await got.post(url, { body: 'secret', agent: { https: agent, http: httpAgent }, retry: { limit: 0 } })).statusCode,
  'node-fetch': async (url) => (await nodeFetch(url, { method: 'POST', body: 'secret', agent: (u: URL) => (u.protocol === 'http:' ? httpAgent : agent) })).status,
  'undici.request': async (url) => {
    const response = await request(url, { method: 'POST', body: 'secret', dispatcher });
    await response.body.dump();
    return response.statusCode;
  },
};

for (const [name, client] of Object.entries(clients)) {
  test(`${name}: allowed to the pinned origin, blocked on a pin mismatch and on cleartext, 0 bytes sent`, async () => {
    assert.equal(await client(origin.url('127.0.0.1', `/${name}`)), 200);
    attacker.reset();
    await assert.rejects(client(attacker.url('127.0.0.1', '/')), (error: unknown) => wirelockCode(error) === 'ERR_PIN_MISMATCH');
    assert.ok(attacker.connections >= 1);
    assert.equal(attacker.applicationBytes, 0);
    if (name !== 'https.request') {
      cleartext.reset();
      await assert.rejects(client(cleartext.url('127.0.0.1', '/')), (error: unknown) => wirelockCode(error) === 'ERR_CLEARTEXT_BLOCKED');
      assert.equal(cleartext.connections, 0);
    }
  });
}

test('a request option cannot switch verification off', async () => {
  attacker.reset();
  const attempt = new Promise<void>((resolve, reject) => {
    const req = https.request(attacker.url(), { agent, rejectUnauthorized: false, ca: pki.compromised.root.pem, checkServerIdentity: () => undefined }, (res) => {
      res.resume();
      resolve();
    });
    req.on('error', reject);
    req.end('secret');
  });
  await assert.rejects(attempt, (error: unknown) => wirelockCode(error) === 'ERR_PIN_MISMATCH');
  assert.equal(attacker.applicationBytes, 0);
});
