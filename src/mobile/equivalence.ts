/**
 * Semantic equivalence of generated configuration and the policy. For each host of a matrix (every
 * domain, its subdomains at depths 1-3, its parent, look-alike suffixes, IDN, loopback, IP literals,
 * local names, unlisted hosts) the rules wirelock's matcher applies are compared with the rules a
 * reference evaluator reads from the generated files (parsed back from text, as a device would).
 * Every difference must be one a printed warning announces; anything else is a generator bug.
 */
import { createHash } from 'node:crypto';
import { WirelockError } from '../errors.js';
import { findDomainPolicy, isLoopbackHost, normalizeHost } from '../policy/match.js';
import type { DomainPolicy, Policy } from '../policy/types.js';
import { pemBlocks } from '../x509/certificate.js';
import { ANDROID_XML_PATH, evaluateAndroid, parseNetworkSecurityConfig } from './android.js';
import { effectiveInfoValues, evaluateAts, IOS_PLIST_PATH, type AtsChannel } from './ios.js';
import { anchorFingerprints, domainMode, hostKind, pinBase64, type Aspect, type GenerateResult, type GenerateWarning } from './model.js';
import { isPlistDict, parsePlist, type PlistValue } from './plist.js';
import { evaluateOkHttp, evaluateTrustKit, rnJsonAsTrustKit, TRUSTKIT_JSON_PATH, TRUSTKIT_PLIST_PATH, type PinningHostConfig, type RnDomainOptions } from './trustkit.js';

export interface PinGroup {
  role: 'any' | 'ca' | 'leaf';
  pins: string[];
}

/** What applies to one host. `undefined` fields are outside what a platform config controls. */
export interface HostRules {
  allowed?: boolean;
  cleartext?: boolean;
  /** Enforced pin groups: a connection must match one pin of every group. */
  pinGroups?: PinGroup[];
  /** Pins reported, not enforced. */
  reportOnlyPins?: string[];
  pinsExpire?: string | undefined;
  /** `system` and/or SHA-256 fingerprints of private anchors, sorted. */
  trust?: string[];
  ct?: boolean;
  minTls?: string;
}

export interface Difference {
  host: string;
  aspect: Aspect;
  expected: unknown;
  actual: unknown;
  /** The warning that announces it, if any. */
  warning: string | undefined;
}

export interface EquivalenceReport {
  evaluator: string;
  hosts: string[];
  differences: Difference[];
  /** Differences no warning announces: must be empty. */
  unexplained: Difference[];
}

/** The host matrix for a policy: normalized ASCII host names and IP literals. */
export function hostMatrix(policy: Policy): string[] {
  const hosts = new Set<string>([
    'unlisted.example.net',
    'localhost',
    'api.localhost',
    '127.0.0.1',
    '127.0.0.2',
    '::1',
    '192.0.2.1',
    'printer.local',
    'intranet',
    normalizeHost('bücher.example')!,
    normalizeHost('www.bücher.de')!,
  ]);
  for (const domain of policy.domains) {
    hosts.add(domain.name);
    if (hostKind(domain.name) === 'ip') continue;
    hosts.add(`www.${domain.name}`);
    hosts.add(`a.b.${domain.name}`);
    hosts.add(`x.y.z.${domain.name}`);
    // A name that ends with the domain's text but is not under it, and the same name under another
    // public suffix of equal length (TrustKit compares names without their suffix).
    hosts.add(`not${domain.name}`);
    const tld = /\.([a-z]{3})$/.exec(domain.name)?.[1];
    if (tld) hosts.add(`${domain.name.slice(0, -3)}${tld === 'net' ? 'org' : 'net'}`);
    const dot = domain.name.indexOf('.');
    if (dot > 0 && domain.name.indexOf('.', dot + 1) > 0) hosts.add(domain.name.slice(dot + 1));
  }
  return [...hosts].sort();
}

function pinsOf(groups: PinGroup[] | undefined): string[] {
  return [...new Set((groups ?? []).flatMap((g) => g.pins))].sort();
}

