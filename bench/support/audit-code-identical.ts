// Holds a speed change of the installed-code analysis to its results: what a build finds over the
// bench tree and the corpora, written out so that two builds can be compared byte for byte.
//
//   npx tsx bench/support/audit-code-identical.ts write <out-dir> [wirelock root with dist/]
//   npx tsx bench/support/audit-code-identical.ts compare <out-dir A> <out-dir B>
//
// write: `wirelock audit <bench tree> --json` with an empty code cache (the full --json output, less
// the advisory database's indexedAt), every PackageCode that scan cached (evidence, hooks, imports,
// unparsed files of every package, sorted by cache key), and analyzePackageDir() over every sample
// of test/fixtures/audit/malware (malicious, benign, adversarial; also as a git dependency, whose
// prepare scripts run) and every package of test/fixtures/audit/installed. The root defaults to this
// checkout; keep a copy of dist/ from before a change (with package.json, node_modules linked) to
// write the "before" side. The bench tree is the one bench/audit-code.bench.ts installs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const FILES = ['audit.json', 'packages.jsonl', 'corpus.jsonl'];

async function write(out: string, root: string): Promise<void> {
  const tree = process.env.WIRELOCK_BENCH_TREE ?? join(tmpdir(), 'wirelock-bench-popular');
  if (!existsSync(join(tree, 'node_modules'))) throw new Error(`no bench tree at ${tree}: run \`npx tsx bench/run.ts audit-code\` once`);
  const fixtures = join(repo, 'test/fixtures/audit');
  const { main } = (await import(pathToFileURL(join(root, 'dist/cli/main.js')).href)) as { main: (argv: string[], io: unknown) => Promise<number> };
  const { analyzePackageDir } = (await import(pathToFileURL(join(root, 'dist/audit/code/package.js')).href)) as { analyzePackageDir: (dir: string, options?: { prepare?: boolean }) => unknown };
  mkdirSync(out, { recursive: true });
  const cache = mkdtempSync(join(tmpdir(), 'wirelock-identical-'));
  try {
    let text = '';
    const stdout = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
    const stderr = new Writable({ write(chunk, _e, cb) { process.stderr.write(chunk); cb(); } });
    await main(['audit', tree, '--db', join(repo, 'test/vectors/osv'), '--json', '--fail-on', 'none', '--max-db-age', '100000', '--code-cache-dir', cache], { stdout, stderr, env: { ...process.env, NO_COLOR: '1' }, cwd: process.cwd() });
    const json = JSON.parse(text) as Record<string, unknown>;
    // When the test database was indexed: the one field that differs between any two runs.
    const strip = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(strip);
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'indexedAt').map(([k, v]) => [k, strip(v)]));
      return value;
    };
    writeFileSync(join(out, 'audit.json'), `${JSON.stringify(strip(json), null, 1)}\n`);
    const rows: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(join(dir, entry.name));
        else rows.push(`${join(dir, entry.name).slice(cache.length)}\t${readFileSync(join(dir, entry.name), 'utf8')}`);
      }
    };
    walk(cache);
    rows.sort();
    writeFileSync(join(out, 'packages.jsonl'), `${rows.join('\n')}\n`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
  const lines: string[] = [];
  for (const kind of ['malicious', 'benign', 'adversarial']) {
    const base = join(fixtures, 'malware', kind);
    for (const id of readdirSync(base).sort()) {
      if (!statSync(join(base, id)).isDirectory()) continue;
      lines.push(`${kind}/${id}\t${JSON.stringify(analyzePackageDir(join(base, id)))}`);
      lines.push(`${kind}/${id} prepare\t${JSON.stringify(analyzePackageDir(join(base, id), { prepare: true }))}`);
    }
  }
  const packages: string[] = [];
  const find = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (existsSync(join(dir, entry.name, 'package.json'))) packages.push(`${rel}${entry.name}`);
      find(join(dir, entry.name), `${rel}${entry.name}/`);
    }
  };
  const installed = join(fixtures, 'installed', 'modules');
  find(installed, '');
  for (const pkg of packages.sort()) lines.push(`installed/${pkg}\t${JSON.stringify(analyzePackageDir(join(installed, pkg)))}`);
  writeFileSync(join(out, 'corpus.jsonl'), `${lines.join('\n')}\n`);
  console.log(`${out}: audit.json, packages.jsonl (${readFileSync(join(out, 'packages.jsonl'), 'utf8').split('\n').length - 1} cached results), corpus.jsonl (${lines.length} analyses)`);
}

function compare(a: string, b: string): number {
  let differ = 0;
  for (const file of FILES) {
    const same = readFileSync(join(a, file)).equals(readFileSync(join(b, file)));
    console.log(`${same ? 'identical' : 'DIFFERENT'} ${file}`);
    if (!same) differ++;
  }
  return differ === 0 ? 0 : 1;
}

const [mode, first, second] = process.argv.slice(2);
if (mode === 'write' && first) await write(resolve(first), resolve(second ?? repo));
else if (mode === 'compare' && first && second) process.exitCode = compare(resolve(first), resolve(second));
else {
  console.error('usage: audit-code-identical.ts write <out-dir> [wirelock root] | compare <out-dir A> <out-dir B>');
  process.exitCode = 2;
}
