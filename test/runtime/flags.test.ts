import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { canonicalOption, flagsOfConfigFile, interpretFlags, isWirelockRegister, nodeFlagsOfCommandLine, parseEnviron, splitNodeOptions } from '../../src/runtime/flags.js';
import { allowedPath, allowedPreload, downgrade, isBlocking, makeFinding, packageOf, resolveAllowEntries } from '../../src/runtime/findings.js';

test('splitNodeOptions follows Node: spaces only, double quotes, escapes inside quotes', () => {
  assert.deepEqual(splitNodeOptions('--require ./a.cjs  --import="./b c.mjs" -r "x\\"y"'), ['--require', './a.cjs', '--import=./b c.mjs', '-r', 'x"y']);
  assert.deepEqual(splitNodeOptions('--report-dir=/tmp\t--report-dir --require=./evil.cjs'), ['--report-dir=/tmp\t--report-dir', '--require=./evil.cjs']);
  assert.deepEqual(splitNodeOptions('-r "" ./evil.cjs'), ['-r', './evil.cjs']);
  assert.deepEqual(splitNodeOptions(''), []);
  assert.deepEqual(splitNodeOptions(undefined), []);
});

test('splitNodeOptions reads random NODE_OPTIONS exactly as the running Node does', () => {
  // Node's own reading, observed through the values it collected for --conditions.
  const oracle = "console.log(JSON.stringify(require('internal/options').getOptionValue('--conditions')))";
  const pieces = ['a', 'b', ' ', '  ', '\t', '\n', '\u00a0', '"', '\\', '--conditions=', '-C '];
  let seed = 7;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  let compared = 0;
  for (let round = 0; round < 60; round++) {
    let value = '--conditions=';
    for (let i = 0, n = 3 + random(10); i < n; i++) value += pieces[random(pieces.length)];
    const run = spawnSync(process.execPath, ['--expose-internals', '-e', oracle], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: value } });
    if (run.status !== 0) continue; // Node refused this NODE_OPTIONS: no process ever runs with it
    compared++;
    // Node reads NODE_OPTIONS like a command line: its options end at the first argument that is not one.
    const ours = nodeFlagsOfCommandLine(splitNodeOptions(value));
    const conditions: string[] = [];
    for (let i = 0; i < ours.length; i++) {
      const { name, inline } = canonicalOption(ours[i]!);
      assert.equal(name, '--conditions', `${JSON.stringify(value)}: we read ${JSON.stringify(ours)}`);
      conditions.push(inline ?? ours[++i]!);
    }
    assert.deepEqual(conditions, JSON.parse(run.stdout), JSON.stringify(value));
  }
  assert.ok(compared >= 20, `only ${compared} strings Node accepted`);
});

test('nodeFlagsOfCommandLine stops at the script and keeps flag values', () => {
  assert.deepEqual(nodeFlagsOfCommandLine(['-r', 'x.cjs', '--import', 'y.mjs', '--inspect=0', 'app.js', '--require', 'not-a-node-flag']), ['-r', 'x.cjs', '--import', 'y.mjs', '--inspect=0']);
  assert.deepEqual(nodeFlagsOfCommandLine(['app.js']), []);
});

