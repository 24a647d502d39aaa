// Second half of the catalogue: everything not in the first half (CT, in-process attackers, key-log
// sniffing, mitmproxy, the Host header), read from `wirelock lab --list` so a new scenario is never left out.
import { test } from 'node:test';
import { checkCatalogue, FIRST_HALF, scenarioIds } from './catalogue.js';

test('the catalogue, every other scenario: every attack stopped with 0 bytes, every positive control intercepted, exit 0', async () => {
  await checkCatalogue((await scenarioIds()).filter((id) => !FIRST_HALF.includes(id)));
});
