import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditPackages, dependencyPaths } from '../../src/audit/graph.js';
import { checkIntegrity } from '../../src/audit/integrity.js';
import { parseLockfile, readLockfile } from '../../src/audit/lockfile/read.js';
import { parseYarnClassic, parseYarnBerry } from '../../src/audit/lockfile/yarn.js';
import { stripJsonc } from '../../src/audit/lockfile/bun.js';
import { isWirelockError } from '../../src/errors.js';

const PROJECTS = join(process.cwd(), 'test', 'fixtures', 'audit', 'projects');
const LOCKFILES = join(process.cwd(), 'test', 'fixtures', 'audit', 'lockfiles');
const dirs = (group: string) => readdirSync(join(PROJECTS, group), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

function summary(dir: string) {
  const graph = readLockfile(dir);
  const packages = auditPackages(graph);
  return { graph, packages, set: packages.map((p) => `${p.name}@${p.version}${p.dev ? ' dev' : ''}${p.optional ? ' optional' : ''}`) };
}

const EXPECTED_SIMPLE = [
  'ansi-styles@3.2.1', 'chalk@2.4.2', 'color-convert@1.9.3', 'color-name@1.1.3', 'core-js@3.8.3', 'escape-string-regexp@1.0.5', 'has-flag@3.0.0',
  'is-number@7.0.0 optional', 'lodash-es@4.17.21 dev', 'lodash@4.17.15', 'minimist@0.0.8', 'minimist@1.2.0', 'mkdirp@0.5.1', 'ms@2.0.0 dev', 'supports-color@5.5.0',
].sort();

test('one project, eight lockfile formats made by the real package managers: the same package set', () => {
  const formats = new Set<string>();
  assert.deepEqual(dirs('simple'), ['berry', 'bun', 'npm-v1', 'npm-v2', 'npm-v3', 'pnpm-v6', 'pnpm-v9', 'yarn1']);
  for (const dir of dirs('simple')) {
    const { graph, set } = summary(join(PROJECTS, 'simple', dir));
    formats.add(graph.format);
    assert.deepEqual([...set].sort(), EXPECTED_SIMPLE, dir);
  }
  assert.deepEqual([...formats].sort(), ['bun', 'npm-v1', 'npm-v2', 'npm-v3', 'pnpm-v6', 'pnpm-v9', 'yarn-berry', 'yarn-v1']);
});

test('every format says which direct dependency brings a transitive package in', () => {
  for (const dir of dirs('simple')) {
    const { graph, packages } = summary(join(PROJECTS, 'simple', dir));
    const nested = packages.find((p) => p.name === 'minimist' && p.version === '0.0.8')!;
    const paths = dependencyPaths(graph, nested.ids);
    assert.deepEqual(paths.via, ['mkdirp@0.5.1'], dir);
    assert.deepEqual(paths.path.slice(1), ['mkdirp@0.5.1', 'minimist@0.0.8'], dir);
    const deep = packages.find((p) => p.name === 'has-flag')!;
    assert.deepEqual(dependencyPaths(graph, deep.ids).path.slice(1), ['chalk@2.4.2', 'supports-color@5.5.0', 'has-flag@3.0.0'], dir);
  }
});

test('monorepos: the same packages and workspace-aware paths in npm, yarn classic, berry, pnpm and bun', () => {
  assert.deepEqual(dirs('workspaces'), ['berry', 'bun', 'npm', 'pnpm-v9', 'yarn1']);
  for (const dir of dirs('workspaces')) {
    const { graph, packages, set } = summary(join(PROJECTS, 'workspaces', dir));
    assert.deepEqual([...set].sort(), ['lodash@4.17.15', 'minimist@0.0.8', 'minimist@1.2.0', 'mkdirp@0.5.1', 'ms@2.0.0 dev'], dir);
    const importers = graph.importers.map((id) => graph.nodes.get(id)!.importer);
    assert.deepEqual([...importers].sort(), ['.', 'packages/app', 'packages/lib'], dir);
    // minimist@1.2.0 belongs to packages/lib, which packages/app depends on through the workspace link.
    const m = packages.find((p) => p.name === 'minimist' && p.version === '1.2.0')!;
    assert.deepEqual(dependencyPaths(graph, m.ids), { via: ['minimist@1.2.0'], path: ['packages/lib', 'minimist@1.2.0'] }, dir);
    // packages/app reaches packages/lib through the workspace link, so lib's packages are app's too.
    const app = [...graph.nodes.values()].find((n) => n.importer === 'packages/app')!;
    const link = app.edges.find((e) => e.name === '@mono/lib');
    assert.equal(graph.nodes.get(link?.target ?? '')?.importer, 'packages/lib', `${dir}: app -> lib link`);
    assert.deepEqual(dependencyPaths(graph, packages.find((p) => p.name === 'mkdirp')!.ids).path, ['packages/app', 'mkdirp@0.5.1'], dir);
  }
});

test('install scripts where the lockfile records them (npm v2/v3, bun, pnpm v6)', () => {
  for (const dir of ['npm-v2', 'npm-v3', 'bun', 'pnpm-v6']) {
    const core = summary(join(PROJECTS, 'simple', dir)).packages.find((p) => p.name === 'core-js')!;
    assert.equal(core.hasInstallScript, true, dir);
  }
  const lodash = summary(join(PROJECTS, 'simple', 'npm-v3')).packages.find((p) => p.name === 'lodash')!;
  assert.equal(lodash.hasInstallScript, undefined);
});

test('real lockfiles pass the integrity checks (positive control); npm 6 and yarn record registry URLs', () => {
  for (const group of ['simple', 'workspaces', 'large']) {
    for (const dir of dirs(group)) {
      const { packages } = summary(join(PROJECTS, group, dir));
      assert.deepEqual(checkIntegrity(packages), [], `${group}/${dir}`);
    }
  }
  const withUrls = summary(join(PROJECTS, 'simple', 'yarn1')).packages;
  assert.ok(withUrls.every((p) => p.resolved?.startsWith('https://registry.yarnpkg.com/')));
});

test('lockfile integrity: each tampering is caught, correct entries are not', () => {
  const { packages } = summary(join(LOCKFILES, 'tampered.package-lock.json'));
  const found = checkIntegrity(packages).map((i) => `${i.rule} ${i.package.name}`).sort();
  assert.deepEqual(found, [
    'credentials-in-url private-lib',
    'disallowed-registry left-pad',
    'disallowed-registry tarpkg',
    'file-dependency localpkg',
    'git-dependency mylib',
    'insecure-url lodash',
    'integrity-conflict good',
    'missing-integrity ms',
    'name-mismatch react',
    'tarball-dependency tarpkg',
    'weak-integrity debug',
  ]);
  const all = JSON.stringify(checkIntegrity(packages).map((i) => i.message));
  assert.ok(all.includes('https://***@registry.npmjs.org/private-lib'), 'the URL is shown redacted');
  assert.ok(!all.includes('s3cr3t'), 'the token is never printed');
  // An allowed mirror is not reported once configured.
  const mirrored = checkIntegrity(packages, ['registry.npmjs.org', 'registry.evil.example']).map((i) => `${i.rule} ${i.package.name}`);
  assert.ok(!mirrored.includes('disallowed-registry left-pad'));
  assert.ok(mirrored.includes('insecure-url lodash'));
});

test('npm-shrinkwrap.json is read and preferred over package-lock.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wl-shrinkwrap-'));
  try {
    copyFileSync(join(PROJECTS, 'simple', 'npm-v3', 'package-lock.json'), join(dir, 'npm-shrinkwrap.json'));
    writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{"":{}}}');
    assert.equal(auditPackages(readLockfile(dir)).length, 15);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('yarn classic: quoted multi-spec keys, npm: aliases (audited under the real name), git sources', () => {
  const text = [
    '# yarn lockfile v1',
    '',
    '"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":',
    '  version "7.12.13"',
    '  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#dcfc826beef65e75c50e21d3837d7d95798dd658"',
    '  integrity sha512-HV1Cm0Q3ZrpCR93tkWOYiuYIgLxZXZFVG2VgK+MBWjUqZTundupbfx2aXarXuw5Ko5aMcjtJgbSs4vUGBS5v6g==',
    '  dependencies:',
    '    "@babel/highlight" "^7.12.13"',
    '',
    '"string-width-cjs@npm:string-width@^4.2.0":',
    '  version "4.2.3"',
    '  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"',
    '  integrity sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g==',
    '',
    '"mylib@git+https://github.com/acme/mylib.git#v1.0.0":',
    '  version "1.0.0"',
    '  resolved "git+https://github.com/acme/mylib.git#0123456789abcdef0123456789abcdef01234567"',
    '',
  ].join('\n');
  const graph = parseYarnClassic(text, 'yarn.lock', new Map([['.', { dependencies: { '@babel/code-frame': '^7.10.4', 'string-width-cjs': 'npm:string-width@^4.2.0', mylib: 'git+https://github.com/acme/mylib.git#v1.0.0' } }]]));
  const pkgs = auditPackages(graph);
  assert.deepEqual(pkgs.map((p) => `${p.name}@${p.version} ${p.source}`), ['@babel/code-frame@7.12.13 registry', 'mylib@1.0.0 git', 'string-width@4.2.3 registry']);
  const root = graph.nodes.get(graph.importers[0]!)!;
  assert.equal(root.edges.filter((e) => e.target).length, 3, 'every direct dependency resolves');
});

