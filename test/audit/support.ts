// Helpers shared by the audit tests.
import { cpSync, mkdtempSync, readdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURES = join(process.cwd(), 'test', 'fixtures', 'audit');
export const OSV_VECTORS = join(process.cwd(), 'test', 'vectors', 'osv', 'npm');

/** Copies the installed-project fixture to a temp dir, with modules/ as node_modules/ (git ignores that name). */
export function installedProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wl-installed-'));
  const source = join(FIXTURES, 'installed');
  cpSync(join(source, 'package.json'), join(dir, 'package.json'));
  cpSync(join(source, 'package-lock.json'), join(dir, 'package-lock.json'));
  cpSync(join(source, 'modules'), join(dir, 'node_modules'), { recursive: true });
  const rename = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      let path = join(at, entry.name);
      if (entry.name === '_node_modules') {
        renameSync(path, join(at, 'node_modules'));
        path = join(at, 'node_modules');
      }
      rename(path);
    }
  };
  rename(join(dir, 'node_modules'));
  return dir;
}
