/**
 * iOS App Transport Security (Info.plist `NSAppTransportSecurity`) from a policy, and a reference
 * evaluator of the generated dictionary. ATS semantics that matter here:
 * - NSPinnedDomains: with both NSPinnedCAIdentities and NSPinnedLeafIdentities a connection must
 *   match one pin of EACH list (wirelock: any one pin), so roles decide which list a pin goes to.
 * - pins never expire and there is no report-only mode;
 * - ATS does not protect connections to IP addresses or unqualified / `.local` names.
 */
import type { DomainPolicy, Pin, Policy } from '../policy/types.js';
import { isLoopbackHost } from '../policy/match.js';
import { domainMode, hostKind, pinBase64, Warnings, type GenerateResult } from './model.js';
import { isPlistDict, parsePlist, serializePlist, type PlistValue } from './plist.js';
import { parseXml, type XmlElement } from './xml.js';
import { WirelockError } from '../errors.js';

export const IOS_PLIST_PATH = 'Info.plist';

type PlistDict = { [key: string]: PlistValue };

/** Which pins of a domain ATS gets, and what is lost. */
export function atsPinLists(pins: Pin[]): { list: 'NSPinnedCAIdentities' | 'NSPinnedLeafIdentities' | undefined; pins: Pin[]; unknown: Pin[]; droppedLeaf: Pin[] } {
  const unknown = pins.filter((pin) => pin.role === undefined);
  const ca = pins.filter((pin) => pin.role === 'ca');
  const leaf = pins.filter((pin) => pin.role === 'leaf');
  // With both lists ATS requires a match in each (an AND wirelock's "any pin" cannot mean), so a
  // mixed set keeps the CA pins: they survive leaf re-issuance.
  if (ca.length > 0) return { list: 'NSPinnedCAIdentities', pins: ca, unknown, droppedLeaf: leaf };
  if (leaf.length > 0) return { list: 'NSPinnedLeafIdentities', pins: leaf, unknown, droppedLeaf: [] };
  return { list: undefined, pins: [], unknown, droppedLeaf: [] };
}

