import { WirelockError } from '../../errors.js';
import { bufferByteSource, JsonSyntaxError, parseJsonStream, type ByteSource } from './json-stream.js';
import { checkFields, escapePointer, lockfileError, manifestEdges, requireObject, sourceFromResolved, type DependencyKind, type FieldType, type SourceKind, type Edge, type LockGraph, type LockNode, type Manifest } from './model.js';

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

/** A packages entry's node; its JSON pointer is derived when asked for, not stored (200,000 strings). */
class NpmNode implements LockNode {
  // Every field set in the constructor, absent ones as undefined: one object shape for all nodes.
  constructor(
    readonly id: string,
    readonly name: string,
    readonly version: string,
    readonly source: SourceKind,
    public edges: Edge[],
    readonly resolved: string | undefined,
    readonly integrity: string | undefined,
    readonly hasInstallScript: true | undefined,
    readonly importer: string | undefined,
    readonly bundled: true | undefined,
  ) {}

  get location(): string {
    return `/packages/${escapePointer(this.id)}`;
  }
}

/** Turns "packages" entries into nodes one at a time; edges are resolved once every path is known. */
class PackagesBuilder {
  private readonly nodes = new Map<string, LockNode>();
  private readonly importers: string[] = [];
  /** Paths that exist but are no node: links (to their target) and skipped optional entries. */
  private readonly links = new Map<string, string | undefined>();
  private readonly skipped = new Set<string>();
  private readonly names = new Map<string, string>();

  constructor(private readonly file: string) {}

  add(path: string, entry: unknown): void {
    const file = this.file;
    const location = `/packages/${escapePointer(path)}`;
    if (!isObject(entry)) throw lockfileError(file, location, `entry "${path}" is not an object`);
    checkFields(entry, PACKAGE_FIELDS, file, location);
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
      throw lockfileError(file, `${location}/version`, `"${path}" has no version`);
    }
    const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
    const edges: Edge[] = [];
    for (const edge of typedEdges(entry)) {
      if (!importer && edge.kind === 'dev') continue; // dev deps of dependencies are never installed
      // One string per dependency name, however many packages depend on it.
      let depName = this.names.get(edge.name);
      if (depName === undefined) this.names.set(edge.name, (depName = edge.name));
      // Created with its target slot, filled in by finish(): adding a property later costs every edge a property store.
      edges.push({ name: depName, kind: edge.kind, target: undefined });
    }
    const node = new NpmNode(path, name, version, importer ? 'workspace' : sourceFromResolved(resolved, version), edges, resolved || undefined, typeof entry.integrity === 'string' ? entry.integrity : undefined, entry.hasInstallScript === true || undefined, importer ? (path === '' ? '.' : path) : undefined, entry.inBundle === true || undefined);
    if (importer) this.importers.push(path);
    this.nodes.set(path, node);
  }

  finish(format: 'npm-v2' | 'npm-v3'): LockGraph {
    const { nodes, links, skipped } = this;
    // What each path is, in one map: a node, a link (to its target path) or a skipped entry.
    const kinds = new Map<string, LockNode | { link: string | undefined } | null>();
    for (const [path, node] of nodes) kinds.set(path, node);
    for (const [path, target] of links) kinds.set(path, { link: target });
    for (const path of skipped) kinds.set(path, null);
    // Node resolution walks up from each package's own node_modules, but most packages have none:
    // look only where a folder has children, and answer the root's from a map by dependency name.
    const hasChildren = new Set<string>();
    const topLevel = new Map<string, string>();
    for (const path of kinds.keys()) {
      const at = path.lastIndexOf('node_modules/');
      if (at < 0) continue;
      const parent = at === 0 ? '' : path.slice(0, at - 1);
      hasChildren.add(parent);
      if (at === 0) topLevel.set(path.slice('node_modules/'.length), path);
    }
    const resolve = (from: string, name: string): string | undefined => {
      let base = from;
      for (;;) {
        if (base === '') return topLevel.get(name);
        if (hasChildren.has(base)) {
          const candidate = `${base}/node_modules/${name}`;
          if (kinds.has(candidate)) return candidate;
        }
        const at = base.lastIndexOf('/node_modules/');
        // A workspace folder ("packages/app") resolves through its own node_modules, then the root's.
        base = at < 0 ? '' : base.slice(0, at);
      }
    };
    for (const node of nodes.values()) {
      for (const edge of node.edges) {
        const found = resolve(node.id, edge.name);
        if (found === undefined) continue;
        const kind = kinds.get(found);
        // The node's own id string, not the candidate built while searching: one copy per path.
        const target = kind === null || kind === undefined ? undefined : 'link' in kind ? (kind.link === undefined ? undefined : nodes.get(kind.link)) : kind;
        if (target !== undefined) edge.target = target.id;
      }
    }
    const importers = this.importers.sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
    return { format, nodes, importers };
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
