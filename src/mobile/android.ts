/**
 * Android Network Security Config (res/xml/network_security_config.xml) from a policy, a checker for
 * the format's rules, and a reference evaluator that answers "what does Android apply to host H"
 * from the XML alone (ApplicationConfig's lookup: exact domain, else the longest includeSubdomains
 * parent, else base-config).
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { WirelockError } from '../errors.js';
import { isLoopbackHost } from '../policy/match.js';
import type { DomainPolicy, Policy, TrustAnchorSource } from '../policy/types.js';
import { pemBlocks, toPem } from '../x509/certificate.js';
import { anchorFingerprints, dayAfter, dayBefore, domainMode, pinBase64, Warnings, type GenerateResult, type GeneratedFile } from './model.js';
import { escapeXml, parseXml, type XmlElement } from './xml.js';

export const ANDROID_XML_PATH = 'xml/network_security_config.xml';
/** The debug-overrides resource Android reads in debuggable builds (see AndroidOptions.debugOverridesFile). */
export const ANDROID_DEBUG_XML_PATH = 'xml/network_security_config_debug.xml';
/** Android enforces `<certificateTransparency>` from this API level on. */
export const ANDROID_CT_API_LEVEL = 36;

export interface AndroidOptions {
  /**
   * Trust anchors for `<debug-overrides>` (active only in debuggable builds): `"user"` for the
   * user-installed CAs (an intercepting proxy during development) or PEM text with a name.
   */
  debugOverrides?: Array<'user' | { name: string; pem: string }>;
  /** Text for the header comment, e.g. the policy file name. */
  source?: string;
  /**
   * For the debug build type's copy only (src/debug/res/xml): base-config permits cleartext, as
   * Expo and React Native debug builds need to load the JS bundle from the dev server over http.
   * Never for release; the equivalence check does not apply to this variant.
   */
  debugBuildCleartext?: boolean;
  /**
   * Put `<debug-overrides>` and their PEM files in separate files marked `debugOnly`
   * (`xml/network_security_config_debug.xml`), for the debug source set, so that release builds
   * carry neither the overrides nor the development proxy's certificate.
   */
  debugOverridesFile?: boolean;
}

interface RawResource {
  name: string;
  contents: string;
}

