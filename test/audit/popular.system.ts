// The installed tree of popular packages (npm install --ignore-scripts, from the npm registry):
// the installed-code analysis must stay quiet on real apps. 0 findings at medium or above, and every
// info finding is one docs/audit.md explains (package and rule), so nothing is waved through unread.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../support/system.js';

const work = mkdtempSync(join(tmpdir(), 'wirelock-popular-'));
after(() => rmSync(work, { recursive: true, force: true }));
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');

test('popular packages: 0 installed-code findings at medium or above; every info finding explained in docs/audit.md', { timeout: 1_800_000 }, async () => {
  requireTool('npm', 'npm');
  const { packages } = JSON.parse(readFileSync(join(process.cwd(), 'test', 'audit', 'popular-packages.json'), 'utf8')) as { packages: string[] };
  assert.ok(packages.length >= 40);
  const project = join(work, 'app');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'popular-app', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...packages], { cwd: project, stdio: 'inherit' });

  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [cli, 'audit', project, '--db', join(process.cwd(), 'test', 'vectors', 'osv'), '--json', '--fail-on', 'none', '--max-db-age', '100000', '--code-cache-dir', join(work, 'code-cache')],
      { env: { PATH: process.env.PATH ?? '', HOME: work, NO_COLOR: '1' }, maxBuffer: 512 * 1024 * 1024 },
      (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
    );
  });
  const json = JSON.parse(stdout) as { capabilities: Array<{ name: string }>; findings: Array<{ kind: string; id: string; severity: string; package: { name: string }; summary: string; evidence?: Array<{ file: string; line: number; detail: string }> }> };
  assert.ok(json.capabilities.length >= 900, `${json.capabilities.length} installed packages analysed`);
  const code = json.findings.filter((f) => f.kind === 'code' || f.kind === 'network-hook' || f.kind === 'install-script');
  const loud = code.filter((f) => f.severity !== 'info');
  assert.deepEqual(loud.map((f) => `${f.severity} ${f.id} ${f.package.name}: ${f.evidence?.map((e) => `${e.file}:${e.line} ${e.detail}`).join('; ') ?? f.summary}`), []);

  // Each (package, rule) of an info finding appears in the explanation table of docs/audit.md.
  const docs = readFileSync(join(process.cwd(), 'docs', 'audit.md'), 'utf8');
  const explained = new Set([...docs.matchAll(/^\| `([^`]+)` \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`));
  const unexplained = [...new Set(code.filter((f) => f.severity === 'info').map((f) => `${f.package.name} ${f.id}`))].filter((key) => !explained.has(key) && !explained.has(`${key.split(' ')[0]} ${key.split(' ')[1]!.split('/')[0]}/*`));
  assert.deepEqual(unexplained, [], 'info findings without an explanation in docs/audit.md');
});
