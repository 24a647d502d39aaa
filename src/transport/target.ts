import type { Socket } from 'node:net';
import type { WirelockError } from '../errors.js';
import type { PolicyEngine } from './engine.js';

interface OutgoingHead {
  _header?: string | null;
}

const judged = new WeakSet<object>();
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.[01]\r\n/;

/**
 * The cleartext rule judges where a request goes, not where the socket goes: an `http.request` to a
 * proxy on 127.0.0.1 with `path: "https://pinned.example/pay"` (absolute form, as needle and axios
 * send through HTTPS_PROXY) would carry a pinned host's request in plaintext past a socket-address
 * rule. Every request's head is judged right before its first byte is written on the socket, once
 * the head is final (a path changed after the request was created is judged as sent).
 */
export function guardRequestTargets(engine: PolicyEngine, socket: Socket, host: string, port: number): void {
  const write = socket.write as (...args: unknown[]) => boolean;
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    const message = (this as Socket & { _httpMessage?: OutgoingHead | null })._httpMessage;
    let head: string | undefined;
    if (message) {
      if (!judged.has(message)) {
        judged.add(message);
        head = String(message._header ?? '');
      }
    } else {
      // Written by hand on the agent's socket: a chunk that starts a request is judged the same way.
      const chunk = args[0];
      const text = typeof chunk === 'string' ? chunk.slice(0, 8192) : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, 8192)).toString('latin1') : '';
      if (REQUEST_LINE.test(text)) head = text;
    }
    if (head !== undefined) {
      const refused = engine.checkRequestTarget(head, host, port);
      if (refused) {
        this.destroy(refused);
        return false;
      }
    }
    return write.apply(this, args);
  } as typeof socket.write;
}

const HTTP_START = /^(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.[01]\r?\n|PRI \* HTTP\/2\.0\r\n)/;

/**
 * The cleartext rule for bytes about to go out on a plain TCP connection to `host:port` (`start`: the
 * first bytes of one write, as they go on the wire, latin1-decoded). A write that starts an HTTP/1.x
 * request (an `Upgrade: h2c` request included) or the HTTP/2 connection preface (h2c with prior
 * knowledge) is judged like http:// to that destination, and an absolute-form target by the URL it
 * names; anything else (TLS records, database protocols) is not HTTP and passes.
 */
export function cleartextHttpRefusal(engine: PolicyEngine, start: string, host: string, port: number): WirelockError | undefined {
  if (!HTTP_START.test(start)) return undefined;
  return engine.checkDestination('http:', host, port) ?? engine.checkRequestTarget(start.startsWith('PRI ') ? 'PRI * HTTP/1.1\r\n' : start, host, port);
}