test('yarn berry: patch: protocol audits the patched package; dependenciesMeta optional', () => {
  const text = [
    '__metadata:',
    '  version: 8',
    '',
    '"app@workspace:.":',
    '  version: 0.0.0-use.local',
    '  resolution: "app@workspace:."',
    '  dependencies:',
    '    resolve: "patch:resolve@npm%3A^1.22.0#~builtin<compat/resolve>"',
    '    fsevents: "npm:^2.3.2"',
    '  dependenciesMeta:',
    '    fsevents:',
    '      optional: true',
    '  languageName: unknown',
    '  linkType: soft',
    '',
    '"resolve@patch:resolve@npm%3A^1.22.0#~builtin<compat/resolve>":',
    '  version: 1.22.8',
    '  resolution: "resolve@patch:resolve@npm%3A1.22.8#~builtin<compat/resolve>::version=1.22.8&hash=c3c19d"',
    '  checksum: 10c0/abc',
    '  languageName: node',
    '  linkType: hard',
    '',
    '"fsevents@npm:^2.3.2":',
    '  version: 2.3.3',
    '  resolution: "fsevents@npm:2.3.3"',
    '  checksum: 10c0/def',
    '  languageName: node',
    '  linkType: hard',
    '',
  ].join('\n');
  const pkgs = auditPackages(parseYarnBerry(text, 'yarn.lock', new Map()));
  assert.deepEqual(pkgs.map((p) => `${p.name}@${p.version} ${p.source}${p.optional ? ' optional' : ''}`), ['fsevents@2.3.3 registry optional', 'resolve@1.22.8 registry']);
});

