// undici's own request/fetch under the policy, for every call that uses undici's global dispatcher.
// `node examples/undici.mjs`, API_URL and WIRELOCK_POLICY as in fetch.mjs.
import { setGlobalDispatcher, request } from 'undici';
import { loadPolicy, createDispatcher } from 'wirelock';

const policy = await loadPolicy(process.env.WIRELOCK_POLICY ?? './wirelock.json');
const url = process.env.API_URL ?? 'https://api.example.com/pay';

setGlobalDispatcher(createDispatcher(policy)); // undici's request/fetch
try {
  const response = await request(url, { method: 'POST', body: JSON.stringify({ amount: 1 }) });
  console.log(JSON.stringify({ ok: true, status: response.statusCode, body: await response.body.text() }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, code: err.code, host: err.host, port: err.port }));
}
