// Packs this checkout (dist/ is built by `npm test` first) and installs the tarball into an empty
// temp project, as a consumer gets the package. The project's own dependencies come from the npm cache
// (filled by `npm ci`), the registry only when the cache lacks them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const ROOT = new URL('../../', import.meta.url).pathname;
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

export interface Installed {
  /** The consumer project: node_modules/wirelock is the installed tarball. */
  project: string;
  packedFiles: string[];
  installLog: string;
  /** Runs this Node in the project with a minimal environment; never throws on a non-zero exit. */
  node(args: string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number }>;
  remove(): void;
}

export async function packAndInstall(): Promise<Installed> {
  const scratch = mkdtempSync(join(tmpdir(), 'wirelock-pack-'));
  // --ignore-scripts: prepack would rebuild dist/ under the other test files running beside this one.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: ROOT, env: NPM_ENV, maxBuffer: 64 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(packed);
  const project = join(scratch, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const install = await run('npm', ['install', '--prefer-offline', '--no-package-lock', join(scratch, packed.filename)], { cwd: project, env: NPM_ENV, maxBuffer: 16 * 1024 * 1024 });
  return {
    project,
    packedFiles: packed.files.map((file) => file.path),
    installLog: install.stdout + install.stderr,
    async node(args, env = {}) {
      try {
        const { stdout, stderr } = await run(process.execPath, args, { cwd: project, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), ...env } });
        return { stdout, stderr, code: 0 };
      } catch (error) {
        const failed = error as { stdout: string; stderr: string; code: number };
        return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
      }
    },
    remove() {
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
