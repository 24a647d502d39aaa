import type { KeyObject } from 'node:crypto';
import { WirelockError } from '../errors.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { createHash, createPublicKey, verify: cryptoVerify } = process.getBuiltinModule('node:crypto');

/**
 * CT log lists in the v3 JSON format, in Google's variant (`log_list_timestamp`, `tiled_logs`,
 * `log_type`) and Apple's (`assetVersion`, `tls_only`, states with `version`). Unknown fields are
 * ignored so a newer list still loads; a structure this code relies on being wrong is an error.
 * Pure: bytes in, structures out.
 */

export type LogStateName = 'pending' | 'qualified' | 'usable' | 'readonly' | 'retired' | 'rejected';
const STATE_NAMES: readonly LogStateName[] = ['pending', 'qualified', 'usable', 'readonly', 'retired', 'rejected'];

export interface CtLog {
  /** Base64 of the 32-byte log id (SHA-256 of the key's DER SPKI). */
  logId: string;
  description: string;
  /** Current operator. */
  operator: string;
  /** Earlier operators with the time they stopped operating the log (ms), oldest first. */
  previousOperators: Array<{ name: string; endTime: number }>;
  key: KeyObject;
  /** `undefined` when the list gives no state: treated like `pending`. */
  state: { name: LogStateName; timestamp: number } | undefined;
  /** Certificates whose notAfter falls outside [start, end) are not accepted by this log. */
  temporalInterval: { start: number; end: number } | undefined;
  /** A static-CT-API (tiled) log. */
  tiled: boolean;
  /** Google marks test and monitoring-only logs; their SCTs never count. */
  logType: string | undefined;
  /** JSON pointer of the log in the list, for messages. */
  pointer: string;
}

export interface LogList {
  /** `version` of the list (Google "87.10", Apple "511"). */
  version: string;
  /** When the list was made; see `timestampSource`. */
  timestamp: Date | undefined;
  /**
   * Apple's list has no timestamp: its age is then judged from the newest state change in it,
   * which is never later than the list itself (so the list is never judged fresher than it is).
   */
  timestampSource: 'log_list_timestamp' | 'newest-state' | 'none';
  logs: Map<string, CtLog>;
  /** SHA-256 (hex) of the list's bytes: identity for caches. */
  digest: string;
  /** Entries that were skipped (bad key, log id not matching the key), with the reason. */
  skipped: Array<{ pointer: string; reason: string }>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(source: string, pointer: string, message: string): WirelockError {
  return new WirelockError('ERR_CT_LOG_LIST', `${source}${pointer ? ` at ${pointer}` : ''}: ${message}`, { file: source, pointer });
}

function time(value: Json | undefined, source: string, pointer: string): number {
  const parsed = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(parsed)) throw invalid(source, pointer, `expected an RFC 3339 time, found ${JSON.stringify(value)}`);
  return parsed;
}

function text(value: Json | undefined, source: string, pointer: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(source, pointer, `expected a non-empty string, found ${JSON.stringify(value)}`);
  return value;
}

function parseState(value: Json | undefined, source: string, pointer: string): CtLog['state'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw invalid(source, pointer, 'expected a state object');
  const names = Object.keys(value).filter((key) => (STATE_NAMES as readonly string[]).includes(key)) as LogStateName[];
  if (names.length !== 1) throw invalid(source, pointer, `expected exactly one of ${STATE_NAMES.join(', ')}, found ${JSON.stringify(Object.keys(value))}`);
  const name = names[0]!;
  const body = value[name];
  if (!isObject(body)) throw invalid(source, `${pointer}/${name}`, 'expected an object with "timestamp"');
  return { name, timestamp: time(body.timestamp, source, `${pointer}/${name}/timestamp`) };
}

