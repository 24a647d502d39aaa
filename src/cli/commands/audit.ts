import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, type Dirent } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { WirelockError } from '../../errors.js';
import { VERSION } from '../../version.js';
import { auditGraph, compareFindings, type AuditResult, type Finding, type InstalledEvidence } from '../../audit/audit.js';
import type { LockGraph } from '../../audit/lockfile/model.js';
import { severityRank, type Severity } from '../../audit/cvss.js';
import { dbAgeDays, defaultCacheDir, downgradeProblems, indexFromDirectory, indexFromZip, isCacheDir, openCache, openDatabase, writeCache, type AdvisoryLookup, type BuiltIndex, type DbMeta } from '../../audit/db.js';
import { DEFAULT_OSV_URL, download, progressBar } from '../../audit/download.js';
import { applyIgnores, parseIgnoreFile } from '../../audit/ignore.js';
import { listInstalled } from '../../audit/installed.js';
import { capabilitiesByIntegrity, scanInstalledCode } from '../../audit/code/scan.js';
import { diffSince, oldVersionsOf } from '../../audit/code/diff.js';
import { readSinceLockfile } from '../../audit/code/since.js';
import { DEFAULT_REGISTRIES } from '../../audit/integrity.js';
import { findLockfiles, noLockfileError, readLockfile } from '../../audit/lockfile/read.js';
import { renderTable, toCycloneDx, toJson, toSarif, type ReportContext, type SkippedCheck } from '../../audit/report.js';
import { EXIT, parseCommandArgs, type Command, type CommandIo } from '../command.js';
import { palette, writeJson } from '../output.js';

const usage = `usage: wirelock audit [dir|lockfile ...] [options]
       wirelock audit db update [--from <url|zip|dir>] [--sha256 <hex>] [--cache-dir <dir>] [--allow-downgrade]
       wirelock audit db status [--cache-dir <dir>] [--json]

Audits a JavaScript project offline: known vulnerabilities and malicious packages (OSV data),
lockfile integrity (registry, https, hashes, package names), install scripts, and code in
node_modules that hooks the network. Reads package-lock.json (v1-v3), npm-shrinkwrap.json,
yarn.lock (classic and berry), pnpm-lock.yaml (v6, v9) and bun.lock.

options:
  --db <zip|dir>            advisory data: an OSV export ZIP, a folder of OSV JSON, or a cache
                            folder (default: the cache written by \`audit db update\`)
  --cache-dir <dir>         cache folder (default $WIRELOCK_CACHE_DIR/osv-npm or ~/.cache/wirelock/osv-npm)
  --format <f>              table (default), json, sarif, cyclonedx
  --json                    same as --format json
  --output <file>           write the report to a file instead of stdout
  --fail-on <severity>      exit 1 on findings at or above: critical, high, medium, low (default),
                            info, none
  --ignore-file <file>      ignore entries {id, package?, reason, expires}
                            (default: .wirelock-audit-ignore.json next to the lockfile)
  --allowed-registry <host> allowed registry host, repeatable (default: ${DEFAULT_REGISTRIES.join(', ')})
  -r, --recursive           audit every folder below the given ones that has a lockfile
  --production              leave out packages only devDependencies bring in
  --skip-installed          do not look into node_modules (install scripts, code capabilities)
  --since <lockfile|ref>    alert on capabilities an update added, against an old lockfile or a
                            git ref (the lockfile as committed there)
  --code-cache-dir <dir>    cache of installed-code analyses, keyed by package integrity
                            (default $WIRELOCK_CACHE_DIR/code or ~/.cache/wirelock/code)
  --no-code-cache           analyse every installed package again
  --max-db-age <days>       warn when the newest advisory is older than this (default 7)
  --skip-advisories         run only the checks that need no database (lockfile integrity,
                            install scripts, code capabilities), deliberately

Without an advisory database (and without --skip-advisories) the other checks still run and the
report says the vulnerability check was skipped.

exit: 0 no finding at or above --fail-on; 1 findings at or above --fail-on; 2 usage, input or
      database error, or no finding but the vulnerability check was skipped for want of a database.`;

