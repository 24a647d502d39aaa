/**
 * `--since`: what an update added. The 2025 compromises of popular packages were patch releases
 * that suddenly ran code at install and talked to the network; a capability that was not there in
 * the version the project used before is the alert, whatever its absolute severity.
 * Pure: the old lockfile's graph and the old versions' capabilities (from the cache) in, findings out.
 */
import type { Severity } from '../cvss.js';
import type { LockGraph } from '../lockfile/model.js';
import type { PackageCapabilities } from '../audit.js';
import type { Capability } from './analyze.js';

export interface UpdateFinding {
  id: 'update/new-capability' | 'update/new-package';
  severity: Severity;
  name: string;
  version: string;
  from?: string;
  added: Capability[];
  summary: string;
  evidence: Array<{ file: string; line: number; detail: string }>;
}

/** Capabilities that turn an ordinary patch release into a supply-chain incident when they appear. */
const WEIGHT: Partial<Record<Capability, Severity>> = {
  'install-time': 'high',
  network: 'medium',
  'child-process': 'medium',
  shell: 'medium',
  eval: 'medium',
  obfuscation: 'medium',
  recon: 'medium',
  env: 'medium',
  'fs-write-outside': 'medium',
  'native-binary': 'low',
  'dynamic-require': 'low',
};
const RANK: Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

function worst(a: Severity, b: Severity): Severity {
  return RANK.indexOf(a) >= RANK.indexOf(b) ? a : b;
}

export interface OldVersion {
  version: string;
  integrity?: string;
  hasInstallScript?: boolean;
  /** From the cache of an earlier scan of that exact tarball; undefined when it was never scanned. */
  capabilities?: Capability[];
}

export function oldVersionsOf(graph: LockGraph, lookup: (integrity: string) => Capability[] | undefined): Map<string, OldVersion[]> {
  const out = new Map<string, OldVersion[]>();
  for (const node of graph.nodes.values()) {
    if (node.importer !== undefined) continue;
    const list = out.get(node.name) ?? [];
    if (list.some((v) => v.version === node.version)) continue;
    const capabilities = node.integrity ? lookup(node.integrity) : undefined;
    list.push({ version: node.version, ...(node.integrity ? { integrity: node.integrity } : {}), ...(node.hasInstallScript !== undefined ? { hasInstallScript: node.hasInstallScript } : {}), ...(capabilities ? { capabilities } : {}) });
    out.set(node.name, list);
  }
  return out;
}

export function diffSince(current: PackageCapabilities[], old: Map<string, OldVersion[]>): UpdateFinding[] {
  const findings: UpdateFinding[] = [];
  const seen = new Set<string>();
  for (const pkg of current) {
    const key = `${pkg.name}@${pkg.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const before = old.get(pkg.name);
    if (!before) {
      const notable = pkg.capabilities.filter((c) => WEIGHT[c] && WEIGHT[c] !== 'low');
      if (notable.length)
        findings.push({ id: 'update/new-package', severity: 'info', name: pkg.name, version: pkg.version, added: pkg.capabilities, summary: `${key} is new since the old lockfile; its code can: ${pkg.capabilities.join(', ')}`, evidence: evidenceOf(pkg, notable) });
      continue;
    }
    if (before.some((v) => v.version === pkg.version)) continue;
    // Compare with the closest version we know something about: a scanned one first.
    const scanned = before.filter((v) => v.capabilities);
    const base = scanned.at(-1) ?? before.at(-1)!;
    let added: Capability[];
    let basis: string;
    if (base.capabilities) {
      added = pkg.capabilities.filter((c) => !base.capabilities!.includes(c));
      basis = `${pkg.name}@${base.version} (scanned before)`;
    } else {
      // Never scanned: the old lockfile still says whether it ran code at install.
      added = base.hasInstallScript === false || base.hasInstallScript === undefined ? pkg.capabilities.filter((c) => c === 'install-time') : [];
      basis = `${pkg.name}@${base.version} (not scanned before: only its install-script record is known)`;
    }
    if (added.length === 0) continue;
    let severity: Severity = 'info';
    for (const c of added) severity = worst(severity, WEIGHT[c] ?? 'info');
    // An install step that appears together with network access is how the 2025 compromises looked.
    if (added.includes('install-time') && pkg.capabilities.includes('network')) severity = 'critical';
    findings.push({
      id: 'update/new-capability',
      severity,
      name: pkg.name,
      version: pkg.version,
      from: base.version,
      added,
      summary: `${pkg.name} ${base.version} -> ${pkg.version} adds: ${added.join(', ')} (compared with ${basis})`,
      evidence: evidenceOf(pkg, added),
    });
  }
  return findings;
}

function evidenceOf(pkg: PackageCapabilities, capabilities: Capability[]): UpdateFinding['evidence'] {
  return capabilities.flatMap((c) => (pkg.evidence[c] ?? []).slice(0, 2)).slice(0, 6);
}
