/**
 * The JavaScript parser, loaded on first use. meriyah (pure JavaScript, no dependencies, no install
 * script) is only needed by the installed-code analysis: `import 'wirelock'` and the enforcement
 * core must never load it, so it is required lazily here instead of imported at the top.
 */
import { createRequire } from 'node:module';

/** ESTree node as meriyah returns it (with `start`/`end` offsets). Loose on purpose: we walk any node. */
export interface AstNode {
  type: string;
  start: number;
  end: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

interface Meriyah {
  parseScript(source: string, options: Record<string, unknown>): AstNode;
  parseModule(source: string, options: Record<string, unknown>): AstNode;
}

let parser: Meriyah | undefined;

function load(): Meriyah {
  parser ??= createRequire(import.meta.url)('meriyah') as Meriyah;
  return parser;
}

// Offsets cost parse time; the first pass goes without them and a file is parsed again with them
// only when it has something a finding will point at. Only `start`/`end`: `ranges: true` also
// allocates a `[start, end]` array per node, which nothing reads.
const PLAIN = { next: true, webcompat: true, globalReturn: true, raw: true };
const RANGES = { ...PLAIN, ranges: { start: true, end: true } };

export type ParseOutcome = { ast: AstNode; error?: undefined } | { ast?: undefined; error: string };

/**
 * Node decides script or module by extension and package type; a scanner does not know the
 * package's intent, so it tries the likely goal first and the other one second. JSX is a last
 * resort for files Node itself could not run.
 */
export function parseSource(source: string, moduleFirst: boolean, ranges = false): ParseOutcome {
  const OPTIONS = ranges ? RANGES : PLAIN;
  const meriyah = load();
  const text = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const attempts: Array<() => AstNode> = moduleFirst
    ? [() => meriyah.parseModule(text, OPTIONS), () => meriyah.parseScript(text, OPTIONS)]
    : [() => meriyah.parseScript(text, OPTIONS), () => meriyah.parseModule(text, OPTIONS)];
  attempts.push(() => meriyah.parseModule(text, { ...OPTIONS, jsx: true }));
  let first: unknown;
  for (const attempt of attempts) {
    try {
      return { ast: attempt() };
    } catch (error) {
      first ??= error;
    }
  }
  return { error: first instanceof Error ? first.message : String(first) };
}
