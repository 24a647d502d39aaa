// axios under the policy: https.Agent for https://, an http.Agent that applies the cleartext rule to
// http:// (and to redirects). `node examples/axios.mjs`, API_URL and WIRELOCK_POLICY as in fetch.mjs.
import axios from 'axios';
import { loadPolicy, createAgent, createHttpAgent } from 'wirelock';

const policy = await loadPolicy(process.env.WIRELOCK_POLICY ?? './wirelock.json');
const url = process.env.API_URL ?? 'https://api.example.com/pay';

const api = axios.create({ httpsAgent: createAgent(policy), httpAgent: createHttpAgent(policy), proxy: false });
try {
  const response = await api.post(url, { amount: 1 }, { responseType: 'text' });
  console.log(JSON.stringify({ ok: true, status: response.status, body: response.data }));
} catch (err) {
  // axios wraps the error: the WirelockError is err.cause (its code is also err.code).
  const cause = err.cause ?? err;
  console.log(JSON.stringify({ ok: false, code: cause.code, host: cause.host, port: cause.port }));
}
