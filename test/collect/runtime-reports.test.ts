// Lockdown's runtime findings reach the fleet: a compromised dependency hooks fetch after lockdown, and the
// finding arrives at the collector named in the policy's report URI, as a runtime-finding report.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, type Collector } from '../../src/collect/server.js';
import { openStore } from '../../src/collect/backends.js';
import type { SqlClient } from '../../src/collect/store.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { join } from 'node:path';
import { attack, ROOT, runApp } from '../runtime/support.js';
import { createTestPki } from '../transport/pki.js';
import { get, tempDir, waitFor } from './support.js';

const pki = createTestPki();
let store: SqlClient;
let collector: Collector;
let origin: CountingServer;

before(async () => {
  store = await openStore(tempDir());
  collector = await startCollector({ db: store, port: 0 });
  origin = await startCountingServer(pki.serverOptions(pki.legit));
});
after(async () => {
  await origin.close();
  await collector.close();
  await store.close();
});

test('a hooked fetch under lockdown (report mode) is reported to the collector as a runtime finding', async () => {
  const policy = {
    version: 1,
    trustAnchors: [pki.legit.root.pem],
    report: { uri: `${collector.url}/api/reports`, rateLimitSeconds: 0 },
    domains: { localhost: { pins: [pki.legitPin, pki.backupPin] } },
  };
  const result = await runApp({
    script: join(ROOT, 'test/fixtures/collect/lockdown-app.mjs'),
    env: { POLICY_JSON: JSON.stringify(policy), DEPENDENCY: attack('replace-fetch.mjs') },
  });
  const hooked = result.findings.find((finding) => finding.key.includes('fetch') && ['high', 'critical'].includes(finding.severity));
  assert.ok(hooked, `lockdown saw the hook: ${JSON.stringify(result.findings.map((f) => f.key))}`);
  const reports = await waitFor(async () => {
    const found = JSON.parse((await get(collector.url, '/api/reports?host=runtime')).text).reports as Array<Record<string, any>>;
    return found.some((r) => r.details?.finding === hooked.key) ? found : undefined;
  }, 'the runtime finding at the collector');
  const report = reports.find((r) => r.details?.finding === hooked.key)!;
  assert.equal(report.kind, 'runtime-finding');
  assert.equal(report.code, 'ERR_ENV_COMPROMISED');
  assert.equal(report.details.severity, hooked.severity);
  assert.equal(report.blocked, false, 'report mode: nothing was blocked');
});
