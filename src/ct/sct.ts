import { WirelockError } from '../errors.js';
import { content, parseDer, TAG } from '../x509/der.js';

/**
 * RFC 6962 signed certificate timestamps (SCT v1) in their TLS encoding, as found in the X.509
 * extension, the OCSP extension and the TLS extension. Pure: bytes in, structures out. Hostile
 * bytes only ever raise WirelockError(ERR_SCT_MALFORMED).
 */

export const OID_EMBEDDED_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';
export const OID_OCSP_SCT_LIST = '1.3.6.1.4.1.11129.2.4.5';
export const OID_PRECERT_POISON = '1.3.6.1.4.1.11129.2.4.3';

export type SctOrigin = 'embedded' | 'ocsp' | 'tls';

/** RFC 5246 HashAlgorithm and SignatureAlgorithm code points. */
export const HASH_SHA256 = 4;
export const HASH_SHA384 = 5;
export const SIG_RSA = 1;
export const SIG_ECDSA = 3;

export interface Sct {
  /** 0 is v1, the only version this parser accepts. */
  version: number;
  logId: Uint8Array;
  /** Milliseconds since the epoch. */
  timestamp: number;
  extensions: Uint8Array;
  hashAlgorithm: number;
  signatureAlgorithm: number;
  signature: Uint8Array;
}

/** One element of an SCT list: parsed, or kept as malformed with the reason. */
export type SctListEntry = { raw: Uint8Array; sct: Sct; error?: undefined } | { raw: Uint8Array; sct?: undefined; error: string };

function malformed(message: string, details: Record<string, unknown> = {}): WirelockError {
  return new WirelockError('ERR_SCT_MALFORMED', `malformed SCT: ${message}`, details);
}

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}
  need(count: number, what: string): void {
    if (this.offset + count > this.bytes.length) throw malformed(`${what} is truncated (needs ${count} bytes at offset ${this.offset}, ${this.bytes.length - this.offset} left)`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const value = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
    this.offset += 2;
    return value;
  }
  take(count: number, what: string): Uint8Array {
    this.need(count, what);
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }
  vector16(what: string): Uint8Array {
    return this.take(this.u16(`${what} length`), what);
  }
  get done(): boolean {
    return this.offset === this.bytes.length;
  }
}

/** Parses one serialized SCT (the contents of a SerializedSCT). */
export function parseSct(bytes: Uint8Array): Sct {
  const reader = new Reader(bytes);
  const version = reader.u8('version');
  // v2 (RFC 9162) has a different layout: reading on would misinterpret its fields.
  if (version !== 0) throw malformed(`unsupported SCT version ${version + 1}`, { version });
  const logId = reader.take(32, 'log id');
  const high = reader.u16('timestamp') * 2 ** 16 + reader.u16('timestamp');
  const low = reader.u16('timestamp') * 2 ** 16 + reader.u16('timestamp');
  if (high >= 2 ** 21) throw malformed('timestamp is beyond the representable range');
  const timestamp = high * 2 ** 32 + low;
  const extensions = reader.vector16('extensions');
  const hashAlgorithm = reader.u8('hash algorithm');
  const signatureAlgorithm = reader.u8('signature algorithm');
  const signature = reader.vector16('signature');
  if (!reader.done) throw malformed(`${bytes.length - reader.offset} trailing bytes after the signature`);
  if (signature.length === 0) throw malformed('empty signature');
  // "none" and "anonymous" are TLS code points no CT log may use (RFC 6962 section 2.1.4).
  if (hashAlgorithm === 0) throw malformed('hash algorithm "none"');
  if (signatureAlgorithm === 0) throw malformed('signature algorithm "anonymous"');
  return { version, logId, timestamp, extensions, hashAlgorithm, signatureAlgorithm, signature };
}

/**
 * Parses a SignedCertificateTimestampList. A broken list framing raises ERR_SCT_MALFORMED; a
 * well-framed element that does not parse is kept as a malformed entry so it can be reported.
 */
export function parseSctList(bytes: Uint8Array): SctListEntry[] {
  const reader = new Reader(bytes);
  const listLength = reader.u16('SCT list length');
  if (listLength !== bytes.length - 2) throw malformed(`SCT list length ${listLength} does not match the ${bytes.length - 2} bytes present`);
  if (listLength === 0) throw malformed('empty SCT list');
  const out: SctListEntry[] = [];
  while (!reader.done) {
    const raw = reader.vector16('serialized SCT');
    if (raw.length === 0) throw malformed('empty serialized SCT');
    try {
      out.push({ raw, sct: parseSct(raw) });
    } catch (error) {
      out.push({ raw, error: (error as Error).message });
    }
  }
  return out;
}

/** The SCT list inside an extension value (X.509 or OCSP): an OCTET STRING wrapping the TLS list. */
export function parseSctListExtension(extnValue: Uint8Array): SctListEntry[] {
  let inner: Uint8Array;
  try {
    const node = parseDer(extnValue);
    if (node.tag !== TAG.OCTET_STRING) throw malformed(`SCT list extension holds tag 0x${node.tag.toString(16)}, not an OCTET STRING`);
    inner = content(node);
  } catch (error) {
    if (error instanceof WirelockError && error.code === 'ERR_SCT_MALFORMED') throw error;
    throw malformed(`SCT list extension is not a DER OCTET STRING (${(error as Error).message})`);
  }
  return parseSctList(inner);
}

// ---------------------------------------------------------------- writer (test logs, lab)

function u16(value: number): Uint8Array {
  return Uint8Array.of((value >> 8) & 0xff, value & 0xff);
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

function join(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

export function serializeSct(sct: Sct): Uint8Array {
  return join([
    Uint8Array.of(sct.version),
    sct.logId,
    u64(sct.timestamp),
    u16(sct.extensions.length),
    sct.extensions,
    Uint8Array.of(sct.hashAlgorithm, sct.signatureAlgorithm),
    u16(sct.signature.length),
    sct.signature,
  ]);
}

export function serializeSctList(serialized: Uint8Array[]): Uint8Array {
  const body = join(serialized.flatMap((sct) => [u16(sct.length), sct]));
  return join([u16(body.length), body]);
}

export { u16 as encodeU16, u64 as encodeU64, join as joinBytes };