const FAIL_ON: Array<Severity | 'none'> = ['critical', 'high', 'medium', 'low', 'info', 'none'];

function cacheDirOf(value: string | undefined, io: CommandIo): string {
  return value ? resolve(io.cwd, value) : defaultCacheDir(io.env);
}

/**
 * 1-based line where the package's lockfile entry starts, from the location each reader records (a
 * JSON pointer walked key by key, or a yarn key). One pass builds key -> lines; each lookup is a
 * few binary searches, so thousands of findings cost nothing.
 */
export function lineFinder(text: string): (finding: Finding) => number | undefined {
  const keyLines = new Map<string, number[]>();
  const add = (key: string, line: number) => {
    const list = keyLines.get(key);
    if (list) list.push(line);
    else keyLines.set(key, [line]);
  };
  const KEY = /^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"'#][^:]*?))\s*:\s*(?:[[{].*)?$/;
  text.split('\n').forEach((raw, index) => {
    const match = KEY.exec(raw.replace(/\r$/, ''));
    if (!match) return;
    const key = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? match[3]!);
    add(key, index + 1);
    // yarn keys list several specs: "a@^1, a@^1.2".
    if (key.includes(', ')) for (const part of key.split(', ')) add(part.replace(/^"|"$/g, ''), index + 1);
  });
  const firstAfter = (key: string, after: number): number | undefined => {
    const list = keyLines.get(key);
    if (!list) return undefined;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]! > after) hi = mid;
      else lo = mid + 1;
    }
    return list[lo];
  };
  return (finding) => {
    const location = finding.location?.pointer;
    if (location === undefined || location === '') return undefined;
    if (!location.startsWith('/')) return firstAfter(location, 0);
    let line = 0;
    for (const segment of location.slice(1).split('/')) {
      const next = firstAfter(segment.replace(/~1/g, '/').replace(/~0/g, '~'), line);
      if (next === undefined) return line || undefined;
      line = next;
    }
    return line || undefined;
  };
}

/** Folders under `root` holding a lockfile; node_modules and dot-folders are not entered. */
function foldersWithLockfiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (findLockfiles(dir).length > 0) out.push(dir);
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(join(dir, entry.name));
    }
  };
  walk(root);
  return out.sort();
}

function readCacheMeta(dir: string): DbMeta | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as DbMeta;
  } catch {
    return undefined;
  }
}