export function generateAtsDictionary(policy: Policy, warnings = new Warnings('ios')): PlistDict {
  const ats: PlistDict = { NSAllowsArbitraryLoads: false };
  if (policy.cleartext === 'allow-loopback') {
    ats.NSAllowsLocalNetworking = true;
    warnings.add('loopback', '/cleartext', { hostKind: 'loopback' }, ['cleartext'],
      '"allow-loopback" is written as NSAllowsLocalNetworking, which covers unqualified names, .local names and IP addresses but not names under .localhost');
  }
  const exceptions: PlistDict = {};
  const pinned: PlistDict = {};

  warnings.add('ip-address', '/cleartext', { hostKind: 'ip' }, ['cleartext', 'pins', 'trust', 'ct', 'min-tls'],
    'ATS does not protect connections made to IP addresses (no https requirement, no NSPinnedDomains): the policy\'s rules for IP hosts are not enforced on iOS');
  warnings.add('local-names', '/cleartext', { hostKind: 'local' }, ['cleartext', 'pins', 'pin-roles', 'ct', 'min-tls'],
    'ATS does not protect unqualified host names and .local names (and NSAllowsLocalNetworking allows cleartext to them): the policy\'s cleartext, pinning and TLS rules for such hosts are not enforced on iOS');
  if (policy.unlistedHosts === 'block') {
    warnings.add('unlisted-hosts', '/unlistedHosts', { hostKind: 'unlisted' }, ['allowed'], 'ATS cannot block hosts the policy does not list ("unlistedHosts": "block"): enforce the allowlist in the app');
  }
  if (policy.minTlsVersion === 'TLSv1.3') {
    warnings.add('min-tls', '/minTlsVersion', { hostKind: 'unlisted' }, ['min-tls'], 'ATS has no app-wide minimum TLS version: TLSv1.3 is written for listed domains only; other hosts get ATS\'s TLSv1.2');
  }
  if (policy.report) {
    warnings.add('no-reports', '/report', {}, [],
      `ATS does not report pin or CT failures: "report" (${policy.report.uri}) gets nothing from this configuration (the TrustKit output can report)`);
  }
  const ctDomain = policy.domains.find((d) => d.certificateTransparency?.enforce);
  if (policy.certificateTransparency?.enforce || ctDomain) {
    warnings.add('ct-policy', policy.certificateTransparency?.enforce ? '/certificateTransparency' : `${ctDomain!.pointer}/certificateTransparency`, {}, [],
      'NSRequiresCertificateTransparency applies Apple\'s CT policy with Apple\'s log list, not the policy\'s logList, policy, minScts or stale-list rules');
  }
  const globalCt = policy.certificateTransparency?.enforce === true && policy.mode === 'enforce';
  if (globalCt) {
    warnings.add('ct-unlisted', '/certificateTransparency', { hostKind: 'unlisted' }, ['ct'],
      'ATS can require CT per listed domain only (NSRequiresCertificateTransparency); for other hosts iOS applies its own system-wide CT policy');
  }
  const trustWarning = (domain: DomainPolicy | undefined, anchors: Policy['trustAnchors'], pointer: string) => {
    const custom = anchors.some((a) => a.kind === 'file');
    const noBuiltin = !anchors.some((a) => a.kind === 'builtin');
    if (!custom && !noBuiltin) return;
    warnings.add('trust-anchors', pointer, domain ? { domain: domain.name } : {}, ['trust'],
      `${domain ? domain.name : 'the policy'}: ATS cannot ${custom ? 'add private CAs' : ''}${custom && noBuiltin ? ' or ' : ''}${noBuiltin ? 'stop trusting the system roots' : ''}; iOS trusts its system store (pin the private CA's key, or install it through a configuration profile)`);
  };
  trustWarning(undefined, policy.trustAnchors, '/trustAnchors');

  for (const domain of policy.domains) {
    const mode = domainMode(policy, domain);
    if (domain.trustAnchors !== policy.trustAnchors) trustWarning(domain, domain.trustAnchors, `${domain.pointer}/trustAnchors`);
    const cleartext = domain.cleartext !== undefined ? domain.cleartext === 'allow' : policy.cleartext === 'allow-loopback' && isLoopbackHost(domain.name);
    const ct = domain.certificateTransparency?.enforce === true && mode === 'enforce';
    const exception: PlistDict = {
      NSIncludesSubdomains: domain.includeSubdomains,
      NSExceptionAllowsInsecureHTTPLoads: cleartext,
      NSExceptionMinimumTLSVersion: domain.minTlsVersion,
      NSExceptionRequiresForwardSecrecy: true,
      NSRequiresCertificateTransparency: ct,
    };
    exceptions[domain.name] = exception;
    if (domain.includeSubdomains) {
      warnings.add('subdomain-depth', `${domain.pointer}/includeSubdomains`, { domain: domain.name, deepUnder: domain.name }, ['cleartext', 'pins', 'pin-roles', 'ct', 'min-tls'],
        `${domain.name}: Apple documents NSIncludesSubdomains as reaching one label down (x.${domain.name}, not y.x.${domain.name}); names deeper below may get ATS's defaults and no pins: list the deeper names you use as their own domains`);
    }
    if (domain.pins.length === 0) continue;
    if (mode === 'report-only') {
      warnings.add('report-only', `${domain.pointer}/mode`, { domain: domain.name }, ['report-only'],
        `${domain.name} is report-only: ATS cannot report without blocking, so its pins are left out of NSPinnedDomains (use the TrustKit output for report-only pinning)`);
      continue;
    }
    const lists = atsPinLists(domain.pins);
    if (lists.unknown.length > 0) {
      warnings.add('pin-role-unknown', `${domain.pointer}/pins`, { domain: domain.name }, ['pins', 'pin-roles'],
        `${domain.name}: ${lists.unknown.length} pin(s) do not say "role": "leaf" or "ca", and ATS needs to know (${lists.unknown.map((p) => p.pin).join(', ')}); they are left out of NSPinnedDomains`);
    }
    if (lists.droppedLeaf.length > 0) {
      warnings.add('pin-roles-mixed', `${domain.pointer}/pins`, { domain: domain.name }, ['pins', 'pin-roles'],
        `${domain.name} mixes leaf and CA pins; ATS would require a match in both lists, so only the ${lists.pins.length} CA pin(s) are written and the leaf pin(s) ${lists.droppedLeaf.map((p) => p.pin).join(', ')} are left out`);
    }
    if (domain.pinsExpireText) {
      warnings.add('pins-expire', `${domain.pointer}/pinsExpire`, { domain: domain.name }, ['pins-expire'],
        `${domain.name}: NSPinnedDomains has no expiry; the pins stay enforced after ${domain.pinsExpireText} until an app update removes them`);
    }
    if (!lists.list) continue;
    pinned[domain.name] = {
      NSIncludesSubdomains: domain.includeSubdomains,
      [lists.list]: lists.pins.map((pin) => ({ 'SPKI-SHA256-BASE64': pinBase64(pin) })),
    };
  }
  // NSPinnedDomains cannot hold an entry without pins, so a domain left out falls under a pinned parent.
  for (const domain of policy.domains) {
    if (pinned[domain.name]) continue;
    const parent = policy.domains.find((p) => p !== domain && isPlistDict(pinned[p.name]) && p.includeSubdomains && domain.name.endsWith(`.${p.name}`));
    if (!parent) continue;
    warnings.add('unpinned-child', domain.pointer, { domain: domain.name }, ['pins', 'pin-roles', 'pins-expire', 'report-only'],
      `${domain.name} has no NSPinnedDomains entry of its own (no pins ATS can take), so ATS applies ${parent.name}'s pins to it (includeSubdomains)`);
  }
  if (Object.keys(exceptions).length > 0) ats.NSExceptionDomains = exceptions;
  if (Object.keys(pinned).length > 0) ats.NSPinnedDomains = pinned;
  return ats;
}

