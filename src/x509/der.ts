import { WirelockError } from '../errors.js';

/**
 * Minimal strict DER (X.690) reader and writer. Hostile input only ever raises
 * WirelockError(ERR_DER_MALFORMED): lengths are bounds-checked, indefinite lengths and
 * non-minimal length encodings are refused, as DER requires.
 */

export const TAG = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const);

export interface DerNode {
  /** Full identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  /** Offset of the identifier octet in `source`. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset one past the last content octet. */
  end: number;
  source: Uint8Array;
}

function malformed(message: string, offset: number): WirelockError {
  return new WirelockError('ERR_DER_MALFORMED', `malformed DER: ${message} at offset ${offset}`, { offset });
}

/** Reads one TLV starting at `offset`; `limit` is the end of the enclosing element. */
export function readNode(source: Uint8Array, offset = 0, limit = source.length): DerNode {
  if (offset >= limit) throw malformed('unexpected end of data', offset);
  const tag = source[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed('high tag numbers are not supported', offset);
  let cursor = offset + 1;
  if (cursor >= limit) throw malformed('missing length', cursor);
  const first = source[cursor++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const octets = first & 0x7f;
    if (octets === 0) throw malformed('indefinite length is not DER', cursor - 1);
    if (octets > 4) throw malformed('length too large', cursor - 1);
    if (cursor + octets > limit) throw malformed('truncated length', cursor);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + source[cursor++]!;
    if (length < 0x80 || source[cursor - octets] === 0) throw malformed('non-minimal length encoding', cursor - octets - 1);
  }
  const end = cursor + length;
  if (end > limit) throw malformed(`element of ${length} bytes overruns its container`, offset);
  return { tag, start: offset, contentStart: cursor, end, source };
}

export function content(node: DerNode): Uint8Array {
  return node.source.subarray(node.contentStart, node.end);
}

export function encoded(node: DerNode): Uint8Array {
  return node.source.subarray(node.start, node.end);
}

/** The direct children of a constructed element. */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw malformed(`tag 0x${node.tag.toString(16)} is not constructed`, node.start);
  const out: DerNode[] = [];
  let cursor = node.contentStart;
  while (cursor < node.end) {
    const child = readNode(node.source, cursor, node.end);
    out.push(child);
    cursor = child.end;
  }
  return out;
}

/** Parses a whole buffer that must hold exactly one element. */
export function parseDer(source: Uint8Array): DerNode {
  const node = readNode(source, 0, source.length);
  if (node.end !== source.length) throw malformed(`${source.length - node.end} trailing bytes`, node.end);
  return node;
}

export function expectTag(node: DerNode, tag: number, what: string): DerNode {
  if (node.tag !== tag) {
    throw malformed(`expected ${what} (tag 0x${tag.toString(16)}), found tag 0x${node.tag.toString(16)}`, node.start);
  }
  return node;
}

export function decodeOid(node: DerNode): string {
  expectTag(node, TAG.OID, 'OBJECT IDENTIFIER');
  const bytes = content(node);
  if (bytes.length === 0) throw malformed('empty OID', node.start);
  const parts: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (value === 0 && byte === 0x80) throw malformed('non-minimal OID arc', node.start);
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw malformed('OID arc too large', node.start);
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) {
        const firstArc = value < 40 ? 0 : value < 80 ? 1 : 2;
        parts.push(firstArc, value - firstArc * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    } else if (i === bytes.length - 1) {
      throw malformed('truncated OID', node.start);
    }
  }
  return parts.join('.');
}

// ---------------------------------------------------------------- writer

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = concat(contents);
  return concat([Uint8Array.of(tag), encodeLength(body.length), body]);
}

export const seq = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...items);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, bytes);
export const bitString = (bytes: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
export const nullValue = (): Uint8Array => Uint8Array.of(TAG.NULL, 0);
export const boolean = (value: boolean): Uint8Array => Uint8Array.of(TAG.BOOLEAN, 1, value ? 0xff : 0);
export const explicit = (tagNumber: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | tagNumber, inner);
export const utf8 = (text: string): Uint8Array => tlv(TAG.UTF8_STRING, new TextEncoder().encode(text));
export const ia5 = (text: string): Uint8Array => tlv(TAG.IA5_STRING, new TextEncoder().encode(text));

export function integer(value: bigint | number | Uint8Array): Uint8Array {
  let bytes: number[];
  if (value instanceof Uint8Array) {
    bytes = [...value];
    while (bytes.length > 1 && bytes[0] === 0 && (bytes[1]! & 0x80) === 0) bytes.shift();
    if (bytes.length === 0) bytes = [0];
    if ((bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  } else {
    let rest = BigInt(value);
    if (rest < 0n) throw new RangeError('negative INTEGER is not supported');
    bytes = [];
    do {
      bytes.unshift(Number(rest & 0xffn));
      rest >>= 8n;
    } while (rest > 0n);
    if ((bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  }
  return tlv(TAG.INTEGER, Uint8Array.from(bytes));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((arc) => Number(arc));
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new RangeError(`invalid OID ${dotted}`);
  }
  const bytes: number[] = [];
  const pushArc = (arc: number): void => {
    const group: number[] = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) group.unshift(0x80 | (rest & 0x7f));
    bytes.push(...group);
  };
  pushArc(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) pushArc(arc);
  return tlv(TAG.OID, Uint8Array.from(bytes));
}

/** UTCTime for years 1950-2049 and GeneralizedTime otherwise, as RFC 5280 4.1.2.5 requires. */
export function time(date: Date): Uint8Array {
  const iso = date.toISOString();
  const year = date.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, new TextEncoder().encode(`${digits.slice(2)}Z`));
  return tlv(TAG.GENERALIZED_TIME, new TextEncoder().encode(`${digits}Z`));
}
