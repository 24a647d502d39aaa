import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { definePolicy, lintPolicyDocument, loadPolicy } from '../../src/policy/define.js';
import { WirelockError } from '../../src/errors.js';
import { issueChain } from '../../src/x509/issue.js';

const fixtures = new URL('../fixtures/policy/', import.meta.url).pathname;
const invalidCases = JSON.parse(readFileSync(join(fixtures, 'invalid-policies.json'), 'utf8')) as Array<{
  name: string;
  document: unknown;
  pointer: string;
  rule: string;
}>;

test('at least 20 malformed policies are in the fixture set', () => {
  assert.ok(invalidCases.length >= 20);
});

for (const testCase of invalidCases) {
  test(`rejects: ${testCase.name}`, () => {
    assert.throws(
      () => definePolicy(testCase.document, { baseDir: fixtures, source: 'wirelock.json' }),
      (error: unknown) => {
        assert.ok(error instanceof WirelockError);
        assert.equal(error.code, 'ERR_POLICY_INVALID');
        const issues = error.details.issues as Array<{ pointer: string; rule: string }>;
        assert.ok(
          issues.some((issue) => issue.pointer === testCase.pointer && issue.rule === testCase.rule),
          `expected ${testCase.rule} at ${testCase.pointer}, got ${JSON.stringify(issues)}`,
        );
        assert.ok(error.message.includes(`wirelock.json#${testCase.pointer || '/'}`), error.message);
        return true;
      },
    );
  });
}

const PIN_A = 'sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=';
const PIN_B = 'sha256/YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg=';

test('a full policy normalizes hosts, pins, expiry and inherited defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-policy-'));
  const { root } = issueChain({ hostnames: ['internal.example'] });
  writeFileSync(join(dir, 'internal-root.pem'), root.pem);
  const policy = definePolicy(
    {
      version: 1,
      mode: 'enforce',
      unlistedHosts: 'block',
      report: { uri: 'https://reports.example.com/wirelock' },
      domains: {
        'API.Example.com.': { includeSubdomains: true, pins: [PIN_A, { pin: PIN_B, role: 'ca' }], pinsExpire: '2027-06-01', trustAnchors: ['builtin', './internal-root.pem'] },
        'bücher.example': { cleartext: 'allow', mode: 'report-only', pins: [PIN_A] },
      },
    },
    { baseDir: dir },
  );
  assert.equal(policy.minTlsVersion, 'TLSv1.2');
  assert.equal(policy.cleartext, 'block');
  const [api, idn] = policy.domains;
  assert.equal(api!.name, 'api.example.com');
  assert.equal(api!.pins[1]!.role, 'ca');
  assert.equal(api!.pinsExpire!.toISOString(), '2027-06-01T23:59:59.999Z');
  assert.equal(api!.trustAnchors.length, 2);
  assert.equal(api!.trustAnchors[1]!.kind === 'file' && api!.trustAnchors[1]!.certificates.length, 1);
  assert.equal(idn!.name, 'xn--bcher-kva.example');
  // A single pin is allowed in report-only mode: nothing can be locked out.
  assert.equal(idn!.pins.length, 1);
  assert.deepEqual(idn!.trustAnchors, [{ kind: 'builtin' }]);
  assert.ok(Object.isFrozen(policy));
});

test('lint reports every problem at once, errors and warnings', () => {
  const issues = lintPolicyDocument({
    version: 1,
    mode: 'report-only',
    cleartext: 'open',
    domains: { 'com': { includeSubdomains: true }, 'a.example': { pins: [PIN_A], pinsExpire: '2001-01-01', mode: 'enforce' } },
  });
  const rules = issues.map((issue) => `${issue.severity}:${issue.rule}@${issue.pointer}`);
  assert.ok(rules.includes('error:schema/enum@/cleartext'));
  assert.ok(rules.includes('error:domains/public-suffix@/domains/com/includeSubdomains'));
  assert.ok(rules.includes('error:pins/no-backup@/domains/a.example/pins'));
  assert.ok(rules.includes('warning:pins/expired@/domains/a.example/pinsExpire'));
  assert.ok(rules.includes('warning:mode/report-only@/mode'));
});

test('loadPolicy names the file and position of a JSON syntax error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-policy-'));
  const file = join(dir, 'wirelock.json');
  writeFileSync(file, '{\n  "version": 1,\n  "mode": "enforce",,\n}');
  await assert.rejects(loadPolicy(file), (error: unknown) => {
    assert.ok(error instanceof WirelockError && error.code === 'ERR_POLICY_INVALID');
    assert.match(error.message, /wirelock\.json: not valid JSON at line 3/);
    return true;
  });
  await assert.rejects(loadPolicy(join(dir, 'missing.json')), /cannot read policy file .*missing\.json: ENOENT/);
});

test('relative trust anchor paths resolve against the policy file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-policy-'));
  const { root } = issueChain({ hostnames: ['x.example'] });
  writeFileSync(join(dir, 'root.pem'), root.pem);
  writeFileSync(join(dir, 'wirelock.json'), JSON.stringify({ version: 1, trustAnchors: ['./root.pem'] }));
  const policy = await loadPolicy(join(dir, 'wirelock.json'));
  assert.equal(policy.trustAnchors[0]!.kind === 'file' && policy.trustAnchors[0]!.path, join(dir, 'root.pem'));
  assert.equal(policy.source, join(dir, 'wirelock.json'));
});

test('a signed log list without its detached signature file is refused at load time, at the logList pointer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-policy-ct-'));
  writeFileSync(join(dir, 'logs.json'), '{"operators":[]}');
  writeFileSync(join(dir, 'logs.pub.pem'), '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n');
  const file = join(dir, 'wirelock.json');
  writeFileSync(file, JSON.stringify({ version: 1, certificateTransparency: { enforce: true, logList: './logs.json', logListKey: './logs.pub.pem' } }));
  await assert.rejects(loadPolicy(file), (error: unknown) => {
    assert.ok(error instanceof WirelockError);
    assert.equal(error.code, 'ERR_POLICY_INVALID');
    assert.match(error.message, /#\/certificateTransparency\/logList: no detached signature for .*logs\.json: expected .*logs\.json\.sig or .*logs\.sig/);
    return true;
  });
  // Google's naming (logs.sig beside logs.json) is accepted, as the CT loader accepts it.
  writeFileSync(join(dir, 'logs.sig'), new Uint8Array(8));
  const policy = await loadPolicy(file);
  assert.equal(policy.certificateTransparency?.logList, join(dir, 'logs.json'));
});