export function generateIos(policy: Policy): GenerateResult {
  const warnings = new Warnings('ios');
  const ats = generateAtsDictionary(policy, warnings);
  return {
    target: 'ios',
    files: [{ path: IOS_PLIST_PATH, contents: serializePlist({ NSAppTransportSecurity: ats }), role: 'Info.plist NSAppTransportSecurity' }],
    warnings: warnings.list,
  };
}

// ---------------------------------------------------------------------------------------------
// Device-specific Info.plist keys (CFBundle_InfoPlist.c, _CFBundleInfoPlistProcessInfoDictionary):
// on a device, `Key-<platform>~<product>`, then `Key~<product>`, then `Key-<platform>` replace `Key`.

/** The platform and products whose Info.plist key variants an iOS device reads. */
export const IOS_PLATFORM = 'iphoneos';
export const IOS_PRODUCTS = ['iphone', 'ipad', 'ipod'] as const;

/**
 * Splits `Key-platform~product` as CoreFoundation's _isPlatformAndProductKey does (the last "-" and
 * the last "~", "-" before "~", no empty part). Any platform or product name is accepted here, so
 * that variants for every Apple platform are found; undefined for a plain key.
 */
export function infoPlistKeyVariant(key: string): { base: string; platform?: string; product?: string } | undefined {
  const minus = key.lastIndexOf('-');
  const tilde = key.lastIndexOf('~');
  if (minus < 0 && tilde < 0) return undefined;
  if (minus >= 0 && tilde >= 0 && tilde <= minus) return undefined;
  const base = key.slice(0, minus >= 0 ? minus : tilde);
  const platform = minus >= 0 ? key.slice(minus + 1, tilde >= 0 ? tilde : key.length) : undefined;
  const product = tilde >= 0 ? key.slice(tilde + 1) : undefined;
  if (base === '' || platform === '' || product === '') return undefined;
  return { base, ...(platform !== undefined ? { platform } : {}), ...(product !== undefined ? { product } : {}) };
}

