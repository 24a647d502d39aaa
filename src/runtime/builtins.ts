import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';
import type * as Net from 'node:net';
import type * as Inspector from 'node:inspector';
import type * as DiagnosticsChannel from 'node:diagnostics_channel';
import type * as Fs from 'node:fs';
import type * as Util from 'node:util';
import type * as WorkerThreads from 'node:worker_threads';
import type * as Dns from 'node:dns';
import type * as Dgram from 'node:dgram';
import nodeProcess from 'node:process';
import { codeRoot } from '../location.js';

/**
 * Node's own process object, from the module loader: `globalThis.process` is a plain variable any
 * earlier code can replace with a look-alike (an object whose argv0 or getBuiltinModule it wrote);
 * this one only a module loader hook registered by earlier code could substitute (a documented limit).
 */
export const realProcess: NodeJS.Process = nodeProcess;

/**
 * The real built-in modules. `process.getBuiltinModule` is not routed through module.register
 * loader hooks, so a hook that serves a fake `node:https` to `import` cannot fake these. They are
 * the same objects the app sees through `require`, so a monkey-patch on them is visible here: the
 * identities captured below, when this module loads, are the baseline.
 */
const reflectApply = Reflect.apply;
const getBuiltinModule = realProcess.getBuiltinModule;
function builtin<T>(id: string): T {
  // Taken at load, also for the modules `real` loads on first use (worker_threads at lockdown()):
  // a process.getBuiltinModule replaced in between would hand lockdown a look-alike to guard.
  return reflectApply(getBuiltinModule, realProcess, [id]) as T;
}

// Every object this module exports is frozen: each module path is importable by anyone (a module
// path re-exports its chunk), and a verdict computed from an object code can change is code's verdict
// (review 3, 2026-12-01: pristine.apply swapped for one call handed out Node's original TCP connect).
export const real = Object.freeze({
  http: builtin<typeof Http>('node:http'),
  https: builtin<typeof Https>('node:https'),
  tls: builtin<typeof Tls>('node:tls'),
  net: builtin<typeof Net>('node:net'),
  /**
   * Loaded when first used: the inspector checks take what they need from Node's inspector binding
   * below (node:inspector loads worker_threads with it: ~1 ms of CPU per start on Node 24, side by
   * side), and this module only where that binding is missing.
   */
  get inspector(): typeof Inspector {
    return builtin<typeof Inspector>('node:inspector');
  },
  diagnosticsChannel: builtin<typeof DiagnosticsChannel>('node:diagnostics_channel'),
  fs: builtin<typeof Fs>('node:fs'),
  util: builtin<typeof Util>('node:util'),
  /**
   * Loaded when first used (lockdown guards Worker), not at import: nothing of it is part of the
   * baseline (lockdown takes `Worker` when it starts), and an app that only uses createAgent never
   * needs it. getBuiltinModule returns the same module object every time.
   */
  get workerThreads(): typeof WorkerThreads {
    return builtin<typeof WorkerThreads>('node:worker_threads');
  },
  dns: builtin<typeof Dns>('node:dns'),
  /** node:module: its register() starts the module-hooks thread (lockdown guards it like a Worker). */
  module: builtin<typeof import('node:module')>('node:module'),
  /** Not part of the baseline either (UDP is guarded on its C++ handle): loaded when first used. */
  get dgram(): typeof Dgram {
    return builtin<typeof Dgram>('node:dgram');
  },
  /** Node's TLS client implementation: `_tls_wrap.connect` is the function `tls.connect` exports, another name for it. */
  tlsWrap: builtin<{ connect: typeof Tls.connect }>('_tls_wrap'),
  /** Node's fs functions look up `toNamespacedPath` here for every path they open (Node 20). */
  path: builtin<typeof import('node:path')>('node:path'),
});

/**
 * A function compiled right after the baseline: V8 numbers scripts in compilation order, so a
 * script whose id is above this one's was compiled after wirelock loaded and cannot be one of the
 * Node scripts the baseline came from, whatever URL it claims. The random source keeps V8 from
 * reusing a cached script.
 */
export const loadMarker: (() => unknown) | undefined = (() => {
  try {
    return new Function(`return ${Math.random()}`) as () => unknown;
  } catch {
    // --disallow-code-generation-from-strings: no marker, origins then rely on the source check.
    return undefined;
  }
})();

