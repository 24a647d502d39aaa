import { certificatePin, pemBlocks } from '../x509/certificate.js';
import { SLOTS, changedIntrinsics, readOpenFile, realProcess, loadTime, defaultCasAtLoad, defaultCasReplaced, loadTimeGetter, loadTimeValue, pristine, readSlot, real, safeDefaultCas, slotGetter } from './builtins.js';
import {
  allowedPreload,
  downgrade,
  makeFinding,
  packageOf,
  resolveAllowEntries,
  severityRank,
  type AllowEntry,
  type AllowList,
  type RuntimeFinding,
  type Severity,
} from './findings.js';
import { DEFAULT_CONFIG_FILE, canonicalOption, configFilesOf, flagsOfConfigFile, interpretFlags, isWirelockRegister, nodeFlagsOfCommandLine, nodeOptionsOfEnvFile, optionValues, parseEnviron, splitNodeOptions, type ParsedFlags } from './flags.js';
import { isWirelockValue } from './own.js';
import { redactCredentials } from '../policy/proxy.js';
import { allowedOrigin, describeOrigin, responsibleUrl, withOrigins, originAvailable, type FunctionOrigin } from './origin.js';

// Node's process object as the module loader handed it over: `process` is a global any code can
// replace after lockdown (a look-alike whose env or execArgv the checks would then read).
const process = realProcess;

// Taken when wirelock loads (builtins.ts, through process.getBuiltinModule), not when this module is
// compiled.
const { createRequire, resolvePath, X509Certificate } = loadTime;

export interface InspectOptions {
  allow?: AllowList;
  /** Values wirelock's own lockdown installed: never findings. */
  ownValues?: ReadonlySet<unknown>;
  /** Skip the inspector (function origins); hooks are then judged by identity against load time only. */
  origins?: boolean;
  /**
   * lockdown() at start-up. Where wirelock provably loaded first (the cheap proof applies), the
   * origin proof of the watched slots is not run now: it is handed here, bound to the values the
   * slots hold now, and lockdown runs it before anything relies on its verdict (the first connection
   * or worker, findings(), check(), recheck()). The values, V8's script order and Node's shipped
   * sources it judges by do not change in between, so its verdict is the one it would give now.
   */
  deferProof?: (proof: () => RuntimeFinding[]) => void;
  /** Receives the process facts (/proc reads) the inspection used, so lockdown's start reads them once. */
  onFacts?: (facts: ProcessFacts) => void;
}

/** What each watched slot holds at one moment: what a deferred proof judges. */
interface SlotSnapshot {
  values: ReadonlyMap<string, unknown>;
  getters: ReadonlyMap<string, unknown>;
}

export interface EnvironmentReport {
  findings: RuntimeFinding[];
  /** What could not be checked here (no /proc, no inspector), so a clean report is read correctly. */
  limits: string[];
  node: string;
  platform: string;
  checkedAt: string;
}