test('bun.lock JSONC: trailing commas and comments removed outside strings only', () => {
  assert.deepEqual(JSON.parse(stripJsonc('{"a": "x,}//y", /* c */ "b": [1, 2,],\n// line\n}')), { a: 'x,}//y', b: [1, 2] });
});

test('malformed lockfiles are refused with ERR_LOCKFILE_INVALID and where', () => {
  const cases: Array<[string, string, string | undefined]> = [
    ['package-lock.json', '{"lockfileVersion": 7}', '/lockfileVersion'],
    ['package-lock.json', '{not json', undefined],
    ['package-lock.json', '{"lockfileVersion":3,"packages":{"":{},"node_modules/a":{"resolved":"x"},"node_modules/b":{}}}', '/packages/node_modules~1b/version'],
    ['package-lock.json', '{"lockfileVersion":3,"packages":{"node_modules/a":[]}}', '/packages/node_modules~1a'],
    ['pnpm-lock.yaml', "lockfileVersion: '3.0'\n", '/lockfileVersion'],
    ['pnpm-lock.yaml', 'a: [b\n', undefined],
    ['yarn.lock', '# yarn lockfile v1\nfoo@^1:\n  version\n', undefined],
    ['yarn.lock', '__metadata:\n  version: 8\n"a@npm:1":\n  version: 1.0.0\n', undefined],
    ['bun.lock', '{"lockfileVersion": 1, "workspaces": {"": {}}, "packages": {"a": "a@1.0.0"}}', '/packages/a'],
    ['bun.lockb', '', undefined],
    ['Gemfile.lock', '', undefined],
  ];
  for (const [name, text, pointer] of cases) {
    assert.throws(
      () => parseLockfile(text, name),
      (error: unknown) => isWirelockError(error, 'ERR_LOCKFILE_INVALID') && error.details.file === name && (pointer === undefined || error.details.pointer === pointer),
      `${name}: ${text.slice(0, 40)}`,
    );
  }
});

