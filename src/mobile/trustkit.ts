/**
 * TrustKit configuration: the JSON `initializeSslPinning()` of react-native-ssl-public-key-pinning
 * takes (TrustKit on iOS, OkHttp's CertificatePinner on Android), and the `TSKConfiguration`
 * dictionary native iOS apps put in Info.plist. TrustKit only pins: cleartext, trust anchors and
 * CT come from the ios/android outputs.
 *
 * Semantics that differ from wirelock and are announced as warnings (every platform fact is
 * listed with its upstream source in docs/mobile.md, "Platform facts"):
 * - TrustKit refuses a domain with fewer than 2 pins (a backup is mandatory) and any name without a
 *   known public suffix; it raises while loading its configuration, so the app dies at launch;
 * - TrustKit's exclusion (kSKExcludeSubdomainFromParentPolicy) covers the exact name only, and an
 *   exclusion TrustKit finds no parent for also raises at launch: one is written only where
 *   TrustKit's own lookup attaches it;
 * - the React Native library has no report-only mode, and on Android it hands `**.domain` patterns
 *   to OkHttp, which applies the pins of EVERY matching pattern (a nested domain also accepts its
 *   parent's pins); it reads expirationDate once, when initializeSslPinning() runs.
 */
import { isIP } from 'node:net';
import { WirelockError } from '../errors.js';
import { isPublicSuffix } from '../policy/match.js';
import { publicSuffixRules } from '../policy/suffix-list.js';
import type { DomainPolicy, Policy } from '../policy/types.js';
import { dayAfter, dayBefore, domainMode, pinBase64, Warnings, type GenerateResult } from './model.js';
import { isPlistDict, serializePlist, type PlistValue } from './plist.js';

export const TRUSTKIT_JSON_PATH = 'wirelock-pinning.json';
export const TRUSTKIT_PLIST_PATH = 'TrustKit-Info.plist';

export interface RnDomainOptions {
  includeSubdomains: boolean;
  publicKeyHashes: string[];
  expirationDate?: string;
}

type PlistDict = { [key: string]: PlistValue };

function pinnable(policy: Policy, warnings: Warnings): DomainPolicy[] {
  const out: DomainPolicy[] = [];
  for (const domain of policy.domains) {
    if (domain.pins.length === 0) continue;
    if (registryLength(domain.name) === 0) {
      warnings.add('invalid-domain', `${domain.pointer}/pins`, { domain: domain.name }, ['pins', 'pins-expire', 'report-only'],
        `${domain.name}: TrustKit raises at launch on a domain without a known public suffix (IP address, single label, or a TLD the Public Suffix List does not list, such as .internal, .corp, .lan), so it is left out; pin it with the android/ios outputs or give it a name under a public suffix`);
      continue;
    }
    if (domain.pins.length < 2) {
      warnings.add('single-pin', `${domain.pointer}/pins`, { domain: domain.name }, ['pins', 'report-only'],
        `${domain.name} has 1 pin; TrustKit refuses a domain without a backup pin, so it is left out`);
      continue;
    }
    out.push(domain);
  }
  return out;
}

function isParentOf(parent: DomainPolicy, child: DomainPolicy): boolean {
  return parent.includeSubdomains && child.name.endsWith(`.${parent.name}`);
}

