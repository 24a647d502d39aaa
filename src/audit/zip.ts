/**
 * Minimal ZIP reader (and writer, for tests and the bench) for the OSV export: stored and deflated
 * entries, ZIP64 (the npm export has more than 65,535 entries), CRC-32 checked on every entry.
 * Pure except for zlib.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { WirelockError } from '../errors.js';

/** Random access to the archive bytes: a Buffer, or a file read piece by piece (no 150 MB in memory). */
export interface ZipSource {
  size: number;
  /** The bytes at offset (for a file, a view into the current read window). */
  read(offset: number, length: number): Buffer;
  close(): void;
}

export function bufferSource(buf: Buffer): ZipSource {
  return { size: buf.length, read: (offset, length) => buf.subarray(offset, Math.min(buf.length, offset + length)), close() {} };
}

/**
 * A file read through an 8 MiB window: entries are visited in file order, so almost every read is
 * served from memory (one read(2) per entry cost 1.5 s over the 214,000-entry export).
 */
export function fileSource(path: string, windowSize = 8 * 1024 * 1024): ZipSource {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  let window = Buffer.alloc(0);
  let windowStart = 0;
  const load = (offset: number, length: number) => {
    const want = Math.max(0, Math.min(Math.max(length, windowSize), size - offset));
    const out = Buffer.allocUnsafe(want);
    let done = 0;
    while (done < want) {
      const n = readSync(fd, out, done, want - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    window = out.subarray(0, done);
    windowStart = offset;
  };
  return {
    size,
    read(offset, length) {
      if (offset < windowStart || offset + length > windowStart + window.length) load(offset, length);
      // A view: windows are fresh buffers, so a view stays valid after the window moves on.
      return window.subarray(offset - windowStart, Math.min(window.length, offset - windowStart + length));
    },
    close: () => closeSync(fd),
  };
}

const asSource = (input: Buffer | ZipSource): ZipSource => (Buffer.isBuffer(input) ? bufferSource(input) : input);

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function fail(file: string, message: string): WirelockError {
  return new WirelockError('ERR_ADVISORY_DB', `${file}: ${message}`, { file });
}

function readU64(buf: Buffer, at: number): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('64-bit value too large');
  return Number(value);
}

export function listZipEntries(input: Buffer | ZipSource, file = '(zip)'): ZipEntry[] {
  const src = asSource(input);
  // The end record sits in the last 64 KiB + 22 bytes (its comment is at most 65,535 bytes).
  const tailStart = Math.max(0, src.size - 22 - 65535 - 20);
  const tail = src.read(tailStart, src.size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw fail(file, 'not a ZIP archive (no end of central directory)');
  const buf = tail;
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if ((count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) && eocd >= 20 && buf.readUInt32LE(eocd - 20) === ZIP64_LOCATOR) {
    const z64 = readU64(buf, eocd - 20 + 8);
    const record = src.read(z64, 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) throw fail(file, 'broken ZIP64 end of central directory');
    count = readU64(record, 32);
    cdSize = readU64(record, 40);
    cdOffset = readU64(record, 48);
  }
  if (cdOffset + cdSize > src.size) throw fail(file, 'truncated ZIP archive (central directory beyond the end)');
  const cd = src.read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL) throw fail(file, `corrupt central directory at entry ${n}`);
    const method = cd.readUInt16LE(at + 10);
    const crc = cd.readUInt32LE(at + 16);
    let compressedSize = cd.readUInt32LE(at + 20);
    let size = cd.readUInt32LE(at + 24);
    const nameLength = cd.readUInt16LE(at + 28);
    const extraLength = cd.readUInt16LE(at + 30);
    const commentLength = cd.readUInt16LE(at + 32);
    let offset = cd.readUInt32LE(at + 42);
    const name = cd.toString('utf8', at + 46, at + 46 + nameLength);
    // ZIP64 extended information: only the fields that overflowed are present, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = cd.readUInt16LE(extra);
      const len = cd.readUInt16LE(extra + 2);
      if (id === 0x0001) {
        let p = extra + 4;
        if (size === 0xffffffff) (size = readU64(cd, p)), (p += 8);
        if (compressedSize === 0xffffffff) (compressedSize = readU64(cd, p)), (p += 8);
        if (offset === 0xffffffff) offset = readU64(cd, p);
      }
      extra += 4 + len;
    }
    entries.push({ name, method, crc, compressedSize, size, offset });
    at = extraEnd + commentLength;
  }
  return entries;
}

/** Inflates one entry and checks its CRC-32; a mismatch means a corrupt or tampered download. */
export function readZipEntry(input: Buffer | ZipSource, entry: ZipEntry, file = '(zip)', maxSize = 64 * 1024 * 1024): Buffer {
  const src = asSource(input);
  if (entry.size > maxSize) throw fail(file, `${entry.name}: ${entry.size} bytes is larger than any OSV record should be`);
  // One read for header, name and data in the usual case (local extra field small).
  const guess = src.read(entry.offset, 30 + Buffer.byteLength(entry.name) + 256 + entry.compressedSize);
  if (guess.length < 30 || guess.readUInt32LE(0) !== LOCAL) throw fail(file, `${entry.name}: bad local header`);
  const skip = 30 + guess.readUInt16LE(26) + guess.readUInt16LE(28);
  const raw = skip + entry.compressedSize <= guess.length ? guess.subarray(skip, skip + entry.compressedSize) : src.read(entry.offset + skip, entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw fail(file, `${entry.name}: truncated`);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
    } catch (error) {
      throw fail(file, `${entry.name}: cannot inflate (${(error as Error).message})`);
    }
  } else throw fail(file, `${entry.name}: unsupported compression method ${entry.method}`);
  if (data.length !== entry.size || crc32(data) !== entry.crc) throw fail(file, `${entry.name}: CRC-32 mismatch (corrupt or altered archive)`);
  return data;
}

/** Writes a ZIP (ZIP64 when it must) — for tests, the bench and nothing that ships data. */
export function writeZip(files: Iterable<{ name: string; data: Buffer }>, options: { deflate?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  let count = 0;
  for (const { name, data } of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = options.deflate === false ? data : deflateRawSync(data);
    const method = options.deflate === false ? 0 : 8;
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(CENTRAL, 0);
    cd.writeUInt16LE(45, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    cd.writeUInt32LE(offset, 42);
    chunks.push(local, nameBytes, body);
    central.push(cd, nameBytes);
    offset += 30 + nameBytes.length + body.length;
    count++;
  }
  const cdBuf = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (count > 0xfffe) {
    const z64 = Buffer.alloc(56);
    z64.writeUInt32LE(ZIP64_EOCD, 0);
    z64.writeBigUInt64LE(44n, 4);
    z64.writeUInt16LE(45, 12);
    z64.writeUInt16LE(45, 14);
    z64.writeBigUInt64LE(BigInt(count), 24);
    z64.writeBigUInt64LE(BigInt(count), 32);
    z64.writeBigUInt64LE(BigInt(cdBuf.length), 40);
    z64.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(ZIP64_LOCATOR, 0);
    locator.writeBigUInt64LE(BigInt(offset + cdBuf.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(z64, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(EOCD, 0);
  eocd.writeUInt16LE(Math.min(count, 0xffff), 8);
  eocd.writeUInt16LE(Math.min(count, 0xffff), 10);
  eocd.writeUInt32LE(cdBuf.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, cdBuf, ...tail, eocd]);
}
