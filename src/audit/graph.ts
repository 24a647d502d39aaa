/**
 * What an audit needs from a lockfile graph: the installed packages with dev/optional flags
 * computed the same way for every format, and the dependency paths that explain each finding.
 */
import type { LockGraph, LockNode } from './lockfile/model.js';

/** One name@version from one source, merged over its installed copies (LockNodes). */
export interface AuditPackage extends Pick<LockNode, 'name' | 'version' | 'source' | 'resolved' | 'integrity' | 'hasInstallScript'> {
  /** Only reached through devDependencies. */
  dev: boolean;
  /** Only reached through optionalDependencies (install may skip it). */
  optional: boolean;
  /** Node ids (one per installed copy). */
  ids: string[];
  /** Set when copies of the same name@version from the same source carry different hashes. */
  conflictingIntegrity?: string[];
  locations: string[];
}

/**
 * Nodes reachable from the importers through edges `allowed` accepts. Importers are walked again
 * when reached through a workspace link (isStart false), so their dev edges can be told apart.
 */
function reach(graph: LockGraph, allowed: (kind: string, fromImporter: boolean, isStart: boolean) => boolean): Set<string> {
  const seen = new Set<string>();
  const queue: Array<[string, boolean]> = graph.importers.map((id) => [id, true]);
  const visitedImporters = new Set<string>();
  while (queue.length) {
    const [id, isStart] = queue.pop()!;
    const node = graph.nodes.get(id);
    if (!node) continue;
    const fromImporter = node.importer !== undefined;
    if (fromImporter) {
      const key = `${id}|${isStart}`;
      if (visitedImporters.has(key)) continue;
      visitedImporters.add(key);
    }
    for (const edge of node.edges) {
      if (!edge.target || !allowed(edge.kind, fromImporter, isStart)) continue;
      const target = graph.nodes.get(edge.target);
      if (!target) continue;
      if (target.importer !== undefined) {
        queue.push([edge.target, false]);
        continue;
      }
      if (seen.has(edge.target)) continue;
      seen.add(edge.target);
      queue.push([edge.target, false]);
    }
  }
  return seen;
}

