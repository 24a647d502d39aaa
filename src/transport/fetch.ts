import type { Dispatcher, RequestInfo, RequestInit, Response } from 'undici';
import { WirelockError } from '../errors.js';
import { enforcedPolicy } from '../policy/define.js';
import type { Policy } from '../policy/types.js';
import { createDispatcher } from './dispatcher.js';
import { PolicyEngine, type TransportOptions } from './engine.js';
import { undici } from './undici.js';

/** Also takes the Request, Headers, FormData, Blob and streams of Node's built-in fetch (what ky and ofetch pass). */
export type WirelockFetch = ((input: RequestInfo | globalThis.Request | URL, init?: RequestInit | globalThis.RequestInit) => Promise<Response>) & { dispatcher: Dispatcher };

/**
 * Node's built-in fetch is its own copy of undici: its Request and FormData fail the brand checks of
 * the undici package wirelock dispatches with ("Failed to parse URL from [object Request]", a
 * FormData sent as the text "[object FormData]"). They are rebuilt as this undici's; everything
 * else (strings, URL, Blob, streams, typed arrays, URLSearchParams, Headers as entries) is shared.
 * The policy does not depend on this: it is enforced per connection by the dispatcher.
 */
function foreignToUndici(input: unknown, init: Record<string, unknown>): [RequestInfo, RequestInit] {
  const merged: Record<string, unknown> = { ...init };
  let target = input as RequestInfo;
  if (isForeignRequest(input)) {
    target = input.url;
    const fromRequest: Record<string, unknown> = {
      method: input.method,
      headers: [...input.headers],
      redirect: input.redirect,
      signal: input.signal,
      integrity: input.integrity,
      keepalive: input.keepalive,
      credentials: input.credentials,
      cache: input.cache,
      referrerPolicy: input.referrerPolicy,
    };
    if (input.body !== null && init.body === undefined) {
      fromRequest.body = input.body;
      fromRequest.duplex = 'half';
    }
    for (const [key, value] of Object.entries(fromRequest)) if (!(key in init) && value !== undefined) merged[key] = value;
  }
  if (isForeign(merged.headers, 'Headers')) merged.headers = [...(merged.headers as Iterable<[string, string]>)];
  if (isForeign(merged.body, 'FormData')) {
    const form = new (undici().FormData)();
    for (const [name, value] of merged.body as Iterable<[string, string | File]>) {
      if (typeof value === 'string') form.append(name, value);
      else form.append(name, value, value.name);
    }
    merged.body = form;
  }
  return [target, merged as RequestInit];
}

function isForeign(value: unknown, tag: 'Headers' | 'FormData' | 'Request'): boolean {
  const own = tag === 'FormData' ? undici().FormData : tag === 'Request' ? undici().Request : undefined;
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === `[object ${tag}]` && !(own && value instanceof own);
}

function isForeignRequest(value: unknown): value is globalThis.Request {
  return isForeign(value, 'Request') && typeof (value as { url?: unknown }).url === 'string';
}

/** undici wraps connector errors in TypeError('fetch failed'); callers want the reason itself. */
export function unwrapWirelockError(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (current instanceof WirelockError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return error;
}

/**
 * Sends reports to the policy's report URI through the same policy, enforced (so the report itself
 * cannot be intercepted, even when the policy is report-only), from an engine that does not report again.
 */
export function reportSender(policy: Policy | unknown, options: TransportOptions): ((uri: string, body: string) => Promise<unknown>) | undefined {
  let dispatcher: Dispatcher | undefined;
  return async function (uri, body) {
    if (!dispatcher) {
      const enforced = enforcedPolicy(policy);
      dispatcher = createDispatcher(enforced, { engine: new PolicyEngine(enforced, { ...options, onViolation: undefined }) });
    }
    const response = await undici().request(uri, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
    await response.body.dump();
  };
}

type GuardFactory = (inner: Dispatcher) => Dispatcher;
let downgradeGuard: GuardFactory | undefined;

/**
 * Sees every hop of one fetch call (fetch follows redirects by dispatching again), so an
 * https -> http redirect is refused as a downgrade even where the policy allows cleartext to the
 * target. Undici reports an exception thrown here as the fetch's failure cause. Defined on first
 * use: its base class is undici's.
 */
function createDowngradeGuard(inner: Dispatcher): Dispatcher {
  downgradeGuard ??= (() => {
    class DowngradeGuard extends undici().Dispatcher {
      #sawHttps = false;
      constructor(private readonly inner: Dispatcher) {
        super();
      }
      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
        const origin = new URL(String(options.origin));
        if (origin.protocol === 'https:') this.#sawHttps = true;
        else if (this.#sawHttps) {
          throw new WirelockError('ERR_CLEARTEXT_BLOCKED', `redirect from https to ${origin.href} is a downgrade to cleartext and is blocked`, {
            host: origin.hostname,
            port: Number(origin.port) || 80,
            downgrade: true,
          });
        }
        return this.inner.dispatch(options, handler);
      }
      override close(): Promise<void> {
        return Promise.resolve();
      }
      override destroy(): Promise<void> {
        return Promise.resolve();
      }
    }
    return (wrapped: Dispatcher) => new DowngradeGuard(wrapped);
  })();
  return downgradeGuard(inner);
}

/**
 * A fetch that only talks to servers the policy accepts. It rejects with the WirelockError itself
 * (`error.code === 'ERR_PIN_MISMATCH'`, ...), never an opaque "fetch failed".
 */
export function createFetch(policy: Policy | unknown, options: TransportOptions = {}): WirelockFetch {
  const engine = new PolicyEngine(policy, options, reportSender(policy, options));
  const dispatcher = createDispatcher(engine.policy, { engine });
  const { fetch: undiciFetch } = undici();
  const wirelockFetch = async (input: RequestInfo | globalThis.Request | URL, init: RequestInit | globalThis.RequestInit = {}): Promise<Response> => {
    try {
      const [target, options] = foreignToUndici(input, init as Record<string, unknown>);
      return await undiciFetch(target, { ...options, dispatcher: createDowngradeGuard(dispatcher) });
    } catch (error) {
      throw unwrapWirelockError(error);
    }
  };
  return Object.assign(wirelockFetch, { dispatcher });
}
