// The columnar npm v2/v3 reader (CompactGraph, per-folder resolution, JSON.parse per entry) against
// the slow definitions: JSON.parse of the whole file, one LockNode object per entry, and Node's
// module resolution by walking up over a set of every path. Graph, packages, paths and findings
// must be the same on the fixtures and on random lockfiles with nesting, links, workspaces,
// skipped optional entries, aliases, every dependency kind and duplicate keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { auditGraph } from '../../src/audit/audit.js';
import { indexFromDirectory, indexLookup } from '../../src/audit/db.js';
import { auditPackages, dependencyPaths } from '../../src/audit/graph.js';
import { CompactGraph, compactGraph } from '../../src/audit/lockfile/compact.js';
import { escapePointer, sourceFromResolved, type DependencyKind, type LockGraph, type LockNode } from '../../src/audit/lockfile/model.js';
import { parseNpmLockfile } from '../../src/audit/lockfile/npm.js';
import { FIXTURES, OSV_VECTORS } from './support.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The obvious reading of a v2/v3 "packages" section, straight from npm's documentation. */
function referenceGraph(text: string): LockGraph {
  const doc = JSON.parse(text) as Json;
  const packages = doc.packages as Json;
  const nodes = new Map<string, LockNode>();
  const links = new Map<string, string | undefined>();
  const skipped = new Set<string>();
  const importers: string[] = [];
  const declared = new Map<string, Array<{ name: string; kind: DependencyKind }>>();
  for (const [path, entry] of Object.entries(packages) as Array<[string, Json]>) {
    if (entry.link) {
      links.set(path, typeof entry.resolved === 'string' ? entry.resolved : undefined);
      continue;
    }
    const importer = path === '' || !path.includes('node_modules/');
    const version = typeof entry.version === 'string' ? entry.version : '';
    if (!importer && version === '' && !entry.resolved) {
      skipped.add(path);
      continue;
    }
    const fromPath = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const name = importer ? (typeof entry.name === 'string' ? entry.name : path || '(root)') : typeof entry.name === 'string' ? entry.name : fromPath;
    const resolved = typeof entry.resolved === 'string' && entry.resolved !== '' ? entry.resolved : undefined;
    const edges: Array<{ name: string; kind: DependencyKind }> = [];
    const seen = new Set<string>();
    for (const [field, kind] of [['optionalDependencies', 'optional'], ['dependencies', 'prod'], ['requires', 'prod'], ['devDependencies', 'dev'], ['peerDependencies', 'peer']] as const) {
      if (!isObject(entry[field])) continue;
      for (const dep of Object.keys(entry[field])) {
        if (seen.has(dep)) continue;
        seen.add(dep);
        const meta = entry.peerDependenciesMeta;
        if (kind === 'peer' && isObject(meta) && isObject(meta[dep]) && meta[dep].optional) continue;
        if (kind === 'dev' && !importer) continue;
        edges.push({ name: dep, kind });
      }
    }
    declared.set(path, edges);
    const node: LockNode = { id: path, name, version, source: importer ? 'workspace' : sourceFromResolved(resolved, version), edges: [], location: `/packages/${escapePointer(path)}` };
    if (resolved) node.resolved = resolved;
    if (typeof entry.integrity === 'string') node.integrity = entry.integrity;
    if (entry.hasInstallScript === true) node.hasInstallScript = true;
    if (entry.inBundle === true) node.bundled = true;
    if (importer) {
      node.importer = path === '' ? '.' : path;
      importers.push(path);
    }
    nodes.set(path, node);
  }
  const exists = (path: string) => nodes.has(path) || links.has(path) || skipped.has(path);
  for (const node of nodes.values()) {
    for (const { name, kind } of declared.get(node.id)!) {
      let target: string | undefined;
      // Own node_modules first, then each ancestor's, then the root's.
      for (let base = node.id; ; ) {
        const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
        if (exists(candidate)) {
          target = candidate;
          break;
        }
        if (base === '') break;
        const at = base.lastIndexOf('/node_modules/');
        base = at < 0 ? '' : base.slice(0, at);
      }
      // Skipped entries stop the search with no target; links stand for the node they point to.
      if (target !== undefined && !skipped.has(target) && links.has(target)) {
        const to = links.get(target);
        target = to !== undefined && nodes.has(to) ? to : undefined;
      } else if (target !== undefined && !nodes.has(target)) target = undefined;
      node.edges.push({ name, kind, target });
    }
  }
  importers.sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  return { format: doc.lockfileVersion === 2 ? 'npm-v2' : 'npm-v3', nodes, importers };
}

