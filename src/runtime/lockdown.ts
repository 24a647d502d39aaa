import type { LookupFunction, Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { WirelockError } from '../errors.js';
import { findDomainPolicy, isLoopbackHost, normalizeHost } from '../policy/match.js';
import type { Policy } from '../policy/types.js';
import { createDeferredDispatcher } from '../transport/dispatcher.js';
import { PolicyEngine, type TransportOptions } from '../transport/engine.js';
import { reportSender } from '../transport/fetch.js';
import { buildRuntimeFindingReport } from '../transport/report.js';
import { cleartextHttpRefusal, guardRequestTargets } from '../transport/target.js';
import { undici } from '../transport/undici.js';
import { codeRoot } from '../location.js';
import { CHANNELS_RUNTIME } from './channels.js';
import { SLOTS, loadTime, pristine, readSlot, real, realProcess, safeDefaultCas, slotGetter, takeGuardedOriginal, type Slot } from './builtins.js';
import { downgrade, isBlocking, makeFinding, packageOf, resolveAllowEntries, severityRank, type AllowList, type RuntimeFinding, type Severity } from './findings.js';
import { allowedOrigin, describeOrigin, guardInspectorSessions, originAvailable, responsibleUrl, withOrigins, type FunctionOrigin } from './origin.js';
import { wirelockValues } from './own.js';
import { NETWORK_CHANNELS, collectFindings, loadedBeforeAnyCode, loaderFindings, tracerPid, type ProcessFacts } from './inspect.js';

// Node's process object as the module loader handed it over: `process` is a global any code can
// replace after lockdown (a look-alike whose env or execArgv the checks would then read).
const process = realProcess;

// Taken when wirelock loads (builtins.ts, through process.getBuiltinModule), not when this module is
// compiled.
const { syncBuiltinESMExports } = loadTime;
// Node's originals of what the guards below replace, handed to this module alone (builtins.ts).
const processBinding = takeGuardedOriginal('processBinding');
const systemDnsLookup = takeGuardedOriginal('dnsLookup');

// The in-process inspector guard (origin.ts) is installed once; it asks the lockdown in force.
let inspectorGuardInstalled = false;
let inspectorJudge: ((method: string) => void) | undefined;

export type OnTamper = 'block' | 'report';

export interface LockdownOptions extends TransportOptions {
  /** "block" (default): once a finding at or above `blockAt` is seen, every new connection fails with ERR_ENV_COMPROMISED. */
  onTamper?: OnTamper;
  /** Lowest severity that blocks (default "high"). */
  blockAt?: Severity;
  /** Known benign hookers, corporate CAs and proxies. */
  allow?: AllowList;
  /** Called once per new finding (start-up findings included). */
  onFinding?: (finding: RuntimeFinding) => void;
  /** Use the inspector to attribute hooks (default true). */
  origins?: boolean;
  /**
   * Opt-in hardening: the watched slots, the network modules and the prototypes on the data path
   * become non-configurable, so `Object.defineProperty` hooks fail outright and assignments go
   * through the judged setter. Irreversible: a frozen lockdown cannot be released. See
   * docs/runtime.md for what it breaks.
   */
  freeze?: boolean;
}

export interface Lockdown {
  readonly policy: Policy;
  readonly onTamper: OnTamper;
  /** Settles when the asynchronous checks (module loader redirection) have run. */
  readonly ready: Promise<void>;
  /** Every finding so far, most severe first. */
  findings(): RuntimeFinding[];
  /** The finding that blocks connections, if any (also in report mode: what would block). */
  blockingFinding(): RuntimeFinding | undefined;
  /**
   * What every new connection runs: compares the cheap signals, re-inspects if one changed, and
   * returns the finding that blocks (under "block") or undefined. Call it before a sensitive
   * operation that opens no connection (signing, reading a secret).
   */
  check(): RuntimeFinding | undefined;
  /** Runs every check now (normally done only when a cheap signal changes). */
  recheck(): RuntimeFinding[];
  /**
   * Puts back what lockdown replaced. Tests and benchmarks use it; apps normally never do. Only the
   * handle `lockdown()` returned can release; through `activeLockdown()` it is a tamper attempt.
   */
  release(): void;
}

let active: Lockdown | undefined;

/** Bindings whose handles open sockets or resolve names without going through net, tls or dns. */
const NETWORK_BINDINGS = new Set(['tcp_wrap', 'tls_wrap', 'udp_wrap', 'cares_wrap', 'pipe_wrap', 'stream_wrap', 'js_stream']);

function keylogListeners(agent: unknown): number {
  const count = (agent as { listenerCount?: unknown } | undefined)?.listenerCount;
  return typeof count === 'function' ? (pristine.apply(count, agent, ['keylog']) as number) : 0;
}

export function activeLockdown(): Lockdown | undefined {
  return active;
}

type Callback = (...args: unknown[]) => void;

/**
 * A plain, prototype-less copy of caller-owned connect options, each property read exactly once.
 * The guard checks this copy and hands Node this same copy, so a getter, a Proxy or a polluted
 * prototype cannot answer the check one way and Node another. Inherited properties are copied too
 * (Node's net reads them), up to Object.prototype, which Node's own copies do not consult either.
 */
function snapshotOptions(value: object): Record<string, unknown> {
  const keys = new Set<PropertyKey>();
  for (let layer: object | null = value; layer && layer !== Object.prototype; layer = Reflect.getPrototypeOf(layer)) {
    for (const key of Reflect.ownKeys(layer)) keys.add(key);
  }
  const copy = Object.create(null) as Record<PropertyKey, unknown>;
  for (const key of keys) copy[key] = (value as Record<PropertyKey, unknown>)[key];
  // Names reach Node as the string that was checked (an object's toString could change its answer).
  for (const key of ['host', 'hostname', 'servername', 'path']) {
    const field = copy[key];
    if (field !== undefined && field !== null && typeof field === 'object') copy[key] = String(field);
  }
  // Read by Node inside tls.connect: a Proxy array would run the caller's code there.
  if (copy.ALPNProtocols !== undefined && copy.ALPNProtocols !== null && typeof copy.ALPNProtocols === 'object' && !ArrayBuffer.isView(copy.ALPNProtocols)) {
    copy.ALPNProtocols = Array.from(copy.ALPNProtocols as ArrayLike<unknown>);
  }
  return copy as Record<string, unknown>;
}

/**
 * tls.connect / net.Socket#connect argument forms: (options[, cb]), (port[, host][, options][, cb]),
 * (path[, options][, cb]), or the array net's own normalizeArgs returns. `options` is the snapshot
 * that must then be passed on instead of the caller's arguments.
 */
function normalizeConnectArgs(args: unknown[]): { options: Record<string, unknown>; callback: Callback | undefined } {
  let index = 0;
  let options: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const first = args[0];
  if (Array.isArray(first)) return normalizeConnectArgs(Array.from(first));
  if (first !== null && typeof first === 'object') {
    options = snapshotOptions(first);
    index = 1;
  } else if (typeof first === 'number' || (typeof first === 'string' && Number(first) >= 0)) {
    // Node's own rule (net isPipeName): any string Number() reads as >= 0 is a port, so
    // '0x1bb' and ' 443' connect to port 443; only other strings are socket paths.
    options.port = first;
    index = 1;
    if (typeof args[1] === 'string') {
      options.host = args[1];
      index = 2;
    }
  } else if (typeof first === 'string') {
    options.path = first;
    index = 1;
  }
  const next = args[index];
  if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
    const positional = options;
    options = snapshotOptions(next);
    Object.assign(options, positional);
    index++;
  }
  const callback = typeof args[index] === 'function' ? (args[index] as Callback) : undefined;
  return { options, callback };
}

