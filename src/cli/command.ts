import { parseArgs, type ParseArgsConfig } from 'node:util';
import { WirelockError } from '../errors.js';

/** Exit codes of every command: 0 ok/allowed, 1 blocked or violations found, 2 usage or input error. */
export const EXIT = { OK: 0, FINDINGS: 1, USAGE: 2 } as const;

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** parseArgs that turns its own errors into ERR_USAGE, so the CLI prints usage instead of a stack. */
export function parseCommandArgs<const T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true as const, strict: true as const });
  } catch (error) {
    throw new WirelockError('ERR_USAGE', (error as Error).message);
  }
}
