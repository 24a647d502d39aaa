import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePolicy } from '../../src/policy/define.js';
import { generateTarget, TARGETS } from '../../src/mobile/generate.js';

import { createHash } from 'node:crypto';

const PIN_A = `sha256/${createHash('sha256').update('key a').digest('base64')}`;
const PIN_B = `sha256/${createHash('sha256').update('key b').digest('base64')}`;
const base = { version: 1, domains: { 'api.example.com': { pins: [{ pin: PIN_A, role: 'ca' }, { pin: PIN_B, role: 'ca' }] } } };

test('every mobile target warns that the platform config cannot express the policy proxy, never showing credentials', () => {
  const policy = definePolicy({ ...base, proxy: { url: 'http://proxy.corp.example:3128', noProxy: ['.internal.example'], auth: 'env:PROXY_AUTH' } });
  for (const target of TARGETS) {
    const generation = generateTarget(target, policy);
    const warning = generation.result.warnings.find((candidate) => candidate.rule === `${target}/proxy`);
    assert.ok(warning, `${target} warns about the proxy`);
    assert.equal(warning.pointer, '/proxy');
    assert.match(warning.message, /cannot name a proxy/);
    assert.match(warning.message, /http:\/\/proxy\.corp\.example:3128, its noProxy list and its credentials is not carried over/);
    assert.ok(generation.open.some((open) => open.rule === `${target}/proxy`));
    const others = generateTarget(target, definePolicy(base)).result.warnings.map((other) => other.rule);
    assert.throws(() => generateTarget(target, policy, { strict: true, accept: others }), new RegExp(`${target}/proxy`));
    assert.doesNotThrow(() => generateTarget(target, policy, { strict: true, accept: [...others, `${target}/proxy`] }));
  }
  const envPolicy = definePolicy({ ...base, proxy: 'env' }, { env: { HTTPS_PROXY: 'http://u:hunter2@proxy.corp.example:3128' } });
  for (const target of TARGETS) {
    const text = JSON.stringify(generateTarget(target, envPolicy).result);
    assert.match(text, /\\"proxy\\": \\"env\\" is not carried over/);
    assert.ok(!text.includes('hunter2'));
  }
  // No proxy, no warning.
  for (const target of TARGETS) assert.ok(!generateTarget(target, definePolicy(base)).result.warnings.some((w) => w.rule.endsWith('/proxy')));
});
