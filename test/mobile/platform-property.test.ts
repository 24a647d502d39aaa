// Property tests (issue 15): random policies with overlapping domains, IDNs, unpinned neighbours under
// other suffixes of equal length and report-only domains.
// 1. No generated TrustKit configuration holds anything TrustKit raises on while loading it
//    (parse_configuration.m:62-234, TrustKit 3.0.7 c48790f), above all no exclusion TrustKit cannot
//    attach by the current isSubdomain rule (configuration_utils.m:18-100).
// 2. `--check` (checkDrift) on a file weakened at a random name always reports drift at that name.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as plist from 'plist';
import { isWirelockError } from '../../src/errors.js';
import { definePolicy } from '../../src/policy/define.js';
import { normalizeHost } from '../../src/policy/match.js';
import type { Policy } from '../../src/policy/types.js';
import { checkDrift } from '../../src/mobile/drift.js';
import { expectedRules, hostMatrix } from '../../src/mobile/equivalence.js';
import { writeAndroidResources } from '../../src/mobile/files.js';
import { generateTarget } from '../../src/mobile/generate.js';
import { evaluateTrustKit, registryLength, TRUSTKIT_PLIST_PATH } from '../../src/mobile/trustkit.js';
import { trustKitDomainKey } from './support.js';

type Dict = Record<string, any>;
const pin = (seed: number) => `sha256/${createHash('sha256').update(`wirelock platform property ${seed}`).digest('base64')}`;

// Overlapping names; the same names under other suffixes of equal length (com/net/org, co.uk);
// IDNs; a name under a suffix the Public Suffix List does not know.
const NAMES = [
  'example.com', 'api.example.com', 'a.api.example.com', 'cdn.example.com', 'example.net', 'cdn.example.net', 'api.example.org',
  'example.co.uk', 'api.example.co.uk', 'bücher.example.com', 'shop.bücher.de', 'bücher.de', 'api.corp.internal', 'notexample.com',
];

const domainArbitrary = fc.record({
  includeSubdomains: fc.boolean(),
  mode: fc.constantFrom(undefined, 'enforce', 'report-only'),
  pins: fc.constantFrom(0, 1, 2, 3),
  seed: fc.integer({ min: 0, max: 5 }),
  cleartext: fc.constantFrom(undefined, undefined, 'allow'),
});

const policyArbitrary = fc
  .tuple(fc.constantFrom('enforce', 'report-only'), fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 7 }))
  .chain(([mode, names]) => fc.tuple(fc.constant(mode), fc.constant(names), fc.tuple(...names.map(() => domainArbitrary))))
  .map(([mode, names, entries]) => {
    const domains: Record<string, unknown> = {};
    names.forEach((name, index) => {
      const d = entries[index]!;
      const effective = d.mode ?? mode;
      const count = d.pins === 1 && effective !== 'report-only' ? 2 : d.pins;
      const entry: Record<string, unknown> = { includeSubdomains: d.includeSubdomains };
      if (d.mode) entry.mode = d.mode;
      if (count > 0) entry.pins = Array.from({ length: count }, (_, i) => ({ pin: pin(d.seed * 10 + i), role: 'ca' }));
      if (d.cleartext) entry.cleartext = d.cleartext;
      domains[name] = entry;
    });
    return definePolicy({ version: 1, mode, domains });
  });


/** What parse_configuration.m raises on, or undefined when TrustKit loads the configuration. */
function trustKitLoadError(configuration: Dict): string | undefined {
  const domains = configuration.TSKPinnedDomains as Dict | undefined;
  if (!domains || Object.keys(domains).length === 0) return 'no pinned domains';
  for (const [name, entry] of Object.entries(domains)) {
    if (registryLength(name) === 0) return `invalid domain ${name}`;
    if (entry.kSKExcludeSubdomainFromParentPolicy === true) {
      if (Object.keys(entry).length > 1) return `${name}: exclusion with other keys`;
      continue;
    }
    if (entry.TSKIncludeSubdomains === true && registryLength(name) === name.length) return `${name}: includeSubdomains on a suffix`;
    const hashes = new Set<string>(entry.TSKPublicKeyHashes ?? []);
    for (const hash of hashes) if (Buffer.from(hash, 'base64').length !== 32) return `${name}: invalid pin`;
    if (hashes.size < (entry.TSKEnforcePinning === false ? 1 : 2)) return `${name}: no backup pin`;
  }
  for (const [name, entry] of Object.entries(domains)) {
    if (entry.kSKExcludeSubdomainFromParentPolicy === true && trustKitDomainKey(`a${name}`, domains) === undefined) return `${name}: exclusion without a parent`;
  }
  return undefined;
}

