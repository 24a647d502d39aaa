// A small real HTTP CONNECT proxy on loopback for tests that need no Debian package: optional Basic
// auth, a fixed refusal status, an https:// listener, or TLS interception with its own certificate.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

export interface ConnectProxyOptions {
  /** `user:password` the proxy requires (407 otherwise). */
  auth?: string;
  /** Answer every CONNECT with this status (403, 502...). */
  refuse?: number;
  /** Listen with TLS (an https:// proxy) using this certificate (and, optionally, old TLS versions only). */
  tls?: { cert: string; key: string; maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'; ciphers?: string };
  /** Terminate the tunnelled TLS itself with this certificate (an intercepting proxy) and keep what it decrypts. */
  intercept?: { cert: string; key: string };
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
}

export interface ConnectProxy {
  readonly url: string;
  readonly port: number;
  /** CONNECT request heads received (with their Proxy-Authorization header). */
  readonly connects: ReadonlyArray<{ target: string; authorization: string | undefined }>;
  /** Tunnels actually opened to the origin. */
  readonly tunnels: number;
  /** Everything the proxy could read: request heads, absolute-form requests and, when intercepting, decrypted data. */
  readonly seen: string;
  close(): Promise<void>;
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const connects: Array<{ target: string; authorization: string | undefined }> = [];
  let tunnels = 0;
  let seen = '';
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const expected = options.auth ? `Basic ${Buffer.from(options.auth).toString('base64')}` : undefined;

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // An absolute-form request: a client handing the proxy its request in cleartext.
    seen += `${req.method} ${req.url}\n`;
    req.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
    req.on('end', () => res.writeHead(502).end());
  };
  const server = options.tls ? https.createServer({ ...options.tls }, onRequest) : http.createServer(onRequest);
  server.on('connection', track);
  server.on('secureConnection', track);
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    track(client);
    const authorization = req.headers['proxy-authorization'];
    connects.push({ target: req.url ?? '', authorization });
    seen += `CONNECT ${req.url}\n`;
    client.on('error', () => client.destroy());
    if (options.refuse) return void client.end(`HTTP/1.1 ${options.refuse} Refused By Test Proxy\r\nContent-Length: 0\r\n\r\n`);
    if (expected && authorization !== expected) {
      return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
    }
    const [host, port] = splitAuthority(req.url ?? '');
    const upstream = net.connect(port, host, () => {
      tunnels++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (options.intercept) {
        // Terminate the client's TLS with our own certificate, re-encrypt to the origin, read everything.
        const fake = new tls.TLSSocket(client, { isServer: true, cert: options.intercept.cert, key: options.intercept.key });
        const real = tls.connect({ socket: upstream, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false });
        track(fake);
        fake.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
        fake.on('error', () => fake.destroy());
        real.on('error', () => real.destroy());
        fake.pipe(real).pipe(fake);
        if (head.length) fake.unshift(head);
        return;
      }
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => client.destroy());
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    connects,
    get tunnels() {
      return tunnels;
    },
    get seen() {
      return seen;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function splitAuthority(authority: string): [string, number] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(authority);
  return match ? [match[1]!, Number(match[2])] : [authority, 443];
}
