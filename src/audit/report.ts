/**
 * Output formats: readable table, JSON, SARIF 2.1.0 (GitHub code scanning) and CycloneDX 1.6.
 * Pure: results in, strings/objects out.
 */
import { randomUUID } from 'node:crypto';
import type { AuditResult, Finding } from './audit.js';
import { describeRating, ratingOf, severityRank, type Severity } from './cvss.js';
import type { DbMeta } from './db.js';
import type { LockGraph } from './lockfile/model.js';
import { auditPackages } from './graph.js';
import { redactUrl } from './integrity.js';

export interface ReportContext {
  tool: { name: string; version: string };
  db?: DbMeta;
  dbAgeDays?: number;
  /** 1-based line of a finding's package in the lockfile, for SARIF regions. */
  lineOf?: (finding: Finding) => number | undefined;
  /** Lockfile path relative to the repository root, for SARIF artifact locations. */
  lockfileUri: string;
  /** Checks that did not run, and why (no advisory database). Every output format says so. */
  skipped?: SkippedCheck[];
}

export interface SkippedCheck {
  check: 'advisories';
  reason: string;
}

export interface Colors {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
  cyan(text: string): string;
}

const plain: Colors = { red: (t) => t, yellow: (t) => t, green: (t) => t, dim: (t) => t, bold: (t) => t, cyan: (t) => t };

const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low', 'unknown', 'info'];

