#!/usr/bin/env node
import { WirelockError } from '../errors.js';
import { codeExtension, codeRoot } from '../location.js';
import { VERSION } from '../version.js';
import { EXIT, type Command, type CommandIo } from './command.js';

/**
 * Commands are loaded lazily so `wirelock pin` does not pay for the lab or the audit database.
 * Each capability adds one line here and one module under ./commands.
 */
const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  audit: () => import('./commands/audit.js'),
  check: () => import('./commands/check.js'),
  collect: () => import('./commands/collect.js'),
  ct: () => import('./commands/ct.js'),
  env: () => import('./commands/env.js'),
  fetch: () => import('./commands/fetch.js'),
  generate: () => import('./commands/generate.js'),
  lab: () => import('./commands/lab.js'),
  pin: () => import('./commands/pin.js'),
  policy: () => import('./commands/policy.js'),
};

function usage(): string {
  return [
    `wirelock ${VERSION}`,
    '',
    'usage: wirelock <command> [options]',
    '',
    `commands: ${Object.keys(COMMANDS).sort().join(', ')}`,
    'Run `wirelock <command> --help` for a command\'s options.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name ? EXIT.OK : EXIT.USAGE;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${VERSION}\n`);
    return EXIT.OK;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`wirelock: unknown command '${name}'\n\n${usage()}`);
    return EXIT.USAGE;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return EXIT.OK;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof WirelockError) {
      io.stderr.write(`wirelock ${name}: ${error.code}: ${error.message}\n`);
      if (error.code === 'ERR_USAGE') io.stderr.write(`\n${command.usage}\n`);
      return EXIT.USAGE;
    }
    throw error;
  }
}

// By path, not import.meta.url: the build may move this module's code into a shared chunk.
const isEntryPoint = process.argv[1] && new URL(`cli/main${codeExtension}`, codeRoot).href === new URL(`file://${process.argv[1]}`).href;
if (isEntryPoint || process.argv[1]?.endsWith('/wirelock')) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`wirelock: internal error: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 70;
    },
  );
}