/** A session with V8's inspector, as Node's inspector binding makes one (the class node:inspector's Session wraps). */
export interface InspectorConnection {
  dispatch(message: string): void;
  disconnect(): void;
}
interface InspectorBinding {
  url?: () => string | undefined;
  Connection?: new (onMessage: (message: string) => void) => InspectorConnection;
}

/**
 * Node's inspector binding: what node:inspector's url() is (the same function) and what its Session
 * is built on. wirelock talks to the inspector through it with functions taken now: node:inspector's
 * Session.post looks up `dispatch` on the binding's Connection.prototype at every call, and that
 * object is reachable by any code (`process.binding('inspector').Connection`), so code running after
 * wirelock loaded could read and rewrite every message of the origin proof.
 */
const inspectorBinding: InspectorBinding | undefined = (() => {
  try {
    const binding = (realProcess as unknown as { binding?: (name: string) => unknown }).binding?.('inspector') as InspectorBinding | undefined;
    return typeof binding?.url === 'function' && typeof binding.Connection === 'function' ? binding : undefined;
  } catch {
    // A Node built without the inspector, or one without process.binding.
    return undefined;
  }
})();

const mapGet = Map.prototype.get;

/** Functions wirelock itself calls during checks, taken before application code can replace them. */
export const pristine = Object.freeze({
  /**
   * Calls to Node's original functions go through this captured Reflect.apply, never through
   * `fn.call(...)`: `Function.prototype.call` is resolved at call time, and code that replaces it
   * would receive the original, unguarded function as `this` (and could then connect with it).
   */
  apply: Reflect.apply,
  /** Constructs Node's original classes behind a guard (the Worker guard) without a replaceable Reflect.construct. */
  construct: Reflect.construct,
  openSync: real.fs.openSync,
  readSync: real.fs.readSync,
  closeSync: real.fs.closeSync,
  fstatSync: real.fs.fstatSync,
  /** Open flags for a file that may be a pipe: never wait for a writer. */
  readNonBlocking: real.fs.constants.O_RDONLY | real.fs.constants.O_NONBLOCK,
  utf8Slice: (Buffer.prototype as unknown as { utf8Slice: (start: number, end: number) => string }).utf8Slice,
  allocUnsafeSlow: Buffer.allocUnsafeSlow,
  /** Bytes to text without Buffer.prototype.toString (which code running later can replace): /proc, request lines. */
  latin1Slice: (Buffer.prototype as unknown as { latin1Slice: (start: number, end: number) => string }).latin1Slice,
  isProxy: real.util.types.isProxy,
  inspectorUrl: inspectorBinding ? inspectorBinding.url : (real.inspector.url as (() => string | undefined) | undefined),
  /** node:inspector's close(): the same function on process (`process._debugEnd`). */
  inspectorClose: (realProcess as unknown as { _debugEnd?: () => void })._debugEnd,
  getOwnPropertyDescriptor: Reflect.getOwnPropertyDescriptor,
  defineProperty: Reflect.defineProperty,
  deleteProperty: Reflect.deleteProperty,
  getPrototypeOf: Reflect.getPrototypeOf,
  getCACertificates: (real.tls as { getCACertificates?: (type: string) => string[] }).getCACertificates,
  hasSubscribers: real.diagnosticsChannel.hasSubscribers,
  /** Guards decide on an address literal with Node's isIP as it was at load, not as the module object holds it when they run. */
  isIP: real.net.isIP,
  isArray: Array.isArray,
  nextTick: realProcess.nextTick,
  emitWarning: realProcess.emitWarning,
  getBuiltinModule: builtin as (id: string) => unknown,
  NetSocket: real.net.Socket,
  StreamDuplex: builtin<typeof import('node:stream')>('node:stream').Duplex,
  Buffer,
  bufferFrom: Buffer.from,
  Promise,
  promiseReject: Promise.reject,
  setHas: Set.prototype.has,
});

/**
 * Node's own functions that lockdown's guards replace, taken at load. Never exported as values: every
 * module path is importable, and whoever holds one passes the guard around it (review 3, 2026-12-01:
 * the inspector's dispatch, read from the exported `loadTime`, ran Runtime.evaluate under lockdown).
 * Each is handed out once, to the runtime module that needs it, when the runtime checks load; a second
 * request, or a first one from other code, is an error, and then the runtime checks cannot load (fail
 * closed). `process.binding('natives')` is read here only, for nativeSource().
 */