/** What runs when a slot's value is used: the function, or an agent's/dispatcher's class and key method. */
function subjectsOf(slot: Slot, value: unknown): unknown[] {
  if (slot.kind === 'function') return [value];
  if (value === null || typeof value !== 'object') return [value];
  const method = slot.kind === 'dispatcher' ? 'dispatch' : 'createConnection';
  return [(Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor, (value as Record<string, unknown>)[method]];
}

/** A socket that never connects and fails with `error` on the next tick, for APIs that must return one. */
function refusedSocket(error: Error): Socket {
  const socket = new pristine.NetSocket();
  pristine.nextTick(() => socket.destroy(error));
  return socket;
}

/** The first stack frame outside wirelock and Node, for evidence of who did something. */
const wirelockRoot = codeRoot;
function callerOutsideWirelock(): string | undefined {
  // Evidence only, and never in the way of the finding it goes into: reading a stack runs the
  // process's Error.prepareStackTrace, which the code being reported may have made throw.
  try {
    const stack = String(new Error().stack ?? '').split('\n').slice(1);
    for (const line of stack) {
      if (line.includes(wirelockRoot.href) || line.includes(`(${wirelockRoot.pathname}`) || line.includes('(node:') || line.includes(' node:')) continue;
      const match = /\(?((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?\s*$/.exec(line);
      if (match) return `${match[1]}:${match[2]}:${match[3]}`;
    }
  } catch {
    // No caller, then.
  }
  return undefined;
}

const TCHAR = /^[!#$%&'*+.^_`|~0-9A-Za-z-]/;
/** Bytes that may start an HTTP method (RFC 9110 tchar), as a table: a write's first byte is tested without allocating. */
const TCHAR_BYTES = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) TCHAR_BYTES[byte] = TCHAR.test(String.fromCharCode(byte)) ? 1 : 0;

/**
 * The first line of a write as it goes on the wire (latin1), or undefined when it cannot start an
 * HTTP request (no line end within 8 KiB, or a first byte that is no token character).
 */
function wireStart(chunk: unknown, encoding: string): string | undefined {
  let bytes: Buffer;
  if (typeof chunk === 'string') {
    // UTF-16 puts a zero byte after every ASCII character: never an HTTP request line on the wire.
    if (chunk === '' || /^(?:ucs-?2|utf-?16le)$/i.test(encoding)) return undefined;
    if (/^(?:utf-?8|latin1|binary|ascii|buffer)$/i.test(encoding)) {
      // These put an ASCII character on the wire as itself (anything else starts with a byte >= 0x80).
      const first = chunk.charCodeAt(0);
      if (first > 0x7f || !TCHAR_BYTES[first]) return undefined;
      const text = chunk.slice(0, 8192);
      const end = text.indexOf('\n');
      return end < 0 ? undefined : text.slice(0, end + 1);
    }
    try {
      bytes = pristine.apply(pristine.bufferFrom, pristine.Buffer, [chunk.slice(0, 16384), encoding]) as Buffer;
    } catch {
      return undefined;
    }
  } else if (chunk instanceof Uint8Array) {
    if (chunk.byteLength === 0 || !TCHAR_BYTES[chunk[0]!]) return undefined;
    bytes = pristine.apply(pristine.bufferFrom, pristine.Buffer, [chunk.buffer, chunk.byteOffset, Math.min(chunk.byteLength, 8192)]) as Buffer;
  } else {
    return undefined;
  }
  if (bytes.length === 0 || !TCHAR_BYTES[bytes[0]!]) return undefined;
  const end = bytes.subarray(0, 8192).indexOf(10);
  return end < 0 ? undefined : pristine.apply(pristine.latin1Slice, bytes, [0, end + 1]);
}

// Captured at load: code running after lockdown cannot make a JavaScript function print as native.
const functionSource = loadTime.functionToString;
const nativeFunction = (value: unknown, name: string): boolean => typeof value === 'function' && pristine.apply(functionSource, value, []) === `function ${name}() { [native code] }`;

/**
 * Http2Session's prototype (the C++ session handle), reached through a throwaway session on an
 * in-memory stream. `http2.connect` is whatever the module holds now, so the answer is accepted
 * only if it is the prototype of Node's native Http2Session class and has its native `consume`.
 */
function http2SessionPrototype(): Record<string, unknown> | undefined {
  try {
    const http2 = pristine.getBuiltinModule('node:http2') as typeof import('node:http2');
    const Duplex = pristine.StreamDuplex;
    const carrier = new Duplex({
      read() {},
      write(_chunk, _encoding, done) {
        done();
      },
    });
    const session = http2.connect('http://localhost', { createConnection: () => carrier });
    session.on('error', () => undefined);
    const key = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === 'kHandle');
    const handle = key ? (session as unknown as Record<symbol, unknown>)[key] : undefined;
    session.destroy();
    carrier.destroy();
    if (typeof handle !== 'object' || handle === null) return undefined;
    const prototype = Object.getPrototypeOf(handle) as Record<string, unknown> | null;
    const constructor = prototype ? pristine.getOwnPropertyDescriptor(prototype, 'constructor')?.value : undefined;
    const consume = prototype ? pristine.getOwnPropertyDescriptor(prototype, 'consume')?.value : undefined;
    return prototype && nativeFunction(constructor, 'Http2Session') && (constructor as { prototype?: unknown }).prototype === prototype && nativeFunction(consume, 'consume') ? prototype : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Routes the whole process through the policy and watches its integrity:
 * - `tls.connect` (what https.Agent, undici, http2 and most SDKs call) runs the policy's TLS checks;
 * - `net.Socket#connect` applies the egress rule (`unlistedHosts`) to every TCP connection;
 * - `http.Agent#createConnection` applies the cleartext rule to http requests;
 * - fetch goes through a policy dispatcher installed as undici's global dispatcher;
 * - `tls.setDefaultCACertificates` is refused (block) or reported.
 * Each new connection first compares a few cheap signals (identities of the network functions,
 * TLS/proxy variables, inspector, CA list); a change triggers the full inspection, and under
 * `onTamper: "block"` any finding at or above `blockAt` fails the connection with
 * ERR_ENV_COMPROMISED naming the finding.
 */
export function lockdown(policy: Policy | unknown, options: LockdownOptions = {}): Lockdown {
  // The closures defined directly in this function are function expressions, not arrows: V8 compiles
  // lockdown() on first call, at every `wirelock/register` start, and skips a nested `function` it
  // pre-parsed already, but parses every nested arrow function again (Node 20 and 24; ~2.7 M
  // instructions, about 0.6 ms of each start). Small inline callbacks stay arrows.
  if (active) throw new WirelockError('ERR_USAGE', 'lockdown() is already active in this process; call release() on it first');
  const onTamper: OnTamper = options.onTamper ?? 'block';
  if (onTamper !== 'block' && onTamper !== 'report') throw new WirelockError('ERR_USAGE', `onTamper must be "block" or "report", not ${JSON.stringify(onTamper)}`);
  const blockAt: Severity = options.blockAt ?? 'high';
  const { onTamper: _t, blockAt: _b, allow, onFinding, origins, freeze, ...transportOptions } = options;
  const engine = new PolicyEngine(policy, transportOptions, reportSender(policy, transportOptions));
  const recorded = new Map<string, RuntimeFinding>();
  const allowEntries = resolveAllowEntries(allow?.hookers);
  const warned = new Set<string>();
  const ownValues = new Set<unknown>();
  const installed = new Map<string, unknown>();
  // Destinations of the connections wirelock itself is opening right now (already checked). Only
  // these skip the net guard: option getters or Proxy arrays (ALPNProtocols) run the caller's code
  // synchronously inside Node's tls.connect, and a socket it opens there must still be checked.
  const internal: string[] = [];
  const destinationKey = function (host: unknown, port: unknown): string {
    return `${String(host ?? 'localhost').toLowerCase().replace(/^\[(.*)\]$/, '$1')}:${Number(port) || 0}`;
  };
  let released = false;
  /** Every watched slot as lockdown left it: any later difference is judged. */
  let baseline: Map<string, { value: unknown; getter: unknown }> | undefined;

  const record = function (finding: RuntimeFinding): void {
    const previous = recorded.get(finding.key);
    // Same key again: only news if it got worse (a benign Agent swapped for a ProxyAgent).
    if (previous && severityRank(finding.severity) <= severityRank(previous.severity)) return;
    recorded.set(finding.key, finding);
    if (CHANNELS_RUNTIME.tamper.hasSubscribers) CHANNELS_RUNTIME.tamper.publish(finding);
    if (onFinding) {
      try {
        onFinding(finding);
      } catch (error) {
        pristine.emitWarning(`wirelock onFinding callback threw: ${(error as Error).message}`, 'WirelockWarning');
      }
    }
    if (finding.id === 'inspector' && onTamper === 'block' && pristine.inspectorUrl?.()) {
      // Blocking the network does not shut an open debugger port: close it.
      if (pristine.inspectorClose) pristine.apply(pristine.inspectorClose, realProcess, []);
    }
    // A worker runs with unguarded network functions: always said out loud, even below blockAt.
    if ((isBlocking(finding, blockAt) || finding.id === 'worker-started') && !warned.has(finding.key)) {
      warned.add(finding.key);
      pristine.emitWarning(`${finding.key}: ${finding.title}${onTamper === 'block' ? ' (network blocked)' : ''}`, { type: 'WirelockWarning', code: 'WIRELOCK_TAMPER' });
      // The fleet sees what this process saw: the finding goes to the policy's report URI (wirelock collect).
      engine.reporter.emit(buildRuntimeFindingReport(finding, onTamper === 'block', engine.now()));
    }
  };

  // The start-up origin proof, when collectFindings deferred it (see InspectOptions.deferProof).
  let pendingProof: (() => RuntimeFinding[]) | undefined;
  // The /proc facts the start-up inspection read, for the loader check that follows it.
  let startFacts: ProcessFacts | undefined;
  const settleProof = function (): void {
    const proof = pendingProof;
    if (!proof) return;
    pendingProof = undefined;
    for (const finding of proof()) record(finding);
  };

  const blockingFinding = function (): RuntimeFinding | undefined {
    // Nothing is decided on findings before the start-up proof has given its own.
    settleProof();
    let worst: RuntimeFinding | undefined;
    for (const finding of recorded.values()) {
      if (isBlocking(finding, blockAt) && (!worst || severityRank(finding.severity) > severityRank(worst.severity))) worst = finding;
    }
    return worst;
  };

  // Cheap signals, compared on every new connection. Anything here changing means "look again".
  const signals = function (): unknown[] {
    return [
      ...SLOTS.map(readSlot),
      ...SLOTS.map(slotGetter),
      process.env.NODE_TLS_REJECT_UNAUTHORIZED,
      process.env.HTTPS_PROXY,
      process.env.https_proxy,
      process.env.HTTP_PROXY,
      process.env.http_proxy,
      process.env.ALL_PROXY,
      process.env.all_proxy,
      process.env.NODE_OPTIONS,
      pristine.inspectorUrl?.(),
      safeDefaultCas(),
      (real.https.globalAgent as unknown as { options?: { ca?: unknown } }).options?.ca,
      keylogListeners(real.https.globalAgent),
      keylogListeners(real.http.globalAgent),
      (globalThis as { GLOBAL_AGENT?: unknown }).GLOBAL_AGENT,
      ...NETWORK_CHANNELS.map((name) => pristine.hasSubscribers(name)),
      tracerPid(),
    ];
  };
  let observed: unknown[] = [];

  const assess = function (atStart = false): RuntimeFinding[] {
    settleProof();
    const atStartOnly = atStart ? { deferProof: (proof: () => RuntimeFinding[]) => void (pendingProof = proof), onFacts: (facts: ProcessFacts) => void (startFacts = facts) } : {};
    for (const finding of collectFindings({ ...(allow ? { allow } : {}), ownValues, ...(origins === false ? { origins } : {}), ...atStartOnly })) record(finding);
    // Replacing a guard lockdown installed (even with Node's original) switches the policy off,
    // unless an allow-listed tool (a mock, an APM agent) did it.
    // After lockdown, a watched slot that changed is a finding whatever its code claims to be:
    // only an allow-listed tool located by its real file is accepted (see origin.ts).
    const replaced = baseline ? SLOTS.filter((slot) => readSlot(slot) !== baseline!.get(slot.name)?.value || slotGetter(slot) !== baseline!.get(slot.name)?.getter) : [];
    if (replaced.length > 0) {
      const judge = function (originOf: ((value: unknown) => FunctionOrigin) | undefined): void {
        for (const slot of replaced) {
          const getter = slotGetter(slot);
          const accessor = getter !== baseline!.get(slot.name)?.getter && typeof getter === 'function';
          const subjects = accessor ? [getter] : subjectsOf(slot, readSlot(slot));
          const judged = originOf ? subjects.map((subject) => originOf(subject)) : [];
          const [origin] = judged;
          const url = judged.map(responsibleUrl).find(Boolean);
          const finding = makeFinding(slot.kind === 'dispatcher' ? 'dispatcher-swapped' : 'hooked-api', 'high', `${slot.name} was replaced after lockdown${origin ? ` by ${describeOrigin(origin)}` : ''}`, {
            lockdownGuardRemoved: installed.has(slot.name),
            accessor,
            defined: origin ? describeOrigin(origin) : null,
            url: url ?? null,
            package: packageOf(url) ?? null,
          }, slot.name);
          const allowedBy = judged.length > 0 ? allowedOrigin(allowEntries, ...judged) : undefined;
          record(allowedBy ? downgrade(finding, allowedBy) : finding);
        }
      };
      if (origins !== false && originAvailable) withOrigins(judge);
      else judge(undefined);
    }
    // At start the signals are taken once the guards are in place (below), not twice.
    if (!atStart) observed = signals();
    return [...recorded.values()];
  };

  const changed = function (): boolean {
    const now = signals();
    if (now.length !== observed.length) return true;
    for (let i = 0; i < now.length; i++) if (now[i] !== observed[i]) return true;
    return false;
  };

  /** Integrity gate of every new connection. */
  // A check that throws (a hostile getter on a watched slot, an unreadable /proc) must not let
  // the connection through unexamined: it is itself a critical finding.
  const guarded = function (work: () => void): void {
    try {
      work();
    } catch (error) {
      record(makeFinding('inspection-failed', 'critical', `the integrity check failed: ${(error as Error)?.message ?? String(error)}`, { error: String((error as Error)?.stack ?? error).split('\n').slice(0, 4).join('\n') }));
    }
  };
  const refresh = function (): void {
    return guarded(() => {
      if (changed()) assess();
    });
  };

  const gate = function (host: string, port: number): WirelockError | undefined {
    if (released) return undefined;
    // The start-up proof's findings are recorded (and reported, under "report") before the first connection.
    settleProof();
    refresh();
    if (onTamper !== 'block') return undefined;
    const blocking = blockingFinding();
    if (!blocking) return undefined;
    return new WirelockError('ERR_ENV_COMPROMISED', `${host}:${port}: connection refused, the runtime is compromised: ${blocking.key}: ${blocking.title}`, {
      host,
      port,
      finding: blocking.key,
      severity: blocking.severity,
      findings: [...recorded.values()].filter((finding) => isBlocking(finding, blockAt)).map((finding) => finding.key),
    });
  };

  // Every engine entry point (dispatcher, agents, the tls.connect guard) passes the gate first.
  const checkDestination = engine.checkDestination.bind(engine);
  engine.checkDestination = function (protocol, host, port) {
    return gate(host, port) ?? checkDestination(protocol, host, port);
  };
  const connectTls = engine.connectTls.bind(engine);
  engine.connectTls = function (target) {
    internal.push(destinationKey(target.host, target.port));
    let socket: TLSSocket;
    try {
      socket = connectTls(target);
    } finally {
      internal.pop();
    }
    guardKeylog(socket, target.host, target.port);
    return socket;
  };
  const connectPlain = engine.connectPlain.bind(engine);
  engine.connectPlain = function (target) {
    internal.push(destinationKey(target.host, target.port));
    try {
      return connectPlain(target);
    } finally {
      internal.pop();
    }
  };

  // Node enables OpenSSL's key-log callback only when a "keylog" listener is added: refusing the
  // listener (block) means no key is ever written.
  const guardKeylog = function (socket: TLSSocket, host: string, port: number): void {
    socket.on('newListener', (event: string | symbol) => {
      if (event !== 'keylog') return;
      record(makeFinding('tls-keylog', 'critical', `a "keylog" listener was added to a TLS connection to ${host}:${port}`, { host, port, addedBy: callerOutsideWirelock() ?? null }, 'socket'));
      if (onTamper === 'block') socket.destroy(gate(host, port));
    });
  };

  const dispatcher = createDeferredDispatcher(engine.policy, { engine });
  ownValues.add(dispatcher);

  const originals = new Map<string, PropertyDescriptor | undefined>();
  const install = function (name: string, value: unknown): void {
    const slot = SLOTS.find((candidate) => candidate.name === name)!;
    const descriptor = pristine.getOwnPropertyDescriptor(slot.target, slot.key);
    originals.set(name, descriptor);
    if (descriptor && !descriptor.configurable) {
      (slot.target as Record<PropertyKey, unknown>)[slot.key] = value;
    } else {
      Object.defineProperty(slot.target, slot.key, { value, writable: true, enumerable: descriptor?.enumerable ?? false, configurable: true });
    }
    installed.set(name, value);
    ownValues.add(value);
    wirelockValues.add(value as object);
  };

  /**
   * Every address:port a guard let through (an IP literal that passed, or an address a guarded
   * lookup returned). The TCP handle itself (`socket._handle`, whose class any socket exposes)
   * dials only these: a raw handle cannot reach what no guard approved.
   */
  const approved = new Set<string>();
  const approvalKey = function (address: unknown, port: unknown): string {
    return `${String(address).toLowerCase()}|${Number(port) || 0}`;
  };
  const approve = function (address: string, port: number): void {
    approved.add(approvalKey(address, port));
  };

  /**
   * Cleartext HTTP on plain TCP, whatever layer writes it. Every TCP handle the handle guard let dial
   * is remembered with its address, and every plain socket with the name it was opened for. HTTP
   * written on such a handle meets the cleartext rule for that name (for the address when no socket
   * of ours holds the handle): at the stream handle's own write methods, where every JavaScript path
   * ends (socket.write/end, _writev, cork, npm undici in any copy, the handle itself), and when an
   * HTTP/2 session takes the handle over (nghttp2 then writes from C++, h2c).
   */
  const dialled = new WeakMap<object, { address: string; port: number }>();
  const plainNames = new WeakMap<object, { host: string; port: number }>();
  // Tunnels to the policy's proxy: their CONNECT is wirelock's own, and what runs inside was judged above.
  const exemptSockets = new WeakSet<object>();
  /** Stream handles an HTTP/2 session consumed (judged again if one is dialled afterwards). */
  const consumedByHttp2 = new WeakSet<object>();
  // Node's owner_symbol (handle -> socket), learnt from a socket Node itself set it on.
  let ownerSymbol: symbol | undefined;
  const learnOwnerSymbol = function (socket: Socket): void {
    const handle = (socket as unknown as { _handle?: Record<symbol, unknown> | null })._handle;
    if (ownerSymbol || !handle) return;
    ownerSymbol = Object.getOwnPropertySymbols(handle).find((symbol) => handle[symbol] === socket);
  };
  const ownerOf = function (handle: object): object | undefined {
    const owner = ownerSymbol ? (handle as Record<symbol, unknown>)[ownerSymbol] : undefined;
    // Only a socket that really holds this handle speaks for it.
    return typeof owner === 'object' && owner !== null && (owner as { _handle?: unknown })._handle === handle ? owner : undefined;
  };
  const plainTarget = function (handle: object): { host: string; port: number } | undefined {
    const dial = dialled.get(handle);
    if (!dial) return undefined;
    const owner = ownerOf(handle);
    if (owner && exemptSockets.has(owner)) return undefined;
    return (owner ? plainNames.get(owner) : undefined) ?? { host: dial.address, port: dial.port };
  };
  /** Destroys the socket holding `handle` with `error` (the app sees the policy's error, not a bare errno). */
  const failConnection = function (handle: unknown, error: Error): void {
    const owner = typeof handle === 'object' && handle !== null ? ownerOf(handle) : undefined;
    if (owner instanceof real.net.Socket) owner.destroy(error);
  };

  // The app's own lookup (given to lockdown()) is trusted like the system resolver: its answers are
  // not second-guessed, but they still pass through a guard, which approves them for the TCP handle
  // (handed to Node as is, it left every address unapproved and each connection refused).
  const ownLookup = typeof transportOptions.lookup === 'function' ? transportOptions.lookup : undefined;
  /** Lookups the guards below made: they approve what they answer. */
  const guardLookups = new WeakSet<object>();
  const systemLookup = systemDnsLookup as unknown as (name: string, options: object, callback: (error: Error | null, address: unknown, family?: number) => void) => void;
  const addressesOf = function (address: unknown): string[] {
    return Array.isArray(address) ? (address as Array<{ address?: unknown }>).map((entry) => String(entry?.address)) : [String(address)];
  };

  /**
   * The address actually dialled is judged, not only the name: a caller-supplied `lookup` (or a
   * replaced dns.lookup) can answer a listed name with the attacker's address. Every address the
   * lookup returns must be one the system resolver (Node's dns.lookup as it was when wirelock
   * loaded) returns for that name, or be allowed by the policy on its own. For cleartext, a name
   * admitted only for being loopback must resolve to loopback addresses.
   */
  const guardLookup = function (callerLookup: unknown, name: string, port: number, protocol: 'https:' | 'http:'): LookupFunction {
    const base = (typeof callerLookup === 'function' ? callerLookup : systemLookup) as typeof systemLookup;
    const fromSystem = base === systemLookup || (ownLookup !== undefined && base === ownLookup);
    const domain = findDomainPolicy(engine.policy, normalizeHost(name) ?? name);
    const loopbackOnly = protocol === 'http:' && domain?.cleartext !== 'allow' && isLoopbackHost(name);
    const guardedLookup = ((hostname: string, lookupOptions: unknown, maybeCallback: unknown) => {
      const done = (typeof lookupOptions === 'function' ? lookupOptions : maybeCallback) as (error: Error | null, address?: unknown, family?: number) => void;
      const opts = typeof lookupOptions === 'function' || lookupOptions === null || typeof lookupOptions !== 'object' ? {} : lookupOptions;
      base(hostname, opts, (error, rawAddress, rawFamily) => {
        if (error) return done(error, rawAddress, rawFamily);
        // The answer is copied before it is judged: entries with getters must not show the check
        // one address and Node another.
        const address: unknown = Array.isArray(rawAddress)
          ? Array.from(rawAddress as Array<{ address?: unknown; family?: unknown }>, (entry) => ({ address: String(entry?.address), family: Number(entry?.family) }))
          : String(rawAddress);
        const family = rawFamily === undefined ? undefined : Number(rawFamily);
        const addresses = addressesOf(address);
        const judge = (known: ReadonlySet<string>): void => {
          for (const candidate of addresses) {
            const refused =
              (loopbackOnly ? engine.checkDestination('http:', candidate, port) : undefined) ??
              (known.has(candidate) ? undefined : engine.checkDestination(protocol, candidate, port) ?? engine.checkDestination('https:', candidate, port));
            if (refused) {
              return done(
                new WirelockError(refused.code, `${name}:${port}: the lookup answered ${candidate}, ${known.has(candidate) ? '' : 'which the system resolver does not return for this name and '}which the policy refuses: ${refused.message}`, {
                  host: name,
                  port,
                  address: candidate,
                  resolved: addresses,
                }),
              );
            }
          }
          for (const candidate of addresses) approve(candidate, port);
          done(null, address, family);
        };
        if (fromSystem) return judge(new Set(addresses));
        systemLookup(hostname, { all: true }, (systemError, systemAddresses) => judge(new Set(systemError ? [] : addressesOf(systemAddresses))));
      });
    }) as unknown as LookupFunction;
    guardLookups.add(guardedLookup);
    return guardedLookup;
  };
  /** Sets the snapshot's lookup to a guarded one unless the host is an address (then approved as is). */
  const pinLookup = function (options: Record<string, unknown>, host: string, port: number, protocol: 'https:' | 'http:'): void {
    const literal = host.replace(/^\[(.*)\]$/, '$1');
    if (pristine.isIP(literal) !== 0) {
      approve(literal, port);
      return;
    }
    const lookup = options.lookup;
    if (typeof lookup === 'function' && guardLookups.has(lookup)) return;
    options.lookup = guardLookup(lookup, host, port, protocol);
  };

  const originalTlsConnect = real.tls.connect;
  const lockedTlsConnect = function connect(...args: unknown[]): TLSSocket {
    // From here on only the snapshot is used: it is what was checked and what Node receives.
    const { options: connectOptions, callback } = normalizeConnectArgs(args);
    // Node dials TCP to localhost for path '' and ignores `path` when a socket is given: only a
    // non-empty path without a socket is a local socket file, anything else goes through the policy.
    if (typeof connectOptions.path === 'string' && connectOptions.path !== '' && connectOptions.socket === undefined && connectOptions.host === undefined) {
      // TLS over a local socket file is not network egress; integrity still applies.
      const refused = gate(connectOptions.path, 0);
      if (refused) return refusedSocket(refused) as TLSSocket;
      return pristine.apply(originalTlsConnect, real.tls, callback ? [connectOptions, callback] : [connectOptions]) as TLSSocket;
    }
    const host = String(connectOptions.servername || connectOptions.host || 'localhost');
    const port = Number(connectOptions.port) || 443;
    // The TCP connection goes to `host`, not to the servername (engine.connectTls's own socket
    // skips the net guard's name check): a listed servername must not carry a connection to an unlisted host.
    const address = connectOptions.host === undefined || connectOptions.host === null ? undefined : String(connectOptions.host);
    const refused = engine.checkDestination('https:', host, port) ?? (address !== undefined && address !== host ? engine.checkDestination('https:', address, port) : undefined);
    if (refused) return refusedSocket(refused) as TLSSocket;
    const socket = engine.connectTls({ ...(connectOptions as ConnectionOptions), host: String(connectOptions.host || host), port });
    if (callback) socket.once('secureConnect', callback);
    return socket;
  };

  const originalSocketConnect = real.net.Socket.prototype.connect as (...a: unknown[]) => Socket;
  const lockedSocketConnect = function connect(this: Socket, ...args: unknown[]): Socket {
    const { options: target, callback } = normalizeConnectArgs(args);
    const forward = (): Socket => pristine.apply(originalSocketConnect, this, callback ? [target, callback] : [target]) as Socket;
    if (typeof target.path === 'string' && target.path !== '' && target.port === undefined) return forward();
    // The policy's proxy is extra egress only for the tunnels wirelock itself opens to it; the TCP
    // handle guard still needs its address approved.
    if (engine.isProxyConnection(this)) {
      exemptSockets.add(this);
      const proxyHost = String(target.host || 'localhost').replace(/^\[(.*)\]$/, '$1');
      const proxyPort = Number(target.port) || 0;
      if (pristine.isIP(proxyHost) !== 0) approve(proxyHost, proxyPort);
      else {
        const base = (typeof target.lookup === 'function' ? target.lookup : systemLookup) as typeof systemLookup;
        target.lookup = ((hostname: string, lookupOptions: object, done: (error: Error | null, address?: unknown, family?: number) => void) =>
          base(hostname, lookupOptions, (error, address, family) => {
            if (!error) for (const candidate of addressesOf(address)) approve(candidate, proxyPort);
            done(error, address, family);
          })) as unknown as LookupFunction;
      }
      const tunnel = forward();
      learnOwnerSymbol(this);
      return tunnel;
    }
    const host = String(target.host || 'localhost');
    const port = Number(target.port) || 0;
    // Connections wirelock itself opens were checked by the layer above; the address still is.
    const internalConnection = internal.length > 0 && internal.includes(destinationKey(host, target.port));
    // The egress rule only: TLS or not is decided by the layer above (tls.connect / http agent).
    const refused = internalConnection ? undefined : engine.checkDestination('https:', host, port);
    if (refused) {
      pristine.nextTick(() => this.destroy(refused));
      return this;
    }
    pinLookup(target, host, port, 'https:');
    // A TLSSocket's TCP handle carries only what TLS encrypted: plain sockets carry cleartext, and
    // the cleartext rule judges HTTP written on them at their handle (see `dialled`).
    const plain = !(this instanceof real.tls.TLSSocket);
    if (plain) {
      plainNames.set(this, { host, port });
      const unguarded = guardHttp2();
      if (unguarded) {
        pristine.nextTick(() => this.destroy(unguarded));
        return this;
      }
    }
    const socket = forward();
    learnOwnerSymbol(this);
    return socket;
  };

  const originalHttpCreateConnection = real.http.Agent.prototype.createConnection as (...args: unknown[]) => Socket | undefined;
  const lockedHttpCreateConnection = function createConnection(this: unknown, ...args: unknown[]): Socket | undefined {
    const { options: target, callback } = normalizeConnectArgs(args);
    const host = String(target.host || target.hostname || 'localhost');
    const port = Number(target.port) || 80;
    const refused = engine.checkDestination('http:', host, port);
    if (refused) {
      if (callback) pristine.nextTick(callback, refused);
      else return refusedSocket(refused);
      return undefined;
    }
    if (typeof target.path !== 'string' || target.port !== undefined) pinLookup(target, host, port, 'http:');
    internal.push(destinationKey(host, target.port));
    try {
      const socket = pristine.apply(originalHttpCreateConnection, this, callback ? [target, callback] : [target]) as Socket | undefined;
      // The cleartext rule judges each request's target, not the socket's address (a proxy on loopback).
      if (socket) guardRequestTargets(engine, socket, host, port);
      return socket;
    } finally {
      internal.pop();
    }
  };

  const originalSetDefaultCas = (real.tls as { setDefaultCACertificates?: (certs: unknown) => void }).setDefaultCACertificates;
  const lockedSetDefaultCas = function setDefaultCACertificates(certs: unknown): void {
    const count = Array.isArray(certs) ? certs.length : 0;
    const finding = makeFinding('ca-injected', 'critical', `tls.setDefaultCACertificates was called with ${count} certificate(s) under lockdown`, { count, calledBy: callerOutsideWirelock() ?? null, applied: onTamper !== 'block' }, 'tls.setDefaultCACertificates');
    record(finding);
    if (onTamper === 'block') {
      throw new WirelockError('ERR_ENV_COMPROMISED', `${finding.key}: ${finding.title}: refused`, { finding: finding.key, severity: finding.severity });
    }
    if (originalSetDefaultCas) pristine.apply(originalSetDefaultCas, real.tls, [certs]);
    observed = signals();
  };

  const previousDispatcher = readSlot(SLOTS.find((slot) => slot.name === 'undici.globalDispatcher')!);
  // npm undici installs a default Agent when wirelock imports it: that one is wirelock's doing.
  // (An app's own plain undici Agent is equally harmless, and lockdown replaces it right away.)
  // (undici is loaded only when there is a dispatcher to recognise: a bare process never needs it.)
  const UndiciAgent = previousDispatcher !== undefined ? undici().Agent : undefined;
  if (UndiciAgent && previousDispatcher instanceof UndiciAgent && Object.getPrototypeOf(previousDispatcher) === UndiciAgent.prototype) ownValues.add(previousDispatcher);

  // Start-up assessment before anything is replaced, so findings describe the app's environment.
  // (Where wirelock provably loaded first, the origin proof of the slots' values waits for the first
  // use that relies on it: see InspectOptions.deferProof. It judges the values read here.)
  assess(true);
  install('tls.connect', lockedTlsConnect);
  // Another name of the same function: tls.js exports _tls_wrap's connect.
  if (real.tlsWrap) install('_tls_wrap.connect', lockedTlsConnect);
  install('net.Socket.prototype.connect', lockedSocketConnect);
  install('http.Agent.prototype.createConnection', lockedHttpCreateConnection);
  if (originalSetDefaultCas) install('tls.setDefaultCACertificates', lockedSetDefaultCas);
  install('undici.globalDispatcher', dispatcher);
  // Write-time traps: an assignment to a watched slot is judged when it happens, so a hook that
  // is refused never runs at all (it could otherwise read a request and keep it for later).
  const trapped = new Map<string, { descriptor: PropertyDescriptor; trap: PropertyDescriptor; read: () => unknown }>();
  const judgeWrite = function (slot: Slot, next: unknown, apply: () => void): void {
    const judged = origins !== false && originAvailable ? withOrigins((originOf) => subjectsOf(slot, next).map((subject) => originOf(subject))) : [];
    const [origin] = judged;
    const url = judged.map(responsibleUrl).find(Boolean);
    const evidence = {
      origin: origin?.kind ?? null,
      defined: origin ? describeOrigin(origin) : null,
      url: url ?? null,
      package: packageOf(url) ?? null,
      assignedBy: callerOutsideWirelock() ?? null,
    };
    const allowedBy = judged.length > 0 ? allowedOrigin(allowEntries, ...judged) : undefined;
    if (allowedBy) {
      apply();
      record(downgrade(makeFinding('hooked-api', 'high', `${slot.name} was replaced by ${allowedBy}: ${evidence.defined}`, evidence, slot.name), allowedBy));
      return;
    }
    const refused = onTamper === 'block';
    const finding = makeFinding('tamper-attempt', 'high', `assignment to ${slot.name} ${refused ? 'refused' : 'reported'}: ${evidence.defined ?? 'origin unknown'}`, { ...evidence, applied: !refused }, slot.name);
    record(finding);
    if (refused) throw new WirelockError('ERR_ENV_COMPROMISED', `${finding.key}: ${finding.title}`, { finding: finding.key, severity: finding.severity });
    apply();
  };
  const arm = function (slot: Slot): void {
    const descriptor = pristine.getOwnPropertyDescriptor(slot.target, slot.key);
    if (!descriptor?.configurable) return;
    let current: unknown = descriptor.value;
    const read = (): unknown => (descriptor.get ? pristine.apply(descriptor.get, slot.target, []) : current);
    const write = (next: unknown): void => {
      if (descriptor.set) pristine.apply(descriptor.set, slot.target, [next]);
      else current = next;
    };
    const trap: PropertyDescriptor = {
      configurable: true,
      enumerable: descriptor.enumerable ?? false,
      get: read,
      set(this: unknown, next: unknown) {
        // `socket.connect = fn` on an instance is not a change of the prototype's method.
        if (this !== slot.target) {
          Object.defineProperty(this as object, slot.key, { value: next, writable: true, enumerable: true, configurable: true });
          return;
        }
        if (released || next === read()) return write(next);
        judgeWrite(slot, next, () => write(next));
      },
    };
    Object.defineProperty(slot.target, slot.key, trap);
    wirelockValues.add(read);
    trapped.set(slot.name, { descriptor, trap, read });
  };
  for (const slot of SLOTS) if (!slot.inherited && !slot.watchOnly) arm(slot);

  // A worker thread gets fresh built-ins that none of the guards above reach (and preloads given
  // with --import do not run in it): each new worker is a finding, refused when it blocks.
  const threadStarted = function (source: string, title: string, what = 'worker'): void {
    record(makeFinding('worker-started', 'medium', title, { worker: source, startedBy: callerOutsideWirelock() ?? null }, source));
    const blocking = onTamper === 'block' ? blockingFinding() : undefined;
    if (blocking) throw new WirelockError('ERR_ENV_COMPROMISED', `${what} refused, the runtime is compromised: ${blocking.key}: ${blocking.title}`, { finding: blocking.key, severity: blocking.severity });
  };
  // The guard is a function, not a subclass: a subclass's prototype chain (Object.getPrototypeOf) hands
  // out the original class. It shares the original's prototype (instanceof holds for workers made
  // before and after), whose `constructor` names the guard while locked down, so no worker leads back.
  const OriginalWorker = real.workerThreads.Worker;
  const workerPrototype = OriginalWorker.prototype as unknown as Record<string, unknown>;
  const workerConstructor = pristine.getOwnPropertyDescriptor(workerPrototype, 'constructor');
  const GuardedWorker = function Worker(this: unknown, ...args: unknown[]): unknown {
    if (new.target === undefined) throw new TypeError("Class constructor Worker cannot be invoked without 'new'");
    if (!released) {
      const [filename, workerOptions] = args as [unknown, { eval?: unknown } | undefined];
      const source = workerOptions?.eval ? '(eval code)' : String(filename);
      threadStarted(source, `a worker thread was started (${source}): its network is not under lockdown`);
    }
    return pristine.construct(OriginalWorker, args, new.target);
  } as unknown as typeof OriginalWorker;
  Object.defineProperty(GuardedWorker, 'prototype', { value: OriginalWorker.prototype, writable: false, enumerable: false, configurable: false });
  // Static members (EventEmitter's) as before; the original class itself is not on the chain.
  Object.setPrototypeOf(GuardedWorker, pristine.getPrototypeOf(OriginalWorker));
  wirelockValues.add(GuardedWorker);
  if (workerConstructor) Object.defineProperty(workerPrototype, 'constructor', { ...workerConstructor, value: GuardedWorker });
  Object.defineProperty(real.workerThreads, 'Worker', { value: GuardedWorker, writable: true, enumerable: true, configurable: true });

  // module.register() starts Node's module-hooks thread (or adds to it): an internal worker with fresh
  // built-ins, whose hooks' initialize() runs there at once. It is a worker start like any other.
  // (module.registerHooks, Node 22.15/24, runs its hooks in this thread: not guarded here.)
  const moduleExports = real.module as unknown as Record<string, unknown>;
  const registerDescriptor = pristine.getOwnPropertyDescriptor(moduleExports, 'register');
  const originalRegister = registerDescriptor?.value as ((...args: unknown[]) => unknown) | undefined;
  let guardedRegister: ((...args: unknown[]) => unknown) | undefined;
  if (typeof originalRegister === 'function' && registerDescriptor?.configurable) {
    guardedRegister = function register(this: unknown, ...args: unknown[]): unknown {
      if (!released) {
        // A data: URL can be the whole hook module: the finding names its start.
        const specifier = String(args[0]).length > 120 ? `${String(args[0]).slice(0, 120)}...` : String(args[0]);
        const source = `module.register(${specifier})`;
        threadStarted(source, `module hooks were registered (${specifier}): they run in Node's module-hooks thread, whose network is not under lockdown`, 'module.register');
      }
      return pristine.apply(originalRegister, this, args);
    };
    Object.defineProperty(moduleExports, 'register', { ...registerDescriptor, value: guardedRegister });
    wirelockValues.add(guardedRegister);
  }

  // DNS: a query carries its name to whoever runs the name server (a classic exfiltration
  // channel), so names the egress rule refuses are not resolved either. IP literals pass.
  const dnsRestore: Array<() => void> = [];
  // Every resolving method, whatever this Node version has (resolveTlsa arrived in 22.15/24).
  const dnsMethods = function (target: Record<string, unknown>): string[] {
    return Object.getOwnPropertyNames(target).filter((key) => (key === 'lookup' || key.startsWith('resolve')) && typeof target[key] === 'function');
  };
  const guardDns = function (target: Record<string, unknown>, style: 'callback' | 'promise'): void {
    for (const key of dnsMethods(target)) {
      const original = target[key];
      const descriptor = pristine.getOwnPropertyDescriptor(target, key)!;
      const guarded = function (this: unknown, hostname: unknown, ...rest: unknown[]): unknown {
        const refused = typeof hostname === 'string' && pristine.isIP(hostname) === 0 ? engine.checkDestination('https:', hostname, 53) : undefined;
        if (refused) {
          if (style === 'promise') return pristine.apply(pristine.promiseReject, pristine.Promise, [refused]);
          const callback = [...rest].reverse().find((arg) => typeof arg === 'function') as ((error: Error) => void) | undefined;
          if (!callback) throw refused;
          pristine.nextTick(callback, refused);
          return undefined;
        }
        return pristine.apply(original as (...args: unknown[]) => unknown, this, [hostname, ...rest]);
      };
      Object.defineProperty(guarded, 'name', { value: (original as { name: string }).name });
      Object.defineProperty(target, key, { ...descriptor, value: guarded });
      wirelockValues.add(guarded);
      dnsRestore.push(() => {
        if (target[key] === guarded) Object.defineProperty(target, key, descriptor);
      });
    }
  };
  guardDns(real.dns as unknown as Record<string, unknown>, 'callback');
  guardDns(real.dns.Resolver.prototype as unknown as Record<string, unknown>, 'callback');
  guardDns(real.dns.promises as unknown as Record<string, unknown>, 'promise');
  guardDns(real.dns.promises.Resolver.prototype as unknown as Record<string, unknown>, 'promise');

  // The C++ handles behind every socket: TCP#connect/connect6 (reachable as socket._handle's class
  // with its request classes, no binding needed) dial only approved destinations, and the
  // resolver channel behind every dns.Resolver (resolver._handle) resolves only allowed names.
  const handleRestore: Array<() => void> = [];
  const wrapHandleMethods = function (proto: Record<string, unknown> | undefined, keys: string[], check: (args: unknown[], handle: unknown) => WirelockError | undefined, refuse: (error: WirelockError, handle: unknown, args: unknown[], original: (...a: unknown[]) => unknown) => unknown, tamper = true): void {
    if (!proto) return;
    for (const key of keys) {
      const original = proto[key];
      const descriptor = pristine.getOwnPropertyDescriptor(proto, key);
      if (typeof original !== 'function' || !descriptor?.configurable) continue;
      const guardedMethod = function (this: unknown, ...args: unknown[]): unknown {
        const refused = released ? undefined : check(args, this);
        // UDP has no guard above its handle: a refusal there is the policy's violation (reported by
        // the engine), not evidence of tampering.
        if (refused && !tamper) return refuse(refused, this, args, original as (...a: unknown[]) => unknown);
        if (refused) {
          const finding = makeFinding('raw-binding', 'high', `${key} on a raw ${refused.details?.kind ?? 'handle'} under lockdown ${onTamper === 'block' ? 'refused' : 'reported'}: ${refused.message}`, { method: key, calledBy: callerOutsideWirelock() ?? null, applied: onTamper !== 'block' }, `handle.${key}`);
          record(finding);
          if (onTamper === 'block') return refuse(refused, this, args, original as (...a: unknown[]) => unknown);
        }
        return pristine.apply(original as (...a: unknown[]) => unknown, this, args);
      };
      Object.defineProperty(proto, key, { ...descriptor, value: guardedMethod });
      wirelockValues.add(guardedMethod);
      handleRestore.push(() => {
        if (proto[key] === guardedMethod) Object.defineProperty(proto, key, descriptor);
      });
    }
  };
  const rawBinding = function (name: string): Record<string, { prototype?: Record<string, unknown> } | undefined> | undefined {
    try {
      return processBinding ? (pristine.apply(processBinding, process, [name]) as Record<string, { prototype?: Record<string, unknown> }>) : undefined;
    } catch {
      return undefined;
    }
  };
  // node:os is loaded only when a handle call is refused, not at every start.
  let eaccesCode: number | undefined;
  const eacces = function (): number {
    return (eaccesCode ??= -((pristine.getBuiltinModule('node:os') as typeof import('node:os')).constants.errno.EACCES ?? 13));
  };
  const TCP = rawBinding('tcp_wrap')?.TCP;
  wrapHandleMethods(
    TCP?.prototype,
    ['connect', 'connect6'],
    function ([, address, port], handle) {
      // A non-string address would be converted again by the C++ side: only a string is judged.
      if (typeof address !== 'string' || !pristine.apply(pristine.setHas, approved, [approvalKey(address, port)])) {
        return new WirelockError('ERR_HOST_NOT_ALLOWED', `${String(address)}:${Number(port)}: a TCP handle dialled an address no guard approved`, { host: String(address), port: Number(port), kind: 'TCP handle' });
      }
      if (typeof handle !== 'object' || handle === null) return undefined;
      dialled.set(handle, { address, port: Number(port) });
      // A TLSSocket dials through its TLS wrap, which calls this on the TCP handle below it (owned by
      // the TLSSocket, though not its `_handle`). Happy eyeballs dials a fresh handle no socket owns
      // yet: it may be plain, so the HTTP/2 guard is installed then too.
      const owner = ownerSymbol ? (handle as Record<symbol, unknown>)[ownerSymbol] : undefined;
      const unguarded = owner instanceof real.tls.TLSSocket ? undefined : guardHttp2();
      if (unguarded) return unguarded;
      // An HTTP/2 session given this handle before it connected (only done by hand) speaks h2c on it.
      const target = consumedByHttp2.has(handle) ? plainTarget(handle) : undefined;
      return target ? engine.checkDestination('http:', target.host, target.port) : undefined;
    },
    // Node's own caller turns a negative return into a connect error; a raw caller gets nothing.
    eacces,
  );
  // The write methods of every libuv stream handle (TCP, pipes, TTYs share them on one prototype, so
  // calling it from there does not skip the guard); only handles a TCP guard let dial are judged.
  const WRITE_METHODS: Record<string, BufferEncoding | 'writev'> = {
    writeBuffer: 'latin1',
    writeLatin1String: 'latin1',
    writeUtf8String: 'utf8',
    writeAsciiString: 'latin1',
    writeUcs2String: 'ucs2',
    writev: 'writev',
  };
  const streamPrototype = TCP?.prototype ? (Object.getPrototypeOf(TCP.prototype) as Record<string, unknown> | null) ?? undefined : undefined;
  for (const [key, encoding] of Object.entries(WRITE_METHODS)) {
    wrapHandleMethods(
      streamPrototype,
      [key],
      function (args, handle) {
        const target = typeof handle === 'object' && handle !== null ? plainTarget(handle) : undefined;
        if (!target) return undefined;
        if (encoding !== 'writev') {
          const start = wireStart(args[1], encoding);
          return start === undefined ? undefined : cleartextHttpRefusal(engine, start, target.host, target.port);
        }
        // writev(req, chunks, allBuffers): chunks are buffers, or [chunk, encoding, chunk, encoding, ...].
        const chunks: Array<[unknown, string]> = [];
        if (Array.isArray(args[1]) && args[2]) for (const chunk of args[1] as unknown[]) chunks.push([chunk, 'buffer']);
        else if (Array.isArray(args[1])) for (let i = 0; i + 1 < (args[1] as unknown[]).length; i += 2) chunks.push([(args[1] as unknown[])[i], String((args[1] as unknown[])[i + 1])]);
        for (const [chunk, chunkEncoding] of chunks) {
          const start = wireStart(chunk, chunkEncoding);
          const refused = start === undefined ? undefined : cleartextHttpRefusal(engine, start, target.host, target.port);
          if (refused) return refused;
        }
        return undefined;
      },
      (error, handle) => {
        failConnection(handle, error);
        return eacces();
      },
      false,
    );
  }
  // HTTP/2: nghttp2 writes from C++ on the handle its session consumed, so the write guards above
  // never see h2c. Its session handle's `consume` is guarded instead: a plain TCP handle to a
  // destination where cleartext HTTP is refused is never handed to a session (the socket fails
  // with the policy's error before any frame is sent). The session class is reachable only through a
  // session, so the guard is installed the first time a plain TCP connection is dialled (or at once
  // when http2 is already loaded): that spares loading http2 for TLS-only apps.
  let http2Guarded = false;
  /** Installs the HTTP/2 guard once; returns the refusal when it cannot be installed (under "block"). */
  function guardHttp2(): WirelockError | undefined {
    if (http2Guarded || released) return undefined;
    http2Guarded = true;
    const sessionPrototype = http2SessionPrototype();
    if (!sessionPrototype) {
      // http2.connect does not hand out Node's session (replaced after lockdown): h2c cannot be judged.
      const finding = makeFinding('hooked-api', 'high', 'http2.connect does not return a Node HTTP/2 session: the cleartext guard for HTTP/2 cannot be installed', { calledBy: callerOutsideWirelock() ?? null }, 'http2.connect');
      record(finding);
      return onTamper === 'block' ? new WirelockError('ERR_ENV_COMPROMISED', `${finding.key}: ${finding.title}`, { finding: finding.key, severity: finding.severity }) : undefined;
    }
    wrapHandleMethods(
      sessionPrototype,
      ['consume'],
      ([stream]) => {
        if (typeof stream !== 'object' || stream === null) return undefined;
        consumedByHttp2.add(stream);
        const target = plainTarget(stream);
        return target ? engine.checkDestination('http:', target.host, target.port) : undefined;
      },
      (error, _session, args, original) => {
        // The socket (and its file descriptor) is closed first; the session still gets its stream, so
        // its own state stays consistent, and reports the policy's error as the socket's.
        failConnection(args[0], error);
        if (!ownerOf(args[0] as object)) (args[0] as { close?: () => void }).close?.();
        return pristine.apply(original, _session, args);
      },
      false,
    );
    return undefined;
  }
  if ((process as unknown as { moduleLoadList?: string[] }).moduleLoadList?.includes('NativeModule http2')) guardHttp2();

  // setServers on any resolver (dns.setServers, dns.promises, every Resolver) ends here: a DNS server
  // is a destination like any other, or the query names (even of a listed domain) carry data to a
  // server the policy never listed. The servers are remembered per resolver handle and its queries
  // refused (after the name check, which keeps its own message).
  const unlistedDnsServer = new WeakMap<object, WirelockError>();
  wrapHandleMethods(
    rawBinding('cares_wrap')?.ChannelWrap?.prototype,
    ['setServers'],
    function ([servers], handle) {
      let refused: WirelockError | undefined;
      // Indexed reads and Array.isArray as taken at load: code that replaces a built-in for the call
      // must not make a server list look empty (review 3, 2026-12-01).
      const list = pristine.isArray(servers) ? (servers as unknown[]) : [];
      for (let index = 0; index < list.length; index++) {
        const server = list[index];
        const entry = pristine.isArray(server) ? (server as unknown[]) : [];
        const address = entry[1];
        const port = entry[2];
        const problem = engine.checkDestination('https:', String(address), Number(port) || 53);
        if (problem) refused ??= new WirelockError(problem.code, `DNS server ${String(address)}:${Number(port) || 53}: ${problem.message}`, { host: String(address), port: Number(port) || 53, kind: 'DNS server' });
      }
      if (typeof handle === 'object' && handle !== null) {
        if (refused) unlistedDnsServer.set(handle, refused);
        else unlistedDnsServer.delete(handle);
      }
      return undefined;
    },
    () => undefined,
  );
  // UDP (dgram, a hand-made DNS packet included): every datagram's destination passes the egress
  // rule at the handle, so socket._handle cannot skip it either. A connected socket was judged at
  // connect(); a destination a TCP guard approved passes too.
  const udpDestination = function (address: unknown, port: unknown): WirelockError | undefined {
    return typeof address !== 'string'
      ? new WirelockError('ERR_HOST_NOT_ALLOWED', `a UDP handle was given a destination that is not a string`, { host: String(typeof address), port: Number(port) || 0 })
      : pristine.apply(pristine.setHas, approved, [approvalKey(address, port)])
        ? undefined
        : engine.checkDestination('https:', address, Number(port) || 0);
  };
  wrapHandleMethods(rawBinding('udp_wrap')?.UDP?.prototype, ['connect', 'connect6'], ([address, port]) => udpDestination(address, port), eacces, false);
  wrapHandleMethods(
    rawBinding('udp_wrap')?.UDP?.prototype,
    ['send', 'send6'],
    // (req, list, count, port, address, hasCallback) unconnected; (req, list, count, hasCallback) connected.
    (args) => (args.length >= 6 ? udpDestination(args[4], args[3]) : undefined),
    eacces,
    false,
  );
  // Every channel method that sends a query (Node 20 and 24): query* (names) and getHostByAddr
  // (reverse(): the PTR name carries the 16 bytes of an IPv6 address of the caller's choosing).
  // A name is judged like a destination; an address only by where the query goes.
  const channelPrototype = rawBinding('cares_wrap')?.ChannelWrap?.prototype;
  wrapHandleMethods(
    channelPrototype,
    Object.getOwnPropertyNames(channelPrototype ?? {}).filter((key) => key.startsWith('query') || key === 'getHostByAddr'),
    ([, name], handle) =>
      (typeof name === 'string' && pristine.isIP(name) === 0 ? engine.checkDestination('https:', name, 53) : undefined) ??
      (typeof handle === 'object' && handle !== null ? unlistedDnsServer.get(handle) : undefined),
    (error) => {
      throw error;
    },
  );

  // process.binding('tcp_wrap') & co. hand out Node's C++ socket classes: a connection made with
  // them passes none of the guards above. No library needs them; under lockdown they are refused
  // (block) or reported.
  const originalBinding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  let lockedBinding: ((name: string) => unknown) | undefined;
  if (typeof originalBinding === 'function') {
    lockedBinding = function binding(name: string): unknown {
      if (!released && pristine.apply(pristine.setHas, NETWORK_BINDINGS, [String(name)])) {
        const refused = onTamper === 'block';
        const finding = makeFinding('raw-binding', 'high', `process.binding('${String(name)}') under lockdown ${refused ? 'refused' : 'reported'}: its sockets bypass every guard`, { binding: String(name), calledBy: callerOutsideWirelock() ?? null, applied: !refused }, String(name));
        record(finding);
        if (refused) throw new WirelockError('ERR_ENV_COMPROMISED', `${finding.key}: ${finding.title}`, { finding: finding.key, severity: finding.severity });
      }
      return pristine.apply(originalBinding, process, [name]);
    };
    Object.defineProperty(process, 'binding', { value: lockedBinding, writable: true, enumerable: true, configurable: true });
    wirelockValues.add(lockedBinding);
  }

  // An in-process inspector session (node:inspector's Session, or the binding's Connection it wraps)
  // can read and change the variables of every closure in the process: wirelock's guards, the
  // addresses they approved, the policy they enforce, the original functions they wrap. Under
  // lockdown a message from one is refused (block) or reported, whenever the session was opened
  // (code that took `dispatch` itself before an app's own lockdown() call keeps it: docs, limits);
  // only the profiler domains (coverage, CPU profiles, traces), which hand out no object, pass.
  // wirelock's own origin proof calls the dispatch it took at load.
  const judgeInspectorMessage = function (method: string): void {
    if (released) return;
    const refused = onTamper === 'block';
    const finding = makeFinding(
      'inspector',
      'critical',
      `an in-process inspector session sent ${method} under lockdown (${refused ? 'refused' : 'reported'}): it can read and change every closure, wirelock's guards included`,
      { session: 'in-process', method, calledBy: callerOutsideWirelock() ?? null, applied: !refused },
      'session',
    );
    record(finding);
    if (refused) throw new WirelockError('ERR_ENV_COMPROMISED', `${finding.key}: ${finding.title}`, { finding: finding.key, severity: finding.severity });
  };
  if (!inspectorGuardInstalled) {
    inspectorGuardInstalled = true;
    guardInspectorSessions((method) => inspectorJudge?.(method));
  }
  inspectorJudge = judgeInspectorMessage;

  // `import { connect } from 'node:tls'` in modules loaded from now on sees the guard.
  syncBuiltinESMExports();
  // Hardened-JavaScript style, scoped to the network: every own data property of the network
  // modules and of the prototypes requests and responses pass through becomes a non-configurable
  // accessor. Reads are unchanged; an assignment on the object itself is judged like a watched
  // slot (allow-listed tools pass, others are refused); an assignment on an instance defines the
  // instance's own property (no "override mistake"); Object.defineProperty on it throws.
  function harden(): void {
    for (const [name, { trap }] of trapped) {
      const slot = SLOTS.find((candidate) => candidate.name === name)!;
      Object.defineProperty(slot.target, slot.key, { ...trap, configurable: false });
    }
    const stream = pristine.getBuiltinModule('node:stream') as typeof import('node:stream');
    const events = pristine.getBuiltinModule('node:events') as typeof import('node:events');
    const objects: Array<[string, object]> = [
      ['http', real.http],
      ['https', real.https],
      ['tls', real.tls],
      ['net', real.net],
      ['dns', real.dns],
      ['dns.promises', real.dns.promises],
      ['_tls_wrap', real.tlsWrap],
      ['worker_threads', real.workerThreads],
      ['http.Agent.prototype', real.http.Agent.prototype],
      ['https.Agent.prototype', real.https.Agent.prototype],
      ['http.ClientRequest.prototype', real.http.ClientRequest.prototype],
      ['http.OutgoingMessage.prototype', real.http.OutgoingMessage.prototype],
      ['net.Socket.prototype', real.net.Socket.prototype],
      ['tls.TLSSocket.prototype', real.tls.TLSSocket.prototype],
      ['stream.Duplex.prototype', stream.Duplex.prototype],
      ['stream.Writable.prototype', stream.Writable.prototype],
      ['stream.Readable.prototype', stream.Readable.prototype],
      ['EventEmitter.prototype', events.EventEmitter.prototype],
    ];
    for (const [label, target] of objects) {
      if (!target) continue;
      for (const key of Reflect.ownKeys(target)) {
        const descriptor = pristine.getOwnPropertyDescriptor(target, key)!;
        if (!descriptor.configurable) continue;
        if (!('value' in descriptor)) {
          Object.defineProperty(target, key, { ...descriptor, configurable: false });
          continue;
        }
        let current: unknown = descriptor.value;
        const slot: Slot = { name: `${label}.${String(key)}`, target, key, kind: 'function' };
        const get = (): unknown => current;
        wirelockValues.add(get);
        ownValues.add(get);
        Object.defineProperty(target, key, {
          configurable: false,
          enumerable: descriptor.enumerable ?? false,
          get,
          set(this: unknown, next: unknown) {
            if (this !== target) {
              Object.defineProperty(this as object, key, { value: next, writable: true, enumerable: true, configurable: true });
              return;
            }
            if (next === current) return;
            judgeWrite(slot, next, () => {
              current = next;
            });
          },
        });
      }
      Object.preventExtensions(target);
    }
    const binding = pristine.getOwnPropertyDescriptor(process, 'binding');
    if (binding?.configurable) Object.defineProperty(process, 'binding', { ...binding, writable: false, configurable: false });
    syncBuiltinESMExports();
  }
  if (freeze) harden();
  baseline = new Map(SLOTS.map((slot) => [slot.name, { value: readSlot(slot), getter: slotGetter(slot) }]));
  observed = signals();

  // Hooks registered before lockdown starts can only come from code that ran before wirelock: where
  // none did (loadedBeforeAnyCode), the import() half of the check, costly on Node 24, has nothing to find.
  const ready = loaderFindings({ esm: !loadedBeforeAnyCode([...recorded.values()], startFacts) }).then(
    (findings) => {
      for (const finding of findings) record(finding);
    },
    () => undefined,
  );

  const handle: Lockdown = {
    policy: engine.policy,
    onTamper,
    ready,
    findings: () => {
      settleProof();
      return [...recorded.values()].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.key.localeCompare(b.key));
    },
    blockingFinding,
    check: () => {
      if (released) return undefined;
      settleProof();
      refresh();
      return onTamper === 'block' ? blockingFinding() : undefined;
    },
    recheck: () => {
      guarded(() => assess());
      return [...recorded.values()];
    },
    release() {
      if (released) return;
      if (freeze) throw new WirelockError('ERR_USAGE', 'a lockdown started with freeze: true cannot be released (its properties are non-configurable)');
      released = true;
      for (const [name, { descriptor, trap, read }] of trapped) {
        const slot = SLOTS.find((candidate) => candidate.name === name)!;
        const now = pristine.getOwnPropertyDescriptor(slot.target, slot.key);
        if (now?.get !== trap.get) continue;
        if (descriptor.get) Object.defineProperty(slot.target, slot.key, descriptor);
        else Object.defineProperty(slot.target, slot.key, { value: read(), writable: true, enumerable: descriptor.enumerable ?? false, configurable: true });
      }
      for (const [name, descriptor] of originals) {
        const slot = SLOTS.find((candidate) => candidate.name === name)!;
        if (readSlot(slot) !== installed.get(name)) continue;
        if (name === 'undici.globalDispatcher' && previousDispatcher === undefined) {
          // Node's fetch may have started using the slot meanwhile: it must never find it empty.
          Object.defineProperty(slot.target, slot.key, { value: new (undici().Agent)() });
          continue;
        }
        if (descriptor) Object.defineProperty(slot.target, slot.key, descriptor);
      }
      for (const restore of dnsRestore) restore();
      for (const restore of handleRestore) restore();
      if (lockedBinding && (process as unknown as { binding?: unknown }).binding === lockedBinding) {
        Object.defineProperty(process, 'binding', { value: originalBinding, writable: true, enumerable: true, configurable: true });
      }
      // The inspector guard stays (installed once per process); with no lockdown active it only forwards.
      if (inspectorJudge === judgeInspectorMessage) inspectorJudge = undefined;
      if (real.workerThreads.Worker === GuardedWorker) Object.defineProperty(real.workerThreads, 'Worker', { value: OriginalWorker, writable: true, enumerable: true, configurable: true });
      if (workerConstructor && workerPrototype.constructor === GuardedWorker) Object.defineProperty(workerPrototype, 'constructor', workerConstructor);
      if (guardedRegister && moduleExports.register === guardedRegister) Object.defineProperty(moduleExports, 'register', registerDescriptor!);
      syncBuiltinESMExports();
      void dispatcher.close().catch(() => undefined);
      if (active === shared) active = undefined;
    },
  };
  // activeLockdown() hands this to any module in the process, a compromised dependency included:
  // releasing through it would switch the guards off without a trace.
  const shared: Lockdown = {
    ...handle,
    release() {
      if (released) return;
      const refused = onTamper === 'block';
      const finding = makeFinding('tamper-attempt', 'high', `lockdown.release() through activeLockdown() ${refused ? 'refused' : 'reported'}`, { calledBy: callerOutsideWirelock() ?? null, applied: !refused }, 'lockdown.release');
      record(finding);
      if (refused) throw new WirelockError('ERR_ENV_COMPROMISED', `${finding.key}: ${finding.title}`, { finding: finding.key, severity: finding.severity });
      handle.release();
    },
  };
  active = shared;
  return handle;
}
