// createFetch takes what other code hands a fetch: the Request, Headers, FormData, Blob and streams
// of Node's built-in fetch (a separate copy of undici), as ky and ofetch pass them. Real TLS servers
// on loopback; blocks still reject with the WirelockError and 0 bytes reach the attacker.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import ky from 'ky';
import { ofetch } from 'ofetch';
import { fetch as undiciFetch } from 'undici';
import { createFetch } from '../../src/transport/fetch.js';
import { WirelockError } from '../../src/errors.js';
import { startCountingServer } from '../../src/lab/servers.js';
import { certificatePin } from '../../src/x509/certificate.js';
import { createTestPki } from './pki.js';

const pki = createTestPki();
const origin = await startCountingServer(pki.serverOptions(pki.legit));
const attacker = await startCountingServer(pki.serverOptions(pki.compromised));
after(() => Promise.all([origin.close(), attacker.close()]));
const policy = {
  version: 1,
  trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
  domains: { '127.0.0.1': { pins: [certificatePin(pki.legit.intermediate.der), pki.backupPin] } },
};
const wirelockFetch = createFetch(policy);

function lastRequest() {
  const request = origin.requests.at(-1);
  assert.ok(request, 'the origin got the request');
  return request;
}

test("control: the undici package's own fetch cannot read a Request of Node's built-in fetch", async () => {
  await assert.rejects(undiciFetch(new globalThis.Request(origin.url('127.0.0.1', '/')) as never), /Failed to parse URL from \[object Request\]/);
});

test("a Request built by Node's fetch: method, headers and streamed body arrive; init overrides the Request", async () => {
  origin.reset();
  const request = new globalThis.Request(origin.url('127.0.0.1', '/request'), { method: 'PUT', headers: { 'x-test': 'req' }, body: 'from the request' });
  const response = await wirelockFetch(request);
  assert.equal(response.status, 200);
  assert.deepEqual([lastRequest().method, lastRequest().url, lastRequest().headers['x-test'], lastRequest().body], ['PUT', '/request', 'req', 'from the request']);
  await wirelockFetch(new globalThis.Request(origin.url('127.0.0.1', '/override'), { method: 'POST', body: 'old' }), { body: 'new', headers: { 'x-test': 'init' } });
  assert.deepEqual([lastRequest().body, lastRequest().headers['x-test']], ['new', 'init']);
});

test("Headers, FormData (with a File), Blob, ReadableStream and URLSearchParams of Node's fetch", async () => {
  origin.reset();
  await wirelockFetch(origin.url('127.0.0.1', '/headers'), { headers: new globalThis.Headers({ 'x-test': 'headers' }) });
  assert.equal(lastRequest().headers['x-test'], 'headers');
  const form = new globalThis.FormData();
  form.append('field', 'value');
  form.append('upload', new globalThis.File(['file body'], 'notes.txt', { type: 'text/plain' }));
  await wirelockFetch(origin.url('127.0.0.1', '/form'), { method: 'POST', body: form });
  assert.match(String(lastRequest().headers['content-type']), /^multipart\/form-data; boundary=/);
  assert.match(lastRequest().body, /name="field"\r\n\r\nvalue\r\n/);
  assert.match(lastRequest().body, /name="upload"; filename="notes\.txt"\r\nContent-Type: text\/plain\r\n\r\nfile body\r\n/);
  await wirelockFetch(origin.url('127.0.0.1', '/blob'), { method: 'POST', body: new globalThis.Blob(['blob body'], { type: 'application/x-test' }) });
  assert.deepEqual([lastRequest().body, lastRequest().headers['content-type']], ['blob body', 'application/x-test']);
  const stream = new globalThis.ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('streamed'));
      controller.close();
    },
  });
  await wirelockFetch(origin.url('127.0.0.1', '/stream'), { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.equal(lastRequest().body, 'streamed');
  await wirelockFetch(origin.url('127.0.0.1', '/params'), { method: 'POST', body: new URLSearchParams({ a: '1', b: '2' }) });
  assert.deepEqual([lastRequest().body, lastRequest().headers['content-type']], ['a=1&b=2', 'application/x-www-form-urlencoded;charset=UTF-8']);
});

test('ky with createFetch: requests work, and a block rejects with the WirelockError, 0 bytes to the attacker', async () => {
  origin.reset();
  const client = ky.create({ fetch: wirelockFetch as typeof fetch, retry: 0 });
  const body = await client.post(origin.url('127.0.0.1', '/ky'), { json: { amount: 1 }, headers: { 'x-test': 'ky' } }).json<{ ok: boolean; path: string }>();
  assert.deepEqual(body, { ok: true, path: '/ky' });
  assert.deepEqual([lastRequest().body, lastRequest().headers['x-test'], lastRequest().headers['content-type']], ['{"amount":1}', 'ky', 'application/json']);
  attacker.reset();
  const error = await client.post(attacker.url('127.0.0.1', '/ky'), { json: { secret: 'card' } }).then(
    () => assert.fail('allowed'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof WirelockError, String(error));
  assert.equal(error.code, 'ERR_PIN_MISMATCH');
  assert.equal(attacker.applicationBytes, 0);
});

test('ofetch with createFetch: requests work, and a block surfaces the WirelockError as the FetchError cause, 0 bytes to the attacker', async () => {
  origin.reset();
  const client = ofetch.create({ retry: 0 }, { fetch: wirelockFetch as typeof fetch });
  const body = await client<{ ok: boolean; path: string }>(origin.url('127.0.0.1', '/ofetch'), { method: 'POST', body: { amount: 2 }, headers: { 'x-test': 'ofetch' } });
  assert.deepEqual(body, { ok: true, path: '/ofetch' });
  assert.deepEqual([lastRequest().body, lastRequest().headers['x-test']], ['{"amount":2}', 'ofetch']);
  attacker.reset();
  const error = await client(attacker.url('127.0.0.1', '/ofetch'), { method: 'POST', body: { secret: 'card' } }).then(
    () => assert.fail('allowed'),
    (failure: Error & { cause?: unknown }) => failure,
  );
  assert.ok(error.cause instanceof WirelockError, String(error));
  assert.equal(error.cause.code, 'ERR_PIN_MISMATCH');
  assert.equal(attacker.applicationBytes, 0);
});
