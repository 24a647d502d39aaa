import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket, SecureVersion } from 'node:tls';

/**
 * A real HTTP(S) server on loopback that counts every byte of application data it receives and
 * keeps what it captured. It plays both the legitimate origin and the attacker: a blocked
 * connection must leave `applicationBytes` at 0.
 */
export interface CountingServer {
  readonly port: number;
  readonly host: string;
  /** TCP connections accepted (TLS handshakes attempted). */
  readonly connections: number;
  /** TLS handshakes that completed. */
  readonly secureConnections: number;
  /** Bytes of decrypted (or cleartext) application data received, over all connections. */
  readonly applicationBytes: number;
  /** Everything received, as latin1 text, so a test can look for a secret. */
  readonly captured: string;
  /** Requests served (method, url, body). */
  readonly requests: ReadonlyArray<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>;
  url(hostname?: string, path?: string): string;
  reset(): void;
  close(): Promise<void>;
}

export interface CountingServerOptions {
  /** Certificate chain PEM (leaf first) and key; omit both for a cleartext server. */
  cert?: string;
  key?: string;
  host?: string;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  /** DER OCSP response to staple on every handshake. */
  ocspResponse?: Uint8Array;
  /** Custom responder; default answers 200 with a small JSON body. */
  respond?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;
}

export async function startCountingServer(options: CountingServerOptions = {}): Promise<CountingServer> {
  const host = options.host ?? '127.0.0.1';
  let connections = 0;
  let secureConnections = 0;
  let applicationBytes = 0;
  let chunks: Buffer[] = [];
  let requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const sockets = new Set<Socket>();

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (options.respond) return options.respond(req, res, body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
  };

  const countApplicationData = (socket: Socket): void => {
    socket.on('data', (chunk: Buffer) => {
      applicationBytes += chunk.length;
      chunks.push(chunk);
    });
  };

  const tlsEnabled = options.cert !== undefined && options.key !== undefined;
  const server = tlsEnabled
    ? https.createServer(
        {
          cert: options.cert,
          key: options.key,
          ...(options.minVersion ? { minVersion: options.minVersion } : {}),
          ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
          ...(options.ciphers ? { ciphers: options.ciphers } : {}),
        },
        handler,
      )
    : http.createServer(handler);

  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!tlsEnabled) countApplicationData(socket);
  });
  if (tlsEnabled) {
    server.on('secureConnection', (socket: TLSSocket) => {
      secureConnections++;
      countApplicationData(socket);
    });
    server.on('tlsClientError', () => {
      // A client that refuses our certificate is the expected outcome of most attacks.
    });
    if (options.ocspResponse) {
      const response = Buffer.from(options.ocspResponse);
      server.on('OCSPRequest', (_cert: Buffer, _issuer: Buffer, callback: (err: Error | null, resp: Buffer) => void) =>
        callback(null, response),
      );
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    host,
    get connections() {
      return connections;
    },
    get secureConnections() {
      return secureConnections;
    },
    get applicationBytes() {
      return applicationBytes;
    },
    get captured() {
      return Buffer.concat(chunks).toString('latin1');
    },
    get requests() {
      return requests;
    },
    url(hostname = host, path = '/') {
      const shown = hostname.includes(':') ? `[${hostname}]` : hostname;
      return `${tlsEnabled ? 'https' : 'http'}://${shown}:${port}${path}`;
    },
    reset() {
      connections = 0;
      secureConnections = 0;
      applicationBytes = 0;
      chunks = [];
      requests = [];
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
