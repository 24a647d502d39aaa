// The installed-code analysis on real packages that need no network: this repository's own
// node_modules (undici, axios, got, msw's interceptors, nock, OpenTelemetry, esbuild, typescript...).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { judgePackage, verifyIdentity } from '../../src/audit/code/judge.js';
import { scanInstalledCode } from '../../src/audit/code/scan.js';
import { listInstalled } from '../../src/audit/installed.js';
import { readLockfile } from '../../src/audit/lockfile/read.js';

test("this repository's own node_modules (190+ real packages): no installed-code finding at medium or above", { timeout: 600_000 }, async () => {
  const root = process.cwd();
  const graph = readLockfile(join(root, 'package-lock.json'));
  const packages = listInstalled(root);
  assert.ok(packages.length > 150);
  const { code } = await scanInstalledCode(root, packages, { graph, workers: 2 });
  const loud: string[] = [];
  let hooksSeen = 0;
  for (const pkg of packages) {
    const verdict = judgePackage(pkg.name, code.get(pkg.dir)!, verifyIdentity(pkg, graph));
    hooksSeen += verdict.findings.filter((f) => f.kind === 'network-hook').length;
    for (const f of verdict.findings) if (!['info', 'low'].includes(f.severity)) loud.push(`${pkg.dir} ${f.severity} ${f.id} ${f.evidence.map((e) => `${e.file}:${e.line} ${e.detail}`).join('; ')}`);
  }
  assert.deepEqual(loud, []);
  assert.ok(hooksSeen > 0, 'positive control: undici, msw interceptors and nock do patch the network (at info)');
});
