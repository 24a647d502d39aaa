/**
 * Adapter: analyses every installed package, through a cache keyed by the package's integrity
 * (from the lockfile), so a warm re-scan reads only packages that changed. The key also covers the
 * size and mtime of every file of the package: a file changed after install (by another package's
 * install script, say) is read again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, type Dirent } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { InstalledPackage } from '../installed.js';
import type { LockGraph } from '../lockfile/model.js';
import type { Capability } from './analyze.js';
import { judgePackage } from './judge.js';
import { ANALYZER_VERSION, analyzePackageDir, type PackageCode } from './package.js';

export interface CodeScanOptions {
  /** Cache folder; none: every package is read. */
  cacheDir?: string;
  graph?: LockGraph;
  /** Parallel workers (default: available cores, at most 4; 1 = in this thread). */
  workers?: number;
}

export interface CodeScanStats {
  packages: number;
  analysed: number;
  fromCache: number;
  files: number;
  bytes: number;
}

function statSignature(dir: string): string {
  const hash = createHash('sha256');
  const walk = (at: string, prefix: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== '.git') walk(join(at, entry.name), `${prefix}${entry.name}/`);
      } else if (entry.isFile()) {
        try {
          const s = statSync(join(at, entry.name));
          hash.update(`${prefix}${entry.name}\0${s.size}\0${Math.trunc(s.mtimeMs)}\n`);
        } catch {
          // vanished file: the signature differs, which is what we want
        }
      }
    }
  };
  walk(dir, '');
  return hash.digest('hex');
}

export function integrityOf(pkg: InstalledPackage, graph: LockGraph | undefined): string | undefined {
  if (!graph) return undefined;
  const byPath = graph.nodes.get(pkg.dir);
  if (byPath?.integrity && byPath.name === pkg.name && byPath.version === pkg.version) return byPath.integrity;
  for (const node of graph.nodes.values()) if (node.name === pkg.name && node.version === pkg.version && node.integrity) return node.integrity;
  return undefined;
}

/** A git, folder or tarball dependency is built from source at install: npm runs its prepare scripts. */
export function builtFromSource(pkg: InstalledPackage, graph: LockGraph | undefined): boolean {
  const source = graph?.nodes.get(pkg.dir)?.source;
  return source === 'git' || source === 'file' || source === 'tarball';
}

function cacheKey(root: string, pkg: InstalledPackage, graph: LockGraph | undefined): string {
  const integrity = integrityOf(pkg, graph) ?? 'no-integrity';
  return createHash('sha256').update(`wirelock-code/${ANALYZER_VERSION}\n${pkg.name}@${pkg.version}\n${integrity}\n${builtFromSource(pkg, graph) ? 'prepare\n' : ''}${statSignature(join(root, pkg.dir))}`).digest('hex');
}

function readCached(cacheDir: string, key: string): PackageCode | undefined {
  try {
    const value = JSON.parse(readFileSync(join(cacheDir, key.slice(0, 2), `${key}.json`), 'utf8')) as PackageCode;
    return value.analyzer === ANALYZER_VERSION ? value : undefined;
  } catch {
    return undefined;
  }
}

function writeCached(cacheDir: string, key: string, code: PackageCode): void {
  try {
    const dir = join(cacheDir, key.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `${key}.${process.pid}.tmp`);
    writeFileSync(temp, JSON.stringify(code));
    renameSync(temp, join(dir, `${key}.json`));
  } catch {
    // a read-only or full cache only costs speed
  }
}

async function analyseInWorkers(dirs: string[], prepare: boolean[], workers: number): Promise<PackageCode[]> {
  const results = new Array<PackageCode>(dirs.length);
  let next = 0;
  const url = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
  const run = () =>
    new Promise<void>((resolve, reject) => {
      // A larger young generation: parsing allocates millions of short-lived nodes (fewer scavenges).
      const worker = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 64 } });
      const feed = () => {
        if (next >= dirs.length) {
          void worker.terminate();
          resolve();
          return;
        }
        const index = next++;
        worker.postMessage({ index, dir: dirs[index], prepare: prepare[index] });
      };
      worker.on('message', (message: { index: number; code?: PackageCode; error?: string }) => {
        if (message.code) results[message.index] = message.code;
        else results[message.index] = analyzePackageDir(dirs[message.index]!, { prepare: prepare[message.index] });
        feed();
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(workers, dirs.length) }, run));
  return results;
}

function integrityFile(cacheDir: string, integrity: string): string {
  return join(cacheDir, 'by-integrity', `${createHash('sha256').update(integrity).digest('hex')}.json`);
}

/** What the tarball with this integrity could do when it was last scanned (for --since). */
export function capabilitiesByIntegrity(cacheDir: string, integrity: string): Capability[] | undefined {
  try {
    const value = JSON.parse(readFileSync(integrityFile(cacheDir, integrity), 'utf8')) as { analyzer: number; capabilities: Capability[] };
    return value.analyzer === ANALYZER_VERSION ? value.capabilities : undefined;
  } catch {
    return undefined;
  }
}

function rememberCapabilities(cacheDir: string, integrity: string, name: string, code: PackageCode): void {
  try {
    const file = integrityFile(cacheDir, integrity);
    mkdirSync(join(cacheDir, 'by-integrity'), { recursive: true });
    const capabilities = judgePackage(name, code, { verified: false, reason: '' }).capabilities;
    writeFileSync(file, JSON.stringify({ analyzer: ANALYZER_VERSION, capabilities }));
  } catch {
    // only --since loses its baseline
  }
}

export async function scanInstalledCode(root: string, packages: InstalledPackage[], options: CodeScanOptions = {}): Promise<{ code: Map<string, PackageCode>; stats: CodeScanStats }> {
  const code = new Map<string, PackageCode>();
  const stats: CodeScanStats = { packages: packages.length, analysed: 0, fromCache: 0, files: 0, bytes: 0 };
  const todo: Array<{ pkg: InstalledPackage; key?: string }> = [];
  for (const pkg of packages) {
    if (options.cacheDir) {
      const key = cacheKey(root, pkg, options.graph);
      const cached = readCached(options.cacheDir, key);
      if (cached) {
        code.set(pkg.dir, cached);
        stats.fromCache++;
        continue;
      }
      todo.push({ pkg, key });
    } else todo.push({ pkg });
  }
  const workers = options.workers ?? Math.min(4, availableParallelism());
  const dirs = todo.map(({ pkg }) => join(root, pkg.dir));
  const prepare = todo.map(({ pkg }) => builtFromSource(pkg, options.graph));
  const bytesOf = (c: PackageCode) => c.bytes;
  let analysed: PackageCode[];
  if (workers > 1 && dirs.length > 8) {
    try {
      analysed = await analyseInWorkers(dirs, prepare, workers);
    } catch {
      analysed = dirs.map((dir, index) => analyzePackageDir(dir, { prepare: prepare[index] }));
    }
  } else analysed = dirs.map((dir, index) => analyzePackageDir(dir, { prepare: prepare[index] }));
  todo.forEach(({ pkg, key }, index) => {
    const result = analysed[index]!;
    code.set(pkg.dir, result);
    stats.analysed++;
    stats.files += result.files;
    stats.bytes += bytesOf(result);
    if (options.cacheDir && key) {
      writeCached(options.cacheDir, key, result);
      const integrity = integrityOf(pkg, options.graph);
      if (integrity) rememberCapabilities(options.cacheDir, integrity, pkg.name, result);
    }
  });
  return { code, stats };
}
