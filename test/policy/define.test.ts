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

/** Every object and array reachable from `value` that Object.freeze can freeze, with its path. */
function walk(value: unknown, path: string, out: Array<{ path: string; value: object }>): typeof out {
  if (typeof value !== 'object' || value === null) return out;
  if (ArrayBuffer.isView(value) || value instanceof Date) return out;
  out.push({ path, value });
  for (const key of Reflect.ownKeys(value)) walk((value as Record<PropertyKey, unknown>)[key], `${path}.${String(key)}`, out);
  return out;
}

function fullDocument(): { document: unknown; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-policy-freeze-'));
  const { root } = issueChain({ hostnames: ['internal.example'] });
  writeFileSync(join(dir, 'internal-root.pem'), root.pem);
  return {
    dir,
    document: {
      version: 1,
      unlistedHosts: 'block',
      trustAnchors: ['builtin', './internal-root.pem'],
      report: { uri: 'https://reports.example.com/wirelock', app: { id: 'com.example.app', version: '1.0' } },
      certificateTransparency: { enforce: false, policy: 'apple' },
      proxy: { url: 'http://proxy.example:3128', noProxy: ['localhost', '10.0.0.0/8', '*.internal.example'] },
      domains: {
        'api.example.com': { pins: [PIN_A, { pin: PIN_B, role: 'ca' }], pinsExpire: '2099-06-01', trustAnchors: ['./internal-root.pem'], certificateTransparency: { enforce: false } },
        'static.example.com': { cleartext: 'allow' },
      },
    },
  };
}

test('a defined policy is frozen all the way down: every nested object and array (policy immutability)', async () => {
  const { document, dir } = fullDocument();
  writeFileSync(join(dir, 'wirelock.json'), JSON.stringify(document));
  const { enforcedPolicy } = await import('../../src/policy/define.js');
  for (const [name, policy] of [
    ['definePolicy', definePolicy(document, { baseDir: dir })],
    ['loadPolicy', await loadPolicy(join(dir, 'wirelock.json'))],
    ['enforcedPolicy', enforcedPolicy(definePolicy(document, { baseDir: dir }))],
  ] as const) {
    const nodes = walk(policy, name, []);
    // The walk must reach the nested parts the review mutated, else "all frozen" proves nothing.
    for (const part of ['.domains', '.domains.0', '.domains.0.pins', '.domains.0.pins.0', '.report', '.report.app', '.proxy', '.proxy.noProxy', '.certificateTransparency', '.trustAnchors.1']) {
      assert.ok(nodes.some((node) => node.path === `${name}${part}`), `${name}${part} reached`);
    }
    const writable = nodes.filter((node) => !Object.isFrozen(node.value)).map((node) => node.path);
    assert.deepEqual(writable, [], `${name}: not frozen`);
    assert.throws(() => (policy.domains as unknown[]).push({ ...policy.domains[0], name: '127.0.0.2' }), TypeError);
    assert.throws(() => {
      (policy.domains[0] as { name: string }).name = '127.0.0.2';
    }, TypeError);
    assert.equal(policy.domains.length, 2);
  }
});

test('positive control: the validator\'s plain output is writable, so the freezing is what stops the mutation', async () => {
  const { validatePolicy } = await import('../../src/policy/validate.js');
  const { document, dir } = fullDocument();
  const { policy } = validatePolicy(document, { baseDir: dir, files: { read: (p) => new Uint8Array(readFileSync(p)), exists: () => true }, now: new Date(), env: {} });
  assert.ok(policy);
  policy.domains.push({ ...policy.domains[0]!, name: '127.0.0.2' });
  assert.equal(policy.domains.length, 3);
});

test('what enforcement reads from a Date and from DER bytes is the validated value, not the writable object', async () => {
  const { pinsExpireTime, privateBytes } = await import('../../src/policy/define.js');
  const { document, dir } = fullDocument();
  const policy = definePolicy(document, { baseDir: dir });
  const api = policy.domains.find((domain) => domain.name === 'api.example.com')!;
  const validatedExpiry = api.pinsExpire!.getTime();
  // A frozen Date still changes through setTime; typed arrays cannot be frozen at all.
  api.pinsExpire!.setTime(0);
  assert.equal(api.pinsExpire!.getTime(), 0);
  assert.equal(pinsExpireTime(api), validatedExpiry);
  const anchor = api.trustAnchors[0]!;
  assert.ok(anchor.kind === 'file');
  const before = Buffer.from(privateBytes(anchor.certificates)[0]!);
  anchor.certificates[0]!.fill(0);
  assert.deepEqual(Buffer.from(privateBytes(anchor.certificates)[0]!), before);
  assert.notDeepEqual(Buffer.from(anchor.certificates[0]!), before);
});
