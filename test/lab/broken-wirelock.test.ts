// A wirelock that refuses everything must fail the lab on the legitimate-origin control, not pass as "blocked".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { assertNoVerdicts } from './catalogue.js';

// One scenario of each family whose verdict needs the legitimate-origin control.
const PROVED_SCENARIOS = ['self-signed', 'user-installed-ca', 'compromised-ca', 'cleartext', 'hooked-tls-preload', 'ct-no-scts'];

test('a broken wirelock (a build whose policy refuses every host) fails the lab on the legitimate-origin control', async () => {
  // The compiled lab, so its clients run compiled too; the policy of the build under test refuses every host.
  const { runLab } = (await import(pathToFileURL('dist/lab/run.js').href)) as typeof import('../../src/lab/run.js');
  const { renderTable } = (await import(pathToFileURL('dist/lab/render.js').href)) as typeof import('../../src/lab/render.js');
  const result = await runLab({
    scenarios: PROVED_SCENARIOS,
    transformPolicy: (_name, policy) => ({ ...policy, unlistedHosts: 'block', domains: {} }),
  });
  assertNoVerdicts(result);
  for (const scenario of result.scenarios) {
    // Without the control these would have passed: wirelock refused every attacker as well.
    assert.equal(scenario.subject?.ok, false);
    assert.equal(scenario.subject?.attackerBytes, 0);
    assert.equal(scenario.originControl?.code, 'ERR_HOST_NOT_ALLOWED', scenario.id);
  }
  const table = renderTable(result);
  assert.match(table, /wirelock never reached the legitimate server, so nothing was proved/);
  assert.match(table, /fix: wirelock refused the lab's own server \(ERR_HOST_NOT_ALLOWED: 127\.0\.0\.1 is not listed in the policy/);
  assert.doesNotMatch(table, /\bblocked\b/, 'no row or problem calls a refusal by the broken build "blocked"');

  // Control: the same scenarios with the real policy pass, so the failure above came from the broken build.
  const healthy = await runLab({ scenarios: PROVED_SCENARIOS });
  assert.equal(healthy.ok, true, JSON.stringify(healthy.scenarios.map((s) => [s.id, s.problems])));
  for (const scenario of healthy.scenarios) assert.equal(scenario.originControl?.reached, true, scenario.id);
});
