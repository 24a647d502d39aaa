// Nothing acknowledged is lost: the collector (the built CLI, embedded store) is SIGKILLed in the middle of a
// stream of reports, restarted on the same folder, and must hold every report it answered 202 for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki } from '../transport/pki.js';
import { killDuringIngest, tempDir } from './support.js';

test('kill -9 during ingest: every acknowledged report is in the embedded store after restart', async () => {
  const { acked, lost, killed } = await killDuringIngest(tempDir(), 60, createTestPki().legit);
  assert.ok(killed, 'the collector was killed, not stopped');
  assert.ok(acked.size >= 60, `acknowledged ${acked.size}`);
  assert.deepEqual(lost, [], `${lost.length} acknowledged reports lost after kill -9`);
});
