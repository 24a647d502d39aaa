import type { Dispatcher } from 'undici';
import type { Policy } from '../policy/types.js';
// Loading the CT module registers its check with the engine (fail-closed CT enforcement).
import '../ct/enforce.js';
import { PolicyEngine, type TransportOptions } from './engine.js';
import { guardRequestTargets } from './target.js';
import { undici } from './undici.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { isIP } = process.getBuiltinModule('node:net');
const { EventEmitter } = process.getBuiltinModule('node:events');

type UndiciConnectOptions = { hostname: string; host?: string; protocol: string; port: string; servername?: string | null };
type UndiciConnectCallback = (...args: [null, import('node:net').Socket] | [Error, null]) => void;

/**
 * An undici Dispatcher whose connector runs the policy: cleartext and egress rules before the
 * socket is opened, the TLS checks inside the handshake. Use it with undici's request/fetch, or
 * `setGlobalDispatcher`. TLS sessions are never resumed (undici would otherwise cache them).
 */
export function createDispatcher(policy: Policy | unknown, options: TransportOptions & { engine?: PolicyEngine; connections?: number } = {}): Dispatcher {
  const engine = options.engine ?? new PolicyEngine(policy, options);
  const connect = (connectOptions: UndiciConnectOptions, callback: UndiciConnectCallback): void => {
    const hostname = connectOptions.hostname.startsWith('[') ? connectOptions.hostname.slice(1, -1) : connectOptions.hostname;
    const https = connectOptions.protocol === 'https:';
    const port = Number(connectOptions.port) || (https ? 443 : 80);
    const refused = engine.checkDestination(connectOptions.protocol, hostname, port);
    if (refused) {
      callback(refused, null);
      return;
    }
    let done = false;
    const finish = (error: Error | null, socket: import('node:net').Socket | null): void => {
      if (done) return;
      done = true;
      if (error) callback(error, null);
      else callback(null, socket!);
    };
    const ready = (event: 'secureConnect' | 'connect') => (error: Error | null, socket?: import('node:net').Socket): void => {
      if (error || !socket) return finish(error ?? new Error('no socket'), null);
      socket.setNoDelay(true);
      socket.once(event, () => finish(null, socket)).once('error', (cause) => finish(cause, null));
    };
    if (https) {
      const servername = connectOptions.servername || (isIP(hostname) === 0 ? hostname : undefined);
      engine.connectTlsAsync({ host: hostname, port, ...(servername ? { servername } : {}), ALPNProtocols: ['http/1.1'] }, ready('secureConnect'));
    } else {
      // A tunnel is connected already; a direct socket is not yet.
      engine.connectPlainAsync({ host: hostname, port }, (error, socket) => {
        if (error || !socket) return finish(error ?? new Error('no socket'), null);
        // undici sends an absolute-form path as given (`path: "https://pinned.example/pay"`).
        guardRequestTargets(engine, socket, hostname, port);
        if (socket.connecting) ready('connect')(null, socket);
        else {
          socket.setNoDelay(true);
          finish(null, socket);
        }
      });
    }
  };
  const { Agent } = undici();
  return new Agent({ connect: connect as never, ...(options.connections ? { connections: options.connections } : {}) });
}

/**
 * A dispatcher that becomes createDispatcher's on its first request. For lockdown, which installs
 * it as Node's global dispatcher at start-up: a process that never fetches never loads npm undici.
 */
export function createDeferredDispatcher(policy: Policy | unknown, options: TransportOptions & { engine?: PolicyEngine } = {}): Dispatcher {
  let real: Dispatcher | undefined;
  const get = (): Dispatcher => (real ??= createDispatcher(policy, options));
  class DeferredDispatcher extends EventEmitter {
    dispatch(dispatchOptions: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      return get().dispatch(dispatchOptions, handler);
    }
    close(callback?: () => void): Promise<void> | void {
      const closing = real ? real.close() : Promise.resolve();
      if (!callback) return closing;
      closing.then(() => callback(), () => callback());
    }
    destroy(errorOrCallback?: unknown, callback?: () => void): Promise<void> | void {
      const done = typeof errorOrCallback === 'function' ? (errorOrCallback as () => void) : callback;
      const destroying = real ? real.destroy(errorOrCallback instanceof Error ? errorOrCallback : null) : Promise.resolve();
      if (!done) return destroying;
      destroying.then(() => done(), () => done());
    }
    compose(...interceptors: unknown[]): Dispatcher {
      return (get().compose as (...args: unknown[]) => Dispatcher)(...interceptors);
    }
  }
  return new DeferredDispatcher() as unknown as Dispatcher;
}