function resourceName(anchor: Extract<TrustAnchorSource, { kind: 'file' }>, taken: Set<string>): string {
  const digest = createHash('sha256');
  for (const der of anchor.certificates) digest.update(der);
  const hash = digest.digest('hex').slice(0, 8);
  // Resource names are [a-z0-9_] and must start with a letter; the extension is not part of the name.
  const stem = anchor.path ? basename(anchor.path).replace(/\.[^.]*$/, '') : `inline_${hash}`;
  let name = `wirelock_${stem.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 80);
  if (taken.has(name)) name = `${name}_${hash}`;
  taken.add(name);
  return name;
}

/**
 * Text that is safe inside an XML comment: XML 1.0 (2.5) forbids "--" in a comment and a comment
 * ending in "-", and expat (aapt2's parser) and libxml2 refuse the file. Every run of dashes becomes
 * one dash, control characters and markup go.
 */
export function commentText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f<>&]/g, '_').replace(/-{2,}/g, '-').replace(/-$/, '-_');
}

/** Effective cleartext permission of a domain entry, as the transport engine decides it. */
function domainCleartext(policy: Policy, domain: DomainPolicy): boolean {
  if (domain.cleartext !== undefined) return domain.cleartext === 'allow';
  return policy.cleartext === 'allow-loopback' && isLoopbackHost(domain.name);
}

/** wirelock's report-only mode trusts the default store plus the policy's anchors. */
function reportOnlyAnchors(mode: Policy['mode'], anchors: TrustAnchorSource[]): TrustAnchorSource[] {
  return mode === 'report-only' && !anchors.some((a) => a.kind === 'builtin') ? [{ kind: 'builtin' }, ...anchors] : anchors;
}

function sameAnchors(a: TrustAnchorSource[], b: TrustAnchorSource[]): boolean {
  const key = (list: TrustAnchorSource[]) => anchorFingerprints(list).join() + (list.some((x) => x.kind === 'builtin') ? '+system' : '');
  return key(a) === key(b);
}

export function generateAndroid(policy: Policy, options: AndroidOptions = {}): GenerateResult {
  const warnings = new Warnings('android');
  const raws = new Map<string, RawResource>();
  const taken = new Set<string>();
  const rawFor = new Map<string, string>();

  const anchorsXml = (anchors: TrustAnchorSource[], indent: string): string[] => {
    const lines = [`${indent}<trust-anchors>`];
    for (const anchor of anchors) {
      if (anchor.kind === 'builtin') {
        lines.push(`${indent}    <certificates src="system" />`);
        continue;
      }
      const key = anchor.certificates.map((der) => Buffer.from(der).toString('base64')).join();
      let name = rawFor.get(key);
      if (!name) {
        name = resourceName(anchor, taken);
        rawFor.set(key, name);
        raws.set(name, { name, contents: anchor.certificates.map((der) => toPem(der)).join('') });
      }
      lines.push(`${indent}    <certificates src="@raw/${name}" />`);
    }
    lines.push(`${indent}</trust-anchors>`);
    return lines;
  };

  if (policy.minTlsVersion !== undefined) {
    warnings.add('min-tls', '/minTlsVersion', {}, ['min-tls'],
      `Network Security Config has no minimum TLS version (policy: ${policy.minTlsVersion}); Android's default depends on the OS release: restrict protocol versions in the HTTP client (e.g. an OkHttp ConnectionSpec)`);
  }
  if (policy.unlistedHosts === 'block') {
    warnings.add('unlisted-hosts', '/unlistedHosts', { hostKind: 'unlisted' }, ['allowed'],
      'Network Security Config cannot block hosts the policy does not list ("unlistedHosts": "block"): enforce the allowlist in the app\'s HTTP client');
  }
  if (policy.report) {
    warnings.add('no-reports', '/report', {}, [],
      `Android does not report pin or CT failures: "report" (${policy.report.uri}) gets nothing from this configuration (the TrustKit output can report)`);
  }
  if (policy.cleartext === 'allow-loopback') {
    warnings.add('loopback', '/cleartext', { hostKind: 'loopback' }, ['cleartext'],
      '"allow-loopback" is written as a cleartext domain-config for localhost (with subdomains) and 127.0.0.1 only (a policy domain of the same name keeps its own entry, since Android refuses duplicate domains); other 127.0.0.0/8 addresses and ::1 stay https-only on Android');
  }

  const lines: string[] = ['<?xml version="1.0" encoding="utf-8"?>'];
  lines.push(`<!-- Generated by wirelock${options.source ? ` from ${commentText(options.source)}` : ''}. Do not edit: change the policy and regenerate. -->`);
  lines.push('<network-security-config>');
  // base-config: never "user" anchors, never cleartext; this is what unlisted hosts get.
  const baseCt = policy.certificateTransparency?.enforce === true && policy.mode === 'enforce';
  if (options.debugBuildCleartext) lines.push('<!-- Debug build type only: cleartext is permitted for the development server. Never ship this file in a release build. -->');
  lines.push(`    <base-config cleartextTrafficPermitted="${options.debugBuildCleartext === true}">`);
  lines.push(...anchorsXml(reportOnlyAnchors(policy.mode, policy.trustAnchors), '        '));
  if (baseCt) lines.push('        <certificateTransparency enabled="true" />');
  lines.push('    </base-config>');
  if (baseCt) {
    warnings.add('ct-old-versions', '/certificateTransparency', {}, ['ct'],
      `Android enforces <certificateTransparency> from Android 16 (API ${ANDROID_CT_API_LEVEL}) only; older releases ignore it. Android uses its own log list and CT policy, not the policy's logList/minScts`);
  }

  const names = new Set(policy.domains.map((d) => d.name));
  for (const domain of policy.domains) {
    const mode = domainMode(policy, domain);
    const cleartext = domainCleartext(policy, domain);
    lines.push(`    <domain-config cleartextTrafficPermitted="${cleartext}">`);
    lines.push(`        <domain includeSubdomains="${domain.includeSubdomains}">${escapeXml(domain.name)}</domain>`);
    // A domain-config without <trust-anchors> inherits base-config's: write them only where they differ.
    const anchors = reportOnlyAnchors(mode, domain.trustAnchors);
    const inherited = reportOnlyAnchors(policy.mode, policy.trustAnchors);
    if (!sameAnchors(anchors, inherited)) lines.push(...anchorsXml(anchors, '        '));
    if (domain.pins.length > 0 && mode === 'enforce') {
      if (domain.pinsExpireText) lines.push(`        <!-- pins enforced through ${domain.pinsExpireText} (pinsExpire): Android stops at the start of the expiration day -->`);
      lines.push(`        <pin-set${domain.pinsExpireText ? ` expiration="${dayAfter(domain.pinsExpireText)}"` : ''}>`);
      for (const pin of domain.pins) lines.push(`            <pin digest="SHA-256">${pinBase64(pin)}</pin>`);
      lines.push('        </pin-set>');
    } else if (domain.pins.length > 0 || (domain.certificateTransparency?.enforce && mode === 'report-only')) {
      warnings.add('report-only', domain.pointer, { domain: domain.name }, ['report-only'],
        `${domain.name} is report-only: Android cannot report without blocking, so its pins${domain.certificateTransparency?.enforce ? ' and CT requirement' : ''} are left out (not enforced, not reported)`);
    }
    const ct = domain.certificateTransparency?.enforce === true && mode === 'enforce';
    if (ct) {
      lines.push('        <certificateTransparency enabled="true" />');
      warnings.add('ct-old-versions', `${domain.pointer}/certificateTransparency`, { domain: domain.name }, ['ct'],
        `Android enforces <certificateTransparency> from Android 16 (API ${ANDROID_CT_API_LEVEL}) only; older releases ignore it for ${domain.name}`);
    } else if (baseCt) {
      // A domain-config inherits base-config's CT; say "off" explicitly where the policy does.
      lines.push('        <certificateTransparency enabled="false" />');
    }
    lines.push('    </domain-config>');
  }
  if (policy.cleartext === 'allow-loopback') {
    const loopback = [
      ['localhost', true],
      ['127.0.0.1', false],
    ].filter(([name]) => !names.has(name as string)) as Array<[string, boolean]>;
    if (loopback.length > 0) {
      lines.push('    <domain-config cleartextTrafficPermitted="true">');
      for (const [name, sub] of loopback) lines.push(`        <domain includeSubdomains="${sub}">${name}</domain>`);
      if (baseCt) lines.push('        <certificateTransparency enabled="false" />');
      lines.push('    </domain-config>');
    }
  }
  const debugRaws = new Map<string, RawResource>();
  const debugLines: string[] = [];
  if (options.debugOverrides && options.debugOverrides.length > 0) {
    // Inside <debug-overrides> AOSP's default for overridePins is TRUE (XmlConfigSource:
    // defaultOverridePins = configType == CONFIG_DEBUG): a chain ending in a debug anchor would skip
    // the pin-set. Written explicitly so that pins still apply in debuggable builds.
    debugLines.push('    <debug-overrides>');
    debugLines.push('        <trust-anchors>');
    for (const entry of options.debugOverrides) {
      if (entry === 'user') {
        debugLines.push('            <certificates src="user" overridePins="false" />');
        continue;
      }
      const certificates = pemBlocks(entry.pem);
      if (certificates.length === 0) throw new WirelockError('ERR_INPUT_INVALID', `debug override ${entry.name} holds no PEM CERTIFICATE block`, { file: entry.name });
      let name = resourceName({ kind: 'file', ref: entry.name, path: entry.name, certificates }, taken).replace(/^wirelock_/, 'wirelock_debug_');
      if (raws.has(name) || debugRaws.has(name)) name = `${name}_${raws.size + debugRaws.size}`;
      debugRaws.set(name, { name, contents: certificates.map((der) => toPem(der)).join('') });
      debugLines.push(`            <certificates src="@raw/${name}" overridePins="false" />`);
    }
    debugLines.push('        </trust-anchors>');
    debugLines.push('    </debug-overrides>');
  }
  const separateDebug = options.debugOverridesFile === true && debugLines.length > 0;
  if (!separateDebug) lines.push(...debugLines);
  lines.push('</network-security-config>', '');

  const files: GeneratedFile[] = [{ path: ANDROID_XML_PATH, contents: lines.join('\n'), role: 'network security config' }];
  for (const raw of raws.values()) files.push({ path: `raw/${raw.name}.pem`, contents: raw.contents, role: 'trust anchor' });
  if (separateDebug) {
    // XmlConfigSource.parseDebugOverridesResource(): in a debuggable build whose config has no
    // <debug-overrides>, Android reads them from the resource named "<config>_debug".
    const debugXml = ['<?xml version="1.0" encoding="utf-8"?>', '<!-- Debuggable builds only (debug source set): trust for a development proxy. Pins still apply (overridePins="false"). -->', '<network-security-config>', ...debugLines, '</network-security-config>', ''];
    files.push({ path: ANDROID_DEBUG_XML_PATH, contents: debugXml.join('\n'), role: 'debug overrides (debug source set only)', debugOnly: true });
  }
  for (const raw of debugRaws.values()) files.push({ path: `raw/${raw.name}.pem`, contents: raw.contents, role: 'debug trust anchor', ...(separateDebug ? { debugOnly: true } : {}) });
  return { target: 'android', files, warnings: warnings.list };
}

