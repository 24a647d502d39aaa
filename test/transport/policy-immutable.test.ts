// Review 3, finding A, for the transport entry points: a policy the app keeps a reference to (a
// plain document or a defined policy) must not widen what an agent built from it allows when a
// dependency mutates it later.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { createAgent } from '../../src/transport/agent.js';
import { definePolicy } from '../../src/policy/define.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { issueChain } from '../../src/x509/issue.js';

const SECRET = 'TOP-SECRET-BODY-4711';
const chain = issueChain({ hostnames: ['127.0.0.1', '127.0.0.2'], rootName: 'Policy Immutable Root' });
let unlisted: CountingServer;

before(async () => {
  unlisted = await startCountingServer({ cert: chain.leaf.pem + chain.intermediate.pem, key: chain.leaf.keyPem, host: '127.0.0.2' });
});
after(async () => {
  await unlisted.close();
});

const documentListing = (hosts: string[]): { version: 1; unlistedHosts: 'block'; trustAnchors: string[]; domains: Record<string, Record<string, unknown>> } => ({
  version: 1,
  unlistedHosts: 'block',
  trustAnchors: [chain.root.pem],
  domains: Object.fromEntries(hosts.map((host) => [host, {}])),
});

function post(agent: https.Agent): Promise<string> {
  return new Promise((resolve) => {
    const request = https.request({ host: '127.0.0.2', port: unlisted.port, method: 'POST', path: '/exfil', agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.statusCode)));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    request.end(SECRET);
  });
}

test('createAgent: mutating the plain document after createAgent does not widen what the agent allows', async () => {
  unlisted.reset();
  const document = documentListing(['127.0.0.1']);
  const agent = createAgent(document);
  document.domains['127.0.0.2'] = {};
  document.unlistedHosts = 'allow' as 'block';
  assert.equal(await post(agent), 'ERR_HOST_NOT_ALLOWED');
  agent.destroy();
  assert.equal(unlisted.connections, 0);
});

test('createAgent: a defined policy the app keeps cannot be mutated (push, rename), and the agent still refuses 127.0.0.2', async () => {
  unlisted.reset();
  const policy = definePolicy(documentListing(['127.0.0.1']));
  const agent = createAgent(policy);
  assert.throws(() => (policy.domains as unknown[]).push({ ...policy.domains[0], name: '127.0.0.2' }), TypeError);
  assert.throws(() => {
    (policy.domains[0] as { name: string }).name = '127.0.0.2';
  }, TypeError);
  assert.equal(await post(agent), 'ERR_HOST_NOT_ALLOWED');
  agent.destroy();
  assert.equal(unlisted.connections, 0);
});

test('positive control: an agent whose policy lists 127.0.0.2 reaches the same server', async () => {
  unlisted.reset();
  const agent = createAgent(documentListing(['127.0.0.1', '127.0.0.2']));
  assert.equal(await post(agent), '200');
  agent.destroy();
  assert.ok(unlisted.requests.some((request) => request.body === SECRET));
});
