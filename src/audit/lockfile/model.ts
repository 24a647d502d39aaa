/**
 * The one shape every lockfile reader produces. Readers are pure (text in, graph out); the
 * adapter in ./read.ts finds the file and the manifests next to it.
 */
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
  /** Workspace packages (and the root project) are importers, not dependencies to audit. */
  importer?: string;
  edges: Edge[];
  /** JSON pointer or key of the entry, for error messages and SARIF locations. */
  location: string;
}

export interface LockGraph {
  format: LockfileFormat;
  /** Every node, importers included. */
  nodes: Map<string, LockNode>;
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
