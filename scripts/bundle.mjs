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
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';

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
// The runtime checks (lockdown, inspectEnvironment): ~100 KB of JavaScript that an app using only
// createAgent or createFetch never runs, yet compiled at its every start while they sat in the start
// chunk (~3-4 ms of CPU, Node 20). They become a file of their own that src/runtime/deferred.ts (as
// the build replaces it, see `replacedModules`) reads and compiles at the first call. Why not an ES
// module loaded then: only `require()` loads one synchronously, and it goes through
// Module.prototype.require / Module._load (any code can replace them) and, on Node >= 22.15,
// module.registerHooks(): code that ran after `import 'wirelock'` could hand lockdown() a stand-in.
// The file is read and compiled with functions taken when wirelock loaded, as the baseline is.
const DEFERRED = ['runtime/index', 'runtime/inspect', 'runtime/lockdown', 'runtime/origin', 'runtime/flags'];
const RUNTIME_BODY = 'chunks/runtime-body.js';
// The start chunk's code (splitStart()). Each body's code cache is <body>.<process.arch>.v8.cache
// (scripts/code-cache.mjs): a package built on one architecture has no cache for another, so V8 is
// never handed one made elsewhere (it checks its version, flags and the source's length, not the CPU).
const START_BODY = 'chunks/start-body.js';
const cacheUrl = (body) => `\`./${body.slice('chunks/'.length, -'.js'.length)}.\${nodeProcess.arch}.v8.cache\``;
// What loadRuntime() returns (the Runtime type of src/runtime/deferred.ts).
const RUNTIME_API = ['lockdown', 'activeLockdown', 'inspectEnvironment'];
// The Public Suffix List (135 KB, one string): read as text at the first lookup (src/policy/suffix-list.ts)
// instead of being compiled with the start chunk (~0.6 ms at every start, Node 20).
const SUFFIX_LIST = 'chunks/public-suffixes.txt';

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
const deferredFiles = new Set(DEFERRED.map((entry) => join(dist, `${entry}.js`)));
const loaderFile = join(dist, 'runtime/deferred.js');
const suffixListFile = join(dist, 'policy/suffix-list.js');
const locationFile = join(dist, 'location.js');
const versionFile = join(dist, 'version.js');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const suffixRulesFile = join(dist, 'policy/public-suffixes.js');
const { PUBLIC_SUFFIX_RULES } = await import(pathToFileURL(suffixRulesFile).href);
if (typeof PUBLIC_SUFFIX_RULES !== 'string' || PUBLIC_SUFFIX_RULES.length < 10000 || /\s\s|\n/.test(PUBLIC_SUFFIX_RULES)) throw new Error('bundle: the public suffix rules are not one space-separated line');
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
  if (deferredFiles.has(id)) return 'runtime';
  // Only its own module path (dist/policy/public-suffixes.js) still imports it.
  if (id === suffixRulesFile) return 'public-suffixes';
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
/**
 * Modules the build replaces (each src/ file says so). runtime/deferred.js as built: loadRuntime()
 * reads RUNTIME_BODY and compiles it as a function of the start chunk's bindings (CORE_PLACEHOLDER,
 * filled in below once rollup has named them). The file's path and the functions that read and
 * compile it are taken when the start chunk loads. A failure to load is thrown at every call, never
 * read as "no findings".
 */
const CORE_PLACEHOLDER = '__WIRELOCK_CORE_BINDINGS__';
/**
 * readCodeCache(path) as the start chunk's module and the runtime loader define it: a code cache file
 * (scripts/code-cache.mjs) is the SHA-256 of the V8 data, then the data. A release V8 keeps no
 * checksum of a code cache and deserializes what it is handed once the header matches (a flipped byte
 * in the middle aborts the process in V8's deserializer, Node 20), so a file that is not what the
 * build wrote is never handed to it. Missing, unreadable or not matching: undefined, and the body
 * compiles from source.
 */
