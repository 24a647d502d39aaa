// Every module path of the built package is importable by any code in the process (a path re-exports
// its chunk; the exports map does not stop a file path). An exported object the enforcement reads is
// therefore shared state: the third independent review (2026-12-01) swapped `pristine.apply` for one
// call and was handed Node's original TCP connect, and took the inspector's unguarded dispatch from
// `loadTime`; `SEVERITIES.reverse()` would have let code decide what blocks. The class: no module of
// the enforcement (runtime, transport, policy, ct, x509, errors) exports something code can change.
import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';

const DIST = new URL('../../dist/', import.meta.url).pathname;
const AREAS = ['runtime', 'transport', 'policy', 'ct', 'x509'];
// Programs (importing one runs it) and what has its own, documented treatment.
const PROGRAMS = new Set(['runtime/register.js']);
// wirelockValues: whoever adds to it is no longer reported by inspectEnvironment() (a documented
// limit in docs/runtime.md; lockdown's own replaced-guard check does not consult it).
const ALLOWED_MUTABLE = new Set(['runtime/own.js#wirelockValues']);

function modulePaths(): string[] {
  const paths = ['index.js', 'errors.js', 'version.js'];
  for (const area of AREAS) {
    for (const file of readdirSync(join(DIST, area))) if (file.endsWith('.js')) paths.push(`${area}/${file}`);
  }
  return paths.filter((path) => !PROGRAMS.has(path));
}

// Node's own module objects and JavaScript's namespaces (what `real` and the slots point at) are the
// process's, not wirelock's data.
const nodeModules = new Set<unknown>([...builtinModules.map((id) => process.getBuiltinModule(id)), Reflect, JSON, Math, Atomics, globalThis]);
const isPlain = (value: object): boolean => {
  if (nodeModules.has(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === null || prototype === Object.prototype || prototype === Array.prototype;
};

/** Where in `value` something can still be changed: unfrozen plain objects and arrays, and collections. */
function changeable(value: unknown, where: string, seen = new Set<object>()): string[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap || value instanceof WeakSet) return [`${where} (a ${value.constructor.name})`];
  // Node's own objects (modules, diagnostics channels) and class instances are not wirelock's data.
  if (!isPlain(value)) return [];
  const problems = Object.isFrozen(value) ? [] : [where];
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(value, key)!;
    if ('value' in descriptor) problems.push(...changeable(descriptor.value, `${where}.${String(key)}`, seen));
  }
  return problems;
}

test('no module of the enforcement exports an object, array or collection that code can change', async () => {
  const problems: string[] = [];
  let exportsSeen = 0;
  for (const path of modulePaths()) {
    const namespace = (await import(pathToFileURL(join(DIST, path)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(namespace)) {
      exportsSeen++;
      if (ALLOWED_MUTABLE.has(`${path}#${name}`)) continue;
      problems.push(...changeable(value, `${path}#${name}`));
    }
  }
  assert.ok(exportsSeen > 100, `only ${exportsSeen} exports examined`);
  assert.deepEqual(problems, []);
});

test('positive control: the walk finds an unfrozen nested array, a collection and a reversible array', () => {
  assert.deepEqual(changeable(Object.freeze({ list: ['a'] }), 'x'), ['x.list']);
  assert.deepEqual(changeable(new Map(), 'm'), ['m (a Map)']);
  assert.deepEqual(changeable(['info', 'high'], 's'), ['s']);
  assert.deepEqual(changeable(Object.freeze({ list: Object.freeze(['a']) }), 'x'), []);
});
