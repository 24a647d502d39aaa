/**
 * The audit itself: lockfile graph + advisory lookup (+ installed-code evidence) -> findings.
 * Pure: every input is data; the CLI brings the files.
 */
import { matchesShell } from './shell-words.js';
import { severityRank, type Rating, type Severity } from './cvss.js';
import type { AdvisoryLookup } from './db.js';
import { auditPackages, packagePaths, type AuditPackage } from './graph.js';
import { isKnownInstrumentation, type HookRule } from './heuristics.js';
import type { FileHit, InstalledPackage } from './installed.js';
import type { Capability } from './code/analyze.js';
import { judgePackage, verifyIdentity, type PackageVerdict } from './code/judge.js';
import type { PackageCode } from './code/package.js';
import { checkIntegrity, DEFAULT_REGISTRIES } from './integrity.js';
import type { LockGraph } from './lockfile/model.js';
import { fixVersion, matchAdvisory, type MatchResult } from './osv.js';

export type FindingKind = 'malicious' | 'vulnerability' | 'lockfile' | 'install-script' | 'network-hook' | 'code' | 'update';

export interface Finding {
  kind: FindingKind;
  /** Advisory id (MAL-/GHSA-/...) or rule id ("lockfile/insecure-url", "network-hook/reassign-fetch"). */
  id: string;
  /** Every id the finding is known by, the primary one included: merged records and their aliases. */
  aliases: string[];
  severity: Severity;
  score?: number;
  vector?: string;
  /** Every rating the merged records give (CVSS v4, v3, labels); `severity` is the highest. */
  ratings?: Rating[];
  /** "range unreadable": matched only through a range whose versions could not be read (fail-closed). */
  flags?: string[];
  package: { name: string; version: string; dev: boolean; optional: boolean };
  summary: string;
  /** Lowest version that fixes every merged advisory, when the records name one. */
  fixed?: string;
  url?: string;
  /** Direct dependencies that bring the package in, and one full path. */
  via: string[];
  path: string[];
  location?: { file: string; line?: number; column?: number; snippet?: string; pointer?: string };
  /** Installed-code findings: what was seen where (file relative to the project, line, detail). */
  evidence?: Array<{ file: string; line: number; column: number; detail: string; snippet: string }>;
  /** Installed-code findings: everything the package's code can do. */
  capabilities?: Capability[];
  suppressed?: { reason: string; expires: string };
}

/** What one installed package's code can do, for the report and --json. */
export interface PackageCapabilities {
  name: string;
  version: string;
  dir: string;
  capabilities: Capability[];
  evidence: Partial<Record<Capability, Array<{ file: string; line: number; detail: string }>>>;
  known?: 'instrumentation' | 'installer';
  identity: string;
}

export interface AuditOptions {
  allowedRegistries?: string[];
  /** Leave out packages only devDependencies bring in. */
  production?: boolean;
}

export interface InstalledEvidence {
  packages: InstalledPackage[];
  /** Parser-based analysis per package folder (scanInstalledCode). */
  code?: Map<string, PackageCode>;
  /** Line-scanner hits per package folder (the older, regex-based evidence). */
  hits?: Map<string, FileHit[]>;
}

export interface AuditResult {
  lockfile: string;
  format: string;
  packages: AuditPackage[];
  findings: Finding[];
  /** Installed packages and their capabilities, when node_modules was analysed. */
  capabilities?: PackageCapabilities[];
}

const KIND_ORDER: FindingKind[] = ['malicious', 'vulnerability', 'code', 'update', 'network-hook', 'lockfile', 'install-script'];

export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    a.package.name.localeCompare(b.package.name) ||
    a.package.version.localeCompare(b.package.version) ||
    a.id.localeCompare(b.id)
  );
}

/** Records that share an id or alias describe one problem: report it once, with every name. */
function mergeMatches(matches: MatchResult[]): MatchResult[][] {
  const groups: Array<{ ids: Set<string>; items: MatchResult[] }> = [];
  for (const match of matches) {
    const ids = new Set([match.advisory.id, ...match.advisory.aliases]);
    const overlapping = groups.filter((group) => [...ids].some((id) => group.ids.has(id)));
    const merged = { ids, items: [match] };
    for (const group of overlapping) {
      for (const id of group.ids) merged.ids.add(id);
      merged.items.push(...group.items);
      groups.splice(groups.indexOf(group), 1);
    }
    groups.push(merged);
  }
  return groups.map((group) => group.items);
}

