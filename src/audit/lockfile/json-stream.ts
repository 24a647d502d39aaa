/**
 * A JSON reader for lockfiles too big to hold twice. JSON.parse needs the whole text as one string
 * and builds the whole document: for a 200,000-package package-lock.json that is ~80 MB of text
 * plus ~120 MB of objects, alive at once next to the graph built from them. This reads the file in
 * chunks and hands each member of the sections named in `stream` (npm's "packages") to a callback
 * as a small parsed value, so the reader can turn it into a graph node and drop it.
 *
 * Strict RFC 8259 JSON, the same language as JSON.parse (a property test checks they agree);
 * duplicate keys keep the last value, as JSON.parse does.
 */

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

export interface ByteSource {
  /** Fills `buffer` from `offset`, returns the bytes read (0 at the end). */
  read(buffer: Buffer, offset: number, length: number): number;
}

export function bufferByteSource(bytes: Buffer | string): ByteSource {
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  let at = 0;
  return {
    read(buffer, offset, length) {
      const n = Math.min(length, data.length - at);
      data.copy(buffer, offset, at, at + n);
      at += n;
      return n;
    },
  };
}

const CHUNK = 1 << 20;
/** The longest member key line the pretty-printed shortcut looks back over (npm paths are far shorter). */
const MAX_KEY_LINE = 4096;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;
const enum C {
  Quote = 0x22,
  Backslash = 0x5c,
  Comma = 0x2c,
  Colon = 0x3a,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
  OpenBracket = 0x5b,
  CloseBracket = 0x5d,
}

class Reader {
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private end = 0;
  /** Bytes before `buf[0]`, for error offsets. */
  private base = 0;
  private done = false;

  constructor(private readonly source: ByteSource) {}

  /** Makes byte `i` available if the input has it; returns its index after the buffer moved. */
  private reach(i: number): number {
    const offset = i - this.pos;
    this.fill(offset + 1);
    return this.pos + offset;
  }

  /** Makes at least `n` bytes from pos available (fewer only at the end of input). */
  private fill(n: number): void {
    while (this.end - this.pos < n && !this.done) {
      if (this.pos > 0) {
        this.buf.copy(this.buf, 0, this.pos, this.end);
        this.base += this.pos;
        this.end -= this.pos;
        this.pos = 0;
      }
      if (this.end === this.buf.length) {
        const bigger = Buffer.allocUnsafe(this.buf.length * 2);
        this.buf.copy(bigger, 0, 0, this.end);
        this.buf = bigger;
      }
      const read = this.source.read(this.buf, this.end, this.buf.length - this.end);
      if (read === 0) this.done = true;
      this.end += read;
    }
  }

  fail(message: string): never {
    throw new JsonSyntaxError(message, this.base + this.pos);
  }