function colorFor(severity: Severity, c: Colors): (text: string) => string {
  return severity === 'critical' || severity === 'high' ? c.red : severity === 'medium' || severity === 'unknown' ? c.yellow : severity === 'low' ? c.cyan : c.dim;
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

export function renderTable(result: AuditResult, context: ReportContext, c: Colors = plain): string {
  const lines: string[] = [];
  if (context.db) {
    const age = context.dbAgeDays === undefined ? '' : `, newest record ${Math.floor(context.dbAgeDays)} day(s) old`;
    lines.push(c.dim(`advisories: ${context.db.records} records (${context.db.malicious} malicious-package)${age}`));
  }
  for (const skipped of context.skipped ?? []) lines.push(c.yellow(`advisories: SKIPPED, no vulnerability or malicious-package check: ${skipped.reason}`));
  lines.push(c.dim(`${result.lockfile} (${result.format}): ${result.packages.length} packages`));
  const active = result.findings.filter((f) => !f.suppressed);
  const idWidth = Math.min(44, Math.max(20, ...active.map((f) => f.id.length)));
  for (const severity of SEVERITIES) {
    const group = active.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    const paint = colorFor(severity, c);
    lines.push('', paint(c.bold(`${severity.toUpperCase()} (${group.length})`)));
    for (const f of group) {
      const pkg = `${f.package.name}@${f.package.version}${f.package.dev ? ' (dev)' : ''}`;
      const fix = f.fixed ? c.green(`fix: ${f.fixed}`) : f.kind === 'vulnerability' ? c.yellow('no fix') : f.kind === 'malicious' ? c.red('remove') : '';
      lines.push(`  ${paint(truncate(f.id, idWidth).padEnd(idWidth))} ${truncate(pkg, 40).padEnd(40)} ${fix}`.trimEnd());
      lines.push(`    ${f.flags?.length ? paint(`[${f.flags.join(', ')}] `) : ''}${truncate(f.summary, 110)}`);
      // Every rating the records give, so a reader sees why the gate used the one it did.
      if (f.ratings && f.ratings.length > 1) lines.push(c.dim(`    ratings: ${f.ratings.map(describeRating).join(' · ')}`));
      if (f.evidence?.length) for (const e of f.evidence.slice(0, 4)) lines.push(c.dim(`    ${e.file}:${e.line}  ${truncate(e.detail, 100)}`));
      else if (f.location?.line !== undefined) lines.push(c.dim(`    ${f.location.file}:${f.location.line}  ${truncate(f.location.snippet ?? '', 90)}`));
      if (f.path.length > 1) lines.push(c.dim(`    via ${f.path.join(' > ')}`));
      if (f.aliases.length > 1) lines.push(c.dim(`    also ${f.aliases.filter((a) => a !== f.id).join(', ')}`));
    }
  }
  if (result.capabilities?.length) {
    // Capabilities of the installed code: how many packages can do what, and who runs code at install.
    const tally = new Map<string, number>();
    for (const pkg of result.capabilities) for (const cap of pkg.capabilities) tally.set(cap, (tally.get(cap) ?? 0) + 1);
    lines.push('', c.bold(`capabilities of ${result.capabilities.length} installed packages`), `  ${[...tally].map(([cap, n]) => `${cap} ${n}`).join(', ') || 'none'}`);
    const installers = result.capabilities.filter((p) => p.capabilities.includes('install-time'));
    for (const pkg of installers.slice(0, 20)) lines.push(c.dim(`  install-time: ${pkg.name}@${pkg.version} (${pkg.capabilities.filter((x) => x !== 'install-time').join(', ') || 'nothing else'})${pkg.known ? ` [known ${pkg.known}]` : ''}`));
    if (installers.length > 20) lines.push(c.dim(`  ... ${installers.length - 20} more with install-time code (--json lists every package)`));
  }
  const suppressed = result.findings.length - active.length;
  const counts = SEVERITIES.map((s) => [s, active.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  lines.push('', active.length === 0 ? c.green('no findings') : `${active.length} finding(s): ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}${suppressed ? c.dim(`; ${suppressed} ignored`) : ''}`);
  return `${lines.join('\n')}\n`;
}

export function toJson(result: AuditResult, context: ReportContext, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const active = result.findings.filter((f) => !f.suppressed);
  return {
    lockfile: result.lockfile,
    format: result.format,
    packages: result.packages.length,
    database: context.db ? { ...context.db, ageDays: context.dbAgeDays === undefined ? null : Math.round(context.dbAgeDays * 10) / 10 } : null,
    skipped: context.skipped ?? [],
    summary: Object.fromEntries(SEVERITIES.map((s) => [s, active.filter((f) => f.severity === s).length])),
    findings: result.findings,
    ...(result.capabilities ? { capabilities: result.capabilities } : {}),
    ...extra,
  };
}

// GitHub maps security-severity to its levels: >= 9 critical, >= 7 high, >= 4 medium, else low.
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0', info: '0.0', none: '0.0', unknown: '8.0' };

function sarifLevel(severity: Severity): 'error' | 'warning' | 'note' {
  return severityRank(severity) >= severityRank('high') ? 'error' : severity === 'medium' || severity === 'low' ? 'warning' : 'note';
}

export function toSarif(result: AuditResult, context: ReportContext): Record<string, unknown> {
  const rules: Array<Record<string, unknown>> = [];
  const ruleIndex = new Map<string, number>();
  const results = result.findings.map((f) => {
    if (!ruleIndex.has(f.id)) {
      ruleIndex.set(f.id, rules.length);
      rules.push({
        id: f.id,
        name: f.kind === 'vulnerability' || f.kind === 'malicious' ? f.id.replace(/[^A-Za-z0-9]/g, '') : f.id.replace(/[^A-Za-z0-9]+(.)/g, (_, ch: string) => ch.toUpperCase()),
        shortDescription: { text: truncate(f.kind === 'vulnerability' || f.kind === 'malicious' ? `${f.id}: ${f.summary}` : f.id, 200) },
        fullDescription: { text: f.summary },
        ...(f.url ? { helpUri: f.url } : {}),
        help: { text: `${f.summary}${f.fixed ? `\nFixed in ${f.fixed}.` : ''}${f.url ? `\n${f.url}` : ''}` },
        defaultConfiguration: { level: sarifLevel(f.severity) },
        properties: {
          tags: ['security', f.kind],
          // The score only when it is what set the severity: a v4 2.3 under a MODERATE label must not read as low.
          'security-severity': f.score !== undefined && ratingOf(f.score) === f.severity ? f.score.toFixed(1) : SECURITY_SEVERITY[f.severity],
          ...(f.aliases.length > 1 ? { aliases: f.aliases } : {}),
        },
      });
    }
    const onCode = f.location?.line !== undefined && (f.kind === 'network-hook' || f.kind === 'code');
    const line = onCode ? f.location!.line! : context.lineOf?.(f);
    const text = `${f.package.name}@${f.package.version}: ${f.summary}${f.fixed ? ` (fixed in ${f.fixed})` : ''}${f.path.length > 1 ? ` — via ${f.path.join(' > ')}` : ''}`;
    return {
      ruleId: f.id,
      ruleIndex: ruleIndex.get(f.id),
      level: sarifLevel(f.severity),
      message: { text },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: f.location?.file ?? context.lockfileUri, uriBaseId: '%SRCROOT%' },
            region: { startLine: line ?? 1, ...(onCode && f.location?.column ? { startColumn: f.location.column } : {}) },
          },
        },
      ],
      // Stable across runs so code scanning tracks one alert per (rule, package, version).
      partialFingerprints: { 'wirelock/v1': `${f.id}|${f.package.name}@${f.package.version}|${onCode ? `${f.location!.file}:${line}` : ''}` },
      properties: { kind: f.kind, package: f.package.name, version: f.package.version, dev: f.package.dev, ...(f.fixed ? { fixed: f.fixed } : {}) },
      ...(f.suppressed ? { suppressions: [{ kind: 'external', justification: `${f.suppressed.reason} (until ${f.suppressed.expires})` }] } : {}),
    };
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: context.tool.name, version: context.tool.version, rules } },
        results,
        originalUriBaseIds: { '%SRCROOT%': { uri: 'file:///' } },
        ...(context.db ? { properties: { advisoryDatabase: { records: context.db.records, newestModified: context.db.newestModified, source: context.db.source } } } : {}),
        // A skipped check is a tool notification, so code scanning shows it rather than a clean run.
        ...(context.skipped?.length ? { invocations: [{ executionSuccessful: true, toolExecutionNotifications: context.skipped.map((s) => ({ level: 'warning', message: { text: `${s.check} check skipped: ${s.reason}` } })) }] } : {}),
      },
    ],
  };
}