/** The rules wirelock itself applies to `host` (the transport engine's decisions). */
export function expectedRules(policy: Policy, host: string, domain = findDomainPolicy(policy, host)): HostRules {
  const mode = domainMode(policy, domain);
  const pins = domain?.pins.map(pinBase64).sort() ?? [];
  const anchors = domain?.trustAnchors ?? policy.trustAnchors;
  const system = mode === 'report-only' || anchors.some((a) => a.kind === 'builtin');
  const ct = domain ? domain.certificateTransparency : policy.certificateTransparency;
  return {
    // report-only reports an unlisted host and lets the connection through.
    allowed: domain !== undefined || policy.unlistedHosts === 'allow' || mode === 'report-only',
    cleartext: domain?.cleartext === 'allow' || (domain?.cleartext !== 'block' && policy.cleartext === 'allow-loopback' && isLoopbackHost(host)),
    pinGroups: mode === 'enforce' && pins.length > 0 ? [{ role: 'any', pins }] : [],
    reportOnlyPins: mode === 'report-only' ? pins : [],
    pinsExpire: mode === 'enforce' && pins.length > 0 ? domain?.pinsExpireText : undefined,
    trust: [...(system ? ['system'] : []), ...anchorFingerprints(anchors)],
    ct: mode === 'enforce' && ct?.enforce === true,
    minTls: domain?.minTlsVersion ?? policy.minTlsVersion,
  };
}