  /** Next non-whitespace byte, not consumed; -1 at the end. */
  peek(): number {
    for (;;) {
      if (this.pos >= this.end) {
        this.fill(1);
        if (this.pos >= this.end) return -1;
      }
      const b = this.buf[this.pos]!;
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) this.pos++;
      else return b;
    }
  }

  expect(byte: number): void {
    if (this.peek() !== byte) this.fail(`expected "${String.fromCharCode(byte)}"`);
    this.pos++;
  }

  string(): string {
    if (this.peek() !== C.Quote) this.fail('expected a string');
    // The closing quote is found with indexOf (memchr), not byte by byte: strings are most of a lockfile.
    let i = this.pos + 1;
    let escaped = false;
    for (;;) {
      let q = this.buf.indexOf(C.Quote, i);
      if (q < 0 || q >= this.end) {
        const offset = this.end - this.pos;
        this.fill(offset + 1);
        if (this.end - this.pos <= offset) this.fail('unterminated string');
        i = this.pos + offset;
        continue;
      }
      // An escaped quote is preceded by an odd number of backslashes.
      let backslashes = 0;
      for (let k = q - 1; k >= this.pos + 1 && this.buf[k] === C.Backslash; k--) backslashes++;
      if (backslashes % 2 === 1) {
        escaped = true;
        i = q + 1;
        continue;
      }
      i = q;
      break;
    }
    const start = this.pos;
    this.pos = i + 1;
    // Escapes (and their validation) are JSON.parse's job; plain strings decode directly.
    const text = escaped ? '' : this.buf.toString('utf8', start + 1, i);
    if (!escaped && !text.includes('\\')) {
      if (CONTROL.test(text)) {
        this.pos = start;
        this.fail('control character in string');
      }
      return text;
    }
    try {
      return JSON.parse(this.buf.toString('utf8', start, i + 1)) as string;
    } catch {
      this.pos = start;
      return this.fail('invalid string');
    }
  }

  private literal(): unknown {
    let i = this.pos;
    for (;;) {
      if (i >= this.end) {
        i = this.reach(i);
        if (i >= this.end) break;
      }
      const b = this.buf[i]!;
      // Letters, digits and the number punctuation: the regex below decides what is valid.
      if ((b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x45) i++;
      else break;
    }
    const text = this.buf.toString('latin1', this.pos, i);
    if (!/^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?)$/.test(text)) this.fail(`unexpected ${text === '' ? `"${String.fromCharCode(this.buf[this.pos] ?? 0x20)}"` : `"${text.slice(0, 20)}"`}`);
    this.pos = i;
    return JSON.parse(text);
  }

  /** Parses one value; with `keep` false it is only checked, not built. */
  value(keep = true): unknown {
    const b = this.peek();
    if (b === C.Quote) return this.string();
    if (b === C.OpenBrace) {
      this.pos++;
      const out: Record<string, unknown> = {};
      if (this.peek() === C.CloseBrace) {
        this.pos++;
        return out;
      }
      for (;;) {
        const key = this.string();
        this.expect(C.Colon);
        const v = this.value(keep);
        // A "__proto__" key is data, as with JSON.parse: defined, never assigned (assignment would set the prototype).
        if (keep) {
          if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
          else out[key] = v;
        }
        const next = this.peek();
        this.pos++;
        if (next === C.CloseBrace) return out;
        if (next !== C.Comma) {
          this.pos--;
          this.fail('expected "," or "}"');
        }
      }
    }
    if (b === C.OpenBracket) {
      this.pos++;
      const out: unknown[] = [];
      if (this.peek() === C.CloseBracket) {
        this.pos++;
        return out;
      }
      for (;;) {
        const v = this.value(keep);
        if (keep) out.push(v);
        const next = this.peek();
        this.pos++;
        if (next === C.CloseBracket) return out;
        if (next !== C.Comma) {
          this.pos--;
          this.fail('expected "," or "]"');
        }
      }
    }
    if (b === -1) this.fail('unexpected end of input');
    return this.literal();
  }

  /**
   * One value, parsed by JSON.parse once its extent is known: the extent scan only tracks strings
   * and nesting, and JSON.parse (native, several times faster than value() in JS) checks and
   * builds the rest. Same language, same result: every byte is still checked by JSON.parse.
   */
  member(): unknown {
    const b = this.peek();
    if (b !== C.OpenBrace && b !== C.OpenBracket) return this.value();
    const pretty = this.prettyPrintedMember(b);
    if (pretty !== undefined) return pretty.value;
    let depth = 0;
    let i = this.pos;
    for (;;) {
      if (i >= this.end) {
        i = this.reach(i);
        if (i >= this.end) this.fail('unexpected end of input');
      }
      const c = this.buf[i]!;
      if (c === C.Quote) {
        // To the closing quote: the first one not preceded by an odd number of backslashes.
        for (let from = i + 1; ; ) {
          const q = this.buf.indexOf(C.Quote, from);
          if (q < 0 || q >= this.end) {
            const offset = i - this.pos;
            const scanned = Math.max(this.end, from) - this.pos;
            this.fill(scanned + 1);
            if (this.end - this.pos <= scanned) this.fail('unterminated string');
            i = this.pos + offset;
            from = this.pos + scanned;
            continue;
          }
          let backslashes = 0;
          for (let k = q - 1; k > i && this.buf[k] === C.Backslash; k--) backslashes++;
          if (backslashes % 2 === 1) {
            from = q + 1;
            continue;
          }
          i = q;
          break;
        }
      } else if (c === C.OpenBrace || c === C.OpenBracket) depth++;
      else if (c === C.CloseBrace || c === C.CloseBracket) {
        if (--depth === 0) {
          i++;
          break;
        }
      }
      i++;
    }
    let value: unknown;
    try {
      value = JSON.parse(this.buf.toString('utf8', this.pos, i));
    } catch (error) {
      this.fail(`invalid JSON value (${(error as Error).message})`);
    }
    this.pos = i;
    return value;
  }

  private readonly closers = new Map<string, Buffer>();
  private notPretty = false;

  /**
   * npm writes its lockfile pretty-printed: a member's value closes on its own line, at the
   * indentation of the line that opened it. A raw line feed never occurs inside a JSON string, so
   * that line feed is structural; if the text up to the first such "}" is one JSON value (JSON.parse
   * checks every byte), it is this value, whose extent is unique. Anything else (compact JSON,
   * other indentation, a value past the buffered bytes, text that does not parse) goes to the
   * byte scan, which decides as before: this only skips the scan when it cannot change the result.
   */
  private prettyPrintedMember(open: number): { value: unknown } | undefined {
    if (this.notPretty) return undefined;
    const buf = this.buf;
    let lineStart = this.pos;
    // Bounded: in compact JSON (one long line) an unbounded walk back per member would be quadratic.
    const limit = Math.max(0, this.pos - MAX_KEY_LINE);
    while (lineStart > limit && buf[lineStart - 1] !== 0x0a) lineStart--;
    if (lineStart === 0 || buf[lineStart - 1] !== 0x0a) {
      // Not pretty-printed (or the line's start was compacted away): compact text stops trying.
      if (lineStart > 0) this.notPretty = true;
      return undefined;
    }
    let indentEnd = lineStart;
    while (indentEnd < this.pos && (buf[indentEnd] === 0x20 || buf[indentEnd] === 0x09)) indentEnd++;
    const key = `${open === C.OpenBrace ? '}' : ']'}${buf.toString('latin1', lineStart, indentEnd)}`;
    let closer = this.closers.get(key);
    if (closer === undefined) {
      if (this.closers.size > 64) return undefined;
      closer = Buffer.from(`\n${key.slice(1)}${key[0]}`, 'latin1');
      this.closers.set(key, closer);
    }
    const at = buf.indexOf(closer, this.pos);
    if (at < 0 || at + closer.length > this.end) return undefined;
    const stop = at + closer.length;
    let value: unknown;
    try {
      value = JSON.parse(buf.toString('utf8', this.pos, stop));
    } catch {
      return undefined;
    }
    this.pos = stop;
    return { value };
  }

  atEnd(): boolean {
    return this.peek() === -1;
  }
}