test('nodeFlagsOfCommandLine: every option of the running Node that takes the next argument keeps the flags after it', () => {
  // Node's own option table (types as Node names them), read from this very Node.
  const script = `
    const { getCLIOptionsInfo } = require('internal/options');
    const { types } = require('internal/test/binding').internalBinding('options');
    const name = Object.fromEntries(Object.entries(types).map(([k, v]) => [v, k]));
    const { options, aliases } = getCLIOptionsInfo();
    const valued = [...options].filter(([, info]) => !['kNoOp', 'kV8Option', 'kBoolean'].includes(name[info.type])).map(([flag]) => flag);
    const valuedAliases = [...aliases].filter(([alias, expansion]) => !alias.endsWith('=') && !alias.includes(' ') && expansion.length > 0 && valued.includes(expansion[expansion.length - 1]) && (expansion.length === 1 || expansion[0] !== '--')).map(([alias]) => alias);
    console.log(JSON.stringify({ valued, valuedAliases }));`;
  const run = spawnSync(process.execPath, ['--expose-internals', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const { valued, valuedAliases } = JSON.parse(run.stdout) as { valued: string[]; valuedAliases: string[] };
  assert.ok(valued.includes('--import') && valued.includes('--unhandled-rejections'), 'the table was read');
  for (const flag of [...valued, ...valuedAliases]) {
    if (flag.startsWith('[')) continue; // Node's internal placeholders, not command-line options
    // Node special-cases these: bare, they name node.config.json (checked on 24.22: the next
    // argument is the script), so only `=file` gives them a value.
    if (flag === '--experimental-default-config-file' || flag === '--experimental-config-file') continue;
    assert.deepEqual(nodeFlagsOfCommandLine([flag, 'VALUE', '--import', 'x.mjs', 'app.js']), [flag, 'VALUE', '--import', 'x.mjs'], flag);
  }
  // V8 options never take a separate value; a boolean does not either.
  assert.deepEqual(nodeFlagsOfCommandLine(['--max-old-space-size=64', '--expose-gc', 'app.js', '--import', 'y']), ['--max-old-space-size=64', '--expose-gc']);
  // --prof-process hands the rest to the log processor.
  assert.deepEqual(nodeFlagsOfCommandLine(['--prof-process', '--import', 'x.mjs']), ['--prof-process']);
});

test('config files: nodeOptions as flags; a byte-order mark is Node\'s too; two nodeOptions cannot be read as Node read them', () => {
  assert.deepEqual(flagsOfConfigFile('{"nodeOptions":{"require":["./a.cjs","./b.cjs"],"inspect":true,"max-http-header-size":8192}}'), ['--require=./a.cjs', '--require=./b.cjs', '--inspect', '--max-http-header-size=8192']);
  // readText reads latin1: the mark arrives as three characters.
  assert.deepEqual(flagsOfConfigFile('\u00EF\u00BB\u00BF{"nodeOptions":{"import":"./x.mjs"}}'), ['--import=./x.mjs']);
  assert.equal(flagsOfConfigFile('{"nodeOptions":{"require":"./evil.cjs"},"nodeOptions":{}}'), undefined);
  assert.equal(flagsOfConfigFile('not json'), undefined);
  assert.equal(flagsOfConfigFile('{"nodeOpt\\u0069ons":{"import":"/evil.mjs"},"nodeOptions":{}}'), undefined);
});

test('option names are read as Node reads them: underscores for dashes, aliases, =value', () => {
  assert.deepEqual(canonicalOption('--experimental_loader=./l.mjs'), { name: '--experimental-loader', inline: './l.mjs' });
  assert.deepEqual(canonicalOption('--loader'), { name: '--experimental-loader', inline: undefined });
  assert.deepEqual(canonicalOption('-r'), { name: '--require', inline: undefined });
  assert.deepEqual(canonicalOption('--expose_internals=1'), { name: '--expose-internals', inline: '1' });
  const parsed = interpretFlags(['--experimental_loader', 'a.mjs', '--loader=b.mjs', '--tls_keylog', '/k', '--inspect_brk=0', '--use_system_ca', '--unhandled_rejections', 'strict', '--import', 'c.mjs']);
  assert.deepEqual(parsed.preloads, [
    { flag: '--experimental-loader', value: 'a.mjs' },
    { flag: '--experimental-loader', value: 'b.mjs' },
    { flag: '--import', value: 'c.mjs' },
  ]);
  assert.deepEqual(parsed.keylog, ['/k']);
  assert.deepEqual(parsed.inspect, ['--inspect_brk=0']);
  assert.deepEqual(parsed.caStore, ['--use-system-ca']);
  assert.deepEqual(nodeFlagsOfCommandLine(['--unhandled_rejections', 'strict', '--import', 'x.mjs', 'app.js']), ['--unhandled_rejections', 'strict', '--import', 'x.mjs']);
});

test('interpretFlags finds preloads, inspector, keylog, CA store and env proxy flags', () => {
  const parsed = interpretFlags(['-r', 'a', '--require=b', '--import', 'c', '--experimental-loader', 'd', '--inspect-brk', '--tls-keylog=/k', '--use-system-ca', '--use-env-proxy', '--stack-size', '900']);
  assert.deepEqual(parsed.preloads, [
    { flag: '--require', value: 'a' },
    { flag: '--require', value: 'b' },
    { flag: '--import', value: 'c' },
    { flag: '--experimental-loader', value: 'd' },
  ]);
  assert.deepEqual(parsed.inspect, ['--inspect-brk']);
  assert.deepEqual(parsed.keylog, ['/k']);
  assert.deepEqual(parsed.caStore, ['--use-system-ca']);
  assert.equal(parsed.useEnvProxy, true);
});

test('parseEnviron reads NUL-separated pairs, values with "="', () => {
  assert.deepEqual(parseEnviron('A=1\0NODE_OPTIONS=--require x=y\0\0'), { A: '1', NODE_OPTIONS: '--require x=y' });
  // Two entries of one name: getenv(), and so Node, reads the first.
  assert.deepEqual(parseEnviron('NODE_OPTIONS=--import ./evil.mjs\0NODE_OPTIONS=\0'), { NODE_OPTIONS: '--import ./evil.mjs' });
});

test('isWirelockRegister accepts the package specifier and this installation only', () => {
  const own = ['/opt/app/node_modules/wirelock/dist/runtime/register.js'];
  const resolve = (value: string) => (value.startsWith('/') ? value : `/opt/app/${value}`);
  assert.equal(isWirelockRegister('wirelock/register', own, resolve), true);
  assert.equal(isWirelockRegister('node_modules/wirelock/dist/runtime/register.js', own, resolve), true);
  assert.equal(isWirelockRegister('file:///opt/app/node_modules/wirelock/dist/runtime/register.js', own, resolve), true);
  // Same file name elsewhere is not wirelock.
  assert.equal(isWirelockRegister('/tmp/evil/runtime/register.js', own, resolve), false);
});

test('packageOf names the innermost package of a script URL', () => {
  assert.equal(packageOf('file:///app/node_modules/@opentelemetry/instrumentation-http/build/src/http.js'), '@opentelemetry/instrumentation-http');
  assert.equal(packageOf('file:///app/node_modules/a/node_modules/b/index.js'), 'b');
  assert.equal(packageOf('file:///app/src/index.js'), undefined);
  assert.equal(packageOf(undefined), undefined);
});

test('allow-list: known names map to paths, unknown names allow nothing, downgrade keeps the original severity', () => {
  const entries = resolveAllowEntries(['opentelemetry', 'not-a-known-tool']);
  assert.equal(allowedPath(entries, 'file:///app/node_modules/@opentelemetry/instrumentation-http/build/src/http.js'), 'opentelemetry');
  assert.equal(allowedPath(entries, 'file:///app/node_modules/evil-otel/index.js'), undefined);
  assert.equal(allowedPath(entries, 'file:///app/node_modules/not-a-known-tool/index.js'), undefined);
  const finding = makeFinding('hooked-api', 'high', 'x', {}, 'tls.connect');
  assert.equal(finding.key, 'hooked-api:tls.connect');
  assert.equal(isBlocking(finding, 'high'), true);
  assert.equal(isBlocking(finding, 'critical'), false);
  const allowed = downgrade(finding, 'opentelemetry');
  assert.equal(allowed.severity, 'info');
  assert.equal(allowed.evidence.originalSeverity, 'high');
  assert.equal(isBlocking(allowed, 'info'), false);
});

test('allow-list paths: nested packages must all belong to the tool (no smuggled fake in bundledDependencies)', () => {
  const entries = resolveAllowEntries(['opentelemetry', 'undici-mock', 'nock']);
  assert.equal(allowedPath(entries, 'file:///app/node_modules/@opentelemetry/sdk-node/node_modules/@opentelemetry/instrumentation/build/x.js'), 'opentelemetry');
  assert.equal(allowedPath(entries, 'file:///app/node_modules/@opentelemetry/instrumentation/node_modules/shimmer/index.js'), 'opentelemetry');
  assert.equal(allowedPath(entries, 'file:///app/node_modules/evil/node_modules/@opentelemetry/instrumentation-http/build/src/http.js'), undefined);
  assert.equal(allowedPath(entries, 'file:///app/node_modules/evil/node_modules/undici/lib/mock/mock-agent.js'), undefined);
  assert.equal(allowedPath(entries, 'file:///app/node_modules/undici/lib/mock/mock-agent.js'), 'undici-mock');
  assert.equal(allowedPath(entries, 'file:///app/node_modules/nock/node_modules/@mswjs/interceptors/lib/node/x.cjs'), 'nock');
  assert.equal(allowedPath(entries, 'file:///app/node_modules/.pnpm/@opentelemetry+instrumentation-http@0.5.0/node_modules/@opentelemetry/instrumentation-http/build/src/http.js'), 'opentelemetry');
});

test('allow-list preloads: bare specifiers and files inside the tool, not paths that merely contain the name', () => {
  const entries = resolveAllowEntries(['opentelemetry', 'tsx']);
  assert.equal(allowedPreload(entries, '@opentelemetry/auto-instrumentations-node/register'), 'opentelemetry');
  assert.equal(allowedPreload(entries, 'tsx'), 'tsx');
  // `..` leaves the allowed package (found by the second start-up review): never allowed.
  assert.equal(allowedPreload(entries, './node_modules/tsx/dist/loader.mjs'), 'tsx');
  assert.equal(allowedPreload(entries, './node_modules/tsx/../../evil.cjs'), undefined);
  assert.equal(allowedPreload(entries, 'tsx/../../evil.cjs'), undefined);
  assert.equal(allowedPreload(entries, 'file:///app/node_modules/tsx/%2e%2e/%2e%2e/evil.cjs'), undefined);
  // Third review: %2e%2e in a relative --import, and a POSIX file name holding backslashes.
  assert.equal(allowedPreload(entries, './node_modules/tsx/%2e%2e/%2e%2e/evil.mjs'), undefined);
  assert.equal(allowedPreload(entries, 'tsx/%2e%2e/%2e%2e/evil.mjs'), undefined);
  if (process.platform !== 'win32') assert.equal(allowedPreload(entries, './x\\..\\node_modules\\tsx\\a.cjs'), undefined);
  assert.equal(allowedPreload(entries, '/app/node_modules/tsx/./dist/../../tsx/dist/x.cjs'), 'tsx');
  assert.equal(allowedPreload(entries, '/app/node_modules/@opentelemetry/auto-instrumentations-node/build/src/register.js'), 'opentelemetry');
  assert.equal(allowedPreload(entries, '/tmp/@opentelemetry/evil.js'), undefined);
  assert.equal(allowedPreload(entries, './tsx-but-not-really.cjs'), undefined);
  assert.equal(allowedPreload(entries, 'tsx-evil'), undefined);
});
