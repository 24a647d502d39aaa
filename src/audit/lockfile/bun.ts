import { WirelockError } from '../../errors.js';
import { checkFields, escapePointer, lockfileError, requireObject, sourceFromResolved, splitNameAt, type DependencyKind, type FieldType, type Edge, type LockGraph, type LockNode } from './model.js';

type Entry = Record<string, unknown>;

function isObject(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * bun.lock is JSON with trailing commas (JSONC). Strip those (and comments) outside strings,
 * then JSON.parse: a real parser for the rest, not a hand-written one.
 */
export function stripJsonc(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const start = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (ch === ',') {
      let j = i + 1;
      for (;;) {
        while (j < text.length && /\s/.test(text[j]!)) j++;
        if (text.startsWith('//', j)) while (j < text.length && text[j] !== '\n') j++;
        else if (text.startsWith('/*', j)) j = text.indexOf('*/', j + 2) < 0 ? text.length : text.indexOf('*/', j + 2) + 2;
        else break;
      }
      if (text[j] !== '}' && text[j] !== ']') out += ch;
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** Key "a/@s/b/c" -> ["a", "@s/b", "c"]: the chain of packages a nested install sits under. */
function keySegments(key: string): string[] {
  const parts = key.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) out.push(parts[i]!.startsWith('@') && i + 1 < parts.length ? `${parts[i]}/${parts[++i]}` : parts[i]!);
  return out;
}

const DEPENDENCY_FIELDS: Readonly<Record<string, FieldType>> = { name: 'string', version: 'string', dependencies: 'map', optionalDependencies: 'map', devDependencies: 'map', peerDependencies: 'map', hasInstallScript: 'boolean', scripts: 'object' };

/** bun.lock (text lockfile, bun >= 1.2). The binary bun.lockb is not read. */
export function parseBunLockfile(text: string, file: string): LockGraph {
  let doc: unknown;
  try {
    doc = JSON.parse(stripJsonc(text));
  } catch (error) {
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file} is not valid bun.lock JSON: ${(error as Error).message}`, { file });
  }
  if (!isObject(doc)) throw lockfileError(file, '', 'not a JSON object');
  // bun.lock versions 0-2 share this shape (1 moved integrity, 2 added configVersion).
  if (!Number.isInteger(doc.lockfileVersion) || (doc.lockfileVersion as number) < 0 || (doc.lockfileVersion as number) > 2) {
    throw lockfileError(file, '/lockfileVersion', `unsupported lockfileVersion ${JSON.stringify(doc.lockfileVersion)}`);
  }
  const packagesDoc = requireObject(doc.packages, file, '/packages', '"packages"');
  const workspaces = requireObject(doc.workspaces, file, '/workspaces', '"workspaces"');
  for (const [path, entry] of Object.entries(workspaces)) {
    const at = `/workspaces/${escapePointer(path)}`;
    checkFields(requireObject(entry, file, at, `workspace "${path}"`), DEPENDENCY_FIELDS, file, at);
  }
  const nodes = new Map<string, LockNode>();
  const raw = new Map<string, Entry>();
  const workspaceIdByName = new Map<string, string>();
  for (const [key, value] of Object.entries(packagesDoc)) {
    const location = `/packages/${escapePointer(key)}`;
    if (!Array.isArray(value) || typeof value[0] !== 'string') throw lockfileError(file, location, `"${key}" is not a [ident, ...] array`);
    value.forEach((item, index) => {
      if (index > 0 && isObject(item)) checkFields(item, DEPENDENCY_FIELDS, file, `${location}/${index}`);
    });
    const [name, spec] = splitNameAt(value[0]);
    if (spec.startsWith('workspace:')) {
      workspaceIdByName.set(key, `workspace:${spec.slice('workspace:'.length)}`);
      continue;
    }
    // Registry packages: [ident, registry, meta, integrity]; git/tarball/file ones: [ident, meta, integrity?].
    const meta = (value.find((item, index) => index > 0 && isObject(item)) as Entry | undefined) ?? {};
    const integrity = value.slice(1).find((item): item is string => typeof item === 'string' && /^sha(1|256|384|512)-/.test(item));
    const registry = typeof value[1] === 'string' && !/^sha\d+-/.test(value[1]) ? value[1] : undefined;
    const isVersion = /^\d/.test(spec);
    const resolved = isVersion ? (registry ? registry : undefined) : spec;
    const node: LockNode = { id: key, name, version: isVersion ? spec : spec, source: isVersion ? (registry && !/^https?:\/\//.test(registry) ? 'tarball' : 'registry') : sourceFromResolved(spec.replace(/^github:/, 'github:'), spec), edges: [], location };
    if (!isVersion && node.source === 'registry') node.source = 'tarball';
    if (resolved && resolved !== '') node.resolved = resolved;
    if (integrity) node.integrity = integrity;
    if (meta.hasInstallScript === true || (isObject(meta.scripts) && ['preinstall', 'install', 'postinstall'].some((s) => s in (meta.scripts as Entry)))) node.hasInstallScript = true;
    nodes.set(key, node);
    raw.set(key, meta);
  }
  const resolveFrom = (fromKey: string | undefined, dep: string): string | undefined => {
    const chain = fromKey ? keySegments(fromKey) : [];
    for (let n = chain.length; n >= 0; n--) {
      const candidate = [...chain.slice(0, n), dep].join('/');
      if (nodes.has(candidate)) return candidate;
      if (workspaceIdByName.has(candidate)) return workspaceIdByName.get(candidate);
    }
    return undefined;
  };
  const collect = (entry: Entry, fromKey: string | undefined, scopeKey?: string): Edge[] => {
    const edges: Edge[] = [];
    for (const [field, kind] of [['dependencies', 'prod'], ['optionalDependencies', 'optional'], ['devDependencies', 'dev']] as const) {
      const map = entry[field];
      if (!isObject(map)) continue;
      for (const name of Object.keys(map)) {
        // bun nests a workspace's conflicting versions under "<workspace name>/<dep>".
        const target = (scopeKey ? resolveFrom(scopeKey, name) : undefined) ?? resolveFrom(fromKey, name);
        edges.push(target ? { name, kind: kind as DependencyKind, target } : { name, kind: kind as DependencyKind });
      }
    }
    return edges;
  };
  for (const [key, meta] of raw) nodes.get(key)!.edges = collect(meta, key);
  const importers: string[] = [];
  for (const [path, value] of Object.entries(workspaces)) {
    const entry = isObject(value) ? value : {};
    const id = `workspace:${path === '' ? '.' : path}`;
    const name = typeof entry.name === 'string' ? entry.name : path || '(root)';
    nodes.set(id, { id, name, version: typeof entry.version === 'string' ? entry.version : '', source: 'workspace', importer: path === '' ? '.' : path, edges: collect(entry, undefined, path === '' ? undefined : name), location: `/workspaces/${path.replace(/~/g, '~0').replace(/\//g, '~1')}` });
    importers.push(id);
  }
  return { format: 'bun', nodes, importers };
}
