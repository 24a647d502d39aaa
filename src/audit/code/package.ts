/**
 * One installed package, read as a whole: every JavaScript file analysed, the install scripts
 * followed to the files they run (and those files' relative imports), shipped native binaries
 * listed. The result is plain data, so it can be cached by the package's integrity.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join, posix } from 'node:path';
import { scanSource } from '../heuristics.js';
import { analyzeCommand, analyzeSource, type CodeHookHit, type Evidence, type FileFacts } from './analyze.js';

/** Bump when the analysis changes: cached results of an older analyzer are not reused. */
export const ANALYZER_VERSION = 4;

export interface FileEvidence extends Evidence {
  /** Path inside the package ("lib/index.js"), or "package.json" for a script. */
  file: string;
}

export interface FileHook extends CodeHookHit {
  file: string;
}

export interface PackageCode {
  analyzer: number;
  files: number;
  bytes: number;
  /** Files the parser could not read (they got the line scanner instead). */
  unparsed: string[];
  /** Per file: what it does and which relative modules it loads. Files with nothing are left out. */
  facts: Record<string, { evidence: Evidence[]; hooks: CodeHookHit[] }>;
  imports: Record<string, string[]>;
  /** Native executables and addons shipped in the package. */
  binaries: string[];
  install: {
    scripts: Record<string, string>;
    /** Files the scripts run, and everything they load from the package. */
    files: string[];
    /** Evidence from the script text itself (inline `node -e`, curl, a shipped binary run). */
    evidence: FileEvidence[];
  };
  /** Files a consumer loads (main, exports, bin, and the test/fixture files those load): never "context", even in a test folder. */
  entries: string[];
}

export const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;
/** npm runs these when it installs a git, file or tarball dependency (it builds the package from source). */
export const PREPARE_SCRIPTS = ['preprepare', 'prepare', 'postprepare'] as const;

export interface AnalyzeOptions {
  /** The package came from git, a folder or a tarball: its prepare scripts run at install. */
  prepare?: boolean;
}
const JS_FILE = /\.(?:c|m)?js$/;
const BINARY_FILE = /\.(?:node|exe|dll|so|dylib|bin|elf|msi|scr)$/i;
/** What bundlers let a module import that Node would not run as JavaScript. */
const NOT_CODE = /\.(?:json|node|wasm|css|scss|sass|less|styl|svg|png|jpe?g|gif|webp|ico|html?|md|ts|tsx|jsx|vue|svelte|graphql|gql|woff2?|ttf|eot)$/i;
const MAX_PARSE_BYTES = 8 * 1024 * 1024;
const MAX_FILE_BYTES = 32 * 1024 * 1024;

function listFiles(dir: string, prefix = '', out: string[] = []): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      listFiles(join(dir, entry.name), `${prefix}${entry.name}/`, out);
    } else if (entry.isFile()) out.push(`${prefix}${entry.name}`);
  }
  return out;
}