function primaryId(ids: string[], malicious: boolean): string {
  const prefer = malicious ? ['MAL-', 'GHSA-', 'CVE-'] : ['GHSA-', 'CVE-', 'MAL-'];
  for (const prefix of prefer) {
    const hit = ids.filter((id) => id.startsWith(prefix)).sort()[0];
    if (hit) return hit;
  }
  return [...ids].sort()[0]!;
}

function hookSeverity(rule: HookRule): Severity {
  return rule === 'env-exfiltration' ? 'critical' : 'high';
}

const HOOK_SUMMARY: Record<HookRule, string> = {
  'reassign-http-request': 'replaces http/https request functions: every request of the app goes through this code',
  'reassign-tls-connect': 'replaces tls.connect or TLS socket methods: can read or downgrade every TLS connection',
  'reassign-net-connect': 'replaces net.connect or socket methods: sees every TCP connection',
  'reassign-fetch': 'replaces globalThis.fetch: every fetch() of the app goes through this code',
  'replace-undici-dispatcher': 'installs an undici global dispatcher: every fetch() goes through it',
  'patch-xmlhttprequest': 'patches XMLHttpRequest: sees every XHR request',
  'wrap-network-function': 'wraps a network function (shimmer/defineProperty style)',
  'env-exfiltration': 'serialises the whole process.env in a file that makes network requests',
  'disable-tls-verification': 'turns off TLS certificate verification for the whole process or adds CAs',
};

/**
 * Install scripts are common (native builds, postinstall banners); ones that fetch and run code,
 * decode payloads or open raw sockets are how malicious packages usually start.
 */
