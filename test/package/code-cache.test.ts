// The built package ships V8 code caches for its start body and runtime body (dist/chunks/*.v8.cache,
// made by scripts/code-cache.mjs at build time on the Node that built it). These run the built dist/
// in fresh processes: the caches are used on that Node and refused by V8 on another (CI tests a
// Node 20 build on Node 24), a cache that is corrupted, truncated, swapped or missing changes nothing
// but the speed, the code files still fail closed, and no run writes anything into dist/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'wirelock-code-cache-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const policyFile = join(scratch, 'wirelock.json');
writeFileSync(
  policyFile,
  JSON.stringify({ version: 1, domains: { 'api.example.com': { includeSubdomains: true, pins: [{ pin: 'sha256/hxqRlPTu1bMS/0DITB1SSu0vd4u/8l8TjPgfaAp63Gc=', role: 'ca' }, { pin: 'sha256/QXnt2YHvdHR3tJYmQIr0Paosp6t/nggsEGD4QJZ3Q0g=', role: 'ca' }], pinsExpire: '2031-06-01' } } }),
);

function node(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: scratch, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WIRELOCK_POLICY: policyFile } }, (error, stdout, stderr) =>
      resolve({ stdout, stderr, code: error ? Number((error as { code?: unknown }).code ?? 1) : 0 }),
    );
  });
}

// What V8 did with each body (the package's own node:vm calls, watched by replacing them before it
// loads, as scripts/code-cache.mjs does) and what the API gives: export names, a policy, a lockdown.
const probe = join(scratch, 'probe.mjs');
writeFileSync(
  probe,
  `import vm from 'node:vm';
const compiled = {};
const note = (options, rejected) => { compiled[options.filename.split('/').pop()] = options.cachedData ? (rejected ? 'rejected' : 'accepted') : 'source'; };
// A Proxy, as scripts/code-cache.mjs uses: the runtime loader takes the class vm.Script extends from it.
vm.Script = new Proxy(vm.Script, { construct(target, args, newTarget) { const script = Reflect.construct(target, args, newTarget); note(args[1], script.cachedDataRejected); return script; } });
const wirelock = await import(process.argv[2]);
const policy = wirelock.loadPolicySync(${JSON.stringify(policyFile)});
wirelock.createAgent(policy).destroy();
const handle = wirelock.lockdown(policy, { onTamper: 'report' });
let error;
try { wirelock.definePolicy({ version: 1, domains: { 'co.uk': { includeSubdomains: true } } }); } catch (thrown) { error = thrown instanceof wirelock.WirelockError && thrown.code; }
const api = { exports: Object.keys(wirelock).sort(), domains: Object.keys(policy.domains ?? {}), active: wirelock.activeLockdown() !== undefined, error };
handle.release();
console.log(JSON.stringify({ compiled, api }));
`,
);

async function run(dist: string): Promise<{ compiled: Record<string, string>; api: unknown }> {
  const { stdout, stderr, code } = await node([probe, join(dist, 'index.js')]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout.trim().split('\n').pop()!) as { compiled: Record<string, string>; api: unknown };
}

/** A copy of the built package (node_modules linked for undici) whose files `change` edits. */
function copy(name: string, change: (dist: string) => void): string {
  const pkg = join(scratch, name);
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  change(join(pkg, 'dist'));
  return join(pkg, 'dist');
}

const built = JSON.parse(readFileSync(join(ROOT, 'dist/chunks/code-cache.json'), 'utf8')) as { node: string; v8: string; caches: string[] };

test('the code caches are used on the Node that built them and refused by V8 on another, with the same API either way', async () => {
  assert.deepEqual(built.caches, [`start-body.${process.arch}.v8.cache`, `runtime-body.${process.arch}.v8.cache`]);
  const { compiled, api } = await run(join(ROOT, 'dist'));
  // Another V8 version refuses the caches (its version hash differs) and the bodies compile from source.
  const expected = built.v8 === process.versions.v8 ? 'accepted' : 'rejected';
  assert.deepEqual(compiled, { 'start-body.js': expected, 'runtime-body.js': expected }, `built by ${built.node} (V8 ${built.v8}), running ${process.version} (V8 ${process.versions.v8})`);
  const without = copy('no-caches', (dist) => built.caches.forEach((cache) => rmSync(join(dist, 'chunks', cache))));
  const fromSource = await run(without);
  assert.deepEqual(fromSource.compiled, { 'start-body.js': 'source', 'runtime-body.js': 'source' });
  assert.deepEqual(fromSource.api, api);
  assert.deepEqual((api as { error: unknown; active: boolean }).error, 'ERR_POLICY_INVALID');
  assert.equal((api as { active: boolean }).active, true);
});

