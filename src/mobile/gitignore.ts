/**
 * Does a project's .gitignore keep a file out of the repository? Expo's templates ignore `*.pem`
 * (and `*.key`), so a policy's private CA is never committed and a fresh clone or a cloud build
 * cannot read it. A small reader of the rules git documents (gitignore(5)): comments, `!` negation,
 * anchored patterns (a `/` before the end), directory patterns (trailing `/`), `*`, `?`, `**`; the
 * last matching rule wins. Files under the project root only; nested .gitignore files are read on
 * the way down.
 */
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface IgnoreMatch {
  /** The .gitignore file and the rule that ignores the path. */
  file: string;
  rule: string;
}

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // "**/" matches zero or more directories; a trailing "**" everything below.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) out += `\\${glob[++i]!}`;
    else out += /[.+^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
  }
  return out;
}

/** Whether `pattern` (one .gitignore line, without `!`) matches `path` (relative, `/`-separated). */
function matches(pattern: string, path: string): boolean {
  let body = pattern;
  const directoryOnly = body.endsWith('/');
  if (directoryOnly) body = body.slice(0, -1);
  const anchored = body.includes('/');
  if (body.startsWith('/')) body = body.slice(1);
  const regex = new RegExp(`^${anchored ? '' : '(?:.*/)?'}${globToRegExp(body)}$`);
  const parts = path.split('/');
  // A pattern matching a parent directory ignores everything below it; a file pattern may also
  // match the file itself.
  for (let depth = 1; depth <= parts.length; depth++) {
    const isFile = depth === parts.length;
    if (isFile && directoryOnly) continue;
    if (regex.test(parts.slice(0, depth).join('/'))) return true;
  }
  return false;
}

export function gitIgnored(projectRoot: string, file: string): IgnoreMatch | undefined {
  const rel = relative(projectRoot, file);
  if (rel.startsWith('..') || rel === '') return undefined;
  const parts = rel.split(sep);
  let result: IgnoreMatch | undefined;
  for (let depth = 0; depth < parts.length; depth++) {
    const dir = join(projectRoot, ...parts.slice(0, depth));
    const ignoreFile = join(dir, '.gitignore');
    let text: string;
    try {
      text = readFileSync(ignoreFile, 'utf8');
    } catch {
      continue;
    }
    const path = parts.slice(depth).join('/');
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.replace(/(?<!\\)\s+$/, '');
      if (line === '' || line.startsWith('#')) continue;
      const negated = line.startsWith('!');
      if (matches(negated ? line.slice(1) : line, path)) result = negated ? undefined : { file: ignoreFile, rule: line };
    }
  }
  return result;
}

/** The line that re-includes `file` in the project's root .gitignore. */
export function reincludeRule(projectRoot: string, file: string): string {
  return `!/${relative(projectRoot, file).split(sep).join('/')}`;
}

