// Load generator for bench/collect.bench.ts, in its own process so it does not share the collector's event loop.
// `connections` devices, each on its own keep-alive HTTP/1.1 connection, POST a report back to back for `seconds`
// (one report per request, as TrustKit and wirelock send them; `perRequest` > 1 posts arrays instead). It competes
// with the collector and PostgreSQL for the same cores, so it does as little as a client can: the request text is
// built from a pre-serialised template (only the device's client id changes, so every report is new and none is
// folded as a resend) and the response is read just far enough to get its status and length.
// Prints JSON: per-request latencies (ms), statuses, elapsed seconds and its own CPU time.
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

const [urls, connectionsArg, secondsArg, bodyFile, perRequestArg = '1'] = process.argv.slice(2);
const targets = urls.split(',').map((u) => new URL(u));
const connections = Number(connectionsArg);
const perRequest = Number(perRequestArg);
const [before, after] = readFileSync(bodyFile, 'utf8').split('__CLIENT__');
const latencies = [];
const statuses = {};
let sequence = 0;
const cpuStart = process.cpuUsage();
const end = performance.now() + Number(secondsArg) * 1000;

function requestText(target, id) {
  let body = '';
  for (let i = 0; i < perRequest; i++) body += (i === 0 ? '' : ',') + before + `${process.pid}-${id}-${sequence++}` + after;
  if (perRequest > 1) body = `[${body}]`;
  return `POST /api/reports HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function device(id, target) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    let pending = '';
    let started = 0;
    const send = () => {
      if (performance.now() >= end) {
        socket.end();
        return resolve();
      }
      started = performance.now();
      socket.write(requestText(target, id));
    };
    socket.setEncoding('latin1');
    socket.once('connect', send);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      pending += chunk;
      // One request in flight per connection: a complete response is the headers plus content-length bytes.
      const headerEnd = pending.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const lengthAt = pending.toLowerCase().indexOf('content-length:');
      const length = lengthAt < 0 || lengthAt > headerEnd ? 0 : parseInt(pending.slice(lengthAt + 15, pending.indexOf('\r\n', lengthAt)), 10);
      if (pending.length < headerEnd + 4 + length) return;
      latencies.push(performance.now() - started);
      const status = pending.slice(9, 12);
      statuses[status] = (statuses[status] ?? 0) + 1;
      pending = pending.slice(headerEnd + 4 + length);
      send();
    });
  });
}

const started = performance.now();
await Promise.all(Array.from({ length: connections }, (_, i) => device(i, targets[i % targets.length])));
const elapsed = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuStart);
process.stdout.write(JSON.stringify({ latencies: latencies.map((l) => Math.round(l * 100) / 100), statuses, elapsed, reportsPerRequest: perRequest, cpuMs: (cpu.user + cpu.system) / 1000 }));
