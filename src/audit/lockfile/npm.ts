import { WirelockError } from '../../errors.js';
import { checkFields, escapePointer, lockfileError, manifestEdges, requireObject, sourceFromResolved, type DependencyKind, type FieldType, type Edge, type LockGraph, type LockNode, type Manifest } from './model.js';

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
function resolveFrom(paths: Map<string, unknown>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (paths.has(candidate)) return candidate;
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

/** package-lock.json / npm-shrinkwrap.json, lockfileVersion 1, 2 or 3. */
export function parseNpmLockfile(text: string, file: string, rootManifest?: Manifest): LockGraph {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not JSON: ${(error as Error).message}`, { file });
  }
  if (!isObject(doc)) throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not a JSON object`, { file, pointer: '' });
  const version = doc.lockfileVersion;
  if (version !== 1 && version !== 2 && version !== 3) {
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file}: unsupported lockfileVersion ${JSON.stringify(version)}`, { file, pointer: '/lockfileVersion' });
  }
  // v2 carries both sections; "packages" is the complete one, and the one v2/v3 must have: read
  // as v1 instead, `{"lockfileVersion": 3}` was an empty lockfile that passed every gate.
  if (version >= 2) return fromPackages(requireObject(doc.packages, file, '/packages', `lockfileVersion ${version}: "packages"`), version === 2 ? 'npm-v2' : 'npm-v3', file);
  if (doc.dependencies !== undefined) requireObject(doc.dependencies, file, '/dependencies', '"dependencies"');
  return fromDependencies(doc, file, rootManifest);
}

function fromPackages(packages: Json, format: 'npm-v2' | 'npm-v3', file: string): LockGraph {
  const nodes = new Map<string, LockNode>();
  const importers: string[] = [];
  const paths = new Map<string, Json>();
  for (const [path, entry] of Object.entries(packages)) {
    const pointer = `/packages/${escapePointer(path)}`;
    if (!isObject(entry)) throw lockfileError(file, pointer, `entry "${path}" is not an object`);
    checkFields(entry, PACKAGE_FIELDS, file, pointer);
    paths.set(path, entry);
  }
  const isImporter = (path: string) => path === '' || (!path.includes('node_modules/') && !paths.get(path)?.link);
  for (const [path, entry] of paths) {
    const location = `/packages/${escapePointer(path)}`;
    if (entry.link) continue; // a symlink to an importer; edges are redirected below
    const importer = isImporter(path);
    const name = typeof entry.name === 'string' && !importer ? entry.name : importer ? (typeof entry.name === 'string' ? entry.name : path || '(root)') : nameFromPath(path);
    const version = typeof entry.version === 'string' ? entry.version : '';
    if (!importer && version === '' && !entry.resolved) {
      // npm writes a bare entry for an optional dependency skipped on this platform; not installed.
      if (entry.optional || entry.inBundle) continue;
      throw lockfileError(file, `${location}/version`, `"${path}" has no version`);
    }
    const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
    const node: LockNode = {
      id: path,
      name,
      version,
      source: importer ? 'workspace' : sourceFromResolved(resolved, version),
      edges: [],
      location,
    };
    if (importer) {
      node.importer = path === '' ? '.' : path;
      importers.push(path);
    }
    if (resolved) node.resolved = resolved;
    if (typeof entry.integrity === 'string') node.integrity = entry.integrity;
    if (entry.hasInstallScript === true) node.hasInstallScript = true;
    nodes.set(path, node);
  }
  for (const [path, entry] of paths) {
    const node = nodes.get(path);
    if (!node) continue;
    const edges: Edge[] = [];
    for (const { name, kind } of typedEdges(entry)) {
      if (!node.importer && kind === 'dev') continue; // dev deps of dependencies are never installed
      let target = resolveFrom(paths, path, name);
      const linked = target !== undefined ? paths.get(target) : undefined;
      if (linked?.link && typeof linked.resolved === 'string') target = linked.resolved;
      const edge: Edge = { name, kind };
      if (target !== undefined && nodes.has(target)) edge.target = target;
      edges.push(edge);
    }
    node.edges = edges;
  }
  importers.sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  return { format, nodes, importers };
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
      const target = resolveFrom(paths, path, name);
      return target ? { name, kind: kindOf(target, kind), target } : { name, kind };
    });
  }
  // v1 does not record the root's own dependencies: take them from package.json when we have it,
  // else treat every top-level entry as direct, using the dev/optional flags v1 does record.
  const root: LockNode = { id: '', name: typeof doc.name === 'string' ? doc.name : '(root)', version: typeof doc.version === 'string' ? doc.version : '', source: 'workspace', importer: '.', edges: [], location: '' };
  const declared = manifestEdges(rootManifest);
  if (declared.length > 0) {
    root.edges = declared.map(({ name, kind }) => {
      const target = resolveFrom(paths, '', name);
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