const processBinding = (realProcess as unknown as { binding?: (name: string) => unknown }).binding;
const guardedOriginals = Object.freeze({
  /** V8 inspector sessions: lockdown guards Connection.prototype.dispatch (origin.ts). */
  inspectorDispatch: inspectorBinding?.Connection?.prototype.dispatch as InspectorConnection['dispatch'] | undefined,
  inspectorDisconnect: inspectorBinding?.Connection?.prototype.disconnect as InspectorConnection['disconnect'] | undefined,
  /** process.binding: lockdown refuses the network bindings through it (lockdown.ts). */
  processBinding,
  /** dns.lookup: lockdown's DNS guard checks every name; its own lookups compare answers with this one. */
  dnsLookup: real.dns.lookup,
});
const handedOut: Record<string, true> = Object.create(null);
export function takeGuardedOriginal<K extends keyof typeof guardedOriginals>(name: K): (typeof guardedOriginals)[K] {
  if (handedOut[name]) throw new Error(`wirelock: ${name}, taken at load, was already handed out (only wirelock's runtime checks take it, once)`);
  handedOut[name] = true;
  return guardedOriginals[name];
}

let nativesCache: Record<string, string> | null | undefined;
/** The source Node compiled its built-in module `id` from, or undefined where Node does not expose it. */
export function nativeSource(id: string): string | undefined {
  if (nativesCache === undefined) {
    try {
      nativesCache = (processBinding ? (pristine.apply(processBinding, realProcess, ['natives']) as Record<string, string> | undefined) : undefined) ?? null;
    } catch {
      nativesCache = null;
    }
  }
  const source = nativesCache?.[id];
  return typeof source === 'string' ? source : undefined;
}


/**
 * `read(fd)` on a file opened with the descriptor calls taken at load (never readFileSync, which
 * looks up other fs functions, and its options, on shared objects as it runs: an
 * `Object.prototype.buffer` accessor sends it down a path that calls `fs.openSync` from the module
 * object, Node 24). Undefined when the file cannot be opened or read.
 */
export function readOpenFile<T>(path: string, read: (fd: number) => T, flags: string | number = 'r'): T | undefined {
  let fd: number;
  try {
    fd = pristine.openSync(path, flags);
  } catch {
    return undefined;
  }
  try {
    return read(fd);
  } catch {
    return undefined;
  } finally {
    try {
      pristine.closeSync(fd);
    } catch {
      // Closing a descriptor we opened fails only if it is gone already.
    }
  }
}

/** A whole (regular) file as UTF-8 text, read and decoded with functions taken at load. */
export function readFileText(path: string): string | undefined {
  return readOpenFile(path, (fd) => {
    const size = pristine.fstatSync(fd).size;
    if (!(size >= 0 && size <= 0x4000000)) return undefined;
    const bytes = pristine.allocUnsafeSlow(size);
    let done = 0;
    while (done < size) {
      const count = pristine.readSync(fd, bytes, done, size - done, done);
      if (!(count > 0)) break;
      done += count;
    }
    return pristine.apply(pristine.utf8Slice, bytes, [0, done]);
  });
}

/**
 * JavaScript built-ins wirelock's checks compute with (its caches and baselines are Maps, WeakMaps
 * and Sets, hosts and flags go through String and RegExp methods, findings through Array methods),
 * as they were when wirelock loaded. Code that replaces one can make a check compute what it wants
 * (a WeakMap.get that answers "Node's own", a Map.get that answers "unchanged since load": second
 * review, 2026-12-01), so a replaced one is itself a finding, and the origin proof concludes nothing
 * while one is replaced. Not read per connection (too many for the gate's budget): at lockdown,
 * recheck(), inspectEnvironment() and whenever the origin proof runs.
 */