async function runDb(argv: string[], io: CommandIo): Promise<number> {
  const [action, ...rest] = argv;
  const { values } = parseCommandArgs(rest, {
    from: { type: 'string' },
    sha256: { type: 'string' },
    'cache-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    'allow-downgrade': { type: 'boolean', default: false },
  });
  const cacheDir = cacheDirOf(values['cache-dir'], io);
  if (action === 'status') {
    if (!isCacheDir(cacheDir)) throw new WirelockError('ERR_ADVISORY_DB', `no advisory database in ${cacheDir}; run \`wirelock audit db update\``, { file: cacheDir });
    const db = openCache(cacheDir);
    db.close();
    const age = dbAgeDays(db.meta);
    if (values.json) writeJson(io, { cacheDir, ...db.meta, ageDays: age === undefined ? null : Math.round(age * 10) / 10 });
    else io.stdout.write(`${cacheDir}\n  ${db.meta.records} records (${db.meta.malicious} malicious-package, ${db.meta.withdrawn} withdrawn), ${db.meta.packages} packages\n  newest record ${db.meta.newestModified}${age === undefined ? '' : ` (${Math.floor(age)} day(s) old)`}, indexed ${db.meta.indexedAt}\n  source ${db.meta.source}\n`);
    return EXIT.OK;
  }
  if (action !== 'update') throw new WirelockError('ERR_USAGE', `unknown "audit db" action "${action ?? ''}" (update, status)`);
  if (values.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(values.sha256)) throw new WirelockError('ERR_USAGE', '--sha256 must be 64 hex digits');
  const from = values.from ?? io.env.WIRELOCK_OSV_URL ?? DEFAULT_OSV_URL;
  const bar = progressBar(io.stderr);
  let built: BuiltIndex;
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) {
      mkdirSync(dirname(cacheDir), { recursive: true });
      const temp = `${cacheDir}.download-${process.pid}.zip`;
      // Same source as the cache: ask only for a newer export.
      const previous = isCacheDir(cacheDir) ? readCacheMeta(cacheDir) : undefined;
      const etag = previous?.source === from && values.sha256 === undefined ? previous.etag : undefined;
      try {
        const fetched = await download(from, temp, { onProgress: bar, ...(etag ? { etag } : {}) });
        bar.done();
        if (fetched.status === 'not-modified') {
          io.stdout.write(values.json ? `${JSON.stringify({ cacheDir, upToDate: true, ...previous }, null, 2)}\n` : `advisory database in ${cacheDir} is up to date (${from} unchanged)\n`);
          return EXIT.OK;
        }
        built = indexFromZip(temp, from, bar);
        if (fetched.etag) built.meta.etag = fetched.etag;
        built.meta.md5Verified = fetched.md5Verified;
      } finally {
        rmSync(temp, { force: true });
      }
    } else {
      const path = resolve(io.cwd, from);
      if (!existsSync(path)) throw new WirelockError('ERR_ADVISORY_DB', `${path} does not exist`, { file: path });
      built = statSync(path).isDirectory() ? indexFromDirectory(path, bar) : indexFromZip(path, path, bar);
    }
  } finally {
    bar.done();
  }
  if (values.sha256 !== undefined) {
    if (!built.meta.sha256) throw new WirelockError('ERR_USAGE', '--sha256 applies to a ZIP download or file, not a folder');
    if (built.meta.sha256 !== values.sha256.toLowerCase()) {
      throw new WirelockError('ERR_ADVISORY_DB', `advisory database digest mismatch: expected sha256 ${values.sha256.toLowerCase()}, got ${built.meta.sha256}; cache left unchanged`, { file: from });
    }
  }
  const downgrade = isCacheDir(cacheDir) ? downgradeProblems(cacheDir, built) : [];
  if (downgrade.length > 0 && !values['allow-downgrade']) {
    throw new WirelockError('ERR_ADVISORY_DB', `refusing to replace the advisory database in ${cacheDir} with ${from}: ${downgrade.join('; ')}. An old export replayed by a mirror or an attacker looks exactly like this; the cache is left unchanged (pass --allow-downgrade to replace it anyway)`, { file: cacheDir, downgrade });
  }
  if (downgrade.length > 0) io.stderr.write(`wirelock audit: warning: --allow-downgrade: replacing the advisory database although ${downgrade.join('; ')}\n`);
  writeCache(cacheDir, built);
  const m = built.meta;
  if (m.unreadableRanges > 0) {
    // Not an error (the export is still the best data there is) but never silent: these ranges now
    // match every version of their package, so their findings may be false alarms.
    io.stderr.write(`wirelock audit: warning: ${m.unreadableRanges} range event(s) have a version that cannot be read; those ranges are treated as covering every version (findings flagged "range unreadable"), e.g.\n${m.unreadableExamples.map((e) => `  ${e}\n`).join('')}`);
  }
  if (values.json) writeJson(io, { cacheDir, ...m });
  else io.stdout.write(`indexed ${m.records} records (${m.malicious} malicious-package, ${m.withdrawn} withdrawn, ${m.otherEcosystems} other ecosystems) for ${m.packages} packages into ${cacheDir}\nnewest record ${m.newestModified}${m.sha256 ? `\nsha256 ${m.sha256}` : ''}${m.md5Verified ? ' (matches the MD5 the server states)' : ''}\n`);
  return EXIT.OK;
}

