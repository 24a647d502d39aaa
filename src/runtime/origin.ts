import { pristine, real } from './builtins.js';

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

type Post = (method: string, params: object | undefined, callback: (error: Error | null, result: unknown) => void) => void;

const Session = real.inspector.Session;
const post = Session?.prototype.post as Post | undefined;
const connect = Session?.prototype.connect;
const disconnect = Session?.prototype.disconnect;
const probeKey = `__wirelock_origin_${Math.random().toString(36).slice(2)}`;

/** True when the inspector module is usable (Node built without it has no Session). */
export const originAvailable = typeof Session === 'function';

/**
 * Origins never change for a plain or bound function (V8 fixes where it was compiled), so they are
 * cached: a re-check after an unrelated change (an environment variable) needs no inspector at all.
 * Proxies are never cached: their handler object can be edited.
 */
const originCache = new WeakMap<object, FunctionOrigin>();

/**
 * A short-lived in-process inspector session, opened only if some function's origin is not cached.
 * On the main thread `post` answers synchronously, so the whole probe is synchronous;
 * Debugger.enable replays scriptParsed for every loaded script (the expensive part).
 */
export function withOrigins<T>(body: (originOf: (value: unknown) => FunctionOrigin) => T): T {
  if (!originAvailable || !post || !connect || !disconnect) {
    return body(() => ({ kind: 'unknown' }));
  }
  let session: InstanceType<typeof Session> | undefined;
  const scripts = new Map<string, string>();
  const call = (method: string, params?: object): unknown => {
    let out: unknown;
    let failure: Error | null = null;
    post.call(session, method, params, (error, result) => {
      failure = error;
      out = result;
    });
    if (failure) throw failure;
    return out;
  };
  const open = (): void => {
    session = new Session();
    connect.call(session);
    session.on('Debugger.scriptParsed', (message: { params: { scriptId: string; url: string } }) => {
      scripts.set(message.params.scriptId, message.params.url);
    });
    call('Debugger.enable');
  };
  const describe = (objectId: string, depth: number): FunctionOrigin => {
    const props = call('Runtime.getProperties', { objectId, ownProperties: true }) as { internalProperties?: InternalProperty[] };
    const internal = new Map((props.internalProperties ?? []).map((prop) => [prop.name, prop.value]));
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
    const url = scripts.get(location.scriptId);
    return {
      kind: url === undefined ? 'unknown' : url.startsWith('node:') ? 'builtin' : 'user',
      ...(url !== undefined ? { url } : {}),
      line: location.lineNumber + 1,
      column: location.columnNumber + 1,
    };
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
    const cached = proxy ? undefined : originCache.get(value);
    if (cached) return cached;
    try {
      if (!session) open();
      // Runtime.evaluate needs a name to reach the value: a random global slot, removed at once.
      Object.defineProperty(globalThis, probeKey, { value, configurable: true, enumerable: false, writable: false });
      let origin: FunctionOrigin;
      try {
        const evaluated = call('Runtime.evaluate', { expression: `globalThis.${probeKey}` }) as { result?: RemoteObject };
        const objectId = evaluated.result?.objectId;
        origin = objectId ? describe(objectId, 0) : { kind: 'unknown' };
      } finally {
        delete (globalThis as Record<string, unknown>)[probeKey];
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
      try {
        call('Debugger.disable');
      } catch {
        // Disabling can only fail if the session is already gone.
      }
      disconnect.call(session);
    }
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
    case 'user':
      return `${origin.url}:${origin.line}:${origin.column}`;
    case 'bound':
      return `bound function of ${origin.target ? describeOrigin(origin.target) : '?'}`;
    case 'proxy':
      return `Proxy around ${origin.target ? describeOrigin(origin.target) : '?'}${origin.handler ? ` with handler ${describeOrigin(origin.handler)}` : ''}`;
    default:
      return origin.kind;
  }
}
