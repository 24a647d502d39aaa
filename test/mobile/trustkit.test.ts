import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as plist from 'plist';
import { definePolicy } from '../../src/policy/define.js';
import { checkTrustKit } from '../../src/mobile/equivalence.js';
import { evaluateOkHttp, evaluateTrustKit, generateTrustKit, registryLength, TRUSTKIT_JSON_PATH, TRUSTKIT_PLIST_PATH, type RnDomainOptions } from '../../src/mobile/trustkit.js';
import { assertGolden, loadEveryFeature } from './support.js';

const policy = await loadEveryFeature();
const result = generateTrustKit(policy);
const json = result.files.find((f) => f.path === TRUSTKIT_JSON_PATH)!.contents;
const plistText = result.files.find((f) => f.path === TRUSTKIT_PLIST_PATH)!.contents;
type Dict = Record<string, any>;

test('golden: react-native-ssl-public-key-pinning JSON and native TrustKit plist', () => {
  assertGolden('every-feature.trustkit.json', json);
  assertGolden('every-feature.trustkit.plist', plistText);
});

test('JSON has the library\'s shape: includeSubdomains, publicKeyHashes (bare base64), expirationDate yyyy-MM-dd', () => {
  const options = JSON.parse(json) as Record<string, RnDomainOptions>;
  for (const [domain, entry] of Object.entries(options)) {
    assert.deepEqual(Object.keys(entry).filter((k) => !['includeSubdomains', 'publicKeyHashes', 'expirationDate'].includes(k)), [], domain);
    assert.ok(entry.publicKeyHashes.length >= 2, `${domain}: TrustKit needs a backup pin`);
    for (const hash of entry.publicKeyHashes) assert.equal(Buffer.from(hash, 'base64').length, 32);
    if (entry.expirationDate) assert.match(entry.expirationDate, /^\d{4}-\d{2}-\d{2}$/);
  }
  assert.equal(options['api.example.com']!.expirationDate, '2031-06-02', 'pins expire at the start of that day');
  assert.equal(options['telemetry.example.org'], undefined, 'report-only is not expressible in the JSON');
});

test('TrustKit plist: TSKConfiguration keys as TrustKit reads them; report-only is TSKEnforcePinning = NO', () => {
  const config = (plist.parse(plistText) as Dict).TSKConfiguration as Dict;
  assert.equal(config.TSKSwizzleNetworkDelegates, true);
  const api = config.TSKPinnedDomains['api.example.com'];
  assert.deepEqual(api.TSKPublicKeyHashes, ['LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=', '13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs=']);
  assert.equal(api.TSKExpirationDate, '2031-06-02');
  assert.equal(api.TSKEnforcePinning, true);
  assert.equal(api.TSKDisableDefaultReportUri, true, 'no reports to a third party by default');
  assert.deepEqual(api.TSKReportUris, ['https://reports.example.com/wirelock']);
  const reportOnly = definePolicy({
    version: 1,
    domains: { 'beta.example.com': { mode: 'report-only', pins: ['sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=', 'sha256/13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs='] } },
  });
  const generated = generateTrustKit(reportOnly);
  const entry = (plist.parse(generated.files[1]!.contents) as Dict).TSKConfiguration.TSKPinnedDomains['beta.example.com'];
  assert.equal(entry.TSKEnforcePinning, false);
  assert.deepEqual(checkTrustKit(reportOnly, generated).flatMap((r) => r.unexplained), []);
});

test('host matrix: TrustKit, the JSON on iOS and the JSON on Android (OkHttp) differ from wirelock only where warned', () => {
  const reports = checkTrustKit(policy, result);
  assert.deepEqual(reports.map((r) => r.evaluator), ['trustkit-plist', 'rn-ios-trustkit', 'rn-android-okhttp']);
  for (const report of reports) assert.deepEqual(report.unexplained, [], report.evaluator);
  const okhttp = reports[2]!;
  // OkHttp unions the pins of nested patterns: announced by its own rule.
  assert.ok(okhttp.differences.some((d) => d.host === 'login.api.example.com' && d.aspect === 'pins' && d.warning === 'trustkit/rn-android-nested'));
  // SslPublicKeyPinningModule.java:76-84 (frw/react-native-ssl-public-key-pinning e35c227): expirationDate is read on Android.
  assert.ok(!okhttp.differences.some((d) => d.host === 'api.example.com' && d.aspect === 'pins-expire'), 'expirationDate is honoured on Android');
});

test('evaluators: OkHttp "**." includes the apex and every depth and unions pins; TrustKit picks the most specific entry', () => {
  const options = JSON.parse(json) as Record<string, RnDomainOptions>;
  assert.deepEqual(evaluateOkHttp(options, 'login.api.example.com')!.pins.length, 4);
  assert.equal(evaluateOkHttp(options, 'a.b.c.api.example.com')!.pins.length, 2);
  assert.equal(evaluateOkHttp(options, 'notapi.example.com'), undefined);
  const config = (plist.parse(plistText) as Dict).TSKConfiguration;
  assert.equal(evaluateTrustKit(config, 'login.api.example.com')!.pins.length, 2);
  assert.equal(evaluateTrustKit(config, 'x.login.api.example.com')!.enforcedThrough, '2031-06-01', 'the includeSubdomains parent');
});