export function auditPackages(graph: LockGraph): AuditPackage[] {
  // A workspace reached as somebody's dependency brings its prod deps, not its devDependencies.
  const required = reach(graph, (kind) => kind === 'prod' || kind === 'peer');
  const nonDev = reach(graph, (kind) => kind !== 'dev');
  const all = reach(graph, (kind, fromImporter, isStart) => kind !== 'dev' || (fromImporter && isStart));
  const byKey = new Map<string, AuditPackage>();
  // Which merged packages got their flags from a reachable node: an unreachable copy (say yarn
  // berry's implicit builtin patch of typescript) must not turn a dev package into a prod one.
  const fromReachable = new Set<AuditPackage>();
  for (const node of graph.nodes.values()) {
    if (node.importer !== undefined || node.source === 'workspace') continue;
    // Nodes no importer reaches (extraneous entries) are kept and treated as production: an
    // installer may still put them on disk, and hiding them would be a silent allow.
    const orphan = !all.has(node.id);
    const dev = !orphan && !nonDev.has(node.id);
    const optional = !orphan && !dev && !required.has(node.id);
    const key = `${node.name}@${node.version}|${node.source}|${node.resolved ?? ''}`;
    const existing = byKey.get(key);
    if (existing) {
      existing.ids.push(node.id);
      existing.locations.push(node.location);
      if (!orphan) {
        if (fromReachable.has(existing)) {
          existing.dev &&= dev;
          existing.optional &&= optional;
        } else {
          existing.dev = dev;
          existing.optional = optional;
          fromReachable.add(existing);
        }
      }
      if (node.hasInstallScript) existing.hasInstallScript = true;
      // Berry checksums hash yarn's archive, which differs for a patched copy: only npm SRI hashes compare.
      if (node.integrity?.startsWith('sha') && existing.integrity?.startsWith('sha') && node.integrity !== existing.integrity) {
        existing.conflictingIntegrity = [...new Set([...(existing.conflictingIntegrity ?? [existing.integrity]), node.integrity])];
      }
      existing.integrity ??= node.integrity;
      continue;
    }
    const pkg: AuditPackage = { name: node.name, version: node.version, source: node.source, dev, optional, ids: [node.id], locations: [node.location] };
    if (node.resolved) pkg.resolved = node.resolved;
    if (node.integrity) pkg.integrity = node.integrity;
    if (node.hasInstallScript) pkg.hasInstallScript = true;
    if (!orphan) fromReachable.add(pkg);
    byKey.set(key, pkg);
  }
  return [...byKey.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

export interface DependencyPaths {
  /** Direct dependencies (of any importer) through which the package is installed. */
  via: string[];
  /** One shortest chain from an importer, e.g. ["packages/app", "mkdirp@0.5.1", "minimist@0.0.8"]. */
  path: string[];
}

function label(node: LockNode): string {
  return node.importer !== undefined ? (node.importer === '.' ? node.name : node.importer) : `${node.name}@${node.version}`;
}

/**
 * Dependency paths for many findings at once. `via` comes from one forward walk per direct
 * dependency, recorded as a bitset per node (directs x (nodes + edges), instead of a full reverse
 * walk per finding, which was 1.2 s for 2,000 findings in a 5,000-package lockfile). The shortest
 * path is a reverse breadth-first search that stops at the first importer.
 */
export function pathIndex(graph: LockGraph, reverse = reverseEdges(graph)): (ids: string[]) => DependencyPaths {
  let bits: Map<string, Uint32Array> | undefined;
  let directs: string[] = [];
  const directLabels: string[] = [];
  // Multi-source breadth-first search from every importer: each node's parent on a shortest path.
  const parent = new Map<string, { from: string; depth: number }>();
  const build = () => {
    let frontier = [...graph.importers];
    for (let depth = 1; frontier.length; depth++) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const edge of graph.nodes.get(id)?.edges ?? []) {
          if (!edge.target || parent.has(edge.target) || graph.nodes.get(edge.target)?.importer !== undefined) continue;
          parent.set(edge.target, { from: id, depth });
          next.push(edge.target);
        }
      }
      frontier = next;
    }
    const set = new Set<string>();
    for (const id of graph.importers) {
      for (const edge of graph.nodes.get(id)?.edges ?? []) {
        if (edge.target && graph.nodes.get(edge.target)?.importer === undefined) set.add(edge.target);
      }
    }
    directs = [...set];
    // Integer node numbers and flat adjacency: the walk below runs directs x edges times.
    const index = new Map<string, number>();
    const ids: string[] = [];
    for (const node of graph.nodes.values()) if (node.importer === undefined) index.set(node.id, ids.push(node.id) - 1);
    const adjacency: number[][] = ids.map((id) => {
      const out: number[] = [];
      for (const edge of graph.nodes.get(id)!.edges) {
        const target = edge.target === undefined ? undefined : index.get(edge.target);
        if (target !== undefined) out.push(target);
      }
      return out;
    });
    const words = Math.max(1, Math.ceil(directs.length / 32));
    const flat = new Uint32Array(ids.length * words);
    const stack: number[] = [];
    directs.forEach((start, i) => {
      const word = i >> 5;
      const bit = 1 << (i & 31);
      const first = index.get(start)!;
      flat[first * words + word]! |= bit;
      stack.push(first);
      while (stack.length) {
        for (const target of adjacency[stack.pop()!]!) {
          const slot = target * words + word;
          if (flat[slot]! & bit) continue;
          flat[slot]! |= bit;
          stack.push(target);
        }
      }
    });
    bits = new Map(ids.map((id, n) => [id, flat.subarray(n * words, (n + 1) * words)]));
  };
  return (ids) => {
    if (!bits) build();
    const via = new Set<string>();
    for (const id of ids) {
      const b = bits!.get(id);
      if (!b) continue;
      for (let word = 0; word < b.length; word++) {
        // Visit set bits only: most packages come in through a handful of direct dependencies.
        for (let rest = b[word]!; rest !== 0; rest &= rest - 1) {
          const i = word * 32 + (31 - Math.clz32(rest & -rest));
          via.add(directLabels[i] ??= label(graph.nodes.get(directs[i]!)!));
        }
      }
    }
    let best: string | undefined;
    for (const id of ids) if (parent.has(id) && (best === undefined || parent.get(id)!.depth < parent.get(best)!.depth)) best = id;
    const path: string[] = [];
    for (let at = best; at !== undefined; at = parent.get(at)?.from) path.unshift(label(graph.nodes.get(at)!));
    return { via: [...via].sort(), path: best === undefined ? shortestPath(graph, ids, reverse) : path };
  };
}

function shortestPath(graph: LockGraph, ids: string[], reverse: Map<string, string[]>): string[] {
  const parent = new Map<string, string | null>();
  const queue: string[] = [];
  for (const id of ids) {
    parent.set(id, null);
    queue.push(id);
  }
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const from of reverse.get(id) ?? []) {
      if (parent.has(from)) continue;
      parent.set(from, id);
      if (graph.nodes.get(from)!.importer !== undefined) {
        const path: string[] = [];
        for (let at: string | null | undefined = from; at !== undefined && at !== null; at = parent.get(at)) path.push(label(graph.nodes.get(at)!));
        return path;
      }
      queue.push(from);
    }
  }
  return [];
}

/** One package's paths (see pathIndex for many). */
export function dependencyPaths(graph: LockGraph, ids: string[], reverse = reverseEdges(graph)): DependencyPaths {
  return pathIndex(graph, reverse)(ids);
}

export function reverseEdges(graph: LockGraph): Map<string, string[]> {
  const reverse = new Map<string, string[]>();
  for (const node of graph.nodes.values()) {
    for (const edge of node.edges) {
      if (!edge.target) continue;
      const list = reverse.get(edge.target);
      if (list) {
        if (!list.includes(node.id)) list.push(node.id);
      } else reverse.set(edge.target, [node.id]);
    }
  }
  return reverse;
}
