// fetch under the policy: `node examples/fetch.mjs` (policy: WIRELOCK_POLICY or ./wirelock.json;
// target: API_URL). A block rejects with the WirelockError itself.
import { loadPolicy, createFetch } from 'wirelock';

const policy = await loadPolicy(process.env.WIRELOCK_POLICY ?? './wirelock.json');
const url = process.env.API_URL ?? 'https://api.example.com/pay';

const fetch = createFetch(policy);
try {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify({ amount: 1 }) });
  console.log(JSON.stringify({ ok: true, status: response.status, body: await response.text() }));
} catch (err) {
  // err.code === 'ERR_PIN_MISMATCH', err.host, err.port, ...
  console.log(JSON.stringify({ ok: false, code: err.code, host: err.host, port: err.port }));
}