test('a 454-package project in seven formats (one resolution, imported between managers): identical package sets', () => {
  const large = (dir: string) => summary(join(PROJECTS, 'large', dir));
  const reference = large('npm-v3');
  assert.equal(reference.set.length, 454);
  assert.equal(reference.packages.filter((p) => p.dev).length > 300, true, 'jest/webpack/eslint trees are dev');
  assert.ok(reference.packages.some((p) => p.name === 'uglify-js' && p.optional), "handlebars' optional dependency");
  for (const dir of ['npm-v1', 'yarn1', 'pnpm-v6', 'pnpm-v9', 'bun']) assert.deepEqual(large(dir).set, reference.set, dir);
  // yarn berry adds node-gyp (and what it needs) for packages with native builds: exactly that subtree differs.
  const berry = large('berry');
  const gyp = [...berry.graph.nodes.values()].find((n) => n.name === 'node-gyp')!;
  const subtree = new Set<string>();
  const walk = (id: string) => {
    const node = berry.graph.nodes.get(id)!;
    const label = `${node.name}@${node.version}`;
    if (subtree.has(label)) return;
    subtree.add(label);
    for (const edge of node.edges) if (edge.target) walk(edge.target);
  };
  walk(gyp.id);
  const extra = berry.set.filter((entry) => !reference.set.includes(entry));
  assert.ok(extra.length > 0);
  for (const entry of extra) assert.ok(subtree.has(entry.replace(/ .*/, '')), `${entry} is not berry's node-gyp subtree`);
  assert.deepEqual(reference.set.filter((entry) => !berry.set.includes(entry)), [], 'nothing missing in berry');
});