function manifestOf(dir: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function entriesOf(manifest: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === 'string') out.add(posix.normalize(value.replace(/^\.\//, '')));
    else if (value && typeof value === 'object') for (const v of Object.values(value)) add(v);
  };
  add(manifest.main ?? 'index.js');
  add(manifest.bin);
  add(manifest.exports);
  add(manifest.module);
  return [...out];
}

/** The package's files a script runs: `node x.js`, `node -e`, `npm run other`, `./bin/setup`, `sh x.sh`. */
function scriptTargets(
  script: string,
  scripts: Record<string, unknown>,
  files: Set<string>,
  main: unknown,
  depth = 0,
): { js: string[]; shell: string[]; binaries: string[]; inline: string[]; commands: string[] } {
  const out = { js: [] as string[], shell: [] as string[], binaries: [] as string[], inline: [] as string[], commands: [] as string[] };
  if (depth > 3) return out;
  const inline = /\bnode(?:\.exe)?\s+(?:--?[\w-]+(?:=\S+)?\s+)*(?:-e|--eval|-p|--print)\s+(?:"((?:[^"\\]|\\.)*)"|'([^']*)')/g;
  for (const m of script.matchAll(inline)) out.inline.push((m[1] ?? m[2] ?? '').replace(/\\(["\\])/g, '$1'));
  for (const command of script.split(/&&|\|\||;|\||\n/)) {
    const words = command.trim().split(/\s+/).filter(Boolean);
    if (words.length === 0) continue;
    while (words.length && /^(?:[A-Z_][A-Z0-9_]*=\S*|env|cross-env|start|cmd|\/c|\/b|exec|sudo|nohup)$/i.test(words[0]!)) words.shift();
    const [program, ...rest] = words;
    if (!program) continue;
    const clean = (w: string) => posix.normalize(w.replace(/^['"]|['"]$/g, '').replace(/^\.\//, ''));
    if (/^(?:node|nodejs|node\.exe|tsx|ts-node)$/.test(program)) {
      const file = rest.find((w) => !w.startsWith('-'));
      if (file && !/^-/.test(file)) {
        // `node .` runs the package's main file.
        const name = clean(file) === '.' ? posix.normalize(String(main ?? 'index.js').replace(/^\.\//, '')) : clean(file);
        const resolved = [name, `${name}.js`, `${name}.cjs`, `${name}.mjs`, `${name}/index.js`].find((f) => files.has(f));
        if (resolved) out.js.push(resolved);
      }
      continue;
    }
    if (/^(?:npm|yarn|pnpm|bun)$/.test(program)) {
      const name = rest[0] === 'run' || rest[0] === 'run-script' ? rest[1] : rest[0];
      const other = name ? scripts[name] : undefined;
      if (typeof other === 'string') {
        // `npm run setup` runs setup's text at install as surely as the install script's own.
        out.commands.push(other);
        const nested = scriptTargets(other, scripts, files, main, depth + 1);
        for (const key of Object.keys(out) as Array<keyof typeof out>) out[key].push(...nested[key]);
      }
      continue;
    }
    if (/^(?:sh|bash|zsh|dash|powershell|pwsh)(?:\.exe)?$/i.test(program)) {
      const file = rest.find((w) => !w.startsWith('-'));
      if (file && files.has(clean(file))) out.shell.push(clean(file));
      continue;
    }
    const name = clean(program);
    if (files.has(name)) (JS_FILE.test(name) ? out.js : /\.(?:sh|bash|ps1|bat|cmd)$/i.test(name) ? out.shell : out.binaries).push(name);
  }
  return out;
}

/** The commands a .gyp file runs while node-gyp builds: `<!(cmd)`, `<!@(cmd)` expansions and `"action"` lists, with their lines. */
export function gypCommands(text: string): Array<{ command: string; line: number }> {
  const out: Array<{ command: string; line: number }> = [];
  for (const m of text.matchAll(/['"]action['"]\s*:\s*\[([^\]]*)\]/g)) {
    const words = [...m[1]!.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((w) => w[1] ?? w[2] ?? '');
    if (words.length) out.push({ command: words.join(' '), line: text.slice(0, m.index).split('\n').length });
  }
  for (let at = text.indexOf('<!'); at >= 0 && out.length < 64; at = text.indexOf('<!', at + 2)) {
    const open = text[at + 2] === '@' ? at + 3 : at + 2;
    if (text[open] !== '(') continue;
    let depth = 0;
    let end = open;
    for (; end < text.length; end++) {
      if (text[end] === '(') depth++;
      else if (text[end] === ')' && --depth === 0) break;
    }
    out.push({ command: text.slice(open + 1, end), line: text.slice(0, at).split('\n').length });
  }
  return out;
}

function resolveImport(from: string, spec: string, files: Set<string>): string | undefined {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  if (base.startsWith('..')) return undefined;
  // require('./locale.txt') runs that file as JavaScript whatever its name: analyse it as code.
  if (files.has(base) && !NOT_CODE.test(base)) return base;
  return [`${base}.js`, `${base}.cjs`, `${base}.mjs`, `${base}/index.js`, `${base}/index.cjs`, `${base}/index.mjs`].find((f) => files.has(f) && JS_FILE.test(f));
}

function isNativeBinary(path: string): boolean {
  try {
    const buffer = readFileSync(path).subarray(0, 4);
    const magic = buffer.toString('hex');
    return magic === '7f454c46' || magic.startsWith('4d5a') || ['feedface', 'feedfacf', 'cefaedfe', 'cffaedfe', 'cafebabe'].includes(magic);
  } catch {
    return false;
  }
}

/**
 * Byte-identical files (the same dependency vendored twice, copies in dist/ and lib/) are analysed
 * once per thread. Bounded so a huge tree does not keep every result.
 */
const seen = new Map<string, FileFacts>();

function analyzeFile(text: string, file: string, moduleType: boolean): FileFacts {
  if (text.length < 2048) return analyzeFileOnce(text, file, moduleType);
  const key = `${file.endsWith('.mjs') || moduleType ? 'm' : 's'}${createHash('sha1').update(text).digest('base64')}`;
  const known = seen.get(key);
  if (known) return known;
  const facts = analyzeFileOnce(text, file, moduleType);
  if (seen.size > 20_000) seen.clear();
  seen.set(key, facts);
  return facts;
}

function analyzeFileOnce(text: string, file: string, moduleType: boolean): FileFacts {
  const size = text.length;
  if (size <= MAX_PARSE_BYTES) {
    const facts = analyzeSource(text, { module: file.endsWith('.mjs') || (moduleType && !file.endsWith('.cjs')) });
    if (facts.parsed) return facts;
    return { ...lineScan(text), parsed: false, parseError: facts.parseError };
  }
  return { ...lineScan(text), parsed: false, parseError: `larger than ${MAX_PARSE_BYTES / 1048576} MB: line scan only` };
}

/** The line scanner stands in where the parser cannot go: hooks are still reported. */
function lineScan(text: string): Pick<FileFacts, 'evidence' | 'hooks' | 'imports'> {
  return { evidence: [], hooks: scanSource(text), imports: [] };
}

/** Reads and analyses one installed package (its own files, not its nested node_modules). */
export function analyzePackageDir(dir: string, options: AnalyzeOptions = {}): PackageCode {
  const manifest = manifestOf(dir);
  const moduleType = manifest.type === 'module';
  const all = listFiles(dir);
  const fileSet = new Set(all);
  const scripts = (typeof manifest.scripts === 'object' && manifest.scripts !== null ? manifest.scripts : {}) as Record<string, unknown>;
  const installScripts: Record<string, string> = {};
  for (const name of [...INSTALL_SCRIPTS, ...(options.prepare ? PREPARE_SCRIPTS : [])]) if (typeof scripts[name] === 'string') installScripts[name] = scripts[name] as string;
  const gyp = installScripts.install === undefined && installScripts.preinstall === undefined && fileSet.has('binding.gyp');
  if (gyp) installScripts.install = 'node-gyp rebuild (implicit: binding.gyp)';

  const installEvidence: FileEvidence[] = [];
  const installEntries = new Set<string>();
  const extraJs = new Set<string>();
  for (const [name, script] of Object.entries(installScripts)) {
    for (const ev of analyzeCommand(script)) installEvidence.push({ ...ev, file: 'package.json', detail: `${name}: ${ev.detail}` });
    const targets = scriptTargets(script, scripts, fileSet, manifest.main);
    for (const command of targets.commands) for (const ev of analyzeCommand(command)) installEvidence.push({ ...ev, file: 'package.json', detail: `${name} (npm run): ${ev.detail}` });
    for (const code of targets.inline) {
      const facts = analyzeSource(code, { module: false, precise: true });
      for (const ev of facts.evidence) installEvidence.push({ ...ev, file: 'package.json', line: 1, detail: `${name} (node -e): ${ev.detail}` });
      // What the inline code loads runs at install too: node -e "import('./scripts/postinstall.js')".
      for (const spec of facts.imports) {
        const file = resolveImport('index.js', spec, fileSet);
        if (file) {
          installEntries.add(file);
          extraJs.add(file);
        }
      }
    }
    for (const file of targets.js) {
      installEntries.add(file);
      extraJs.add(file);
    }
    for (const file of targets.shell) {
      installEvidence.push({ capability: 'child-process', signal: 'spawn-shipped', file: 'package.json', line: 1, column: 1, detail: `${name} runs the shipped script ${file}`, snippet: script.slice(0, 160) });
      try {
        for (const ev of analyzeCommand(readFileSync(join(dir, file), 'utf8'))) installEvidence.push({ ...ev, file });
      } catch {
        // unreadable script file: the script text itself was analysed
      }
    }
    for (const file of targets.binaries) installEvidence.push({ capability: 'child-process', signal: 'spawn-shipped', file: 'package.json', line: 1, column: 1, detail: `${name} runs ${file}, shipped with the package`, snippet: script.slice(0, 160) });
  }
  // node-gyp runs a .gyp file's <!(command) and <!@(command) expansions while it builds, at install.
  for (const gypFile of all.filter((f) => /(?:^|\/)[^/]+\.gypi?$/.test(f)).slice(0, 16)) {
    if (Object.keys(installScripts).length === 0) break;
    let text: string;
    try {
      text = readFileSync(join(dir, gypFile), 'utf8');
    } catch {
      continue;
    }
    for (const { command, line } of gypCommands(text)) {
      for (const ev of analyzeCommand(command)) installEvidence.push({ ...ev, file: gypFile, line, detail: `node-gyp <!(...): ${ev.detail}` });
    }
  }

  const facts: PackageCode['facts'] = {};
  const imports: PackageCode['imports'] = {};
  const unparsed: string[] = [];
  const binaries: string[] = [];
  let bytes = 0;
  let files = 0;
  const analysed = new Set<string>();
  const pending: string[] = [];
  const visit = (file: string, imported: boolean) => {
    const path = join(dir, file);
    if (BINARY_FILE.test(file) || (/(?:^|\/)(?:bin|build|prebuilds?|vendor)\//.test(file) && !/\.[a-z0-9]{1,5}$/i.test(file) && !JS_FILE.test(file))) {
      if (!imported && isNativeBinary(path)) binaries.push(file);
      return;
    }
    if (!imported && !JS_FILE.test(file) && !extraJs.has(file)) return;
    if (analysed.has(file)) return;
    analysed.add(file);
    let text: string;
    try {
      if (statSync(path).size > MAX_FILE_BYTES) {
        unparsed.push(file);
        return;
      }
      text = readFileSync(path, 'utf8');
    } catch {
      return;
    }
    files++;
    bytes += text.length;
    let result: FileFacts;
    try {
      result = analyzeFile(text, file, moduleType);
    } catch (error) {
      // An analyser bug on one odd file must not end the audit: that file gets the line scanner.
      result = { ...lineScan(text), parsed: false, parseError: `analysis failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (!result.parsed) unparsed.push(file);
    if (result.evidence.length || result.hooks.length) facts[file] = { evidence: result.evidence, hooks: result.hooks };
    const resolved = result.imports.map((spec) => resolveImport(file, spec, fileSet)).filter((f): f is string => f !== undefined);
    if (resolved.length) imports[file] = resolved;
    for (const next of resolved) if (!analysed.has(next)) pending.push(next);
  };
  for (const file of all) visit(file, false);
  while (pending.length) visit(pending.pop()!, true);

  // What the install scripts run: their files and every relative module those load.
  const closure = (starts: Iterable<string>): Set<string> => {
    const reached = new Set<string>();
    const queue = [...starts];
    while (queue.length) {
      const file = queue.pop()!;
      if (reached.has(file)) continue;
      reached.add(file);
      for (const next of imports[file] ?? []) queue.push(next);
    }
    return reached;
  };
  const reached = closure(installEntries);
  // What a consumer loads is the entry points and every relative module they load: a test/ file the
  // main file requires runs like any other.
  const entryFiles = entriesOf(manifest)
    .map((f) => [f, `${f}.js`, `${f}.cjs`, `${f}.mjs`, `${f}/index.js`].find((c) => fileSet.has(c)))
    .filter((f): f is string => f !== undefined);
  const loaded = closure(entryFiles);

  return {
    analyzer: ANALYZER_VERSION,
    files,
    bytes,
    unparsed,
    facts,
    imports,
    binaries,
    install: { scripts: installScripts, files: [...reached].sort(), evidence: installEvidence },
    entries: [...new Set([...entriesOf(manifest).filter((f) => fileSet.has(f) || fileSet.has(`${f}.js`)), ...[...loaded].filter((f) => CONTEXT_PATH.test(f))])],
  };
}

/** Folders whose files are tests, fixtures, examples or docs: context for a reader, not alarms. */
export const CONTEXT_PATH = /(?:^|\/)(?:test|tests|__tests__|__mocks__|__fixtures__|spec|specs|fixtures?|examples?|demo|demos|benchmarks?|bench|docs?|\.github)\/|\.(?:test|spec)\.[cm]?js$|\.d\.[cm]?ts$/i;

export function isContextFile(code: PackageCode, file: string): boolean {
  return CONTEXT_PATH.test(file) && !code.install.files.includes(file) && !code.entries.includes(file);
}

export function hasFile(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}
