#!/usr/bin/env node
// The last step of `npm run build` (scripts/bundle.mjs runs it in a child process, with no
// NODE_OPTIONS): the V8 code caches shipped beside the start body and the runtime body
// (dist/chunks/*.<arch>.v8.cache). It loads the built package as an app does, runs what apps run at start
// (loadPolicySync and createAgent on a policy with pins and includeSubdomains, then lockdown() as
// wirelock/register runs it), and serializes the code V8 compiled for each body, the functions
// compiled lazily so far included (both bodies are vm.Scripts for that reason: vm.compileFunction
// can only serialize what it compiled eagerly, see docs/runtime.md). At run time the package only reads these files (the start
// chunk's module and src/runtime/deferred.ts as the build replaces it); V8 uses one only if it was
// made by the same V8 version with the same flags for a source of the same length, else the body
// compiles from source. Why and what V8 checks: docs/runtime.md, "Start-up cost".
import vm from 'node:vm';
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = join(new URL('..', import.meta.url).pathname, 'dist');
const START_BODY = join(dist, 'chunks/start-body.js');
const RUNTIME_BODY = join(dist, 'chunks/runtime-body.js');
// Named for the architecture (scripts/bundle.mjs reads <body>.<process.arch>.v8.cache).
const cacheOf = (body) => body.replace(/\.js$/, `.${process.arch}.v8.cache`);
// What the package checks before V8 sees the data (readCodeCache in scripts/bundle.mjs): its SHA-256, then the data.
const cacheFile = (data) => Buffer.concat([hash('sha256', data, 'buffer'), data]);

// The bodies as the package compiles them, both through vm.Script (taken from node:vm when the
// start chunk loads). A Proxy, not a subclass: the runtime loader takes the class Script extends
// from it, and a subclass would stand in that place.
const scripts = new Map();
// The runtime loader gives its script a prototype of its own with no methods: V8's createCachedData is
// called on it from the class.
const { createCachedData } = vm.Script.prototype;
vm.Script = new Proxy(vm.Script, {
  construct(target, args, newTarget) {
    const script = Reflect.construct(target, args, newTarget);
    scripts.set(args[1]?.filename, script);
    return script;
  },
});

const scratch = mkdtempSync(join(tmpdir(), 'wirelock-code-cache-'));
try {
  const policyFile = join(scratch, 'wirelock.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      version: 1,
      domains: {
        'api.example.com': {
          includeSubdomains: true,
          pins: [
            { pin: 'sha256/hxqRlPTu1bMS/0DITB1SSu0vd4u/8l8TjPgfaAp63Gc=', role: 'ca' },
            { pin: 'sha256/QXnt2YHvdHR3tJYmQIr0Paosp6t/nggsEGD4QJZ3Q0g=', role: 'ca' },
          ],
          pinsExpire: '2031-06-01',
        },
        'static.example.org': {},
      },
    }),
  );
  const { createAgent, loadPolicySync } = await import(pathToFileURL(join(dist, 'index.js')).href);
  createAgent(loadPolicySync(policyFile)).destroy();
  process.env.WIRELOCK_POLICY = policyFile;
  await import(pathToFileURL(join(dist, 'runtime/register.js')).href);

  const startUrl = pathToFileURL(START_BODY).href;
  const start = scripts.get(startUrl);
  if (!start) throw new Error(`code-cache: ${START_BODY} was not compiled through vm.Script`);
  writeFileSync(cacheOf(START_BODY), cacheFile(Reflect.apply(createCachedData, start, [])));
  const runtime = scripts.get(pathToFileURL(RUNTIME_BODY).href);
  if (!runtime) throw new Error(`code-cache: ${RUNTIME_BODY} was not compiled through vm.Script`);
  writeFileSync(cacheOf(RUNTIME_BODY), cacheFile(Reflect.apply(createCachedData, runtime, [])));
  // Which Node made them: V8 accepts a cache only from its own version (the tests read this).
  writeFileSync(
    join(dist, 'chunks/code-cache.json'),
    `${JSON.stringify({ node: process.version, v8: process.versions.v8, platform: process.platform, arch: process.arch, caches: [START_BODY, RUNTIME_BODY].map((body) => cacheOf(body).slice(dist.length + '/chunks/'.length)) }, null, 1)}\n`,
  );
  console.log(`code-cache: V8 code caches for ${process.version} (V8 ${process.versions.v8}) in ${join('dist', 'chunks')}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
