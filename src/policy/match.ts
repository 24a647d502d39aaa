import { publicSuffixRules } from './suffix-list.js';
import type { DomainPolicy, Policy } from './types.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { isIP: nodeIsIP, isIPv4 } = process.getBuiltinModule('node:net');
const { domainToASCII } = process.getBuiltinModule('node:url');

/**
 * net.isIP without compiling Node's IPv6 pattern (milliseconds at start-up) for names that cannot be
 * an IP literal: only IPv6 contains ':', only IPv4 is digits and dots.
 */
export function isIP(value: string): 0 | 4 | 6 {
  if (value.includes(':')) return nodeIsIP(value) === 6 ? 6 : 0;
  return /^[0-9.]+$/.test(value) && isIPv4(value) ? 4 : 0;
}

/**
 * Canonical form of a host for policy lookups: lower-case, IDNA to ASCII (UTS #46, as WHATWG URL
 * does), trailing dot dropped, brackets around IPv6 removed and IP literals compressed.
 * Returns undefined for a name that is not a valid host.
 */
export function normalizeHost(host: string): string | undefined {
  let name = host.trim();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (isIP(name) === 6) {
    // A zone id ("fe80::1%eth0") names an interface, not a host, and makes URL throw a TypeError.
    if (name.includes('%')) return undefined;
    // WHATWG URL serializes IPv6 in its canonical compressed form.
    return new URL(`http://[${name}]/`).hostname.slice(1, -1);
  }
  if (isIP(name) === 4) return name;
  if (name.endsWith('.')) name = name.slice(0, -1);
  // domainToASCII parses a URL host, so "a/b" would silently become "a": refuse URL delimiters first.
  if (name === '' || name.includes('..') || /[\s/\\?#@:%[\]]/.test(name)) return undefined;
  const ascii = domainToASCII(name);
  if (!ascii) return undefined;
  // domainToASCII accepts some names a certificate or DNS never carries (e.g. "_" or "*").
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii)) return undefined;
  if (ascii.split('.').some((label) => label.length > 63) || ascii.length > 253) return undefined;
  return ascii;
}

/**
 * Public Suffix List lookups. Building sets of its ~10 000 rules costs milliseconds, at the start of
 * every app whose policy has a domain with includeSubdomains: the first lookups search the list
 * string instead (rule r is listed when " r " occurs in it; a rule never holds a space), and only a
 * process that looks up many names builds the set. Exception ("!") and wildcard ("*.") rules are
 * searched for only in the part of the list up to the last of them (the sorted list puts them first).
 */
const SEARCHES_BEFORE_SET = 16;
let searches = 0;
let suffixList: string | undefined;
let specialRules: string | undefined;
let ruleSet: Set<string> | undefined;

function listed(rule: string): boolean {
  if (rule.includes(' ')) return false;
  if (ruleSet) return ruleSet.has(rule);
  suffixList ??= ` ${publicSuffixRules()} `;
  if (rule.startsWith('!') || rule.startsWith('*')) {
    if (specialRules === undefined) {
      const last = Math.max(suffixList.lastIndexOf(' !'), suffixList.lastIndexOf(' *'));
      specialRules = last < 0 ? ' ' : suffixList.slice(0, suffixList.indexOf(' ', last + 1) + 1);
    }
    return specialRules.includes(` ${rule} `);
  }
  if (++searches > SEARCHES_BEFORE_SET) ruleSet = new Set(publicSuffixRules().split(' '));
  return ruleSet ? ruleSet.has(rule) : suffixList.includes(` ${rule} `);
}

/** True when `name` (normalized) is itself a public suffix such as `com`, `co.uk` or `foo.ck`. */
export function isPublicSuffix(name: string): boolean {
  if (isIP(name) !== 0) return false;
  if (listed(`!${name}`)) return false;
  if (listed(name)) return true;
  const dot = name.indexOf('.');
  if (dot > 0 && listed(`*.${name.slice(dot + 1)}`)) return true;
  // The PSL's implicit rule: every single-label name (an unlisted TLD) is a public suffix.
  return !name.includes('.');
}

export function isLoopbackHost(host: string): boolean {
  const name = normalizeHost(host);
  if (!name) return false;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1';
}

/** A loopback IP literal (127.0.0.0/8, ::1; brackets allowed): no resolver is involved in reaching it. */
export function isLoopbackAddress(host: string): boolean {
  const name = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(name) !== 0 && isLoopbackHost(name);
}

/**
 * The domain policy that governs `host`: an exact match, else the longest domain with
 * `includeSubdomains` that is a parent of it (every depth). Undefined when no domain applies.
 */
export function findDomainPolicy(policy: Pick<Policy, 'domains'>, host: string): DomainPolicy | undefined {
  const name = normalizeHost(host);
  if (!name) return undefined;
  let best: DomainPolicy | undefined;
  for (const domain of policy.domains) {
    const matches =
      domain.name === name || (domain.includeSubdomains && isIP(name) === 0 && name.endsWith(`.${domain.name}`));
    if (matches && (!best || domain.name.length > best.name.length)) best = domain;
  }
  return best;
}
