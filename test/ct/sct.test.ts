import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSct, parseSctList, parseSctListExtension, serializeSct, serializeSctList, type Sct } from '../../src/ct/sct.js';
import { sctListsFromOcspResponse } from '../../src/ct/ocsp.js';
import { WirelockError } from '../../src/errors.js';
import { octetString } from '../../src/x509/der.js';

const sample: Sct = {
  version: 0,
  logId: new Uint8Array(32).fill(7),
  timestamp: 1_700_000_000_123,
  extensions: Uint8Array.of(1, 2, 3),
  hashAlgorithm: 4,
  signatureAlgorithm: 3,
  signature: new Uint8Array(70).fill(9),
};

function onlyTypedErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof WirelockError) || error.code !== 'ERR_SCT_MALFORMED') throw error;
  }
}

test('an SCT round-trips through its TLS encoding', () => {
  const bytes = serializeSct(sample);
  assert.equal(bytes.length, 1 + 32 + 8 + 2 + 3 + 2 + 2 + 70);
  const parsed = parseSct(bytes);
  assert.deepEqual({ ...parsed, logId: [...parsed.logId], extensions: [...parsed.extensions], signature: [...parsed.signature] }, {
    ...sample,
    logId: [...sample.logId],
    extensions: [...sample.extensions],
    signature: [...sample.signature],
  });
  const list = parseSctList(serializeSctList([bytes, bytes]));
  assert.equal(list.length, 2);
  assert.equal(list[1]!.sct?.timestamp, sample.timestamp);
});

test('timestamps up to 2^53-1 ms are exact; larger ones are malformed', () => {
  const max = serializeSct({ ...sample, timestamp: Number.MAX_SAFE_INTEGER });
  assert.equal(parseSct(max).timestamp, Number.MAX_SAFE_INTEGER);
  const huge = Uint8Array.from(max);
  huge[33] = 0xff;
  assert.throws(() => parseSct(huge), /beyond the representable range/);
});

test('list framing errors raise ERR_SCT_MALFORMED; a bad element is kept as a malformed entry', () => {
  const good = serializeSct(sample);
  const v2 = Uint8Array.from(good);
  v2[0] = 1;
  const entries = parseSctList(serializeSctList([v2, good]));
  assert.match(entries[0]!.error!, /unsupported SCT version 2/);
  assert.ok(entries[1]!.sct);
  for (const bytes of [new Uint8Array(), Uint8Array.of(0), Uint8Array.of(0, 0), Uint8Array.of(0, 5, 0, 3, 1), Uint8Array.of(0, 2, 0, 0)]) {
    assert.throws(() => parseSctList(bytes), (error: unknown) => error instanceof WirelockError && error.code === 'ERR_SCT_MALFORMED', Buffer.from(bytes).toString('hex'));
  }
  assert.throws(() => parseSctListExtension(Uint8Array.of(0x30, 0)), /not an OCTET STRING/);
  assert.throws(() => parseSctListExtension(Uint8Array.of(0x04, 5, 1)), /ERR_SCT_MALFORMED|malformed SCT/);
  assert.equal(parseSctListExtension(octetString(serializeSctList([good]))).length, 1);
});

test('fuzz: arbitrary bytes never raise anything but ERR_SCT_MALFORMED (SCT, list, extension, OCSP)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      onlyTypedErrors(() => parseSct(bytes));
      onlyTypedErrors(() => parseSctList(bytes));
      onlyTypedErrors(() => parseSctListExtension(bytes));
      onlyTypedErrors(() => sctListsFromOcspResponse(bytes));
    }),
    { numRuns: 3000 },
  );
});

test('fuzz: mutations of a valid list never escape as anything but ERR_SCT_MALFORMED, and valid SCTs survive intact', () => {
  const good = serializeSctList([serializeSct(sample), serializeSct({ ...sample, timestamp: 5 })]);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(good.length), (edits, cut) => {
      const bytes = Uint8Array.from(good);
      for (const [at, value] of edits) bytes[at] = value;
      const mutated = bytes.subarray(0, Math.max(cut, 1));
      try {
        for (const entry of parseSctList(mutated)) {
          if (entry.sct) assert.deepEqual(serializeSct(entry.sct), entry.raw);
        }
      } catch (error) {
        if (!(error instanceof WirelockError) || error.code !== 'ERR_SCT_MALFORMED') throw error;
      }
    }),
    { numRuns: 3000 },
  );
});
