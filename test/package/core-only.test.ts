// `import 'wirelock'` loads only the enforcement core and the runtime checks: never the mobile
// generators, the audit, the lab, the CLI or their dependencies. Every module URL the loader resolves
// is logged by a real module.register() hook in a fresh process (package self-reference: the name
// resolves to this checkout's dist/ through package.json "exports").
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';

const ROOT = new URL('../../', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'wirelock-core-only-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const hooks = join(scratch, 'hooks.mjs');
writeFileSync(hooks, "import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const resolved = await next(specifier, context);\n  appendFileSync(process.env.RESOLVED_LOG, resolved.url + '\\n');\n  return resolved;\n}\n");
const registerHooks = join(scratch, 'register-hooks.mjs');
writeFileSync(registerHooks, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

async function loaded(entry: string): Promise<string[]> {
  const log = join(scratch, `${entry.replace(/\W/g, '_')}.log`);
  writeFileSync(log, '');
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, ['--import', pathToFileURL(registerHooks).href, '--input-type=module', '-e', `await import(${JSON.stringify(entry)});`], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', RESOLVED_LOG: log } }, (error, _stdout, stderr) =>
      error ? reject(new Error(stderr)) : resolve(),
    );
  });
  const dist = pathToFileURL(join(ROOT, 'dist')).href;
  return readFileSync(log, 'utf8').split('\n').filter(Boolean).map((url) => (url.startsWith(dist) ? `dist${url.slice(dist.length)}` : url.replace(/^.*\/node_modules\//, 'node_modules/')));
}

// The build bundles modules into entries and shared chunks (scripts/bundle.mjs); dist/modules.json
// names the modules each file holds, so what an entry loads is still judged module by module.
function modulesOf(urls: string[]): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'dist/modules.json'), 'utf8')) as Record<string, string[]>;
  return urls.filter((url) => url.startsWith('dist/')).flatMap((url) => {
    const modules = manifest[url.slice('dist/'.length)];
    assert.ok(modules, `${url} is not in dist/modules.json`);
    return modules.map((module) => `dist/${module}`);
  });
}

test("import 'wirelock' loads the core (policy, x509, ct, transport, runtime) and no package: undici waits for createFetch/createDispatcher", async () => {
  const urls = await loaded('wirelock');
  assert.ok(urls.includes('dist/index.js'), urls.join('\n'));
  const modules = modulesOf(urls);
  assert.ok(modules.some((module) => module.startsWith('dist/transport/')));
  const areas = new Set(modules.map((module) => module.split('/')[1]!.replace(/\.js$/, '')));
  assert.deepEqual([...areas].filter((area) => !['index', 'errors', 'version', 'location', 'freeze', 'policy', 'x509', 'ct', 'transport', 'runtime'].includes(area)), []);
  const packages = new Set(urls.filter((url) => url.startsWith('node_modules/')).map((url) => url.split('/')[1]));
  assert.deepEqual([...packages], []);
});

test("control: import 'wirelock/audit' and 'wirelock/mobile' do load their areas (the log sees them)", async () => {
  const audit = modulesOf(await loaded('wirelock/audit'));
  assert.ok(audit.some((module) => module.startsWith('dist/audit/') && module !== 'dist/audit/index.js'));
  const mobile = modulesOf(await loaded('wirelock/mobile'));
  assert.ok(mobile.some((module) => module.startsWith('dist/mobile/') && module !== 'dist/mobile/index.js'));
});