// ---------------------------------------------------------------------------------------------
// The format's rules, as documented for Network Security Config (and enforced by XmlConfigSource).

export interface FormatProblem {
  line: number;
  message: string;
}

const BOOL = /^(true|false)$/;

/**
 * What Android uses for a value the file does not write: XmlConfigSource.parseNetworkSecurityConfig
 * makes NetworkSecurityConfig.getDefaultBuilder(...) the parent of <base-config> (or, without one,
 * the base config itself), and every top-level <domain-config> the child of <base-config>. The
 * default depends on the OS release and the app's manifest, which this file does not show.
 */
export const PLATFORM_DEFAULT_CLEARTEXT = 'which permits cleartext on Android 7.x (API 24-25) for every app, on Android 8.x (API 26-27) unless the app\'s targetSandboxVersion is 2, and on Android 9+ (API 28+) when its targetSdkVersion is below 28';
export const PLATFORM_DEFAULT_ANCHORS = 'which trusts the system CAs plus the user-installed CAs when the app\'s targetSdkVersion <= 23 (on every API level)';

/**
 * A config must not leave cleartext or trust anchors to the platform default: that default is weaker
 * than wirelock's output on some devices or for some apps, and the file alone cannot say which.
 * A file holding only <debug-overrides> is the `<config>_debug` resource, from which Android reads
 * nothing else (XmlConfigSource.parseDebugOverridesResource).
 */
