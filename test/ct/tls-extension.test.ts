// Which SCT delivery channels Node's TLS client can use, observed on the wire: the ClientHello is
// captured by a raw TCP listener and its extensions are listed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyEngine } from '../../src/transport/engine.js';
import '../../src/ct/enforce.js';
import { createTestLog, writeLogListFiles } from '../../src/ct/testlog.js';
import { issueChain } from '../../src/x509/issue.js';

const EXT_STATUS_REQUEST = 5;
const EXT_SIGNED_CERTIFICATE_TIMESTAMP = 18;

const servers: net.Server[] = [];
after(() => servers.forEach((server) => server.close()));

/** Extension types of the first ClientHello sent to a listener. */
async function clientHelloExtensions(connect: (port: number) => net.Socket): Promise<number[]> {
  let resolveHello!: (bytes: Buffer) => void;
  const hello = new Promise<Buffer>((resolve) => (resolveHello = resolve));
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt16BE(3)) {
        resolveHello(buffered.subarray(5, 5 + buffered.readUInt16BE(3)));
        socket.destroy();
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as AddressInfo).port);
  client.on('error', () => {});
  const body = await hello;
  client.destroy();
  // Handshake header (4) + version (2) + random (32), then session id, cipher suites, compression.
  let offset = 4 + 2 + 32;
  offset += 1 + body[offset]!;
  offset += 2 + body.readUInt16BE(offset);
  offset += 1 + body[offset]!;
  const end = offset + 2 + body.readUInt16BE(offset);
  offset += 2;
  const types: number[] = [];
  while (offset < end) {
    types.push(body.readUInt16BE(offset));
    offset += 4 + body.readUInt16BE(offset + 2);
  }
  return types;
}

test(`Node ${process.versions.node}: the TLS client does not request SCTs in the handshake; with CT configured it requests OCSP stapling`, async () => {
  const pki = issueChain({ hostnames: ['127.0.0.1'] });
  const list = writeLogListFiles(join(mkdtempSync(join(tmpdir(), 'wirelock-ct-ext-')), 'l'), [createTestLog({ name: 'x', operator: 'y' })]);
  const withCt = new PolicyEngine({ version: 1, trustAnchors: [pki.root.pem], certificateTransparency: { logList: list.logList, logListKey: list.logListKey } });
  const withoutCt = new PolicyEngine({ version: 1, trustAnchors: [pki.root.pem] });
  const ctHello = await clientHelloExtensions((port) => withCt.connectTls({ host: '127.0.0.1', port }));
  const plainHello = await clientHelloExtensions((port) => withoutCt.connectTls({ host: '127.0.0.1', port }));
  // Node has no option that makes OpenSSL send signed_certificate_timestamp (no SSL_enable_ct
  // binding), so a server never sends SCTs in the TLS extension to a Node client.
  assert.ok(!ctHello.includes(EXT_SIGNED_CERTIFICATE_TIMESTAMP), `extensions: ${ctHello.join(',')}`);
  assert.ok(!plainHello.includes(EXT_SIGNED_CERTIFICATE_TIMESTAMP));
  // status_request is what carries OCSP-stapled SCTs; it is asked for only when CT needs it.
  assert.ok(ctHello.includes(EXT_STATUS_REQUEST), `extensions: ${ctHello.join(',')}`);
  assert.ok(!plainHello.includes(EXT_STATUS_REQUEST));
});
