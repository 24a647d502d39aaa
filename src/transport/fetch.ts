import { fetch as undiciFetch, request, type Dispatcher, type RequestInfo, type RequestInit, type Response } from 'undici';
import { WirelockError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { createDispatcher } from './dispatcher.js';
import { PolicyEngine, type TransportOptions } from './engine.js';

export type WirelockFetch = ((input: RequestInfo, init?: RequestInit) => Promise<Response>) & { dispatcher: Dispatcher };

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
 * Sends reports to the policy's report URI through the same policy (so the report itself cannot be
 * intercepted), from an engine that does not report again.
 */
export function reportSender(policy: Policy | unknown, options: TransportOptions): ((uri: string, body: string) => Promise<unknown>) | undefined {
  let dispatcher: Dispatcher | undefined;
  return async (uri, body) => {
    dispatcher ??= createDispatcher(policy, { engine: new PolicyEngine(policy, { ...options, onViolation: undefined }) });
    const response = await request(uri, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher });
    await response.body.dump();
  };
}

/**
 * A fetch that only talks to servers the policy accepts. It rejects with the WirelockError itself
 * (`error.code === 'ERR_PIN_MISMATCH'`, ...), never an opaque "fetch failed".
 */
export function createFetch(policy: Policy | unknown, options: TransportOptions = {}): WirelockFetch {
  const engine = new PolicyEngine(policy, options, reportSender(policy, options));
  const dispatcher = createDispatcher(engine.policy, { engine });
  const wirelockFetch = async (input: RequestInfo, init: RequestInit = {}): Promise<Response> => {
    try {
      return await undiciFetch(input, { ...init, dispatcher });
    } catch (error) {
      throw unwrapWirelockError(error);
    }
  };
  return Object.assign(wirelockFetch, { dispatcher });
}