function declaredRoles(domain: DomainPolicy | undefined): Map<string, 'leaf' | 'ca' | undefined> {
  return new Map((domain?.pins ?? []).map((pin) => [pinBase64(pin), pin.role]));
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function compareRules(
  policy: Policy,
  host: string,
  expected: HostRules,
  actual: HostRules,
  domain = findDomainPolicy(policy, host),
): Array<Omit<Difference, 'warning'>> {
  const out: Array<Omit<Difference, 'warning'>> = [];
  const push = (aspect: Aspect, e: unknown, a: unknown) => out.push({ host, aspect, expected: e, actual: a });
  if (actual.allowed !== undefined && actual.allowed !== expected.allowed) push('allowed', expected.allowed, actual.allowed);
  // A host no connection may reach has no other rules worth comparing.
  if (expected.allowed === false && actual.allowed !== undefined) return out;
  if (actual.cleartext !== undefined && actual.cleartext !== expected.cleartext) push('cleartext', expected.cleartext, actual.cleartext);
  if (actual.pinGroups !== undefined) {
    const e = pinsOf(expected.pinGroups);
    const a = pinsOf(actual.pinGroups);
    if (!same(e, a)) push('pins', e, a);
    const roles = declaredRoles(domain);
    const roleProblem = actual.pinGroups.length > 1 || actual.pinGroups.some((g) => g.role !== 'any' && g.pins.some((pin) => roles.get(pin) !== g.role));
    if (roleProblem) push('pin-roles', expected.pinGroups, actual.pinGroups);
    if (e.length > 0 && a.length > 0 && actual.pinsExpire !== expected.pinsExpire) push('pins-expire', expected.pinsExpire, actual.pinsExpire);
  }
  if (actual.reportOnlyPins !== undefined && !same([...actual.reportOnlyPins].sort(), expected.reportOnlyPins)) push('report-only', expected.reportOnlyPins, actual.reportOnlyPins);
  if (actual.trust !== undefined && !same(actual.trust, expected.trust)) push('trust', expected.trust, actual.trust);
  if (actual.ct !== undefined && actual.ct !== expected.ct) push('ct', expected.ct, actual.ct);
  if (actual.minTls !== undefined && actual.minTls !== expected.minTls) push('min-tls', expected.minTls, actual.minTls);
  return out;
}

export function warningCovers(
  warning: GenerateWarning,
  policy: Policy,
  difference: Pick<Difference, 'host' | 'aspect'>,
  domain = findDomainPolicy(policy, difference.host),
): boolean {
  if (!warning.aspects.includes(difference.aspect)) return false;
  if (warning.scope.domain !== undefined && domain?.name !== warning.scope.domain) return false;
  const kind = warning.scope.hostKind;
  if (kind === 'unlisted' && domain) return false;
  if ((kind === 'ip' || kind === 'local') && hostKind(difference.host) !== kind) return false;
  if (kind === 'loopback' && !isLoopbackHost(difference.host)) return false;
  const deep = warning.scope.deepUnder;
  if (deep !== undefined && !(difference.host.endsWith(`.${deep}`) && difference.host.slice(0, -deep.length - 1).includes('.'))) return false;
  return true;
}

/** wirelock's side of the comparison, per policy and host (the same for every evaluator). */
const expectations = new WeakMap<Policy, Map<string, { domain: DomainPolicy | undefined; expected: HostRules }>>();

function check(evaluator: string, policy: Policy, warnings: GenerateWarning[], evaluate: (host: string) => HostRules, hosts = hostMatrix(policy)): EquivalenceReport {
  const differences: Difference[] = [];
  let memo = expectations.get(policy);
  if (!memo) expectations.set(policy, (memo = new Map()));
  for (const host of hosts) {
    let known = memo.get(host);
    if (!known) {
      const domain = findDomainPolicy(policy, host);
      memo.set(host, (known = { domain, expected: expectedRules(policy, host, domain) }));
    }
    const { domain, expected } = known;
    for (const difference of compareRules(policy, host, expected, evaluate(host), domain)) {
      const warning = warnings.find((w) => warningCovers(w, policy, difference, domain));
      differences.push({ ...difference, warning: warning?.rule });
    }
  }
  return { evaluator, hosts, differences, unexplained: differences.filter((d) => d.warning === undefined) };
}

function fileOf(result: GenerateResult, path: string): string {
  const file = result.files.find((f) => f.path === path);
  if (!file) throw new WirelockError('ERR_INPUT_INVALID', `no ${path} to check`);
  return file.contents;
}

function fingerprintsOfRaw(result: GenerateResult, src: string): string[] {
  const name = src.slice('@raw/'.length);
  const file = result.files.find((f) => f.path === `raw/${name}.pem`);
  if (!file) return [`missing:${src}`];
  return pemBlocks(file.contents).map((der) => createHash('sha256').update(der).digest('hex'));
}

/**
 * `debuggable`: a debug build, where <debug-overrides> add trust anchors on purpose (a development
 * proxy): trust is not compared, everything else (pins above all) must still hold.
 */
export function checkAndroid(policy: Policy, result: GenerateResult, apiLevel: number, hosts?: string[], debuggable = false): EquivalenceReport {
  const config = parseNetworkSecurityConfig(fileOf(result, ANDROID_XML_PATH));
  const raw = new Map<string, string[]>();
  return check(`android-api-${apiLevel}${debuggable ? '-debuggable' : ''}`, policy, result.warnings, (host) => {
    const applied = evaluateAndroid(config, host, { apiLevel, debuggable });
    const trust = new Set<string>();
    for (const src of applied.trustAnchors) {
      if (src === 'system' || src === 'user') trust.add(src);
      else {
        if (!raw.has(src)) raw.set(src, fingerprintsOfRaw(result, src));
        for (const fp of raw.get(src)!) trust.add(fp);
      }
    }
    // Pins Android skips for some chains (an overridePins anchor) are not the policy's pins on every chain.
    const pins = applied.pinsOverriddenBy.length > 0 ? [] : [...applied.pins].sort();
    return {
      allowed: true,
      cleartext: applied.cleartextPermitted,
      pinGroups: pins.length > 0 ? [{ role: 'any', pins }] : [],
      reportOnlyPins: [],
      pinsExpire: pins.length > 0 ? applied.pinsEnforcedThrough : undefined,
      trust: debuggable ? undefined : [...(trust.has('system') ? ['system'] : []), ...(trust.has('user') ? ['user'] : []), ...[...trust].filter((t) => t !== 'system' && t !== 'user').sort()],
      ct: applied.certificateTransparency,
      minTls: 'unspecified',
    };
  }, hosts);
}

/**
 * ATS as each iOS device reads the file: the NSAppTransportSecurity value after CoreFoundation's
 * device-specific key processing (one report per distinct value: `ios-ats~ipad`), and, where
 * NSAllowsArbitraryLoadsInWebContent / ForMedia are set, what web views and media loads get.
 */
export function checkIosReports(policy: Policy, result: GenerateResult, hosts?: string[]): EquivalenceReport[] {
  const plist = parsePlist(fileOf(result, IOS_PLIST_PATH));
  const info = isPlistDict(plist) ? plist : {};
  const values = effectiveInfoValues(info, 'NSAppTransportSecurity');
  const reports: EquivalenceReport[] = [];
  for (const { products, value } of values) {
    const ats = value ?? {};
    const suffix = values.length > 1 ? `~${products.join('~')}` : '';
    const channels: AtsChannel[] = ['url-session'];
    if (isPlistDict(ats) && ats.NSAllowsArbitraryLoadsInWebContent === true) channels.push('web-content');
    if (isPlistDict(ats) && ats.NSAllowsArbitraryLoadsForMedia === true) channels.push('media');
    // Apple documents NSIncludesSubdomains as reaching one label down; a checker reads the file
    // both ways, so that neither reading hides a weaker entry.
    for (const channel of channels) for (const depth of ['one-label', 'any-depth'] as const) {
      // Under the any-depth reading the depth warning explains nothing: an entry written for a deep name is read.
      const warnings = depth === 'any-depth' ? result.warnings.filter((w) => w.rule !== 'ios/subdomain-depth') : result.warnings;
      reports.push(check(`ios-ats${channel === 'url-session' ? '' : `-${channel}`}${depth === 'any-depth' ? '-any-depth' : ''}${suffix}`, policy, warnings, (host) => {
        const applied = evaluateAts(ats, host, channel, depth);
        const groups: PinGroup[] = [];
        if (applied.caPins.length > 0) groups.push({ role: 'ca', pins: [...applied.caPins].sort() });
        if (applied.leafPins.length > 0) groups.push({ role: 'leaf', pins: [...applied.leafPins].sort() });
        return {
          allowed: true,
          cleartext: applied.cleartextPermitted,
          pinGroups: groups,
          reportOnlyPins: [],
          pinsExpire: undefined,
          trust: ['system'],
          ct: applied.certificateTransparency,
          minTls: applied.minTlsVersion,
        };
      }, hosts));
    }
  }
  return reports;
}

/** The iPhone's reading (kept for callers that want one report); see checkIosReports. */
export function checkIos(policy: Policy, result: GenerateResult, hosts?: string[]): EquivalenceReport {
  const reports = checkIosReports(policy, result, hosts);
  return { ...reports[0]!, unexplained: reports.flatMap((r) => r.unexplained), differences: reports.flatMap((r) => r.differences) };
}

function pinningRules(applied: PinningHostConfig | undefined): HostRules {
  const pins = [...(applied?.pins ?? [])].sort();
  const enforced = applied?.enforced === true && pins.length > 0;
  return {
    pinGroups: enforced ? [{ role: 'any', pins }] : [],
    reportOnlyPins: applied && !applied.enforced ? pins : [],
    pinsExpire: enforced ? applied.enforcedThrough : undefined,
  };
}

/** Three evaluators: native TrustKit (plist), the React Native JSON on iOS (TrustKit) and on Android (OkHttp). */
export function checkTrustKit(policy: Policy, result: GenerateResult, hosts?: string[]): EquivalenceReport[] {
  const reports: EquivalenceReport[] = [];
  if (result.files.some((f) => f.path === TRUSTKIT_PLIST_PATH)) {
    const plist = parsePlist(fileOf(result, TRUSTKIT_PLIST_PATH));
    // TrustKit reads TSKConfiguration through CFBundleGetValueForInfoDictionaryKey: device variants apply.
    const values = effectiveInfoValues(isPlistDict(plist) ? plist : {}, 'TSKConfiguration');
    for (const { products, value } of values) {
      const configuration: PlistValue = value ?? {};
      reports.push(check(`trustkit-plist${values.length > 1 ? `~${products.join('~')}` : ''}`, policy, result.warnings.filter((w) => !w.rule.startsWith('trustkit/rn-')), (host) => pinningRules(evaluateTrustKit(configuration, host)), hosts));
    }
  }
  if (result.files.some((f) => f.path === TRUSTKIT_JSON_PATH)) {
    const json = readRnJson(fileOf(result, TRUSTKIT_JSON_PATH));
    const rnIos = rnJsonAsTrustKit(json);
    // The JSON is one file for both platforms: each evaluator accepts the warnings about its platform.
    reports.push(
      check('rn-ios-trustkit', policy, result.warnings.filter((w) => w.rule !== 'trustkit/rn-android-expiry' && w.rule !== 'trustkit/rn-android-nested'), (host) => pinningRules(evaluateTrustKit(rnIos, host)), hosts),
      check('rn-android-okhttp', policy, result.warnings, (host) => pinningRules(evaluateOkHttp(json, host)), hosts),
    );
  }
  return reports;
}

/** The React Native options JSON, shape-checked (a hand-edited file may not match). */
function readRnJson(text: string): Record<string, RnDomainOptions> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WirelockError('ERR_INPUT_INVALID', `pinning JSON is not valid JSON: ${(error as Error).message}`);
  }
  const ok = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) =>
    typeof entry === 'object' && entry !== null && Array.isArray((entry as RnDomainOptions).publicKeyHashes) && (entry as RnDomainOptions).publicKeyHashes.every((h) => typeof h === 'string'));
  if (!ok) throw new WirelockError('ERR_INPUT_INVALID', 'pinning JSON must map domains to { includeSubdomains, publicKeyHashes: [...], expirationDate }');
  return value as Record<string, RnDomainOptions>;
}

/** Every evaluator that applies to a generated result. */
export function checkEquivalence(policy: Policy, result: GenerateResult, hosts?: string[]): EquivalenceReport[] {
  switch (result.target) {
    case 'android': {
      const reports = [checkAndroid(policy, result, 24, hosts), checkAndroid(policy, result, 36, hosts)];
      if (parseNetworkSecurityConfig(fileOf(result, ANDROID_XML_PATH)).debugAnchors !== undefined) reports.push(checkAndroid(policy, result, 36, hosts, true));
      return reports;
    }
    case 'ios':
      return checkIosReports(policy, result, hosts);
    case 'trustkit':
      return checkTrustKit(policy, result, hosts);
  }
}
