/**
 * The lockfile graph in columns: one array entry per node instead of one object per node, edges in
 * flat (CSR) typed arrays with integer targets, names and versions interned. At 200,000 packages a
 * graph of LockNode objects with Edge objects cost ~1 KB per package and most of the audit's time
 * in allocation and garbage collection; this form is a few hundred bytes per package.
 *
 * LockNode objects are still there for whoever asks (`graph.nodes.get(id)`, `graph.node(i)`), made
 * on demand; the audit's own passes read the columns.
 */
import { escapePointer, type DependencyKind, type Edge, type LockfileFormat, type LockGraph, type LockNode, type SourceKind } from './model.js';

export const SOURCE_KINDS: readonly SourceKind[] = ['registry', 'git', 'tarball', 'file', 'link', 'workspace'];
export const DEPENDENCY_KINDS: readonly DependencyKind[] = ['prod', 'peer', 'optional', 'dev'];
export const SOURCE_INDEX: Readonly<Record<SourceKind, number>> = { registry: 0, git: 1, tarball: 2, file: 3, link: 4, workspace: 5 };
export const KIND_INDEX: Readonly<Record<DependencyKind, number>> = { prod: 0, peer: 1, optional: 2, dev: 3 };

export const FLAG_INSTALL_SCRIPT = 1;
export const FLAG_BUNDLED = 2;
export const FLAG_IMPORTER = 4;
/** The integrity is one sha512 SRI hash, held as its 64 bytes (see Sha512Column). */
export const FLAG_SHA512 = 16;
/** `resolved` is npm's registry tarball URL of the node's name and version, made when asked for, not stored. */
export const FLAG_NPM_TARBALL = 8;

const NPM_REGISTRY = 'https://registry.npmjs.org/';

// Canonical base64 of 64 bytes: the last data character carries 2 bits and 4 zero bits.
const SHA512_SRI = /^sha512-[A-Za-z0-9+/]{85}[AQgw]==$/;
const PER_CHUNK = 16384;

/**
 * sha512 integrity hashes as bytes, 64 per node in 1 MB chunks (never copied to grow): the string
 * form, "sha512-" and 88 base64 characters, is ~110 bytes of heap per package.
 */
export class Sha512Column {
  private readonly chunks: Buffer[] = [];

  /** Stores node i's hash when it is exactly one canonical sha512 SRI hash (so it reads back as given). */
  set(i: number, integrity: string): boolean {
    if (integrity.length !== 95 || !SHA512_SRI.test(integrity)) return false;
    const chunk = Math.floor(i / PER_CHUNK);
    while (this.chunks.length <= chunk) this.chunks.push(Buffer.allocUnsafe(PER_CHUNK * 64));
    this.chunks[chunk]!.write(integrity.slice(7), (i % PER_CHUNK) * 64, 64, 'base64');
    return true;
  }

  get(i: number): string {
    const at = (i % PER_CHUNK) * 64;
    return `sha512-${this.chunks[Math.floor(i / PER_CHUNK)]!.toString('base64', at, at + 64)}`;
  }
}

/** https://registry.npmjs.org/<name>/-/<basename>-<version>.tgz, the URL most lockfile entries record. */
export function npmTarballUrl(name: string, version: string): string {
  return `${NPM_REGISTRY}${name}/-/${name.includes('/') ? name.slice(name.indexOf('/') + 1) : name}-${version}.tgz`;
}

/** resolved === npmTarballUrl(name, version), without building the string. */
export function isNpmTarballUrl(resolved: string, name: string, version: string): boolean {
  const base = name.includes('/') ? name.slice(name.indexOf('/') + 1) : name;
  let at = NPM_REGISTRY.length;
  if (resolved.length !== at + name.length + 3 + base.length + 1 + version.length + 4 || !resolved.startsWith(NPM_REGISTRY) || !resolved.startsWith(name, at)) return false;
  at += name.length;
  if (!resolved.startsWith('/-/', at) || !resolved.startsWith(base, at + 3)) return false;
  at += 3 + base.length;
  return resolved.startsWith('-', at) && resolved.startsWith(version, at + 1) && resolved.endsWith('.tgz');
}

