import type { LookupFunction, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WirelockError } from '../errors.js';
import type { ProxyConfig } from '../policy/types.js';
import { nodeTls, secureContextFor, trustMaterial } from './trust.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (a facade reads every
// export, which loads what lazy getters hide: webcrypto, net's BlockList, stream/promises).
const { Duplex } = process.getBuiltinModule('node:stream') as typeof import('node:stream');

// Not through `import`, as in engine.ts: loader hooks cannot hand the tunnel a fake module.
const net = process.getBuiltinModule('node:net');
const dns = process.getBuiltinModule('node:dns');
// Taken at load: the proxy's own name is resolved by wirelock, and a DNS guard that refuses names
// outside the policy (lockdown) must not refuse the one proxy the policy itself names.
const resolveProxyName = dns.lookup;

/** The CONNECT response head is small; a proxy that sends more is not one we talk to. */
const MAX_RESPONSE_HEAD = 16 * 1024;

export interface TunnelRequest {
  proxy: ProxyConfig;
  /** The origin, as the CONNECT authority. */
  host: string;
  port: number;
  /** `user:password` for Proxy-Authorization (Basic), already read; never put in a message. */
  credentials: string | undefined;
  /** Variable the credentials came from, for the 407 message. */
  credentialsFrom: string | undefined;
  lookup: LookupFunction | undefined;
  timeoutMs: number;
  /** Turns OpenSSL's verification errors (for the https:// proxy's own certificate) into wirelock codes. */
  mapTlsError?: (error: unknown, host: string, port: number) => unknown;
  /** Called with the raw socket before it connects (lockdown lets exactly these reach the proxy). */
  onSocket?: (socket: Socket) => void;
}

export type TunnelCallback = (error: Error | null, socket?: Socket | TLSSocket) => void;

function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Printable, short: a proxy's reason phrase goes into messages as data, never as markup or lines. */
function cleanReason(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}

function refused(request: TunnelRequest, message: string, details: Record<string, unknown>): WirelockError {
  return new WirelockError('ERR_PROXY_REFUSED', `${authority(request.host, request.port)}: proxy ${request.proxy.display} ${message}`, {
    host: request.host,
    port: request.port,
    proxy: request.proxy.display,
    ...details,
  });
}

function statusMessage(request: TunnelRequest, status: number, reason: string): string {
  const base = `refused the tunnel (CONNECT): ${status}${reason ? ` ${reason}` : ''}`;
  // tinyproxy answers a CONNECT with bad or missing credentials with 401, not 407.
  if (status === 407 || status === 401) {
    return request.credentials === undefined
      ? `${base}: the proxy wants credentials; name them with "proxy": { "auth": "env:PROXY_AUTH" }`
      : `${base}: the credentials${request.credentialsFrom ? ` from ${request.credentialsFrom}` : ''} were rejected`;
  }
  if (status === 403) return `${base}: the proxy's rules forbid this destination`;
  if (status === 502 || status === 503 || status === 504) return `${base}: the proxy could not reach the origin`;
  return base;
}

/**
 * Opens a CONNECT tunnel to `host:port` through the proxy and hands back the socket whose next byte
 * is the origin's. The origin's TLS runs inside it with the origin's full policy; nothing of the
 * request is sent until then. An https:// proxy is first verified against its own anchors.
 */