test('a corrupted, truncated, empty or swapped code cache is never handed to V8 unchecked, and the API is the same', async () => {
  const { api } = await run(join(ROOT, 'dist'));
  const edits: Record<string, (file: Buffer) => Buffer> = {
    // A flipped run of bytes in the middle of V8's data: V8 (release builds) has no checksum for it.
    corrupted: (file) => {
      const copy = Buffer.from(file);
      for (let i = copy.length >> 1; i < (copy.length >> 1) + 64; i++) copy[i]! ^= 0x5a;
      return copy;
    },
    truncated: (file) => file.subarray(0, file.length >> 1),
    empty: () => Buffer.alloc(0),
  };
  for (const [name, edit] of Object.entries(edits)) {
    const dist = copy(name, (dist) => {
      for (const cache of built.caches) writeFileSync(join(dist, 'chunks', cache), edit(readFileSync(join(dist, 'chunks', cache))));
    });
    const outcome = await run(dist);
    assert.deepEqual(outcome.compiled, { 'start-body.js': 'source', 'runtime-body.js': 'source' }, name);
    assert.deepEqual(outcome.api, api, name);
  }
  // Each body with the other's cache (checksum intact): V8 itself refuses data made for another
  // source (it compares the source length), or on another Node its version. The runtime loader never
  // hands V8 a cache whose SHA-256 is not the one the build wrote into the start chunk's module.
  const swapped = copy('swapped', (dist) => {
    const [start, runtime] = built.caches.map((cache) => readFileSync(join(dist, 'chunks', cache)));
    writeFileSync(join(dist, 'chunks', built.caches[0]!), runtime!);
    writeFileSync(join(dist, 'chunks', built.caches[1]!), start!);
  });
  const outcome = await run(swapped);
  assert.deepEqual(outcome.compiled, { 'start-body.js': 'rejected', 'runtime-body.js': 'source' });
  assert.deepEqual(outcome.api, api);
});

test('a start body that cannot be loaded still fails closed: import and register fail, the app does not run', async () => {
  const dist = copy('broken-start', (dist) => writeFileSync(join(dist, 'chunks/start-body.js'), 'this is not JavaScript ('));
  const imported = await node([probe, join(dist, 'index.js')]);
  assert.notEqual(imported.code, 0);
  const plain = join(scratch, 'plain.mjs');
  writeFileSync(plain, "console.log('the app ran');\n");
  const registered = await node(['--import', join(dist, 'runtime/register.js'), plain]);
  assert.notEqual(registered.code, 0);
  assert.doesNotMatch(registered.stdout, /the app ran/);
  const missing = copy('missing-start', (dist) => rmSync(join(dist, 'chunks/start-body.js')));
  const gone = await node(['--import', join(missing, 'runtime/register.js'), plain]);
  assert.notEqual(gone.code, 0);
  assert.doesNotMatch(gone.stdout, /the app ran/);
});

test('no run writes into dist/: the caches are made by the build only', async () => {
  const snapshot = (): Record<string, string> => {
    const files: Record<string, string> = {};
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        const stat = statSync(path);
        if (stat.isDirectory()) walk(path);
        else files[relative(ROOT, path)] = `${stat.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
      }
    };
    walk(join(ROOT, 'dist'));
    return files;
  };
  const before = snapshot();
  await run(join(ROOT, 'dist'));
  const plain = join(scratch, 'plain-register.mjs');
  writeFileSync(plain, "console.log('the app ran');\n");
  const registered = await node(['--import', join(ROOT, 'dist/runtime/register.js'), plain]);
  assert.equal(registered.code, 0, registered.stderr);
  assert.deepEqual(snapshot(), before);
});