export const command: Command = {
  name: 'audit',
  summary: 'find vulnerable and malicious dependencies, lockfile tampering, install scripts and network hooks (offline)',
  usage,
  async run(argv, io) {
    if (argv[0] === 'db') return runDb(argv.slice(1), io);
    const { values, positionals } = parseCommandArgs(argv, {
      db: { type: 'string' },
      'cache-dir': { type: 'string' },
      format: { type: 'string', default: 'table' },
      json: { type: 'boolean', default: false },
      output: { type: 'string' },
      'fail-on': { type: 'string', default: 'low' },
      'ignore-file': { type: 'string' },
      'allowed-registry': { type: 'string', multiple: true },
      production: { type: 'boolean', default: false },
      'skip-installed': { type: 'boolean', default: false },
      'max-db-age': { type: 'string', default: '7' },
      recursive: { type: 'boolean', short: 'r', default: false },
      'skip-advisories': { type: 'boolean', default: false },
      since: { type: 'string' },
      'code-cache-dir': { type: 'string' },
      'no-code-cache': { type: 'boolean', default: false },
    });
    const codeCacheDir = values['no-code-cache'] ? undefined : values['code-cache-dir'] ? resolve(io.cwd, values['code-cache-dir']) : join(dirname(defaultCacheDir(io.env)), 'code');
    const format = values.json ? 'json' : values.format;
    if (!['table', 'json', 'sarif', 'cyclonedx'].includes(format)) throw new WirelockError('ERR_USAGE', `--format must be table, json, sarif or cyclonedx, not "${format}"`);
    const failOn = values['fail-on'] as Severity | 'none';
    if (!FAIL_ON.includes(failOn)) throw new WirelockError('ERR_USAGE', `--fail-on must be one of ${FAIL_ON.join(', ')}, not "${failOn}"`);
    const maxAge = Number(values['max-db-age']);
    if (!Number.isFinite(maxAge) || maxAge < 0) throw new WirelockError('ERR_USAGE', '--max-db-age must be a number of days');
    if (format === 'cyclonedx' && (positionals.length > 1 || values.recursive)) throw new WirelockError('ERR_USAGE', '--format cyclonedx describes one lockfile; give one path without --recursive');

    // Which lockfiles: each path is a lockfile or a folder (its first lockfile, or with
    // --recursive every folder below it that has one).
    const lockfiles: string[] = [];
    for (const arg of positionals.length ? positionals : ['.']) {
      const target = resolve(io.cwd, arg);
      if (!existsSync(target)) throw new WirelockError('ERR_LOCKFILE_INVALID', `${target} does not exist`, { file: target });
      if (!statSync(target).isDirectory()) {
        lockfiles.push(target);
        continue;
      }
      const folders = values.recursive ? foldersWithLockfiles(target) : [target];
      if (folders.length === 0 || (!values.recursive && findLockfiles(target).length === 0)) throw noLockfileError(target);
      for (const folder of folders) {
        const found = findLockfiles(folder);
        // Two lockfiles usually means one is stale; say which one was audited rather than pick silently.
        if (found.length > 1) io.stderr.write(`wirelock audit: warning: ${found.length} lockfiles in ${folder}; audited ${found[0]}, not ${found.slice(1).join(', ')} (pass a file to choose)\n`);
        if (found[0]) lockfiles.push(found[0]);
      }
    }

    // Without a database the checks that need none still run; the report says the advisory
    // check was skipped, and the exit status stays non-zero unless the skip was asked for.
    let db: AdvisoryLookup | undefined;
    const skipped: SkippedCheck[] = [];
    const bar = progressBar(io.stderr);
    try {
      if (values['skip-advisories']) {
        if (values.db) throw new WirelockError('ERR_USAGE', '--skip-advisories and --db contradict each other');
        skipped.push({ check: 'advisories', reason: '--skip-advisories' });
      } else if (values.db) db = openDatabase(resolve(io.cwd, values.db), bar);
      else {
        const cacheDir = cacheDirOf(values['cache-dir'], io);
        if (isCacheDir(cacheDir)) db = openCache(cacheDir);
        else skipped.push({ check: 'advisories', reason: `no advisory database in ${cacheDir}; run \`wirelock audit db update\` or pass --db <zip|dir>` });
      }
    } finally {
      bar.done();
    }
    const age = db ? dbAgeDays(db.meta) : undefined;
    const c = palette(io, 'stderr');
    if (db && age !== undefined && age > maxAge) {
      io.stderr.write(c.yellow(`wirelock audit: warning: the advisory database is stale: newest record is ${Math.floor(age)} day(s) old (${db.meta.newestModified}); run \`wirelock audit db update\`\n`));
    }
    if (db && db.meta.unreadableRanges > 0) {
      io.stderr.write(c.dim(`wirelock audit: note: ${db.meta.unreadableRanges} advisory range event(s) cannot be read and are treated as covering every version (findings flagged "range unreadable")\n`));
    }
    for (const skip of skipped) {
      io.stderr.write(c.yellow(`wirelock audit: warning: vulnerability and malicious-package check skipped (${skip.reason}); lockfile integrity, install scripts and network hooks were checked\n`));
    }

    const displayPath = (path: string) => {
      const rel = relative(io.cwd, path).split('\\').join('/');
      if (rel === '') return '.';
      return rel.startsWith('..') ? path : rel;
    };
    const results: AuditResult[] = [];
    const graphs: LockGraph[] = [];
    const finders = new Map<string, (finding: Finding) => number | undefined>();
    try {
      for (const lockfilePath of lockfiles) {
        const projectDir = dirname(lockfilePath);
        const graph = readLockfile(lockfilePath);
        let installed: InstalledEvidence | undefined;
        if (!values['skip-installed'] && existsSync(resolve(projectDir, 'node_modules'))) {
          const packages = listInstalled(projectDir);
          const { code, stats } = await scanInstalledCode(projectDir, packages, { graph, ...(codeCacheDir ? { cacheDir: codeCacheDir } : {}) });
          if (stats.threadError) io.stderr.write(palette(io, 'stderr').yellow(`wirelock audit: warning: the installed-code analysis threads failed (${stats.threadError}); every package was analysed on one thread (same results, slower)\n`));
          installed = { packages, code };
        }
        const lockfileRel = displayPath(lockfilePath);
        let result = auditGraph(graph, lockfileRel, db, { allowedRegistries: values['allowed-registry'] ?? DEFAULT_REGISTRIES, production: values.production }, installed);
        if (values.since !== undefined) {
          const old = readSinceLockfile(values.since, lockfilePath, io.cwd);
          const lookup = (integrity: string) => (codeCacheDir ? capabilitiesByIntegrity(codeCacheDir, integrity) : undefined);
          const updates = diffSince(result.capabilities ?? [], oldVersionsOf(old, lookup));
          result = { ...result, findings: [...result.findings, ...updates.map((u): Finding => ({ kind: 'update', id: u.id, aliases: [u.id], severity: u.severity, package: { name: u.name, version: u.version, dev: false, optional: false }, summary: u.summary, via: [], path: [], ...(u.evidence[0] ? { location: { file: u.evidence[0].file, line: u.evidence[0].line } } : { location: { file: lockfileRel } }), evidence: u.evidence.map((e) => ({ ...e, column: 1, snippet: '' })), capabilities: u.added }))].sort(compareFindings) };
        }
        // Installed-code locations are relative to the project; make them relative to where we run.
        const prefix = displayPath(projectDir);
        if (prefix !== '' && prefix !== '.') {
          result = {
            ...result,
            findings: result.findings.map((f) => ({
              ...f,
              ...(f.location && f.location.file !== lockfileRel ? { location: { ...f.location, file: `${prefix}/${f.location.file}` } } : {}),
              ...(f.evidence ? { evidence: f.evidence.map((e) => ({ ...e, file: `${prefix}/${e.file}` })) } : {}),
            })),
          };
        }
        const ignorePath = values['ignore-file'] ? resolve(io.cwd, values['ignore-file']) : resolve(projectDir, '.wirelock-audit-ignore.json');
        if (values['ignore-file'] && !existsSync(ignorePath)) throw new WirelockError('ERR_INPUT_INVALID', `ignore file ${ignorePath} does not exist`, { file: ignorePath });
        if (existsSync(ignorePath)) {
          const outcome = applyIgnores(result.findings, parseIgnoreFile(readFileSync(ignorePath, 'utf8'), ignorePath));
          result = { ...result, findings: outcome.findings };
          for (const entry of outcome.expired) io.stderr.write(c.yellow(`wirelock audit: warning: ignore entry ${entry.id}${entry.package ? ` (${entry.package})` : ''} expired on ${entry.expires}; it no longer applies\n`));
          for (const entry of outcome.unused) io.stderr.write(c.dim(`wirelock audit: note: ignore entry ${entry.id} matched nothing\n`));
        }
        // Lines only for SARIF regions: indexing a 200,000-package lockfile's lines costs a second.
        if (format === 'sarif') finders.set(lockfileRel, lineFinder(readFileSync(lockfilePath, 'utf8')));
        results.push(result);
        graphs.push(graph);
      }
    } finally {
      db?.close();
    }

    const first = results[0]!;
    const context: ReportContext = {
      tool: { name: 'wirelock', version: VERSION },
      ...(db ? { db: db.meta } : {}),
      ...(skipped.length ? { skipped } : {}),
      lockfileUri: first.lockfile,
      lineOf: (f) => (f.location?.pointer !== undefined ? finders.get(f.location.file)?.(f) : undefined),
    };
    if (age !== undefined) context.dbAgeDays = age;
    const combined: AuditResult =
      results.length === 1
        ? first
        : { lockfile: `${results.length} lockfiles`, format: 'multiple', packages: results.flatMap((r) => r.packages), findings: results.flatMap((r) => r.findings).sort(compareFindings) };
    let text: string;
    if (format === 'table') {
      const colors = values.output ? palette({ ...io, stdout: { ...io.stdout, isTTY: false } as CommandIo['stdout'] }) : palette(io);
      text = results.map((r) => renderTable(r, context, colors)).join('\n');
    } else if (format === 'json') {
      const extra = results.length > 1 ? { lockfiles: results.map((r) => ({ lockfile: r.lockfile, format: r.format, packages: r.packages.length })) } : {};
      text = `${JSON.stringify(toJson(combined, context, extra), null, 2)}\n`;
    } else if (format === 'sarif') text = `${JSON.stringify(toSarif(combined, context), null, 2)}\n`;
    else {
      const graph = graphs[0]!;
      const root = graph.nodes.get(graph.importers[0] ?? '');
      text = `${JSON.stringify(toCycloneDx(first, graph, { ...context, ...(root?.name ? { projectName: root.name } : {}), ...(root?.version ? { projectVersion: root.version } : {}) }), null, 2)}\n`;
    }
    if (values.output) writeFileSync(resolve(io.cwd, values.output), text);
    else io.stdout.write(text);
    const result = combined;

    const threshold = severityRank(failOn);
    const failing = failOn === 'none' ? [] : result.findings.filter((f) => !f.suppressed && severityRank(f.severity) >= threshold);
    if (failing.length > 0) return EXIT.FINDINGS;
    // An audit that could not look for known-bad packages has not passed: only an explicit
    // --skip-advisories turns the missing database into a deliberate choice.
    if (skipped.length > 0 && !values['skip-advisories']) return EXIT.USAGE;
    return EXIT.OK;
  },
};