export function generateRnPinningJson(policy: Policy, warnings = new Warnings('trustkit')): Record<string, RnDomainOptions> {
  const config: Record<string, RnDomainOptions> = {};
  const domains = pinnable(policy, warnings);
  const enforced = domains.filter((domain) => {
    if (domainMode(policy, domain) === 'enforce') return true;
    warnings.add('rn-report-only', `${domain.pointer}/mode`, { domain: domain.name }, ['report-only'],
      `${domain.name} is report-only and react-native-ssl-public-key-pinning cannot report without blocking: left out of the JSON (the TrustKit plist keeps it with TSKEnforcePinning = NO)`);
    return false;
  });
  matchingWarnings(policy, enforced, warnings, 'rn');
  for (const domain of enforced) {
    const entry: RnDomainOptions = { includeSubdomains: domain.includeSubdomains, publicKeyHashes: domain.pins.map(pinBase64) };
    if (domain.pinsExpireText) {
      entry.expirationDate = dayAfter(domain.pinsExpireText);
      // SslPublicKeyPinningModule.java skips an expired entry when the pinner is built, not later.
      warnings.add('rn-android-expiry', `${domain.pointer}/pinsExpire`, { domain: domain.name }, [],
        `${domain.name}: on Android react-native-ssl-public-key-pinning compares expirationDate with the clock only when initializeSslPinning() runs; an app process started before ${entry.expirationDate} keeps the pins until it restarts`);
    }
    for (const parent of enforced) {
      if (parent !== domain && isParentOf(parent, domain)) {
        warnings.add('rn-android-nested', `${domain.pointer}`, { domain: domain.name }, ['pins', 'pins-expire'],
          `${domain.name} lies under ${parent.name} (includeSubdomains): on Android OkHttp accepts the pins of both entries for it (and keeps either entry's until it expires), where wirelock and TrustKit use only ${domain.name}'s`);
      }
    }
    config[domain.name] = entry;
  }
  return config;
}

/** TrustKit's exclusion key; the constant's string value in TrustKit's source lacks the "T". */
export const TSK_EXCLUDE_KEY = 'kSKExcludeSubdomainFromParentPolicy';

const registryLengths = new Map<string, number>();
let knownTlds: Set<string> | undefined;

/**
 * TrustKit's GetRegistryLength(): the length of the public suffix of `name`, and 0 for an IP
 * literal, a suffix itself, a single label or a name under a TLD the Public Suffix List does not
 * list (no implicit "*" rule, unlike wirelock's isPublicSuffix).
 */
export function registryLength(name: string): number {
  let length = registryLengths.get(name);
  if (length !== undefined) return length;
  length = 0;
  if (isIP(name) === 0) {
    knownTlds ??= new Set(publicSuffixRules().split(' ').filter((rule) => !rule.includes('.') && !rule.startsWith('!') && !rule.startsWith('*')));
    const known = (suffix: string) => isPublicSuffix(suffix) && (suffix.includes('.') || knownTlds!.has(suffix));
    const labels = name.split('.');
    // A name that is itself a registry ("co.uk") has none.
    for (let i = known(name) ? labels.length : 1; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      if (known(suffix)) {
        length = suffix.length;
        break;
      }
    }
  }
  if (registryLengths.size > 10_000) registryLengths.clear();
  registryLengths.set(name, length);
  return length;
}

/**
 * TrustKit's isSubdomain() (configuration_utils.m, since 1.5.3): `host` is longer than `domain`,
 * both have the same public suffix (same registry length AND the same text, since 1.5.1), and the
 * host's name without that suffix ends with "." + the domain's name without it (a dot boundary).
 * Returns the matched label length (".example"), which TrustKit uses to prefer the most specific
 * parent (since 1.6.2); 0 when `host` is not a subdomain.
 */
export function trustKitSubdomainMatch(domain: string, host: string): number {
  if (host.length <= domain.length) return 0;
  const length = registryLength(domain);
  if (length === 0 || registryLength(host) !== length) return 0;
  if (domain.slice(domain.length - length) !== host.slice(host.length - length)) return 0;
  const domainLabel = `.${domain.slice(0, domain.length - length - 1)}`;
  const hostLabel = host.slice(0, host.length - length - 1);
  return hostLabel.endsWith(domainLabel) ? domainLabel.length : 0;
}

export function trustKitIsSubdomain(domain: string, host: string): boolean {
  return trustKitSubdomainMatch(domain, host) > 0;
}

type TrustKitDomains = { [name: string]: PlistValue };

/**
 * TrustKit's getPinningConfigurationKeyForDomain(): the exact key, else the includeSubdomains entry
 * with the longest isSubdomain() match (entries without TSKIncludeSubdomains = YES never match as a
 * parent, exclusion entries included). Names are compared as given: TrustKit does not lowercase.
 */