const SUSPICIOUS_SCRIPT: Array<[RegExp, string]> = [
  [/\b(curl|wget|Invoke-WebRequest|iwr)\b[^|;&]*(\||;|&&)\s*(ba|z|da)?sh\b|\b(curl|wget)\b.*\|\s*(node|python\d?|perl)\b/i, 'downloads and runs code'],
  [/\b(curl|wget|Invoke-WebRequest|iwr|nc|ncat|netcat)\b|\/dev\/tcp\//i, 'makes network connections'],
  [/base64\s+(-d|--decode)|atob\(|Buffer\.from\([^)]*['"]base64['"]\)|\\x[0-9a-f]{2}\\x[0-9a-f]{2}/i, 'decodes an embedded payload'],
  // Inline `node -e` code is parsed and judged like any file (msw's postinstall is one); only an
  // encoded PowerShell command stays opaque.
  [/\bpowershell\b.*-enc/i, 'runs an encoded PowerShell command'],
  // npx/dlx at install fetches a package from the registry and runs it: code not in the lockfile.
  [/(?:^|[\s;&|(])(?:npx|pnpx|bunx)\s|\b(?:npm\s+exec|pnpm\s+dlx|yarn\s+dlx)\b/, 'downloads and runs a package that is not in the lockfile (npx/dlx)'],
];

function scriptFileHit(scripts: Record<string, string>, dir: string, hits: FileHit[]): string | undefined {
  for (const script of Object.values(scripts)) {
    for (const match of script.matchAll(/\bnode\s+(?:--?[\w-]+(?:=\S+)?\s+)*['"]?([\w./@-]+)/g)) {
      const file = `${dir}/${match[1]!.replace(/^\.\//, '')}`;
      const hit = hits.find((h) => h.file === file || h.file === `${file}.js`);
      if (hit) return `runs ${match[1]}, flagged network-hook/${hit.rule} at ${hit.file}:${hit.line}`;
    }
  }
  return undefined;
}

export function suspiciousScript(script: string): string | undefined {
  for (const [re, reason] of SUSPICIOUS_SCRIPT) if (matchesShell(re, script)) return reason;
  return undefined;
}

export function auditGraph(graph: LockGraph, lockfile: string, db: AdvisoryLookup | undefined, options: AuditOptions = {}, installed?: InstalledEvidence): AuditResult {
  let packages = auditPackages(graph);
  if (options.production) packages = packages.filter((pkg) => !pkg.dev);
  const pathsOf = packagePaths(graph);
  const findings: Finding[] = [];
  const pkgRef = (pkg: AuditPackage) => ({ name: pkg.name, version: pkg.version, dev: pkg.dev, optional: pkg.optional });

  if (db) {
    for (const pkg of packages) {
      const advisories = db.lookup(pkg.name);
      if (advisories.length === 0) continue;
      const matches = advisories.map((advisory) => matchAdvisory(advisory, pkg.version, pkg.integrity)).filter((m): m is MatchResult => m !== undefined);
      if (matches.length === 0) continue;
      const { via, path } = pathsOf(pkg);
      for (const group of mergeMatches(matches)) {
        const ids = [...new Set(group.flatMap((m) => [m.advisory.id, ...m.advisory.aliases]))].sort();
        const malicious = group.some((m) => m.advisory.malicious);
        const worst = group.reduce((a, b) => (severityRank(b.advisory.severity) > severityRank(a.advisory.severity) ? b : a));
        const id = primaryId(ids, malicious);
        const main = group.find((m) => m.advisory.id === id) ?? worst;
        // One fix for the merged finding: the lowest version none of the merged records covers.
        const fixed = fixVersion(group.filter((m) => m.by !== 'integrity').map((m) => m.advisory), pkg.version);
        const ratings: Rating[] = [];
        for (const m of group) for (const r of m.advisory.ratings ?? []) if (!ratings.some((x) => x.type === r.type && x.vector === r.vector && x.label === r.label)) ratings.push(r);
        const finding: Finding = {
          kind: malicious ? 'malicious' : 'vulnerability',
          id,
          aliases: ids,
          severity: malicious ? 'critical' : worst.advisory.severity,
          package: pkgRef(pkg),
          summary: main.advisory.summary || worst.advisory.summary,
          url: main.advisory.url,
          via,
          path,
          location: { file: lockfile, pointer: pkg.locations[0]! },
        };
        if (worst.advisory.score !== undefined) finding.score = worst.advisory.score;
        if (worst.advisory.vector !== undefined) finding.vector = worst.advisory.vector;
        if (ratings.length) finding.ratings = ratings;
        // Flagged only when nothing readable backs the match: then the finding may be a false alarm.
        if (group.every((m) => m.unreadable)) finding.flags = ['range unreadable'];
        if (fixed) finding.fixed = fixed;
        findings.push(finding);
      }
    }
  }

  for (const issue of checkIntegrity(packages, options.allowedRegistries ?? DEFAULT_REGISTRIES)) {
    const { via, path } = pathsOf(issue.package);
    findings.push({
      kind: 'lockfile',
      id: `lockfile/${issue.rule}`,
      aliases: [`lockfile/${issue.rule}`],
      severity: issue.severity,
      package: pkgRef(issue.package),
      summary: issue.message,
      via,
      path,
      location: { file: lockfile, pointer: issue.package.locations[0]! },
    });
  }

  // Installed code, read by the parser: one verdict per package folder.
  const verdicts = new Map<string, PackageVerdict>();
  for (const inst of installed?.packages ?? []) {
    const code = installed?.code?.get(inst.dir);
    if (code) verdicts.set(inst.dir, judgePackage(inst.name, code, verifyIdentity(inst, graph)));
  }

  // Install scripts: the lockfile's record, completed by node_modules when it is there.
  // Only installed packages are looked up by name@version; without node_modules this map is not built.
  const byNameVersion = installed?.packages.length ? new Map(packages.map((pkg) => [`${pkg.name}@${pkg.version}`, pkg])) : new Map<string, AuditPackage>();
  const scripted = new Map<string, { pkg: AuditPackage | undefined; name: string; version: string; scripts?: Record<string, string>; dir?: string }>();
  for (const pkg of packages) if (pkg.hasInstallScript) scripted.set(`${pkg.name}@${pkg.version}`, { pkg, name: pkg.name, version: pkg.version });
  for (const inst of installed?.packages ?? []) {
    const scripts = Object.fromEntries(Object.entries(inst.scripts).filter(([, v]) => v !== undefined)) as Record<string, string>;
    if (Object.keys(scripts).length === 0 && !inst.gyp) continue;
    if (inst.gyp) scripts.install = 'node-gyp rebuild (implicit: binding.gyp)';
    const key = `${inst.name}@${inst.version}`;
    const pkg = byNameVersion.get(key);
    if (options.production && pkg?.dev) continue;
    scripted.set(key, { pkg, name: inst.name, version: inst.version, scripts, dir: inst.dir });
  }
  for (const [key, entry] of scripted) {
    const paths = entry.pkg ? pathsOf(entry.pkg) : { via: [], path: [] };
    const scripts = entry.scripts ? Object.entries(entry.scripts).map(([k, v]) => `${k}: ${v}`).join('; ') : 'recorded in the lockfile';
    // A script that runs one of the package's own files inherits what the heuristics found there.
    const verdict = entry.dir ? verdicts.get(entry.dir) : undefined;
    const installFinding = verdict?.findings.find((f) => f.id.startsWith('code/install-') && severityRank(f.severity) >= severityRank('medium'));
    const hitInScript = installFinding
      ? `runs code that ${installFinding.id.slice('code/'.length)} (${installFinding.evidence[0] ? `${entry.dir}/${installFinding.evidence[0].file}:${installFinding.evidence[0].line}` : ''})`
      : entry.scripts && entry.dir ? scriptFileHit(entry.scripts, entry.dir, installed?.hits?.get(entry.dir) ?? []) : undefined;
    const suspicious = (entry.scripts ? Object.values(entry.scripts).map(suspiciousScript).find((reason) => reason !== undefined) : undefined) ?? hitInScript;
    findings.push({
      kind: 'install-script',
      id: suspicious ? 'install-script/suspicious' : 'install-script',
      // No 'install-script' alias on the suspicious one: an ignore entry for the info notice must not hide it.
      aliases: [suspicious ? 'install-script/suspicious' : 'install-script'],
      severity: suspicious ? 'high' : 'info',
      package: entry.pkg ? pkgRef(entry.pkg) : { name: entry.name, version: entry.version, dev: false, optional: false },
      summary: `${key} runs code at install time${suspicious ? `, and the script ${suspicious}` : ''} (${scripts})`,
      via: paths.via,
      path: paths.path,
      location: entry.dir ? { file: `${entry.dir}/package.json` } : { file: lockfile, pointer: entry.pkg?.locations[0] ?? '' },
    });
  }

  const capabilities: PackageCapabilities[] = [];
  for (const inst of installed?.packages ?? []) {
    const pkg = byNameVersion.get(`${inst.name}@${inst.version}`);
    if (options.production && pkg?.dev) continue;
    const paths = pkg ? pathsOf(pkg) : { via: [], path: [] };
    const ref = pkg ? pkgRef(pkg) : { name: inst.name, version: inst.version, dev: false, optional: false };
    const verdict = verdicts.get(inst.dir);
    if (verdict) {
      const at = (file: string) => (file === 'package.json' ? `${inst.dir}/package.json` : `${inst.dir}/${file}`);
      capabilities.push({
        name: inst.name,
        version: inst.version,
        dir: inst.dir,
        capabilities: verdict.capabilities,
        evidence: Object.fromEntries(Object.entries(verdict.evidence).map(([cap, list]) => [cap, list!.map((e) => ({ file: at(e.file), line: e.line, detail: e.detail }))])),
        ...(verdict.known ? { known: verdict.known } : {}),
        identity: verifyIdentity(inst, graph).reason,
      });
      for (const f of verdict.findings) {
        const first = f.evidence[0];
        findings.push({
          kind: f.kind,
          id: f.id,
          aliases: [f.id],
          severity: f.severity,
          package: ref,
          summary: f.summary,
          via: paths.via,
          path: paths.path,
          ...(first ? { location: { file: at(first.file), line: first.line, column: first.column, snippet: first.snippet } } : {}),
          evidence: f.evidence.map((e) => ({ file: at(e.file), line: e.line, column: e.column, detail: e.detail, snippet: e.snippet })),
          capabilities: verdict.capabilities,
        });
      }
      continue;
    }
    const hits = installed?.hits?.get(inst.dir) ?? [];
    const known = isKnownInstrumentation(inst.name);
    for (const hit of hits) {
      findings.push({
        kind: 'network-hook',
        id: `network-hook/${hit.rule}`,
        aliases: [`network-hook/${hit.rule}`],
        severity: known ? 'info' : hookSeverity(hit.rule),
        package: ref,
        summary: `${inst.name} ${HOOK_SUMMARY[hit.rule]}${known ? ' (known instrumentation/polyfill library)' : ''}`,
        via: paths.via,
        path: paths.path,
        location: { file: hit.file, line: hit.line, column: hit.column, snippet: hit.snippet },
      });
    }
  }

  findings.sort(compareFindings);
  return { lockfile, format: graph.format, packages, findings, ...(verdicts.size ? { capabilities } : {}) };
}