export type SectionMode = 'stream' | 'skip' | 'keep';

/**
 * Parses a JSON document. When the top level is an object, each of its members is handled as
 * `modeOf(key, membersSoFar)` says: "stream" (an object whose members go to `onMember` one by
 * one and are not kept), "skip" (checked, not built) or "keep". Returns the document, streamed and
 * skipped sections replaced by `{}`.
 */
export function parseJsonStream(
  source: ByteSource,
  modeOf: (key: string, soFar: Record<string, unknown>) => SectionMode,
  onMember: (section: string, key: string, value: unknown) => void,
): unknown {
  const r = new Reader(source);
  if (r.peek() !== C.OpenBrace) {
    const v = r.value();
    if (!r.atEnd()) r.fail('unexpected data after the document');
    return v;
  }
  r.expect(C.OpenBrace);
  const doc: Record<string, unknown> = {};
  if (r.peek() === C.CloseBrace) r.expect(C.CloseBrace);
  else {
    for (;;) {
      const key = r.string();
      r.expect(C.Colon);
      const mode = modeOf(key, doc);
      let v: unknown;
      if (mode === 'stream' && r.peek() === C.OpenBrace) {
        r.expect(C.OpenBrace);
        if (r.peek() === C.CloseBrace) r.expect(C.CloseBrace);
        else {
          for (;;) {
            const member = r.string();
            r.expect(C.Colon);
            onMember(key, member, r.member());
            const next = r.peek();
            r.expect(next === C.CloseBrace ? C.CloseBrace : C.Comma);
            if (next === C.CloseBrace) break;
          }
        }
        v = {};
      } else v = r.value(mode !== 'skip');
      Object.defineProperty(doc, key, { value: mode === 'skip' ? {} : v, enumerable: true, writable: true, configurable: true });
      const next = r.peek();
      r.expect(next === C.CloseBrace ? C.CloseBrace : C.Comma);
      if (next === C.CloseBrace) break;
    }
  }
  if (!r.atEnd()) r.fail('unexpected data after the document');
  return doc;
}