export function openTunnel(request: TunnelRequest, callback: TunnelCallback): () => void {
  const { proxy } = request;
  let done = false;
  const raw = new net.Socket();
  request.onSocket?.(raw);
  let carrier: Socket | TLSSocket = raw;
  const finish = (error: Error | null, socket?: Socket | TLSSocket): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (error) {
      carrier.destroy();
      raw.destroy();
      callback(error);
    } else callback(null, socket);
  };
  const timer = setTimeout(
    () => finish(Object.assign(new Error(`connect timeout after ${request.timeoutMs} ms through proxy ${proxy.display} to ${authority(request.host, request.port)}`), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
    request.timeoutMs,
  );
  timer.unref();
  raw.connect({ host: proxy.host, port: proxy.port, lookup: request.lookup ?? (resolveProxyName as LookupFunction) });
  // Small writes (CONNECT, ClientHello, the request) must not wait for ACKs: setNoDelay on the TLS
  // socket later does not reach this one.
  raw.setNoDelay(true);

  if (proxy.protocol === 'https:') {
    const trust = trustMaterial(proxy.trustAnchors);
    carrier = nodeTls.connect({
      socket: raw,
      ...(net.isIP(proxy.host) === 0 ? { servername: proxy.host } : {}),
      host: proxy.host,
      secureContext: secureContextFor(trust, 'TLSv1.2', false),
      rejectUnauthorized: true,
      checkServerIdentity: nodeTls.checkServerIdentity,
      session: undefined,
    });
  }
  let proxyVerified = proxy.protocol === 'http:';
  const onError = (error: Error): void => {
    if (proxyVerified || proxy.protocol === 'http:' || raw.connecting) return finish(error);
    // The TLS connection to an https:// proxy failed: its certificate is not what its anchors accept.
    const mapped = request.mapTlsError ? request.mapTlsError(error, proxy.host, proxy.port) : error;
    if (mapped instanceof WirelockError) {
      finish(new WirelockError(mapped.code, `proxy ${proxy.display} (on the way to ${authority(request.host, request.port)}): ${mapped.message}`, { ...mapped.details, host: request.host, port: request.port, proxy: proxy.display, peer: 'proxy' }, { cause: error }));
    } else finish(error);
  };
  const onClose = (): void => finish(refused(request, 'closed the connection without answering the CONNECT', {}));
  carrier.once('error', onError);
  carrier.once('close', onClose);

  const sendConnect = (): void => {
    const target = authority(request.host, request.port);
    const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
    if (request.credentials !== undefined) lines.push(`Proxy-Authorization: Basic ${Buffer.from(request.credentials, 'utf8').toString('base64')}`);
    carrier.write(`${lines.join('\r\n')}\r\n\r\n`);
  };
  if (proxy.protocol === 'https:') {
    carrier.once('secureConnect', () => {
      proxyVerified = true;
      sendConnect();
    });
  }
  else raw.once('connect', sendConnect);

  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      if (head.length > MAX_RESPONSE_HEAD) finish(refused(request, `sent a CONNECT response head over ${MAX_RESPONSE_HEAD} bytes`, {}));
      return;
    }
    carrier.removeListener('data', onData);
    carrier.pause();
    const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
    const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!match) return finish(refused(request, `answered the CONNECT with something that is not HTTP: ${JSON.stringify(cleanReason(statusLine.slice(0, 40)))}`, {}));
    const status = Number(match[1]);
    const reason = cleanReason(match[2] ?? '');
    if (status < 200 || status > 299) return finish(refused(request, statusMessage(request, status, reason), { status, reason }));
    // The origin speaks only after our ClientHello: bytes already here came from the proxy itself.
    if (head.length > end + 4) return finish(refused(request, 'sent data of its own after accepting the CONNECT', { status }));
    // Only ours: a TLSSocket (https:// proxy) has close and error listeners of its own.
    carrier.removeListener('close', onClose);
    carrier.removeListener('error', onError);
    finish(null, carrier);
  };
  carrier.on('data', onData);
  return () => finish(Object.assign(new Error('tunnel aborted'), { code: 'ECONNABORTED' }));
}

/**
 * A socket-shaped stream that becomes the tunnel once it is open, for APIs that must return a socket
 * synchronously (tls.connect under lockdown). Writes (the ClientHello) wait for the tunnel.
 */
export class PendingTunnel extends Duplex {
  #inner: Socket | TLSSocket | undefined;
  #queued: Array<() => void> = [];
  readonly #abort: () => void;

  constructor(request: TunnelRequest) {
    super({ allowHalfOpen: false });
    this.#abort = openTunnel(request, (error, socket) => {
      if (error || !socket) return this.destroy(error ?? new Error('tunnel failed'));
      this.#inner = socket;
      socket.on('data', (chunk: Buffer) => {
        if (!this.push(chunk)) socket.pause();
      });
      socket.once('end', () => this.push(null));
      socket.once('error', (cause: Error) => this.destroy(cause));
      socket.once('close', () => this.destroy());
      socket.resume();
      for (const run of this.#queued.splice(0)) run();
    });
  }

  override _read(): void {
    this.#inner?.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#inner) this.#inner.write(chunk, encoding, callback);
    else this.#queued.push(() => this._write(chunk, encoding, callback));
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#inner) this.#inner.end(callback);
    else this.#queued.push(() => this._final(callback));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort();
    this.#inner?.destroy();
    callback(error);
  }
}
