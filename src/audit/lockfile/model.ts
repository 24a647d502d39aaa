/**
 * The one shape every lockfile reader produces. Readers are pure (text in, graph out); the
 * adapter in ./read.ts finds the file and the manifests next to it.
 */
import { WirelockError } from '../../errors.js';

export type LockfileFormat = 'npm-v1' | 'npm-v2' | 'npm-v3' | 'yarn-v1' | 'yarn-berry' | 'pnpm-v6' | 'pnpm-v9' | 'bun';

export type DependencyKind = 'prod' | 'dev' | 'optional' | 'peer';

/** Where the package's code comes from; anything but "registry" deserves a look. */
export type SourceKind = 'registry' | 'git' | 'tarball' | 'file' | 'link' | 'workspace';

export interface Edge {
  name: string;
  kind: DependencyKind;
  /** Node id the dependency resolved to; undefined when the lockfile does not contain it. */
  target?: string;
}

export interface LockNode {
  /** Unique within the lockfile (a node_modules path, name@version, a pnpm snapshot key...). */
  id: string;
  name: string;
  version: string;
  source: SourceKind;
  resolved?: string;
  integrity?: string;
  hasInstallScript?: boolean;
  /** Shipped inside another package's tarball (npm bundleDependencies): that package chose its files. */
  bundled?: boolean;
  /** Workspace packages (and the root project) are importers, not dependencies to audit. */
  importer?: string;
  edges: Edge[];
  /** JSON pointer or key of the entry, for error messages and SARIF locations. */
  location: string;
}

export interface LockGraph {
  format: LockfileFormat;
  /**
   * Every node, importers included. A reader may hand out a view that makes each LockNode when it
   * is read (npm v2/v3, see compact.ts): compare nodes by id, not by identity.
   */
  nodes: ReadonlyMap<string, LockNode>;
  /** Ids of importer nodes: the root project first, then workspaces. */
  importers: string[];
}

/** Package manifest (package.json) fields the readers use where a lockfile leaves them out. */
export interface Manifest {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workspaces?: string[] | { packages?: string[] };
}

export function manifestEdges(manifest: Manifest | undefined): Array<{ name: string; range: string; kind: DependencyKind }> {
  if (!manifest) return [];
  const out: Array<{ name: string; range: string; kind: DependencyKind }> = [];
  const seen = new Set<string>();
  // Optional first: npm lists optional dependencies in both maps and optional wins.
  for (const [field, kind] of [['optionalDependencies', 'optional'], ['dependencies', 'prod'], ['devDependencies', 'dev'], ['peerDependencies', 'peer']] as const) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ name, range: String(range), kind });
    }
  }
  return out;
}

export function sourceFromResolved(resolved: string | undefined, version: string): SourceKind {
  // Fast path for the common case, same answer as the rules below: an https tarball URL without a
  // fragment is a registry package when it has npm's /-/<file>.tgz shape, else a tarball.
  if (resolved !== undefined && resolved.startsWith('https://') && resolved.endsWith('.tgz') && !resolved.includes('#')) {
    const at = resolved.lastIndexOf('/-/');
    return at >= 0 && resolved.indexOf('/', at + 3) < 0 && resolved.length - (at + 3) > '.tgz'.length ? 'registry' : 'tarball';
  }
  const text = resolved ?? version;
  if (/^(git\+|git:|github:|gitlab:|bitbucket:)/.test(text) || /^[\w.-]+\/[\w.-]+#/.test(text) || /\.git(#|$)/.test(text)) return 'git';
  if (/^(file:|\.\.?\/|\/)/.test(text)) return 'file';
  if (/^link:/.test(text)) return 'link';
  if (resolved === undefined) return 'registry';
  // A registry tarball has the /-/ path npm registries use; any other URL is an arbitrary tarball.
  if (/^https?:\/\//.test(text)) return /\/-\/[^/]+\.tgz(?:#.*)?$/.test(text) ? 'registry' : 'tarball';
  return 'registry';
}

/** "@scope/name@1.2.3" -> ["@scope/name", "1.2.3"]; the first "@" of a scope is not the separator. */
export function splitNameAt(text: string): [string, string] {
  const at = text.indexOf('@', text.startsWith('@') ? 1 : 0);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Every reader's shape error: ERR_LOCKFILE_INVALID naming the file and the JSON pointer, in the message too. */
export function lockfileError(file: string, pointer: string, what: string, extra: Record<string, unknown> = {}): WirelockError {
  return new WirelockError('ERR_LOCKFILE_INVALID', `${file} at ${pointer === '' ? '(root)' : pointer}: ${what}`, { file, pointer, ...extra });
}

/**
 * Field types a reader relies on. A lockfile that declares a version we read but has another shape
 * is refused: read leniently, `"packages": "x"` became an empty lockfile and passed every gate.
 *   map: an object whose values are strings (dependency name -> range or version)
 */
export type FieldType = 'string' | 'boolean' | 'object' | 'array' | 'map';

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export function checkFields(entry: Record<string, unknown>, fields: Readonly<Record<string, FieldType>>, file: string, pointer: string): void {
  for (const key in fields) {
    const value = entry[key];
    if (value === undefined) continue;
    const type = fields[key]!;
    const ok =
      type === 'object' || type === 'map'
        ? typeof value === 'object' && value !== null && !Array.isArray(value)
        : type === 'array'
          ? Array.isArray(value)
          : typeof value === type;
    if (!ok) throw lockfileError(file, `${pointer}/${escapePointer(key)}`, `"${key}" must be ${type === 'map' ? 'an object of strings' : type === 'object' || type === 'array' ? `an ${type}` : `a ${type}`}, not ${typeOf(value)}`);
    if (type === 'map') {
      for (const [name, range] of Object.entries(value as Record<string, unknown>)) {
        if (typeof range !== 'string') throw lockfileError(file, `${pointer}/${escapePointer(key)}/${escapePointer(name)}`, `"${name}" must be a string, not ${typeOf(range)}`);
      }
    }
  }
}

/** The value at `pointer` must be an object (a section or an entry). */
export function requireObject(value: unknown, file: string, pointer: string, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw lockfileError(file, pointer, `${what} must be an object, not ${value === undefined ? 'missing' : typeOf(value)}`);
  return value as Record<string, unknown>;
}