/** Environment variables through which proxy-aware clients are redirected (also stripped by the lab). */
export const PROXY_VARIABLES = Object.freeze(['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'GLOBAL_AGENT_HTTP_PROXY', 'GLOBAL_AGENT_HTTPS_PROXY']);
/** Channels whose subscribers see outgoing requests (undici publishes body chunks on some). */
export const NETWORK_CHANNELS = Object.freeze([
  'undici:request:create',
  'undici:request:headers',
  'undici:request:bodySent',
  'undici:request:bodyChunkSent',
  'undici:client:sendHeaders',
  'undici:client:beforeConnect',
  'undici:client:connected',
  'http.client.request.start',
  'http.client.request.created',
  'net.client.socket',
]);
/** Findings that mean code other than Node's may have run before wirelock loaded. */
const EARLY_CODE: ReadonlySet<string> = new Set(['preload', 'preload-scrubbed', 'execargv-tampered', 'cmdline-rewritten', 'loader-redirect', 'inspector', 'raw-binding', 'ld-preload', 'injected-library', 'tracer', 'inspection-failed']);
const INJECTED_LIBRARY = /frida|gadget|gum-js|libgum|substrate|xposed|libinject|inject[-_]?lib/i;

const { ownRegisterPaths } = loadTime;

let readBuffer: Buffer | undefined;
/**
 * A file's bytes as latin1, read with the raw calls captured at load. Not readFileSync: its first
 * call with an encoding other than utf8 costs ~1 ms (an fstat, a 64 KiB buffer per file, and Node
 * code compiled on first use), paid at every start under register for five small /proc files.
 */
function readText(path: string): string | undefined {
  return readOpenFile(path, readAll);
}

/** What is left to read on `fd`, as latin1: /proc files report size 0 and are read to their end, chunk by chunk. */
function readAll(fd: number): string {
  // Allocated with the function taken at load: a replaced Buffer.allocUnsafe could hand out a view of
  // memory another thread writes while it is read.
  readBuffer ??= pristine.allocUnsafeSlow(65536);
  let text = '';
  for (;;) {
    const length = pristine.readSync(fd, readBuffer, 0, readBuffer.length, null);
    if (length === 0) return text;
    text += pristine.apply(pristine.latin1Slice, readBuffer, [0, length]);
  }
}

export interface ProcessFacts {
  flags: ParsedFlags;
  cmdlineFlags: string[] | undefined;
  cmdlineRewritten: boolean;
  currentNodeOptions: ParsedFlags;
  /** NODE_OPTIONS as the kernel recorded it at exec: code can delete the variable, not this. */
  initialNodeOptions: ParsedFlags;
  /**
   * Options given by files Node reads at start, before any preload: NODE_OPTIONS set by an
   * `--env-file` (never in the environment the kernel recorded) and a Node 24 config file's
   * "nodeOptions". Files that cannot be read are named in `unreadableStartupFiles`.
   */
  startupFileOptions: ParsedFlags;
  unreadableStartupFiles: string[];
  initialEnv: Record<string, string> | undefined;
}

/**
 * A file Node read at start, as it is now; or why it cannot stand for what Node read: not a regular
 * file (stdin, a pipe, a process substitution: Node read it once). Opened non-blocking so a pipe
 * cannot stall the check. A regular file rewritten by code that ran first is a documented limit.
 */
function readStartupFile(path: string): { text: string } | { problem: string } | undefined {
  // One descriptor for the check and the read: a path swapped for a FIFO in between cannot stall it.
  return readOpenFile(
    path,
    (fd) => (pristine.fstatSync(fd).isFile() ? { text: readAll(fd) } : { problem: 'not a regular file (Node read it once; it cannot be read again)' }),
    pristine.readNonBlocking,
  );
}

function startupFiles(flags: readonly string[]): { options: ParsedFlags; unreadable: string[] } {
  const collected: string[] = [];
  const unreadable: string[] = [];
  const names = ['--env-file', '--env-file-if-exists'];
  const configs = configFilesOf(flags);
  for (const name of names) {
    for (const file of optionValues(flags, name)) {
      const read = readStartupFile(resolvePath(file));
      if (read === undefined) {
        if (name === '--env-file') unreadable.push(file);
        continue;
      }
      if ('problem' in read) {
        unreadable.push(`${file} (${read.problem})`);
        continue;
      }
      const text = read.text;
      for (const value of nodeOptionsOfEnvFile(text)) collected.push(...splitNodeOptions(value));
    }
  }
  for (const file of configs) {
    const read = readStartupFile(resolvePath(file));
    if (read !== undefined && 'problem' in read) {
      unreadable.push(`${file} (${read.problem})`);
      continue;
    }
    const options = read === undefined ? undefined : flagsOfConfigFile(read.text);
    if (options === undefined) unreadable.push(file);
    else collected.push(...options);
  }
  return { options: interpretFlags(collected), unreadable };
}

/**
 * /proc/self/cmdline as first read in this process. Setting process.title (or --title) overwrites
 * the memory behind it: read once, a title the app sets after wirelock started changes nothing.
 */
let firstCommandLine: string[] | undefined;

/**
 * The command line's words, or 'rewritten' when a title overwrote it before we first read it: the
 * first word is then not process.argv0 (which JavaScript cannot change), or it is followed only by
 * the zero fill libuv writes after a shorter title.
 */
function commandLine(): string[] | 'rewritten' | undefined {
  if (!firstCommandLine) {
    const text = readText('/proc/self/cmdline');
    if (text === undefined) return undefined;
    firstCommandLine = text.split('\0').filter((part, index, all) => index < all.length - 1 || part !== '');
  }
  const words = firstCommandLine;
  if (words[0] !== realProcess.argv0 || (words.length > 1 && words.slice(1).every((word) => word === ''))) return 'rewritten';
  return words;
}

function processFacts(): ProcessFacts {
  const cmdline = commandLine();
  const cmdlineFlags = cmdline === undefined || cmdline === 'rewritten' ? undefined : nodeFlagsOfCommandLine(cmdline.slice(1));
  const environ = readText('/proc/self/environ');
  const initialEnv = environ === undefined ? undefined : parseEnviron(environ);
  const files = startupFiles(cmdlineFlags ?? process.execArgv);
  return {
    cmdlineRewritten: cmdline === 'rewritten',
    startupFileOptions: files.options,
    unreadableStartupFiles: files.unreadable,
    flags: interpretFlags(cmdlineFlags ?? process.execArgv),
    cmdlineFlags,
    currentNodeOptions: interpretFlags(splitNodeOptions(process.env.NODE_OPTIONS)),
    initialNodeOptions: interpretFlags(splitNodeOptions(initialEnv?.NODE_OPTIONS)),
    initialEnv,
  };
}

/** `--import wirelock/register` (this installation's) is among the process's preloads. */
function registeredFirst(facts: ProcessFacts): boolean {
  const sources = [facts.flags, facts.currentNodeOptions, facts.initialNodeOptions, facts.startupFileOptions];
  // Other ways to run code before the preloads than the flags preloadFindings names: a config file
  // (Node 24: its "nodeOptions" can hold imports), an env file (it can set NODE_OPTIONS), a snapshot.
  if (sources.some((parsed) => parsed.all.some((flag) => CODE_BEFORE_PRELOADS.test(canonicalOption(flag).name)))) return false;
  return sources.some((parsed) =>
    parsed.preloads.some((preload) => preload.flag === '--import' && isWirelockRegister(preload.value, ownRegisterPaths, (value) => resolvePath(value))),
  );
}
const CODE_BEFORE_PRELOADS = /^--(experimental-(default-)?config-file|env-file|env-file-if-exists|snapshot-blob|build-snapshot)$/;

/**
 * True when wirelock is known to have loaded before any other code of this process (see
 * collectFindings): `--import wirelock/register` with no other preload, and none of `findings`
 * says otherwise. Module customization hooks (`module.register`, `--loader`) load Node's
 * internal/modules/esm/hooks: where that happened, something registered hooks, whatever the flags say.
 */
export function loadedBeforeAnyCode(findings: readonly RuntimeFinding[], known?: ProcessFacts): boolean {
  let facts: ProcessFacts;
  try {
    facts = known ?? processFacts();
  } catch {
    return false;
  }
  const moduleLoadList = (process as { moduleLoadList?: unknown }).moduleLoadList;
  return (
    registeredFirst(facts) &&
    !findings.some((finding) => EARLY_CODE.has(finding.id)) &&
    Array.isArray(moduleLoadList) &&
    !moduleLoadList.includes('NativeModule internal/modules/esm/hooks')
  );
}

function preloadFindings(facts: ProcessFacts, entries: AllowEntry[], out: RuntimeFinding[]): void {
  const initialNodeOptions = facts.initialNodeOptions;
  const seen = new Set<string>();
  const sources: Array<[string, ParsedFlags]> = [
    ['command line', facts.flags],
    ['NODE_OPTIONS', facts.currentNodeOptions],
    ['NODE_OPTIONS at exec', initialNodeOptions],
    ['env file or config file', facts.startupFileOptions],
  ];
  for (const [source, parsed] of sources) {
    for (const preload of parsed.preloads) {
      const key = `${preload.flag} ${preload.value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (isWirelockRegister(preload.value, ownRegisterPaths, (value) => resolvePath(value))) continue;
      const finding = makeFinding('preload', 'high', `${preload.flag} ${preload.value} runs before the application`, { flag: preload.flag, module: preload.value, source }, preload.value);
      const allowedBy = allowedPreload(entries, preload.value);
      out.push(allowedBy ? downgrade(finding, allowedBy) : finding);
    }
  }
  // A preload that ran and then deleted itself from NODE_OPTIONS (and require.cache) is still in
  // the environment the kernel recorded at exec.
  const current = new Set(facts.currentNodeOptions.preloads.map((p) => `${p.flag} ${p.value}`));
  for (const preload of initialNodeOptions.preloads) {
    if (!current.has(`${preload.flag} ${preload.value}`)) {
      out.push(
        makeFinding('preload-scrubbed', 'critical', `${preload.flag} ${preload.value} was in NODE_OPTIONS at start and has been removed`, {
          module: preload.value,
          initialNodeOptions: facts.initialEnv?.NODE_OPTIONS,
          currentNodeOptions: process.env.NODE_OPTIONS ?? null,
        }, preload.value),
      );
    }
  }
  // Resolution overrides given at start: they decide what `wirelock/register` itself (and every
  // module) resolves to before any code runs, so the name of the preload proves nothing.
  for (const [source, parsed] of sources) {
    for (const flag of parsed.all) {
      const { name } = canonicalOption(flag);
      if (name === '--experimental-package-map' || name === '--experimental-policy') {
        out.push(makeFinding('loader-redirect', 'high', `${name} (${source}) can map any module name, wirelock/register included, to other code`, { flag, source }, name));
      }
    }
  }
  // Judged by the property's descriptor: reading `globalThis.process` would run whatever getter code
  // put there, and a getter can answer this check with Node's object and everyone else with its own.
  const processProperty = pristine.getOwnPropertyDescriptor(loadTime.globalObject, 'process');
  const processReplaced = !processProperty || ('value' in processProperty ? processProperty.value !== realProcess : processProperty.get !== loadTime.processGetter || pristine.apply(processProperty.get!, loadTime.globalObject, []) !== realProcess);
  if (processReplaced) {
    out.push(makeFinding('hooked-api', 'critical', 'globalThis.process is not Node\'s process object: code replaced it with a look-alike', {}, 'globalThis.process'));
  }
  if (facts.cmdlineRewritten) {
    out.push(makeFinding('cmdline-rewritten', 'critical', 'the process title overwrote the command line before wirelock read it: its start-up flags (preloads among them) cannot be checked', { argv0: realProcess.argv0, title: realProcess.title }));
  }
  for (const file of facts.unreadableStartupFiles) {
    out.push(makeFinding('inspection-failed', 'high', `${file}, read by Node at start, cannot be read now: the options it gave cannot be checked`, { file }, file));
  }
  if (facts.cmdlineFlags) {
    // Node writes the default config file's option into execArgv as the explicit form.
    const sameConfig = (flag: string): string => {
      const { name, inline } = canonicalOption(flag);
      return (name === '--experimental-config-file' && inline === undefined) || name === '--experimental-default-config-file' ? `--experimental-config-file=${DEFAULT_CONFIG_FILE}` : flag;
    };
    const actual = new Set(facts.cmdlineFlags.map(sameConfig));
    const reported = new Set(process.execArgv.map(sameConfig));
    const hidden = facts.cmdlineFlags.filter((flag) => !reported.has(sameConfig(flag)));
    const added = process.execArgv.filter((flag) => !actual.has(sameConfig(flag)));
    if (hidden.length > 0 || added.length > 0) {
      out.push(makeFinding('execargv-tampered', 'critical', 'process.execArgv differs from the command line the process was started with', { hidden, added }));
    }
  }
}

function inspectorFindings(facts: ProcessFacts, out: RuntimeFinding[]): void {
  const url = pristine.inspectorUrl?.();
  // NODE_OPTIONS as it was at exec too: a dependency can delete the variable before this runs.
  const flags = [...new Set([...facts.flags.inspect, ...facts.currentNodeOptions.inspect, ...facts.initialNodeOptions.inspect, ...facts.startupFileOptions.inspect])];
  if (url || flags.length > 0) {
    out.push(makeFinding('inspector', 'critical', url ? `the inspector is open at ${url}` : `started with ${flags.join(' ')}`, { url: url ?? null, flags }));
  }
}

/** --expose-internals (command line only; Node refuses it in NODE_OPTIONS) hands out internalBinding. */
function internalsFindings(facts: ProcessFacts, out: RuntimeFinding[]): void {
  const flag = facts.flags.all.find((arg) => canonicalOption(arg).name === '--expose-internals');
  if (flag) {
    out.push(makeFinding('raw-binding', 'critical', `${flag}: any code can reach internalBinding('tcp_wrap') and open sockets no guard sees`, { flag }, '--expose-internals'));
  }
}

function keylogFindings(facts: ProcessFacts, out: RuntimeFinding[]): void {
  for (const file of new Set([...facts.flags.keylog, ...facts.currentNodeOptions.keylog, ...facts.initialNodeOptions.keylog, ...facts.startupFileOptions.keylog])) {
    out.push(makeFinding('tls-keylog', 'critical', `--tls-keylog writes TLS session keys to ${file}`, { file }, '--tls-keylog'));
  }
  for (const name of ['http.globalAgent', 'https.globalAgent'] as const) {
    const agent = (name === 'http.globalAgent' ? real.http : real.https).globalAgent as { listenerCount?: (event: string) => number } | undefined;
    const count = agent?.listenerCount?.('keylog') ?? 0;
    if (count > 0) out.push(makeFinding('tls-keylog', 'critical', `${count} "keylog" listener(s) on ${name} receive every TLS session key`, { listeners: count }, name));
  }
  const keylogFile = process.env.SSLKEYLOGFILE;
  if (keylogFile) {
    out.push(makeFinding('tls-keylog', 'medium', `SSLKEYLOGFILE=${keylogFile} (Node ignores it, native TLS libraries and child processes may not)`, { file: keylogFile }, 'SSLKEYLOGFILE'));
  }
}

interface PinnedCertificate {
  der: Uint8Array;
  /** From wirelock's own DER reader; '' when the certificate cannot be read. */
  pin: string;
}

/** Each certificate's key pin: cheap (~4 ms for a 144-certificate bundle), unlike its subject. */
function pinCertificates(pems: readonly string[]): PinnedCertificate[] {
  return pems.flatMap((pem) =>
    pemBlocks(pem).map((der) => {
      try {
        return { der, pin: certificatePin(der) };
      } catch {
        return { der, pin: '' };
      }
    }),
  );
}

/** The subject costs an X509Certificate (~25 ms for a bundle): read only for certificates a finding lists. */
function subjectOf(cert: PinnedCertificate): { subject: string; pin: string } {
  try {
    return { subject: new X509Certificate(cert.der).subject.replace(/\n/g, ', '), pin: cert.pin };
  } catch {
    return { subject: '(unparseable)', pin: cert.pin };
  }
}

function describeCertificates(pems: readonly string[]): Array<{ subject: string; pin: string }> {
  return pinCertificates(pems).map(subjectOf);
}

let extraFileCache: { text: string; certificates: PinnedCertificate[] } | undefined;
/**
 * NODE_EXTRA_CA_CERTS is often a whole distribution bundle, read at every start under register:
 * pinned once per content, and only as far as the verdict needs (subjects only for those listed).
 */
function pinFileOnce(text: string): PinnedCertificate[] {
  if (extraFileCache?.text !== text) extraFileCache = { text, certificates: pinCertificates([text]) };
  return extraFileCache.certificates;
}

function bundledCas(): readonly string[] | undefined {
  try {
    return pristine.getCACertificates ? pristine.apply(pristine.getCACertificates, real.tls, ['bundled']) : undefined;
  } catch {
    return undefined;
  }
}

const storeExtrasCache = new WeakMap<readonly string[], Array<{ subject: string; pin: string }>>();
/** Certificates of the default store that are not bundled; cached per list (Node caches the list). */
function defaultStoreExtras(current: readonly string[], bundled: readonly string[]): Array<{ subject: string; pin: string }> {
  let extras = storeExtrasCache.get(current);
  if (!extras) {
    const bundledSet = new Set(bundled);
    // The system store lists a certificate once per hash link: count each key once.
    const seen = new Set<string>();
    extras = describeCertificates(current.filter((pem) => !bundledSet.has(pem))).filter((cert) => !seen.has(cert.pin) && Boolean(seen.add(cert.pin)));
    storeExtrasCache.set(current, extras);
  }
  return extras;
}

let bundledPinSet: Set<string> | undefined;
/** Pins of Node's bundled roots: only the keys are compared, so no subject (OpenSSL parse) is built. */
function bundledPins(): Set<string> {
  bundledPinSet ??= new Set(pinCertificates(real.tls.rootCertificates).map((cert) => cert.pin));
  return bundledPinSet;
}

function caFindings(facts: ProcessFacts, allow: AllowList, out: RuntimeFinding[]): void {
  // Each finding is built by a nested function called only when its condition holds: this runs at
  // every register start, and V8 compiles a function's own code on its first call but not the
  // nested functions it does not call (with no CA setting, about 3 KB less to compile).
  const trusted = new Set(allow.trustedCas ?? []);
  const judge = function (finding: RuntimeFinding, certificates: Array<{ pin: string }>): RuntimeFinding {
    return certificates.length > 0 && certificates.every((cert) => trusted.has(cert.pin)) ? downgrade(finding, 'trustedCas') : finding;
  };

  const extraFile = process.env.NODE_EXTRA_CA_CERTS ?? facts.initialEnv?.NODE_EXTRA_CA_CERTS;
  if (extraFile) extraCaFinding(extraFile);
  // Node >= 22.15 / 24 can say what it trusts: whatever the default store holds beyond the bundled
  // roots and NODE_EXTRA_CA_CERTS came from the system store (--use-system-ca) or was injected.
  const defaultStore = safeDefaultCas();
  const bundledList = bundledCas();
  if (defaultStore && bundledList) defaultStoreFinding(defaultStore, bundledList);
  const stores = [...new Set([...facts.flags.caStore, ...facts.currentNodeOptions.caStore])];
  for (const flag of stores) {
    out.push(makeFinding('system-ca', 'medium', `${flag}: unprotected clients trust the operating system's CA store`, { flag }, flag));
  }
  for (const name of ['SSL_CERT_FILE', 'SSL_CERT_DIR']) {
    const value = process.env[name];
    if (value) sslCertFinding(name, value);
  }
  const current = safeDefaultCas();
  if (current && defaultCasReplaced(current)) injectedListFinding(current, defaultCasAtLoad());
  for (const name of ['http.globalAgent', 'https.globalAgent'] as const) {
    const agent = (name === 'http.globalAgent' ? real.http : real.https).globalAgent as { options?: { ca?: unknown } } | undefined;
    const ca = agent?.options?.ca;
    if (ca !== undefined && ca !== null) agentCaFinding(name, ca);
  }

  function extraCaFinding(extraFile: string): void {
    const text = readText(extraFile);
    const all = text === undefined ? [] : pinFileOnce(text);
    // Certificates Node already ships add no trust; only the others widen what is accepted.
    const bundled = bundledPins();
    const certificates = all.filter((cert) => !bundled.has(cert.pin));
    const severity: Severity = text !== undefined && certificates.length === 0 ? 'info' : 'medium';
    out.push(
      judge(
        makeFinding('extra-ca', severity, `NODE_EXTRA_CA_CERTS adds ${certificates.length} CA certificate(s) beyond Node's bundled roots that unprotected clients trust`, {
          file: extraFile,
          readable: text !== undefined,
          certificatesInFile: all.length,
          alreadyBundled: all.length - certificates.length,
          certificates: certificates.slice(0, 20).map(subjectOf),
          ...(certificates.length > 20 ? { truncated: certificates.length - 20 } : {}),
        }, 'NODE_EXTRA_CA_CERTS'),
        certificates,
      ),
    );
  }
  function defaultStoreFinding(defaultStore: readonly string[], bundledList: readonly string[]): void {
    // Usually the default store is exactly the bundled list: then nothing is parsed (O(root store)
    // work at every start on Node 24 otherwise).
    const extras = defaultStoreExtras(defaultStore, bundledList);
    const explained = extras.length === 0 ? new Set<string>() : new Set([...bundledPins(), ...(extraFile ? pinFileOnce(readText(extraFile) ?? '').map((cert) => cert.pin) : [])]);
    const others = extras.filter((cert) => !explained.has(cert.pin));
    if (others.length > 0) {
      out.push(
        judge(
          makeFinding('system-ca', 'medium', `Node's default CA store trusts ${others.length} certificate(s) beyond its bundled roots and NODE_EXTRA_CA_CERTS`, {
            certificates: others.slice(0, 20),
            ...(others.length > 20 ? { truncated: others.length - 20 } : {}),
          }, 'default-store'),
          others,
        ),
      );
    }
  }
  function sslCertFinding(name: string, value: string): void {
    const severity: Severity = stores.includes('--use-openssl-ca') ? 'medium' : 'low';
    out.push(makeFinding('system-ca', severity, `${name}=${value} names the CA store OpenSSL trusts`, { value, useOpensslCa: severity === 'medium' }, name));
  }
  function injectedListFinding(current: readonly string[], atLoad: readonly string[]): void {
    const before = new Set(atLoad);
    const added = describeCertificates(current.filter((pem) => !before.has(pem)));
    out.push(
      judge(
        makeFinding('ca-injected', 'critical', `the default CA list was replaced at run time (tls.setDefaultCACertificates): ${added.length} certificate(s) added`, { added, removed: atLoad.length - (current.length - added.length) }, 'tls.setDefaultCACertificates'),
        added,
      ),
    );
  }
  function agentCaFinding(name: 'http.globalAgent' | 'https.globalAgent', ca: unknown): void {
    const pems = (Array.isArray(ca) ? ca : [ca]).map((item) => (typeof item === 'string' ? item : Buffer.isBuffer(item) ? item.toString('latin1') : ''));
    const bundled = bundledPins();
    const all = describeCertificates(pems);
    const certificates = all.filter((cert) => !bundled.has(cert.pin));
    out.push(
      judge(
        makeFinding('ca-injected', 'high', `${name}.options.ca replaces the CA list: ${certificates.length} certificate(s) beyond Node's bundled roots`, { certificates: certificates.slice(0, 20), total: all.length }, `${name}.options.ca`),
        certificates,
      ),
    );
  }
}

function hostPortOf(value: string): string | undefined {
  try {
    const url = new URL(value.includes('://') ? value : `http://${value}`);
    return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return undefined;
  }
}

function proxyFindings(facts: ProcessFacts, allow: AllowList, out: RuntimeFinding[]): void {
  const allowed = new Set((allow.proxies ?? []).map(hostPortOf).filter(Boolean));
  const envProxy = facts.flags.useEnvProxy || facts.currentNodeOptions.useEnvProxy || process.env.NODE_USE_ENV_PROXY === '1';
  for (const name of PROXY_VARIABLES) {
    const value = process.env[name];
    if (!value) continue;
    // A proxy URL often carries its password: findings are printed and reported, the password never.
    const shown = redactCredentials(value);
    const finding = makeFinding('proxy-env', envProxy ? 'high' : 'medium', `${name}=${shown} sends traffic of proxy-aware clients through a proxy`, { value: shown, nodeUsesEnvProxy: envProxy }, name);
    const target = hostPortOf(value);
    out.push(target && allowed.has(target) ? downgrade(finding, 'proxies') : finding);
  }
  const globalAgentState = (globalThis as { GLOBAL_AGENT?: Record<string, unknown> }).GLOBAL_AGENT;
  if (globalAgentState) {
    out.push(
      makeFinding('global-agent', 'high', 'global-agent is bootstrapped: http(s) requests go through its proxy agent', {
        HTTP_PROXY: typeof globalAgentState.HTTP_PROXY === 'string' ? redactCredentials(globalAgentState.HTTP_PROXY) : globalAgentState.HTTP_PROXY ?? null,
        HTTPS_PROXY: typeof globalAgentState.HTTPS_PROXY === 'string' ? redactCredentials(globalAgentState.HTTPS_PROXY) : globalAgentState.HTTPS_PROXY ?? null,
      }),
    );
  }
}

function tlsVerificationFindings(facts: ProcessFacts, out: RuntimeFinding[]): void {
  const current = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  const initial = facts.initialEnv?.NODE_TLS_REJECT_UNAUTHORIZED;
  if (current === '0' || initial === '0') {
    out.push(
      makeFinding('tls-verification-disabled', 'critical', 'NODE_TLS_REJECT_UNAUTHORIZED=0: unprotected TLS clients accept any certificate', {
        current: current ?? null,
        atExec: initial ?? null,
        setAtRunTime: current === '0' && initial !== '0',
      }),
    );
  }
}

/** Origin of what an object's class and key method are, for agents and dispatchers. */
function objectOrigin(value: object, method: string, originOf: (value: unknown) => FunctionOrigin, own: ReadonlySet<unknown>): { ctor: string; origin: FunctionOrigin; methodOrigin: FunctionOrigin } {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  const ctor = proto?.constructor;
  const methodValue = (value as Record<string, unknown>)[method];
  // lockdown's own guard on Agent.prototype.createConnection counts as Node's.
  const methodOrigin: FunctionOrigin = own.has(methodValue) || isWirelockValue(methodValue) ? { kind: 'builtin', url: 'wirelock lockdown' } : originOf(methodValue);
  return { ctor: typeof ctor?.name === 'string' ? ctor.name : '?', origin: originOf(ctor), methodOrigin };
}

function hookFindings(options: InspectOptions, entries: AllowEntry[], originOf: ((value: unknown) => FunctionOrigin) | undefined, out: RuntimeFinding[], snapshot?: SlotSnapshot): void {
  const own = options.ownValues ?? new Set<unknown>();
  for (const slot of SLOTS) {
    const getter = snapshot ? snapshot.getters.get(slot.name) : slotGetter(slot);
    if (getter && getter !== loadTimeGetter(slot.name) && !own.has(getter) && !isWirelockValue(getter)) {
      // A getter that is not the one the slot had when wirelock loaded is a finding whatever URL it
      // claims: only an allow-listed tool located by its real file is accepted.
      const origin: FunctionOrigin = originOf ? originOf(getter) : { kind: 'unknown' };
      const url = responsibleUrl(origin);
      const finding = makeFinding('hooked-api', 'high', `${slot.name} is an accessor installed after wirelock loaded: ${describeOrigin(origin)}`, {
        origin: origin.kind,
        defined: describeOrigin(origin),
        accessor: true,
        url: url ?? null,
        package: packageOf(url) ?? null,
      }, slot.name);
      const allowedBy = allowedOrigin(entries, origin);
      out.push(allowedBy ? downgrade(finding, allowedBy) : finding);
      if (!allowedBy) continue;
    }
    const value = snapshot ? snapshot.values.get(slot.name) : readSlot(slot);
    if (own.has(value) || isWirelockValue(value)) continue;
    const changed = value !== loadTimeValue(slot.name);
    if (slot.kind === 'function') {
      if (value === undefined) continue;
      const origin: FunctionOrigin = originOf ? originOf(value) : pristine.isProxy(value) ? { kind: 'proxy' } : { kind: changed ? 'unknown' : 'builtin' };
      // Unchanged since wirelock loaded and really Node's (by facts the code cannot choose: see
      // origin.ts): not a hook. A changed slot is a finding even when it holds another of Node's
      // functions (https.request swapped for http.request).
      // V8's own functions (Function.prototype.call) have no script: native, and unchanged, is fine.
      if ((origin.kind === 'builtin' || origin.kind === 'native') && !changed) continue;
      const url = responsibleUrl(origin);
      const title = origin.kind === 'builtin' ? `${slot.name} was replaced by another of Node's functions: ${describeOrigin(origin)}` : `${slot.name} is not Node's own: ${describeOrigin(origin)}`;
      const finding = makeFinding('hooked-api', 'high', title, {
        origin: origin.kind,
        defined: describeOrigin(origin),
        url: url ?? null,
        package: packageOf(url) ?? null,
        changedSinceWirelockLoaded: changed,
      }, slot.name);
      const allowedBy = allowedOrigin(entries, origin);
      out.push(allowedBy ? downgrade(finding, allowedBy) : finding);
    } else if (value !== undefined && value !== null && typeof value === 'object') {
      const method = slot.kind === 'dispatcher' ? 'dispatch' : 'createConnection';
      const described = originOf ? objectOrigin(value, method, originOf, own) : undefined;
      const judged = described ? [described.origin, described.methodOrigin] : [];
      const builtin = described ? judged.every((origin) => origin.kind === 'builtin') : !changed;
      if (builtin) continue;
      const url = judged.map(responsibleUrl).find(Boolean);
      const evidence = {
        class: described?.ctor ?? null,
        defined: described ? describeOrigin(described.origin) : 'changed since wirelock loaded',
        [method]: described ? describeOrigin(described.methodOrigin) : null,
        url: url ?? null,
        package: packageOf(url) ?? null,
      };
      let finding: RuntimeFinding;
      if (slot.kind === 'dispatcher') {
        // npm undici's plain Agent is a common, harmless app choice (timeouts, pools); a proxy,
        // mock or unknown class changes where requests go.
        // npm undici installs exactly such an Agent when it is first imported (wirelock imports it).
        const plainAgent =
          described?.ctor === 'Agent' &&
          described.origin.fileVerified === true &&
          described.methodOrigin.fileVerified === true &&
          /\/node_modules\/undici\/lib\/dispatcher\/agent\.js$/.test(responsibleUrl(described.origin) ?? '') &&
          /\/node_modules\/undici\/lib\/dispatcher\/[a-z-]+\.js$/.test(responsibleUrl(described.methodOrigin) ?? '');
        if (plainAgent) continue;
        finding = makeFinding('dispatcher-swapped', 'high', `fetch's global dispatcher is a ${evidence.class} from ${evidence.package ?? evidence.defined}`, evidence, slot.name);
      } else {
        finding = makeFinding('agent-replaced', 'high', `${slot.name} is a ${evidence.class} from ${evidence.package ?? evidence.defined}`, evidence, slot.name);
      }
      // The class and the method that runs must both come from the allow-listed tool.
      const allowedBy = allowedOrigin(entries, ...judged);
      out.push(allowedBy ? downgrade(finding, allowedBy) : finding);
    }
  }
}

function channelFindings(entries: AllowEntry[], out: RuntimeFinding[]): void {
  const subscribed = NETWORK_CHANNELS.filter((name) => pristine.hasSubscribers(name));
  if (subscribed.length === 0) return;
  const finding = makeFinding('channel-subscriber', 'low', `code subscribes to ${subscribed.length} network diagnostics channel(s)`, { channels: subscribed });
  // Subscribers cannot be attributed; an allow-listed APM agent explains them.
  const apm = entries.find((entry) => entry.ids?.includes('channel-subscriber'));
  out.push(apm ? downgrade(finding, apm.name) : finding);
}

function nativeFindings(facts: ProcessFacts, limits: string[], out: RuntimeFinding[]): void {
  for (const name of ['LD_PRELOAD', 'DYLD_INSERT_LIBRARIES'] as const) {
    const current = process.env[name];
    const initial = facts.initialEnv?.[name];
    const value = current || initial;
    if (value) out.push(makeFinding('ld-preload', 'critical', `${name}=${value} loads a shared library into the process`, { current: current ?? null, atExec: initial ?? null }, name));
  }
  const ldSoPreload = readText('/etc/ld.so.preload');
  const entries = (ldSoPreload ?? '').split(/\s+/).filter((line) => line && !line.startsWith('#'));
  if (entries.length > 0) out.push(makeFinding('ld-preload', 'critical', `/etc/ld.so.preload loads ${entries.join(', ')} into every process`, { libraries: entries }, '/etc/ld.so.preload'));

  const maps = readText('/proc/self/maps');
  if (maps === undefined) {
    if (process.platform === 'linux') limits.push('/proc/self/maps unreadable: injected libraries not checked');
  } else {
    const libraries = new Set<string>();
    // One pass over the whole text first (a pure prefilter): the per-line pass, a regex per mapping,
    // cost ~1 ms at every start for a process that maps nothing suspicious.
    for (const line of INJECTED_LIBRARY.test(maps) ? maps.split('\n') : []) {
      const path = line.slice(line.indexOf('/'));
      if (line.includes('/') && INJECTED_LIBRARY.test(path)) libraries.add(path.trim());
    }
    if (libraries.size > 0) out.push(makeFinding('injected-library', 'critical', `instrumentation libraries are mapped: ${[...libraries].join(', ')}`, { libraries: [...libraries] }));
  }
  const status = readText('/proc/self/status');
  if (status === undefined) {
    if (process.platform === 'linux') limits.push('/proc/self/status unreadable: tracers not checked');
  } else {
    const tracer = Number(/^TracerPid:\s*(\d+)/m.exec(status)?.[1] ?? 0);
    // What the gate's tracerPid() would read now: lockdown's start reads the file once, not twice.
    noteTracerPid(tracer);
    if (tracer > 0) {
      const comm = readText(`/proc/${tracer}/comm`)?.trim();
      out.push(makeFinding('tracer', 'critical', `process ${tracer}${comm ? ` (${comm})` : ''} is tracing this process`, { pid: tracer, command: comm ?? null }));
    }
  }
}

const statusBuffer = loadTime.allocBuffer(8192);
// Taken at load, like the other functions checks rely on; and not the global `performance`, whose
// first use loads node:perf_hooks at every start.
const hrtime = loadTime.hrtime;
let tracerCheckedAt = -Infinity;
let lastTracerPid = 0;
/**
 * TracerPid of this process, re-read at most every `maxAgeMs` (a raw read of /proc/self/status
 * costs ~15 µs): cheap enough for the per-connection gate, so a debugger or frida attaching after
 * start is noticed at the next connection.
 */
const nowMs = (): number => {
  const [seconds, nanoseconds] = hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
};
function noteTracerPid(pid: number): void {
  tracerCheckedAt = nowMs();
  lastTracerPid = pid;
}
export function tracerPid(maxAgeMs = 100): number {
  const now = nowMs();
  if (now - tracerCheckedAt < maxAgeMs) return lastTracerPid;
  tracerCheckedAt = now;
  lastTracerPid =
    readOpenFile('/proc/self/status', (fd) => {
      const length = pristine.readSync(fd, statusBuffer, 0, statusBuffer.length, 0);
      return Number(/TracerPid:\s*(\d+)/.exec(pristine.apply(pristine.latin1Slice, statusBuffer, [0, length]))?.[1] ?? 0);
    }) ?? 0;
  return lastTracerPid;
}

/**
 * Every synchronous check. `originOf` comes from one inspector session for all slots, so the
 * ~30 ms of Debugger.enable is paid once per inspection.
 */
export function collectFindings(options: InspectOptions = {}, limits: string[] = []): RuntimeFinding[] {
  const allow = options.allow ?? {};
  const entries = resolveAllowEntries(allow.hookers);
  const out: RuntimeFinding[] = [];
  let facts: ProcessFacts;
  try {
    facts = processFacts();
    options.onFacts?.(facts);
  } catch (error) {
    out.push(makeFinding('inspection-failed', 'critical', `reading the process's flags and environment failed: ${(error as Error)?.message ?? String(error)}`, { check: 'process' }, 'process'));
    facts = { flags: interpretFlags([]), cmdlineFlags: undefined, cmdlineRewritten: false, currentNodeOptions: interpretFlags([]), initialNodeOptions: interpretFlags([]), startupFileOptions: interpretFlags([]), unreadableStartupFiles: [], initialEnv: undefined };
  }
  if (!facts.cmdlineFlags && !facts.cmdlineRewritten && process.platform === 'linux') limits.push('/proc/self/cmdline unreadable: flags taken from process.execArgv');
  if (!facts.initialEnv && process.platform === 'linux') limits.push('/proc/self/environ unreadable: scrubbed NODE_OPTIONS not detectable');
  if (process.platform !== 'linux') limits.push(`${process.platform}: no /proc; start-up environment, tracers and mapped libraries not checked`);
  // One check that throws (a hostile getter, an odd /proc) must not hide the others, and is
  // itself reported: whoever can make inspection fail can hide behind it.
  const run = function (name: string, check: () => void): void {
    try {
      check();
    } catch (error) {
      out.push(makeFinding('inspection-failed', 'critical', `the ${name} check failed: ${(error as Error)?.message ?? String(error)}`, { check: name, error: String((error as Error)?.stack ?? error).split('\n').slice(0, 4).join('\n') }, name));
    }
  };
  run('preload', () => preloadFindings(facts, entries, out));
  run('inspector', () => inspectorFindings(facts, out));
  run('keylog', () => keylogFindings(facts, out));
  run('internals', () => internalsFindings(facts, out));
  run('ca', () => caFindings(facts, allow, out));
  run('tls-verification', () => tlsVerificationFindings(facts, out));
  run('proxy', () => proxyFindings(facts, allow, out));
  run('native', () => nativeFindings(facts, limits, out));
  const useOrigins = options.origins !== false && originAvailable;
  if (!useOrigins) limits.push('inspector unavailable: hooks installed before wirelock loaded are not detectable');
  // The cheap proof (origin.ts) settles Node's own functions without Debugger.enable only where
  // wirelock is known to have loaded before any other code: `--import wirelock/register` with no
  // other preload, debugger, injected native code or failed check. An app that calls lockdown()
  // itself has run its own imports first: there every function gets the full check.
  const fast = registeredFirst(facts) && !out.some((finding) => EARLY_CODE.has(finding.id));
  if (fast && useOrigins && options.deferProof) {
    const snapshot: SlotSnapshot = { values: new Map(SLOTS.map((slot) => [slot.name, readSlot(slot)])), getters: new Map(SLOTS.map((slot) => [slot.name, slotGetter(slot)])) };
    // Function expressions, not arrows, here and below: collectFindings is compiled at every register
    // start, and V8 parses a nested arrow again where it skips a pre-parsed function.
    options.deferProof(function () {
      const proved: RuntimeFinding[] = [];
      try {
        withOrigins((originOf) => hookFindings(options, entries, originOf, proved, snapshot), { fast: true, prefetch: [...snapshot.values.values()] });
      } catch (error) {
        proved.push(makeFinding('inspection-failed', 'critical', `the hooks check failed: ${(error as Error)?.message ?? String(error)}`, { check: 'hooks', error: String((error as Error)?.stack ?? error).split('\n').slice(0, 4).join('\n') }, 'hooks'));
      }
      return proved;
    });
  } else {
    run('hooks', function () {
      if (useOrigins) withOrigins((originOf) => hookFindings(options, entries, originOf, out), { fast, prefetch: SLOTS.map(readSlot) });
      else hookFindings(options, entries, undefined, out);
    });
  }
  run('intrinsics', function () {
    for (const name of changedIntrinsics()) {
      out.push(makeFinding('hooked-api', 'high', `${name} was replaced after wirelock loaded: wirelock's checks compute with it`, { builtin: name }, name));
    }
  });
  run('channels', () => channelFindings(entries, out));
  return sortFindings(out);
}

export function sortFindings(findings: RuntimeFinding[]): RuntimeFinding[] {
  return findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.key.localeCompare(b.key));
}

/**
 * Module loader hooks (module.register) can serve a fake `node:https` to `import` while
 * getBuiltinModule still returns the real one; `require` can be redirected by patching the CJS
 * loader. Both are compared with the real objects.
 */
export async function loaderFindings(options: { esm?: boolean } = {}): Promise<RuntimeFinding[]> {
  const out: RuntimeFinding[] = [];
  const require = createRequire(import.meta.url);
  for (const name of ['http', 'https', 'tls', 'net'] as const) {
    const id = `node:${name}`;
    const expected = real[name];
    let imported: unknown = expected;
    // `esm: false` (lockdown's start when wirelock provably loaded first, so no hook can have been
    // registered yet): import() of a built-in builds its ES module facade, which reads every export
    // and loads what lazy getters hide (on Node 24 Node's own undici, readline, zlib: ~20 ms).
    if (options.esm !== false) {
      try {
        imported = ((await import(id)) as { default?: unknown }).default;
      } catch (error) {
        imported = error;
      }
    }
    let required: unknown;
    try {
      required = require(id);
    } catch (error) {
      required = error;
    }
    const redirected = [imported !== expected ? 'import' : undefined, required !== expected ? 'require' : undefined].filter(Boolean);
    if (redirected.length > 0) {
      out.push(makeFinding('loader-redirect', 'critical', `${redirected.join(' and ')} of ${id} do not return Node's built-in module`, { module: id, via: redirected }, id));
    }
  }
  return out;
}

/**
 * A report of everything in this process that can read or redirect network traffic before
 * wirelock (or any TLS client) sees it: preloads, loader hooks, hooked APIs, CA and proxy
 * settings, the inspector, key logging, injected libraries and tracers.
 */
export async function inspectEnvironment(options: InspectOptions = {}): Promise<EnvironmentReport> {
  const limits: string[] = [];
  const findings = collectFindings(options, limits);
  findings.push(...(await loaderFindings()));
  return { findings: sortFindings(findings), limits, node: process.version, platform: process.platform, checkedAt: new Date().toISOString() };
}
