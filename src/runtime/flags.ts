/**
 * Node command-line and NODE_OPTIONS parsing, pure. Only the flags that matter for interception
 * are interpreted; the rest are kept as they are.
 */

const VALUE_FLAGS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-e',
  '--eval',
  '-p',
  '--print',
  '--inspect-port',
  '--debug-port',
  '--env-file',
  '--conditions',
  '-C',
  '--input-type',
  '--title',
  '--stack-size',
]);

/** Splits NODE_OPTIONS the way Node does: whitespace-separated, double quotes group, backslash escapes in quotes. */
export function splitNodeOptions(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  let current = '';
  let inQuotes = false;
  let started = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (inQuotes && char === '\\' && i + 1 < value.length) {
      current += value[++i];
    } else if (char === '"') {
      inQuotes = !inQuotes;
      started = true;
    } else if (!inQuotes && /\s/.test(char)) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

/** The node flags of a full command line (argv[0] excluded): everything before the script or `--`. */
export function nodeFlagsOfCommandLine(args: string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--' || !arg.startsWith('-') || arg === '-') break;
    flags.push(arg);
    if (VALUE_FLAGS.has(arg) && i + 1 < args.length) flags.push(args[++i]!);
  }
  return flags;
}

export interface ParsedFlags {
  preloads: Array<{ flag: string; value: string }>;
  inspect: string[];
  keylog: string[];
  caStore: string[];
  useEnvProxy: boolean;
  all: string[];
}

export function interpretFlags(flags: string[]): ParsedFlags {
  const parsed: ParsedFlags = { preloads: [], inspect: [], keylog: [], caStore: [], useEnvProxy: false, all: flags };
  for (let i = 0; i < flags.length; i++) {
    const arg = flags[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => inline ?? flags[++i] ?? '';
    switch (name) {
      case '-r':
      case '--require':
      case '--import':
      case '--loader':
      case '--experimental-loader':
        parsed.preloads.push({ flag: name === '-r' ? '--require' : name, value: takeValue() });
        break;
      case '--inspect':
      case '--inspect-brk':
      case '--inspect-wait':
      case '--inspect-brk-node':
      case '--debug':
      case '--debug-brk':
        parsed.inspect.push(arg);
        break;
      case '--tls-keylog':
        parsed.keylog.push(inline ?? '');
        break;
      case '--use-system-ca':
      case '--use-openssl-ca':
        parsed.caStore.push(name);
        break;
      case '--use-env-proxy':
        parsed.useEnvProxy = true;
        break;
      default:
        if (VALUE_FLAGS.has(name) && inline === undefined) i++;
    }
  }
  return parsed;
}

/** NUL-separated KEY=VALUE pairs (/proc/self/environ) to a record. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/**
 * wirelock's own preload is never a finding: the package specifier, or a path that resolves to one
 * of `ownPaths` (the register module of this very installation).
 */
export function isWirelockRegister(value: string, ownPaths: readonly string[], resolvePath: (value: string) => string): boolean {
  if (value === 'wirelock/register') return true;
  try {
    const resolved = resolvePath(value.startsWith('file://') ? new URL(value).pathname : value);
    return ownPaths.includes(resolved);
  } catch {
    return false;
  }
}
