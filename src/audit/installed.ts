/**
 * Adapter over an installed node_modules tree: install scripts from each package.json, and the
 * network-hooking heuristics over its JavaScript.
 */
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { scanSource, type HookHit } from './heuristics.js';

export const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;

export interface InstalledPackage {
  name: string;
  version: string;
  /** Folder relative to the project root, e.g. node_modules/a/node_modules/b. */
  dir: string;
  scripts: Partial<Record<(typeof INSTALL_SCRIPTS)[number], string>>;
  /** node-gyp runs for a binding.gyp even without an install script. */
  gyp: boolean;
}

export function listInstalled(root: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  const visit = (modulesDir: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(modulesDir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(modulesDir, entry.name);
      if (entry.name.startsWith('@')) {
        for (const scoped of safeList(path)) visitPackage(join(path, scoped.name), scoped);
      } else visitPackage(path, entry);
    }
  };
  const visitPackage = (dir: string, entry: Dirent) => {
    // pnpm and workspaces link packages; following links could loop or leave the tree.
    if (entry.isSymbolicLink() || !entry.isDirectory()) return;
    let manifest: Record<string, unknown>;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    const scripts = (typeof manifest.scripts === 'object' && manifest.scripts !== null ? manifest.scripts : {}) as Record<string, unknown>;
    const found: InstalledPackage['scripts'] = {};
    for (const name of INSTALL_SCRIPTS) if (typeof scripts[name] === 'string') found[name] = scripts[name] as string;
    out.push({
      name: typeof manifest.name === 'string' ? manifest.name : entry.name,
      version: typeof manifest.version === 'string' ? manifest.version : '',
      dir: relative(root, dir).split('\\').join('/'),
      scripts: found,
      gyp: found.install === undefined && found.preinstall === undefined && existsSync(join(dir, 'binding.gyp')),
    });
    visit(join(dir, 'node_modules'));
  };
  visit(join(root, 'node_modules'));
  // pnpm keeps real folders in node_modules/.pnpm/<id>/node_modules/<name>.
  const pnpmStore = join(root, 'node_modules', '.pnpm');
  if (existsSync(pnpmStore)) for (const id of safeList(pnpmStore)) if (id.isDirectory()) visit(join(pnpmStore, id.name, 'node_modules'));
  return out;
}

function safeList(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

export interface FileHit extends HookHit {
  file: string;
}

const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Heuristics over one installed package's own files (not its nested node_modules). */
export function scanPackageCode(root: string, pkg: InstalledPackage): FileHit[] {
  const hits: FileHit[] = [];
  const walk = (dir: string) => {
    for (const entry of safeList(dir)) {
      if (entry.name === 'node_modules' || entry.isSymbolicLink()) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(c|m)?js$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        try {
          if (statSync(path).size > MAX_FILE_BYTES) continue;
          const text = readFileSync(path, 'utf8');
          for (const hit of scanSource(text)) hits.push({ ...hit, file: relative(root, path).split('\\').join('/') });
        } catch {
          // unreadable file: nothing to report about its content
        }
      }
    }
  };
  walk(join(root, pkg.dir));
  return hits;
}
