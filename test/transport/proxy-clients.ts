// Every client API wirelock supports, built for one policy: the proxy tests (unit and system suite)
// run the same matrix through a Node CONNECT proxy, tinyproxy, squid and mitmproxy.
import https from 'node:https';
import axios from 'axios';
import got from 'got';
import nodeFetch from 'node-fetch';
import { request } from 'undici';
import { createAgent, createHttpAgent } from '../../src/transport/agent.js';
import { createDispatcher } from '../../src/transport/dispatcher.js';
import { createFetch } from '../../src/transport/fetch.js';
import type { TransportOptions } from '../../src/transport/engine.js';
import { WirelockError } from '../../src/errors.js';

export type ClientCall = (url: string, body: string) => Promise<number>;

export function proxyClients(policy: unknown, options: TransportOptions = {}): { clients: Record<string, ClientCall>; close(): Promise<void> } {
  // keepAlive off: every call opens a new tunnel, which is what these tests are about.
  const agent = createAgent(policy, { ...options, keepAlive: false });
  const httpAgent = createHttpAgent(policy, { ...options, keepAlive: false });
  const dispatcher = createDispatcher(policy, options);
  const wirelockFetch = createFetch(policy, options);
  const clients: Record<string, ClientCall> = {
    createFetch: async (url, body) => {
      const response = await wirelockFetch(url, { method: 'POST', body });
      await response.arrayBuffer();
      return response.status;
    },
    'createDispatcher (undici.request)': async (url, body) => {
      const response = await request(url, { method: 'POST', body, dispatcher });
      await response.body.dump();
      return response.statusCode;
    },
    'createAgent (https.request)': (url, body) =>
      new Promise((resolve, reject) => {
        const req = https.request(url, { method: 'POST', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      }),
    'createAgent (axios)': async (url, body) => (await axios.post(url, body, { httpsAgent: agent, httpAgent, proxy: false })).status,
    'createAgent (got)': async (url, body) => (await got.post(url, { body, agent: { https: agent, http: httpAgent }, retry: { limit: 0 } })).statusCode,
    'createAgent (node-fetch)': async (url, body) => (await nodeFetch(url, { method: 'POST', body, agent: (u: URL) => (u.protocol === 'http:' ? httpAgent : agent) })).status,
  };
  return {
    clients,
    async close() {
      agent.destroy();
      httpAgent.destroy();
      await Promise.all([dispatcher.close(), wirelockFetch.dispatcher.close()]);
    },
  };
}

/** The WirelockError however a library wraps it (node-fetch keeps only `code` and `message`). */
export function wirelockErrorOf(error: unknown): { code: string; message: string; details?: Record<string, unknown> } | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 6; depth++) {
    if (current instanceof WirelockError) return { code: current.code, message: current.message, details: current.details };
    const code = (current as { code?: unknown }).code;
    if ((current as Error).name === 'FetchError' && typeof code === 'string' && code.startsWith('ERR_')) return { code, message: (current as Error).message };
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