function platformDefaultProblems(root: XmlElement, problem: (element: XmlElement, message: string) => void): void {
  if (root.children.length > 0 && root.children.every((c) => c.name === 'debug-overrides')) return;
  const cleartextFix = 'write cleartextTrafficPermitted="false" (or "true") explicitly';
  const anchorsFix = 'write <trust-anchors> explicitly';
  const base = root.children.find((c) => c.name === 'base-config');
  let baseCleartext = false;
  let baseAnchors = false;
  if (!base) {
    problem(root, `no <base-config>: Android then applies the platform default to every host the file does not list: for cleartext the default, ${PLATFORM_DEFAULT_CLEARTEXT}; for trust anchors the default, ${PLATFORM_DEFAULT_ANCHORS}. Write <base-config cleartextTrafficPermitted="false"> with <trust-anchors>`);
  } else {
    baseCleartext = base.attributes.cleartextTrafficPermitted !== undefined;
    baseAnchors = base.children.some((c) => c.name === 'trust-anchors');
    if (!baseCleartext) problem(base, `<base-config> does not set cleartextTrafficPermitted: Android then uses the platform default, ${PLATFORM_DEFAULT_CLEARTEXT}; ${cleartextFix}`);
    if (!baseAnchors) problem(base, `<base-config> has no <trust-anchors>: Android then uses the platform default, ${PLATFORM_DEFAULT_ANCHORS}; ${anchorsFix}`);
  }
  if (baseCleartext && baseAnchors) return;
  const walk = (element: XmlElement, cleartext: boolean, anchors: boolean) => {
    const hasCleartext = cleartext || element.attributes.cleartextTrafficPermitted !== undefined;
    const hasAnchors = anchors || element.children.some((c) => c.name === 'trust-anchors');
    const names = element.children.filter((c) => c.name === 'domain').map((c) => c.text.trim()).join(', ') || '(no domain)';
    if (!hasCleartext) problem(element, `<domain-config> for ${names} does not set cleartextTrafficPermitted and neither does a parent or <base-config>: Android then uses the platform default, ${PLATFORM_DEFAULT_CLEARTEXT}; ${cleartextFix}`);
    if (!hasAnchors) problem(element, `<domain-config> for ${names} has no <trust-anchors> and neither has a parent or <base-config>: Android then uses the platform default, ${PLATFORM_DEFAULT_ANCHORS}; ${anchorsFix}`);
    for (const child of element.children) if (child.name === 'domain-config') walk(child, hasCleartext, hasAnchors);
  };
  for (const child of root.children) if (child.name === 'domain-config') walk(child, baseCleartext, baseAnchors);
}

