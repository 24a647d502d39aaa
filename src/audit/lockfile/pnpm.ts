import { posix } from 'node:path';
import { createRequire } from 'node:module';
import { WirelockError } from '../../errors.js';

// Loaded on first use: npm and bun lockfiles never need a YAML parser (saves ~50 ms per run).
let yamlParse: ((text: string, options?: { uniqueKeys?: boolean }) => unknown) | undefined;
function parseYaml(text: string, options?: { uniqueKeys?: boolean }): unknown {
  yamlParse ??= (createRequire(import.meta.url)('yaml') as { parse: NonNullable<typeof yamlParse> }).parse;
  return yamlParse(text, options);
}
import { checkFields, escapePointer, lockfileError, requireObject, sourceFromResolved, splitNameAt, type DependencyKind, type FieldType, type Edge, type LockGraph, type LockNode, type Manifest } from './model.js';

type Entry = Record<string, unknown>;

function isObject(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "/@scope/a@1.0.0(peer@2)" (v6) or "@scope/a@1.0.0(peer@2)" (v9) -> name and version, peers dropped. */
function parseKey(key: string, v5 = false): { name: string; version: string } {
  let k = key.startsWith('/') ? key.slice(1) : key;
  if (v5) {
    // v5 wrote "/name/1.0.0" and, with peers, "/name/1.0.0_peer@2" or "/@s/n/1.0.0_<hash>": the "@"
    // of a peer is no name@version separator, and "_" never occurs in a SemVer version.
    const parts = k.split('/');
    const nameParts = parts[0]!.startsWith('@') ? 2 : 1;
    if (parts.length > nameParts) return { name: parts.slice(0, nameParts).join('/'), version: parts[nameParts]!.split('_')[0]! };
  }
  const paren = k.indexOf('(');
  if (paren >= 0) k = k.slice(0, paren);
  const [name, version] = splitNameAt(k);
  if (version) return { name, version };
  // lockfile v5 wrote "/name/1.0.0".
  const slash = k.lastIndexOf('/');
  return { name: k.slice(0, slash), version: k.slice(slash + 1) };
}

const PACKAGE_FIELDS: Readonly<Record<string, FieldType>> = {
  resolution: 'object', name: 'string', version: 'string', requiresBuild: 'boolean', dev: 'boolean', optional: 'boolean',
  dependencies: 'map', optionalDependencies: 'map', transitivePeerDependencies: 'array',
};
const RESOLUTION_FIELDS: Readonly<Record<string, FieldType>> = { integrity: 'string', tarball: 'string', repo: 'string', commit: 'string', directory: 'string', type: 'string' };
const SNAPSHOT_FIELDS: Readonly<Record<string, FieldType>> = { dependencies: 'map', optionalDependencies: 'map', transitivePeerDependencies: 'array' };
const IMPORTER_MAPS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/** Importers record {specifier, version} per dependency (v5: the version string). */
function checkImporter(entry: Record<string, unknown>, file: string, pointer: string): void {
  for (const field of IMPORTER_MAPS) {
    const map = entry[field];
    if (map === undefined) continue;
    const deps = requireObject(map, file, `${pointer}/${field}`, `"${field}"`);
    for (const [name, value] of Object.entries(deps)) {
      const at = `${pointer}/${field}/${escapePointer(name)}`;
      if (typeof value === 'string') continue;
      checkFields(requireObject(value, file, at, `"${name}"`), { version: 'string', specifier: 'string' }, file, at);
      if (typeof (value as Entry).version !== 'string') throw lockfileError(file, `${at}/version`, `"${name}" has no version`);
    }
  }
}

/** pnpm-lock.yaml, lockfileVersion 6.x (pnpm 8) and 9.x (pnpm 9/10). */
export function parsePnpmLockfile(text: string, file: string, manifests: Map<string, Manifest> = new Map()): LockGraph {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not valid YAML: ${(error as Error).message}`, { file });
  }
  if (!isObject(doc)) throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not a YAML mapping`, { file });
  const lockfileVersion = String(doc.lockfileVersion ?? '');
  const major = Number.parseInt(lockfileVersion, 10);
  if (!(major >= 5 && major <= 9)) throw new WirelockError('ERR_LOCKFILE_INVALID', `${file}: unsupported lockfileVersion "${lockfileVersion}"`, { file, pointer: '/lockfileVersion' });
  const v9 = major >= 9;
  const packages = doc.packages === undefined ? {} : requireObject(doc.packages, file, '/packages', '"packages"');
  // v9 splits package metadata ("packages") from the resolved graph ("snapshots"); packages
  // without snapshots would be read as an empty graph.
  if (v9 && doc.snapshots === undefined && Object.keys(packages).length > 0) throw lockfileError(file, '/snapshots', `lockfileVersion ${lockfileVersion}: "packages" without "snapshots"`);
  const snapshots = v9 ? (doc.snapshots === undefined ? {} : requireObject(doc.snapshots, file, '/snapshots', '"snapshots"')) : packages;
  for (const [key, value] of Object.entries(packages)) {
    const at = `/packages/${escapePointer(key)}`;
    // YAML writes an entry with nothing to say as null ("a@1.0.0:" with no fields).
    if (value === null && v9) continue;
    checkFields(requireObject(value, file, at, `entry "${key}"`), v9 ? PACKAGE_FIELDS : { ...PACKAGE_FIELDS, ...SNAPSHOT_FIELDS }, file, at);
    if (isObject((value as Entry).resolution)) checkFields((value as Entry).resolution as Entry, RESOLUTION_FIELDS, file, `${at}/resolution`);
  }
  if (v9) {
    for (const [key, value] of Object.entries(snapshots)) {
      const at = `/snapshots/${escapePointer(key)}`;
      if (value !== null) checkFields(requireObject(value, file, at, `entry "${key}"`), SNAPSHOT_FIELDS, file, at);
      const { name, version } = parseKey(key);
      if (!(`${name}@${version}` in packages)) throw lockfileError(file, at, `snapshot "${key}" has no "packages" entry "${name}@${version}"`);
    }
  }
  if (doc.importers !== undefined) {
    for (const [path, entry] of Object.entries(requireObject(doc.importers, file, '/importers', '"importers"'))) {
      const at = `/importers/${escapePointer(path)}`;
      checkImporter(requireObject(entry, file, at, `importer "${path}"`), file, at);
    }
  } else checkImporter(doc, file, '');
  const nodes = new Map<string, LockNode>();
  const prefix = v9 ? '' : '/';

  for (const [key, value] of Object.entries(snapshots)) {
    const snapshot = isObject(value) ? value : {};
    const { name, version } = parseKey(key, major < 6);
    const meta = v9 ? (packages[`${name}@${version}`] as Entry | undefined) ?? {} : snapshot;
    const resolution = isObject(meta.resolution) ? meta.resolution : {};
    const realName = typeof meta.name === 'string' ? meta.name : name;
    const realVersion = typeof meta.version === 'string' ? meta.version : version;
    const resolved = typeof resolution.tarball === 'string' ? resolution.tarball : typeof resolution.repo === 'string' ? `git+${resolution.repo}#${String(resolution.commit ?? '')}` : typeof resolution.directory === 'string' ? `file:${resolution.directory}` : undefined;
    const node: LockNode = {
      id: key,
      name: realName,
      version: realVersion,
      source: resolution.type === 'git' || resolution.repo ? 'git' : resolution.type === 'directory' ? 'file' : sourceFromResolved(resolved, realVersion),
      edges: [],
      location: `/${v9 ? 'snapshots' : 'packages'}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`,
    };
    if (resolved) node.resolved = resolved;
    if (typeof resolution.integrity === 'string') node.integrity = resolution.integrity;
    if (meta.requiresBuild === true) node.hasInstallScript = true;
    nodes.set(key, node);
  }

  const edgeTarget = (depName: string, ref: string, fromImporter: string | undefined): string | undefined => {
    if (ref.startsWith('link:')) {
      const path = posix.normalize(posix.join(fromImporter ?? '.', ref.slice(5)));
      return `importer:${path === '' ? '.' : path}`;
    }
    // An alias records the real "name@version" as the reference.
    const candidates = /^(@[^/]+\/)?[^@(]+@/.test(ref) && !/^\d/.test(ref) ? [`${prefix}${ref}`] : [`${prefix}${depName}@${ref}`, `/${depName}/${ref}`];
    return candidates.find((c) => nodes.has(c));
  };
  const collect = (entry: Entry, fromImporter: string | undefined, isImporter: boolean): Edge[] => {
    const edges: Edge[] = [];
    for (const [field, kind] of [['dependencies', 'prod'], ['optionalDependencies', 'optional'], ['devDependencies', 'dev']] as const) {
      const map = entry[field];
      if (!isObject(map)) continue;
      for (const [name, value] of Object.entries(map)) {
        // Importers record {specifier, version}; packages record the version string directly.
        const ref = isObject(value) ? String(value.version ?? '') : String(value);
        const target = edgeTarget(name, ref, isImporter ? fromImporter : undefined);
        edges.push(target ? { name, kind: kind as DependencyKind, target } : { name, kind: kind as DependencyKind });
      }
    }
    return edges;
  };

  for (const [key, value] of Object.entries(snapshots)) nodes.get(key)!.edges = collect(isObject(value) ? value : {}, undefined, false);

  const importers: string[] = [];
  const importerEntries: Array<[string, Entry]> = isObject(doc.importers)
    ? Object.entries(doc.importers).map(([path, entry]) => [path, isObject(entry) ? entry : {}])
    : [['.', doc]];
  for (const [path] of importerEntries) {
    const id = `importer:${path}`;
    nodes.set(id, { id, name: manifests.get(path)?.name ?? (path === '.' ? '(root)' : path), version: manifests.get(path)?.version ?? '', source: 'workspace', importer: path, edges: [], location: `/importers/${path.replace(/~/g, '~0').replace(/\//g, '~1')}` });
    importers.push(id);
  }
  for (const [path, entry] of importerEntries) nodes.get(`importer:${path}`)!.edges = collect(entry, path, true);
  return { format: v9 ? 'pnpm-v9' : 'pnpm-v6', nodes, importers };
}