const readCodeCacheSource = `function readCodeCache(path) {
  try {
    const file = readFileSync(path);
    const data = file.subarray(32);
    return data.length > 0 && timingSafeEqual(file.subarray(0, 32), hash('sha256', data, 'buffer')) ? data : undefined;
  } catch {
    return undefined;
  }
}`;
// import() as the start chunk's module hands it to the start chunk's code (splitStart() below).
const START_IMPORT = '__wirelockImport';
const API_PLACEHOLDER = '__WIRELOCK_RUNTIME_API__';
// The start body's parameter holding the SHA-256 of the runtime body and of its code cache's V8
// data, as the start chunk's module hands them in (written by this build: placeholders in the
// module until scripts/code-cache.mjs has made the cache, see the end of this file).
const RUNTIME_DIGESTS = '__wirelockRuntimeDigests';
const BODY_DIGEST_PLACEHOLDER = '__WIRELOCK_RUNTIME_BODY_SHA256__';
const CACHE_DIGEST_PLACEHOLDER = '__WIRELOCK_RUNTIME_CACHE_SHA256__';
const replacedModules = {
  name: 'replaced-modules',
  load(id) {
    // location.ts finds the package from its module's URL by looking for package.json, and version.ts
    // reads it (~1 ms of every start together): built, the module is in the start chunk, two folders
    // below the package root (checked after the build), and the version is this package.json's.
    if (id === locationFile) {
      return `export const packageRoot = new URL('../../', import.meta.url);
export const codeRoot = new URL('../', import.meta.url);
export const codeExtension = '.js';
`;
    }
    if (id === versionFile) return `export const VERSION = ${JSON.stringify(version)};\n`;
    if (id === suffixListFile) {
      return `import nodeProcess from 'node:process';
const { readFileSync } = nodeProcess.getBuiltinModule('node:fs');
const { fileURLToPath } = nodeProcess.getBuiltinModule('node:url');
const listPath = fileURLToPath(new URL(${JSON.stringify(`./${SUFFIX_LIST.slice('chunks/'.length)}`)}, import.meta.url));
let rules;
export function publicSuffixRules() {
  if (rules === undefined) {
    const text = readFileSync(listPath, 'utf8');
    const list = text.slice(text.indexOf('\\n') + 1).replace(/\\n$/, '');
    if (!text.startsWith('# ') || list.length < 10000 || list.includes('\\n')) throw new Error(\`wirelock: \${listPath} is not the public suffix list this build wrote\`);
    rules = list;
  }
  return rules;
}
`;
    }
    if (id !== loaderFile) return null;
    return `import nodeProcess from 'node:process';
const { openSync, readSync, fstatSync, closeSync } = nodeProcess.getBuiltinModule('node:fs');
const { hash } = nodeProcess.getBuiltinModule('node:crypto');
const { Script } = nodeProcess.getBuiltinModule('node:vm');
const { fileURLToPath } = nodeProcess.getBuiltinModule('node:url');
// The runtime body is read and compiled at the first call, after code of the app's may have run, so
// nothing it relies on then is looked up then: everything below is taken now, and what is read is
// believed only if its SHA-256 is the one the build wrote into the start chunk's module
// (${RUNTIME_DIGESTS}): Node's fs functions look up other functions on shared objects as they run (a
// path can be redirected, a buffer handed out), so a file read later proves nothing by itself, and a
// digest kept beside it in the same place would prove nothing either. A body that does not match
// fails closed; a cache that does not match is not handed to V8 (the body compiles from source).
// vm.Script, not vm.compileFunction: its code cache (made after a run, scripts/code-cache.mjs) holds
// the functions lockdown() compiles lazily. Node's Script.prototype.runInThisContext and the super()
// call of Script's constructor are looked up when they run: the class Script extends is checked
// right before constructing, and its native runInContext (taken now) is called directly. The new
// object's prototype is a null-prototype object of the loader's own, so the properties Node's
// constructor assigns on it meet no setter another module defined.
const { apply, construct, getPrototypeOf } = Reflect;
const { freeze } = Object;
const allocUnsafeSlow = Buffer.allocUnsafeSlow;
const utf8Slice = Buffer.prototype.utf8Slice;
const ScriptBase = getPrototypeOf(Script);
const runInContext = ScriptBase.prototype.runInContext;
function ScriptTarget() {}
ScriptTarget.prototype = freeze({ __proto__: null });
const digests = ${RUNTIME_DIGESTS};
const bodyUrl = new URL(${JSON.stringify(`./${RUNTIME_BODY.slice('chunks/'.length)}`)}, import.meta.url).href;
const bodyPath = fileURLToPath(bodyUrl);
const cachePath = fileURLToPath(new URL(${cacheUrl(RUNTIME_BODY)}, import.meta.url));
// The runtime's import() (the loader check: what import('node:https') returns) runs in the start
// chunk's ES module, as it ran in its own: compiled code cannot import() without an experimental option.
const importModule = (specifier) => ${START_IMPORT}(specifier);
/** The bytes of path from offset on, if their SHA-256 is digest; else undefined. */
function readVerified(path, offset, digest) {
  if (typeof digest !== 'string' || digest.length !== 64) return undefined;
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size - offset;
    if (!(size > 0 && size <= 0x4000000)) return undefined;
    const data = allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const count = readSync(fd, data, done, size - done, offset + done);
      if (!(count > 0)) return undefined;
      done += count;
    }
    return hash('sha256', data, 'hex') === digest ? data : undefined;
  } catch {
    return undefined;
  } finally {
    try {
      closeSync(fd);
    } catch {}
  }
}
function compileBody(source, cachedData) {
  if (getPrototypeOf(Script) !== ScriptBase) throw new Error('node:vm Script no longer extends the class it extended when wirelock loaded');
  const options = { __proto__: null, filename: bodyUrl };
  if (cachedData) options.cachedData = cachedData;
  return construct(Script, [source, options], ScriptTarget);
}
let chunk;
let runtime;
let failure;
let loading = false;
/** The runtime chunk's exports under the names rollup gave them (the module left in its place). */
export function loadRuntimeChunk() {
  if (chunk) return chunk;
  if (failure) throw failure;
  // Code the body's top level calls could call back in before it returns: one instance, or none.
  if (loading) throw new Error('wirelock: the runtime checks are loading (re-entered)');
  loading = true;
  try {
    const bytes = readVerified(bodyPath, 0, digests.body);
    if (!bytes) throw new Error('the file is missing, unreadable or not the one this build wrote');
    const source = apply(utf8Slice, bytes, [0, bytes.length]);
    // The code cache (after the SHA-256 header its file starts with) is used when V8 accepts it,
    // else, or when missing or not the build's, the body compiles from source.
    const cachedData = readVerified(cachePath, 32, digests.cache);
    let script;
    if (cachedData) {
      try {
        script = compileBody(source, cachedData);
      } catch {}
    }
    script ??= compileBody(source, undefined);
    // Node's runInThisContext(), without its lookups: this context, no timeout, errors displayed.
    const body = apply(runInContext, script, [null, -1, true, false, false]);
    const exported = body(${CORE_PLACEHOLDER}, bodyUrl, importModule);
    runtime = freeze(${API_PLACEHOLDER});
    chunk = exported;
    return chunk;
  } catch (error) {
    failure = new Error(\`wirelock: the runtime checks cannot be loaded from \${bodyPath}: \${error?.message ?? error}\`, { cause: error });
    throw failure;
  } finally {
    loading = false;
  }
}
export function loadRuntime() {
  loadRuntimeChunk();
  return runtime;
}
export function loadedRuntime() {
  return runtime;
}
`;
  },
};
const bundle = await rollup({
  plugins: [replacedModules, stripComments],
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

/** `{ a as b, c }` of an import or export clause, as [name in the other file, local name] pairs. */
function specifiers(clause) {
  return clause.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    const [outer, local = outer] = part.split(/\s+as\s+/);
    return [outer, local];
  });
}
function fail(message) {
  throw new Error(`bundle: ${message}`);
}
/**
 * True when `local` is declared in `code` as a binding that never changes (const, function, class):
 * a value handed across a split (start body, runtime body) is taken once, so anything else would
 * leave the other side with a stale copy.
 */
