import { changedIntrinsics, loadMarker, loadTime, nativeSource, pristine, readFileText, takeGuardedOriginal, type InspectorConnection } from './builtins.js';
import { wirelockValues } from './own.js';
import { allowedPath, type AllowEntry } from './findings.js';

// Taken when wirelock loads (builtins.ts, through process.getBuiltinModule), not when this module is
// compiled.
const { fileURLToPath } = loadTime;

/**
 * Where a function was defined, as V8 knows it. Node's network APIs are JavaScript, and a wrapper
 * can fake `toString()`, `name` and `length`; it cannot fake the script V8 compiled it from. The
 * in-process inspector (no port is opened) reports `[[FunctionLocation]]`, `[[TargetFunction]]`
 * of bound functions and `[[Target]]` of proxies; Debugger.scriptParsed maps script ids to URLs.
 */
export type OriginKind = 'builtin' | 'user' | 'native' | 'bound' | 'proxy' | 'unknown';

export interface FunctionOrigin {
  kind: OriginKind;
  /** Script URL ("node:_tls_wrap", "file:///app/node_modules/x/index.js"). */
  url?: string;
  line?: number;
  column?: number;
  /** For bound functions and proxies: what they wrap. */
  target?: FunctionOrigin;
  /** For proxies: where the trap that runs on a call (apply, or the first trap) was defined. */
  handler?: FunctionOrigin;
  /**
   * A `node:` URL that is not Node's: why (compiled after wirelock loaded, a `//# sourceURL=`
   * comment, or a source that is not the one Node ships). The URL is whatever the code chose.
   */
  forged?: string;
  /** User code whose script is byte for byte the file its URL names (no sourceURL, no vm filename). */
  fileVerified?: boolean;
}

interface RemoteObject {
  type?: string;
  objectId?: string;
  value?: unknown;
}
interface InternalProperty {
  name: string;
  value?: RemoteObject;
}

// Taken when wirelock loads (builtins.ts), not when this module is compiled.
const { InspectorConnection: Connection, jsonParse, jsonStringify, stringStartsWith } = loadTime;
// Module-private: the only holder of the inspector's own dispatch (builtins.ts hands it out once).
const connectionDispatch = takeGuardedOriginal('inspectorDispatch');
const connectionDisconnect = takeGuardedOriginal('inspectorDisconnect');
const { originProbeKey: probeKey, globalObject } = loadTime;

/** True when the inspector is usable (a Node built without it, or without process.binding, has none). */
export const originAvailable = typeof Connection === 'function' && typeof connectionDispatch === 'function' && typeof connectionDisconnect === 'function';

interface InspectorMessage {
  id?: number;
  method?: string;
  params?: { scriptId: string; url: string; hasSourceURL?: boolean };
  result?: unknown;
  error?: { code?: number; message?: string };
}

/**
 * Origins never change for a plain or bound function (V8 fixes where it was compiled), so they are
 * cached: a re-check after an unrelated change (an environment variable) needs no inspector at all.
 * Proxies are never cached: their handler object can be edited.
 */
const originCache = new WeakMap<object, FunctionOrigin>();
/** Verdicts of the cheap proof, kept apart: a full check never reuses them. */
const provenCache = new WeakMap<object, FunctionOrigin>();

/**
 * Node's modules where the watched functions live (Node 20 and 24). Only an ordering hint for
 * `provenBuiltin`: a function is accepted only when its own text is found in Node's shipped source
 * of one of them at the very line and column V8 reports; a miss falls back to the full check.
 */
const NATIVE_MODULE_HINTS = [
  'net',
  'http',
  'https',
  '_http_agent',
  '_http_client',
  'tls',
  '_tls_wrap',
  '_tls_common',
  'internal/tls/wrap',
  'internal/tls/common',
  'internal/streams/writable',
  'internal/bootstrap/web/exposed-window-or-worker',
];
/**
 * Where `text`, found at `at` in `source`, puts the position V8 reports (line, column): the offset
 * of that position inside `text`, or -1 when it does not fall inside it.
 */
