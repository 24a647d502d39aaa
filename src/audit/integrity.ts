/**
 * Lockfile integrity, as lockfile-lint checks it: where each package is fetched from and whether
 * the lockfile pins its content. Pure: packages in, findings out.
 */
import type { AuditPackage } from './graph.js';

export type IntegrityRule =
  | 'insecure-url'
  | 'credentials-in-url'
  | 'integrity-conflict'
  | 'disallowed-registry'
  | 'name-mismatch'
  | 'missing-integrity'
  | 'weak-integrity'
  | 'git-dependency'
  | 'tarball-dependency'
  | 'file-dependency';

export interface IntegrityIssue {
  rule: IntegrityRule;
  package: AuditPackage;
  message: string;
  severity: 'high' | 'medium' | 'low';
}

export const DEFAULT_REGISTRIES = ['registry.npmjs.org', 'registry.yarnpkg.com', 'registry.npmjs.com'];

function urlOf(text: string): URL | undefined {
  try {
    return new URL(text.replace(/^git\+/, ''));
  } catch {
    return undefined;
  }
}

/**
 * A registry tarball URL names the package it serves: /<name>/-/<basename>-<version>.tgz, with
 * the scope "/" possibly written as %2f. A lockfile entry whose URL names another package is the
 * lockfile-injection attack lockfile-lint's validate-package-names catches.
 */
function tarballNameMatches(url: URL, name: string, version: string): boolean {
  const path = decodeURIComponent(url.pathname);
  const marker = path.lastIndexOf('/-/');
  if (marker < 0) return true; // not a registry-shaped URL: reported as a tarball dependency instead
  const urlName = path.slice(0, marker).replace(/^\/+/, '');
  const file = path.slice(marker + 3);
  const base = name.includes('/') ? name.slice(name.indexOf('/') + 1) : name;
  return urlName.endsWith(name) && (urlName === name || urlName.endsWith(`/${name}`)) && file === `${base}-${version}.tgz`;
}

/** A URL as it may be shown: user and password replaced, so a report never republishes a token. */
export function redactUrl(text: string): string {
  return text.replace(/^((?:git\+)?[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

const SAFE_NAME = /^(?:@[A-Za-z0-9_~-][A-Za-z0-9._~-]*\/)?[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+-]*$/;
const SAFE_HOST = /^(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*$/;

/**
 * The everyday entry: https://<allowed registry>/<name>/-/<basename>-<version>.tgz, exactly, in
 * characters the URL parser leaves as they are (no %, no dot segments, no port or credentials, a
 * host that is no IP address). Every URL check passes on such a URL, so it is not parsed: parsing
 * 200,000 of them was a tenth of a large audit.
 */
function isPlainRegistryTarball(resolved: string, name: string, version: string, allowed: Set<string>): boolean {
  if (!resolved.startsWith('https://')) return false;
  const slash = resolved.indexOf('/', 8);
  if (slash < 0) return false;
  const host = resolved.slice(8, slash);
  if (!allowed.has(host) || !SAFE_HOST.test(host) || !SAFE_NAME.test(name) || !SAFE_VERSION.test(version)) return false;
  const base = name.includes('/') ? name.slice(name.indexOf('/') + 1) : name;
  return resolved.length === slash + name.length + base.length + version.length + 9 && resolved.endsWith(`/${name}/-/${base}-${version}.tgz`);
}

export function checkIntegrity(packages: AuditPackage[], allowedRegistries: string[] = DEFAULT_REGISTRIES): IntegrityIssue[] {
  const issues: IntegrityIssue[] = [];
  const allowed = new Set(allowedRegistries.map((host) => host.toLowerCase()));
  for (const pkg of packages) {
    if (pkg.source === 'link' || pkg.source === 'workspace') continue;
    const ref = `${pkg.name}@${pkg.version}`;
    const plain = pkg.source === 'registry' && pkg.resolved !== undefined && isPlainRegistryTarball(pkg.resolved, pkg.name, pkg.version, allowed);
    // Shown only in URL messages, which a plain registry tarball never gets.
    const shown = !plain && pkg.resolved ? redactUrl(pkg.resolved) : undefined;
    if (pkg.source === 'git') issues.push({ rule: 'git-dependency', package: pkg, severity: 'low', message: `${ref} comes from git (${shown ?? pkg.version}): no registry integrity, content can change with the ref` });
    if (pkg.source === 'file') issues.push({ rule: 'file-dependency', package: pkg, severity: 'low', message: `${ref} comes from a local path (${pkg.resolved ?? pkg.version})` });
    const url = !plain && pkg.resolved && /^(git\+)?(https?|git|ssh):/.test(pkg.resolved) ? urlOf(pkg.resolved) : undefined;
    if (url && (url.password || (url.username && url.protocol !== 'ssh:' && url.username !== 'git'))) {
      issues.push({ rule: 'credentials-in-url', package: pkg, severity: 'high', message: `${ref} has credentials in its lockfile URL (${shown}): anyone with the lockfile has them; use .npmrc auth instead` });
    }
    if (url) {
      if (url.protocol === 'http:' || url.protocol === 'git:') {
        issues.push({ rule: 'insecure-url', package: pkg, severity: 'high', message: `${ref} is fetched over ${url.protocol.slice(0, -1)}, which anyone on the path can rewrite: ${shown}` });
      }
      if (pkg.source === 'registry' || pkg.source === 'tarball') {
        if (!allowed.has(url.hostname.toLowerCase())) {
          issues.push({ rule: 'disallowed-registry', package: pkg, severity: 'high', message: `${ref} is fetched from ${url.hostname}, which is not an allowed registry (${[...allowed].join(', ')})` });
        }
        if (pkg.source === 'registry' && !tarballNameMatches(url, pkg.name, pkg.version)) {
          issues.push({ rule: 'name-mismatch', package: pkg, severity: 'high', message: `${ref} resolves to ${shown}, a tarball of another package or version` });
        }
      }
      if (pkg.source === 'tarball') issues.push({ rule: 'tarball-dependency', package: pkg, severity: 'low', message: `${ref} is a direct tarball URL (${shown}), not a registry package` });
    }
    if (pkg.conflictingIntegrity) {
      // One published version has one tarball: two hashes mean one copy is not what the registry served.
      issues.push({ rule: 'integrity-conflict', package: pkg, severity: 'high', message: `${ref} appears ${pkg.ids.length} times with different integrity hashes (${pkg.conflictingIntegrity.map((h) => h.slice(0, 20)).join('…, ')}…)` });
    }
    if (pkg.source === 'registry' || pkg.source === 'tarball') {
      // Read once: a package from auditPackages makes the string from the graph's bytes on each read.
      const integrity = pkg.integrity;
      if (!integrity) {
        issues.push({ rule: 'missing-integrity', package: pkg, severity: 'medium', message: `${ref} has no integrity hash: the installer cannot detect a substituted tarball` });
      } else if (!integrity.startsWith('berry:') && !/(^|\s)sha(512|384|256)-/.test(integrity)) {
        issues.push({ rule: 'weak-integrity', package: pkg, severity: 'low', message: `${ref} is pinned only by ${integrity.split('-')[0]} (sha512 expected)` });
      }
    }
  }
  return issues;
}
