/**
 * Node command-line and NODE_OPTIONS parsing, pure. Only the flags that matter for interception
 * are interpreted; the rest are kept as they are.
 */

/**
 * Every Node option that takes its value as the next argument (`--flag value`), Node 20 and 24.
 * Where the flags end decides what counts as a flag at all: an option missing here made its value
 * look like the script, so every flag after it (a second `--import`) vanished from our reading of
 * the command line, and a preload could then rewrite process.execArgv to match that shorter list.
 * Taken from each version's own option table (`internal/options` getCLIOptionsInfo(): kString,
 * kStringList, kInteger, kUInteger, kHostPort); test/runtime/flags.test.ts compares it with the
 * running Node's table, so a Node that adds one fails the test. V8's options never take a separate
 * value (`--max-old-space-size 100` is refused), so they are not here. The union is exact for a
 * running process: an option of one version is refused outright by the other.
 */
const VALUE_OPTIONS: ReadonlySet<string> = new Set([
  '--allow-fs-read', '--allow-fs-write', '--build-snapshot-config', '--conditions', '--cpu-prof-dir',
  '--cpu-prof-interval', '--cpu-prof-name', '--diagnostic-dir', '--disable-proto', '--disable-warning',
  '--dns-result-order', '--env-file', '--env-file-if-exists', '--eval',
  '--experimental-default-type', '--experimental-loader', '--experimental-package-map',
  '--experimental-policy', '--experimental-sea-config', '--experimental-test-tag-filter', '--heap-prof-dir',
  '--heap-prof-interval', '--heap-prof-name', '--heapsnapshot-near-heap-limit', '--heapsnapshot-signal',
  '--icu-data-dir', '--import', '--input-type', '--inspect-port', '--inspect-publish-uid',
  '--localstorage-file', '--max-http-header-size', '--max-old-space-size-percentage',
  '--network-family-autoselection-attempt-timeout', '--openssl-config', '--policy-integrity',
  '--redirect-warnings', '--report-dir', '--report-filename', '--report-signal', '--require', '--run',
  '--secure-heap', '--secure-heap-min', '--security-revert', '--snapshot-blob', '--stack-trace-limit',
  '--test-concurrency', '--test-coverage-branches', '--test-coverage-exclude', '--test-coverage-functions',
  '--test-coverage-include', '--test-coverage-lines', '--test-global-setup', '--test-isolation',
  '--test-name-pattern', '--test-random-seed', '--test-reporter', '--test-reporter-destination',
  '--test-rerun-failures', '--test-shard', '--test-skip-pattern', '--test-timeout', '--title',
  '--tls-cipher-list', '--tls-keylog', '--trace-event-categories', '--trace-event-file-pattern',
  '--trace-require-module', '--unhandled-rejections', '--use-largepages', '--v8-pool-size',
  '--watch-kill-signal', '--watch-path',
  // Node's aliases that stand for one of the above (`--print <arg>` is Node's own alias for -pe).
  '-r', '-C', '-e', '-p', '-pe', '--print', '--loader', '--debug-port', '--security-reverts', '--report-directory',
  '--experimental-test-isolation',
]);

/** Node's other names for the options interpretFlags acts on. */
const ALIASES: Readonly<Record<string, string>> = {
  '-r': '--require',
  '--loader': '--experimental-loader',
  '-C': '--conditions',
  '-e': '--eval',
  '--debug-port': '--inspect-port',
};

/**
 * The option's name as Node reads it: `--tls_keylog=x` is `--tls-keylog` (Node accepts `_` for `-`
 * in the name of any `--` option), and an alias is the option it stands for.
 */
export function canonicalOption(arg: string): { name: string; inline: string | undefined } {
  if (!arg.startsWith('--')) return { name: ALIASES[arg] ?? arg, inline: undefined };
  const eq = arg.indexOf('=');
  const raw = eq > 0 ? arg.slice(0, eq) : arg;
  const name = raw.replaceAll('_', '-');
  return { name: ALIASES[name] ?? name, inline: eq > 0 ? arg.slice(eq + 1) : undefined };
}

// Not in VALUE_OPTIONS although Node's table types it as a string: Node 24 reads a bare
// `--experimental-config-file` as node.config.json and never takes the next argument as its value.
export const DEFAULT_CONFIG_FILE = 'node.config.json';

function takesNextArgument(arg: string): boolean {
  if (!arg.startsWith('-') || arg.includes('=')) return false;
  return VALUE_OPTIONS.has(arg.startsWith('--') ? arg.replaceAll('_', '-') : arg);
}

/**
 * Splits NODE_OPTIONS exactly as Node does (node_options.cc, ParseNodeOptionsEnvVar): only the space
 * character separates (a tab or a newline is part of the option: splitting on them let a value
 * option swallow a preload in our reading only); a double quote toggles quoting and never starts an
 * option by itself (`""` is nothing); a backslash escapes the next character inside quotes only.
 * test/runtime/flags.test.ts compares it with Node's own reading.
 */
