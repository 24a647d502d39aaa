/**
 * The advisory database: OSV records indexed by package name. Built once from the OSV npm export
 * (a ZIP of JSON records) or a folder of records, kept in a cache folder as
 *   meta.json    what was indexed, from where, and how new its newest record is
 *   names.tsv    sorted "name<TAB>offset<TAB>length" lines into advisories.dat
 *   advisories.dat  one JSON array of Advisory per package
 * so a warm scan parses the name table and only the slices for packages it actually has.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { WirelockError } from '../errors.js';
import { advisoriesFromRecord, describeLocation, type Advisory, type RecordSource } from './osv.js';
import { bufferSource, fileSource, listZipEntries, readZipEntry, type ZipSource } from './zip.js';

export const DB_FORMAT = 3;

export interface DbMeta {
  format: number;
  source: string;
  /** When this index was built. */
  indexedAt: string;
  /** Newest `modified` among the records: how current the data is, whatever the file's date. */
  newestModified: string;
  records: number;
  withdrawn: number;
  /** Records with no npm package (another ecosystem in a mixed export). */
  otherEcosystems: number;
  malicious: number;
  packages: number;
  sha256?: string;
  /** HTTP ETag of the downloaded export, sent back on the next update to skip an unchanged one. */
  etag?: string;
  /** The download matched the MD5 the server stated for it. */
  md5Verified?: boolean;
  /**
   * Range events whose version could not be read. Such ranges are kept and evaluated fail-closed
   * (every version affected, flagged "range unreadable"); `db update` reports the count.
   */
  unreadableRanges: number;
  /** Up to 5 of them, "<id> (<file or entry> at <pointer>): fixed \"2.x\"". */
  unreadableExamples: string[];
}

export interface AdvisoryLookup {
  meta: DbMeta;
  lookup(name: string): Advisory[];
  close(): void;
}

export type Progress = (done: number, total: number, phase: string) => void;

export interface BuiltIndex {
  /**
   * Package name -> its advisories as JSON text. Text, not objects: 214,000 parsed advisories cost
   * several times their serialized size in heap, and the cache stores text anyway.
   */
  byName: Map<string, string[]>;
  meta: DbMeta;
  /** Every record id (withdrawn ones included) with its `modified`, for the downgrade check. */
  recordVersions: Map<string, string>;
}

/** Indexes raw record files. Pure apart from the callback; the callers bring the bytes. */
export function buildIndex(records: Iterable<{ name: string; bytes: Buffer | string; where?: RecordSource }>, source: string, total = 0, onProgress?: Progress): BuiltIndex {
  const byName = new Map<string, string[]>();
  let count = 0;
  let withdrawn = 0;
  let other = 0;
  let malicious = 0;
  let newest = '';
  let unreadable = 0;
  const unreadableExamples: string[] = [];
  const recordVersions = new Map<string, string>();
  for (const { name, bytes, where: given } of records) {
    count++;
    const where = given ?? { file: join(source, name) };
    let record: unknown;
    try {
      record = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
    } catch (error) {
      throw new WirelockError('ERR_ADVISORY_DB', `${describeLocation(where, '')}: not JSON: ${(error as Error).message}`, { file: where.file, ...(where.entry !== undefined ? { entry: where.entry } : {}), pointer: '' });
    }
    const advisories = advisoriesFromRecord(record, where);
    for (const advisory of advisories) {
      for (const problem of advisory.unreadable ?? []) {
        unreadable++;
        if (unreadableExamples.length < 5) {
          const [pointer, what] = [problem.slice(0, problem.indexOf(': ')), problem.slice(problem.indexOf(': ') + 2)];
          unreadableExamples.push(`${advisory.id} (${describeLocation(where, pointer)}): ${what}`);
        }
      }
    }
    const rec = record as { id: string; withdrawn?: unknown; modified: string };
    const seen = recordVersions.get(rec.id);
    if (seen === undefined || rec.modified > seen) recordVersions.set(rec.id, rec.modified);
    if (rec.modified > newest) newest = rec.modified;
    if (rec.withdrawn !== undefined && rec.withdrawn !== null) withdrawn++;
    else if (advisories.length === 0) other++;
    if (advisories[0]?.malicious) malicious++;
    for (const advisory of advisories) {
      const text = JSON.stringify(advisory);
      const list = byName.get(advisory.package);
      if (list) list.push(text);
      else byName.set(advisory.package, [text]);
    }
    if (onProgress && (count % 2000 === 0 || count === total)) onProgress(count, total, 'indexing');
  }
  if (count === 0) throw new WirelockError('ERR_ADVISORY_DB', `${source} contains no OSV records`, { file: source });
  return {
    byName,
    recordVersions,
    meta: { format: DB_FORMAT, source, indexedAt: new Date().toISOString(), newestModified: newest, records: count, withdrawn, otherEcosystems: other, malicious, packages: byName.size, unreadableRanges: unreadable, unreadableExamples },
  };
}

