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
import { codeExtension, codeRoot } from '../../location.js';
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
  /** Threads that analysed packages (0: this thread did the work, also when the pool failed). */
  threads: number;
  /** Why the thread pool failed, when it did (the scan then finished on this thread: slower, same results). */
  threadError?: string;
}

const JS_LIKE = /\.(?:c|m)?js$/;

/**
 * One walk over a package folder: the signature of its files (names, sizes, mtimes) for the cache
 * key, and the bytes of JavaScript in it, the weight the scheduler uses to start big packages first.
 */
function folderSignature(dir: string, withHash: boolean): { hash: string; weight: number } {
  const hash = withHash ? createHash('sha256') : undefined;
  let weight = 0;
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
        const js = JS_LIKE.test(entry.name);
        if (!hash && !js) continue;
        try {
          const s = statSync(join(at, entry.name));
          hash?.update(`${prefix}${entry.name}\0${s.size}\0${Math.trunc(s.mtimeMs)}\n`);
          if (js) weight += s.size;
        } catch {
          // vanished file: the signature differs, which is what we want
        }
      }
    }
  };
  walk(dir, '');
  return { hash: hash ? hash.digest('hex') : '', weight };
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

function cacheKey(root: string, pkg: InstalledPackage, graph: LockGraph | undefined): { key: string; weight: number } {
  const integrity = integrityOf(pkg, graph) ?? 'no-integrity';
  const { hash, weight } = folderSignature(join(root, pkg.dir), true);
  const key = createHash('sha256').update(`wirelock-code/${ANALYZER_VERSION}\n${pkg.name}@${pkg.version}\n${integrity}\n${builtFromSource(pkg, graph) ? 'prepare\n' : ''}${hash}`).digest('hex');
  return { key, weight };
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

/**
 * A pool of analysis threads, one per core. Work goes out biggest first (longest-processing-time
 * order): an 80 MB package started last would leave one core idle for its whole run. The copies of
 * one package (the same name nested under several dependents, often byte-identical files) go to
 * the same thread as one unit, so that thread's content-hash memo analyses each file once. Each
 * thread holds the next unit in its queue while it works on one: it never waits for this thread to
 * read a result and send more. Each result is handed to `done` as it arrives, so cache writes
 * overlap the analysis.
 */
async function analyseInWorkers(threads: Worker[], jobs: Job[], done: (job: Job, code: PackageCode) => void): Promise<void> {
  const byName = new Map<string, Job[]>();
  for (const job of jobs) {
    const group = byName.get(job.pkg.name);
    if (group) group.push(job);
    else byName.set(job.pkg.name, [job]);
  }
  const weight = (group: Job[]) => group.reduce((sum, job) => sum + job.weight, 0);
  const units = [...byName.values()].sort((a, b) => weight(b) - weight(a));
  let next = 0;
  const run = (worker: Worker) =>
    new Promise<void>((resolve, reject) => {
      // Units sent to this thread and not yet fully answered, oldest first (the thread answers in order).
      const inFlight: Array<{ unit: Job[]; pending: number }> = [];
      const feed = () => {
        while (inFlight.length < UNITS_AHEAD && next < units.length) {
          const unit = units[next++]!;
          inFlight.push({ unit, pending: unit.length });
          unit.forEach((job, index) => worker.postMessage({ index, dir: job.dir, prepare: job.prepare }));
        }
        if (inFlight.length === 0) {
          void worker.terminate();
          resolve();
        }
      };
      worker.on('message', (message: { index: number; code?: PackageCode; error?: string }) => {
        const current = inFlight[0]!;
        const job = current.unit[message.index]!;
        done(job, message.code ?? analyzePackageDir(job.dir, { prepare: job.prepare }));
        if (--current.pending === 0) {
          inFlight.shift();
          feed();
        }
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(threads.map(run));
}

/**
 * Starts the analysis threads. Called at the first packages the cache does not have, so that the
 * threads load their modules while this thread is still computing the other packages' cache keys.
 */
function startThreads(count: number): Worker[] {
  const fromSource = codeExtension === '.ts';
  const url = new URL(`audit/code/worker${codeExtension}`, codeRoot);
  // A larger young generation: parsing allocates millions of short-lived nodes (fewer
  // scavenges). 256 MB halved one thread's GC time but cost more CPU with two threads on two
  // cores (measured side by side), so 64.
  const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
  // Run from the TypeScript sources (the tests), a thread does not inherit tsx's loader: it
  // registers it before importing the worker, or the pool would fail and this thread do the work.
  // Only when the process was given its script on the command line: an explicit list is checked by
  // Node again (and refused for options a thread cannot take), an inherited one is not.
  const kept = threadExecArgv(process.execArgv);
  const execArgv = kept.length === process.execArgv.length ? undefined : kept;
  const start = fromSource
    ? () => new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, resourceLimits, execArgv })
    : () => new Worker(url, { resourceLimits, execArgv });
  const threads: Worker[] = [];
  try {
    for (let i = 0; i < count; i++) threads.push(start());
  } catch (error) {
    for (const thread of threads) void thread.terminate();
    throw error;
  }
  return threads;
}

/**
 * A thread inherits the process's command-line options, and Node refuses to start one whose options
 * include the process's own script source (`node --input-type=module -e '...'`, as a bench or a
 * wrapper runs it): the pool then failed and one thread did all the work, twice as slow and silent.
 * The options that only say how the main script is given are dropped; the rest (loaders, conditions,
 * memory limits) still reach the threads.
 */
export function threadExecArgv(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (/^(?:-e|--eval|-p|--print|-pe|--input-type)$/.test(arg)) {
      i++; // and the source or type that follows it
      continue;
    }
    if (/^(?:--eval|--print|--input-type)=/.test(arg) || arg === '-i' || arg === '--interactive') continue;
    out.push(arg);
  }
  return out;
}

function describeThreadError(error: unknown): string {
  return error instanceof Error ? `${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}` : String(error);
}

/** Units queued per thread: the one it works on and the next, so it never idles between units. */
const UNITS_AHEAD = 2;

/** Fewer packages than this to analyse: starting threads would cost more than it saves. */
const MIN_JOBS_FOR_THREADS = 8;
const YOUNG_GENERATION_MB = 64;

interface Job {
  pkg: InstalledPackage;
  dir: string;
  prepare: boolean;
  weight: number;
  key?: string;
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
  const stats: CodeScanStats = { packages: packages.length, analysed: 0, fromCache: 0, files: 0, bytes: 0, threads: 0 };
  const workers = options.workers ?? Math.min(4, availableParallelism());
  const parallel = workers > 1;
  const todo: Job[] = [];
  let threads: Worker[] | undefined;
  let poolFailed = false;
  const wantThreads = () => {
    if (!parallel || threads || poolFailed || todo.length <= MIN_JOBS_FOR_THREADS) return;
    try {
      threads = startThreads(Math.min(workers, todo.length));
    } catch (error) {
      // A thread Node refuses to start is the same as one that fails later: this thread does the work, and says why.
      poolFailed = true;
      stats.threadError = describeThreadError(error);
    }
  };
  for (const pkg of packages) {
    const dir = join(root, pkg.dir);
    const prepare = builtFromSource(pkg, options.graph);
    if (options.cacheDir) {
      const { key, weight } = cacheKey(root, pkg, options.graph);
      const cached = readCached(options.cacheDir, key);
      if (cached) {
        code.set(pkg.dir, cached);
        stats.fromCache++;
        continue;
      }
      todo.push({ pkg, dir, prepare, weight, key });
    } else todo.push({ pkg, dir, prepare, weight: parallel ? folderSignature(dir, false).weight : 0 });
    wantThreads();
  }
  const results = new Map<Job, PackageCode>();
  const done = (job: Job, result: PackageCode) => {
    results.set(job, result);
    if (options.cacheDir && job.key) {
      writeCached(options.cacheDir, job.key, result);
      const integrity = integrityOf(job.pkg, options.graph);
      if (integrity) rememberCapabilities(options.cacheDir, integrity, job.pkg.name, result);
    }
  };
  const inThisThread = (jobs: Job[]) => {
    for (const job of jobs) if (!results.has(job)) done(job, analyzePackageDir(job.dir, { prepare: job.prepare }));
  };
  if (threads) {
    try {
      await analyseInWorkers(threads, todo, done);
      stats.threads = threads.length;
    } catch (error) {
      stats.threadError = describeThreadError(error);
      inThisThread(todo);
    } finally {
      for (const thread of threads) void thread.terminate();
    }
  } else inThisThread(todo);
  // Reported in the order the packages were given, whatever order the threads finished in.
  for (const job of todo) {
    const result = results.get(job)!;
    code.set(job.pkg.dir, result);
    stats.analysed++;
    stats.files += result.files;
    stats.bytes += result.bytes;
  }
  return { code, stats };
}
