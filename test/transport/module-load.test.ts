// Start-up cost is part of the product (CLIs and serverless functions pay it on every start): these are
// module-load facts, not timings. `import 'wirelock'` loads the enforcement core and the runtime checks
// only; npm undici is loaded when a dispatcher is really needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const hooks = join(ROOT, 'test/fixtures/transport/load-hooks.mjs');
const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(new URL(`file://${hooks}`).href)});`;

async function start(entry: string): Promise<{ result: Record<string, boolean>; loaded: string[] }> {
  const { stdout, stderr } = await run(process.execPath, ['--import', register, join(ROOT, 'test/fixtures/transport/agent-only-app.mjs')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', WIRELOCK_ENTRY: join(ROOT, entry) },
  });
  const loaded = stderr.split('\n').filter((line) => line.startsWith('loaded ')).map((line) => line.slice('loaded '.length));
  return { result: JSON.parse(stdout.trim().split('\n').pop()!), loaded };
}

test("import 'wirelock' + createAgent: npm undici is not loaded until createFetch needs it, the runtime checks not until lockdown()", async () => {
  const { result, loaded } = await start('dist/index.js');
  assert.deepEqual(result, { afterImport: false, afterAgent: false, afterFetch: true, noLockdown: true, runtimeRead: false });
  const files = loaded.filter((url) => url.includes('/dist/')).map((url) => url.slice(url.indexOf('/dist/') + 6));
  // The build bundles modules into shared chunks (scripts/bundle.mjs): dist/modules.json names the
  // modules in each file loaded, so what was loaded is still judged module by module.
  const manifest = JSON.parse(readFileSync(join(ROOT, 'dist/modules.json'), 'utf8')) as Record<string, string[]>;
  const dist = files.flatMap((file) => manifest[file] ?? [`${file} (not in dist/modules.json)`]);
  // Two files: the entry and the one chunk behind it, not one file per module.
  assert.equal(files.length, 2, files.join(' '));
  // The core (policy, x509, ct, transport) and the runtime baseline (builtins.js: what lockdown()
  // compares with is taken at the import), nothing else of wirelock: the runtime checks themselves
  // (lockdown, inspect, origin, flags) are compiled at their first call (src/runtime/deferred.ts).
  assert.ok(dist.includes('transport/agent.js') && dist.includes('runtime/builtins.js'), dist.join(' '));
  assert.deepEqual(dist.filter((file) => /^runtime\/(index|lockdown|inspect|origin|flags)\.js$/.test(file)), []);
  const outside = dist.filter((file) => !/^(index|errors|version|location|freeze)\.js$|^(policy|x509|ct|transport|runtime)\//.test(file));
  assert.deepEqual(outside, [], 'no audit, mobile, lab or cli module is loaded');
  // Only undici, and only once createFetch ran (CommonJS, through createRequire, so not in this list).
  const packages = loaded.filter((url) => url.includes('/node_modules/'));
  assert.deepEqual(packages, []);
  assert.ok(!dist.some((file) => file.startsWith('x509/issue')), 'certificate issuing (tests, lab) is not loaded');
});
