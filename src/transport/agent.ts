import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type { Duplex } from 'node:stream';
import { WirelockError } from '../errors.js';
import type { Policy } from '../policy/types.js';
// Loading the CT module registers its check with the engine (fail-closed CT enforcement).
import '../ct/enforce.js';
import { PolicyEngine, type TransportOptions } from './engine.js';
import { guardRequestTargets } from './target.js';
import { reportSender } from './fetch.js';

// Not through `import`: loader hooks cannot redirect process.getBuiltinModule (see trust.ts), and on
// Node 24 the ESM facade of node:http reads every export, which loads Node's internal undici (~50 ms).
const http = process.getBuiltinModule('node:http') as typeof Http;
const https = process.getBuiltinModule('node:https') as typeof Https;

type ConnectCallback = (error: Error | null, socket?: Duplex) => void;

function portOf(value: unknown, fallback: number): number {
  const port = Number(value);
  return Number.isInteger(port) && port > 0 ? port : fallback;
}

/**
 * An https.Agent that runs the policy in every handshake. Works wherever an agent is accepted:
 * https.request, axios (`httpsAgent`), got (`agent.https`), node-fetch (`agent`).
 * TLS session caching is off: a resumed session skips Node's checkServerIdentity.
 */
export function createAgent(policy: Policy | unknown, options: TransportOptions & { keepAlive?: boolean; maxSockets?: number } = {}): Https.Agent {
  const engine = new PolicyEngine(policy, options, reportSender(policy, options));
  const agent = new https.Agent({ keepAlive: options.keepAlive ?? true, maxSockets: options.maxSockets ?? Infinity, maxCachedSessions: 0 });
  agent.createConnection = ((connectOptions: Https.RequestOptions & { host: string; port: number }, callback: ConnectCallback) => {
    // The destination decides the policy. Node derives servername from the Host header, which the
    // request sets: connectTls refuses one that selects another policy (ERR_SERVERNAME_MISMATCH).
    const host = connectOptions.host || 'localhost';
    const port = portOf(connectOptions.port, 443);
    const refused = engine.checkDestination('https:', host, port);
    if (refused) {
      process.nextTick(callback, refused);
      return undefined;
    }
    engine.connectTlsAsync({ ...(connectOptions as object), host, port }, (error, socket) => callback(error, socket));
    return undefined;
  }) as unknown as typeof agent.createConnection;
  // Tunnelling libraries (axios under HTTPS_PROXY, through https-proxy-agent) copy agent.options into
  // a tls.connect of their own, which never reaches createConnection: that handshake fails loudly
  // instead of trusting what plain Node trusts. createConnection itself drops these options.
  Object.assign(agent.options, {
    rejectUnauthorized: true,
    checkServerIdentity: (hostname: string) =>
      new WirelockError(
        'ERR_CLIENT_BYPASS',
        `${hostname}: a TLS connection was opened with this wirelock agent's options but not through the agent (a proxy tunnel such as axios's for HTTPS_PROXY); refused. With axios use axiosConfig(policy) (proxy: false)`,
        { host: hostname, client: 'tunnel' },
      ),
  });
  return agent;
}

/**
 * An http.Agent for the same policy: cleartext requests are refused unless the policy allows
 * cleartext for the host (before any socket is opened). Give it to libraries next to createAgent
 * so that an http:// URL or a redirect to one cannot bypass the policy.
 */
export function createHttpAgent(policy: Policy | unknown, options: TransportOptions & { keepAlive?: boolean } = {}): Http.Agent {
  const engine = new PolicyEngine(policy, options, reportSender(policy, options));
  const agent = new http.Agent({ keepAlive: options.keepAlive ?? true });
  agent.createConnection = ((connectOptions: Http.RequestOptions & { host: string; port: number }, callback: ConnectCallback) => {
    const host = connectOptions.host ?? 'localhost';
    const port = portOf(connectOptions.port, 80);
    const refused = engine.checkDestination('http:', host, port);
    if (refused) {
      process.nextTick(callback, refused);
      return undefined;
    }
    engine.connectPlainAsync({ host, port }, (error, socket) => {
      if (socket) guardRequestTargets(engine, socket, host, port);
      callback(error, socket);
    });
    return undefined;
  }) as unknown as typeof agent.createConnection;
  return agent;
}