const INTRINSICS: ReadonlyArray<readonly [string, object, PropertyKey, unknown]> = Object.freeze(
  (
    [
      ['WeakMap.prototype.get', WeakMap.prototype, 'get'],
      ['WeakMap.prototype.set', WeakMap.prototype, 'set'],
      ['WeakMap.prototype.has', WeakMap.prototype, 'has'],
      ['Map.prototype.get', Map.prototype, 'get'],
      ['Map.prototype.set', Map.prototype, 'set'],
      ['Map.prototype.has', Map.prototype, 'has'],
      ['Set.prototype.has', Set.prototype, 'has'],
      ['Set.prototype.add', Set.prototype, 'add'],
      ['WeakSet.prototype.has', WeakSet.prototype, 'has'],
      ['WeakSet.prototype.add', WeakSet.prototype, 'add'],
      ['RegExp.prototype.exec', RegExp.prototype, 'exec'],
      ['RegExp.prototype.test', RegExp.prototype, 'test'],
      ['String.prototype.startsWith', String.prototype, 'startsWith'],
      ['String.prototype.endsWith', String.prototype, 'endsWith'],
      ['String.prototype.includes', String.prototype, 'includes'],
      ['String.prototype.slice', String.prototype, 'slice'],
      ['String.prototype.split', String.prototype, 'split'],
      ['String.prototype.toLowerCase', String.prototype, 'toLowerCase'],
      ['String.prototype.replace', String.prototype, 'replace'],
      ['String.prototype.trim', String.prototype, 'trim'],
      ['String.prototype.indexOf', String.prototype, 'indexOf'],
      ['Array.prototype.map', Array.prototype, 'map'],
      ['Array.prototype.filter', Array.prototype, 'filter'],
      ['Array.prototype.some', Array.prototype, 'some'],
      ['Array.prototype.every', Array.prototype, 'every'],
      ['Array.prototype.find', Array.prototype, 'find'],
      ['Array.prototype.includes', Array.prototype, 'includes'],
      ['Array.prototype.indexOf', Array.prototype, 'indexOf'],
      ['Array.prototype.push', Array.prototype, 'push'],
      ['Array.prototype.join', Array.prototype, 'join'],
      // for...of, spreads and destructuring of arrays (everywhere in the checks) run these two.
      ['Array.prototype[Symbol.iterator]', Array.prototype, Symbol.iterator],
      ['%ArrayIteratorPrototype%.next', Object.getPrototypeOf([][Symbol.iterator]()) as object, 'next'],
      ['Object.defineProperty', Object, 'defineProperty'],
      ['Object.getOwnPropertyDescriptor', Object, 'getOwnPropertyDescriptor'],
      ['Object.getPrototypeOf', Object, 'getPrototypeOf'],
      ['Object.keys', Object, 'keys'],
      ['Object.freeze', Object, 'freeze'],
      ['JSON.parse', JSON, 'parse'],
      ['JSON.stringify', JSON, 'stringify'],
      ['globalThis.String', globalThis, 'String'],
      ['globalThis.Number', globalThis, 'Number'],
      ['globalThis.Array', globalThis, 'Array'],
      ['globalThis.Object', globalThis, 'Object'],
      ['globalThis.Map', globalThis, 'Map'],
      ['globalThis.Set', globalThis, 'Set'],
      ['globalThis.WeakMap', globalThis, 'WeakMap'],
      ['globalThis.RegExp', globalThis, 'RegExp'],
      ['globalThis.JSON', globalThis, 'JSON'],
      ['globalThis.Reflect', globalThis, 'Reflect'],
      // What Node 20's fs opens a path through (also a watched slot): the origin proof's file check reads through it.
      ['path.toNamespacedPath', real.path, 'toNamespacedPath'],
    ] as const
  ).map(([name, target, key]) => Object.freeze([name, target, key, Reflect.getOwnPropertyDescriptor(target, key)?.value] as const)),
);

/** The names of the built-ins above that no longer hold their load-time value (an accessor counts). */
export function changedIntrinsics(): string[] {
  const changed: string[] = [];
  for (let index = 0; index < INTRINSICS.length; index++) {
    // Indexed reads, not destructuring: that would go through Array.prototype[Symbol.iterator].
    const entry = INTRINSICS[index]!;
    const descriptor = pristine.getOwnPropertyDescriptor(entry[1], entry[2]);
    if (!descriptor || !('value' in descriptor) || descriptor.value !== entry[3]) changed[changed.length] = entry[0];
  }
  return changed;
}

export const DISPATCHER_SYMBOL = Symbol.for('undici.globalDispatcher.1');

export type SlotKind = 'function' | 'agent' | 'dispatcher';