/** Every key of `info` a device may read in place of `base` (the variants, not `base` itself). */
export function infoPlistVariantKeys(keys: Iterable<string>, base: string): string[] {
  return [...keys].filter((key) => infoPlistKeyVariant(key)?.base === base);
}

/** The value of `base` an iOS device of `product` reads, after CoreFoundation's key processing. */
export function effectiveInfoValue(info: PlistDict, base: string, product: string, platform = IOS_PLATFORM): PlistValue | undefined {
  for (const key of [`${base}-${platform}~${product}`, `${base}~${product}`, `${base}-${platform}`, base]) {
    if (Object.hasOwn(info, key)) return info[key];
  }
  return undefined;
}

/**
 * The distinct values of `base` the iOS devices read, each with the products that read it
 * (one entry when the file has no variant keys).
 */
export function effectiveInfoValues(info: PlistDict, base: string): Array<{ products: string[]; value: PlistValue | undefined }> {
  const out: Array<{ products: string[]; value: PlistValue | undefined }> = [];
  const add = (label: string, value: PlistValue | undefined) => {
    const same = out.find((entry) => JSON.stringify(entry.value) === JSON.stringify(value));
    if (same) same.products.push(label);
    else out.push({ products: [label], value });
  };
  for (const product of IOS_PRODUCTS) add(product, effectiveInfoValue(info, base, product));
  // Variants for other platforms and products (visionOS, Mac Catalyst, ...) are readings too.
  for (const key of infoPlistVariantKeys(Object.keys(info), base)) add(key.slice(base.length), info[key]);
  return out;
}

/** Info.plist keys the platforms read as booleans (NSNumber/NSString boolValue): only <true/> or <false/> is unambiguous. */
const BOOLEAN_KEYS = new Set([
  'NSAllowsArbitraryLoads', 'NSAllowsArbitraryLoadsInWebContent', 'NSAllowsArbitraryLoadsForMedia', 'NSAllowsLocalNetworking',
  'NSIncludesSubdomains', 'NSRequiresCertificateTransparency',
  ...['NSException', 'NSTemporaryException', 'NSThirdPartyException'].flatMap((prefix) => [`${prefix}AllowsInsecureHTTPLoads`, `${prefix}RequiresForwardSecrecy`]),
  'TSKSwizzleNetworkDelegates', 'TSKIncludeSubdomains', 'TSKEnforcePinning', 'TSKDisableDefaultReportUri', 'kSKExcludeSubdomainFromParentPolicy',
]);

/**
 * Boolean keys holding another type (`<string>YES</string>`, `<integer>1</integer>`): Foundation's
 * boolValue reads them, as YES or NO depending on the text, where wirelock's evaluators read only
 * booleans; a checker cannot tell what the device applies, so they are reported.
 */
export function nonBooleanFlags(value: PlistValue | undefined, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => nonBooleanFlags(item, `${path}/${i}`));
  if (!isPlistDict(value)) return [];
  const out: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (BOOLEAN_KEYS.has(key) && typeof item !== 'boolean') out.push(`${path}/${key} holds ${JSON.stringify(item)}, not <true/> or <false/> (the platform reads it with boolValue)`);
    out.push(...nonBooleanFlags(item, `${path}/${key}`));
  }
  return out;
}

export interface InfoPlistMerge {
  text: string;
  /** Device-specific variant keys that were removed (they would have replaced the merged value). */
  removed: string[];
}

/**
 * Puts the generated NSAppTransportSecurity into an existing Info.plist (XML), replacing the key's
 * value or adding the key, removes every device-specific variant of the key (CoreFoundation would
 * read `NSAppTransportSecurity~iphone` instead of the merged value on an iPhone), and leaves every
 * other byte of the file as it was (a full parse and rewrite would lose <date>/<data> types,
 * comments and formatting).
 */
