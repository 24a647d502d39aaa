import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { operatorAt, parseLogList, verifyLogListSignature } from '../../src/ct/loglist.js';
import { createTestLog, writeLogList } from '../../src/ct/testlog.js';
import { WirelockError } from '../../src/errors.js';
import { generateKeys } from '../../src/x509/issue.js';

const logA = createTestLog({ name: 'A', operator: 'Op A' });
const logB = createTestLog({ name: 'B', operator: 'Op B', tiled: true, keyAlgorithm: 'rsa-2048' });

function listWith(mutate: (doc: Record<string, any>) => void): string {
  const doc = JSON.parse(writeLogList([logA, logB]).json) as Record<string, any>;
  mutate(doc);
  return JSON.stringify(doc);
}

test('a written list parses back: logs, tiled logs, states, operators', () => {
  const written = writeLogList([logA, logB], { version: '3.1' });
  const list = parseLogList(written.bytes);
  assert.equal(list.version, '3.1');
  assert.equal(list.logs.size, 2);
  assert.equal(list.logs.get(logA.logIdBase64)?.operator, 'Op A');
  assert.equal(list.logs.get(logB.logIdBase64)?.tiled, true);
  assert.equal(list.logs.get(logB.logIdBase64)?.state?.name, 'usable');
  verifyLogListSignature(written.bytes, written.signature, written.publicKeyPem);
});

test('unknown fields anywhere are tolerated', () => {
  const text = listWith((doc) => {
    doc.future_top_level = { anything: [1, 2] };
    doc.operators[0].new_operator_field = true;
    doc.operators[0].logs[0].fancy = 'x';
    doc.operators[0].logs[0].state.usable.version = '77';
    doc.operators[1].tiled_logs[0].log_type = 'new-kind';
  });
  const list = parseLogList(text);
  assert.equal(list.logs.size, 2);
  assert.equal(list.logs.get(logB.logIdBase64)?.logType, 'new-kind');
});

test('temporal_interval, previous_operators and a missing state are understood', () => {
  const list = parseLogList(listWith((doc) => {
    doc.operators[0].logs[0].temporal_interval = { start_inclusive: '2026-01-01T00:00:00Z', end_exclusive: '2027-01-01T00:00:00Z' };
    doc.operators[0].logs[0].previous_operators = [
      { name: 'Second', end_time: '2025-01-01T00:00:00Z' },
      { name: 'First', end_time: '2024-01-01T00:00:00Z' },
    ];
    delete doc.operators[1].tiled_logs[0].state;
  }));
  const a = list.logs.get(logA.logIdBase64)!;
  assert.deepEqual(a.temporalInterval, { start: Date.parse('2026-01-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z') });
  assert.equal(operatorAt(a, Date.parse('2023-06-01T00:00:00Z')), 'First');
  assert.equal(operatorAt(a, Date.parse('2024-06-01T00:00:00Z')), 'Second');
  assert.equal(operatorAt(a, Date.parse('2025-06-01T00:00:00Z')), 'Op A');
  assert.equal(list.logs.get(logB.logIdBase64)!.state, undefined);
});

test('an entry whose log_id is not the hash of its key is skipped, not trusted', () => {
  const list = parseLogList(listWith((doc) => {
    doc.operators[0].logs[0].log_id = logB.logIdBase64;
  }));
  assert.equal(list.logs.has(logB.logIdBase64), true);
  assert.equal(list.logs.get(logB.logIdBase64)?.description, 'B');
  assert.equal(list.logs.has(logA.logIdBase64), false);
  assert.match(list.skipped[0]!.reason, /not SHA-256 of the key/);
});

test('structural errors are ERR_CT_LOG_LIST with a JSON pointer', () => {
  const cases: Array<[string, string]> = [
    ['not json', ''],
    ['[]', ''],
    [listWith((doc) => delete doc.operators), '/operators'],
    [listWith((doc) => (doc.operators[0].logs = {})), '/operators/0/logs'],
    [listWith((doc) => (doc.operators[0].logs[0].state = { usable: {}, retired: {} })), '/operators/0/logs/0/state'],
    [listWith((doc) => (doc.operators[0].logs[0].state = { usable: { timestamp: 'yesterday' } })), '/operators/0/logs/0/state/usable/timestamp'],
    [listWith((doc) => (doc.log_list_timestamp = 5)), '/log_list_timestamp'],
    [listWith((doc) => doc.operators[0].logs.push(doc.operators[0].logs[0])), '/operators/0/logs/1/log_id'],
  ];
  for (const [text, pointer] of cases) {
    assert.throws(() => parseLogList(text, 'logs.json'), (error: unknown) => error instanceof WirelockError && error.code === 'ERR_CT_LOG_LIST' && error.details.pointer === pointer, `${pointer}: ${text.slice(0, 60)}`);
  }
});

test('fuzz: random JSON never crashes the parser with anything but ERR_CT_LOG_LIST', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const doc = { version: '1', operators: [{ name: 'x', logs: [value] }, value] };
      for (const text of [JSON.stringify(value), JSON.stringify(doc)]) {
        try {
          parseLogList(text);
        } catch (error) {
          if (!(error instanceof WirelockError) || error.code !== 'ERR_CT_LOG_LIST') throw error;
        }
      }
    }),
    { numRuns: 1000 },
  );
});

test('a list signature made by another key, or over other bytes, is refused', () => {
  const written = writeLogList([logA]);
  const other = generateKeys('rsa-2048');
  const otherPem = other.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  assert.throws(() => verifyLogListSignature(written.bytes, written.signature, otherPem), /does not verify/);
  assert.throws(() => verifyLogListSignature(written.bytes, written.signature, 'not a key'), /not a PEM public key/);
  assert.throws(() => verifyLogListSignature(written.bytes, new Uint8Array(0), written.publicKeyPem), /does not verify/);
  const rsaSigned = writeLogList([logA], { signingKey: other });
  verifyLogListSignature(rsaSigned.bytes, rsaSigned.signature, otherPem);
});
