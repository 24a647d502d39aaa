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
  readonly locations: string[];
}

/**
 * The graph with integer node numbers and flat (CSR) adjacency, built once per graph: every walk
 * below is over typed arrays, not string-keyed maps (at 200,000 packages the maps were most of
 * the time and much of the garbage).
 */
interface Compiled {
  ids: string[];
  index: Map<string, number>;
  isImporter: Uint8Array;
  /** Edges of node n are targets[offsets[n] .. offsets[n + 1]), kinds alongside. */
  offsets: Int32Array;
  targets: Int32Array;
  kinds: Uint8Array;
  starts: number[];
}

const KIND = { prod: 0, peer: 1, optional: 2, dev: 3 } as const;
const compiledGraphs = new WeakMap<LockGraph, Compiled>();

function compile(graph: LockGraph): Compiled {
  const cached = compiledGraphs.get(graph);
  if (cached) return cached;
  const ids: string[] = [];
  const index = new Map<string, number>();
  for (const id of graph.nodes.keys()) index.set(id, ids.push(id) - 1);
  const isImporter = new Uint8Array(ids.length);
  let edgeCount = 0;
  let n = 0;
  for (const node of graph.nodes.values()) {
    if (node.importer !== undefined) isImporter[n] = 1;
    edgeCount += node.edges.length;
    n++;
  }
  const offsets = new Int32Array(ids.length + 1);
  const targets = new Int32Array(edgeCount);
  const kinds = new Uint8Array(edgeCount);
  let at = 0;
  n = 0;
  // Same order as `ids`: a Map iterates in insertion order.
  for (const node of graph.nodes.values()) {
    offsets[n++] = at;
    for (const edge of node.edges) {
      const target = edge.target === undefined ? undefined : index.get(edge.target);
      if (target === undefined) continue;
      targets[at] = target;
      kinds[at++] = KIND[edge.kind];
    }
  }
  offsets[ids.length] = at;
  const starts = graph.importers.map((id) => index.get(id)).filter((n): n is number => n !== undefined);
  const result: Compiled = { ids, index, isImporter, offsets, targets: targets.subarray(0, at), kinds: kinds.subarray(0, at), starts };
  compiledGraphs.set(graph, result);
  return result;
}

const REQUIRED = 1; // reached through prod/peer edges only
const NON_DEV = 2; // reached without a dev edge
const ANY = 4; // reached at all (dev edges only from the importer where the walk starts)

/**
 * Dev/optional reachability for every node in one worklist pass: each node's state is the union of
 * what its dependents hand down through each kind of edge, and a node is walked again only when
 * its state gains a bit (at most three times), instead of three separate walks.
 * A workspace reached as somebody's dependency brings its prod deps, not its devDependencies.
 */
function reachability(c: Compiled): Uint8Array {
  const state = new Uint8Array(c.ids.length);
  const queue: number[] = [];
  const startSet = new Uint8Array(c.ids.length);
  for (const n of c.starts) {
    startSet[n] = 1;
    state[n] = REQUIRED | NON_DEV | ANY;
    queue.push(n);
  }
  while (queue.length) {
    const u = queue.pop()!;
    const s = state[u]!;
    const asStart = startSet[u] === 1;
    for (let e = c.offsets[u]!; e < c.offsets[u + 1]!; e++) {
      const kind = c.kinds[e]!;
      let pass = 0;
      if (s & REQUIRED && (kind === KIND.prod || kind === KIND.peer)) pass |= REQUIRED;
      if (s & NON_DEV && kind !== KIND.dev) pass |= NON_DEV;
      if (s & ANY && (kind !== KIND.dev || asStart)) pass |= ANY;
      const v = c.targets[e]!;
      if ((state[v]! | pass) !== state[v]) {
        state[v]! |= pass;
        queue.push(v);
      }
    }
  }
  return state;
}

/**
 * Locations are read from the nodes when asked for (a finding needs one): a string per package
 * held for the whole audit was 16 MB at 200,000 packages.
 */
class MergedPackage implements AuditPackage {
  declare resolved?: string;
  declare integrity?: string;
  declare hasInstallScript?: boolean;
  declare conflictingIntegrity?: string[];
  readonly name: string;
  readonly version: string;
  readonly source: LockNode['source'];
  readonly ids: string[];
  readonly #nodes: ReadonlyMap<string, LockNode>;

