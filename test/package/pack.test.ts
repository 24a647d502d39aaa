// The package as a consumer gets it (test/package/support.ts): every entry point loaded with import
// and with require(), wirelock/register as a preload, the bin; what the tarball ships and leaves out.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packAndInstall, ROOT, type Installed } from './support.js';

let installed: Installed;
let project: string;
before(async () => {
  installed = await packAndInstall();
  project = installed.project;
});
after(() => installed?.remove());

describe('the packed tarball, installed into an empty project', { concurrency: false }, () => {
  test('ships LICENSE, docs and the built code; no source maps, sources, tests or install-time scripts', () => {
    for (const file of ['LICENSE', 'README.md', 'SECURITY.md', 'CHANGELOG.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'schema/wirelock.schema.json', 'docs/lab.md', 'docs/pins.md', 'dist/chunks/start-body.js', `dist/chunks/start-body.${process.arch}.v8.cache`, `dist/chunks/runtime-body.${process.arch}.v8.cache`, 'dist/chunks/code-cache.json']) {
      assert.ok(installed.packedFiles.includes(file), `${file} is in the tarball`);
    }
    assert.deepEqual(installed.packedFiles.filter((file) => file.endsWith('.map')), []);
    assert.deepEqual(installed.packedFiles.filter((file) => /^(src|test|bench|scripts|\.ci)\//.test(file)), []);
    // Every relative link of the shipped README and docs resolves inside the tarball.
    for (const doc of installed.packedFiles.filter((file) => file.endsWith('.md'))) {
      const text = readFileSync(join(project, 'node_modules/wirelock', doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)/g)) {
        const resolved = join(doc, '..', target!).replace(/\/$/, '');
        assert.ok(installed.packedFiles.some((file) => file === resolved || file.startsWith(`${resolved}/`)), `${doc} links to ${target}, which is not shipped`);
      }
    }
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules/wirelock/package.json'), 'utf8')) as { scripts?: Record<string, string>; license: string; repository: unknown; homepage: string; bugs: unknown };
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(manifest.scripts?.[hook], undefined, hook);
    assert.equal(manifest.license, 'Apache-2.0');
    assert.match(readFileSync(join(project, 'node_modules/wirelock/LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
    assert.deepEqual(manifest.repository, { type: 'git', url: 'git+https://github.com/wirelock/wirelock.git' });
    assert.equal(manifest.homepage, 'https://github.com/wirelock/wirelock#readme');
    assert.doesNotMatch(installed.installLog, /prepare|install script|npm warn/i);
  });

  test('every entry point loads with import', async () => {
    const script = `
      const root = await import('wirelock');
      const mobile = await import('wirelock/mobile');
      const audit = await import('wirelock/audit');
      const expo = await import('wirelock/expo');
      const collect = await import('wirelock/collect');
      const schema = await import('wirelock/schema.json', { with: { type: 'json' } });
      console.log(JSON.stringify({
        root: [typeof root.createFetch, typeof root.WirelockError, root.VERSION],
        mobile: typeof mobile.generateAndroid, audit: typeof audit.auditGraph,
        expo: typeof expo.default, collect: typeof collect.startCollector, schema: typeof schema.default.properties,
      }));`;
    const result = await installed.node(['--input-type=module', '-e', script]);
    assert.equal(result.code, 0, result.stderr);
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    assert.deepEqual(JSON.parse(result.stdout), { root: ['function', 'function', version], mobile: 'function', audit: 'function', expo: 'function', collect: 'function', schema: 'object' });
  });

  test('every entry point but register loads with require(); register refuses require with a clear WirelockError', async () => {
    const script = `
      const root = require('wirelock');
      const out = {
        root: typeof root.createFetch, mobile: typeof require('wirelock/mobile').generateIos,
        audit: typeof require('wirelock/audit').parseLockfile, expo: typeof require('wirelock/expo'),
        collect: typeof require('wirelock/collect').startCollector,
        schema: require('wirelock/schema.json').$schema !== undefined, pkg: require('wirelock/package.json').name,
      };
      try { require('wirelock/register'); out.register = 'loaded'; }
      catch (error) { out.register = [error instanceof root.WirelockError, error.code, error.message]; }
      console.log(JSON.stringify(out));`;
    const result = await installed.node(['--input-type=commonjs', '-e', script]);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as Record<string, unknown>;
    assert.deepEqual({ ...out, register: undefined }, { root: 'function', mobile: 'function', audit: 'function', expo: 'function', collect: 'function', schema: true, pkg: 'wirelock', register: undefined });
    const [isWirelockError, code, message] = out.register as [boolean, string, string];
    assert.equal(isWirelockError, true);
    assert.equal(code, 'ERR_USAGE');
    assert.match(message, /node --import wirelock\/register app\.js/);
  });

  test('wirelock/register: --import puts the process under lockdown; --require stops it before the app runs', async () => {
    writeFileSync(join(project, 'wirelock.json'), JSON.stringify({ version: 1, domains: {} }));
    writeFileSync(join(project, 'app.cjs'), "console.log(JSON.stringify({ lockdown: require('wirelock').activeLockdown() !== undefined }));\n");
    const imported = await installed.node(['--import', 'wirelock/register', 'app.cjs']);
    assert.equal(imported.code, 0, imported.stderr);
    assert.deepEqual(JSON.parse(imported.stdout), { lockdown: true });
    // Control: the same app without the preload runs without lockdown.
    assert.deepEqual(JSON.parse((await installed.node(['app.cjs'])).stdout), { lockdown: false });
    const required = await installed.node(['--require', 'wirelock/register', 'app.cjs']);
    assert.notEqual(required.code, 0);
    assert.equal(required.stdout, '', 'the app never ran');
    assert.equal(required.code, 2);
    assert.match(required.stderr, /^wirelock\/register: ERR_USAGE: wirelock\/register cannot be loaded with require\(\) or --require: .*node --import wirelock\/register app\.js/);
    assert.doesNotMatch(required.stderr, /\n\s+at /, 'no stack trace');
  });

  test('the bin runs from the installed package', async () => {
    const result = await installed.node([join(project, 'node_modules/.bin/wirelock'), '--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

});
