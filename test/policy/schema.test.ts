import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validatePolicy } from '../../src/policy/validate.js';

// The shipped JSON Schema is for editor completion; the validator is the authority. They must
// agree on which properties exist, or completion would suggest keys the loader refuses.
const schema = JSON.parse(readFileSync(new URL('../../schema/wirelock.schema.json', import.meta.url), 'utf8'));
const files = { read: () => undefined, exists: () => true };

function unknownKeys(document: unknown): string[] {
  return validatePolicy(document, { baseDir: '/', files }).issues.filter((i) => i.rule === 'schema/unknown-property').map((i) => i.pointer);
}

test('every root property of the schema is known to the validator', () => {
  const document = Object.fromEntries(Object.keys(schema.properties).map((key) => [key, undefined]));
  for (const key of Object.keys(schema.properties)) assert.deepEqual(unknownKeys({ version: 1, [key]: document[key] }), [], key);
});

test('every domain and CT property of the schema is known to the validator', () => {
  const domainKeys = Object.keys(schema.properties.domains.additionalProperties.properties);
  for (const key of domainKeys) assert.deepEqual(unknownKeys({ version: 1, domains: { 'a.example': { [key]: undefined } } }), [], key);
  for (const key of Object.keys(schema.properties.certificateTransparency.properties)) {
    assert.deepEqual(unknownKeys({ version: 1, certificateTransparency: { [key]: undefined } }), [], key);
  }
  // And the other way round: a key the schema lacks is refused by the validator.
  assert.deepEqual(unknownKeys({ version: 1, domains: { 'a.example': { pinz: [] } } }), ['/domains/a.example/pinz']);
});

test('the package exports the schema', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.exports['./schema.json'], './schema/wirelock.schema.json');
  assert.ok(pkg.files.includes('schema'));
});