function isConstantBinding(code, local) {
  const escaped = local.replace(/\$/g, '\\$');
  return new RegExp(`^(?:const [^=\\n]*\\b${escaped}\\b[^=\\n]*=|(?:async )?function\\*? ${escaped}\\(|class ${escaped}\\b)`, 'm').test(code);
}

/**
 * Turns the runtime chunk into RUNTIME_BODY, the body of a function of the start chunk's bindings
 * (`core`) that returns the chunk's exports, and leaves in its place a module that takes them from
 * loadRuntime(): whoever imports a runtime module (wirelock/register, the CLI, a module path) gets
 * the one instance index.js's lockdown() gets too.
 */
function splitRuntime() {
  const runtimeChunk = output.find((file) => file.type === 'chunk' && file.name === 'runtime');
  const startChunk = output.find((file) => file.type === 'chunk' && file.name === 'start');
  const loaderFacade = output.find((file) => file.type === 'chunk' && file.fileName === 'runtime/deferred.js');
  if (!runtimeChunk || !startChunk || !loaderFacade) fail('no runtime chunk, start chunk or runtime/deferred.js');
  const startImport = `./${startChunk.fileName.slice('chunks/'.length)}`;
  if (startChunk.imports.includes(runtimeChunk.fileName)) fail('the start chunk imports the runtime chunk: it would load at every start');
  let code = runtimeChunk.code;
  const imported = [];
  code = code.replace(/^import (?:\{([^}]*)\} from )?'([^']+)';\n/gm, (_, clause, from) => {
    if (from !== startImport) fail(`the runtime chunk imports ${from}: only the start chunk can be handed to it`);
    if (clause) imported.push(...specifiers(clause));
    return '';
  });
  let exported;
  code = code.replace(/^export \{([^}]*)\};\n?/m, (_, clause) => {
    exported = specifiers(clause).map(([local, name]) => [name, local]);
    return '';
  });
  if (!exported) fail('the runtime chunk exports nothing');
  if (/^(?:import|export)\b/m.test(code)) fail('the runtime chunk has an import or export the split does not handle');
  if (/\bimport\.meta\b(?!\.url\b)/.test(code)) fail('the runtime chunk uses import.meta beyond import.meta.url');
  code = code.replace(/\bimport\.meta\.url\b/g, 'importMetaUrl');
  // import() becomes the loader's importModule (no compiled function can import() on its own); each
  // must be a call in the code, which the build cannot tell from text: the known one is checked.
  const dynamicImports = code.match(/\bimport\(/g)?.length ?? 0;
  if (dynamicImports !== 1 || !code.includes('(await import(id))')) fail(`the runtime chunk has ${dynamicImports} import( where the build expects the loader check's one: check each and update this`);
  code = code.replace(/\bimport\(/g, 'importModule(');
  // The start chunk's own names for what the runtime imports. Each must be a binding that never
  // changes (const, function, class): the body takes the values once.
  const startExports = new Map();
  for (const match of startChunk.code.matchAll(/^export \{([^}]*)\};$/gm)) for (const [local, name] of specifiers(match[1])) startExports.set(name, local);
  const bindings = imported.map(([name, local]) => {
    const own = startExports.get(name);
    if (!own) fail(`the start chunk does not export ${name}`);
    if (!isConstantBinding(startChunk.code, own)) fail(`${own} (start chunk) is not a const, function or class: the runtime would keep a stale copy`);
    return `${JSON.stringify(name)}: ${own}`;
  });
  if (!startChunk.code.includes(CORE_PLACEHOLDER)) fail('the runtime loader is not in the start chunk');
  startChunk.code = startChunk.code.replace(CORE_PLACEHOLDER, `{ ${bindings.join(', ')} }`);
  // The public names of what loadRuntime() returns, as runtime/index.js's module path re-exports them.
  const indexFacade = output.find((file) => file.type === 'chunk' && file.fileName === 'runtime/index.js');
  const fromRuntime = new RegExp(`^export \\{([^}]*)\\} from '\\.\\./${runtimeChunk.fileName.replace(/[.$]/g, '\\$&')}';$`, 'm').exec(indexFacade?.code ?? '');
  const publicNames = new Map(fromRuntime ? specifiers(fromRuntime[1]).map(([name, publicName]) => [publicName, name]) : []);
  const api = RUNTIME_API.map((publicName) => {
    if (!publicNames.has(publicName)) fail(`runtime/index.js does not export ${publicName} from the runtime chunk`);
    return `${publicName}: exported[${JSON.stringify(publicNames.get(publicName))}]`;
  });
  if (!startChunk.code.includes(API_PLACEHOLDER)) fail('the runtime loader is not in the start chunk');
  startChunk.code = startChunk.code.replace(API_PLACEHOLDER, `{ ${api.join(', ')} }`);
  const destructure = imported.map(([name, local]) => (name === local ? name : `${JSON.stringify(name)}: ${local}`)).join(', ');
  const body = `(function (core, importMetaUrl, importModule) {\n'use strict';\nconst { ${destructure} } = core;\n${code}\nreturn { ${exported.map(([name, local]) => `${JSON.stringify(name)}: ${local}`).join(', ')} };\n})\n`;
  // loadRuntime as the start chunk exports it (runtime/deferred.js re-exports it under its own name).
  const loaderName = /\{([^}]*)\}/.exec(loaderFacade.code)?.[1];
  const loadRuntimeName = loaderName && specifiers(loaderName).find(([, name]) => name === 'loadRuntimeChunk')?.[0];
  if (!loadRuntimeName) fail('runtime/deferred.js does not export loadRuntimeChunk');
  const names = exported.map(([name]) => name);
  if (names.includes('default')) fail('the runtime chunk has a default export');
  runtimeChunk.code =
    `import { ${loadRuntimeName} as loadRuntimeChunk } from '${startImport}';\n` +
    `const runtime = loadRuntimeChunk();\n` +
    `export const ${names.map((name) => `${name} = runtime[${JSON.stringify(name)}]`).join(', ')};\n`;
  return body;
}
const runtimeBody = splitRuntime();