export function purlOf(name: string, version: string): string {
  const encoded = name.startsWith('@') ? `%40${name.slice(1).split('/').map(encodeURIComponent).join('/')}` : encodeURIComponent(name);
  return `pkg:npm/${encoded}@${encodeURIComponent(version)}`;
}

function sriToHashes(integrity: string | undefined): Array<{ alg: string; content: string }> {
  const out: Array<{ alg: string; content: string }> = [];
  const ALG: Record<string, string> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
  for (const part of (integrity ?? '').split(/\s+/)) {
    const match = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/=]+)$/.exec(part);
    if (match) out.push({ alg: ALG[match[1]!]!, content: Buffer.from(match[2]!, 'base64').toString('hex') });
  }
  return out;
}

const CVSS_METHOD: Record<string, string> = { '3.0': 'CVSSv3', '3.1': 'CVSSv31', '4.0': 'CVSSv4' };

export function toCycloneDx(result: AuditResult, graph: LockGraph, context: ReportContext & { projectName?: string; projectVersion?: string; now?: Date }): Record<string, unknown> {
  const packages = result.packages;
  const refOf = new Map<string, string>();
  for (const pkg of packages) for (const id of pkg.ids) refOf.set(id, purlOf(pkg.name, pkg.version));
  const rootRef = 'project-root';
  const components = packages.map((pkg) => {
    const purl = purlOf(pkg.name, pkg.version);
    const slash = pkg.name.startsWith('@') ? pkg.name.indexOf('/') : -1;
    const hashes = sriToHashes(pkg.integrity);
    return {
      type: 'library',
      'bom-ref': purl,
      ...(slash > 0 ? { group: pkg.name.slice(0, slash), name: pkg.name.slice(slash + 1) } : { name: pkg.name }),
      version: pkg.version,
      purl,
      scope: pkg.dev ? 'excluded' : pkg.optional ? 'optional' : 'required',
      ...(hashes.length ? { hashes } : {}),
      ...(pkg.resolved && /^https?:/.test(pkg.resolved) ? { externalReferences: [{ type: 'distribution', url: redactUrl(pkg.resolved) }] } : {}),
      properties: [
        { name: 'wirelock:source', value: pkg.source },
        ...(pkg.hasInstallScript ? [{ name: 'wirelock:hasInstallScript', value: 'true' }] : []),
      ],
    };
  });
  const deps = new Map<string, Set<string>>();
  const rootDeps = new Set<string>();
  for (const node of graph.nodes.values()) {
    const from = node.importer !== undefined ? rootRef : refOf.get(node.id);
    if (!from) continue;
    for (const edge of node.edges) {
      const to = edge.target ? refOf.get(edge.target) : undefined;
      if (!to) continue;
      if (from === rootRef) rootDeps.add(to);
      else {
        if (!deps.has(from)) deps.set(from, new Set());
        deps.get(from)!.add(to);
      }
    }
  }
  const dependencies = [
    { ref: rootRef, dependsOn: [...rootDeps].sort() },
    ...components.map((c) => ({ ref: c['bom-ref'], dependsOn: [...(deps.get(c['bom-ref']) ?? [])].sort() })),
  ];
  const byAdvisory = new Map<string, Finding[]>();
  for (const f of result.findings) {
    if (f.kind !== 'vulnerability' && f.kind !== 'malicious') continue;
    const list = byAdvisory.get(f.id) ?? [];
    list.push(f);
    byAdvisory.set(f.id, list);
  }
  const vulnerabilities = [...byAdvisory].map(([id, findings]) => {
    const f = findings[0]!;
    const method = f.vector ? CVSS_METHOD[/^CVSS:(\d\.\d)/.exec(f.vector)?.[1] ?? ''] : undefined;
    const suppressed = findings.every((x) => x.suppressed);
    return {
      'bom-ref': `vuln-${id}`,
      id,
      source: { name: id.startsWith('GHSA-') ? 'GitHub Advisories' : 'OSV', url: f.url ?? `https://osv.dev/vulnerability/${id}` },
      references: f.aliases.filter((a) => a !== id).map((alias) => ({ id: alias, source: { name: alias.startsWith('CVE-') ? 'NVD' : 'OSV', url: alias.startsWith('CVE-') ? `https://nvd.nist.gov/vuln/detail/${alias}` : `https://osv.dev/vulnerability/${alias}` } })),
      ratings: [
        {
          source: { name: 'wirelock' },
          severity: f.severity === 'unknown' ? 'unknown' : f.severity,
          ...(f.score !== undefined && ratingOf(f.score) === f.severity ? { score: f.score } : {}),
          ...(method && f.score !== undefined && ratingOf(f.score) === f.severity ? { method, vector: f.vector } : { method: 'other' }),
          justification: 'highest of the ratings below: the gate severity',
        },
        ...(f.ratings ?? []).map((r) => {
          const m = r.vector ? CVSS_METHOD[/^CVSS:(\d\.\d)/.exec(r.vector)?.[1] ?? ''] : undefined;
          return { source: { name: id.startsWith('GHSA-') ? 'GitHub Advisories' : 'OSV' }, severity: r.severity, ...(r.score !== undefined ? { score: r.score } : {}), ...(m ? { method: m, vector: r.vector } : { method: 'other' }) };
        }),
      ],
      ...(f.kind === 'malicious' ? { cwes: [506] } : {}),
      description: f.summary,
      ...(f.fixed ? { recommendation: `Upgrade ${f.package.name} to ${f.fixed} or later` } : f.kind === 'malicious' ? { recommendation: `Remove ${f.package.name}: the version is known to be malicious` } : {}),
      advisories: f.url ? [{ url: f.url }] : [],
      affects: findings.map((x) => ({ ref: purlOf(x.package.name, x.package.version), versions: [{ version: x.package.version, status: 'affected' }] })),
      ...(suppressed ? { analysis: { state: 'in_triage', detail: findings[0]!.suppressed!.reason, response: ['will_not_fix'] } } : {}),
    };
  });
  const now = context.now ?? new Date();
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: now.toISOString(),
      tools: { components: [{ type: 'application', name: context.tool.name, version: context.tool.version }] },
      component: { type: 'application', 'bom-ref': rootRef, name: context.projectName ?? 'project', ...(context.projectVersion ? { version: context.projectVersion } : {}) },
      properties: [{ name: 'wirelock:lockfileFormat', value: result.format }, ...(context.skipped ?? []).map((s) => ({ name: `wirelock:skipped:${s.check}`, value: s.reason }))],
    },
    components,
    dependencies,
    vulnerabilities,
  };
}

/** For callers that only have a graph (tests, the SBOM of an unaudited lockfile). */
export function packagesOf(graph: LockGraph) {
  return auditPackages(graph);
}
