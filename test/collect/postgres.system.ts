// System suite: the collector on a real PostgreSQL server (Debian's postgresql, started here in a temp folder).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool } from '../support/system.js';
import { createTestPki } from '../transport/pki.js';
import { get, killDuringIngest, post, spawnCollector, startPostgres, trustKitReport } from './support.js';

const pki = createTestPki();
let postgres: Awaited<ReturnType<typeof startPostgres>>;

before(async () => {
  requireTool('pg_ctlcluster', 'postgresql');
  postgres = await startPostgres();
});
after(() => postgres?.stop());

test('kill -9 during ingest: every acknowledged report is in PostgreSQL after restart', async () => {
  const { acked, lost, killed } = await killDuringIngest(postgres.url, 200, pki.legit);
  assert.ok(killed, 'the collector was killed, not stopped');
  assert.ok(acked.size >= 200, `acknowledged ${acked.size}`);
  assert.deepEqual(lost, [], `${lost.length} acknowledged reports lost after kill -9`);
});

test('scale-out: several collector processes against one PostgreSQL share one store; migrations race safely', async () => {
  const collectors = await Promise.all([1, 2, 3].map(() => spawnCollector(['--db', postgres.url])));
  try {
    for (const [index, collector] of collectors.entries()) {
      const response = await post(collector.url, trustKitReport(pki.legit, { hostname: 'fleet.example.com', 'app-vendor-id': `fleet-${index}` }));
      assert.equal(response.status, 202);
    }
    // A resend to another process is still folded: the dedup key lives in the database, not in a process.
    assert.equal((await post(collectors[2]!.url, trustKitReport(pki.legit, { hostname: 'fleet.example.com', 'app-vendor-id': 'fleet-0' }))).status, 202);
    for (const collector of collectors) {
      const { text } = await get(collector.url, '/api/reports?host=fleet.example.com');
      assert.deepEqual(JSON.parse(text).reports.map((r: { clientId: string }) => r.clientId).sort(), ['fleet-0', 'fleet-1', 'fleet-2']);
    }
  } finally {
    for (const collector of collectors) collector.child.kill('SIGTERM');
    await Promise.all(collectors.map((c) => c.exited));
  }
});

test('a database URL with a password never appears in output', async () => {
  const withPassword = postgres.url.replace('wirelock@', 'wirelock:hunter2-secret@');
  const collector = await spawnCollector(['--db', withPassword]);
  collector.child.kill('SIGTERM');
  await collector.exited;
  assert.match(collector.output(), /postgres:\/\/wirelock:\*\*\*@127\.0\.0\.1/, 'the store is named, its password masked');
  assert.ok(!collector.output().includes('hunter2'));
});
