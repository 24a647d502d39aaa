import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { auditPackages } from '../../src/audit/graph.js';
import type { LockGraph } from '../../src/audit/lockfile/model.js';
import { parseNpmLockfile } from '../../src/audit/lockfile/npm.js';
import { parsePnpmLockfile } from '../../src/audit/lockfile/pnpm.js';
import { parseBunLockfile } from '../../src/audit/lockfile/bun.js';
import { parseYarnBerry, parseYarnClassic } from '../../src/audit/lockfile/yarn.js';
import { advisoriesFromRecord } from '../../src/audit/osv.js';
import { isWirelockError } from '../../src/errors.js';
import { FIXTURES, OSV_VECTORS } from './support.js';

// A damaged or hostile lockfile is a user mistake: a WirelockError (exit 2), never a crash.
const FILES: Array<[string, string]> = [
  ['package-lock.json', 'simple/npm-v1/package-lock.json'],
  ['package-lock.json', 'simple/npm-v3/package-lock.json'],
  ['yarn.lock', 'simple/yarn1/yarn.lock'],
  ['yarn.lock', 'simple/berry/yarn.lock'],
  ['pnpm-lock.yaml', 'simple/pnpm-v6/pnpm-lock.yaml'],
  ['pnpm-lock.yaml', 'workspaces/pnpm-v9/pnpm-lock.yaml'],
  ['bun.lock', 'workspaces/bun/bun.lock'],
];
const SOURCES: Array<[string, string]> = FILES.map(([name, path]) => [name, readFileSync(join(FIXTURES, 'projects', path), 'utf8')]);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);

// The readers themselves, not parseLockfile: its catch-all would hide reader bugs from this test.
function read(name: string, text: string): LockGraph {
  if (name === 'package-lock.json') return parseNpmLockfile(text, name);
  if (name === 'pnpm-lock.yaml') return parsePnpmLockfile(text, name);
  if (name === 'bun.lock') return parseBunLockfile(text, name);
  return /^__metadata:/m.test(text) ? parseYarnBerry(text, name, new Map()) : parseYarnClassic(text, name, new Map([['.', { dependencies: { chalk: '2.4.2', 'a': '1' } }]]));
}

function survives(name: string, text: string): void {
  try {
    auditPackages(read(name, text));
  } catch (error) {
    if (!isWirelockError(error, 'ERR_LOCKFILE_INVALID')) throw error;
  }
}

test('property: mutated real lockfiles parse or fail with ERR_LOCKFILE_INVALID, never crash', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SOURCES),
      fc.array(fc.record({ at: fc.nat(), cut: fc.nat(40), insert: fc.constantFrom('', '{', '}', '[', ']', '"', ':', ',', '\n', ' ', '@', '/', '0', 'null', '-', "'", '\n  ', '(', ')') }), { minLength: 1, maxLength: 4 }),
      ([name, original], edits) => {
        let text = original;
        for (const { at, cut, insert } of edits) {
          const p = at % (text.length + 1);
          text = text.slice(0, p) + insert + text.slice(p + cut);
        }
        survives(name, text);
      },
    ),
    { numRuns: RUNS },
  );
});

test('property: structurally valid but wrongly typed JSON/YAML documents never crash a reader', () => {
  const value = fc.letrec((tie) => ({
    leaf: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null)),
    node: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('', 'a', 'node_modules/a', 'version', 'packages', 'dependencies', 'importers', 'snapshots', 'lockfileVersion', 'resolution', 'requires', 'workspaces', '__metadata'), tie('node'), { maxKeys: 4 })),
  })).node;
  fc.assert(
    fc.property(value, fc.constantFrom(1, 2, 3, '6.0', '9.0'), (doc, version) => {
      const withVersion = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? { ...doc, lockfileVersion: version } : doc;
      survives('package-lock.json', JSON.stringify(withVersion));
      survives('bun.lock', JSON.stringify(withVersion));
      survives('pnpm-lock.yaml', JSON.stringify(withVersion)); // JSON is YAML
      survives('yarn.lock', `__metadata:\n  version: 8\n${JSON.stringify(doc).replace(/^/, '"a@npm:1": ')}\n`);
    }),
    { numRuns: RUNS },
  );
});

test('property: mutated OSV records load or fail with ERR_ADVISORY_DB, never crash', () => {
  const records = ['GHSA-35jh-r3h4-6jhm.json', 'MAL-2026-4377.json'].map((f) => readFileSync(join(OSV_VECTORS, f), 'utf8'));
  fc.assert(
    fc.property(fc.constantFrom(...records), fc.nat(), fc.constantFrom('0', '"x"', 'null', '[]', '{}', '1.2'), (text, at, replacement) => {
      // Replace one JSON value (after some colon) with another type.
      const colons = [...text.matchAll(/:\s*/g)].map((m) => m.index! + m[0].length);
      const start = colons[at % colons.length]!;
      const end = start + (/^("(?:[^"\\]|\\.)*"|-?[\d.eE+-]+|true|false|null)/.exec(text.slice(start))?.[0].length ?? 0);
      if (end === start) return;
      let record: unknown;
      try {
        record = JSON.parse(text.slice(0, start) + replacement + text.slice(end));
      } catch {
        return;
      }
      try {
        advisoriesFromRecord(record, 'x.json');
      } catch (error) {
        if (!isWirelockError(error, 'ERR_ADVISORY_DB')) throw error;
      }
    }),
    { numRuns: RUNS },
  );
  assert.ok(records.length === 2);
});