export function checkNetworkSecurityConfig(xml: string): FormatProblem[] {
  const problems: FormatProblem[] = [];
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    return [{ line: (error as WirelockError).details?.line as number ?? 0, message: (error as Error).message }];
  }
  const problem = (element: XmlElement, message: string) => problems.push({ line: element.line, message });
  const attributes = (element: XmlElement, allowed: Record<string, RegExp>) => {
    for (const [name, value] of Object.entries(element.attributes)) {
      const rule = allowed[name];
      if (!rule) problem(element, `<${element.name}> has no attribute ${name}`);
      else if (!rule.test(value)) problem(element, `<${element.name} ${name}="${value}">: invalid value`);
    }
  };
  const noText = (element: XmlElement) => {
    if (element.text.trim() !== '') problem(element, `<${element.name}> cannot hold text`);
  };
  const trustAnchors = (element: XmlElement) => {
    attributes(element, {});
    noText(element);
    if (element.children.length === 0) problem(element, '<trust-anchors> needs at least one <certificates>');
    for (const child of element.children) {
      if (child.name !== 'certificates') {
        problem(child, `<${child.name}> is not allowed in <trust-anchors>`);
        continue;
      }
      attributes(child, { src: /^(system|user|@raw\/[a-z][a-z0-9_]*)$/, overridePins: BOOL });
      if (child.attributes.src === undefined) problem(child, '<certificates> needs src');
      if (child.children.length > 0 || child.text.trim() !== '') problem(child, '<certificates> must be empty');
    }
  };
  const ctElement = (element: XmlElement) => {
    attributes(element, { enabled: BOOL });
    if (element.attributes.enabled === undefined) problem(element, '<certificateTransparency> needs enabled');
    if (element.children.length > 0 || element.text.trim() !== '') problem(element, '<certificateTransparency> must be empty');
  };
  const pinSet = (element: XmlElement) => {
    attributes(element, { expiration: /^\d{4}-\d{2}-\d{2}$/ });
    noText(element);
    const expiration = element.attributes.expiration;
    const day = expiration ? new Date(`${expiration}T00:00:00Z`) : undefined;
    if (expiration && (!day || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== expiration)) problem(element, `expiration "${expiration}" is not a calendar date (yyyy-MM-dd)`);
    if (element.children.length === 0) problem(element, '<pin-set> needs at least one <pin>');
    for (const pin of element.children) {
      if (pin.name !== 'pin') {
        problem(pin, `<${pin.name}> is not allowed in <pin-set>`);
        continue;
      }
      attributes(pin, { digest: /^SHA-256$/ });
      if (pin.attributes.digest !== 'SHA-256') problem(pin, '<pin> needs digest="SHA-256" (the only digest Android accepts)');
      const digest = Buffer.from(pin.text.trim(), 'base64');
      if (digest.length !== 32 || digest.toString('base64') !== pin.text.trim()) problem(pin, `<pin> "${pin.text}" is not the base64 of a 32-byte SHA-256 digest`);
    }
  };
  const once = (element: XmlElement, names: string[]) => {
    for (const name of names) {
      if (element.children.filter((c) => c.name === name).length > 1) problem(element, `<${element.name}> may hold only one <${name}>`);
    }
  };
  const seenDomains = new Set<string>();
  const domainConfig = (element: XmlElement) => {
    attributes(element, { cleartextTrafficPermitted: BOOL });
    noText(element);
    once(element, ['trust-anchors', 'pin-set', 'certificateTransparency']);
    let seenOther = false;
    let domains = 0;
    for (const child of element.children) {
      switch (child.name) {
        case 'domain':
          domains++;
          if (seenOther) problem(child, '<domain> elements come first in <domain-config>');
          attributes(child, { includeSubdomains: BOOL });
          if (seenDomains.has(child.text.toLowerCase())) problem(child, `duplicate <domain> ${child.text} (Android refuses the file)`);
          seenDomains.add(child.text.toLowerCase());
          if (child.children.length > 0) problem(child, '<domain> holds only a host name');
          if (!/^[a-z0-9_.-]+$|^[0-9a-f:.]+$/.test(child.text)) problem(child, `<domain> "${child.text}" is not a lower-case ASCII host name (no spaces, wildcards or ports)`);
          break;
        case 'trust-anchors':
          seenOther = true;
          trustAnchors(child);
          break;
        case 'pin-set':
          seenOther = true;
          pinSet(child);
          break;
        case 'certificateTransparency':
          seenOther = true;
          ctElement(child);
          break;
        case 'domain-config':
          seenOther = true;
          domainConfig(child);
          break;
        default:
          problem(child, `<${child.name}> is not allowed in <domain-config>`);
      }
    }
    if (domains === 0) problem(element, '<domain-config> needs at least one <domain>');
  };

  if (root.name !== 'network-security-config') {
    problem(root, `root element is <${root.name}>, expected <network-security-config>`);
    return problems;
  }
  platformDefaultProblems(root, problem);
  attributes(root, {});
  noText(root);
  once(root, ['base-config', 'debug-overrides']);
  for (const child of root.children) {
    if (child.name === 'base-config') {
      attributes(child, { cleartextTrafficPermitted: BOOL });
      noText(child);
      once(child, ['trust-anchors', 'certificateTransparency']);
      for (const item of child.children) {
        if (item.name === 'trust-anchors') trustAnchors(item);
        else if (item.name === 'certificateTransparency') ctElement(item);
        else problem(item, `<${item.name}> is not allowed in <base-config>`);
      }
    } else if (child.name === 'domain-config') {
      domainConfig(child);
    } else if (child.name === 'debug-overrides') {
      attributes(child, {});
      noText(child);
      once(child, ['trust-anchors']);
      for (const item of child.children) {
        if (item.name === 'trust-anchors') trustAnchors(item);
        else problem(item, `<${item.name}> is not allowed in <debug-overrides>`);
      }
    } else {
      problem(child, `<${child.name}> is not allowed in <network-security-config>`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Reference evaluator.

export interface AndroidHostConfig {
  cleartextPermitted: boolean;
  /** `system`, `user` or `@raw/<name>`. */
  trustAnchors: string[];
  /** Anchors marked overridePins="true": a chain ending in one of them skips the pin-set. */
  pinsOverriddenBy: string[];
  pins: string[];
  /** The pin-set's expiration attribute as written. */
  pinsExpire: string | undefined;
  /** The last day pins apply (the day before `expiration`). */
  pinsEnforcedThrough: string | undefined;
  certificateTransparency: boolean;
  /** The `<domain>` that matched, or undefined for base-config. */
  matched: string | undefined;
}

interface ConfigNode {
  cleartext: boolean | undefined;
  anchors: string[] | undefined;
  overridePins: string[] | undefined;
  pins: { pins: string[]; expiration: string | undefined } | undefined;
  ct: boolean | undefined;
}

interface DomainEntry {
  name: string;
  includeSubdomains: boolean;
  chain: ConfigNode[];
}

export interface ParsedNetworkSecurityConfig {
  base: ConfigNode;
  domains: DomainEntry[];
  debugAnchors: string[] | undefined;
  debugOverridePins: string[] | undefined;
}

function node(element: XmlElement): ConfigNode {
  const anchors = element.children.find((c) => c.name === 'trust-anchors');
  const pinSet = element.children.find((c) => c.name === 'pin-set');
  const ct = element.children.find((c) => c.name === 'certificateTransparency');
  const cleartext = element.attributes.cleartextTrafficPermitted;
  return {
    cleartext: cleartext === undefined ? undefined : cleartext === 'true',
    anchors: anchors?.children.map((c) => c.attributes.src!),
    overridePins: anchors?.children.filter((c) => c.attributes.overridePins === 'true').map((c) => c.attributes.src!),
    pins: pinSet ? { pins: pinSet.children.map((p) => p.text.trim()), expiration: pinSet.attributes.expiration } : undefined,
    ct: ct ? ct.attributes.enabled === 'true' : undefined,
  };
}

/** Reads a Network Security Config; refuses a file that breaks the format's rules. */
export function parseNetworkSecurityConfig(xml: string): ParsedNetworkSecurityConfig {
  const problems = checkNetworkSecurityConfig(xml);
  if (problems.length > 0) {
    throw new WirelockError('ERR_INPUT_INVALID', `not a valid Network Security Config:\n${problems.map((p) => `  line ${p.line}: ${p.message}`).join('\n')}`, { problems });
  }
  const root = parseXml(xml);
  const baseElement = root.children.find((c) => c.name === 'base-config');
  const base = baseElement ? node(baseElement) : { cleartext: undefined, anchors: undefined, overridePins: undefined, pins: undefined, ct: undefined };
  const domains: DomainEntry[] = [];
  const walk = (element: XmlElement, parents: ConfigNode[]) => {
    const chain = [node(element), ...parents];
    for (const child of element.children) {
      if (child.name === 'domain') domains.push({ name: child.text.toLowerCase(), includeSubdomains: child.attributes.includeSubdomains === 'true', chain });
      if (child.name === 'domain-config') walk(child, chain);
    }
  };
  for (const child of root.children) if (child.name === 'domain-config') walk(child, []);
  const debug = root.children.find((c) => c.name === 'debug-overrides')?.children.find((c) => c.name === 'trust-anchors');
  return {
    base,
    domains,
    debugAnchors: debug?.children.map((c) => c.attributes.src!),
    // XmlConfigSource: the default of overridePins is true inside <debug-overrides>, false elsewhere.
    debugOverridePins: debug?.children.filter((c) => c.attributes.overridePins !== 'false').map((c) => c.attributes.src!),
  };
}

export interface AndroidDevice {
  apiLevel: number;
  /** android:debuggable: debug-overrides apply. */
  debuggable?: boolean;
  /** The app's targetSdkVersion; unknown reads the platform default the weakest way. */
  targetSdkVersion?: number;
  /** The app's android:targetSandboxVersion (2 for instant apps); unknown is 1, the manifest's default. */
  targetSandboxVersion?: number;
}

/**
 * NetworkSecurityConfig.getDefaultBuilder (AOSP frameworks/base): android-7.0.0_r1 (API 24-25)
 * permits cleartext for every app; android-8.0.0_r1 (API 26-27) when targetSandboxVersion < 2;
 * android-9.0.0_r1 on when targetSdkVersion < 28 and targetSandboxVersion < 2. Every release adds
 * the user CA store when targetSdkVersion <= 23 (not for privileged system apps).
 */
export function androidPlatformDefault(device: AndroidDevice): { cleartextPermitted: boolean; trustAnchors: string[] } {
  // An unknown targetSdkVersion is read as the weakest one: a checker must not assume a stronger default.
  const targetSdk = device.targetSdkVersion ?? 0;
  const sandbox = device.targetSandboxVersion ?? 1;
  const cleartextPermitted = device.apiLevel <= 25 ? true : device.apiLevel <= 27 ? sandbox < 2 : targetSdk < 28 && sandbox < 2;
  return { cleartextPermitted, trustAnchors: targetSdk <= 23 ? ['system', 'user'] : ['system'] };
}

export function evaluateAndroid(config: ParsedNetworkSecurityConfig, rawHost: string, device: AndroidDevice): AndroidHostConfig {
  let host = rawHost.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  let best: DomainEntry | undefined;
  for (const entry of config.domains) {
    if (entry.name === host) {
      best = entry;
      break;
    }
    if (entry.includeSubdomains && host.endsWith(`.${entry.name}`) && (!best || entry.name.length > best.name.length)) best = entry;
  }
  const chain = [...(best?.chain ?? []), config.base];
  const pick = <K extends keyof ConfigNode>(key: K): ConfigNode[K] => chain.find((n) => n[key] !== undefined)?.[key];
  // A value no config in the chain sets comes from the platform default (the format check refuses
  // such files; the evaluator still answers as the device would).
  const platform = androidPlatformDefault(device);
  const anchorNode = chain.find((n) => n.anchors !== undefined);
  let anchors = anchorNode?.anchors ?? platform.trustAnchors;
  let overriding = anchorNode?.overridePins ?? [];
  if (device.debuggable && config.debugAnchors) anchors = [...new Set([...anchors, ...config.debugAnchors])];
  if (device.debuggable && config.debugOverridePins) overriding = [...new Set([...overriding, ...config.debugOverridePins])];
  const pins = pick('pins');
  return {
    cleartextPermitted: pick('cleartext') ?? platform.cleartextPermitted,
    trustAnchors: anchors,
    pinsOverriddenBy: overriding,
    pins: pins?.pins ?? [],
    pinsExpire: pins?.expiration,
    pinsEnforcedThrough: pins?.expiration ? dayBefore(pins.expiration) : undefined,
    certificateTransparency: device.apiLevel >= ANDROID_CT_API_LEVEL && (pick('ct') ?? false),
    matched: best?.name,
  };
}
