/**
 * What an audit needs from a lockfile graph: the installed packages with dev/optional flags
 * computed the same way for every format, and the dependency paths that explain each finding.
 */
import type { LockGraph, LockNode, SourceKind } from './lockfile/model.js';

export interface AuditPackage {
  name: string;
  version: string;
  source: SourceKind;
  resolved?: string;
  integrity?: string;
  hasInstallScript?: boolean;
  /** Only reached through devDependencies. */
  dev: boolean;
  /** Only reached through optionalDependencies (install may skip it). */
  optional: boolean;
  /** Node ids (one per installed copy). */
  ids: string[];
  locations: string[];
}

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
      existing.dev &&= dev;
      existing.optional &&= optional;
      if (node.hasInstallScript) existing.hasInstallScript = true;
      existing.integrity ??= node.integrity;
      continue;
    }
    const pkg: AuditPackage = { name: node.name, version: node.version, source: node.source, dev, optional, ids: [node.id], locations: [node.location] };
    if (node.resolved) pkg.resolved = node.resolved;
    if (node.integrity) pkg.integrity = node.integrity;
    if (node.hasInstallScript) pkg.hasInstallScript = true;
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

/** Reverse breadth-first search from the package's nodes to the importers. */
export function dependencyPaths(graph: LockGraph, ids: string[], reverse = reverseEdges(graph)): DependencyPaths {
  const parent = new Map<string, string | null>();
  const queue: string[] = [];
  for (const id of ids) {
    parent.set(id, null);
    queue.push(id);
  }
  let foundImporter: string | undefined;
  const via = new Set<string>();
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const from of reverse.get(id) ?? []) {
      const fromNode = graph.nodes.get(from)!;
      if (fromNode.importer !== undefined) {
        via.add(label(graph.nodes.get(id)!));
        if (foundImporter === undefined) {
          foundImporter = from;
          parent.set(from, id);
        }
        continue;
      }
      if (parent.has(from)) continue;
      parent.set(from, id);
      queue.push(from);
    }
  }
  const path: string[] = [];
  for (let at: string | null | undefined = foundImporter; at !== undefined && at !== null; at = parent.get(at)) path.push(label(graph.nodes.get(at)!));
  return { via: [...via].sort(), path };
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
