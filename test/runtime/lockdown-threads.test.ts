// Threads started under lockdown get fresh, unguarded built-ins: the Worker guard must be the only
// way to start one (no original class reachable from it), and Node's module-hooks thread
// (module.register) counts as a worker. Lockdown runs in this very process where only a finding
// is checked (default blockAt "high": workers are reported, not refused), in a child process with
// a clean environment where a refusal under blockAt "medium" is checked against a loopback C2.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import workerThreads from 'node:worker_threads';
import { lockdown } from '../../src/runtime/lockdown.js';
import { attack, labForThisFile, runApp } from './support.js';

const lab = labForThisFile();
const OriginalWorker = Worker;

/** A worker that exits at once, named by a data: URL so that each start is its own finding. */
function startWorker(start: (url: URL) => Worker, label: string): Promise<Worker> {
  const worker = start(new URL(`data:text/javascript,/*${label}*/`));
  return new Promise((resolve) => worker.once('exit', () => resolve(worker)));
}

describe('Worker guard', { concurrency: false }, () => {
  test('no path from the guard or from a worker leads to the original class; instanceof holds before, during and after; release() restores', async () => {
    const before = await startWorker((url) => new Worker(url), 'before');
    const handle = lockdown(lab.policy, { allow: { hookers: ['tsx'] } });
    let during: Worker;
    try {
      const Guard = workerThreads.Worker;
      assert.notEqual(Guard, OriginalWorker);
      // Every way a dependency could reach a Worker class under lockdown gives the guard (or no worker class).
      const reachable: Array<[string, unknown]> = [
        ['worker_threads.Worker', Guard],
        ['Object.getPrototypeOf(Worker)', Object.getPrototypeOf(Guard)],
        ['Worker.prototype.constructor', Guard.prototype.constructor],
        ['existing worker.constructor', before.constructor],
        ['Object.getPrototypeOf(existing worker).constructor', Object.getPrototypeOf(before).constructor],
      ];
      for (const [path, value] of reachable) assert.notEqual(value, OriginalWorker, path);
      assert.equal(Object.getPrototypeOf(Guard), EventEmitter);
      assert.equal(before.constructor, Guard);
      assert.equal(Guard.prototype, OriginalWorker.prototype);
      assert.throws(() => (Guard as unknown as () => void)(), TypeError);

      during = await startWorker((url) => new Guard(url), 'guard');
      await startWorker((url) => new (class extends Guard {})(url), 'subclass');
      await startWorker((url) => Reflect.construct(Guard, [url]) as Worker, 'reflect');
      await startWorker((url) => new (before.constructor as typeof Worker)(url), 'existing-constructor');
      const started = handle.findings().filter((finding) => finding.id === 'worker-started').map((finding) => String(finding.evidence.worker));
      assert.deepEqual(started.map((source) => /\/\*(\w[\w-]*)\*\//.exec(decodeURIComponent(source))?.[1]).sort(), ['existing-constructor', 'guard', 'reflect', 'subclass']);
      for (const worker of [before, during]) {
        assert.ok(worker instanceof Guard);
        assert.ok(worker instanceof OriginalWorker);
      }
    } finally {
      handle.release();
    }
    assert.equal(workerThreads.Worker, OriginalWorker);
    assert.equal(OriginalWorker.prototype.constructor, OriginalWorker);
    const after = await startWorker((url) => new Worker(url), 'after');
    for (const worker of [before, during!, after]) assert.ok(worker instanceof OriginalWorker);
  });

  test('a Worker taken from the guard\'s prototype chain, its prototype\'s constructor, a subclass, Reflect.construct: refused under blockAt "medium", C2 gets 0 bytes; positive control', async () => {
    lab.reset();
    const env = { ...lab.env({ DEPENDENCY: attack('worker-paths.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), LOCKDOWN: 'block', BLOCK_AT: 'medium' };
    const refused = await runApp({ env });
    assert.deepEqual(refused.dependency, {
      outcomes: {
        'Worker': 'ERR_ENV_COMPROMISED',
        // The guard's prototype is EventEmitter's: constructing it starts no thread.
        'Object.getPrototypeOf(Worker)': 'not a worker',
        'Worker.prototype.constructor': 'ERR_ENV_COMPROMISED',
        'subclass': 'ERR_ENV_COMPROMISED',
        'Reflect.construct': 'ERR_ENV_COMPROMISED',
      },
      prototypeOfWorker: 'EventEmitter',
    });
    assert.equal(refused.findings.find((f) => f.key === 'worker-started:(eval code)')?.severity, 'medium');
    assert.match(refused.stderr, /WIRELOCK_TAMPER/);
    assert.equal(lab.c2.connections, 0);
    // Positive control: without lockdown every worker class starts a thread that reaches the C2.
    lab.reset();
    const control = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('worker-paths.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
    assert.deepEqual(control.dependency, {
      outcomes: { 'Worker': 'sent', 'Object.getPrototypeOf(Worker)': 'not a worker', 'Worker.prototype.constructor': 'sent', 'subclass': 'sent', 'Reflect.construct': 'sent' },
      prototypeOfWorker: 'EventEmitter',
    });
    assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
  });
});

describe('module.register after lockdown (Node\'s module-hooks thread)', { concurrency: false }, () => {
  const PATHS = ['import { register }', 'require(module).register', 'getBuiltinModule(module).register'];

  test('every name of module.register: a worker-started finding with its caller and a WIRELOCK_TAMPER warning; refused under blockAt "medium", C2 gets 0 bytes; positive control', async () => {
    lab.reset();
    const env = { ...lab.env({ DEPENDENCY: attack('loader-thread.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), LOCKDOWN: 'block' };
    const reported = await runApp({ env });
    assert.deepEqual(reported.dependency, { outcomes: Object.fromEntries(PATHS.map((path) => [path, 'registered'])) });
    const started = reported.findings.filter((f) => f.key.startsWith('worker-started:module.register('));
    assert.equal(started.length, PATHS.length, JSON.stringify(reported.findings.map((f) => f.key)));
    for (const finding of started) {
      assert.equal(finding.severity, 'medium');
      assert.match(String(finding.evidence.startedBy), /loader-thread\.mjs:\d+:\d+$/);
    }
    assert.match(reported.stderr, /WIRELOCK_TAMPER.*worker-started:module\.register/);
    // The gap the finding exists for: the hooks thread's socket is not under the policy.
    assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
    lab.reset();
    const refused = await runApp({ env: { ...env, BLOCK_AT: 'medium' } });
    assert.deepEqual(refused.dependency, { outcomes: Object.fromEntries(PATHS.map((path) => [path, 'ERR_ENV_COMPROMISED'])) });
    assert.equal(lab.c2.connections, 0);
    // Positive control: without lockdown each registered hook's initialize() reaches the C2.
    lab.reset();
    const control = await runApp({ env: { ...lab.env({ DEPENDENCY: attack('loader-thread.mjs'), SECRET_TOKEN: 'ENV-TOKEN-0042' }), NODE_EXTRA_CA_CERTS: lab.legitRootFile } });
    assert.deepEqual(control.dependency, { outcomes: Object.fromEntries(PATHS.map((path) => [path, 'registered'])) });
    assert.equal(lab.c2.connections, PATHS.length);
    assert.ok(lab.c2.captured.includes('ENV-TOKEN-0042'));
  });

  test('release() gives node:module its own register back (and to ESM importers)', async () => {
    const moduleExports = await import('node:module');
    const original = moduleExports.default.register;
    const handle = lockdown(lab.policy, { allow: { hookers: ['tsx'] } });
    try {
      assert.notEqual(moduleExports.default.register, original);
      assert.equal(moduleExports.register, moduleExports.default.register);
    } finally {
      handle.release();
    }
    assert.equal(moduleExports.default.register, original);
    assert.equal(moduleExports.register, original);
  });
});
