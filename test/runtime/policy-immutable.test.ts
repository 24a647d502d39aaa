// Review 3, finding A: the policy lockdown enforces is the object activeLockdown().policy hands to
// any module. It was frozen one level deep only: pushing a domain or renaming one let code running
// after lockdown reach an unlisted host with no refusal and no finding.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { activeLockdown, lockdown } from '../../src/runtime/lockdown.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { startLab, type Lab } from './support.js';

const SECRET = 'TOP-SECRET-BODY-4711';
let lab: Lab;
/** Unlisted: 127.0.0.2, with a certificate the policy's anchor accepts (only the egress rule stops it). */
let unlisted: CountingServer;

before(async () => {
  lab = await startLab();
  unlisted = await startCountingServer({ cert: lab.legit.leaf.pem + lab.legit.intermediate.pem, key: lab.legit.leaf.keyPem, host: '127.0.0.2' });
});
after(async () => {
  await Promise.all([lab.close(), unlisted.close()]);
});

function post(): Promise<string> {
  return new Promise((resolve) => {
    const request = https.request({ host: '127.0.0.2', port: unlisted.port, method: 'POST', path: '/exfil', ca: lab.legit.root.pem }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.statusCode)));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? String(error)));
    request.end(SECRET);
  });
}

async function underLockdown<T>(policy: Record<string, unknown>, body: () => Promise<T>): Promise<T> {
  const handle = lockdown(policy, { allow: { hookers: ['tsx'] } });
  try {
    return await body();
  } finally {
    handle.release();
  }
}

const mutations: Array<{ name: string; apply: (domains: Array<Record<string, unknown>>) => void }> = [
  { name: 'pushing a domain', apply: (domains) => domains.push({ ...domains[0], name: '127.0.0.2' }) },
  {
    name: 'renaming a domain',
    apply: (domains) => {
      domains[0]!.name = '127.0.0.2';
    },
  },
  { name: 'replacing a domain', apply: (domains) => domains.splice(0, 1, { ...domains[0], name: '127.0.0.2' }) },
];

for (const mutation of mutations) {
  test(`lockdown: ${mutation.name} through activeLockdown().policy throws, and 127.0.0.2 stays refused with 0 bytes at the server`, async () => {
    unlisted.reset();
    await underLockdown(lab.policy, async () => {
      const policy = activeLockdown()!.policy;
      assert.throws(() => mutation.apply(policy.domains as unknown as Array<Record<string, unknown>>), TypeError);
      assert.deepEqual(policy.domains.map((domain) => domain.name), ['127.0.0.1']);
      assert.equal(await post(), 'ERR_HOST_NOT_ALLOWED');
    });
    assert.equal(unlisted.connections, 0);
    assert.equal(unlisted.applicationBytes, 0);
  });
}

test('lockdown: nested parts of the live policy are frozen too (trust anchors, the top-level arrays)', async () => {
  await underLockdown(lab.policy, async () => {
    const policy = activeLockdown()!.policy;
    assert.throws(() => (policy.trustAnchors as unknown[]).push({ kind: 'builtin' }), TypeError);
    assert.throws(() => {
      (policy as { unlistedHosts: string }).unlistedHosts = 'allow';
    }, TypeError);
    assert.throws(() => {
      (policy.domains[0] as { includeSubdomains: boolean }).includeSubdomains = true;
    }, TypeError);
  });
});

test('positive control: the same server is reachable under lockdown when the policy lists 127.0.0.2', async () => {
  unlisted.reset();
  const status = await underLockdown({ ...lab.policy, domains: { '127.0.0.1': {}, '127.0.0.2': {} } }, post);
  assert.equal(status, '200');
  assert.ok(unlisted.requests.some((request) => request.body === SECRET));
});
