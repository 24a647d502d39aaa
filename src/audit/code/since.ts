/**
 * Adapter for `--since`: the old lockfile from a path, or from a git ref (the lockfile as committed
 * there, read with `git show`, next to its package.json for formats that need the manifest).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { WirelockError } from '../../errors.js';
import { LOCKFILE_NAMES, readLockfile } from '../lockfile/read.js';
import type { LockGraph } from '../lockfile/model.js';

function gitShow(cwd: string, ref: string, file: string): string | undefined {
  try {
    return execFileSync('git', ['show', `${ref}:./${file}`], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return undefined;
  }
}

export function readSinceLockfile(spec: string, currentLockfile: string, cwd: string): LockGraph {
  const asPath = resolve(cwd, spec);
  if (existsSync(asPath)) {
    if (statSync(asPath).isDirectory() || (LOCKFILE_NAMES as readonly string[]).includes(basename(asPath))) return readLockfile(asPath);
    // A saved copy (old-lock.json): read it as the format of the current lockfile.
    const temp = mkdtempSync(join(tmpdir(), 'wirelock-since-'));
    try {
      copyFileSync(asPath, join(temp, basename(currentLockfile)));
      const manifest = join(dirname(currentLockfile), 'package.json');
      if (existsSync(manifest)) copyFileSync(manifest, join(temp, 'package.json'));
      return readLockfile(join(temp, basename(currentLockfile)));
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  }
  if (spec.startsWith('-') || /[\s\0]/.test(spec)) throw new WirelockError('ERR_USAGE', `--since ${JSON.stringify(spec)} is neither a lockfile nor a git ref`);
  const dir = dirname(currentLockfile);
  const name = basename(currentLockfile);
  const text = gitShow(dir, spec, name);
  if (text === undefined) throw new WirelockError('ERR_INPUT_INVALID', `--since ${spec}: no such file, and git has no ${name} at ref "${spec}" in ${dir}`, { file: currentLockfile });
  const temp = mkdtempSync(join(tmpdir(), 'wirelock-since-'));
  try {
    writeFileSync(join(temp, name), text);
    const manifest = gitShow(dir, spec, 'package.json');
    if (manifest !== undefined) writeFileSync(join(temp, 'package.json'), manifest);
    return readLockfile(join(temp, name));
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
