/**
 * What an audit needs from a lockfile graph: the installed packages with dev/optional flags
 * computed the same way for every format, and the dependency paths that explain each finding.
 */
import { compactGraph, FLAG_IMPORTER, FLAG_INSTALL_SCRIPT, KIND_INDEX, SOURCE_INDEX, type CompactGraph } from './lockfile/compact.js';
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

const KIND = KIND_INDEX;

/**
 * Node numbers of the importers the walks start from, in graph.importers order. Found among the
 * flagged importer nodes first: the full id map costs a Map entry per package.
 */
function startsOf(c: CompactGraph): number[] {
  const flagged = new Map<string, number>();
  for (let n = 0; n < c.size; n++) if (c.flags[n]! & FLAG_IMPORTER) flagged.set(c.ids[n]!, n);
  const starts: number[] = [];
  for (const id of c.importers) {
    const n = flagged.get(id) ?? c.indexOf(id);
    if (n >= 0) starts.push(n);
  }
  return starts;
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
function reachability(c: CompactGraph, starts: number[]): Uint8Array {
  const state = new Uint8Array(c.size);
  const queue: number[] = [];
  const startSet = new Uint8Array(c.size);
  for (const n of starts) {
    startSet[n] = 1;
    state[n] = REQUIRED | NON_DEV | ANY;
    queue.push(n);
  }
  while (queue.length) {
    const u = queue.pop()!;
    const s = state[u]!;
    const asStart = startSet[u] === 1;
    for (let e = c.edgeStart[u]!; e < c.edgeStart[u + 1]!; e++) {
      const v = c.edgeTarget[e]!;
      if (v < 0) continue;
      const kind = c.edgeKind[e]!;
      let pass = 0;
      if (s & REQUIRED && (kind === KIND.prod || kind === KIND.peer)) pass |= REQUIRED;
      if (s & NON_DEV && kind !== KIND.dev) pass |= NON_DEV;
      if (s & ANY && (kind !== KIND.dev || asStart)) pass |= ANY;
      if ((state[v]! | pass) !== state[v]) {
        state[v]! |= pass;
        queue.push(v);
      }
    }
  }
  return state;
}

/**
 * One merged package over the graph's columns. Its node ids and locations are read from the graph
 * when asked for (a finding needs one): an array of id strings per package, held for the whole
 * audit, was tens of MB at 200,000 packages.
 */
class MergedPackage implements AuditPackage {
  declare conflictingIntegrity?: string[];
  readonly name: string;
  readonly version: string;
  /** The node numbers of its copies: one number for the usual single copy. */
  #nodes: number | number[];
  readonly #graph: CompactGraph;

  constructor(graph: CompactGraph, n: number, public dev: boolean, public optional: boolean) {
    this.#graph = graph;
    this.#nodes = n;
    this.name = graph.names[n]!;
    this.version = graph.versions[n]!;
  }

  addCopy(n: number): void {
    if (typeof this.#nodes === 'number') this.#nodes = [this.#nodes, n];
    else this.#nodes.push(n);
  }

  get first(): number {
    return typeof this.#nodes === 'number' ? this.#nodes : this.#nodes[0]!;
  }

  // Read from the graph when asked for, not held per package (200,000 of them at scale).

  /** Copies merge only when they agree on the source. */
  get source(): LockNode['source'] {
    return this.#graph.source(this.first);
  }

  /** Most are npm registry URLs the graph does not store. */
  get resolved(): string | undefined {
    return this.#graph.resolvedOf(this.first) || undefined;
  }

  /** The first copy's hash, else the first later copy that records one. */
  get integrity(): string | undefined {
    const graph = this.#graph;
    if (typeof this.#nodes === 'number') return graph.integrityOf(this.#nodes) || undefined;
    let hash = graph.integrityOf(this.#nodes[0]!) || undefined;
    for (let k = 1; hash === undefined && k < this.#nodes.length; k++) hash = graph.integrityOf(this.#nodes[k]!);
    return hash;
  }

  /** True when any copy has an install script. */
  get hasInstallScript(): true | undefined {
    return this.nodeNumbers.some((n) => this.#graph.flags[n]! & FLAG_INSTALL_SCRIPT) || undefined;
  }

  get nodeNumbers(): number[] {
    return typeof this.#nodes === 'number' ? [this.#nodes] : this.#nodes;
  }

  get ids(): string[] {
    return this.nodeNumbers.map((n) => this.#graph.ids[n]!);
  }

  get locations(): string[] {
    return this.nodeNumbers.map((n) => this.#graph.location(n));
  }
}

/** The node numbers of a package from auditPackages (its ids looked up for any other AuditPackage). */
export function nodeNumbersOf(graph: CompactGraph, pkg: AuditPackage): number[] {
  return pkg instanceof MergedPackage ? pkg.nodeNumbers : pkg.ids.map((id) => graph.indexOf(id)).filter((n) => n >= 0);
}

/**
 * The packages to audit, sorted by name and version: nodes merged per name@version, source and
 * resolved URL. Node numbers are sorted first (by name, version, then graph order), so copies of
 * one package are adjacent and merge in graph order without a map over every name.
 */
export function auditPackages(graph: LockGraph): AuditPackage[] {
  const c = compactGraph(graph);
  const state = reachability(c, startsOf(c));
  const { names, versions, sources, flags } = c;
  const order: number[] = [];
  for (let n = 0; n < c.size; n++) if (!(flags[n]! & FLAG_IMPORTER) && sources[n] !== SOURCE_INDEX.workspace) order.push(n);
  order.sort((a, b) => {
    const nameA = names[a]!;
    const nameB = names[b]!;
    if (nameA !== nameB) return nameA < nameB ? -1 : 1;
    const versionA = versions[a]!;
    const versionB = versions[b]!;
    if (versionA !== versionB) return versionA < versionB ? -1 : 1;
    return a - b;
  });
  const all: MergedPackage[] = [];
  // Which merged packages got their flags from a reachable node: an unreachable copy (say yarn
  // berry's implicit builtin patch of typescript) must not turn a dev package into a prod one.
  const fromReachable: boolean[] = [];
  // Packages of the current name@version start at all[run].
  let run = 0;
  for (let k = 0; k < order.length; k++) {
    const n = order[k]!;
    if (k === 0 || names[n] !== names[order[k - 1]!] || versions[n] !== versions[order[k - 1]!]) run = all.length;
    // Nodes no importer reaches (extraneous entries) are kept and treated as production: an
    // installer may still put them on disk, and hiding them would be a silent allow.
    const bits = state[n]!;
    const orphan = !(bits & ANY);
    const dev = !orphan && !(bits & NON_DEV);
    const optional = !orphan && !dev && !(bits & REQUIRED);
    let found: number | undefined;
    if (run < all.length) {
      const source = c.source(n);
      const resolved = c.resolvedOf(n);
      for (let i = run; i < all.length; i++) {
        const p = all[i]!;
        if (p.source === source && p.resolved === resolved) {
          found = i;
          break;
        }
      }
    }
    if (found === undefined) {
      all.push(new MergedPackage(c, n, dev, optional));
      fromReachable.push(!orphan);
      continue;
    }
    const existing = all[found]!;
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
    // Berry checksums hash yarn's archive, which differs for a patched copy: only npm SRI hashes compare.
    const nodeIntegrity = c.integrityOf(n);
    const known = existing.integrity;
    if (nodeIntegrity?.startsWith('sha') && known?.startsWith('sha') && nodeIntegrity !== known) {
      existing.conflictingIntegrity = [...new Set([...(existing.conflictingIntegrity ?? [known]), nodeIntegrity])];
    }
    existing.addCopy(n);
  }
  return all;
}

export interface DependencyPaths {
  /** Direct dependencies (of any importer) through which the package is installed. */
  via: string[];
  /** One shortest chain from an importer, e.g. ["packages/app", "mkdirp@0.5.1", "minimist@0.0.8"]. */
  path: string[];
}

/**
 * Dependency paths for many findings at once, from one pass over the graph:
 * - `via`: which direct dependencies reach each node. Strongly connected components (npm graphs
 *   have cycles) are condensed, then one bitset per component is propagated in topological order,
 *   O(edges x directs / 32). The earlier walk from every direct dependency was directs x edges:
 *   4 s for 60 directs over 200,000 packages.
 * - `path`: one shortest chain, from a multi-source breadth-first search from every importer.
 * The function takes node ids; `packagePaths` below takes a package from auditPackages.
 */
export function pathIndex(graph: LockGraph): (ids: string[]) => DependencyPaths {
  const c = compactGraph(graph);
  const paths = pathsOfNodes(c);
  return (ids) => paths(ids.map((id) => c.indexOf(id)).filter((n) => n >= 0));
}

/** pathIndex for the packages of auditPackages(graph): no id lookups. */
export function packagePaths(graph: LockGraph): (pkg: AuditPackage) => DependencyPaths {
  const c = compactGraph(graph);
  const paths = pathsOfNodes(c);
  return (pkg) => paths(nodeNumbersOf(c, pkg));
}

function pathsOfNodes(c: CompactGraph): (nodes: number[]) => DependencyPaths {
  let built: { comp: Int32Array; words: number; bits: Uint32Array; directs: number[]; parent: Int32Array; depth: Int32Array } | undefined;
  const directLabels: string[] = [];
  const { edgeStart, edgeTarget } = c;
  const isImporter = (v: number) => (c.flags[v]! & FLAG_IMPORTER) !== 0;
  const build = () => {
    const n = c.size;
    const starts = startsOf(c);
    const parent = new Int32Array(n).fill(-1);
    const depth = new Int32Array(n).fill(-1);
    let frontier = [...starts];
    for (const s of frontier) depth[s] = 0;
    for (let d = 1; frontier.length; d++) {
      const next: number[] = [];
      for (const u of frontier) {
        for (let e = edgeStart[u]!; e < edgeStart[u + 1]!; e++) {
          const v = edgeTarget[e]!;
          if (v < 0 || depth[v] !== -1 || isImporter(v)) continue;
          depth[v] = d;
          parent[v] = u;
          next.push(v);
        }
      }
      frontier = next;
    }
    const directSet = new Set<number>();
    for (const s of starts) {
      for (let e = edgeStart[s]!; e < edgeStart[s + 1]!; e++) {
        const v = edgeTarget[e]!;
        if (v >= 0 && !isImporter(v)) directSet.add(v);
      }
    }
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
        for (let e = edgeStart[u]!; e < edgeStart[u + 1]!; e++) {
          const t = edgeTarget[e]!;
          if (t < 0) continue;
          const to = comp[t]!;
          if (to < 0 || to === k) continue;
          for (let w = 0; w < words; w++) bits[to * words + w]! |= bits[k * words + w]!;
        }
      }
    }
    built = { comp, words, bits, directs, parent, depth };
  };
  let reverse: Reverse | undefined;
  return (nodes) => {
    if (!built) build();
    const { comp, words, bits, directs, parent, depth } = built!;
    const via = new Set<string>();
    let best = -1;
    for (const v of nodes) {
      if (depth[v]! > 0 && (best < 0 || depth[v]! < depth[best]!)) best = v;
      const k = comp[v]!;
      if (k < 0) continue;
      for (let w = 0; w < words; w++) {
        // Visit set bits only: most packages come in through a handful of direct dependencies.
        for (let rest = bits[k * words + w]!; rest !== 0; rest &= rest - 1) {
          const i = w * 32 + (31 - Math.clz32(rest & -rest));
          via.add(directLabels[i] ??= c.label(directs[i]!));
        }
      }
    }
    if (best < 0) return { via: [...via].sort(), path: shortestPath(c, nodes, (reverse ??= reverseEdges(c))) };
    const path: string[] = [];
    for (let at = best; at !== -1; at = parent[at]!) path.push(c.label(at));
    return { via: [...via].sort(), path: path.reverse() };
  };
}

/**
 * Strongly connected components of the non-importer subgraph (Tarjan, iterative: dependency
 * chains are deeper than the call stack allows). `comp` is -1 for importers; `order` lists the
 * components in topological order (a component before every component it has edges into).
 */
function components(c: CompactGraph): { comp: Int32Array; order: number[] } {
  const n = c.size;
  const isImporter = (v: number) => (c.flags[v]! & FLAG_IMPORTER) !== 0;
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
    if (num[root] !== -1 || isImporter(root)) continue;
    callNode.push(root);
    callEdge.push(c.edgeStart[root]!);
    num[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (callNode.length) {
      const u = callNode[callNode.length - 1]!;
      const e = callEdge[callEdge.length - 1]!;
      if (e < c.edgeStart[u + 1]!) {
        callEdge[callEdge.length - 1] = e + 1;
        const v = c.edgeTarget[e]!;
        if (v < 0 || isImporter(v)) continue;
        if (num[v] === -1) {
          num[v] = low[v] = counter++;
          stack.push(v);
          onStack[v] = 1;
          callNode.push(v);
          callEdge.push(c.edgeStart[v]!);
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

function shortestPath(c: CompactGraph, nodes: number[], reverse: Reverse): string[] {
  const parent = new Map<number, number>();
  const queue: number[] = [];
  for (const v of nodes) {
    parent.set(v, -1);
    queue.push(v);
  }
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (let r = reverse.start[v]!; r < reverse.end[v]!; r++) {
      const from = reverse.from[r]!;
      if (parent.has(from)) continue;
      parent.set(from, v);
      if (c.isImporter(from)) {
        const path: string[] = [];
        for (let at: number | undefined = from; at !== undefined && at !== -1; at = parent.get(at)) path.push(c.label(at));
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

interface Reverse {
  start: Int32Array;
  end: Int32Array;
  from: Int32Array;
}

/**
 * Who depends on each node, in graph order, each dependent once: node v's dependents are
 * from[start[v] .. end[v]). Edges into a node with the empty id (npm's root) are left out.
 */
function reverseEdges(c: CompactGraph): Reverse {
  const start = new Int32Array(c.size + 1);
  const into = (e: number) => {
    const t = c.edgeTarget[e]!;
    return t >= 0 && c.ids[t] !== '' ? t : -1;
  };
  for (let e = 0; e < c.edgeTarget.length; e++) {
    const t = into(e);
    if (t >= 0) start[t + 1]!++;
  }
  for (let v = 0; v < c.size; v++) start[v + 1]! += start[v]!;
  const fill = start.slice(0, c.size);
  const from = new Int32Array(start[c.size]!);
  for (let u = 0; u < c.size; u++) {
    for (let e = c.edgeStart[u]!; e < c.edgeStart[u + 1]!; e++) {
      const t = into(e);
      if (t < 0) continue;
      // A node listing the same dependency twice is one dependent; its entries are contiguous.
      if (fill[t]! > start[t]! && from[fill[t]! - 1] === u) continue;
      from[fill[t]!++] = u;
    }
  }
  // Duplicates leave slots unused: each list ends where its filling stopped.
  return { start, end: fill, from };
}
