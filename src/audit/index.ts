// Public API of the supply-chain audit, exported from the package root as the `audit` namespace.
export { auditGraph, type AuditOptions, type AuditResult, type Finding, type FindingKind, type InstalledEvidence } from './audit.js';
export { cvss3BaseScore, ratingOf, type Severity } from './cvss.js';
export { cvss4BaseScore } from './cvss4.js';
export { openDatabase, openCache, writeCache, indexFromZip, indexFromDirectory, buildIndex, dbAgeDays, defaultCacheDir, type AdvisoryLookup, type DbMeta } from './db.js';
export { auditPackages, dependencyPaths, type AuditPackage, type DependencyPaths } from './graph.js';
export { scanSource, isKnownInstrumentation, type HookHit, type HookRule } from './heuristics.js';
export { applyIgnores, parseIgnoreFile, type IgnoreEntry } from './ignore.js';
export { listInstalled, scanPackageCode, type InstalledPackage } from './installed.js';
export { checkIntegrity, DEFAULT_REGISTRIES, type IntegrityIssue, type IntegrityRule } from './integrity.js';
export { parseLockfile, readLockfile, findLockfiles, LOCKFILE_NAMES } from './lockfile/read.js';
export type { LockGraph, LockNode, LockfileFormat, Edge, SourceKind } from './lockfile/model.js';
export { CompactGraph, compactGraph } from './lockfile/compact.js';
export { advisoriesFromRecord, evaluateRange, matchAdvisory, type Advisory, type OsvRange } from './osv.js';
export { compareSemVer, parseVersion } from './semver.js';
export { renderTable, toJson, toSarif, toCycloneDx, purlOf } from './report.js';
