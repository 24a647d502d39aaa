// The scanning pipeline's speed-ups (threads fed biggest first, copies of one package on one
// thread with a content-hash memo, the offset-free pass handing over at its first precise signal)
// must never change what the analysis finds: each is checked against the plain, one-thread result.
// Corpus samples are data: copied and parsed, never installed, required or run.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource } from '../../src/audit/code/analyze.js';
import { analyzePackageDir } from '../../src/audit/code/package.js';
import { scanInstalledCode } from '../../src/audit/code/scan.js';
import type { InstalledPackage } from '../../src/audit/installed.js';
import { FIXTURES } from './support.js';

const CORPUS = join(FIXTURES, 'malware');
const work = mkdtempSync(join(tmpdir(), 'wirelock-scan-pipeline-'));
after(() => rmSync(work, { recursive: true, force: true }));

const samples = JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as Array<{ kind: string; id: string; name: string }>;

/** A byte-identical file over the memo's 2 KB floor that hooks fetch: both copies must report it. */
const TWIN = `'use strict';\n${'// padding that makes this file large enough for the content-hash memo\n'.repeat(40)}const original = globalThis.fetch;\nglobalThis.fetch = (...args) => original(...args);\n`;

test('the thread pool (biggest first, copies of one package on one thread) returns exactly what one thread returns', async () => {
  const packages: InstalledPackage[] = [];
  // Every sample twice, under its own name in two places (as npm nests one package under several dependents).
  for (const copy of ['a', 'b']) {
    for (const s of samples) {
      const dir = join('node_modules', copy, s.kind, s.id);
      cpSync(join(CORPUS, s.kind, s.id), join(work, dir), { recursive: true });
      packages.push({ name: s.name, version: '0.0.0-defanged', dir, scripts: {}, gyp: false });
    }
    const dir = join('node_modules', copy, 'twin');
    mkdirSync(join(work, dir), { recursive: true });
    writeFileSync(join(work, dir, 'package.json'), JSON.stringify({ name: 'twin', version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(work, dir, 'index.js'), TWIN);
    packages.push({ name: 'twin', version: '1.0.0', dir, scripts: {}, gyp: false });
  }
  assert.ok(TWIN.length > 2048);
  const pooled = await scanInstalledCode(work, packages, { workers: 2 });
  // The pool falls back to this thread when a thread fails to start: that would hide a broken worker module.
  assert.equal(pooled.stats.threads, 2);
  assert.equal(pooled.stats.threadError, undefined);
  assert.equal(pooled.code.size, packages.length);
  // Reported in the order the packages were given, whatever order the threads finished in.
  assert.deepEqual([...pooled.code.keys()], packages.map((p) => p.dir));
  let withFacts = 0;
  for (const pkg of packages) {
    const alone = analyzePackageDir(join(work, pkg.dir));
    assert.deepEqual(pooled.code.get(pkg.dir), alone, pkg.dir);
    if (Object.keys(alone.facts).length > 0) withFacts++;
  }
  assert.ok(withFacts >= 100, `${withFacts} packages with findings compared`);
  for (const copy of ['a', 'b']) assert.deepEqual(pooled.code.get(join('node_modules', copy, 'twin'))!.facts['index.js']!.hooks.map((h) => `${h.rule}:${h.line}`), ['reassign-fetch:43']);
});

test('a file with a hook is reported with exact offsets: the offset-free pass hands over to the pass with them', () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (/\.[cm]?js$/.test(entry.name)) files.push(join(dir, entry.name));
    }
  };
  walk(CORPUS);
  let handedOver = 0;
  for (const file of [...files, 'twin']) {
    const text = file === 'twin' ? TWIN : readFileSync(file, 'utf8');
    const module = file.endsWith('.mjs');
    const result = analyzeSource(text, { module });
    if (result.hooks.length === 0) continue;
    handedOver++;
    assert.deepEqual(result, analyzeSource(text, { module, precise: true }), file);
  }
  assert.ok(handedOver >= 5, `${handedOver} files with hooks`);
});

test('a process started with `node --input-type=module -e` still gets the thread pool (its threads must not inherit the eval options)', async () => {
  const { threadExecArgv } = await import('../../src/audit/code/scan.js');
  assert.deepEqual(threadExecArgv(['--input-type=module', '-e', 'code', '--max-old-space-size=4096', '--import', 'tsx', '--print', 'x', '--eval=y', '--conditions', 'dev']), ['--max-old-space-size=4096', '--import', 'tsx', '--conditions', 'dev']);
  const tree = join(work, 'eval-tree');
  const packages: InstalledPackage[] = [];
  for (let i = 0; i < 12; i++) {
    const dir = join('node_modules', `p${i}`);
    mkdirSync(join(tree, dir), { recursive: true });
    writeFileSync(join(tree, dir, 'package.json'), JSON.stringify({ name: `p${i}`, version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(tree, dir, 'index.js'), `const original = globalThis.fetch;\nglobalThis.fetch = (...args) => original(...args);\n`);
    packages.push({ name: `p${i}`, version: '1.0.0', dir, scripts: {}, gyp: false });
  }
  // The built package (npm test builds first), as an app or a wrapper runs it: its threads start from a file.
  const scan = new URL('../../dist/audit/code/scan.js', import.meta.url).href;
  const code = `const { scanInstalledCode } = await import(${JSON.stringify(scan)}); const r = await scanInstalledCode(${JSON.stringify(tree)}, ${JSON.stringify(packages)}, { workers: 2 }); console.log(JSON.stringify({ threads: r.stats.threads, error: r.stats.threadError ?? null, hooks: [...r.code.values()].filter((c) => c.facts['index.js']?.hooks.length).length }));`;
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  // Before the fix: threads 0, error ERR_INPUT_TYPE_NOT_ALLOWED (every thread refused to start, this thread did the work).
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()!), { threads: 2, error: null, hooks: 12 });
});
