import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpretFlags, isWirelockRegister, nodeFlagsOfCommandLine, parseEnviron, splitNodeOptions } from '../../src/runtime/flags.js';
import { allowedPath, allowedPreload, downgrade, isBlocking, makeFinding, packageOf, resolveAllowEntries } from '../../src/runtime/findings.js';

test('splitNodeOptions follows Node: whitespace, double quotes, escapes inside quotes', () => {
  assert.deepEqual(splitNodeOptions('--require ./a.cjs  --import="./b c.mjs" -r "x\\"y"'), ['--require', './a.cjs', '--import=./b c.mjs', '-r', 'x"y']);
  assert.deepEqual(splitNodeOptions(''), []);
  assert.deepEqual(splitNodeOptions(undefined), []);
});

test('nodeFlagsOfCommandLine stops at the script and keeps flag values', () => {
  assert.deepEqual(nodeFlagsOfCommandLine(['-r', 'x.cjs', '--import', 'y.mjs', '--inspect=0', 'app.js', '--require', 'not-a-node-flag']), ['-r', 'x.cjs', '--import', 'y.mjs', '--inspect=0']);
  assert.deepEqual(nodeFlagsOfCommandLine(['app.js']), []);
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
  assert.equal(allowedPreload(entries, '/app/node_modules/@opentelemetry/auto-instrumentations-node/build/src/register.js'), 'opentelemetry');
  assert.equal(allowedPreload(entries, '/tmp/@opentelemetry/evil.js'), undefined);
  assert.equal(allowedPreload(entries, './tsx-but-not-really.cjs'), undefined);
  assert.equal(allowedPreload(entries, 'tsx-evil'), undefined);
});