export function mergeAtsIntoInfoPlist(infoPlist: string, generated: string, file?: string): InfoPlistMerge {
  const ours = parseXml(generated, undefined, { doctype: 'plist' });
  const value = ours.children[0]!.children.find((c, i, all) => i > 0 && all[i - 1]!.name === 'key' && all[i - 1]!.text === 'NSAppTransportSecurity')!;
  // Our dict already sits one tab deep, where Xcode puts the top-level keys' values.
  return replaceInfoPlistKey(infoPlist, 'NSAppTransportSecurity', generated.slice(value.start, value.end), file);
}

/** Replaces (or adds) top-level `key` with the XML `block` and removes the key's variants. */
export function replaceInfoPlistKey(infoPlist: string, key: string, block: string, file?: string): InfoPlistMerge {
  const root = parseXml(infoPlist, file, { doctype: 'plist' });
  const dict = root.children[0];
  if (root.name !== 'plist' || !dict || dict.name !== 'dict') {
    throw new WirelockError('ERR_INPUT_INVALID', `${file ?? 'Info.plist'}: not an XML plist with a top-level <dict>`, { file });
  }
  parsePlist(infoPlist, file); // refuse anything the strict reader refuses
  const pairs: Array<{ name: string; key: XmlElement; value: XmlElement }> = [];
  for (let i = 0; i + 1 < dict.children.length; i += 2) pairs.push({ name: dict.children[i]!.text, key: dict.children[i]!, value: dict.children[i + 1]! });
  const removed = pairs.filter((pair) => infoPlistKeyVariant(pair.name)?.base === key);
  const existing = pairs.filter((pair) => pair.name === key);
  // Edits from the end of the file backwards keep the earlier offsets valid.
  const edits: Array<{ start: number; end: number; text: string }> = [];
  for (const pair of removed) {
    // The whole lines of the pair: from the start of the key's line to the end of the value's.
    const start = infoPlist.lastIndexOf('\n', pair.key.start - 1) + 1;
    const lineEnd = infoPlist.indexOf('\n', pair.value.end);
    const blank = /^[ \t]*$/.test(infoPlist.slice(start, pair.key.start)) && /^[ \t]*$/.test(infoPlist.slice(pair.value.end, lineEnd < 0 ? infoPlist.length : lineEnd));
    edits.push(blank ? { start, end: lineEnd < 0 ? infoPlist.length : lineEnd + 1, text: '' } : { start: pair.key.start, end: pair.value.end, text: '' });
  }
  // A duplicate key: CoreFoundation keeps the last value; every copy gets ours.
  for (const pair of existing) edits.push({ start: pair.value.start, end: pair.value.end, text: block });
  if (existing.length === 0) {
    const close = infoPlist.lastIndexOf('</dict>', dict.end);
    edits.push({ start: close, end: close, text: `\t<key>${key}</key>\n\t${block}\n` });
  }
  edits.sort((x, y) => y.start - x.start);
  let text = infoPlist;
  for (const edit of edits) text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  return { text, removed: removed.map((pair) => pair.name) };
}

// ---------------------------------------------------------------------------------------------
// Reference evaluator of an NSAppTransportSecurity dictionary.

export interface AtsHostConfig {
  /** False when ATS does not apply to the host at all (IP literal, local name). */
  protected: boolean;
  cleartextPermitted: boolean;
  minTlsVersion: string;
  certificateTransparency: boolean;
  caPins: string[];
  leafPins: string[];
}

/** The entry for `host`: exact, else the longest NSIncludesSubdomains parent (names read case-insensitively). */
function mostSpecific(table: PlistValue | undefined, host: string, depth: SubdomainDepth): PlistDict | undefined {
  if (!isPlistDict(table)) return undefined;
  let exact: PlistDict | undefined;
  let best: { name: string; entry: PlistDict } | undefined;
  for (const [rawName, entry] of Object.entries(table)) {
    if (!isPlistDict(entry)) continue;
    const name = rawName.toLowerCase().replace(/\.$/, '');
    if (name === host) exact ??= entry;
    else if (entry.NSIncludesSubdomains === true && host.endsWith(`.${name}`) && (depth === 'any-depth' || !host.slice(0, -name.length - 1).includes('.')) && (!best || name.length > best.name.length)) best = { name, entry };
  }
  return exact ?? best?.entry;
}

