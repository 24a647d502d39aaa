/**
 * TrustKit configuration: the JSON `initializeSslPinning()` of react-native-ssl-public-key-pinning
 * takes (TrustKit on iOS, OkHttp's CertificatePinner on Android), and the `TSKConfiguration`
 * dictionary native iOS apps put in Info.plist. TrustKit only pins: cleartext, trust anchors and
 * CT come from the ios/android outputs.
 *
 * Semantics that differ from wirelock and are announced as warnings:
 * - TrustKit refuses a domain with fewer than 2 pins (a backup is mandatory);
 * - TrustKit's subdomain test compares names without their public suffix and without a dot
 *   boundary (`notapi.example.com` and `api.example.net` count as subdomains of `api.example.com`),
 *   and with several matching includeSubdomains entries it takes the first in dictionary order, not
 *   the most specific;
 * - the React Native library has no report-only mode, and on Android it hands `**.domain` patterns
 *   to OkHttp, which applies the pins of EVERY matching pattern (a nested domain also accepts its
 *   parent's pins) and ignores expirationDate.
 */
import { isIP } from 'node:net';
import { WirelockError } from '../errors.js';
import { isPublicSuffix } from '../policy/match.js';
import { PUBLIC_SUFFIX_RULES } from '../policy/public-suffixes.js';
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
        `${domain.name}: TrustKit raises at launch on a domain without a known public suffix (IP address, single label, or a TLD the Public Suffix List does not list), so it is left out`);
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
      warnings.add('rn-android-expiry', `${domain.pointer}/pinsExpire`, { domain: domain.name }, ['pins-expire'],
        `${domain.name}: on Android react-native-ssl-public-key-pinning hands the pins to OkHttp's CertificatePinner, which has no expiry; they stay enforced after ${domain.pinsExpireText}`);
    }
    for (const parent of enforced) {
      if (parent !== domain && isParentOf(parent, domain)) {
        warnings.add('rn-android-nested', `${domain.pointer}`, { domain: domain.name }, ['pins'],
          `${domain.name} lies under ${parent.name} (includeSubdomains): on Android OkHttp accepts the pins of both entries for it, where wirelock and TrustKit use only ${domain.name}'s`);
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
    knownTlds ??= new Set(PUBLIC_SUFFIX_RULES.split(' ').filter((rule) => !rule.includes('.') && !rule.startsWith('!') && !rule.startsWith('*')));
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

/** TrustKit's isSubdomain(): same registry, and the name without it ends with the domain's, no dot needed. */
export function trustKitIsSubdomain(domain: string, host: string): boolean {
  const length = registryLength(domain);
  if (length === 0 || registryLength(host) !== length) return false;
  const domainLabel = domain.slice(0, domain.length - length - 1);
  const hostLabel = host.slice(0, host.length - length - 1);
  return hostLabel.length > 0 && hostLabel.endsWith(domainLabel);
}

/** Warnings for TrustKit's matching where it differs from wirelock's longest-dot-boundary match. */
function matchingWarnings(policy: Policy, entries: DomainPolicy[], warnings: Warnings, flavour: 'tsk' | 'rn'): void {
  const prefix = flavour === 'rn' ? 'rn-' : '';
  const subdomainParents = entries.filter((d) => d.includeSubdomains);
  for (const parent of subdomainParents) {
    warnings.add(`${prefix}lookalike-subdomains`, `${parent.pointer}/includeSubdomains`, { lookalikeOf: parent.name }, ['pins', 'pins-expire', 'report-only'],
      `TrustKit's subdomain test compares names without their public suffix and without a dot boundary: names such as "not${parent.name}" or ${parent.name} under another suffix of the same length get ${parent.name}'s pins`);
  }
  for (const domain of policy.domains) {
    const parents = subdomainParents.filter((p) => p !== domain && trustKitIsSubdomain(p.name, domain.name));
    if (parents.length === 0) continue;
    const listed = entries.includes(domain);
    if (!listed && flavour === 'rn') {
      warnings.add('rn-unlisted-child', domain.pointer, { domain: domain.name }, ['pins', 'pins-expire', 'report-only'],
        `${domain.name} has no pinning entry but lies under ${parents.map((p) => p.name).join(', ')} (includeSubdomains): the React Native library cannot exclude it, so it gets the parent's pins`);
    } else if (!listed && domain.includeSubdomains) {
      warnings.add('excluded-subdomains', `${domain.pointer}/includeSubdomains`, { domain: domain.name }, ['pins', 'pins-expire', 'report-only'],
        `${domain.name} is excluded from ${parents.map((p) => p.name).join(', ')}'s pinning, but TrustKit's exclusion covers the exact name only: its subdomains get the parent's pins`);
    } else if (listed && domain.includeSubdomains) {
      warnings.add(`${prefix}nested-subdomains`, `${domain.pointer}/includeSubdomains`, { domain: domain.name }, ['pins', 'pins-expire', 'report-only'],
        `${domain.name} and ${parents.map((p) => p.name).join(', ')} both include subdomains: for a subdomain of ${domain.name} TrustKit takes whichever matching entry comes first, not the most specific`);
    }
  }
}

export function generateTrustKitDictionary(policy: Policy, warnings = new Warnings('trustkit')): PlistDict {
  const pinnedDomains: PlistDict = {};
  const entries = pinnable(policy, warnings);
  matchingWarnings(policy, entries, warnings, 'tsk');
  for (const domain of policy.domains) {
    // A domain the policy does not pin, under a pinned parent: TrustKit must be told to leave it out.
    if (!entries.includes(domain) && entries.some((p) => p.includeSubdomains && trustKitIsSubdomain(p.name, domain.name))) {
      pinnedDomains[domain.name] = { [TSK_EXCLUDE_KEY]: true };
    }
  }
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
  return { TSKSwizzleNetworkDelegates: true, TSKPinnedDomains: pinnedDomains };
}

export function generateTrustKit(policy: Policy): GenerateResult {
  const warnings = new Warnings('trustkit');
  const json = generateRnPinningJson(policy, warnings);
  const dict = generateTrustKitDictionary(policy, warnings);
  // TrustKit raises at initialization (the app crashes at launch) on a configuration that pins nothing.
  if (Object.keys(dict.TSKPinnedDomains as PlistDict).length === 0) {
    throw new WirelockError('ERR_GENERATE_UNSUPPORTED', 'the policy pins no domain that TrustKit can take (at least 2 pins each), and TrustKit refuses a configuration without pinned domains', {
      file: policy.source,
      pointer: '/domains',
      target: 'trustkit',
    });
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

/** TrustKit (iOS): the exact domain, else the most specific includeSubdomains parent. */
export function evaluateTrustKit(configuration: PlistValue, rawHost: string): PinningHostConfig | undefined {
  const host = rawHost.toLowerCase();
  const domains = isPlistDict(configuration) && isPlistDict(configuration.TSKPinnedDomains) ? configuration.TSKPinnedDomains : {};
  let name: string | undefined = isPlistDict(domains[host]) ? host : undefined;
  if (!name) {
    // getPinningConfigurationKeyForDomain takes the first matching entry in dictionary order, which
    // is unspecified; the least specific one is the case that differs from wirelock.
    for (const [candidate, entry] of Object.entries(domains)) {
      if (isPlistDict(entry) && entry.TSKIncludeSubdomains === true && trustKitIsSubdomain(candidate, host) && (!name || candidate.length < name.length)) name = candidate;
    }
  }
  if (!name) return undefined;
  const entry = domains[name] as PlistDict;
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
 * matching patterns are accepted. expirationDate is not read.
 */
export function evaluateOkHttp(json: Record<string, RnDomainOptions>, rawHost: string): PinningHostConfig | undefined {
  const host = rawHost.toLowerCase();
  const pins = new Set<string>();
  let matched = false;
  for (const [name, entry] of Object.entries(json)) {
    if (host === name || (entry.includeSubdomains && host.endsWith(`.${name}`))) {
      matched = true;
      for (const hash of entry.publicKeyHashes) pins.add(hash);
    }
  }
  return matched ? { pins: [...pins], enforced: true, enforcedThrough: undefined } : undefined;
}