export function parseLogList(bytes: Uint8Array | string, source = 'log list'): LogList {
  const raw = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let document: Json;
  try {
    document = JSON.parse(raw.toString('utf8')) as Json;
  } catch (error) {
    throw invalid(source, '', `not JSON (${(error as Error).message})`);
  }
  if (!isObject(document)) throw invalid(source, '', 'expected a JSON object');
  if (!Array.isArray(document.operators)) throw invalid(source, '/operators', 'expected an array of operators');
  const version = typeof document.version === 'string' || typeof document.version === 'number' ? String(document.version) : undefined;
  if (version === undefined) throw invalid(source, '/version', 'expected the list version (a string)');

  const logs = new Map<string, CtLog>();
  const skipped: LogList['skipped'] = [];
  let newestState = 0;
  document.operators.forEach((operator, operatorIndex) => {
    const opPointer = `/operators/${operatorIndex}`;
    if (!isObject(operator)) throw invalid(source, opPointer, 'expected an operator object');
    const operatorName = text(operator.name, source, `${opPointer}/name`);
    for (const field of ['logs', 'tiled_logs'] as const) {
      const entries = operator[field];
      if (entries === undefined) continue;
      if (!Array.isArray(entries)) throw invalid(source, `${opPointer}/${field}`, 'expected an array of logs');
      entries.forEach((entry, logIndex) => {
        const pointer = `${opPointer}/${field}/${logIndex}`;
        if (!isObject(entry)) throw invalid(source, pointer, 'expected a log object');
        const logId = text(entry.log_id, source, `${pointer}/log_id`);
        const keyText = text(entry.key, source, `${pointer}/key`);
        const state = parseState(entry.state, source, `${pointer}/state`);
        if (state) newestState = Math.max(newestState, state.timestamp);
        let temporalInterval: CtLog['temporalInterval'];
        if (entry.temporal_interval !== undefined) {
          const interval = entry.temporal_interval;
          if (!isObject(interval)) throw invalid(source, `${pointer}/temporal_interval`, 'expected an object');
          temporalInterval = {
            start: time(interval.start_inclusive, source, `${pointer}/temporal_interval/start_inclusive`),
            end: time(interval.end_exclusive, source, `${pointer}/temporal_interval/end_exclusive`),
          };
        }
        const previousOperators: CtLog['previousOperators'] = [];
        if (entry.previous_operators !== undefined) {
          if (!Array.isArray(entry.previous_operators)) throw invalid(source, `${pointer}/previous_operators`, 'expected an array');
          entry.previous_operators.forEach((previous, index) => {
            const at = `${pointer}/previous_operators/${index}`;
            if (!isObject(previous)) throw invalid(source, at, 'expected an object');
            previousOperators.push({ name: text(previous.name, source, `${at}/name`), endTime: time(previous.end_time, source, `${at}/end_time`) });
          });
          previousOperators.sort((a, b) => a.endTime - b.endTime);
        }
        const keyDer = Buffer.from(keyText, 'base64');
        let key: KeyObject;
        try {
          key = createPublicKey({ key: keyDer, format: 'der', type: 'spki' });
        } catch (error) {
          skipped.push({ pointer, reason: `key is not a DER SubjectPublicKeyInfo (${(error as Error).message})` });
          return;
        }
        const computedId = createHash('sha256').update(keyDer).digest('base64');
        if (computedId !== Buffer.from(logId, 'base64').toString('base64')) {
          // A log id that does not name its key would let one log's SCTs pass as another's.
          skipped.push({ pointer, reason: `log_id ${logId} is not SHA-256 of the key (${computedId})` });
          return;
        }
        if (logs.has(computedId)) throw invalid(source, `${pointer}/log_id`, `log ${computedId} is listed twice`);
        logs.set(computedId, {
          logId: computedId,
          description: typeof entry.description === 'string' ? entry.description : computedId,
          operator: operatorName,
          previousOperators,
          key,
          state,
          temporalInterval,
          tiled: field === 'tiled_logs',
          logType: typeof entry.log_type === 'string' ? entry.log_type : undefined,
          pointer,
        });
      });
    }
  });

  let timestamp: Date | undefined;
  let timestampSource: LogList['timestampSource'] = 'none';
  if (document.log_list_timestamp !== undefined) {
    timestamp = new Date(time(document.log_list_timestamp, source, '/log_list_timestamp'));
    timestampSource = 'log_list_timestamp';
  } else if (newestState > 0) {
    timestamp = new Date(newestState);
    timestampSource = 'newest-state';
  }
  return { version, timestamp, timestampSource, logs, digest: createHash('sha256').update(raw).digest('hex'), skipped };
}

/** The operator of `log` at `time` (ms), following `previous_operators`. */
export function operatorAt(log: CtLog, time: number): string {
  for (const previous of log.previousOperators) if (time < previous.endTime) return previous.name;
  return log.operator;
}

/**
 * Verifies the detached signature of a log list (Google signs with RSA PKCS#1 v1.5 SHA-256; an
 * ECDSA key works the same way). Throws ERR_CT_LOG_LIST when it does not verify.
 */
export function verifyLogListSignature(listBytes: Uint8Array, signature: Uint8Array, publicKeyPem: string | Uint8Array, source = 'log list'): void {
  let key: KeyObject;
  try {
    key = createPublicKey(typeof publicKeyPem === 'string' ? publicKeyPem : Buffer.from(publicKeyPem));
  } catch (error) {
    throw new WirelockError('ERR_CT_LOG_LIST', `${source}: the log list key is not a PEM public key (${(error as Error).message})`, { file: source });
  }
  let valid = false;
  try {
    valid = cryptoVerify('sha256', listBytes, key, signature);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new WirelockError('ERR_CT_LOG_LIST', `${source}: the log list signature does not verify with the configured key; refusing to use the list`, { file: source });
  }
}