/**
 * Turns the start chunk into START_BODY, a script whose value is a function that runs the chunk's
 * code and returns its exports, and leaves in its place a small ES module that compiles it with its
 * code cache (scripts/code-cache.mjs made it; V8 then skips compiling most of the ~180 KB at every
 * start) and re-exports the values: the entries, the other chunks and the module paths import that
 * module as before, so the code runs once and its state exists once.
 */
function splitStart() {
  const startChunk = output.find((file) => file.type === 'chunk' && file.name === 'start');
  let code = startChunk.code;
  // Node's process object (builtins.ts): only the module loader hands out the real one
  // (globalThis.process can be replaced), so the wrapper imports it and hands it to the body.
  let processLocal = '__wirelockProcess';
  code = code.replace(/^import (\w+) from 'node:process';\n/m, (_, local) => {
    processLocal = local;
    return '';
  });
  if (/^import\b/m.test(code)) fail('the start chunk imports a module: the start body has no imports (hand the value in or load it lazily)');
  const exported = [];
  code = code.replace(/^export \{([^}]*)\};\n?/gm, (_, clause) => {
    exported.push(...specifiers(clause).map(([local, name]) => [name, local]));
    return '';
  });
  if (exported.length === 0) fail('the start chunk exports nothing');
  if (/^(?:import|export)\b/m.test(code)) fail('the start chunk has an import or export the split does not handle');
  // The module re-exports values, not live bindings: each must be a binding that never changes.
  for (const [name, local] of exported) {
    if (name === 'default') fail('the start chunk has a default export');
    if (!isConstantBinding(code, local)) fail(`${local} (start chunk, exported as ${name}) is not a const, function or class: the re-export would keep a stale copy`);
  }
  if (/\bimport\.meta\b(?!\.url\b)/.test(code)) fail('the start chunk uses import.meta beyond import.meta.url');
  code = code.replace(/\bimport\.meta\.url\b/g, 'importMetaUrl');
  const dynamicImports = code.match(/\bimport\(/g)?.length ?? 0;
  if (dynamicImports !== 0) fail(`the start chunk has ${dynamicImports} import(: compiled code cannot import(, use ${START_IMPORT}`);
  if (!code.includes(`${START_IMPORT}(`)) fail('the runtime loader is not in the start chunk');
  const body = `(function (importMetaUrl, ${START_IMPORT}, ${processLocal}, ${RUNTIME_DIGESTS}) {\n'use strict';\n${code}\nreturn { ${exported.map(([name, local]) => `${JSON.stringify(name)}: ${local}`).join(', ')} };\n})\n`;
  const bodyFile = START_BODY.slice('chunks/'.length);
  startChunk.code = `import nodeProcess from 'node:process';
const { readFileSync } = nodeProcess.getBuiltinModule('node:fs');
const { hash, timingSafeEqual } = nodeProcess.getBuiltinModule('node:crypto');
const { Script } = nodeProcess.getBuiltinModule('node:vm');
const { fileURLToPath } = nodeProcess.getBuiltinModule('node:url');
const bodyUrl = new URL(${JSON.stringify(`./${bodyFile}`)}, import.meta.url).href;
const source = readFileSync(fileURLToPath(bodyUrl), 'utf8');
${readCodeCacheSource}
const cachedData = readCodeCache(fileURLToPath(new URL(${cacheUrl(START_BODY)}, import.meta.url)));
let script;
if (cachedData) {
  try {
    script = new Script(source, { filename: bodyUrl, cachedData });
  } catch {}
}
script ??= new Script(source, { filename: bodyUrl });
// What the runtime loader checks the runtime body and its code cache against (scripts/bundle.mjs).
const runtimeDigests = Object.freeze({ __proto__: null, body: '${BODY_DIGEST_PLACEHOLDER}', cache: '${CACHE_DIGEST_PLACEHOLDER}' });
const exported = script.runInThisContext()(import.meta.url, (specifier) => import(specifier), nodeProcess, runtimeDigests);
export const { ${exported.map(([name]) => name).join(', ')} } = exported;
`;
  return body;
}
const startBody = splitStart();

