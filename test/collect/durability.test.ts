// Nothing acknowledged is lost: the collector (the built CLI, embedded store) is SIGKILLed in the middle of a
// stream of reports, restarted on the same folder, and must hold every report it answered 202 for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki } from '../transport/pki.js';
import { get, spawnCollector, streamThenKill, tempDir } from './support.js';

test('kill -9 during ingest: every acknowledged report is in the embedded store after restart', async () => {
  const pki = createTestPki();
  const dir = tempDir();
  const first = await spawnCollector(['--db', dir]);
  const acked = await streamThenKill(first.url, first.child, 60, pki.legit);
  assert.equal(await first.exited, null, 'the collector was killed, not stopped');
  assert.ok(acked.size >= 60, `acknowledged ${acked.size}`);

  const second = await spawnCollector(['--db', dir]);
  try {
    const { text } = await get(second.url, '/api/reports?host=durable.example.com&limit=1000');
    const stored = new Set(JSON.parse(text).reports.map((r: { clientId: string }) => r.clientId));
    const lost = [...acked].filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `${lost.length} acknowledged reports lost after kill -9`);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
});
