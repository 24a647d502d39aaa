// got under the policy. `node examples/got.mjs`, API_URL and WIRELOCK_POLICY as in fetch.mjs.
import got from 'got';
import { loadPolicy, createAgent, createHttpAgent } from 'wirelock';

const policy = await loadPolicy(process.env.WIRELOCK_POLICY ?? './wirelock.json');
const url = process.env.API_URL ?? 'https://api.example.com/pay';

const api = got.extend({ agent: { https: createAgent(policy), http: createHttpAgent(policy) }, retry: { limit: 0 } });
try {
  const response = await api.post(url, { json: { amount: 1 } });
  console.log(JSON.stringify({ ok: true, status: response.statusCode, body: response.body }));
} catch (err) {
  // got wraps the error in a RequestError: the WirelockError is err.cause.
  const cause = err.cause ?? err;
  console.log(JSON.stringify({ ok: false, code: cause.code, host: cause.host, port: cause.port }));
}