/** The columns a reader fills; see CompactGraph for what each holds. */
export interface CompactColumns {
  format: LockfileFormat;
  ids: string[];
  names: string[];
  versions: string[];
  sources: Uint8Array;
  flags: Uint8Array;
  /** Undefined when there is none or when FLAG_NPM_TARBALL says what it is: read it with resolvedOf(). */
  resolved: Array<string | undefined>;
  /** Undefined when there is none or when FLAG_SHA512 says it is in `sha512`: read it with integrityOf(). */
  integrity: Array<string | undefined>;
  sha512?: Sha512Column;
  /** Importer label per importer node ("." for the root project, else its folder). */
  importerLabels: Map<number, string>;
  /** Edges of node i are [edgeStart[i], edgeStart[i + 1]). */
  edgeStart: Int32Array;
  /** Target node number, -1 when the lockfile does not contain the dependency. */
  edgeTarget: Int32Array;
  edgeKind: Uint8Array;
  /**
   * An edge's dependency name, only where it is not its target's name (no target, an alias, a
   * link): most edges name what they resolve to, and a string slot per edge was 5.6 MB at 200,000.
   */
  otherEdgeNames: Map<number, string>;
  importers: string[];
  /** The JSON pointer or key of node i's entry. */
  locationOf: (graph: CompactGraph, i: number) => string;
}

export class CompactGraph implements LockGraph {
  readonly format: LockfileFormat;
  readonly size: number;
  readonly ids: string[];
  readonly names: string[];
  readonly versions: string[];
  readonly sources: Uint8Array;
  readonly flags: Uint8Array;
  readonly resolved: Array<string | undefined>;
  readonly integrity: Array<string | undefined>;
  readonly #sha512: Sha512Column | undefined;
  readonly importerLabels: Map<number, string>;
  readonly edgeStart: Int32Array;
  readonly edgeTarget: Int32Array;
  readonly edgeKind: Uint8Array;
  readonly otherEdgeNames: Map<number, string>;
  readonly importers: string[];
  readonly #locationOf: (graph: CompactGraph, i: number) => string;
  #index: Map<string, number> | undefined;
  #view: ReadonlyMap<string, LockNode> | undefined;

  constructor(columns: CompactColumns) {
    this.format = columns.format;
    this.size = columns.ids.length;
    this.ids = columns.ids;
    this.names = columns.names;
    this.versions = columns.versions;
    this.sources = columns.sources;
    this.flags = columns.flags;
    this.resolved = columns.resolved;
    this.integrity = columns.integrity;
    this.#sha512 = columns.sha512;
    this.importerLabels = columns.importerLabels;
    this.edgeStart = columns.edgeStart;
    this.edgeTarget = columns.edgeTarget;
    this.edgeKind = columns.edgeKind;
    this.otherEdgeNames = columns.otherEdgeNames;
    this.importers = columns.importers;
    this.#locationOf = columns.locationOf;
  }

  /** Node number of `id`, -1 when there is none. The id map is built on the first call. */
  indexOf(id: string): number {
    if (!this.#index) {
      this.#index = new Map();
      for (let i = 0; i < this.size; i++) this.#index.set(this.ids[i]!, i);
    }
    return this.#index.get(id) ?? -1;
  }

  isImporter(i: number): boolean {
    return (this.flags[i]! & FLAG_IMPORTER) !== 0;
  }

  source(i: number): SourceKind {
    return SOURCE_KINDS[this.sources[i]!]!;
  }

  /** The dependency name edge e was declared with. */
  edgeName(e: number): string {
    return this.otherEdgeNames.get(e) ?? this.names[this.edgeTarget[e]!]!;
  }

  /** The node's integrity (see FLAG_SHA512). */
  integrityOf(i: number): string | undefined {
    return this.flags[i]! & FLAG_SHA512 ? this.#sha512!.get(i) : this.integrity[i];
  }

  /** The node's resolved URL (see FLAG_NPM_TARBALL). */
  resolvedOf(i: number): string | undefined {
    return this.flags[i]! & FLAG_NPM_TARBALL ? npmTarballUrl(this.names[i]!, this.versions[i]!) : this.resolved[i];
  }

  location(i: number): string {
    return this.#locationOf(this, i);
  }

  /** How a node is shown in a dependency path: "name@version", or the importer's folder ("." shows the name). */
  label(i: number): string {
    const importer = this.importerLabels.get(i);
    return importer !== undefined ? (importer === '.' ? this.names[i]! : importer) : `${this.names[i]}@${this.versions[i]}`;
  }

  /** Node i as a LockNode object, made now (not kept). */
  node(i: number): LockNode {
    const edges: Edge[] = [];
    for (let e = this.edgeStart[i]!; e < this.edgeStart[i + 1]!; e++) {
      const t = this.edgeTarget[e]!;
      edges.push({ name: this.edgeName(e), kind: DEPENDENCY_KINDS[this.edgeKind[e]!]!, target: t < 0 ? undefined : this.ids[t]! });
    }
    const flags = this.flags[i]!;
    const node: LockNode = { id: this.ids[i]!, name: this.names[i]!, version: this.versions[i]!, source: this.source(i), edges, location: this.location(i) };
    const resolved = this.resolvedOf(i);
    if (resolved !== undefined) node.resolved = resolved;
    const integrity = this.integrityOf(i);
    if (integrity !== undefined) node.integrity = integrity;
    if (flags & FLAG_INSTALL_SCRIPT) node.hasInstallScript = true;
    if (flags & FLAG_BUNDLED) node.bundled = true;
    const importer = this.importerLabels.get(i);
    if (importer !== undefined) node.importer = importer;
    return node;
  }

