import { createRequire } from 'node:module';
import { WirelockError } from '../../errors.js';

// Loaded on first use: npm and bun lockfiles never need a YAML parser (saves ~50 ms per run).
let yamlParse: ((text: string, options?: { uniqueKeys?: boolean }) => unknown) | undefined;
function parseYaml(text: string, options?: { uniqueKeys?: boolean }): unknown {
  yamlParse ??= (createRequire(import.meta.url)('yaml') as { parse: NonNullable<typeof yamlParse> }).parse;
  return yamlParse(text, options);
}
import { checkFields, escapePointer, lockfileError, manifestEdges, requireObject, sourceFromResolved, splitNameAt, type DependencyKind, type FieldType, type Edge, type LockGraph, type LockNode, type Manifest } from './model.js';

/** Workspace manifests by folder relative to the lockfile ("." for the root). */
export type Workspaces = Map<string, Manifest>;

type Entry = Record<string, unknown>;

function unquoteString(text: string): string {
  const t = text.trim();
  if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) return JSON.parse(t) as string;
  return t;
}

/**
 * yarn.lock v1 is its own format (not YAML): top-level "spec, spec:" keys, two-space indented
 * fields, nested blocks for dependency maps. Only the subset yarn writes is accepted.
 */
export function parseYarnClassicText(text: string, file: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const lines = text.split(/\r?\n/);
  let current: Entry | undefined;
  let block: Record<string, string> | undefined;
  lines.forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    const fail = () => new WirelockError('ERR_LOCKFILE_INVALID', `${file}:${index + 1}: cannot parse "${body.slice(0, 60)}"`, { file, line: index + 1 });
    const unquote = (text: string) => {
      try {
        return unquoteString(text);
      } catch {
        throw fail();
      }
    };
    if (indent === 0) {
      if (!body.endsWith(':')) throw fail();
      current = {};
      block = undefined;
      let specs: string[];
      try {
        specs = splitSpecs(body.slice(0, -1));
      } catch {
        throw fail();
      }
      for (const spec of specs) entries.set(spec, current);
      return;
    }
    if (!current) throw fail();
    if (indent === 2) {
      if (body.endsWith(':')) {
        block = {};
        current[unquote(body.slice(0, -1))] = block;
        return;
      }
      block = undefined;
      const space = body.indexOf(' ');
      if (space < 0) throw fail();
      current[unquote(body.slice(0, space))] = unquote(body.slice(space + 1));
      return;
    }
    if (indent === 4 && block) {
      const match = /^("(?:[^"\\]|\\.)*"|\S+)\s+(.+)$/.exec(body);
      if (!match) throw fail();
      block[unquote(match[1]!)] = unquote(match[2]!);
      return;
    }
    throw fail();
  });
  return entries;
}

function splitSpecs(text: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|[^,]+)\s*(?:,|$)/g;
  for (const match of text.matchAll(re)) if (match[1]) out.push(unquoteString(match[1]));
  return out;
}

function realName(spec: string): string {
  // "alias@npm:real@^1" installs "real"; advisories are about the real package.
  const [name, range] = splitNameAt(spec);
  const alias = /^npm:((?:@[^/]+\/)?[^@]+)@/.exec(range);
  return alias ? alias[1]! : name;
}

function addImporters(nodes: Map<string, LockNode>, workspaces: Workspaces, resolve: (name: string, range: string) => string | undefined): string[] {
  const importers: string[] = [];
  const byName = new Map<string, string>();
  for (const [path, manifest] of workspaces) if (manifest.name) byName.set(manifest.name, `workspace:${path}`);
  for (const [path, manifest] of workspaces) {
    const id = `workspace:${path}`;
    const edges: Edge[] = manifestEdges(manifest).map(({ name, range, kind }) => {
      const target = byName.get(name) ?? resolve(name, range);
      return target ? { name, kind, target } : { name, kind };
    });
    nodes.set(id, { id, name: manifest.name ?? (path === '.' ? '(root)' : path), version: manifest.version ?? '', source: 'workspace', importer: path, edges, location: path });
    importers.push(id);
  }
  return importers;
}