export function trustKitConfigurationKey(host: string, domains: TrustKitDomains): string | undefined {
  if (domains[host] !== undefined) return host;
  let best: string | undefined;
  let bestMatch = 0;
  for (const [name, entry] of Object.entries(domains)) {
    if (!isPlistDict(entry) || entry.TSKIncludeSubdomains !== true) continue;
    const match = trustKitSubdomainMatch(name, host);
    if (match > bestMatch) {
      bestMatch = match;
      best = name;
    }
  }
  return best;
}

/**
 * parse_configuration.m raises at launch (the app dies) unless an exclusion entry's name, prefixed
 * with "a", finds a parent through getPinningConfigurationKeyForDomain().
 */
export function trustKitExclusionAttaches(name: string, domains: TrustKitDomains): boolean {
  return trustKitConfigurationKey(`a${name}`, domains) !== undefined;
}

/**
 * What TrustKit raises on while loading a TSKConfiguration (parse_configuration.m:62-234), or
 * undefined when it loads: no pinned domains, a name without a known public suffix, an exclusion
 * with other keys or without a parent, includeSubdomains on a public suffix, a pin that is not a
 * SHA-256 digest, fewer than 2 distinct pins (1 when TSKEnforcePinning is NO).
 */
export function trustKitConfigurationProblem(configuration: PlistValue): string | undefined {
  const domains = isPlistDict(configuration) && isPlistDict(configuration.TSKPinnedDomains) ? configuration.TSKPinnedDomains : undefined;
  if (!domains || Object.keys(domains).length === 0) return 'no pinned domains';
  for (const [name, entry] of Object.entries(domains)) {
    if (registryLength(name) === 0) return `${name} has no known public suffix`;
    if (!isPlistDict(entry)) return `${name} is not a dictionary`;
    if (entry[TSK_EXCLUDE_KEY] === true) {
      if (Object.keys(entry).length > 1) return `${name}: an exclusion entry with other keys`;
      continue;
    }
    if (entry.TSKIncludeSubdomains === true && registryLength(name) === name.length) return `${name}: includeSubdomains on a public suffix`;
    const hashes = Array.isArray(entry.TSKPublicKeyHashes) ? entry.TSKPublicKeyHashes : [];
    if (hashes.some((hash) => typeof hash !== 'string' || Buffer.from(hash, 'base64').length !== 32)) return `${name}: a pin that is not a base64 SHA-256 digest`;
    if (new Set(hashes).size < (entry.TSKEnforcePinning === false ? 1 : 2)) return `${name}: fewer than ${entry.TSKEnforcePinning === false ? 1 : 2} pins`;
  }
  for (const name of Object.keys(domains)) {
    const entry = domains[name]!;
    if (isPlistDict(entry) && entry[TSK_EXCLUDE_KEY] === true && !trustKitExclusionAttaches(name, domains)) return `${name}: an exclusion TrustKit finds no parent for`;
  }
  return undefined;
}

/** Warnings for TrustKit's matching where it differs from wirelock's longest-dot-boundary match. */
function matchingWarnings(policy: Policy, entries: DomainPolicy[], warnings: Warnings, flavour: 'tsk' | 'rn'): void {
  const subdomainParents = entries.filter((d) => d.includeSubdomains);
  for (const domain of policy.domains) {
    if (entries.includes(domain)) continue;
    // OkHttp (the JSON on Android) matches "**." patterns at any dot boundary; TrustKit's match implies one.
    const parents = subdomainParents.filter((p) => p !== domain && (domain.name.endsWith(`.${p.name}`) || trustKitIsSubdomain(p.name, domain.name)));
    if (parents.length === 0) continue;
    if (flavour === 'rn') {
      warnings.add('rn-unlisted-child', domain.pointer, { domain: domain.name }, ['pins', 'pins-expire', 'report-only'],
        `${domain.name} has no pinning entry but lies under ${parents.map((p) => p.name).join(', ')} (includeSubdomains): the React Native library cannot exclude it, so it gets the parent's pins`);
    } else if (domain.includeSubdomains) {
      warnings.add('excluded-subdomains', `${domain.pointer}/includeSubdomains`, { domain: domain.name }, ['pins', 'pins-expire', 'report-only'],
        `${domain.name} is excluded from ${parents.map((p) => p.name).join(', ')}'s pinning, but TrustKit's exclusion covers the exact name only: its subdomains get the parent's pins`);
    }
  }
}

