import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { validatePolicy } from '../../src/policy/validate.js';

// The shipped schema (editor completion) and the validator (the authority) agree on "proxy".
const schema = JSON.parse(readFileSync(new URL('../../schema/wirelock.schema.json', import.meta.url), 'utf8'));
const files = { read: () => undefined, exists: () => true };
const errorsOf = (document: unknown, env: Record<string, string> = {}) => validatePolicy(document, { baseDir: '/', files, env }).issues.filter((issue) => issue.severity === 'error');

test('every property of the schema\'s proxy object is known to the validator, and the validator knows no other', () => {
  const properties = schema.properties.proxy.oneOf[1].properties as Record<string, unknown>;
  for (const key of Object.keys(properties).filter((name) => name !== 'url')) {
    const issues = errorsOf({ version: 1, proxy: { url: 'http://proxy.example:3128', [key]: undefined } });
    assert.deepEqual(issues, [], key);
  }
  assert.deepEqual(errorsOf({ version: 1, proxy: { url: 'http://proxy.example:3128', user: 'x' } }).map((issue) => issue.pointer), ['/proxy/user']);
});

test('schema and validator accept and refuse the same proxy sections', () => {
  // ajv's CommonJS build seen from ESM: the class is on `default` under tsx, the module itself elsewhere.
  type AjvClass = new (options: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } };
  const module = Ajv2020 as unknown as AjvClass & { default?: AjvClass };
  const Ajv = module.default ?? module;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile({ ...schema, $schema: undefined });
  const accepted = [
    'env',
    { url: 'env' },
    { url: 'http://proxy.example:3128' },
    { url: 'https://proxy.example:8443', trustAnchors: ['builtin'], noProxy: ['.internal.example', '10.0.0.0/8', '*'], auth: 'env:PROXY_AUTH' },
  ];
  const refused = [
    'direct',
    { url: 'socks5://proxy.example:1080' },
    { url: 'http://proxy.example:3128', auth: 'alice:password' },
    { url: 'http://proxy.example:3128', auth: 'env:1BAD' },
    { noProxy: [] },
    { url: 'http://proxy.example:3128', extra: true },
  ];
  for (const proxy of accepted) {
    assert.equal(validate({ version: 1, proxy }), true, `schema refuses ${JSON.stringify(proxy)}: ${JSON.stringify(validate.errors)}`);
    assert.deepEqual(errorsOf({ version: 1, proxy }, { HTTPS_PROXY: 'http://proxy.example:3128' }), [], JSON.stringify(proxy));
  }
  for (const proxy of refused) {
    assert.equal(validate({ version: 1, proxy }), false, `schema accepts ${JSON.stringify(proxy)}`);
    assert.notDeepEqual(errorsOf({ version: 1, proxy }), [], `validator accepts ${JSON.stringify(proxy)}`);
  }
});
