/** Adapter: finds a lockfile on disk, reads it and the package.json files next to it. */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { WirelockError } from '../../errors.js';
import { parseBunLockfile } from './bun.js';
import type { LockGraph, Manifest } from './model.js';
import { parseNpmLockfile } from './npm.js';
import { parsePnpmLockfile } from './pnpm.js';
import { parseYarnBerry, parseYarnClassic } from './yarn.js';

/** In the order a directory is searched; npm-shrinkwrap.json wins over package-lock.json as in npm. */
export const LOCKFILE_NAMES = ['npm-shrinkwrap.json', 'package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock'] as const;

/**
 * Lockfiles in `dir`, in search order. bun.lockb comes last: it cannot be read, but a folder that
 * has only it must get the hint to write bun.lock, not "no lockfile".
 */
export function findLockfiles(dir: string): string[] {
  return [...LOCKFILE_NAMES, 'bun.lockb'].map((name) => join(dir, name)).filter((path) => existsSync(path));
}

/** "No lockfile here", with the way out when the folder only has bun's binary lockfile. */
export function noLockfileError(dir: string): WirelockError {
  const bunBinary = existsSync(join(dir, 'bun.lockb'));
  const hint = bunBinary ? `; ${join(dir, 'bun.lockb')} is bun's binary lockfile, which is not supported: run \`bun install --save-text-lockfile\` to write bun.lock` : '';
  return new WirelockError('ERR_LOCKFILE_INVALID', `no lockfile in ${dir} (looked for ${LOCKFILE_NAMES.join(', ')})${hint}`, { file: dir });
}

function readManifest(path: string): Manifest | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (error) {
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${path} is not JSON: ${(error as Error).message}`, { file: path });
  }
}

/** Workspace globs as npm/yarn write them: literal folders and "*" segments ("packages/*"). */
function expandWorkspaces(root: string, patterns: string[]): string[] {
  const out = new Set<string>();
  const expand = (base: string, segments: string[]) => {
    if (segments.length === 0) {
      if (existsSync(join(root, base, 'package.json'))) out.add(base);
      return;
    }
    const [head, ...rest] = segments;
    if (head === '**') {
      expand(base, rest);
      for (const entry of safeDirs(join(root, base))) expand(join(base, entry), segments);
    } else if (head!.includes('*')) {
      const re = new RegExp(`^${head!.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      for (const entry of safeDirs(join(root, base))) if (re.test(entry)) expand(join(base, entry), rest);
    } else expand(join(base, head!), rest);
  };
  for (const pattern of patterns) if (!pattern.startsWith('!')) expand('', pattern.replace(/^\.\//, '').split('/').filter(Boolean));
  return [...out].sort();
}

function safeDirs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((entry) => entry !== 'node_modules' && !entry.startsWith('.') && statSync(join(dir, entry)).isDirectory());
  } catch {
    return [];
  }
}

export function readWorkspaceManifests(root: string): Map<string, Manifest> {
  const manifests = new Map<string, Manifest>();
  const rootManifest = readManifest(join(root, 'package.json'));
  if (!rootManifest) return manifests;
  manifests.set('.', rootManifest);
  const ws = rootManifest.workspaces;
  const patterns = Array.isArray(ws) ? ws : Array.isArray(ws?.packages) ? ws.packages : [];
  for (const folder of expandWorkspaces(root, patterns)) {
    const manifest = readManifest(join(root, folder, 'package.json'));
    if (manifest) manifests.set(relative(root, join(root, folder)).split('\\').join('/'), manifest);
  }
  return manifests;
}

/**
 * Pure dispatch on the file name and content. A reader bug on a malformed file must still end as
 * ERR_LOCKFILE_INVALID (exit 2), not a stack trace; the fuzz tests call the readers directly so
 * such bugs are still found.
 */
export function parseLockfile(text: string, file: string, manifests: Map<string, Manifest> = new Map()): LockGraph {
  return guarded(file, () => dispatch(text, file, manifests));
}

function guarded(file: string, parse: () => LockGraph): LockGraph {
  try {
    return parse();
  } catch (error) {
    if (error instanceof WirelockError) throw error;
    throw new WirelockError('ERR_LOCKFILE_INVALID', `${file}: unexpected content (${(error as Error).message})`, { file }, { cause: error });
  }
}

function isNpmLockfileName(name: string): boolean {
  return name.endsWith('package-lock.json') || name.endsWith('npm-shrinkwrap.json');
}

function dispatch(text: string, file: string, manifests: Map<string, Manifest> = new Map()): LockGraph {
  const name = basename(file);
  // Suffix match so fixtures and copies ("old.package-lock.json") still read as what they are.
  if (isNpmLockfileName(name)) return parseNpmLockfile(text, file, manifests.get('.'));
  if (name.endsWith('pnpm-lock.yaml')) return parsePnpmLockfile(text, file, manifests);
  if (name.endsWith('bun.lockb')) throw new WirelockError('ERR_LOCKFILE_INVALID', `${file}: binary bun.lockb is not supported; run \`bun install --save-text-lockfile\` to write bun.lock`, { file });
  if (name.endsWith('bun.lock')) return parseBunLockfile(text, file);
  if (name.endsWith('yarn.lock')) {
    return /^__metadata:/m.test(text) ? parseYarnBerry(text, file, manifests) : parseYarnClassic(text, file, manifests);
  }
  throw new WirelockError('ERR_LOCKFILE_INVALID', `${file}: not a known lockfile name (${LOCKFILE_NAMES.join(', ')})`, { file });
}

export function readLockfile(path: string): LockGraph {
  const file = resolve(path);
  let text: string;
  try {
    if (statSync(file).isDirectory()) {
      const found = findLockfiles(file);
      if (found.length === 0) throw noLockfileError(file);
      return readLockfile(found[0]!);
    }
    if (isNpmLockfileName(basename(file))) {
      // npm lockfiles are read in chunks, never whole (see json-stream.ts).
      const manifests = readWorkspaceManifests(dirname(file));
      const fd = openSync(file, 'r');
      try {
        return guarded(file, () => parseNpmLockfile({ read: (buffer, offset, length) => readSync(fd, buffer, offset, length, null) }, file, manifests.get('.')));
      } finally {
        closeSync(fd);
      }
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof WirelockError) throw error;
    throw new WirelockError('ERR_LOCKFILE_INVALID', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file });
  }
  return parseLockfile(text, file, readWorkspaceManifests(dirname(file)));
}