function offsetInText(source: string, at: number, text: string, line: number, column: number): number {
  // Counting newlines with split (one native call) is far cheaper than an indexOf loop over Node's
  // external source strings.
  const textLine = source.slice(0, at).split('\n').length - 1;
  const textColumn = at - (source.lastIndexOf('\n', at - 1) + 1);
  if (line < textLine) return -1;
  if (line === textLine) return column >= textColumn ? column - textColumn : -1;
  let lineStart = -1;
  for (let skipped = 0; skipped < line - textLine; skipped++) {
    lineStart = text.indexOf('\n', lineStart + 1);
    if (lineStart === -1) return -1;
  }
  return lineStart + 1 + column;
}
/** Script id -> the module its functions were last proven to come from (an ordering hint only). */
const moduleOfScript = new Map<string, string>();

export interface WithOriginsOptions {
  /**
   * Try the cheap proof first (no Debugger.enable): a function whose script predates wirelock and
   * whose own text is Node's shipped text at the line and column V8 reports is Node's own. Only for
   * processes where no code is known to have run before wirelock (see collectFindings): there the
   * full check below, which compares the whole script, is used from the start.
   */
  fast?: boolean;
  /** Values about to be judged: reached with one Runtime.evaluate instead of one each. */
  prefetch?: readonly unknown[];
}

/**
 * A short-lived in-process inspector session, opened only if some function's origin is not cached.
 * On the main thread `post` answers synchronously, so the whole probe is synchronous.
 * Debugger.enable (needed for script URLs and sources) hashes and replays every loaded script: the
 * expensive part, ~20 ms; the `fast` proof needs only Runtime calls (~0.1 ms per function).
 */
