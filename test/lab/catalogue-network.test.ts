// First half of the catalogue: attacks on the network path (certificates, TLS versions, cleartext, proxies, DNS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCatalogue, EXPECTED, FIRST_HALF, scenarioIds } from './catalogue.js';

test('the catalogue, network attacks: every attack stopped with 0 bytes, every positive control intercepted, exit 0', async () => {
  const all = await scenarioIds();
  for (const id of FIRST_HALF) assert.ok(all.includes(id), `${id} is in the catalogue`);
  for (const id of Object.keys(EXPECTED)) assert.ok(all.includes(id), `${id} is in the catalogue`);
  await checkCatalogue(FIRST_HALF);
});
