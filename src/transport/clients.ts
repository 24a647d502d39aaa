import type http from 'node:http';
import type https from 'node:https';
import type { Duplex } from 'node:stream';
import { WirelockError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { createAgent, createHttpAgent } from './agent.js';
import { PolicyEngine, type TransportOptions } from './engine.js';
import { reportSender } from './fetch.js';

/**
 * Ready-made options for the HTTP client libraries, covering the paths where those libraries open
 * connections themselves instead of asking the agent: environment proxies (axios tunnels HTTPS_PROXY
 * through its own agent), and HTTP/2 (axios `httpVersion: 2`, got `http2: true`, superagent `.http2()`
 * call http2.connect or http2-wrapper directly). Each path is either run through the policy or refused
 * with ERR_CLIENT_BYPASS before a connection is made; none is left to the library's own TLS.
 */

const net = process.getBuiltinModule('node:net');

function refusedSocket(error: Error): Duplex {
  const socket = new net.Socket();
  process.nextTick(() => socket.destroy(error));
  return socket;
}

/**
 * `createConnection` for http2.connect: the HTTP/2 session runs over a connection wirelock opened
 * (destination rules, then every TLS check in the handshake, ALPN h2).
 */
export function http2Connector(policy: Policy | unknown, options: TransportOptions = {}): (authority: URL, connectOptions?: { servername?: string }) => Duplex {
  const engine = new PolicyEngine(policy, options, reportSender(policy, options));
  return (authority, connectOptions = {}) => {
    const host = authority.hostname.startsWith('[') ? authority.hostname.slice(1, -1) : authority.hostname;
    const secure = authority.protocol === 'https:';
    const port = Number(authority.port) || (secure ? 443 : 80);
    const refused = engine.checkDestination(authority.protocol, host, port);
    if (refused) return refusedSocket(refused);
    if (!secure) return engine.connectPlain({ host, port });
    return engine.connectTls({ host, port, ...(connectOptions.servername ? { servername: connectOptions.servername } : {}), ALPNProtocols: ['h2'] });
  };
}

export interface AxiosWirelockConfig {
  httpsAgent: https.Agent;
  httpAgent: http.Agent;
  /** axios would otherwise tunnel through HTTPS_PROXY with its own agent, outside the policy. */
  proxy: false;
  /** `httpVersion: 2` sessions connect through wirelock. */
  http2Options: { createConnection: ReturnType<typeof http2Connector> };
}

/**
 * axios request config (or `axios.create(axiosConfig(policy))`): HTTP/1.1 through createAgent,
 * `httpVersion: 2` through the policy, environment proxies off (a tunnel would be axios's own TLS).
 */
export function axiosConfig(policy: Policy | unknown, options: TransportOptions = {}): AxiosWirelockConfig {
  return {
    httpsAgent: createAgent(policy, options),
    httpAgent: createHttpAgent(policy, options),
    proxy: false,
    http2Options: { createConnection: http2Connector(policy, options) },
  };
}

function bypass(client: string, what: string): WirelockError {
  return new WirelockError(
    'ERR_CLIENT_BYPASS',
    `${client}: ${what} opens its own TLS connection outside wirelock's agent, so the policy could not be applied; it is refused (use HTTP/1.1 with the wirelock agent, or run the process under --import wirelock/register)`,
    { client },
  );
}

export interface GotWirelockOptions {
  agent: { http: http.Agent; https: https.Agent };
  http2: false;
  hooks: { beforeRequest: Array<(options: { http2?: boolean }) => void> };
}

/**
 * got options (`got.extend(gotOptions(policy))`): HTTP/1.1 through the wirelock agents. got's
 * `http2: true` uses http2-wrapper, whose sessions and ALPN probe never ask an https.Agent: a
 * request that turns it on is refused before it starts.
 */
export function gotOptions(policy: Policy | unknown, options: TransportOptions = {}): GotWirelockOptions {
  return {
    agent: { http: createHttpAgent(policy, options), https: createAgent(policy, options) },
    http2: false,
    hooks: {
      beforeRequest: [
        (requestOptions) => {
          if (requestOptions.http2) throw bypass('got', '`http2: true` (http2-wrapper)');
        },
      ],
    },
  };
}

interface SuperagentRequest {
  url: string;
  agent(agent: http.Agent): unknown;
  http2(enable?: boolean): unknown;
  _enableHttp2?: boolean;
}

/**
 * superagent plugin (`request.get(url).use(superagentPlugin(policy))`): the wirelock agent for
 * the request; `.http2()` (http2.connect with the request's own TLS options) is refused loudly,
 * whether it was called before or after `.use()`.
 */
export function superagentPlugin(policy: Policy | unknown, options: TransportOptions = {}): (request: SuperagentRequest) => void {
  const httpsAgent = createAgent(policy, options);
  const httpAgent = createHttpAgent(policy, options);
  return (request) => {
    if (request._enableHttp2) throw bypass('superagent', '.http2()');
    request.agent(/^http:/i.test(request.url) ? httpAgent : httpsAgent);
    const enable = request.http2.bind(request);
    request.http2 = (on?: boolean) => {
      if (on === undefined || on) throw bypass('superagent', '.http2()');
      return enable(false);
    };
  };
}