function* zipRecords(src: ZipSource, entries: ReturnType<typeof listZipEntries>, file: string): Generator<{ name: string; bytes: Buffer; where: RecordSource }> {
  for (const entry of entries) yield { name: entry.name, bytes: readZipEntry(src, entry, file), where: { file, entry: entry.name } };
}

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.json')) out.push(path);
    }
  };
  walk(dir);
  return out.sort();
}

/** Indexes an OSV export ZIP, given as bytes or as a file path (read piecewise, never whole). */
export function indexFromZip(input: Buffer | string, file: string, onProgress?: Progress): BuiltIndex {
  const src = typeof input === 'string' ? fileSource(input) : bufferSource(input);
  try {
    const entries = listZipEntries(src, file).filter((e) => !e.name.endsWith('/') && e.name.endsWith('.json'));
    const built = buildIndex(zipRecords(src, entries, file), file, entries.length, onProgress);
    built.meta.sha256 = sha256Of(src);
    return built;
  } finally {
    src.close();
  }
}

function sha256Of(src: ZipSource): string {
  const hash = createHash('sha256');
  for (let at = 0; at < src.size; at += 8 * 1024 * 1024) hash.update(src.read(at, 8 * 1024 * 1024));
  return hash.digest('hex');
}

export function indexFromDirectory(dir: string, onProgress?: Progress): BuiltIndex {
  const files = jsonFiles(dir);
  return buildIndex(
    (function* () {
      for (const path of files) yield { name: relative(dir, path), bytes: readFileSync(path), where: { file: path } };
    })(),
    dir,
    files.length,
    onProgress,
  );
}

/** Lookup over an index held in memory (`--db <zip|dir>` without a cache). */
export function indexLookup(built: BuiltIndex): AdvisoryLookup {
  const parsed = new Map<string, Advisory[]>();
  return {
    meta: built.meta,
    lookup(name) {
      let list = parsed.get(name);
      if (!list) {
        list = (built.byName.get(name) ?? []).map((text) => JSON.parse(text) as Advisory);
        parsed.set(name, list);
      }
      return list;
    },
    close() {},
  };
}

export function isCacheDir(dir: string): boolean {
  return existsSync(join(dir, 'meta.json')) && existsSync(join(dir, 'names.tsv')) && existsSync(join(dir, 'advisories.dat'));
}

/** Writes the cache next to its final place and renames it in, so a reader never sees half a DB. */
export function writeCache(dir: string, built: BuiltIndex): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const names: string[] = [];
  let offset = 0;
  const fd = openSync(join(tmp, 'advisories.dat'), 'w');
  try {
    // Batched: one write(2) per package was half a second over 214,000 packages.
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const flush = () => {
      if (batchBytes > 0) writeSync(fd, Buffer.concat(batch, batchBytes));
      batch = [];
      batchBytes = 0;
    };
    for (const [name, list] of [...built.byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const bytes = Buffer.from(`[${list.join(',')}]\n`);
      names.push(`${name}\t${offset}\t${bytes.length - 1}\n`);
      batch.push(bytes);
      batchBytes += bytes.length;
      offset += bytes.length;
      if (batchBytes > 4 * 1024 * 1024) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  // npm names never contain tabs or newlines; sorted by UTF-16 code units, the order lookups search in.
  writeFileSync(join(tmp, 'names.tsv'), names.join(''));
  writeFileSync(join(tmp, 'records.tsv'), [...built.recordVersions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([id, modified]) => `${id}\t${modified}\n`).join(''));
  writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(built.meta, null, 2)}\n`);
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Why `built` would be a downgrade of the cache in `dir`: its newest record is older, a record the
 * cache has is missing, or a record is older than the cache's copy. A replayed old export (or an
 * old one with a few records swapped in) is still a well-formed, CRC-clean ZIP, and the MD5 the
 * same server states proves nothing about its age; this check is what refuses it.
 * Empty when there is no cache or nothing went backwards.
 */
export function downgradeProblems(dir: string, built: BuiltIndex): string[] {
  let meta: DbMeta;
  try {
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as DbMeta;
  } catch {
    return [];
  }
  const problems: string[] = [];
  if (typeof meta.newestModified === 'string' && built.meta.newestModified < meta.newestModified) {
    problems.push(`its newest record (${built.meta.newestModified || 'none'}) is older than the cache's (${meta.newestModified})`);
  }
  let previous: string | undefined;
  try {
    previous = readFileSync(join(dir, 'records.tsv'), 'utf8');
  } catch {
    // A cache from before records were listed: only the counts can be compared.
    if (typeof meta.records === 'number' && built.meta.records < meta.records) problems.push(`it has fewer records (${built.meta.records}) than the cache (${meta.records})`);
    return problems;
  }
  const missing: string[] = [];
  const older: string[] = [];
  let missingCount = 0;
  let olderCount = 0;
  for (const line of previous.split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    const id = line.slice(0, tab);
    const modified = line.slice(tab + 1);
    const now = built.recordVersions.get(id);
    if (now === undefined) {
      if (missingCount++ < 3) missing.push(id);
    } else if (now < modified) {
      if (olderCount++ < 3) older.push(`${id} ${now} < ${modified}`);
    }
  }
  if (missingCount) problems.push(`it drops ${missingCount} record(s) the cache has (${missing.join(', ')}${missingCount > 3 ? ', ...' : ''})`);
  if (olderCount) problems.push(`${olderCount} record(s) are older than the cache's copy (${older.join(', ')}${olderCount > 3 ? ', ...' : ''})`);
  return problems;
}