const db = indexLookup(indexFromDirectory(OSV_VECTORS));

function assertSameAudit(text: string, label: string): void {
  const fast = parseNpmLockfile(text, 'package-lock.json');
  assert.ok(fast instanceof CompactGraph, 'npm v2/v3 reads into the columnar graph');
  const slow = referenceGraph(text);
  // The node view against the reference objects, in order.
  assert.deepEqual([...fast.nodes.values()].map((n) => ({ ...n, location: n.location })), [...slow.nodes.values()], `${label}: nodes`);
  assert.deepEqual(fast.importers, slow.importers, `${label}: importers`);
  const shape = (graph: LockGraph) =>
    auditPackages(graph).map((p) => ({ name: p.name, version: p.version, source: p.source, dev: p.dev, optional: p.optional, ids: p.ids, locations: p.locations, resolved: p.resolved, integrity: p.integrity, hasInstallScript: p.hasInstallScript, conflict: p.conflictingIntegrity, paths: dependencyPaths(graph, p.ids) }));
  assert.deepEqual(shape(fast), shape(slow), `${label}: packages and paths`);
  assert.deepEqual(auditGraph(fast, 'package-lock.json', db).findings, auditGraph(slow, 'package-lock.json', db).findings, `${label}: findings`);
}

test('fixtures: the columnar npm reader gives the reference graph, packages, paths and findings', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry === 'package-lock.json') files.push(path);
    }
  };
  walk(FIXTURES);
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const version = (JSON.parse(text) as Json).lockfileVersion;
    if (version !== 2 && version !== 3) continue;
    assertSameAudit(text, file);
    checked++;
  }
  assert.ok(checked >= 4, `checked ${checked} v2/v3 fixtures`);
});

// Random lockfiles: names from a small pool (so the same name sits at several depths), nested
// node_modules, workspace folders, links to them, skipped optional entries, aliases, npm and other
// URLs, every dependency map, optional peers, and hand-written duplicate keys.
const NAMES = ['a', 'b', 'c', '@s/d', 'minimist', 'mkdirp', 'lodash'];
const entryArb = fc.record({
  version: fc.constantFrom('1.0.0', '0.0.8', '2.1.3', ''),
  url: fc.constantFrom('npm', 'other', 'http', 'git', 'none'),
  // Canonical sha512 hashes (held as bytes), a non-canonical spelling of one, short and other ones (held as text).
  integrity: fc.constantFrom(`sha512-${Buffer.alloc(64, 7).toString('base64')}`, `sha512-${Buffer.alloc(64, 9).toString('base64')}`, `sha512-${Buffer.alloc(64, 7).toString('base64').slice(0, 85)}B==`, 'sha512-AAAA', 'sha1-CCCC', `sha512-${Buffer.alloc(64, 7).toString('base64')} sha1-CCCC`, undefined),
  alias: fc.option(fc.constantFrom(...NAMES), { freq: 6 }),
  flags: fc.record({ dev: fc.boolean(), optional: fc.boolean(), hasInstallScript: fc.boolean(), inBundle: fc.boolean() }),
  deps: fc.array(fc.tuple(fc.constantFrom('dependencies', 'optionalDependencies', 'devDependencies', 'peerDependencies'), fc.constantFrom(...NAMES), fc.boolean()), { maxLength: 5 }),
});
const pathArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMES).map((n) => `node_modules/${n}`) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES)).map(([a, b]) => `node_modules/${a}/node_modules/${b}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...NAMES), fc.constantFrom(...NAMES)).map(([a, b, c]) => `node_modules/${a}/node_modules/${b}/node_modules/${c}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('packages/app', 'packages/lib'), fc.constantFrom(...NAMES)).map(([w, n]) => `${w}/node_modules/${n}`) },
  { weight: 1, arbitrary: fc.constantFrom('packages/app', 'packages/lib') },
  { weight: 1, arbitrary: fc.constantFrom(...NAMES).map((n) => `node_modules/${n}#link`) },
);