/** A property whose replacement changes where the process's network traffic goes. */
export interface Slot {
  name: string;
  target: object;
  key: PropertyKey;
  kind: SlotKind;
  /** Read through the prototype chain: the slot is usually inherited, and defining it is the hook. */
  inherited?: boolean;
  /** Watched by identity only, never trapped: a getter there would run on every call in the process. */
  watchOnly?: boolean;
}

export const SLOTS: readonly Slot[] = Object.freeze(
  ([
  { name: 'http.request', target: real.http, key: 'request', kind: 'function' },
  { name: 'http.get', target: real.http, key: 'get', kind: 'function' },
  { name: 'https.request', target: real.https, key: 'request', kind: 'function' },
  { name: 'https.get', target: real.https, key: 'get', kind: 'function' },
  { name: 'http.globalAgent', target: real.http, key: 'globalAgent', kind: 'agent' },
  { name: 'https.globalAgent', target: real.https, key: 'globalAgent', kind: 'agent' },
  { name: 'http.Agent.prototype.createConnection', target: real.http.Agent.prototype, key: 'createConnection', kind: 'function' },
  { name: 'https.Agent.prototype.createConnection', target: real.https.Agent.prototype, key: 'createConnection', kind: 'function' },
  { name: 'tls.connect', target: real.tls, key: 'connect', kind: 'function' },
  // The same function under its other name (`require('_tls_wrap')`, `process.getBuiltinModule('_tls_wrap')`).
  { name: '_tls_wrap.connect', target: real.tlsWrap, key: 'connect', kind: 'function' },
  { name: 'tls.checkServerIdentity', target: real.tls, key: 'checkServerIdentity', kind: 'function' },
  { name: 'tls.createSecureContext', target: real.tls, key: 'createSecureContext', kind: 'function' },
  ...('setDefaultCACertificates' in real.tls
    ? [{ name: 'tls.setDefaultCACertificates', target: real.tls, key: 'setDefaultCACertificates', kind: 'function' as const }]
    : []),
  { name: 'net.connect', target: real.net, key: 'connect', kind: 'function' },
  { name: 'net.createConnection', target: real.net, key: 'createConnection', kind: 'function' },
  { name: 'net.Socket.prototype.connect', target: real.net.Socket.prototype, key: 'connect', kind: 'function' },
  { name: 'net.Socket.prototype.write', target: real.net.Socket.prototype, key: 'write', kind: 'function', inherited: true },
  { name: 'tls.TLSSocket.prototype.write', target: real.tls.TLSSocket.prototype, key: 'write', kind: 'function', inherited: true },
  { name: 'globalThis.fetch', target: globalThis, key: 'fetch', kind: 'function' },
  // Not network functions, but whoever replaces them is handed every original function a guard
  // forwards to (as `this`) and can then call it unguarded; wirelock itself calls through a
  // captured Reflect.apply.
  { name: 'Function.prototype.call', target: Function.prototype, key: 'call', kind: 'function', watchOnly: true },
  { name: 'Function.prototype.apply', target: Function.prototype, key: 'apply', kind: 'function', watchOnly: true },
  { name: 'Function.prototype.bind', target: Function.prototype, key: 'bind', kind: 'function', watchOnly: true },
  { name: 'Reflect.apply', target: Reflect, key: 'apply', kind: 'function', watchOnly: true },
  // Node 20's fs opens every path through the path module's toNamespacedPath, looked up as it runs:
  // whoever replaces it chooses which file wirelock's /proc reads and the origin proof's file check see.
  { name: 'path.toNamespacedPath', target: real.path, key: 'toNamespacedPath', kind: 'function', watchOnly: true },
  { name: 'undici.globalDispatcher', target: globalThis, key: DISPATCHER_SYMBOL, kind: 'dispatcher' },
  ] as Slot[]).map((slot) => Object.freeze(slot)),
);

/** Reads a slot without running a getter twice or throwing on an odd descriptor. */
export function readSlot(slot: Slot): unknown {
  if (slot.inherited) return (slot.target as Record<PropertyKey, unknown>)[slot.key];
  const descriptor = pristine.getOwnPropertyDescriptor(slot.target, slot.key);
  if (!descriptor) return undefined;
  if ('value' in descriptor) return descriptor.value;
  try {
    return descriptor.get ? pristine.apply(descriptor.get, slot.target, []) : undefined;
  } catch {
    return undefined;
  }
}