export function generateTrustKitDictionary(policy: Policy, warnings = new Warnings('trustkit')): PlistDict {
  const pinnedDomains: PlistDict = {};
  const entries = pinnable(policy, warnings);
  matchingWarnings(policy, entries, warnings, 'tsk');
  for (const domain of entries) {
    const entry: PlistDict = {
      TSKIncludeSubdomains: domain.includeSubdomains,
      TSKEnforcePinning: domainMode(policy, domain) === 'enforce',
      TSKPublicKeyHashes: domain.pins.map(pinBase64),
      // TrustKit otherwise also sends reports to its authors' server.
      TSKDisableDefaultReportUri: true,
    };
    if (domain.pinsExpireText) entry.TSKExpirationDate = dayAfter(domain.pinsExpireText);
    if (policy.report) entry.TSKReportUris = [policy.report.uri];
    pinnedDomains[domain.name] = entry;
  }
  for (const domain of policy.domains) {
    if (entries.includes(domain)) continue;
    // Only a name TrustKit itself would pin through a parent needs (and can take) an exclusion; an
    // exclusion TrustKit finds no parent for makes it raise while loading: the app dies at launch.
    if (trustKitConfigurationKey(domain.name, pinnedDomains) === undefined) continue;
    if (registryLength(domain.name) > 0 && trustKitExclusionAttaches(domain.name, pinnedDomains)) {
      pinnedDomains[domain.name] = { [TSK_EXCLUDE_KEY]: true };
    } else {
      warnings.add('unexcludable-subdomain', domain.pointer, { domain: domain.name }, ['pins', 'pins-expire', 'report-only'],
        `${domain.name} is not pinned by the policy, but TrustKit applies ${trustKitConfigurationKey(domain.name, pinnedDomains)}'s pins to it and would raise at launch on an exclusion entry for it (no parent found for "a${domain.name}")`);
    }
  }
  return { TSKSwizzleNetworkDelegates: true, TSKPinnedDomains: pinnedDomains };
}

export function generateTrustKit(policy: Policy): GenerateResult {
  const warnings = new Warnings('trustkit');
  const json = generateRnPinningJson(policy, warnings);
  const dict = generateTrustKitDictionary(policy, warnings);
  // TrustKit raises at initialization (the app crashes at launch) on a configuration that pins nothing.
  if (!Object.values(dict.TSKPinnedDomains as PlistDict).some((entry) => isPlistDict(entry) && entry[TSK_EXCLUDE_KEY] !== true)) {
    const causes = warnings.list.filter((w) => w.rule === 'trustkit/invalid-domain' || w.rule === 'trustkit/single-pin').map((w) => `  ${w.rule} (${policy.source ?? '<policy>'}#${w.pointer}): ${w.message}`);
    throw new WirelockError('ERR_GENERATE_UNSUPPORTED', `the policy pins no domain that TrustKit can take, and TrustKit refuses a configuration without pinned domains${causes.length > 0 ? `:\n${causes.join('\n')}` : ' (no domain has pins)'}`, {
      file: policy.source,
      pointer: '/domains',
      target: 'trustkit',
      causes: warnings.list.filter((w) => w.rule === 'trustkit/invalid-domain' || w.rule === 'trustkit/single-pin').map((w) => w.rule),
    });
  }
  // Self-check against TrustKit's own load rules: a configuration it raises on would kill the app at launch.
  const problem = trustKitConfigurationProblem(dict);
  if (problem) {
    throw new WirelockError('ERR_GENERATE_UNSUPPORTED', `the generated TrustKit configuration would make TrustKit raise at launch (a wirelock bug; nothing was written): ${problem}`, { file: policy.source, target: 'trustkit' });
  }
  return {
    target: 'trustkit',
    files: [
      { path: TRUSTKIT_JSON_PATH, contents: `${JSON.stringify(json, null, 2)}\n`, role: 'react-native-ssl-public-key-pinning initializeSslPinning() options' },
      { path: TRUSTKIT_PLIST_PATH, contents: serializePlist({ TSKConfiguration: dict }), role: 'Info.plist TSKConfiguration (native TrustKit)' },
    ],
    warnings: warnings.list,
  };
}