  /** Every node by id, as LockNode objects made when read: a view, not a copy. */
  get nodes(): ReadonlyMap<string, LockNode> {
    return (this.#view ??= new NodesView(this));
  }
}

class NodesView implements ReadonlyMap<string, LockNode> {
  constructor(private readonly graph: CompactGraph) {}

  get size(): number {
    return this.graph.size;
  }

  get(id: string): LockNode | undefined {
    const i = this.graph.indexOf(id);
    return i < 0 ? undefined : this.graph.node(i);
  }

  has(id: string): boolean {
    return this.graph.indexOf(id) >= 0;
  }

  *entries(): MapIterator<[string, LockNode]> {
    for (let i = 0; i < this.graph.size; i++) yield [this.graph.ids[i]!, this.graph.node(i)];
  }

  *keys(): MapIterator<string> {
    yield* this.graph.ids;
  }

  *values(): MapIterator<LockNode> {
    for (let i = 0; i < this.graph.size; i++) yield this.graph.node(i);
  }

  forEach(callback: (value: LockNode, key: string, map: ReadonlyMap<string, LockNode>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.graph.size; i++) callback.call(thisArg, this.graph.node(i), this.graph.ids[i]!, this);
  }

  [Symbol.iterator](): MapIterator<[string, LockNode]> {
    return this.entries();
  }
}

const compiled = new WeakMap<LockGraph, CompactGraph>();

/**
 * The columnar form of any LockGraph: itself when a reader built it so (npm v2/v3), else converted
 * once (and remembered) from its LockNode objects. Edges to ids the graph lacks get target -1.
 */
export function compactGraph(graph: LockGraph): CompactGraph {
  if (graph instanceof CompactGraph) return graph;
  const cached = compiled.get(graph);
  if (cached) return cached;
  const ids: string[] = [];
  const index = new Map<string, number>();
  for (const id of graph.nodes.keys()) index.set(id, ids.push(id) - 1);
  const n = ids.length;
  const names: string[] = new Array(n);
  const versions: string[] = new Array(n);
  const resolved: Array<string | undefined> = new Array(n);
  const integrity: Array<string | undefined> = new Array(n);
  const locations: string[] = new Array(n);
  const sources = new Uint8Array(n);
  const flags = new Uint8Array(n);
  const importerLabels = new Map<number, string>();
  const edgeStart = new Int32Array(n + 1);
  let edgeCount = 0;
  for (const node of graph.nodes.values()) edgeCount += node.edges.length;
  const edgeTarget = new Int32Array(edgeCount);
  const edgeKind = new Uint8Array(edgeCount);
  const otherEdgeNames = new Map<number, string>();
  let i = 0;
  let e = 0;
  // Same order as `ids`: a Map iterates in insertion order.
  for (const node of graph.nodes.values()) {
    names[i] = node.name;
    versions[i] = node.version;
    resolved[i] = node.resolved;
    integrity[i] = node.integrity;
    locations[i] = node.location;
    sources[i] = SOURCE_INDEX[node.source];
    flags[i] = (node.hasInstallScript ? FLAG_INSTALL_SCRIPT : 0) | (node.bundled ? FLAG_BUNDLED : 0) | (node.importer !== undefined ? FLAG_IMPORTER : 0);
    if (node.importer !== undefined) importerLabels.set(i, node.importer);
    edgeStart[i] = e;
    for (const edge of node.edges) {
      edgeTarget[e] = edge.target === undefined ? -1 : (index.get(edge.target) ?? -1);
      edgeKind[e] = KIND_INDEX[edge.kind];
      if (edgeTarget[e]! < 0 || names[edgeTarget[e]!] !== edge.name) otherEdgeNames.set(e, edge.name);
      e++;
    }
    i++;
  }
  edgeStart[n] = e;
  const result = new CompactGraph({ format: graph.format, ids, names, versions, sources, flags, resolved, integrity, importerLabels, edgeStart, edgeTarget, edgeKind, otherEdgeNames, importers: graph.importers, locationOf: (_g, k) => locations[k]! });
  compiled.set(graph, result);
  return result;
}

/** npm's JSON pointer of a "packages" entry, derived from its path when asked for. */
export function npmPackagesPointer(graph: CompactGraph, i: number): string {
  return `/packages/${escapePointer(graph.ids[i]!)}`;
}
