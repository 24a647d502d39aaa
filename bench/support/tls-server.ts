// A loopback HTTPS server in its own process, so the client under measurement has a core to itself.
// Reads {cert, key} as JSON on stdin, prints the port, serves a small body until stdin closes.
import https from 'node:https';
import type { AddressInfo } from 'node:net';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.once('end', () => process.exit(0));
process.stdin.once('data', () => {
  setImmediate(() => {
    const { cert, key } = JSON.parse(input.split('\n')[0]!) as { cert: string; key: string };
    const server = https.createServer({ cert, key, keepAliveTimeout: 60_000 }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
  });
});
