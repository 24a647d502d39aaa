import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { isWirelockError } from '../../src/errors.js';
import { definePolicy } from '../../src/policy/define.js';
import { generateTarget, TARGETS } from '../../src/mobile/generate.js';
import { compareRules, expectedRules, hostMatrix, warningCovers } from '../../src/mobile/equivalence.js';
import { registryLength } from '../../src/mobile/trustkit.js';
import { vectors } from './support.js';

const pin = (seed: number) => `sha256/${createHash('sha256').update(`wirelock property pin ${seed}`).digest('base64')}`;
const certA = join(vectors, 'spki-pins', 'certs', 'GTS_Root_R1.pem');
const certB = join(vectors, 'spki-pins', 'certs', 'GlobalSign_Root_CA.pem');
const logList = join(vectors, 'ct-log-lists', 'google-all_logs_list.v89.25.2026-08-20.json');
const NAMES = ['example.com', 'api.example.com', 'a.api.example.com', 'shop.example.org', 'localhost', 'api.localhost', '127.0.0.1', '10.0.2.2', 'bücher.example', 'corp.internal.example'];

const multiLabel = (name: string) => name.includes('.') && !/^\d/.test(name);
const anchors = fc.constantFrom(undefined, ['builtin'], ['builtin', certA], [certA], [certA, certB]);
const ct = fc.constantFrom(undefined, { enforce: true, logList }, { enforce: false });
const role = fc.constantFrom(undefined, 'leaf', 'ca');

const domain = (name: string) =>
  fc.record({
    includeSubdomains: multiLabel(name) ? fc.boolean() : fc.constant(false),
    mode: fc.constantFrom(undefined, 'enforce', 'report-only'),
    pins: fc.oneof(fc.constant([] as number[]), fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 3 }), fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 1 })),
    roles: fc.array(role, { minLength: 3, maxLength: 3 }),
    pinsExpire: fc.constantFrom(undefined, '2030-01-31'),
    trustAnchors: anchors,
    cleartext: fc.constantFrom(undefined, 'allow', 'block'),
    minTlsVersion: fc.constantFrom(undefined, 'TLSv1.2', 'TLSv1.3'),
    certificateTransparency: ct,
  });

const policyArbitrary = fc
  .record({
    mode: fc.constantFrom('enforce', 'report-only'),
    minTlsVersion: fc.constantFrom('TLSv1.2', 'TLSv1.3'),
    cleartext: fc.constantFrom('block', 'allow-loopback'),
    unlistedHosts: fc.constantFrom('allow', 'block'),
    trustAnchors: anchors,
    certificateTransparency: ct,
    names: fc.subarray(NAMES, { maxLength: 6 }),
  })
  .chain((base) => fc.tuple(fc.constant(base), fc.tuple(...base.names.map(domain))))
  .map(([base, entries]) => {
    const domains: Record<string, unknown> = {};
    base.names.forEach((name, index) => {
      const d = entries[index]!;
      const mode = d.mode ?? base.mode;
      // A single pin is only valid in report-only mode.
      const seeds = d.pins.length === 1 && mode !== 'report-only' ? [] : d.pins;
      const entry: Record<string, unknown> = { includeSubdomains: d.includeSubdomains };
      if (d.mode) entry.mode = d.mode;
      if (seeds.length) entry.pins = seeds.map((seed, i) => (d.roles[i] ? { pin: pin(seed), role: d.roles[i] } : pin(seed)));
      if (seeds.length && d.pinsExpire) entry.pinsExpire = d.pinsExpire;
      if (d.trustAnchors) entry.trustAnchors = d.trustAnchors;
      if (d.cleartext) entry.cleartext = d.cleartext;
      if (d.minTlsVersion) entry.minTlsVersion = d.minTlsVersion;
      if (d.certificateTransparency) entry.certificateTransparency = d.certificateTransparency;
      domains[name] = entry;
    });
    const document: Record<string, unknown> = { version: 1, mode: base.mode, minTlsVersion: base.minTlsVersion, cleartext: base.cleartext, unlistedHosts: base.unlistedHosts, domains };
    if (base.trustAnchors) document.trustAnchors = base.trustAnchors;
    if (base.certificateTransparency) document.certificateTransparency = base.certificateTransparency;
    return document;
  });

test('property: for random policies every target\'s output differs from wirelock only where a warning says so', () => {
  fc.assert(
    fc.property(policyArbitrary, (document) => {
      const policy = definePolicy(document, { now: new Date('2026-01-01T00:00:00Z') });
      for (const target of TARGETS) {
        // generateTarget throws ERR_GENERATE_UNSUPPORTED on any difference no warning announces.
        let generation;
        try {
          generation = generateTarget(target, policy);
        } catch (error) {
          // The one refusal that is not a difference: TrustKit cannot take a configuration without pins.
          const refused = isWirelockError(error, 'ERR_GENERATE_UNSUPPORTED') && target === 'trustkit' && !error.details.differences;
          if (!refused || policy.domains.some((d) => d.pins.length >= 2 && registryLength(d.name) > 0)) throw error;
          continue;
        }
        for (const report of generation.equivalence) assert.deepEqual(report.unexplained, [], `${target} ${report.evaluator}`);
      }
    }),
    { numRuns: Number(process.env.WIRELOCK_PROPERTY_RUNS ?? 150), seed: Number(process.env.WIRELOCK_PROPERTY_SEED ?? 20261125) },
  );
});

test('the comparison is not vacuous: wrong platform rules are differences, and only matching warnings cover them', () => {
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { includeSubdomains: true, pins: [pin(1), pin(2)] } } });
  const expected = expectedRules(policy, 'www.api.example.com');
  assert.deepEqual(compareRules(policy, 'www.api.example.com', expected, expected), []);
  const wrong = compareRules(policy, 'www.api.example.com', expected, { ...expected, pinGroups: [], cleartext: true });
  assert.deepEqual(wrong.map((d) => d.aspect).sort(), ['cleartext', 'pins']);
  const warning = { rule: 'x/y', platform: 'x', pointer: '', message: '', aspects: ['pins' as const], scope: { domain: 'api.example.com' } };
  assert.equal(warningCovers(warning, policy, { host: 'www.api.example.com', aspect: 'pins' }), true);
  assert.equal(warningCovers(warning, policy, { host: 'www.api.example.com', aspect: 'cleartext' }), false, 'other aspect');
  assert.equal(warningCovers(warning, policy, { host: 'other.example.com', aspect: 'pins' }), false, 'other domain');
  assert.equal(warningCovers({ ...warning, scope: { hostKind: 'ip' } }, policy, { host: 'www.api.example.com', aspect: 'pins' }), false, 'host kind');
});

test('the host matrix covers apex, depths 1-3, the parent, look-alike suffixes, IDN, loopback, IP and local names', () => {
  const policy = definePolicy({ version: 1, domains: { 'api.example.com': { includeSubdomains: true } } });
  const hosts = hostMatrix(policy);
  for (const host of ['api.example.com', 'www.api.example.com', 'a.b.api.example.com', 'x.y.z.api.example.com', 'example.com', 'notapi.example.com', 'xn--bcher-kva.example', 'localhost', '127.0.0.1', '::1', '192.0.2.1', 'printer.local', 'intranet', 'unlisted.example.net']) {
    assert.ok(hosts.includes(host), host);
  }
});