test('npm v2/v3: npm: aliases are audited under the real name; skipped optional platform entries are not packages', () => {
  const text = JSON.stringify({
    lockfileVersion: 3,
    packages: {
      '': { dependencies: { 'lodash-old': 'npm:lodash@4.17.15' }, optionalDependencies: { 'fsevents': '2.3.3' } },
      'node_modules/lodash-old': { name: 'lodash', version: '4.17.15', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz', integrity: 'sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0MnmE+4xlZoumy0GPG0D0MVIQbNA1A==' },
      'node_modules/fsevents': { optional: true },
    },
  });
  const pkgs = auditPackages(parseLockfile(text, 'package-lock.json'));
  assert.deepEqual(pkgs.map((p) => `${p.name}@${p.version}`), ['lodash@4.17.15']);
  assert.deepEqual(checkIntegrity(pkgs), [], 'the tarball URL names the real package');
});

test('pnpm lockfile v5.4 (pnpm 7): packages installed with peers keep their real name and version', () => {
  // v5 keys are "/name/version_peers" ("/react-dom/17.0.2_react@17.0.2", "/@s/n/1.0.0_<hash>"): read
  // as name@version they named no real package, so their advisories were never looked up.
  const { graph, packages } = summary(join(PROJECTS, 'peers', 'pnpm-v5'));
  assert.equal(graph.format, 'pnpm-v6');
  const set = new Set(packages.map((p) => `${p.name}@${p.version}`));
  for (const expected of ['react-dom@17.0.2', 'react@17.0.2', '@testing-library/react@12.1.5', 'minimist@1.2.0', '@testing-library/dom@8.20.1']) assert.ok(set.has(expected), expected);
  for (const pkg of packages) {
    assert.match(pkg.name, /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/, pkg.name);
    assert.match(pkg.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, `${pkg.name}@${pkg.version}`);
  }
  assert.equal(packages.find((p) => p.name === '@testing-library/react')!.dev, true);
  assert.equal(packages.find((p) => p.name === 'react-dom')!.dev, false);
});

test('yarn berry: a patched scoped package is still the registry package underneath', () => {
  // "patch:@types/ms@npm%3A0.7.34#..." was split at the scope's "@", so the patched copy read as a
  // git dependency (a false lockfile/git-dependency finding on every `yarn patch` of a scoped package).
  const { graph, packages } = summary(join(PROJECTS, 'patched', 'berry'));
  assert.equal(graph.format, 'yarn-berry');
  const copies = [...graph.nodes.values()].filter((n) => n.name === '@types/ms');
  assert.equal(copies.length, 2, 'the npm copy and the patched copy');
  for (const node of copies) assert.equal(node.source, 'registry', node.id);
  assert.deepEqual(packages.map((p) => `${p.name}@${p.version}`), ['@types/ms@0.7.34', 'ms@2.0.0']);
  assert.deepEqual(checkIntegrity(packages).map((i) => `${i.rule} ${i.package.name}`), []);
});

test('strict shapes: a declared lockfile version with the wrong structure is ERR_LOCKFILE_INVALID naming file and pointer, in every format', () => {
  const npmEntry = (entry: unknown) => JSON.stringify({ lockfileVersion: 3, packages: { '': { dependencies: { a: '1.0.0' } }, 'node_modules/a': entry } });
  const cases: Array<[string, string, string, RegExp]> = [
    // npm: the cases first (each used to read as an empty v1 lockfile: 0 packages, exit 0).
    ['package-lock.json', '{"lockfileVersion": 3}', '/packages', /lockfileVersion 3: "packages" must be an object, not missing/],
    ['package-lock.json', '{"lockfileVersion": 3, "packages": "node_modules/a"}', '/packages', /not a string/],
    ['package-lock.json', '{"lockfileVersion": 2, "packages": [], "dependencies": {}}', '/packages', /not an array/],
    ['package-lock.json', npmEntry({ version: 1 }), '/packages/node_modules~1a/version', /"version" must be a string, not a number/],
    ['package-lock.json', npmEntry({ version: '1.0.0', dependencies: ['b'] }), '/packages/node_modules~1a/dependencies', /must be an object of strings, not an array/],
    ['package-lock.json', npmEntry({ version: '1.0.0', dependencies: { b: 2 } }), '/packages/node_modules~1a/dependencies/b', /"b" must be a string/],
    ['package-lock.json', npmEntry({ version: '1.0.0', integrity: ['sha512-x'] }), '/packages/node_modules~1a/integrity', /must be a string/],
    ['package-lock.json', '{"lockfileVersion": 1, "dependencies": []}', '/dependencies', /not an array/],
    ['package-lock.json', '{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0", "requires": ["b"]}}}', '/dependencies/a/requires', /object of strings/],
    ['package-lock.json', '{"lockfileVersion": 1, "dependencies": {"a": {"version": "1.0.0", "dependencies": "b"}}}', '/dependencies/a/dependencies', /must be an object/],
    // pnpm
    ['pnpm-lock.yaml', "lockfileVersion: '9.0'\npackages: [a]\n", '/packages', /"packages" must be an object, not an array/],
    ['pnpm-lock.yaml', "lockfileVersion: '9.0'\nimporters:\n  .: {}\npackages:\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\n", '/snapshots', /"packages" without "snapshots"/],
    ['pnpm-lock.yaml', "lockfileVersion: '9.0'\nimporters:\n  .: {}\npackages:\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\nsnapshots:\n  b@1.0.0: {}\n", '/snapshots/b@1.0.0', /no "packages" entry "b@1\.0\.0"/],
    ['pnpm-lock.yaml', "lockfileVersion: '9.0'\nimporters: x\n", '/importers', /must be an object, not a string/],
    ['pnpm-lock.yaml', "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      a: {specifier: ^1}\n", '/importers/./dependencies/a/version', /"a" has no version/],
    ['pnpm-lock.yaml', "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: sha512-x\n", '/packages/~1a@1.0.0/resolution', /must be an object, not a string/],
    ['pnpm-lock.yaml', "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {integrity: sha512-x}\n    dependencies: [b]\n", '/packages/~1a@1.0.0/dependencies', /object of strings/],
    // yarn classic and berry (pointers address an entry by its key)
    ['yarn.lock', '# yarn lockfile v1\na@^1:\n  version "1.0.0"\n  dependencies "b"\n', '/a@^1/dependencies', /"dependencies" must be an object of strings, not a string/],
    ['yarn.lock', '# yarn lockfile v1\na@^1:\n  resolved "https://registry.yarnpkg.com/a/-/a-1.0.0.tgz"\n', '/a@^1/version', /has no version/],
    ['yarn.lock', '__metadata:\n  version: 8\n"a@npm:^1":\n  version: 1.0.0\n  resolution: "a@npm:1.0.0"\n  dependencies: [b]\n', '/a@npm:^1/dependencies', /object of strings, not an array/],
    ['yarn.lock', '__metadata: 8\n"a@npm:^1":\n  version: 1.0.0\n  resolution: "a@npm:1.0.0"\n', '/__metadata', /must be an object/],
    ['yarn.lock', '__metadata:\n  version: 8\n"a@npm:^1":\n  version: 1.0.0\n  resolution: "a@npm:1.0.0"\n  checksum: [x]\n', '/a@npm:^1/checksum', /must be a string/],
    // bun
    ['bun.lock', '{"lockfileVersion": 1, "workspaces": {"": {}}, "packages": []}', '/packages', /not an array/],
    ['bun.lock', '{"lockfileVersion": 1, "packages": {}}', '/workspaces', /"workspaces" must be an object, not missing/],
    ['bun.lock', '{"lockfileVersion": 1, "workspaces": {"": {"dependencies": ["a"]}}, "packages": {}}', '/workspaces//dependencies', /object of strings/],
    ['bun.lock', '{"lockfileVersion": 1, "workspaces": {"": {}}, "packages": {"a": ["a@1.0.0", "", {"dependencies": {"b": 1}}, "sha512-x"]}}', '/packages/a/2/dependencies/b', /must be a string/],
    ['bun.lock', '{"lockfileVersion": "1", "workspaces": {"": {}}, "packages": {}}', '/lockfileVersion', /unsupported lockfileVersion "1"/],
  ];
  for (const [name, text, pointer, what] of cases) {
    assert.throws(
      () => parseLockfile(text, name),
      (error: any) => {
        assert.equal(error.code, 'ERR_LOCKFILE_INVALID', `${name} ${text}: ${error.stack}`);
        assert.equal(error.details.file, name);
        assert.equal(error.details.pointer, pointer, `${name} ${text}: ${error.message}`);
        assert.ok(error.message.startsWith(`${name} at ${pointer}: `), error.message);
        assert.match(error.message, what);
        return true;
      },
    );
  }
});