const CLASSIC_FIELDS: Readonly<Record<string, FieldType>> = { version: 'string', resolved: 'string', integrity: 'string', dependencies: 'map', optionalDependencies: 'map' };
const BERRY_FIELDS: Readonly<Record<string, FieldType>> = {
  version: 'string', resolution: 'string', checksum: 'string', languageName: 'string', linkType: 'string',
  dependencies: 'map', optionalDependencies: 'map', peerDependencies: 'map', dependenciesMeta: 'object', peerDependenciesMeta: 'object',
};

/** yarn.lock of yarn 1 (classic). Its direct dependencies live only in the package.json files. */
export function parseYarnClassic(text: string, file: string, workspaces: Workspaces): LockGraph {
  const entries = parseYarnClassicText(text, file);
  const nodes = new Map<string, LockNode>();
  const specToId = new Map<string, string>();
  const seen = new Map<Entry, string>();
  for (const [spec, entry] of entries) {
    let id = seen.get(entry);
    if (!id) {
      // Pointers address the entry by its key, as if the lockfile were the JSON object it describes.
      checkFields(entry, CLASSIC_FIELDS, file, `/${escapePointer(spec)}`);
      if (typeof entry.version !== 'string') throw lockfileError(file, `/${escapePointer(spec)}/version`, `"${spec}" has no version`, { key: spec });
      const name = realName(spec);
      id = `${name}@${entry.version}`;
      // Two entries can resolve to the same name@version from different sources (git vs registry).
      if (nodes.has(id) && nodes.get(id)!.resolved !== entry.resolved) id = `${id}#${String(entry.resolved)}`;
      seen.set(entry, id);
      if (!nodes.has(id)) {
        const resolved = typeof entry.resolved === 'string' ? entry.resolved : undefined;
        const node: LockNode = { id, name, version: entry.version, source: sourceFromResolved(resolved, entry.version), edges: [], location: spec };
        if (resolved) node.resolved = resolved;
        if (typeof entry.integrity === 'string') node.integrity = entry.integrity;
        nodes.set(id, node);
      }
    }
    specToId.set(spec, id);
  }
  for (const [entry, id] of seen) {
    const edges: Edge[] = [];
    for (const [field, kind] of [['dependencies', 'prod'], ['optionalDependencies', 'optional']] as const) {
      const map = entry[field];
      if (typeof map !== 'object' || map === null) continue;
      for (const [name, range] of Object.entries(map as Record<string, string>)) {
        const target = specToId.get(`${name}@${range}`);
        edges.push(target ? { name, kind, target } : { name, kind });
      }
    }
    nodes.get(id)!.edges = edges;
  }
  const importers = addImporters(nodes, workspaces, (name, range) => specToId.get(`${name}@${range}`));
  return { format: 'yarn-v1', nodes, importers };
}

/** Berry's default protocol is npm: a descriptor without one means "npm:". */
function descriptor(name: string, range: string): string[] {
  return range.includes(':') ? [`${name}@${range}`] : [`${name}@npm:${range}`, `${name}@${range}`];
}

function berrySource(resolution: string, name: string): { source: LockNode['source']; resolved?: string } {
  let ref = resolution.slice(name.length + 1);
  // patch:lodash@npm%3A4.17.15#... patches a package; audit the package underneath.
  // The name may be scoped ("patch:@types/ms@npm%3A0.7.34#..."): its "@" is not the separator.
  const patch = /^patch:(?:@[^/@]+\/)?[^@]+@(.+?)#/.exec(ref);
  if (patch) ref = decodeURIComponent(patch[1]!);
  if (ref.startsWith('npm:')) return { source: 'registry' };
  if (ref.startsWith('workspace:')) return { source: 'workspace' };
  if (ref.startsWith('link:') || ref.startsWith('portal:')) return { source: 'link', resolved: ref };
  if (ref.startsWith('file:')) return { source: 'file', resolved: ref };
  if (/^https?:/.test(ref)) return { source: sourceFromResolved(ref, '') === 'git' ? 'git' : 'tarball', resolved: ref };
  return { source: 'git', resolved: ref };
}

