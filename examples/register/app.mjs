// An app with no wirelock code at all, put under the policy from the outside:
//   WIRELOCK_POLICY=./wirelock.json node --import wirelock/register examples/register/app.mjs
// Global fetch (and https.request, axios, got...) then go through the policy, with lockdown's
// runtime-integrity guards. Global fetch reports a block as TypeError("fetch failed") with the
// WirelockError as its cause; a process warning names the host, port and code as well.
const url = process.env.API_URL ?? 'https://api.example.com/pay';
try {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify({ amount: 1 }) });
  console.log(JSON.stringify({ ok: true, status: response.status, body: await response.text() }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, message: err.message, code: err.cause?.code, host: err.cause?.host, port: err.cause?.port }));
}
