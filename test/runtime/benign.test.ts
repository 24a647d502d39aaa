// Known benign hookers under lockdown (onTamper "block"): with the allow-list they raise nothing
// above info and the app works; without it the same hooks are reported (so the allow-list, not
// blindness, is what keeps them quiet).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { certificatePin } from '../../src/x509/certificate.js';
import { issueChain } from '../../src/x509/issue.js';
import { benign, keys, runApp, labForThisFile, type AppResult, type Lab } from './support.js';

const lab = labForThisFile();

const MOCK_URL = 'https://api.wirelock.test/api';
/** Findings above info in the allow-listed benign runs: the false-positive count. */
const falsePositives: string[] = [];

function mockPolicy(lab: Lab): string {
  return JSON.stringify({ ...lab.policy, domains: { '127.0.0.1': {}, 'api.wirelock.test': {} } });
}

async function run(env: Record<string, string>): Promise<AppResult> {
  return runApp({ env: { ...lab.env(env), LOCKDOWN: 'block' } });
}

function assertQuiet(name: string, result: AppResult): void {
  const loud = keys(result, 'low');
  falsePositives.push(...loud.map((key) => `${name}: ${key}`));
  assert.deepEqual(loud, [], `${name}: ${JSON.stringify(result.findings, null, 1)}`);
}

describe('benign hookers under lockdown', { concurrency: false }, () => {
  for (const client of ['https', 'fetch'] as const) {
    test(`OpenTelemetry (real instrumentation-http and -undici), ${client}: traced, allowed, nothing above info`, async () => {
      lab.reset();
      const result = await run({ DEPENDENCY: benign('otel.mjs'), CLIENT: client, ALLOW: 'opentelemetry' });
      assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
      assert.ok(((result.dependency.after as { spans: string[] }).spans ?? []).length >= 1, 'the instrumentation really recorded a span');
      assert.ok(result.findings.some((f) => f.allowedBy === 'opentelemetry' && f.key.startsWith('hooked-api:')), 'the hooks were seen and attributed');
      assertQuiet(`opentelemetry/${client}`, result);
      assert.ok(lab.origin.requests.length >= 1);
    });
  }

  test('OpenTelemetry without the allow-list: its hooks are reported and block', async () => {
    lab.reset();
    const result = await run({ DEPENDENCY: benign('otel.mjs'), CLIENT: 'https' });
    assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED');
    const hook = result.findings.find((f) => f.key === 'hooked-api:https.request');
    assert.equal(hook?.severity, 'high');
    assert.equal(hook?.evidence.package, '@opentelemetry/instrumentation-http');
  });

  for (const client of ['https', 'fetch'] as const) {
    test(`nock in tests, ${client}: mocked response, nothing above info`, async () => {
      const result = await run({ DEPENDENCY: benign('nock.mjs'), CLIENT: client, ALLOW: 'nock', TARGET_URL: MOCK_URL, POLICY_JSON: mockPolicy(lab) });
      assert.deepEqual(result.outcome, { ok: true, status: 200, body: 'mocked by nock' });
      assertQuiet(`nock/${client}`, result);
    });
  }

  test('nock without the allow-list: its Proxy hook is refused and attributed to @mswjs/interceptors', async () => {
    const result = await run({ DEPENDENCY: benign('nock.mjs'), CLIENT: 'https', TARGET_URL: MOCK_URL, POLICY_JSON: mockPolicy(lab) });
    const hook = result.findings.find((f) => f.key.startsWith('tamper-attempt:'));
    assert.equal(hook?.severity, 'high', JSON.stringify(result.findings));
    assert.equal(hook?.evidence.origin, 'proxy');
    assert.equal(hook?.evidence.package, '@mswjs/interceptors');
    assert.equal((result.dependency.error as { code?: string } | undefined)?.code, 'ERR_ENV_COMPROMISED');
  });

  test('undici MockAgent as global dispatcher: mocked response, nothing above info', async () => {
    const result = await run({ DEPENDENCY: benign('mock-agent.mjs'), ALLOW: 'undici-mock', TARGET_URL: MOCK_URL, POLICY_JSON: mockPolicy(lab) });
    assert.deepEqual(result.outcome, { ok: true, status: 200, body: 'mocked by MockAgent' });
    assertQuiet('undici MockAgent', result);
    assert.equal(result.findings.find((f) => f.key === 'dispatcher-swapped:undici.globalDispatcher')?.allowedBy, 'undici-mock');
  });

  test('undici MockAgent without the allow-list is a swapped dispatcher', async () => {
    const result = await run({ DEPENDENCY: benign('mock-agent.mjs'), TARGET_URL: MOCK_URL, POLICY_JSON: mockPolicy(lab) });
    assert.equal(result.findings.find((f) => f.key === 'dispatcher-swapped:undici.globalDispatcher')?.severity, 'high');
  });

  test('corporate HTTPS_PROXY and corporate CA, both allow-listed: nothing above info, requests work', async () => {
    lab.reset();
    const corporate = issueChain({ hostnames: ['proxy.corp.test'], rootName: 'Corp Inspection CA' });
    const file = join(lab.dir, 'corp-ca.pem');
    writeFileSync(file, corporate.root.pem);
    const allow = { proxies: ['http://proxy.corp.test:3128'], trustedCas: [certificatePin(corporate.root.der)] };
    const env = { HTTPS_PROXY: 'http://proxy.corp.test:3128', https_proxy: 'http://proxy.corp.test:3128', NODE_EXTRA_CA_CERTS: file };
    const result = await run({ ...env, ALLOW_JSON: JSON.stringify(allow) });
    assert.equal(result.outcome?.ok, true, JSON.stringify(result.outcome));
    assertQuiet('corporate proxy + CA', result);
    // Control: the same environment without the allow-list is reported (medium: not blocking).
    const unlisted = await run(env);
    assert.deepEqual(keys(unlisted, 'medium').sort(), ['extra-ca:NODE_EXTRA_CA_CERTS', 'proxy-env:HTTPS_PROXY', 'proxy-env:https_proxy']);
  });

  test('false positives over all allow-listed benign fixtures: 0', () => {
    assert.deepEqual(falsePositives, []);
  });
});