/** yarn.lock of yarn 2+ ("berry"): YAML with a __metadata entry. */
export function parseYarnBerry(text: string, file: string, workspaces: Workspaces): LockGraph {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: false });
  } catch (error) {
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not valid YAML: ${(error as Error).message}`, { file });
  }
  if (typeof doc !== 'object' || doc === null || !('__metadata' in doc)) throw lockfileError(file, '/__metadata', 'no __metadata (not a yarn berry lockfile)');
  const metadata = requireObject((doc as Entry).__metadata, file, '/__metadata', '"__metadata"');
  if (typeof metadata.version !== 'number' && typeof metadata.version !== 'string') throw lockfileError(file, '/__metadata/version', 'no lockfile version');
  const nodes = new Map<string, LockNode>();
  const specToId = new Map<string, string>();
  const importers: string[] = [];
  const raw = new Map<string, Entry>();
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (key === '__metadata') continue;
    const at = `/${escapePointer(key)}`;
    const entry = requireObject(value, file, at, `entry "${key}"`);
    checkFields(entry, BERRY_FIELDS, file, at);
    const resolution = typeof entry.resolution === 'string' ? entry.resolution : undefined;
    if (!resolution) throw lockfileError(file, `${at}/resolution`, `"${key}" has no resolution`, { key });
    if (typeof entry.version !== 'string') throw lockfileError(file, `${at}/version`, `"${key}" has no version`, { key });
    const [resolvedName] = splitNameAt(resolution);
    const { source, resolved } = berrySource(resolution, resolvedName);
    const id = resolution;
    if (!nodes.has(id)) {
      const node: LockNode = { id, name: resolvedName, version: String(entry.version), source, edges: [], location: key };
      if (resolved) node.resolved = resolved;
      // Berry's checksum hashes its own zip archive, not the npm tarball: kept as evidence of
      // pinning, never compared with npm integrity strings.
      if (typeof entry.checksum === 'string') node.integrity = `berry:${entry.checksum}`;
      if (source === 'workspace') {
        const path = resolution.slice(resolution.indexOf('@workspace:') + '@workspace:'.length);
        node.importer = path;
        importers.push(id);
      }
      nodes.set(id, node);
      raw.set(id, entry);
    }
    for (const spec of key.split(',').map((s) => s.trim())) specToId.set(spec, id);
  }
  for (const [id, entry] of raw) {
    const node = nodes.get(id)!;
    const meta = (entry.dependenciesMeta ?? {}) as Record<string, { optional?: boolean }>;
    const manifest = node.importer !== undefined ? workspaces.get(node.importer) : undefined;
    const devNames = new Set(Object.keys(manifest?.devDependencies ?? {}));
    const edges: Edge[] = [];
    for (const [field, baseKind] of [['dependencies', 'prod'], ['optionalDependencies', 'optional'], ['peerDependencies', 'peer']] as const) {
      const map = entry[field];
      if (typeof map !== 'object' || map === null) continue;
      for (const [name, range] of Object.entries(map as Record<string, string>)) {
        // Peer ranges are satisfied by the parent's own dependency, which is an edge already.
        if (baseKind === 'peer') continue;
        let kind: DependencyKind = meta[name]?.optional ? 'optional' : baseKind;
        // Berry merges a workspace's devDependencies into "dependencies"; package.json tells them apart.
        if (node.importer !== undefined && devNames.has(name)) kind = 'dev';
        const target = descriptor(name, String(range)).map((d) => specToId.get(d)).find(Boolean);
        edges.push(target ? { name, kind, target } : { name, kind });
      }
    }
    node.edges = edges;
  }
  importers.sort((a, b) => (nodes.get(a)!.importer === '.' ? -1 : nodes.get(b)!.importer === '.' ? 1 : a.localeCompare(b)));
  return { format: 'yarn-berry', nodes, importers };
}