function lockfileText(entries: Array<[string, Json]>, duplicate: boolean): string {
  const members = entries.map(([path, entry]) => `${JSON.stringify(path)}: ${JSON.stringify(entry)}`);
  // A duplicate key: JSON keeps the last value at the first one's place.
  if (duplicate && members.length > 1) members.push(members[1]!.replace(/"version":"[^"]*"/, '"version":"9.9.9"'));
  return `{"lockfileVersion": 3, "packages": {${members.join(',\n    ')}}}`;
}

test('property: on random npm v3 lockfiles the columnar reader equals the reference', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(pathArb, entryArb), { minLength: 1, maxLength: 14 }), fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom('dependencies', 'devDependencies', 'optionalDependencies')), { maxLength: 6 }), fc.boolean(), (list, rootDeps, duplicate) => {
      const entries: Array<[string, Json]> = [['', { name: 'app', version: '1.0.0', ...Object.fromEntries(rootDeps.map(([n, field]) => [field, { [n]: '*' }])) }]];
      // One entry per path here (a path listed twice is the `duplicate` case below, same kind of entry).
      const used = new Set<string>();
      for (const [rawPath, e] of list) {
        const path = rawPath.replace(/#link$/, '');
        if (used.has(path)) continue;
        used.add(path);
        if (rawPath.endsWith('#link')) {
          entries.push([path, { resolved: e.flags.dev ? 'packages/app' : 'packages/nowhere', link: true }]);
          continue;
        }
        const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
        const real = e.alias ?? name;
        const base = real.includes('/') ? real.slice(real.indexOf('/') + 1) : real;
        const entry: Json = {};
        if (!path.includes('node_modules/')) entry.name = path.split('/').pop();
        if (e.alias) entry.name = e.alias;
        if (e.version) entry.version = e.version;
        // npm writes version-less entries only for optional dependencies skipped on this platform.
        else entry.optional = true;
        const url = { npm: `https://registry.npmjs.org/${real}/-/${base}-${e.version}.tgz`, other: `https://registry.yarnpkg.com/${real}/-/${base}-${e.version}.tgz`, http: `http://registry.npmjs.org/${real}/-/${base}-${e.version}.tgz`, git: 'git+ssh://git@github.com/x/y.git#abc', none: undefined }[e.url];
        if (url !== undefined && e.version) entry.resolved = url;
        if (e.integrity) entry.integrity = e.integrity;
        for (const [flag, on] of Object.entries(e.flags)) if (on) entry[flag] = true;
        for (const [field, dep, optionalPeer] of e.deps) {
          ((entry[field] ??= {}) as Json)[dep] = '*';
          if (field === 'peerDependencies' && optionalPeer) ((entry.peerDependenciesMeta ??= {}) as Json)[dep] = { optional: true };
        }
        entries.push([path, entry]);
      }
      assertSameAudit(lockfileText(entries, duplicate), 'random');
    }),
    { numRuns: 400 },
  );
});

test('compactGraph converts any LockGraph once and keeps its answers', () => {
  const text = readFileSync(join(FIXTURES, 'projects', 'simple', 'npm-v3', 'package-lock.json'), 'utf8');
  const slow = referenceGraph(text);
  const compact = compactGraph(slow);
  assert.equal(compactGraph(slow), compact, 'remembered');
  assert.equal(compact.size, slow.nodes.size);
  for (const [id, node] of slow.nodes) assert.deepEqual(compact.nodes.get(id), node, id);
  assert.equal(compact.nodes.get('no/such/path'), undefined);
});
