import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadPolicy } from '../policy/define.js';
import type { Policy } from '../policy/types.js';
import { definePolicy } from '../policy/define.js';
import type { CommandIo } from './command.js';

/**
 * The policy a command runs under: --policy, else $WIRELOCK_POLICY, else ./wirelock.json, else (only
 * where `fallback` allows) the built-in default: builtin roots, no pins, https only.
 */
export async function resolvePolicy(explicit: string | undefined, io: CommandIo, fallback: boolean): Promise<Policy | undefined> {
  const candidate = explicit ?? io.env.WIRELOCK_POLICY ?? (existsSync(resolve(io.cwd, 'wirelock.json')) ? 'wirelock.json' : undefined);
  if (candidate) return loadPolicy(resolve(io.cwd, candidate));
  return fallback ? definePolicy({ version: 1 }) : undefined;
}
