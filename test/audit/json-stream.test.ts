import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bufferByteSource, JsonSyntaxError, parseJsonStream, type ByteSource } from '../../src/audit/lockfile/json-stream.js';

// A source that hands out a few bytes at a time, so every token crosses chunk boundaries.
function trickle(text: string, sizes: number[]): ByteSource {
  const data = Buffer.from(text);
  let at = 0;
  let turn = 0;
  return {
    read(buffer, offset, length) {
      const n = Math.min(length, data.length - at, sizes[turn++ % sizes.length]!);
      data.copy(buffer, offset, at, at + n);
      at += n;
      return n;
    },
  };
}

const keepAll = () => 'keep' as const;
const parse = (source: ByteSource) => parseJsonStream(source, keepAll, () => {});

test('property: the streaming reader agrees with JSON.parse on valid JSON, in any chunking', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), fc.boolean(), (value, sizes, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined);
      assert.deepEqual(parse(trickle(text, sizes)), JSON.parse(text));
    }),
    { numRuns: 2000 },
  );
});

// Streamed sections take a shortcut for pretty-printed text (the value ends at the first line that
// closes at the opening line's indentation); these documents are built to mislead it: members whose
// inner lines are indented like their own closing line, strings holding escaped line feeds and
// braces, compact and mixed indentation, in any chunking.
const misleadingMember = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    '{\n    "a": {\n    },\n    "b": 1\n    }',
    '{\n    "s": "x\\n    }"\n    }',
    '[\n    [\n    ],\n    2\n    ]',
    '{\n\t"a": {\n\t}\n\t}',
    '{"a":{"b":[1,{"c":"}\\n  }"}]}}',
  ).map((text) => ({ raw: text })),
);

test('property: streamed members agree with JSON.parse, pretty-printed or not, misleading indentation included', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 6 }), misleadingMember, { maxKeys: 6 }), fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 4 }), fc.constantFrom(undefined, 2, 4, '\t'), (members, sizes, indent) => {
      const parts = Object.entries(members).map(([key, value]) => {
        const text = typeof value === 'object' && value !== null && 'raw' in value && typeof (value as { raw: unknown }).raw === 'string' ? (value as { raw: string }).raw : JSON.stringify(value, null, indent);
        return `${JSON.stringify(key)}: ${text}`;
      });
      const text = `{\n  "lockfileVersion": 3,\n  "packages": {\n    ${parts.join(',\n    ')}\n  }\n}`;
      const expected = JSON.parse(text).packages as Record<string, unknown>;
      const seen: Record<string, unknown> = {};
      parseJsonStream(trickle(text, sizes), (key) => (key === 'packages' ? 'stream' : 'keep'), (_section, key, value) => {
        seen[key] = value;
      });
      assert.deepEqual(seen, { ...expected });
    }),
    { numRuns: 1500 },
  );
});

test('property: what JSON.parse rejects the streaming reader rejects (mutated documents)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', '\\', '\u0001', 'x', '1', '-', '.', 'e', ' ', 'tru', '\\u12', '{', '['), fc.nat(3), (value, at, insert, cut) => {
      const original = JSON.stringify(value);
      const p = at % (original.length + 1);
      const text = original.slice(0, p) + insert + original.slice(p + cut);
      let expected: unknown;
      let ok = true;
      try {
        expected = JSON.parse(text);
      } catch {
        ok = false;
      }
      if (ok) assert.deepEqual(parse(trickle(text, [3])), expected, text);
      else assert.throws(() => parse(trickle(text, [3])), JsonSyntaxError, text);
    }),
    { numRuns: 3000 },
  );
});

test('streamed sections go to the callback member by member, are not kept; skipped ones are checked; __proto__ is data', () => {
  const text = JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'a' }, 'node_modules/b': { version: '1.0.0' } }, dependencies: { b: { version: '1.0.0' } } });
  const seen: string[] = [];
  const doc = parseJsonStream(bufferByteSource(text), (key) => (key === 'packages' ? 'stream' : key === 'dependencies' ? 'skip' : 'keep'), (section, key, value) => seen.push(`${section} ${key} ${JSON.stringify(value)}`));
  assert.deepEqual(seen, ['packages  {"name":"a"}', 'packages node_modules/b {"version":"1.0.0"}']);
  assert.deepEqual(doc, { lockfileVersion: 3, packages: {}, dependencies: {} });
  assert.throws(() => parseJsonStream(bufferByteSource('{"dependencies": {"b": [1,]}}'), () => 'skip', () => {}), JsonSyntaxError, 'a skipped section is still checked');
  const proto = parse(bufferByteSource('{"__proto__": {"polluted": true}, "a": 1, "a": 2}')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(proto), ['__proto__', 'a']);
  assert.equal(proto.a, 2, 'last duplicate wins, as in JSON.parse');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.throws(() => parse(bufferByteSource('\ufeff{}')), JsonSyntaxError, 'a BOM is refused, as JSON.parse refuses it');
});
