#!/usr/bin/env node
// The second half of `npm run build`: after tsc has emitted dist/ (JavaScript and declarations),
// rollup bundles the JavaScript of the entry points with code splitting. Every module ends up in
// exactly one file (an entry, or a chunk under dist/chunks/), so module state (activeLockdown, the
// load-time baseline, wirelock's own installed values, WirelockError for instanceof) exists once
// whichever entries an app loads. Why: Node 20 resolves, reads and links ES modules one by one, and
// the ~40 modules behind `import 'wirelock'` cost an app ~20 ms at every start (docs/runtime.md,
// "Start-up cost"). The modules behind `wirelock` and `wirelock/register` go into one chunk, so
// either loads two files. Declarations (.d.ts), the CommonJS files (.cjs) and package.json's exports
// map stay as tsc made them.
import { rollup } from '@rollup/wasm-node';
import ts from 'typescript';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');

// Every module an app, a CLI, a spawned process or a CommonJS file loads by path (package.json
// "exports" and "bin", the lab's client process, the code scan's worker, the .cjs files' require()).
const ENTRIES = [
  'index',
  'runtime/register',
  'audit/index',
  'mobile/index',
  'collect/index',
  'cli/main',
  'lab/client',
  'audit/code/worker',
  'errors', // required by runtime/register-require.cjs
  'mobile/expo', // required by mobile/expo-plugin.cjs
];
// Entries whose top-level code is a program (it runs lockdown, a CLI, a client, a worker): they keep
// their own file, since all the code in a chunk runs when the chunk loads.
const PROGRAMS = ['runtime/register', 'cli/main', 'lab/client', 'audit/code/worker'];
// What `import 'wirelock'` and `--import wirelock/register` load before the app's first line.
const START_ENTRIES = ['index', 'runtime/register'];

function jsFiles(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? jsFiles(path) : path.endsWith('.js') ? [path] : [];
  });
}

/** The modules a file imports statically, transitively (tsc's output: one import per statement). */
function staticClosure(files) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^(?:import|export)\s(?:[^;'"]*?\sfrom\s)?['"](\.{1,2}\/[^'"]+)['"]/gm)) visit(resolve(dirname(file), match[1]));
  };
  files.forEach(visit);
  return seen;
}

// A previous build's chunks are not tsc's output: never an input.
rmSync(join(dist, 'chunks'), { recursive: true, force: true });
const startModules = staticClosure(START_ENTRIES.map((entry) => join(dist, `${entry}.js`)));
const entryFiles = new Set(ENTRIES.map((entry) => join(dist, `${entry}.js`)));
const programFiles = new Set(PROGRAMS.map((entry) => join(dist, `${entry}.js`)));
// Each module also keeps its own path, as a file that re-exports from its chunk: whoever imports
// one by path (test fixtures, benches) gets the same instance, never a second copy.
const facades = jsFiles(dist).filter((file) => !entryFiles.has(file)).map((file) => relative(dist, file).replace(/\.js$/, ''));
/**
 * The chunk a module goes to: what `wirelock` and `wirelock/register` load before the app's first
 * line in one chunk (one resolve, read and compile instead of one per module), every other module in
 * its area's chunk (audit, mobile, collect, lab, cli); the programs stay apart.
 */
function chunkOf(id) {
  if (programFiles.has(id) || !id.startsWith(`${dist}/`)) return undefined;
  if (startModules.has(id)) return 'start';
  const path = relative(dist, id);
  return path.includes('/') ? path.split('/')[0] : 'start';
}
/**
 * Comments out of the shipped JavaScript: V8 scans every byte of a module before it runs, and the
 * comments are a quarter of the start chunk (compiling it took ~8 ms with them, ~5 without, Node 20).
 * TypeScript re-prints each module (JavaScript in, the same JavaScript out, no downlevelling), so no
 * string or regular expression is mistaken for a comment. The declarations keep their doc comments;
 * the Public Suffix List keeps its licence header.
 */
const stripComments = {
  name: 'strip-comments',
  transform(code, id) {
    if (!id.startsWith(`${dist}/`) || id.endsWith('/public-suffixes.js')) return null;
    const { outputText } = ts.transpileModule(code, {
      fileName: id,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, removeComments: true, verbatimModuleSyntax: true, allowJs: true },
    });
    return { code: outputText, map: null };
  },
};
const bundle = await rollup({
  plugins: [stripComments],
  input: Object.fromEntries([...ENTRIES, ...facades].map((entry) => [entry, join(dist, `${entry}.js`)])),
  // Node's built-ins and npm packages (undici, yaml, meriyah, ...) stay imports.
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  preserveEntrySignatures: 'strict',
  onwarn(warning, warn) {
    // tsc's `import type` leftovers and circular imports between the area's own modules are fine.
    if (warning.code === 'CIRCULAR_DEPENDENCY') return;
    // Modules that only declare types (policy/types.js) have nothing to bundle.
    if (warning.code === 'EMPTY_BUNDLE') return;
    warn(warning);
    process.exitCode = 1;
  },
});
const { output } = await bundle.generate({
  dir: dist,
  format: 'es',
  entryFileNames: '[name].js',
  chunkFileNames: 'chunks/[name]-[hash].js',
  manualChunks: chunkOf,
});
await bundle.close();

// tsc's one-file-per-module output is replaced by the bundle: a module left beside it could be
// loaded by path as a second copy with its own state.
for (const file of jsFiles(dist)) rmSync(file);
for (const file of output) {
  const path = join(dist, file.fileName);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.type === 'chunk' ? file.code : file.source);
}
// Which of tsc's modules each file holds (tests check what an entry loads; people debugging read it).
const manifest = Object.fromEntries(
  output.filter((file) => file.type === 'chunk').map((file) => [file.fileName, file.moduleIds.filter((id) => id.startsWith(dist)).map((id) => relative(dist, id))]),
);
writeFileSync(join(dist, 'modules.json'), `${JSON.stringify(manifest, null, 1)}\n`);
const chunks = output.filter((file) => file.fileName.startsWith('chunks/')).length;
console.log(`bundle: ${ENTRIES.length} entries (+${facades.length} module paths), ${chunks} chunks in dist/chunks/ (${relative(root, dist)})`);