/**
 * Opens the cache without parsing the name table: line starts are found with one indexOf pass and
 * each lookup is a binary search over the sorted text (a JSON object of 214,000 names took 150 ms
 * to parse and as much again in garbage collection; this takes ~15 ms).
 */
export function openCache(dir: string): AdvisoryLookup {
  let meta: DbMeta;
  let names: string;
  try {
    meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as DbMeta;
    names = readFileSync(join(dir, 'names.tsv'), 'utf8');
  } catch (error) {
    throw new WirelockError('ERR_ADVISORY_DB', `advisory database in ${dir} is unreadable (${(error as Error).message}); run \`wirelock audit db update\``, { file: dir });
  }
  if (meta.format !== DB_FORMAT) throw new WirelockError('ERR_ADVISORY_DB', `advisory database in ${dir} has format ${meta.format}, expected ${DB_FORMAT}; run \`wirelock audit db update\``, { file: dir });
  const starts: number[] = [];
  for (let at = 0; at < names.length; at = names.indexOf('\n', at) + 1) {
    starts.push(at);
    if (names.indexOf('\n', at) < 0) break;
  }
  const nameAt = (i: number) => names.slice(starts[i], names.indexOf('\t', starts[i]));
  // Lookups usually come in name order (auditPackages sorts): a name not before the previous one
  // is searched from where that one ended, galloping forward (most answers are the first probe),
  // instead of a full binary search of 18 string comparisons.
  let lastName: string | undefined;
  let lastAt = 0;
  const find = (name: string): [number, number] | undefined => {
    let lo = 0;
    let hi = starts.length - 1;
    if (lastName !== undefined && lastName <= name) {
      // Every entry before lastAt sorts before lastName, so before name.
      lo = lastAt;
      for (let step = 1; ; step *= 2) {
        const probe = lo + step - 1;
        if (probe > hi) break;
        if (nameAt(probe) >= name) {
          hi = probe;
          break;
        }
        lo = probe + 1;
      }
    }
    lastName = name;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const candidate = nameAt(mid);
      if (candidate === name) {
        lastAt = mid;
        const [, offset, length] = names.slice(starts[mid], names.indexOf('\n', starts[mid])).split('\t');
        return [Number(offset), Number(length)];
      }
      if (candidate < name) lo = mid + 1;
      else hi = mid - 1;
    }
    lastAt = lo;
    return undefined;
  };
  const fd = openSync(join(dir, 'advisories.dat'), 'r');
  const cache = new Map<string, Advisory[]>();
  return {
    meta,
    lookup(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const slot = find(name);
      if (!slot) return [];
      const buf = Buffer.alloc(slot[1]);
      readSync(fd, buf, 0, slot[1], slot[0]);
      let list: Advisory[];
      try {
        list = JSON.parse(buf.toString('utf8')) as Advisory[];
      } catch {
        throw new WirelockError('ERR_ADVISORY_DB', `advisory database in ${dir} is corrupt at "${name}"; run \`wirelock audit db update\``, { file: dir });
      }
      cache.set(name, list);
      return list;
    },
    close() {
      closeSync(fd);
    },
  };
}

/** `--db <zip|dir>`: a cache folder, a folder of OSV JSON records, or an OSV export ZIP. */
export function openDatabase(path: string, onProgress?: Progress): AdvisoryLookup {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new WirelockError('ERR_ADVISORY_DB', `advisory database ${path} does not exist; run \`wirelock audit db update\` or pass --db <zip|dir>`, { file: path });
  }
  if (stat.isDirectory()) return isCacheDir(path) ? openCache(path) : indexLookup(indexFromDirectory(path, onProgress));
  return indexLookup(indexFromZip(path, path, onProgress));
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.WIRELOCK_CACHE_DIR) return join(env.WIRELOCK_CACHE_DIR, 'osv-npm');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wirelock', 'osv-npm');
}

/** Age in days of the newest record; undefined when the DB carries no dates. */
export function dbAgeDays(meta: DbMeta, now = Date.now()): number | undefined {
  const t = Date.parse(meta.newestModified);
  return Number.isFinite(t) ? Math.max(0, (now - t) / 86_400_000) : undefined;
}
