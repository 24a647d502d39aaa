import { WirelockError } from '../../errors.js';
import { bufferByteSource, JsonSyntaxError, parseJsonStream, type ByteSource } from './json-stream.js';
import { CompactGraph, FLAG_BUNDLED, FLAG_IMPORTER, FLAG_INSTALL_SCRIPT, FLAG_NPM_TARBALL, FLAG_SHA512, Sha512Column, isNpmTarballUrl, KIND_INDEX, npmPackagesPointer, SOURCE_INDEX } from './compact.js';
import { checkFields, escapePointer, lockfileError, manifestEdges, requireObject, sourceFromResolved, type DependencyKind, type FieldType, type LockGraph, type LockNode, type Manifest } from './model.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The fields the reader uses, with the types npm writes.
const PACKAGE_FIELDS: Readonly<Record<string, FieldType>> = {
  name: 'string', version: 'string', resolved: 'string', integrity: 'string', link: 'boolean',
  dev: 'boolean', optional: 'boolean', devOptional: 'boolean', peer: 'boolean', inBundle: 'boolean', hasInstallScript: 'boolean',
  dependencies: 'map', optionalDependencies: 'map', devDependencies: 'map', peerDependencies: 'map', peerDependenciesMeta: 'object',
};
const V1_FIELDS: Readonly<Record<string, FieldType>> = {
  version: 'string', resolved: 'string', integrity: 'string', dev: 'boolean', optional: 'boolean', bundled: 'boolean', requires: 'map', dependencies: 'object',
};

/** The dependency maps of a "packages" entry, in the order typedEdges reads them. */
const DEPENDENCY_FIELDS: ReadonlyArray<readonly [string, number]> = [
  ['optionalDependencies', KIND_INDEX.optional],
  ['dependencies', KIND_INDEX.prod],
  ['requires', KIND_INDEX.prod],
  ['devDependencies', KIND_INDEX.dev],
  ['peerDependencies', KIND_INDEX.peer],
];

/** An object; for a "map", every value a string (checkFields' rule). */
function isPlainMap(value: unknown, ofStrings: boolean): boolean {
  if (!isObject(value)) return false;
  if (ofStrings) for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

function nameFromPath(path: string): string {
  const at = path.lastIndexOf('node_modules/');
  return at < 0 ? path : path.slice(at + 'node_modules/'.length);
}

/** Node's module resolution over lockfile paths: own node_modules first, then each ancestor's. */
function resolveFrom(exists: (path: string) => boolean, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (exists(candidate)) return candidate;
    if (base === '') return undefined;
    const at = base.lastIndexOf('/node_modules/');
    // A workspace folder ("packages/app") resolves through its own node_modules, then the root's.
    base = at < 0 ? '' : base.slice(0, at);
  }
}

function typedEdges(entry: Json): Array<{ name: string; kind: DependencyKind }> {
  const out: Array<{ name: string; kind: DependencyKind }> = [];
  const seen = new Set<string>();
  for (const [field, kind] of [['optionalDependencies', 'optional'], ['dependencies', 'prod'], ['requires', 'prod'], ['devDependencies', 'dev'], ['peerDependencies', 'peer']] as const) {
    const map = entry[field];
    if (!isObject(map)) continue;
    for (const name of Object.keys(map)) {
      if (seen.has(name)) continue;
      seen.add(name);
      // Optional peers are not installed unless something else brings them.
      if (kind === 'peer' && isObject(entry.peerDependenciesMeta) && isObject(entry.peerDependenciesMeta[name]) && entry.peerDependenciesMeta[name].optional) continue;
      out.push({ name, kind });
    }
  }
  return out;
}

/**
 * package-lock.json / npm-shrinkwrap.json, lockfileVersion 1, 2 or 3, as text or as bytes read in
 * chunks. The "packages" section is never held whole: each entry becomes a node as it is read
 * (json-stream.ts), which is what keeps a 200,000-package lockfile within memory.
 */