export function splitNodeOptions(value: string | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  let inQuotes = false;
  let startsNew = true;
  for (let i = 0; i < value.length; i++) {
    let char = value[i]!;
    if (char === '\\' && inQuotes) {
      // Node refuses to start on a trailing escape; what came before is still what it would read.
      if (i + 1 === value.length) break;
      char = value[++i]!;
    } else if (char === ' ' && !inQuotes) {
      startsNew = true;
      continue;
    } else if (char === '"') {
      inQuotes = !inQuotes;
      continue;
    }
    if (startsNew) {
      out.push(char);
      startsNew = false;
    } else {
      out[out.length - 1] += char;
    }
  }
  return out;
}

/** The node flags of a full command line (argv[0] excluded): everything before the script or `--`. */
export function nodeFlagsOfCommandLine(args: string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--' || !arg.startsWith('-') || arg === '-') break;
    flags.push(arg);
    // Node's alias for --prof-process ends its own options: the rest belongs to the log processor.
    if (canonicalOption(arg).name === '--prof-process') break;
    if (takesNextArgument(arg) && i + 1 < args.length) flags.push(args[++i]!);
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
    const { name, inline } = canonicalOption(arg);
    const takeValue = (): string => inline ?? flags[++i] ?? '';
    switch (name) {
      case '--require':
      case '--import':
      case '--experimental-loader':
        parsed.preloads.push({ flag: name, value: takeValue() });
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
        parsed.keylog.push(takeValue());
        break;
      case '--use-system-ca':
      case '--use-openssl-ca':
        parsed.caStore.push(name);
        break;
      case '--use-env-proxy':
        parsed.useEnvProxy = true;
        break;
      default:
        if (inline === undefined && takesNextArgument(arg)) i++;
    }
  }
  return parsed;
}

/** NUL-separated KEY=VALUE pairs (/proc/self/environ) to a record. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    // getenv() answers with the first of two entries of one name: so must we.
    if (eq > 0 && !Object.hasOwn(env, entry.slice(0, eq))) env[entry.slice(0, eq)] = entry.slice(eq + 1);
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

/** Every value given to option `name` (canonical) in `flags`: `--name=value` or `--name value`. */
export function optionValues(flags: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const arg = flags[i]!;
    const option = canonicalOption(arg);
    if (option.name === name) {
      const value = option.inline ?? (takesNextArgument(arg) ? flags[i + 1] : undefined);
      if (value !== undefined) values.push(value);
    }
    if (option.inline === undefined && takesNextArgument(arg)) i++;
  }
  return values;
}

/**
 * The Node 24 config files this start reads (`--experimental-config-file[=file]`,
 * `--experimental-default-config-file`): their "nodeOptions" act like flags given before wirelock.
 */
export function configFilesOf(flags: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of flags) {
    const { name, inline } = canonicalOption(arg);
    if (name === '--experimental-config-file') files.push(inline ?? DEFAULT_CONFIG_FILE);
    if (name === '--experimental-default-config-file') files.push(DEFAULT_CONFIG_FILE);
  }
  return files;
}

/** A config file's "nodeOptions" as the flags they stand for; undefined when it is not JSON. */
export function flagsOfConfigFile(text: string): string[] | undefined {
  // Node accepts a byte-order mark; and where a key repeats Node keeps the first "nodeOptions" and
  // JSON.parse the last, so a file with two cannot be read the way Node read it.
  const json = text.replace(/^(?:\uFEFF|\u00EF\u00BB\u00BF)/, '');
  // A \u escape can spell "nodeOptions" a second time where no text search sees it.
  if ((json.match(/"nodeOptions"\s*:/g) ?? []).length > 1 || /\\u/i.test(json)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const options = (parsed as { nodeOptions?: unknown } | null)?.nodeOptions;
  if (options === undefined) return [];
  if (typeof options !== 'object' || options === null) return undefined;
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    const name = key.startsWith('-') ? key : `--${key}`;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === true) flags.push(name);
      else if (item !== false && item !== null) flags.push(`${name}=${String(item)}`);
    }
  }
  return flags;
}

/**
 * The NODE_OPTIONS values an env file (`--env-file`) assigns, read loosely on purpose: every
 * assignment counts, quoted or not, so a spelling Node accepts is not one we skip.
 */
export function nodeOptionsOfEnvFile(text: string): string[] {
  const values: string[] = [];
  const assignment = /^[ \t]*(?:export[ \t]+)?NODE_OPTIONS[ \t]*=[ \t]*/gm;
  for (let match = assignment.exec(text); match; match = assignment.exec(text)) {
    const rest = text.slice(match.index + match[0].length);
    const quote = rest[0];
    if (quote === '"' || quote === "'" || quote === '`') {
      const end = rest.indexOf(quote, 1);
      values.push(end < 0 ? rest.slice(1) : rest.slice(1, end));
    } else {
      values.push(rest.split('\n')[0]!.replace(/[ \t]+#.*$/, '').trim());
    }
  }
  return values;
}
