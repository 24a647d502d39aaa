// The one-pass graph algorithms (worklist reachability, SCC + bitset 'via', BFS paths) against the
// obvious slow definitions, on random graphs with cycles, workspaces and every edge kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { auditPackages, dependencyPaths } from '../../src/audit/graph.js';
import type { DependencyKind, LockGraph, LockNode } from '../../src/audit/lockfile/model.js';

const KINDS: DependencyKind[] = ['prod', 'dev', 'optional', 'peer'];

function build(size: number, importers: number, edges: Array<[number, number, number]>): LockGraph {
  const nodes = new Map<string, LockNode>();
  const ids = Array.from({ length: size }, (_, i) => (i < importers ? `ws${i}` : `p${i}`));
  ids.forEach((id, i) => nodes.set(id, { id, name: id, version: '1.0.0', source: i < importers ? 'workspace' : 'registry', edges: [], location: id, ...(i < importers ? { importer: i === 0 ? '.' : id } : {}) }));
  for (const [from, to, kind] of edges) nodes.get(ids[from % size]!)!.edges.push({ name: ids[to % size]!, kind: KINDS[kind]!, target: ids[to % size]! });
  return { format: 'npm-v3', nodes, importers: ids.slice(0, importers) };
}

/** Reference: plain depth-first search per question. */
function reachable(graph: LockGraph, from: string[], allowed: (kind: DependencyKind, fromStart: boolean, node: LockNode) => boolean, throughImporters: boolean): Set<string> {
  const seen = new Set<string>();
  const visit = (id: string, isStart: boolean) => {
    const node = graph.nodes.get(id)!;
    for (const edge of node.edges) {
      if (!allowed(edge.kind, isStart, node)) continue;
      const target = graph.nodes.get(edge.target!)!;
      if (target.importer !== undefined && !throughImporters) continue;
      const key = target.importer !== undefined ? `i:${target.id}` : target.id;
      if (seen.has(key)) continue;
      seen.add(key);
      visit(target.id, false);
    }
  };
  for (const id of from) visit(id, true);
  return seen;
}

test('property: dev/optional flags, via and shortest paths equal the slow definitions', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 14 }), fc.integer({ min: 1, max: 3 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(3)), { maxLength: 40 }), (size, importerCount, edges) => {
      const importers = Math.min(importerCount, size - 1);
      const graph = build(size, importers, edges);
      const starts = graph.importers;
      const any = reachable(graph, starts, (kind, fromStart, node) => kind !== 'dev' || (fromStart && node.importer !== undefined), true);
      const nonDev = reachable(graph, starts, (kind) => kind !== 'dev', true);
      const required = reachable(graph, starts, (kind) => kind === 'prod' || kind === 'peer', true);
      for (const pkg of auditPackages(graph)) {
        const id = pkg.ids[0]!;
        const orphan = !any.has(id);
        assert.equal(pkg.dev, !orphan && !nonDev.has(id), `dev ${id}`);
        assert.equal(pkg.optional, !orphan && !pkg.dev && !required.has(id), `optional ${id}`);
        // via: the direct dependencies (non-importer targets of importer edges) from which the node is reachable without passing an importer.
        const directs = new Set(starts.flatMap((s) => graph.nodes.get(s)!.edges.map((e) => e.target!)).filter((t) => graph.nodes.get(t)!.importer === undefined));
        const expectedVia = [...directs].filter((d) => d === id || reachable(graph, [d], () => true, false).has(id)).map((d) => `${d}@1.0.0`).sort();
        const paths = dependencyPaths(graph, [id]);
        assert.deepEqual(paths.via, expectedVia, `via ${id}`);
        // path: starts at an importer, follows edges, ends at the node, and is as short as any.
        if (paths.path.length > 0) {
          assert.equal(paths.path.at(-1), `${id}@1.0.0`);
          const labels = new Map([...graph.nodes.values()].map((n) => [n.importer !== undefined ? (n.importer === '.' ? n.name : n.importer) : `${n.name}@1.0.0`, n.id]));
          const chain = paths.path.map((l) => labels.get(l)!);
          assert.ok(graph.nodes.get(chain[0]!)!.importer !== undefined);
          for (let i = 0; i + 1 < chain.length; i++) assert.ok(graph.nodes.get(chain[i]!)!.edges.some((e) => e.target === chain[i + 1]), `edge ${chain[i]} -> ${chain[i + 1]}`);
          // BFS distance from the importers without entering importers again.
          const dist = new Map<string, number>(starts.map((s) => [s, 0]));
          let frontier = [...starts];
          while (frontier.length) {
            const next: string[] = [];
            for (const u of frontier) for (const e of graph.nodes.get(u)!.edges) if (!dist.has(e.target!) && graph.nodes.get(e.target!)!.importer === undefined) { dist.set(e.target!, dist.get(u)! + 1); next.push(e.target!); }
            frontier = next;
          }
          if (dist.has(id)) assert.equal(paths.path.length - 1, dist.get(id), `shortest path to ${id}`);
        }
      }
    }),
    { numRuns: 1500 },
  );
});