test('property: no generated TrustKit configuration makes TrustKit raise while loading it', () => {
  let generated = 0;
  let exclusions = 0;
  fc.assert(
    fc.property(policyArbitrary, (policy) => {
      let files;
      try {
        files = generateTarget('trustkit', policy).result.files;
      } catch (error) {
        // Refused with a clear error: TrustKit raises on a configuration without pinned domains.
        if (isWirelockError(error) && error.code === 'ERR_GENERATE_UNSUPPORTED' && /pins no domain that TrustKit can take/.test(error.message)) return;
        throw error;
      }
      generated++;
      const configuration = (plist.parse(files.find((f) => f.path === TRUSTKIT_PLIST_PATH)!.contents) as Dict).TSKConfiguration as Dict;
      exclusions += Object.values(configuration.TSKPinnedDomains as Dict).filter((e) => e.kSKExcludeSubdomainFromParentPolicy === true).length;
      assert.equal(trustKitLoadError(configuration), undefined);
      // The React Native JSON goes through TrustKit too on iOS (SslPublicKeyPinning.mm).
      const json = JSON.parse(files[0]!.contents) as Dict;
      if (Object.keys(json).length > 0) {
        const asTrustKit = Object.fromEntries(Object.entries(json).map(([name, entry]) => [name, { TSKIncludeSubdomains: entry.includeSubdomains, TSKPublicKeyHashes: entry.publicKeyHashes }]));
        assert.equal(trustKitLoadError({ TSKPinnedDomains: asTrustKit }), undefined);
      }
    }),
    { numRuns: 400, seed: 15 },
  );
  assert.ok(generated > 100 && exclusions > 20, `the property saw ${generated} configurations with ${exclusions} exclusions`);
});

const temporary: string[] = [];
after(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const EXTRA = ['deep.x.api.example.com', 'legacy.cdn.example.net', 'xn--bcher-kva.example.org', 'other.example.co.uk', 'www.shop.bücher.de'];

function candidates(policy: Policy): string[] {
  return [...new Set([...hostMatrix(policy), ...[...NAMES, ...EXTRA].map((n) => normalizeHost(n)!)])].filter((host) => /[a-z]/.test(host) && host.includes('.') && !host.endsWith('.local') && !/localhost$/.test(host)).sort();
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Weakens the file at `host` in a way that is weaker than the policy there; undefined if this host cannot be weakened that way. */
function weaken(target: 'android' | 'ios' | 'trustkit', policy: Policy, text: string, host: string): string | undefined {
  const expected = expectedRules(policy, host);
  if (target === 'android') {
    if (expected.cleartext !== false) return undefined;
    const own = new RegExp(`<domain-config cleartextTrafficPermitted="false">(\\s*<domain includeSubdomains="(?:true|false)">${escapeRegExp(host)}</domain>)`);
    if (own.test(text)) return text.replace(own, '<domain-config cleartextTrafficPermitted="true">$1');
    if (text.includes(`>${host}</domain>`)) return undefined;
    return text.replace('</network-security-config>', `    <domain-config cleartextTrafficPermitted="true">\n        <domain includeSubdomains="false">${host}</domain>\n    </domain-config>\n</network-security-config>`);
  }
  const document = plist.parse(text) as Dict;
  if (target === 'ios') {
    if (expected.cleartext !== false) return undefined;
    const exceptions = (document.NSAppTransportSecurity.NSExceptionDomains ??= {});
    exceptions[host] = { ...(exceptions[host] ?? {}), NSExceptionAllowsInsecureHTTPLoads: true };
    return plist.build(document);
  }
  const domains = document.TSKConfiguration.TSKPinnedDomains as Dict;
  const applied = evaluateTrustKit(document.TSKConfiguration, host);
  if (!applied?.enforced || (expected.pinGroups ?? []).length === 0) return undefined;
  if (domains[host] && !domains[host].kSKExcludeSubdomainFromParentPolicy) domains[host].TSKEnforcePinning = false;
  else domains[host] = { kSKExcludeSubdomainFromParentPolicy: true };
  return plist.build(document);
}

for (const target of ['android', 'ios', 'trustkit'] as const) {
  test(`property: --check on a ${target} file weakened at a random name always reports drift there`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirelock-weaken-'));
    temporary.push(dir);
    let weakened = 0;
    fc.assert(
      fc.property(policyArbitrary, fc.nat(), (policy, pick) => {
        let result;
        try {
          result = generateTarget(target, policy).result;
        } catch (error) {
          if (isWirelockError(error) && error.code === 'ERR_GENERATE_UNSUPPORTED') return;
          throw error;
        }
        const file = target === 'android' ? join(dir, 'res', 'xml', 'network_security_config.xml') : join(dir, `${target}.plist`);
        if (target === 'android') writeAndroidResources(result, file);
        else writeFileSync(file, result.files.find((f) => f.path.endsWith('.plist'))!.contents);
        assert.equal(checkDrift(target, policy, file).drifted, false, 'positive control: the generated file is in sync');
        const hosts = candidates(policy);
        // Try names from a random start until one can be weakened.
        for (let i = 0; i < hosts.length; i++) {
          const host = hosts[(pick + i) % hosts.length]!;
          const edited = weaken(target, policy, readFileSync(file, 'utf8'), host);
          if (edited === undefined) continue;
          writeFileSync(file, edited);
          const drift = checkDrift(target, policy, file);
          assert.equal(drift.drifted, true, `${host}: not reported`);
          if (drift.formatProblems.length === 0) assert.ok(drift.reports.some((r) => r.unexplained.some((d) => d.host === host)), `${host}: drift elsewhere only`);
          weakened++;
          return;
        }
      }),
      { numRuns: 80, seed: 15 },
    );
    assert.ok(weakened > 30, `only ${weakened} files weakened`);
  });
}