export function parseNpmLockfile(input: string | ByteSource, file: string, rootManifest?: Manifest): LockGraph {
  const builder = new PackagesBuilder(file);
  let doc: unknown;
  try {
    doc = parseJsonStream(
      typeof input === 'string' ? bufferByteSource(input) : input,
      // v2 carries both sections; "dependencies" is only read for v1.
      (key, soFar) => (key === 'packages' ? 'stream' : key === 'dependencies' && (soFar.lockfileVersion === 2 || soFar.lockfileVersion === 3) ? 'skip' : 'keep'),
      (_section, path, entry) => builder.add(path, entry),
    );
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not JSON: ${error.message}`, { file });
  }
  if (!isObject(doc)) throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not a JSON object`, { file, pointer: '' });
  const version = doc.lockfileVersion;
  if (version !== 1 && version !== 2 && version !== 3) {
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file}: unsupported lockfileVersion ${JSON.stringify(version)}`, { file, pointer: '/lockfileVersion' });
  }
  // "packages" is the complete section and the one v2/v3 must have: read as v1 instead,
  // `{"lockfileVersion": 3}` was an empty lockfile that passed every gate.
  if (version >= 2) {
    requireObject(doc.packages, file, '/packages', `lockfileVersion ${version}: "packages"`);
    return builder.finish(version === 2 ? 'npm-v2' : 'npm-v3');
  }
  if (doc.dependencies !== undefined) requireObject(doc.dependencies, file, '/dependencies', '"dependencies"');
  return fromDependencies(doc, file, rootManifest);
}

/**
 * Turns "packages" entries into graph columns one at a time (see compact.ts): no object per node
 * or per edge; edges are resolved to node numbers once every path is known.
 */
class PackagesBuilder {
  private readonly ids: string[] = [];
  private readonly names: string[] = [];
  private readonly versions: string[] = [];
  private readonly sources: number[] = [];
  private readonly flags: number[] = [];
  private readonly resolved: Array<string | undefined> = [];
  private readonly integrity: Array<string | undefined> = [];
  private readonly sha512 = new Sha512Column();
  private readonly importerLabels = new Map<number, string>();
  /** Edges of node i: edgeStart[i] .. edgeStart[i] + edgeCount[i] in the edge columns. */
  private readonly edgeStart: number[] = [];
  private readonly edgeCount: number[] = [];
  /** Dependency name of each edge, as a name number (see nameIds). */
  private readonly edgeNameId: number[] = [];
  private readonly edgeKind: number[] = [];
  /**
   * Name -> number, for dependency names and package names alike. Dependency names are JSON keys,
   * which V8 interns, so looking one up compares pointers; a name sliced from a path is compared by
   * content, once per package instead of once per edge. The root's node_modules is then an array
   * by name number, and resolving an edge there is an array read.
   */
  private readonly nameIds = new Map<string, number>();
  private readonly nameOf: string[] = [];
  private readonly nodeNameId: number[] = [];
  /** The root's node_modules: name number -> node (or -1: skipped, a link to nowhere). */
  private readonly rootNode: number[] = [];
  /**
   * Where each path is, for resolution without a map of every path: folder -> (child name -> node
   * number) for every folder that has a node_modules, "" for the root's. A duplicate path replaces
   * the node in its place, as a Map set would. Importers (no node_modules/ in the path) and paths
   * whose "node_modules/" does not follow a "/" (never a resolution candidate) are kept apart.
   */
  private readonly folders = new Map<string, Map<string, number>>();
  private readonly others = new Map<string, number>();
  private readonly importers: string[] = [];
  /** Paths that exist but are no node: links (to their target) and skipped optional entries. */
  private readonly links = new Map<string, string | undefined>();
  private readonly skipped = new Set<string>();

  constructor(private readonly file: string) {}

  private idOf(name: string): number {
    let id = this.nameIds.get(name);
    if (id === undefined) this.nameIds.set(name, (id = this.nameOf.push(name) - 1));
    return id;
  }

  /** The map that holds `path` and its key there (see `folders`); not for top-level paths (rootNode). */
  private slot(path: string, create: boolean): [Map<string, number>, string] | undefined {
    const at = path.lastIndexOf('node_modules/');
    if (at < 0) return create ? [this.others, path] : this.others.has(path) ? [this.others, path] : undefined;
    const parent = at === 0 ? '' : path.slice(0, at - 1);
    let children = this.folders.get(parent);
    if (children === undefined) {
      if (!create) return undefined;
      this.folders.set(parent, (children = new Map()));
    }
    return at === 0 || (at > 1 && path.charCodeAt(at - 1) === 0x2f) ? [children, path.slice(at + 'node_modules/'.length)] : [this.others, path];
  }

  add(path: string, entry: unknown): void {
    const file = this.file;
    if (!isObject(entry)) throw lockfileError(file, `/packages/${escapePointer(path)}`, `entry "${path}" is not an object`);
    // Only the fields the entry has are looked at; the full check (and its error) when one is off.
    for (const key in entry) {
      const type = PACKAGE_FIELDS[key];
      if (type === undefined) continue;
      const value = entry[key];
      if (type === 'string' ? typeof value !== 'string' : type === 'boolean' ? typeof value !== 'boolean' : !isPlainMap(value, type === 'map')) {
        checkFields(entry, PACKAGE_FIELDS, file, `/packages/${escapePointer(path)}`);
      }
    }
    if (entry.link) {
      // A symlink to an importer; edges into it are redirected to the target.
      this.links.set(path, typeof entry.resolved === 'string' ? entry.resolved : undefined);
      return;
    }
    const importer = path === '' || !path.includes('node_modules/');
    const name = typeof entry.name === 'string' && !importer ? entry.name : importer ? (typeof entry.name === 'string' ? entry.name : path || '(root)') : nameFromPath(path);
    const version = typeof entry.version === 'string' ? entry.version : '';
    if (!importer && version === '' && !entry.resolved) {
      // npm writes a bare entry for an optional dependency skipped on this platform; not installed.
      if (entry.optional || entry.inBundle) {
        this.skipped.add(path);
        return;
      }
      throw lockfileError(file, `/packages/${escapePointer(path)}/version`, `"${path}" has no version`);
    }
    const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
    const edgesFrom = this.edgeNameId.length;
    // Dependency maps in precedence order: a name listed in two keeps the first kind (optional wins).
    let maps = 0;
    for (let f = 0; f < DEPENDENCY_FIELDS.length; f++) {
      const [field, kind] = DEPENDENCY_FIELDS[f]!;
      const map = entry[field];
      if (!isObject(map)) continue;
      // Dev deps of dependencies are never installed; their names still shadow a later peer entry.
      const keep = importer || kind !== KIND_INDEX.dev;
      const meta = kind === KIND_INDEX.peer && isObject(entry.peerDependenciesMeta) ? entry.peerDependenciesMeta : undefined;
      const seen = maps > 0 ? this.seenSince(edgesFrom) : undefined;
      maps++;
      for (const depName in map) {
        if (seen?.has(depName)) continue;
        seen?.add(depName);
        // Optional peers are not installed unless something else brings them.
        if (meta !== undefined && isObject(meta[depName]) && meta[depName].optional) continue;
        if (!keep) {
          this.shadowed.add(depName);
          continue;
        }
        this.edgeNameId.push(this.idOf(depName));
        this.edgeKind.push(kind);
      }
    }
    this.shadowed.clear();
    let at: number | undefined;
    let i: number;
    if (path.lastIndexOf('node_modules/') === 0) {
      const id = this.idOf(path.slice('node_modules/'.length));
      at = this.rootNode[id];
      i = at ?? this.ids.length;
      if (at === undefined) this.rootNode[id] = i;
    } else {
      const [where, key] = this.slot(path, true)!;
      at = where.get(key);
      i = at ?? this.ids.length;
      if (at === undefined) where.set(key, i);
    }
    const nameId = this.idOf(name);
    this.ids[i] = path;
    this.nodeNameId[i] = nameId;
    // The shared string for the name: one per name, not one slice per package.
    this.names[i] = this.nameOf[nameId]!;
    this.versions[i] = version;
    this.sources[i] = SOURCE_INDEX[importer ? 'workspace' : sourceFromResolved(resolved, version)];
    this.flags[i] = (entry.hasInstallScript === true ? FLAG_INSTALL_SCRIPT : 0) | (entry.inBundle === true ? FLAG_BUNDLED : 0) | (importer ? FLAG_IMPORTER : 0);
    // Most entries record the npm registry's URL for their name and version: 80 bytes each not kept.
    const npmTarball = resolved !== undefined && isNpmTarballUrl(resolved, name, version);
    this.resolved[i] = npmTarball ? undefined : resolved || undefined;
    if (npmTarball) this.flags[i]! |= FLAG_NPM_TARBALL;
    const integrity = typeof entry.integrity === 'string' ? entry.integrity : undefined;
    if (integrity !== undefined && this.sha512.set(i, integrity)) {
      this.flags[i]! |= FLAG_SHA512;
      this.integrity[i] = undefined;
    } else this.integrity[i] = integrity;
    if (importer) this.importerLabels.set(i, path === '' ? '.' : path);
    else this.importerLabels.delete(i);
    this.edgeStart[i] = edgesFrom;
    this.edgeCount[i] = this.edgeNameId.length - edgesFrom;
    // A path listed twice is one importer.
    if (importer && at === undefined) this.importers.push(path);
  }

  /** Names seen in earlier maps of this entry: its edges so far and the dev names a dependency skips. */
  private readonly shadowed = new Set<string>();
  private seenSince(from: number): Set<string> {
    const seen = new Set(this.shadowed);
    for (let e = from; e < this.edgeNameId.length; e++) seen.add(this.nameOf[this.edgeNameId[e]!]!);
    return seen;
  }

  /** The node (>= 0), nothing (-1: skipped, or a link to nowhere) or undefined (no such path) at `path`. */
  private at(path: string): number | undefined {
    if (path.lastIndexOf('node_modules/') === 0) {
      const id = this.nameIds.get(path.slice('node_modules/'.length));
      return id === undefined ? undefined : this.rootNode[id];
    }
    const found = this.slot(path, false);
    return found?.[0].get(found[1]);
  }

  private setAt(path: string, code: number): void {
    if (path.lastIndexOf('node_modules/') === 0) this.rootNode[this.idOf(path.slice('node_modules/'.length))] = code;
    else {
      const [where, key] = this.slot(path, true)!;
      where.set(key, code);
    }
  }

  finish(format: 'npm-v2' | 'npm-v3'): LockGraph {
    const { folders, links, skipped } = this;
    // Links point at a node (-1 when the target is no node); then links and skipped entries take
    // their paths over, skipped ones last: resolution stops at them without a target.
    const linkTargets = [...links].map(([path, target]): [string, number] => [path, target === undefined ? -1 : (this.at(target) ?? -1)]);
    for (const [path, target] of linkTargets) this.setAt(path, target);
    for (const path of skipped) this.setAt(path, -1);
    const { rootNode, nameOf, nodeNameId } = this;
    // Node resolution walks up from each package's own node_modules, but most packages have none:
    // the folders on the way that have one are collected once per node, then each edge is a lookup.
    const chainBase: string[] = [];
    // The root's entry is undefined: its node_modules is rootNode.
    const chainMaps: Array<Map<string, number> | undefined> = [];
    // Nodes in first-seen order; a replaced node's edges are its last entry's.
    const n = this.ids.length;
    let edgeTotal = 0;
    for (let i = 0; i < n; i++) edgeTotal += this.edgeCount[i]!;
    const edgeStart = new Int32Array(n + 1);
    const edgeTarget = new Int32Array(edgeTotal);
    const edgeKind = new Uint8Array(edgeTotal);
    const otherEdgeNames = new Map<number, string>();
    let e = 0;
    for (let i = 0; i < n; i++) {
      edgeStart[i] = e;
      const count = this.edgeCount[i]!;
      let links = 0;
      if (count > 0) {
        for (let base = this.ids[i]!; ; ) {
          if (base === '') {
            chainBase[links] = '';
            chainMaps[links++] = undefined;
            break;
          }
          const children = folders.get(base);
          if (children) {
            chainBase[links] = base;
            chainMaps[links++] = children;
          }
          const at = base.lastIndexOf('/node_modules/');
          // A workspace folder ("packages/app") resolves through its own node_modules, then the root's.
          base = at < 0 ? '' : base.slice(0, at);
        }
      }
      for (let k = this.edgeStart[i]!, end = k + count; k < end; k++, e++) {
        const id = this.edgeNameId[k]!;
        edgeKind[e] = this.edgeKind[k]!;
        let target = -1;
        for (let l = 0; l < links; l++) {
          const children = chainMaps[l];
          let found: number | undefined;
          if (children === undefined) found = rootNode[id];
          else {
            const name = nameOf[id]!;
            // A dependency name with "node_modules/" in it names a deeper path: looked up whole.
            found = name.includes('node_modules/') ? this.at(`${chainBase[l]}/node_modules/${name}`) : children.get(name);
          }
          if (found !== undefined) {
            target = found;
            break;
          }
        }
        edgeTarget[e] = target;
        if (target < 0 || nodeNameId[target] !== id) otherEdgeNames.set(e, nameOf[id]!);
      }
    }
    edgeStart[n] = e;
    const importers = this.importers.sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
    return new CompactGraph({
      format,
      ids: this.ids,
      names: this.names,
      versions: this.versions,
      sources: Uint8Array.from(this.sources),
      flags: Uint8Array.from(this.flags),
      resolved: this.resolved,
      integrity: this.integrity,
      sha512: this.sha512,
      importerLabels: this.importerLabels,
      edgeStart,
      edgeTarget,
      edgeKind,
      otherEdgeNames,
      importers,
      locationOf: npmPackagesPointer,
    });
  }
}

function fromDependencies(doc: Json, file: string, rootManifest?: Manifest): LockGraph {
  const nodes = new Map<string, LockNode>();
  const paths = new Map<string, Json>();
  const walk = (deps: Json, base: string, pointer: string) => {
    for (const [name, entry] of Object.entries(deps)) {
      const path = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      const location = `${pointer}/${escapePointer(name)}`;
      if (!isObject(entry)) throw lockfileError(file, location, `"${name}" is not an object`);
      checkFields(entry, V1_FIELDS, file, location);
      if (typeof entry.version !== 'string') throw lockfileError(file, `${location}/version`, `"${name}" has no version`);
      paths.set(path, entry);
      const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
      // v1 writes aliases as "npm:real@1.2.3" and git dependencies as the URL in "version".
      let realName = name;
      let version = entry.version;
      const alias = /^npm:((?:@[^/]+\/)?[^@]+)@(.+)$/.exec(version);
      if (alias) [realName, version] = [alias[1]!, alias[2]!];
      const node: LockNode = { id: path, name: realName, version, source: sourceFromResolved(resolved ?? (/^[\d]/.test(version) ? undefined : version), version), edges: [], location };
      if (resolved) node.resolved = resolved;
      if (typeof entry.integrity === 'string') node.integrity = entry.integrity;
      nodes.set(path, node);
      if (isObject(entry.dependencies)) walk(entry.dependencies, path, `${location}/dependencies`);
    }
  };
  walk(isObject(doc.dependencies) ? doc.dependencies : {}, '', '/dependencies');
  // v1's "requires" does not say which dependencies are optional, but each entry records whether it
  // is installed only as an optional dependency; an edge into such an entry is an optional edge.
  const kindOf = (target: string, kind: DependencyKind): DependencyKind => (kind === 'prod' && paths.get(target)?.optional === true ? 'optional' : kind);
  for (const [path, entry] of paths) {
    nodes.get(path)!.edges = typedEdges({ requires: entry.requires }).map(({ name, kind }) => {
      const target = resolveFrom((p) => paths.has(p), path, name);
      return target ? { name, kind: kindOf(target, kind), target } : { name, kind };
    });
  }
  // v1 does not record the root's own dependencies: take them from package.json when we have it,
  // else treat every top-level entry as direct, using the dev/optional flags v1 does record.
  const root: LockNode = { id: '', name: typeof doc.name === 'string' ? doc.name : '(root)', version: typeof doc.version === 'string' ? doc.version : '', source: 'workspace', importer: '.', edges: [], location: '' };
  const declared = manifestEdges(rootManifest);
  if (declared.length > 0) {
    root.edges = declared.map(({ name, kind }) => {
      const target = resolveFrom((p) => paths.has(p), '', name);
      return target ? { name, kind: kindOf(target, kind), target } : { name, kind };
    });
  } else {
    const required = new Set<string>();
    for (const node of nodes.values()) for (const edge of node.edges) if (edge.target) required.add(edge.target);
    for (const [path, entry] of paths) {
      if (path.indexOf('/node_modules/') >= 0 || required.has(path)) continue;
      const kind: DependencyKind = entry.dev ? 'dev' : entry.optional ? 'optional' : 'prod';
      root.edges.push({ name: nameFromPath(path), kind, target: path });
    }
  }
  nodes.set('', root);
  return { format: 'npm-v1', nodes, importers: [''] };
}