  constructor(nodes: ReadonlyMap<string, LockNode>, node: LockNode, public dev: boolean, public optional: boolean) {
    this.#nodes = nodes;
    this.name = node.name;
    this.version = node.version;
    this.source = node.source;
    this.ids = [node.id];
  }

  get locations(): string[] {
    return this.ids.map((id) => this.#nodes.get(id)!.location);
  }
}

export function auditPackages(graph: LockGraph): AuditPackage[] {
  const c = compile(graph);
  const state = reachability(c);
  // name -> its merged packages (one per version/source/resolved); no composite key strings: at
  // 200,000 packages those were 24 MB of garbage.
  const byName = new Map<string, number[]>();
  const all: AuditPackage[] = [];
  // Which merged packages got their flags from a reachable node: an unreachable copy (say yarn
  // berry's implicit builtin patch of typescript) must not turn a dev package into a prod one.
  const fromReachable: boolean[] = [];
  for (let n = 0; n < c.ids.length; n++) {
    const node = graph.nodes.get(c.ids[n]!)!;
    if (node.importer !== undefined || node.source === 'workspace') continue;
    // Nodes no importer reaches (extraneous entries) are kept and treated as production: an
    // installer may still put them on disk, and hiding them would be a silent allow.
    const bits = state[n]!;
    const orphan = !(bits & ANY);
    const dev = !orphan && !(bits & NON_DEV);
    const optional = !orphan && !dev && !(bits & REQUIRED);
    const same = byName.get(node.name);
    const found = same?.find((i) => all[i]!.version === node.version && all[i]!.source === node.source && all[i]!.resolved === node.resolved);
    if (found !== undefined) {
      const existing = all[found]!;
      existing.ids.push(node.id);
      if (!orphan) {
        if (fromReachable[found]) {
          existing.dev &&= dev;
          existing.optional &&= optional;
        } else {
          existing.dev = dev;
          existing.optional = optional;
          fromReachable[found] = true;
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
    const pkg: AuditPackage = new MergedPackage(graph.nodes, node, dev, optional);
    if (node.resolved) pkg.resolved = node.resolved;
    if (node.integrity) pkg.integrity = node.integrity;
    if (node.hasInstallScript) pkg.hasInstallScript = true;
    fromReachable.push(!orphan);
    if (same) same.push(all.length);
    else byName.set(node.name, [all.length]);
    all.push(pkg);
  }
  return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
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
 * Dependency paths for many findings at once, from one pass over the graph:
 * - `via`: which direct dependencies reach each node. Strongly connected components (npm graphs
 *   have cycles) are condensed, then one bitset per component is propagated in topological order,
 *   O(edges x directs / 32). The earlier walk from every direct dependency was directs x edges:
 *   4 s for 60 directs over 200,000 packages.
 * - `path`: one shortest chain, from a multi-source breadth-first search from every importer.
 */
export function pathIndex(graph: LockGraph): (ids: string[]) => DependencyPaths {
  let built: { comp: Int32Array; words: number; bits: Uint32Array; directs: number[]; parent: Int32Array; depth: Int32Array } | undefined;
  const c = compile(graph);
  const directLabels: string[] = [];
  const build = () => {
    const n = c.ids.length;
    const parent = new Int32Array(n).fill(-1);
    const depth = new Int32Array(n).fill(-1);
    let frontier = [...c.starts];
    for (const s of frontier) depth[s] = 0;
    for (let d = 1; frontier.length; d++) {
      const next: number[] = [];
      for (const u of frontier) {
        for (let e = c.offsets[u]!; e < c.offsets[u + 1]!; e++) {
          const v = c.targets[e]!;
          if (depth[v] !== -1 || c.isImporter[v]) continue;
          depth[v] = d;
          parent[v] = u;
          next.push(v);
        }
      }
      frontier = next;
    }
    const directSet = new Set<number>();
    for (const s of c.starts) for (let e = c.offsets[s]!; e < c.offsets[s + 1]!; e++) if (!c.isImporter[c.targets[e]!]) directSet.add(c.targets[e]!);
    const directs = [...directSet];
    const { comp, order } = components(c);
    const words = Math.max(1, Math.ceil(directs.length / 32));
    const bits = new Uint32Array(order.length * words);
    directs.forEach((d, i) => {
      bits[comp[d]! * words + (i >> 5)]! |= 1 << (i & 31);
    });
    // `order` lists components sources first, so a component's bits are complete when it is reached.
    // Members of each component as flat arrays (one array per component was 10 MB at 200,000).
    const memberStart = new Int32Array(order.length + 1);
    for (let v = 0; v < n; v++) if (comp[v]! >= 0) memberStart[comp[v]! + 1]!++;
    for (let k = 0; k < order.length; k++) memberStart[k + 1]! += memberStart[k]!;
    const fill = memberStart.slice(0, order.length);
    const members = new Int32Array(memberStart[order.length]!);
    for (let v = 0; v < n; v++) if (comp[v]! >= 0) members[fill[comp[v]!]!++] = v;
    for (const k of order) {
      for (let m = memberStart[k]!; m < memberStart[k + 1]!; m++) {
        const u = members[m]!;
        for (let e = c.offsets[u]!; e < c.offsets[u + 1]!; e++) {
          const to = comp[c.targets[e]!]!;
          if (to < 0 || to === k) continue;
          for (let w = 0; w < words; w++) bits[to * words + w]! |= bits[k * words + w]!;
        }
      }
    }
    built = { comp, words, bits, directs, parent, depth };
  };
  let reverse: Map<string, string[]> | undefined;
  return (ids) => {
    if (!built) build();
    const { comp, words, bits, directs, parent, depth } = built!;
    const via = new Set<string>();
    let best = -1;
    for (const id of ids) {
      const v = c.index.get(id);
      if (v === undefined) continue;
      if (depth[v]! > 0 && (best < 0 || depth[v]! < depth[best]!)) best = v;
      const k = comp[v]!;
      if (k < 0) continue;
      for (let w = 0; w < words; w++) {
        // Visit set bits only: most packages come in through a handful of direct dependencies.
        for (let rest = bits[k * words + w]!; rest !== 0; rest &= rest - 1) {
          const i = w * 32 + (31 - Math.clz32(rest & -rest));
          via.add(directLabels[i] ??= label(graph.nodes.get(c.ids[directs[i]!]!)!));
        }
      }
    }
    if (best < 0) return { via: [...via].sort(), path: shortestPath(graph, ids, (reverse ??= reverseEdges(graph))) };
    const path: string[] = [];
    for (let at = best; at !== -1; at = parent[at]!) path.push(label(graph.nodes.get(c.ids[at]!)!));
    return { via: [...via].sort(), path: path.reverse() };
  };
}

/**
 * Strongly connected components of the non-importer subgraph (Tarjan, iterative: dependency
 * chains are deeper than the call stack allows). `comp` is -1 for importers; `order` lists the
 * components in topological order (a component before every component it has edges into).
 */
function components(c: Compiled): { comp: Int32Array; order: number[] } {
  const n = c.ids.length;
  const comp = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const num = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const callNode: number[] = [];
  const callEdge: number[] = [];
  let counter = 0;
  let comps = 0;
  for (let root = 0; root < n; root++) {
    if (num[root] !== -1 || c.isImporter[root]) continue;
    callNode.push(root);
    callEdge.push(c.offsets[root]!);
    num[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (callNode.length) {
      const u = callNode[callNode.length - 1]!;
      const e = callEdge[callEdge.length - 1]!;
      if (e < c.offsets[u + 1]!) {
        callEdge[callEdge.length - 1] = e + 1;
        const v = c.targets[e]!;
        if (c.isImporter[v]) continue;
        if (num[v] === -1) {
          num[v] = low[v] = counter++;
          stack.push(v);
          onStack[v] = 1;
          callNode.push(v);
          callEdge.push(c.offsets[v]!);
        } else if (onStack[v]) low[u] = Math.min(low[u]!, num[v]!);
        continue;
      }
      callNode.pop();
      callEdge.pop();
      if (callNode.length) {
        const p = callNode[callNode.length - 1]!;
        low[p] = Math.min(low[p]!, low[u]!);
      }
      if (low[u] === num[u]) {
        for (;;) {
          const w = stack.pop()!;
          onStack[w] = 0;
          comp[w] = comps;
          if (w === u) break;
        }
        comps++;
      }
    }
  }
  // Tarjan completes a component after every component reachable from it: reverse for sources first.
  const order = Array.from({ length: comps }, (_, i) => comps - 1 - i);
  return { comp, order };
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
export function dependencyPaths(graph: LockGraph, ids: string[]): DependencyPaths {
  return pathIndex(graph)(ids);
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