function identities(value: PlistValue | undefined): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => (isPlistDict(item) && typeof item['SPKI-SHA256-BASE64'] === 'string' ? [item['SPKI-SHA256-BASE64'] as string] : []));
}

/**
 * How far NSIncludesSubdomains reaches: Apple's key reference says "subdomains of the domain that
 * have one additional path component" (math.example.com, not advanced.math.example.com).
 */
export type SubdomainDepth = 'one-label' | 'any-depth';

/** Which loads: URLSession (the app's own requests), web views, or AV Foundation media. */
export type AtsChannel = 'url-session' | 'web-content' | 'media';

/** The exception-domain keys ATS reads, current and legacy (NSTemporaryException*, NSThirdPartyException*). */
const EXCEPTION_PREFIXES = ['NSException', 'NSTemporaryException', 'NSThirdPartyException'];
const TLS_ORDER = ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** The weakest reading of an exception entry's current and legacy keys (a checker must not miss any). */
function exceptionKeys(exception: PlistDict) {
  const values = (suffix: string) => EXCEPTION_PREFIXES.map((prefix) => exception[`${prefix}${suffix}`]).filter((v) => v !== undefined);
  const insecure = values('AllowsInsecureHTTPLoads');
  const versions = values('MinimumTLSVersion');
  const forwardSecrecy = values('RequiresForwardSecrecy');
  let minTls = 'TLSv1.2';
  if (versions.length > 0) {
    const ranks = versions.map((v) => (typeof v === 'string' ? TLS_ORDER.indexOf(v) : -1));
    minTls = ranks.some((r) => r < 0) ? `unreadable:${versions.join(',')}` : TLS_ORDER[Math.min(...ranks)]!;
  }
  return {
    insecure: insecure.length === 0 ? undefined : insecure.some((v) => v !== false),
    minTls,
    forwardSecrecy: !forwardSecrecy.some((v) => v === false),
  };
}

export function evaluateAts(ats: PlistValue, rawHost: string, channel: AtsChannel = 'url-session', depth: SubdomainDepth = 'one-label'): AtsHostConfig {
  const dict = isPlistDict(ats) ? ats : {};
  const host = rawHost.toLowerCase();
  const arbitrary = dict.NSAllowsArbitraryLoads === true;
  const kind = hostKind(host);
  if (kind === 'ip' || kind === 'local') {
    return { protected: false, cleartextPermitted: true, minTlsVersion: 'none', certificateTransparency: false, caPins: [], leafPins: [] };
  }
  const exception = mostSpecific(dict.NSExceptionDomains, host, depth);
  // NSAllowsArbitraryLoadsInWebContent / ForMedia switch ATS off for web views / media to every
  // domain NSExceptionDomains does not list (Apple's NSAppTransportSecurity key reference).
  const channelOff = (channel === 'web-content' && dict.NSAllowsArbitraryLoadsInWebContent === true) || (channel === 'media' && dict.NSAllowsArbitraryLoadsForMedia === true);
  if (channelOff && !exception) {
    return { protected: false, cleartextPermitted: true, minTlsVersion: 'none', certificateTransparency: false, caPins: [], leafPins: [] };
  }
  const pinned = mostSpecific(dict.NSPinnedDomains, host, depth);
  const keys = exception ? exceptionKeys(exception) : undefined;
  return {
    protected: true,
    cleartextPermitted: keys?.insecure ?? arbitrary,
    // Forward secrecy switched off is a weaker TLS floor: reported with the minimum version.
    minTlsVersion: keys ? `${keys.minTls}${keys.forwardSecrecy ? '' : '+no-forward-secrecy'}` : arbitrary ? 'none' : 'TLSv1.2',
    certificateTransparency: exception?.NSRequiresCertificateTransparency === true,
    caPins: identities(pinned?.NSPinnedCAIdentities),
    leafPins: identities(pinned?.NSPinnedLeafIdentities),
  };
}