export function withOrigins<T>(body: (originOf: (value: unknown) => FunctionOrigin) => T, options: WithOriginsOptions = {}): T {
  // No verdict from a proof computed with replaced built-ins: every function is then "unknown"
  // (never Node's own, never an allow-listed tool), and the replacement is a finding of its own.
  if (!originAvailable || changedIntrinsics().length > 0) {
    return body(() => ({ kind: 'unknown' }));
  }
  let session: InspectorConnection | undefined;
  let debuggerEnabled = false;
  const scripts = new Map<string, { url: string; hasSourceURL: boolean }>();
  let watermark: number | undefined;
  // The inspector answers on the main thread before dispatch() returns: each call reads its reply.
  let nextId = 1;
  let reply: InspectorMessage | undefined;
  const onMessage = (message: string): void => {
    const parsed = jsonParse(message) as InspectorMessage;
    if (parsed.id !== undefined) reply = parsed;
    else if (parsed.method === 'Debugger.scriptParsed' && parsed.params) {
      scripts.set(parsed.params.scriptId, { url: parsed.params.url, hasSourceURL: parsed.params.hasSourceURL === true });
    }
  };
  const call = (method: string, params?: object): unknown => {
    const id = nextId++;
    reply = undefined;
    pristine.apply(connectionDispatch!, session, [jsonStringify(params ? { id, method, params } : { id, method })]);
    const answer = reply as InspectorMessage | undefined;
    if (answer?.id !== id) throw new Error(`the inspector did not answer ${method}`);
    if (answer.error) throw new Error(`${method}: ${answer.error.message ?? 'failed'} (${answer.error.code ?? 'no code'})`);
    return answer.result;
  };
  const open = (): void => {
    session = new Connection!(onMessage);
    // [[FunctionLocation]] needs no debugger: the script order is known before Debugger.enable.
    watermark = loadMarker ? Number(locationOf(evaluate(loadMarker).objectId)?.scriptId) : undefined;
  };
  const enableDebugger = (): void => {
    if (!session) open();
    debuggerEnabled = true;
    call('Debugger.enable');
  };
  const evaluate = (value: unknown): RemoteObject & { description?: string } => {
    // Runtime.evaluate needs a name to reach the value: a random slot on the global object, removed
    // at once. The global object and the functions that define and delete the slot are the ones taken
    // at load, and the expression reaches the global object as a sloppy function's `this`: the name
    // `globalThis` is a binding any script can shadow (`let globalThis = ...`) or replace.
    if (!pristine.defineProperty(globalObject, probeKey, { value, configurable: true, enumerable: false, writable: false })) return {};
    try {
      const evaluated = call('Runtime.evaluate', { expression: `(function () { return this; })()[${jsonStringify(probeKey)}]` }) as { result?: RemoteObject & { description?: string } };
      return evaluated.result ?? {};
    } finally {
      pristine.deleteProperty(globalObject, probeKey);
    }
  };
  let prefetched: Map<unknown, RemoteObject & { description?: string }> | undefined;
  const probe = (value: unknown): RemoteObject & { description?: string } => {
    if (!prefetched) {
      prefetched = new Map();
      const functions = [...new Set(options.prefetch ?? [])].filter((item) => typeof item === 'function' && !pristine.isProxy(item));
      if (functions.length > 1) {
        // The elements of one array, each as the inspector sees it (object id and V8's own text).
        const array = evaluate(functions);
        const elements = array.objectId ? (call('Runtime.getProperties', { objectId: array.objectId, ownProperties: true }) as { result?: Array<{ name: string; value?: RemoteObject & { description?: string } }> }).result ?? [] : [];
        for (const element of elements) {
          const index = Number(element.name);
          if (element.value?.objectId && Number.isInteger(index) && index >= 0 && index < functions.length) prefetched.set(functions[index], element.value);
        }
      }
    }
    return prefetched.get(value) ?? evaluate(value);
  };
  const internalsOf = (objectId: string): Map<string, RemoteObject | undefined> => {
    const props = call('Runtime.getProperties', { objectId, ownProperties: true }) as { internalProperties?: InternalProperty[] };
    return new Map((props.internalProperties ?? []).map((prop) => [prop.name, prop.value]));
  };
  const locationOf = (objectId: string | undefined): { scriptId: string; lineNumber: number; columnNumber: number } | undefined => {
    if (!objectId) return undefined;
    return internalsOf(objectId).get('[[FunctionLocation]]')?.value as { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
  };
  /**
   * The cheap proof that a function is Node's own, from facts the code cannot choose: V8 numbered
   * its script before wirelock's marker (so it predates wirelock), and its text as V8 holds it
   * (the inspector's description is V8's own Function.prototype.toString, which JavaScript cannot
   * replace) is Node's shipped source of a built-in module at exactly the line and column V8 reports
   * for it. No URL is believed: the module is found by content. Anything else (bound, proxy, a
   * later script, other text) is left to the full check.
   */
  const provenBuiltin = (remote: RemoteObject & { description?: string }): FunctionOrigin | undefined => {
    if (!remote.objectId || typeof remote.description !== 'string' || watermark === undefined || !nativesKnown()) return undefined;
    const internal = internalsOf(remote.objectId);
    if (internal.has('[[TargetFunction]]') || internal.has('[[Target]]')) return undefined;
    const location = internal.get('[[FunctionLocation]]')?.value as { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
    // V8's own functions (Function.prototype.call) have no script: what the full check says too.
    if (!location) return { kind: 'native' };
    if (!(Number(location.scriptId) <= watermark)) return undefined;
    const text = remote.description;
    const hinted = moduleOfScript.get(location.scriptId);
    for (const id of hinted ? [hinted, ...NATIVE_MODULE_HINTS] : NATIVE_MODULE_HINTS) {
      const source = nativeSource(id);
      if (source === undefined) continue;
      // V8 reports a function's position inside its text (at its parameters): the text must cover it.
      for (let at = source.indexOf(text); at !== -1; at = source.indexOf(text, at + 1)) {
        const inside = offsetInText(source, at, text, location.lineNumber, location.columnNumber);
        if (inside >= 0 && inside < text.length) {
          moduleOfScript.set(location.scriptId, id);
          return { kind: 'builtin', url: `node:${id}`, line: location.lineNumber + 1, column: location.columnNumber + 1 };
        }
      }
    }
    return undefined;
  };
  const sourceOf = (scriptId: string): string | undefined => {
    try {
      return (call('Debugger.getScriptSource', { scriptId }) as { scriptSource?: string }).scriptSource;
    } catch {
      return undefined;
    }
  };
  /**
   * A script URL is a name the code chose (vm filename, sourceURL comment): it is believed only
   * when facts the code cannot choose agree. Node's own script existed before wirelock loaded and
   * has exactly the source Node ships.
   */
  const forgedBuiltin = (scriptId: string, url: string, hasSourceURL: boolean): string | undefined => {
    if (hasSourceURL) return 'the URL comes from a //# sourceURL comment';
    if (watermark !== undefined && Number(scriptId) > watermark) return 'compiled after wirelock loaded';
    // Where Node does not expose its sources, the script id is the only check.
    if (!nativesKnown()) return undefined;
    const shipped = nativeSource(url.slice('node:'.length));
    if (shipped === undefined) return `Node ships no built-in named ${url}`;
    return sourceOf(scriptId) === shipped ? undefined : `its source is not the one Node ships for ${url}`;
  };
  /** User code is located by its real file: the script V8 compiled is that file's content. */
  const verifyFile = (scriptId: string, url: string, hasSourceURL: boolean): boolean => {
    if (hasSourceURL) return false;
    let path: string;
    try {
      path = url.startsWith('file://') ? fileURLToPath(url) : url;
    } catch {
      return false;
    }
    if (!path.startsWith('/')) return false;
    const text = readFileText(path);
    if (text === undefined) return false;
    const source = sourceOf(scriptId);
    return source !== undefined && (source === text || (text.charCodeAt(0) === 0xfeff && source === text.slice(1)));
  };
  const describe = (objectId: string, depth: number): FunctionOrigin => {
    const internal = internalsOf(objectId);
    const target = internal.get('[[TargetFunction]]') ?? internal.get('[[Target]]');
    if (target) {
      const kind: OriginKind = internal.has('[[TargetFunction]]') ? 'bound' : 'proxy';
      const handlerId = internal.get('[[Handler]]')?.objectId;
      return {
        kind,
        ...(target.objectId && depth < 8 ? { target: describe(target.objectId, depth + 1) } : {}),
        // The code that runs on every call of a proxy is its handler's trap.
        ...(handlerId && depth < 8 ? trapOrigin(handlerId, depth) : {}),
      };
    }
    const location = internal.get('[[FunctionLocation]]')?.value as { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
    if (!location) return { kind: 'native' };
    const script = scripts.get(location.scriptId);
    const position = { line: location.lineNumber + 1, column: location.columnNumber + 1 };
    if (script === undefined) return { kind: 'unknown', ...position };
    const { url, hasSourceURL } = script;
    if (url.startsWith('node:')) {
      const forged = forgedBuiltin(location.scriptId, url, hasSourceURL);
      return forged ? { kind: 'user', url, ...position, forged } : { kind: 'builtin', url, ...position };
    }
    return { kind: 'user', url, ...position, fileVerified: verifyFile(location.scriptId, url, hasSourceURL) };
  };
  const trapOrigin = (handlerId: string, depth: number): { handler?: FunctionOrigin } => {
    const props = call('Runtime.getProperties', { objectId: handlerId, ownProperties: true }) as { result?: Array<{ name: string; value?: RemoteObject }> };
    const traps = (props.result ?? []).filter((prop) => prop.value?.type === 'function' && prop.value.objectId);
    const trap = traps.find((prop) => prop.name === 'apply') ?? traps[0];
    return trap?.value?.objectId ? { handler: describe(trap.value.objectId, depth + 1) } : {};
  };
  const originOf = (value: unknown): FunctionOrigin => {
    if (typeof value !== 'function') return { kind: 'unknown' };
    const proxy = pristine.isProxy(value);
    const cached = proxy ? undefined : (originCache.get(value) ?? (options.fast ? provenCache.get(value) : undefined));
    if (cached) return cached;
    try {
      if (!session) open();
      const remote = probe(value);
      const proven = options.fast && !proxy ? provenBuiltin(remote) : undefined;
      if (proven) {
        provenCache.set(value, proven);
        return proven;
      }
      let origin: FunctionOrigin;
      {
        if (!debuggerEnabled) enableDebugger();
        origin = remote.objectId ? describe(remote.objectId, 0) : { kind: 'unknown' };
      }
      // A proxy around a built-in is still a proxy: its handler sees every call.
      if (proxy && origin.kind !== 'proxy') origin = { kind: 'proxy' };
      if (!proxy && origin.kind !== 'unknown') originCache.set(value, origin);
      return origin;
    } catch {
      return { kind: 'unknown' };
    }
  };
  try {
    return body(originOf);
  } finally {
    if (session) {
      if (debuggerEnabled) {
        try {
          call('Debugger.disable');
        } catch {
          // Disabling can only fail if the session is already gone.
        }
      }
      pristine.apply(connectionDisconnect!, session, []);
    }
  }
}

function nativesKnown(): boolean {
  return nativeSource('internal/bootstrap/realm') !== undefined || nativeSource('net') !== undefined;
}

/**
 * The user files whose code runs when the function is called (a proxy's trap and its target, a
 * bound function's target), or undefined when any of it cannot be located by a real file: a
 * forged `node:` URL, a vm or eval script, a native function. Only such files can be allow-listed.
 */
export function verifiedUserUrls(origin: FunctionOrigin): string[] | undefined {
  switch (origin.kind) {
    case 'builtin':
      return [];
    case 'user':
      return origin.fileVerified && origin.url ? [origin.url] : undefined;
    case 'bound':
    case 'proxy': {
      const parts = [origin.handler, origin.target].filter((part): part is FunctionOrigin => part !== undefined);
      if (parts.length === 0) return undefined;
      const urls: string[] = [];
      for (const part of parts) {
        const found = verifiedUserUrls(part);
        if (!found) return undefined;
        urls.push(...found);
      }
      return urls;
    }
    default:
      return undefined;
  }
}

/** The user-land script responsible for a function: the first non-builtin URL in its wrapping chain. */
export function responsibleUrl(origin: FunctionOrigin): string | undefined {
  if (origin.kind === 'user') return origin.url;
  return (origin.handler ? responsibleUrl(origin.handler) : undefined) ?? (origin.target ? responsibleUrl(origin.target) : undefined);
}

/** True for a function V8 says Node itself defined (not bound, not a proxy, not user code). */
export function isBuiltinOrigin(origin: FunctionOrigin): boolean {
  return origin.kind === 'builtin';
}

export function describeOrigin(origin: FunctionOrigin): string {
  switch (origin.kind) {
    case 'builtin':
      return `${origin.url}:${origin.line}:${origin.column}`;
    case 'user':
      return `${origin.url}:${origin.line}:${origin.column}${origin.forged ? ` (claims to be Node's own, but ${origin.forged})` : ''}`;
    case 'bound':
      return `bound function of ${origin.target ? describeOrigin(origin.target) : '?'}`;
    case 'proxy':
      return `Proxy around ${origin.target ? describeOrigin(origin.target) : '?'}${origin.handler ? ` with handler ${describeOrigin(origin.handler)}` : ''}`;
    default:
      return origin.kind;
  }
}

/**
 * The allow-list entry that accepts a function: every user file whose code runs on a call is
 * located by its real file and belongs to that tool. A claimed URL alone never qualifies.
 */
export function allowedOrigin(entries: AllowEntry[], ...origins: FunctionOrigin[]): string | undefined {
  const urls: string[] = [];
  for (const origin of origins) {
    const found = verifiedUserUrls(origin);
    if (!found) return undefined;
    urls.push(...found);
  }
  if (urls.length === 0) return undefined;
  const names = urls.map((url) => allowedPath(entries, url));
  return names.every(Boolean) ? names[0] : undefined;
}

let inspectorGuarded = false;
/**
 * Lockdown's guard on in-process inspector sessions, installed on the binding's
 * Connection.prototype.dispatch: it lives here because only this module holds the original dispatch.
 * `judge` hears the method of every message outside the profiler domains (coverage, CPU profiles and
 * traces hand out no object) and throws to refuse it. Installed once per process: a second call, from
 * anyone, throws.
 */
export function guardInspectorSessions(judge: (method: string) => void): void {
  if (inspectorGuarded) throw new Error('wirelock: the inspector session guard is already installed');
  inspectorGuarded = true;
  const prototype = Connection?.prototype as { dispatch?: unknown } | undefined;
  const descriptor = prototype ? pristine.getOwnPropertyDescriptor(prototype, 'dispatch') : undefined;
  const original = connectionDispatch;
  if (!prototype || !descriptor || typeof original !== 'function') return;
  const lockedDispatch = function dispatch(this: unknown, message: string): unknown {
    // The message judged is the message sent: only a string (anything else could answer the check one
    // way and Node's conversion another), read with functions taken at load.
    let method = typeof message === 'string' ? 'an unreadable message' : 'a message that is not a string';
    if (typeof message === 'string') {
      try {
        const parsed: unknown = jsonParse(message);
        const own = typeof parsed === 'object' && parsed !== null ? pristine.getOwnPropertyDescriptor(parsed, 'method') : undefined;
        if (own && typeof own.value === 'string') method = own.value;
      } catch {
        // Not JSON: the inspector refuses it too, but it is still an attempt.
      }
    }
    // The fallback texts above start with neither prefix, so only a message naming a profiler method passes.
    if (!pristine.apply(stringStartsWith, method, ['Profiler.']) && !pristine.apply(stringStartsWith, method, ['NodeTracing.'])) judge(method);
    return pristine.apply(original, this, [message]);
  };
  pristine.defineProperty(prototype, 'dispatch', { ...descriptor, value: lockedDispatch });
  wirelockValues.add(lockedDispatch);
}