test('positive control: a tampered TrustKit plist (pin dropped, enforcement off) is caught', () => {
  const tamper = (mutate: (domains: Dict) => void) => {
    const document = plist.parse(plistText) as Dict;
    mutate(document.TSKConfiguration.TSKPinnedDomains);
    const files = result.files.map((f) => (f.path === TRUSTKIT_PLIST_PATH ? { ...f, contents: plist.build(document) } : f));
    return checkTrustKit(policy, { ...result, files })[0]!.unexplained;
  };
  assert.ok(tamper((d) => d['api.example.com'].TSKPublicKeyHashes.pop()).some((x) => x.aspect === 'pins'));
  assert.ok(tamper((d) => (d['api.example.com'].TSKEnforcePinning = false)).some((x) => x.host === 'api.example.com'));
  assert.ok(tamper((d) => delete d['api.example.com'].TSKExpirationDate).some((x) => x.aspect === 'pins-expire'));
});

test('TrustKit matching as TrustKit implements it: exclusions for unpinned children, same suffix and a dot boundary', () => {
  const nested = definePolicy({
    version: 1,
    domains: {
      'example.com': { includeSubdomains: true, pins: ['sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=', 'sha256/13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs='] },
      'cdn.example.com': {},
    },
  });
  const generated = generateTrustKit(nested);
  const domains = (plist.parse(generated.files[1]!.contents) as Dict).TSKConfiguration.TSKPinnedDomains;
  // TrustKit refuses an exclusion entry with any other key (parse_configuration.m:84-99).
  assert.deepEqual(domains['cdn.example.com'], { kSKExcludeSubdomainFromParentPolicy: true });
  assert.equal(evaluateTrustKit({ TSKPinnedDomains: domains }, 'cdn.example.com'), undefined);
  assert.equal(evaluateTrustKit({ TSKPinnedDomains: domains }, 'www.example.com')!.pins.length, 2);
  // configuration_utils.m:18-56 (TrustKit 3.0.7): same public suffix text and a dot boundary.
  assert.equal(evaluateTrustKit({ TSKPinnedDomains: domains }, 'notexample.com'), undefined);
  assert.equal(evaluateTrustKit({ TSKPinnedDomains: domains }, 'example.net'), undefined);
  assert.equal(evaluateTrustKit({ TSKPinnedDomains: domains }, 'www.example.net'), undefined);
  assert.equal(evaluateTrustKit({ TSKPinnedDomains: domains }, 'example.co.uk'), undefined, 'different suffix length');
  const rules = generated.warnings.map((w) => w.rule);
  assert.ok(!rules.includes('trustkit/lookalike-subdomains'), 'no look-alike warning: TrustKit has a dot boundary');
  assert.ok(rules.includes('trustkit/rn-unlisted-child'), 'the React Native JSON cannot express the exclusion');
  const reports = checkTrustKit(nested, generated);
  for (const report of reports) {
    assert.deepEqual(report.unexplained, [], report.evaluator);
    assert.ok(!report.differences.some((d) => d.host === 'notexample.com' || d.host === 'example.net'), report.evaluator);
  }
});

test('known answers from TrustKit\'s own configuration tests (TSKPinConfigurationTests): which entry applies', () => {
  const pins = ['TQEtdMbmwFgYUifM4LDF+xgEtd0z69mPGmkp014d6ZY=', 'iQMk4onrJJz/nwW1wCUR0Ycsh3omhbM+PqMEwNof/K0='];
  const key = (domains: Dict, host: string) => {
    const applied = evaluateTrustKit({ TSKPinnedDomains: domains }, host);
    return applied === undefined ? undefined : Object.keys(domains).find((name) => domains[name].TSKPublicKeyHashes?.[0] === applied.pins[0]);
  };
  const entry = (includeSubdomains: boolean, first = pins[0]) => ({ TSKIncludeSubdomains: includeSubdomains, TSKPublicKeyHashes: [first, pins[1]] });
  assert.equal(key({ 'good.com': entry(true) }, 'www.good.com'), 'good.com');
  assert.equal(key({ 'good.com': entry(true) }, 'good.com'), 'good.com');
  assert.equal(key({ 'www.good.com': entry(true) }, 'sub.www.good.com.www.good.com'), 'www.good.com');
  assert.equal(key({ 'good.com': entry(true) }, 'good.com.otherdomain.com'), undefined);
  assert.equal(key({ 'good.com': entry(false) }, 'www.good.com'), undefined);
  assert.equal(key({ 'good.com': entry(true), 'www.good.com': entry(false, 'AAAA') }, 'www.good.com'), 'www.good.com');
  assert.equal(key({ 'good.com': entry(true) }, 'www.datatheorem.com'), undefined);
  assert.equal(evaluateTrustKit({ TSKPinnedDomains: { 'good.com': entry(true), 'unsecured.good.com': { kSKExcludeSubdomainFromParentPolicy: true } } } as Dict, 'unsecured.good.com'), undefined);
});

test('a policy that pins nothing TrustKit can take is refused (TrustKit raises at launch on an empty configuration)', () => {
  const nothing = definePolicy({ version: 1, domains: { 'api.example.com': { cleartext: 'block' } } });
  assert.throws(() => generateTrustKit(nothing), (error: Error & { code?: string }) => error.code === 'ERR_GENERATE_UNSUPPORTED' && /without pinned domains/.test(error.message));
});

test('TrustKit raises at launch on domains without a known public suffix: they are left out, with a warning', () => {
  // GetRegistryLength() without unknown registries: 0 for IPs, single labels and unlisted TLDs.
  assert.deepEqual(['www.google.com', 'a.b.co.uk', 'foo.example', 'bar', '192.168.0.1', 'co.uk', 'internal.corp.example', 'localhost'].map(registryLength), [3, 5, 0, 0, 0, 0, 0, 0]);
  const domains = (plist.parse(plistText) as Dict).TSKConfiguration.TSKPinnedDomains;
  assert.equal(domains['internal.corp.example'], undefined);
  assert.ok(result.warnings.some((w) => w.rule === 'trustkit/invalid-domain' && w.scope.domain === 'internal.corp.example'));
});