// tsc's one-file-per-module output is replaced by the bundle: a module left beside it could be
// loaded by path as a second copy with its own state.
for (const file of jsFiles(dist)) rmSync(file);
for (const file of output) {
  const path = join(dist, file.fileName);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.type === 'chunk' ? file.code : file.source);
}
const locationChunk = output.find((file) => file.type === 'chunk' && file.moduleIds.includes(locationFile));
if (!locationChunk?.fileName.startsWith('chunks/') || locationChunk.fileName.split('/').length !== 2) fail('location.js is not in a chunk directly under dist/chunks/: its package root would be wrong');
writeFileSync(join(dist, RUNTIME_BODY), runtimeBody);
writeFileSync(join(dist, START_BODY), startBody);
writeFileSync(
  join(dist, SUFFIX_LIST),
  `# The Public Suffix List (MPL-2.0, https://publicsuffix.org) as src/policy/public-suffixes.ts holds it; the next line is every rule.\n${PUBLIC_SUFFIX_RULES}\n`,
);
// Which of tsc's modules each file holds (tests check what an entry loads; people debugging read it).
// The runtime modules are listed under the module that hands them out (loaded through the module
// loader) and under RUNTIME_BODY, which holds their code.
const manifest = Object.fromEntries(
  output.filter((file) => file.type === 'chunk').map((file) => [file.fileName, file.moduleIds.filter((id) => id.startsWith(dist)).map((id) => relative(dist, id))]),
);
manifest[RUNTIME_BODY] = manifest[output.find((file) => file.type === 'chunk' && file.name === 'runtime').fileName];
manifest[START_BODY] = manifest[output.find((file) => file.type === 'chunk' && file.name === 'start').fileName];
writeFileSync(join(dist, 'modules.json'), `${JSON.stringify(manifest, null, 1)}\n`);
// The code caches (scripts/code-cache.mjs), made by this Node in a process of its own that loads the
// package as an app does: without NODE_OPTIONS, whose V8 flags would make the caches an app rejects.
// The runtime body's digest goes into the start chunk's module first (the loader refuses a body
// without one), the cache's once it exists; until then the runtime compiles from source. The module
// is compiled from source at every start (no V8 cache of it exists), so rewriting it is safe.
const startModule = join(dist, output.find((file) => file.type === 'chunk' && file.name === 'start').fileName);
const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const fillDigest = (placeholder, digest) => {
  const text = readFileSync(startModule, 'utf8');
  if (text.split(placeholder).length !== 2) fail(`${placeholder} is not in ${startModule} exactly once`);
  writeFileSync(startModule, text.replace(placeholder, digest));
};
fillDigest(BODY_DIGEST_PLACEHOLDER, sha256(readFileSync(join(dist, RUNTIME_BODY))));
const { NODE_OPTIONS: _, ...cacheEnv } = process.env;
const cached = spawnSync(process.execPath, [join(root, 'scripts/code-cache.mjs')], { env: cacheEnv, stdio: 'inherit' });
if (cached.status !== 0) fail(`scripts/code-cache.mjs failed (${cached.status ?? cached.signal})`);
const runtimeCache = readFileSync(join(dist, RUNTIME_BODY.replace(/\.js$/, `.${process.arch}.v8.cache`)));
// The file is the SHA-256 of the V8 data, then the data (scripts/code-cache.mjs).
if (runtimeCache.length <= 32 || sha256(runtimeCache.subarray(32)) !== runtimeCache.subarray(0, 32).toString('hex')) fail('the runtime body cache is not what scripts/code-cache.mjs writes');
fillDigest(CACHE_DIGEST_PLACEHOLDER, runtimeCache.subarray(0, 32).toString('hex'));
const chunks = output.filter((file) => file.fileName.startsWith('chunks/')).length;
console.log(`bundle: ${ENTRIES.length} entries (+${facades.length} module paths), ${chunks} chunks in dist/chunks/ (${relative(root, dist)})`);