/** Slot values when this module was evaluated: before the app when loaded by `wirelock/register`. */
const loadTimeValues = new Map(SLOTS.map((slot) => [slot.name, readSlot(slot)]));
/** What a slot held when this module was evaluated (a module-private map: no other code can change it). */
export function loadTimeValue(name: string): unknown {
  return pristine.apply(mapGet, loadTimeValues, [name]);
}

/**
 * The getter of a slot that is an own accessor. A getter can answer wirelock's reads with the
 * expected value and everyone else with a hook (it sees its caller's stack), so the getter itself
 * is what gets judged, not only what it returns.
 */
export function slotGetter(slot: Slot): PropertyDescriptor['get'] {
  if (!slot.inherited) return pristine.getOwnPropertyDescriptor(slot.target, slot.key)?.get;
  // An inherited slot is whatever the first prototype holding the key says.
  for (let holder: object | null = slot.target; holder; holder = pristine.getPrototypeOf(holder)) {
    const descriptor = pristine.getOwnPropertyDescriptor(holder, slot.key);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}

/** Getters of accessor slots at load (Node defines some slots, e.g. http.globalAgent, as accessors). */
const loadTimeGetters = new Map(SLOTS.map((slot) => [slot.name, slotGetter(slot)]));
export function loadTimeGetter(name: string): unknown {
  return pristine.apply(mapGet, loadTimeGetters, [name]);
}

/** The default CA list identity at load (Node >= 22.15): tls.setDefaultCACertificates replaces it. */
const loadTimeDefaultCas: readonly string[] | undefined = safeDefaultCas();
/** Whether Node's default CA list is still the array it was at load (tls.setDefaultCACertificates replaces it). */
export function defaultCasReplaced(current: readonly string[] | undefined): boolean {
  return current !== undefined && loadTimeDefaultCas !== undefined && current !== loadTimeDefaultCas;
}
/** A copy of that list (the array itself is Node's: the copy is what a finding compares). */
export function defaultCasAtLoad(): readonly string[] {
  return loadTimeDefaultCas ? Object.freeze(loadTimeDefaultCas.slice()) : [];
}

export function safeDefaultCas(): readonly string[] | undefined {
  try {
    return pristine.getCACertificates ? pristine.apply(pristine.getCACertificates, real.tls, ['default']) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the runtime checks (inspect.ts, origin.ts, lockdown.ts) take from Node when wirelock loads.
 * The built package compiles those modules only when `lockdown()` or `inspectEnvironment()` is first
 * called (scripts/bundle.mjs): the values they rely on are taken here, with the baseline, so code
 * that runs between `import 'wirelock'` and that call cannot hand them replacements.
 */
export const loadTime = Object.freeze((() => {
  const Connection = inspectorBinding?.Connection;
  const { fileURLToPath } = builtin<typeof import('node:url')>('node:url');
  return {
    InspectorConnection: Connection,
    // The inspector's messages are JSON: parsed and written with functions taken now.
    jsonParse: JSON.parse,
    jsonStringify: JSON.stringify,
    stringStartsWith: String.prototype.startsWith,
    functionToString: Function.prototype.toString,
    hrtime: realProcess.hrtime,
    allocBuffer: Buffer.alloc,
    X509Certificate: builtin<typeof import('node:crypto')>('node:crypto').X509Certificate,
    createRequire: real.module.createRequire,
    syncBuiltinESMExports: real.module.syncBuiltinESMExports,
    resolvePath: real.path.resolve,
    fileURLToPath,
    /**
     * wirelock/register's own file (the one preload the start-up check exempts), computed now: the
     * runtime checks are compiled at the first lockdown(), and URL getters and path functions are
     * objects any code could have changed by then.
     */
    ownRegisterPaths: (() => {
      const dir = fileURLToPath(new URL('runtime/', codeRoot));
      return Object.freeze([real.path.resolve(dir, 'register.js'), real.path.resolve(dir, 'register.ts')]);
    })(),
    /** The name the origin proof's probe takes on globalThis, unguessable by code that runs later. */
    originProbeKey: `__wirelock_origin_${Math.random().toString(36).slice(2)}`,
    /** Node's accessor for the global `process` (a replaced global is judged by its descriptor, never by reading it). */
    processGetter: Reflect.getOwnPropertyDescriptor(globalThis, 'process')?.get,
    /** The global object itself: `globalThis` is a name later scripts can shadow. */
    globalObject: globalThis as object,
  };
})());
