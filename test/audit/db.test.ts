import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIndex, dbAgeDays, indexFromDirectory, indexFromZip, indexLookup, openCache, openDatabase, writeCache, type AdvisoryLookup } from '../../src/audit/db.js';
import { listZipEntries, readZipEntry, writeZip } from '../../src/audit/zip.js';
import { isWirelockError } from '../../src/errors.js';
import { OSV_VECTORS } from './support.js';

const vectorFiles = () => readdirSync(OSV_VECTORS).filter((f) => f.endsWith('.json')).map((name) => ({ name, data: readFileSync(join(OSV_VECTORS, name)) }));
const ids = (db: AdvisoryLookup, name: string) => db.lookup(name).map((a) => a.id).sort();

test('ZIP round trip, deflated and stored; CRC, truncation and garbage are refused', () => {
  const files = [{ name: 'a.json', data: Buffer.from('{"x":1}') }, { name: 'dir/b.json', data: Buffer.alloc(5000, 'y') }];
  for (const deflate of [true, false]) {
    const zip = writeZip(files, { deflate });
    const entries = listZipEntries(zip);
    assert.deepEqual(entries.map((e) => e.name), ['a.json', 'dir/b.json']);
    assert.deepEqual(readZipEntry(zip, entries[1]!), files[1]!.data);
  }
  const stored = writeZip(files, { deflate: false });
  const tampered = Buffer.from(stored);
  const at = 30 + 'a.json'.length + 2; // one bit of a.json's content
  tampered[at] = tampered[at]! ^ 0x01;
  assert.throws(() => readZipEntry(tampered, listZipEntries(tampered)[0]!, 'x.zip'), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB') && /CRC-32 mismatch/.test(e.message));
  assert.throws(() => listZipEntries(stored.subarray(0, stored.length - 30), 'cut.zip'), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB'));
  assert.throws(() => listZipEntries(Buffer.from('PK not really a zip at all, just text'), 'text.zip'), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB') && /not a ZIP/.test(e.message));
});

test('ZIP64: more than 65,535 entries (the real npm export has 214,057)', () => {
  const count = 70_000;
  const zip = writeZip(
    (function* () {
      for (let i = 0; i < count; i++) yield { name: `r/${i}.json`, data: Buffer.from(String(i)) };
    })(),
    { deflate: false },
  );
  const entries = listZipEntries(zip);
  assert.equal(entries.length, count);
  assert.equal(readZipEntry(zip, entries[count - 1]!).toString(), String(count - 1));
});

test('the shared OSV records index the same from a folder, a ZIP and the on-disk cache', () => {
  const fromDir = indexFromDirectory(OSV_VECTORS);
  const zip = writeZip(vectorFiles());
  const fromZip = indexFromZip(zip, 'all.zip');
  assert.equal(fromDir.meta.records, vectorFiles().length);
  assert.equal(fromDir.meta.withdrawn, 1, 'MAL-2026-4377 is withdrawn');
  assert.equal(fromDir.meta.newestModified, '2026-05-26T17:12:48Z');
  assert.equal(fromZip.meta.sha256?.length, 64);
  const cacheRoot = mkdtempSync(join(tmpdir(), 'wl-db-'));
  try {
    writeCache(join(cacheRoot, 'osv'), fromZip);
    // Rewriting replaces the cache whole.
    writeCache(join(cacheRoot, 'osv'), fromZip);
    const cached = openCache(join(cacheRoot, 'osv'));
    const sources: AdvisoryLookup[] = [openDatabase(OSV_VECTORS), indexLookup(fromZip), cached];
    for (const db of sources) {
      assert.deepEqual(ids(db, 'lodash'), ['GHSA-35jh-r3h4-6jhm', 'GHSA-p6mc-m468-83gw']);
      assert.deepEqual(ids(db, 'minimist'), ['GHSA-vh95-rmgr-6w4m', 'GHSA-vh95-rmgr-6w4m'], 'two affected entries, one per range');
      assert.deepEqual(ids(db, '@ctrl/plex'), [], 'withdrawn');
      assert.deepEqual(ids(db, 'constructor'), [], 'no prototype lookups');
      assert.deepEqual(ids(db, 'left-pad'), []);
    }
    assert.deepEqual(cached.meta, fromZip.meta);
    cached.close();
    assert.deepEqual(readdirSync(cacheRoot), ['osv'], 'no temp folders left behind');
  } finally {
    rmSync(cacheRoot, { recursive: true, force: true });
  }
});

test('broken databases are refused, never read as "no advisories"', () => {
  assert.throws(() => openDatabase('/nonexistent/osv.zip'), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB'));
  assert.throws(() => indexFromZip(writeZip([{ name: 'bad.json', data: Buffer.from('{nope') }]), 'x.zip'), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB') && e.details.entry === 'bad.json');
  assert.throws(() => indexFromZip(writeZip([{ name: 'README.txt', data: Buffer.from('hi') }]), 'empty.zip'), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB') && /no OSV records/.test(e.message));
  assert.throws(() => buildIndex([{ name: 'x.json', bytes: '{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"p"},"ranges":[{"type":"SEMVER","events":[{"introduced":5}]}]}]}' }], 'src'), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB') && e.details.pointer === '/affected/0/ranges/0/events/0');
  const cacheRoot = mkdtempSync(join(tmpdir(), 'wl-db-'));
  try {
    assert.throws(() => openCache(cacheRoot), (e: unknown) => isWirelockError(e, 'ERR_ADVISORY_DB'));
  } finally {
    rmSync(cacheRoot, { recursive: true, force: true });
  }
});

test('database age comes from the newest record', () => {
  const meta = indexFromDirectory(OSV_VECTORS).meta;
  assert.equal(Math.round(dbAgeDays(meta, Date.parse('2026-06-05T17:12:48Z'))!), 10);
  assert.equal(dbAgeDays({ ...meta, newestModified: '' }), undefined);
});