// ---------------------------------------------------------------------------------------------
// Reference evaluators.

export interface PinningHostConfig {
  pins: string[];
  enforced: boolean;
  /** The last day pins apply: the day before the configured expiration date. */
  enforcedThrough: string | undefined;
}

/** TrustKit (iOS): the exact key, else the includeSubdomains parent with the longest match. */
export function evaluateTrustKit(configuration: PlistValue, host: string): PinningHostConfig | undefined {
  const domains = isPlistDict(configuration) && isPlistDict(configuration.TSKPinnedDomains) ? configuration.TSKPinnedDomains : {};
  // TrustKit does not lowercase; a key in other case still reads as the same name to a checker.
  const lowered: TrustKitDomains = {};
  for (const [name, entry] of Object.entries(domains)) if (isPlistDict(entry) && lowered[name.toLowerCase()] === undefined) lowered[name.toLowerCase()] = entry;
  const name = trustKitConfigurationKey(host.toLowerCase(), lowered);
  if (!name) return undefined;
  const entry = lowered[name] as PlistDict;
  if (entry[TSK_EXCLUDE_KEY] === true) return undefined;
  const hashes = Array.isArray(entry.TSKPublicKeyHashes) ? entry.TSKPublicKeyHashes.filter((h): h is string => typeof h === 'string') : [];
  return {
    pins: hashes,
    enforced: entry.TSKEnforcePinning !== false,
    enforcedThrough: typeof entry.TSKExpirationDate === 'string' ? dayBefore(entry.TSKExpirationDate) : undefined,
  };
}

/** react-native-ssl-public-key-pinning on iOS passes the same options to TrustKit. */
export function rnJsonAsTrustKit(json: Record<string, RnDomainOptions>): PlistDict {
  const domains: PlistDict = {};
  for (const [name, entry] of Object.entries(json)) {
    domains[name] = {
      TSKIncludeSubdomains: entry.includeSubdomains,
      TSKPublicKeyHashes: entry.publicKeyHashes,
      ...(entry.expirationDate ? { TSKExpirationDate: entry.expirationDate } : {}),
    };
  }
  return { TSKPinnedDomains: domains };
}

/**
 * OkHttp CertificatePinner as react-native-ssl-public-key-pinning configures it on Android:
 * `domain` matches exactly, `**.domain` matches the domain and every subdomain, and the pins of all
 * matching patterns are accepted. An entry whose expirationDate has passed when the pinner is built
 * is left out, so pins apply through the day before it (the latest such day over the matching
 * entries: any one of them keeps pinning on).
 */
export function evaluateOkHttp(json: Record<string, RnDomainOptions>, rawHost: string): PinningHostConfig | undefined {
  const host = rawHost.toLowerCase();
  const pins = new Set<string>();
  let matched = false;
  let through: string | undefined;
  let forever = false;
  for (const [rawName, entry] of Object.entries(json)) {
    const name = rawName.toLowerCase();
    if (host === name || (entry.includeSubdomains && host.endsWith(`.${name}`))) {
      matched = true;
      for (const hash of entry.publicKeyHashes) pins.add(hash);
      if (typeof entry.expirationDate !== 'string') forever = true;
      else {
        const last = dayBefore(entry.expirationDate);
        if (!through || last > through) through = last;
      }
    }
  }
  return matched ? { pins: [...pins], enforced: true, enforcedThrough: forever ? undefined : through } : undefined;
}
