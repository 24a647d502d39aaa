import { WirelockError } from '../errors.js';
import type { CertificateTransparencyConfig, DomainPolicy, Policy } from '../policy/types.js';
import { registerCtCheckFactory, type CtCheckFactory } from '../transport/engine.js';
import type { CtOutcome } from '../transport/evaluate.js';
import type { ChainCertificate } from '../x509/chain.js';
import { parseLogList, verifyLogListSignature, type LogList } from './loglist.js';
import type { SctVerdict } from './policy.js';
import { CtVerifier, type CtEvaluation } from './verifier.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { existsSync, readFileSync, statSync } = process.getBuiltinModule('node:fs');

/**
 * The file-reading edge of CT: loads the log list a policy names (checking its detached
 * signature), keeps one verifier per list version, and plugs the check into the transport. Loading
 * this module is what turns CT enforcement on; the transport adapters import it.
 */

const STAT_INTERVAL_MS = 1000;

interface LoadedList {
  stamp: string;
  checkedAt: number;
  verifier: CtVerifier | undefined;
  error: WirelockError | undefined;
}

const loaded = new Map<string, LoadedList>();
const verifiersByDigest = new Map<string, CtVerifier>();

function fileStamp(path: string | undefined): string {
  if (!path) return '-';
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat ? `${stat.mtimeMs}:${stat.size}:${stat.ino}` : 'missing';
}

/**
 * The detached signature of a list: `<list>.sig`, or Google's naming (`all_logs_list.json` is signed
 * by `all_logs_list.sig`) when only that exists.
 */
export function signaturePathFor(logListPath: string): string {
  const appended = `${logListPath}.sig`;
  if (existsSync(appended) || !logListPath.endsWith('.json')) return appended;
  const replaced = `${logListPath.slice(0, -'.json'.length)}.sig`;
  return existsSync(replaced) ? replaced : appended;
}

/** Reads and verifies the log list files; throws ERR_CT_LOG_LIST. */
export function readLogListFiles(logListPath: string, logListKeyPath: string | undefined): LogList {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(logListPath);
  } catch (error) {
    throw new WirelockError('ERR_CT_LOG_LIST', `cannot read the CT log list ${logListPath}: ${(error as Error).message}`, { file: logListPath });
  }
  if (logListKeyPath) {
    const signaturePath = signaturePathFor(logListPath);
    let signature: Uint8Array;
    let key: Uint8Array;
    try {
      signature = readFileSync(signaturePath);
    } catch (error) {
      throw new WirelockError('ERR_CT_LOG_LIST', `cannot read the log list signature ${signaturePath}: ${(error as Error).message}`, { file: signaturePath });
    }
    try {
      key = readFileSync(logListKeyPath);
    } catch (error) {
      throw new WirelockError('ERR_CT_LOG_LIST', `cannot read the log list key ${logListKeyPath}: ${(error as Error).message}`, { file: logListKeyPath });
    }
    verifyLogListSignature(bytes, signature, key, logListPath);
  }
  return parseLogList(bytes, logListPath);
}

/**
 * The verifier for a configuration, re-read when a file changes (an app may update its list in
 * place). A list that fails to load yields the error, so the caller can fail closed.
 */
export function verifierFor(config: Pick<CertificateTransparencyConfig, 'logList' | 'logListKey'>): CtVerifier {
  if (!config.logList) throw new WirelockError('ERR_CT_LOG_LIST', 'CT is enforced but the policy names no "logList"');
  const cacheKey = `${config.logList}|${config.logListKey ?? ''}`;
  let entry = loaded.get(cacheKey);
  const now = Date.now();
  // The files are looked at again at most once per second: a list updated in place takes effect
  // within a second, and a busy client does not pay three stat calls per handshake.
  if (entry && now - entry.checkedAt < STAT_INTERVAL_MS) {
    if (entry.error) throw entry.error;
    return entry.verifier!;
  }
  const stamp = `${fileStamp(config.logList)}|${fileStamp(config.logListKey)}|${fileStamp(config.logListKey ? signaturePathFor(config.logList) : undefined)}`;
  if (entry && entry.stamp === stamp) entry.checkedAt = now;
  if (!entry || entry.stamp !== stamp) {
    try {
      const list = readLogListFiles(config.logList, config.logListKey);
      let verifier = verifiersByDigest.get(list.digest);
      if (!verifier) {
        verifier = new CtVerifier(list);
        verifiersByDigest.set(list.digest, verifier);
      }
      entry = { stamp, checkedAt: now, verifier, error: undefined };
    } catch (error) {
      if (!(error instanceof WirelockError)) throw error;
      entry = { stamp, checkedAt: now, verifier: undefined, error };
    }
    loaded.set(cacheKey, entry);
  }
  if (entry.error) throw entry.error;
  return entry.verifier!;
}

export function listAgeDays(list: LogList, now: Date): number | undefined {
  return list.timestamp ? (now.getTime() - list.timestamp.getTime()) / 86_400_000 : undefined;
}

/** The JSON shape of one SCT, as `wirelock ct --json` prints it. */
export function sctJson(sct: SctVerdict): Record<string, unknown> {
  return {
    logId: sct.logId ?? null,
    logName: sct.logName ?? null,
    operator: sct.operator ?? null,
    origin: sct.origin,
    timestamp: sct.timestamp === undefined ? null : new Date(sct.timestamp).toISOString(),
    status: sct.status,
    reason: sct.reason,
    signatureValid: sct.signatureValid ?? null,
  };
}

export function effectiveCtConfig(domain: DomainPolicy | undefined, policy: Policy): CertificateTransparencyConfig | undefined {
  return domain ? domain.certificateTransparency : policy.certificateTransparency;
}

/** Runs the configured CT check on a verified path. Never throws: a check that cannot run fails. */
export function checkCt(config: CertificateTransparencyConfig, path: ChainCertificate[], ocspResponse: Uint8Array | undefined, now: Date): CtOutcome & { evaluation?: CtEvaluation } {
  let verifier: CtVerifier;
  try {
    verifier = verifierFor(config);
  } catch (error) {
    const message = error instanceof WirelockError ? error.message : String(error);
    return { compliant: false, listStale: false, message: `CT cannot be checked, so the connection is refused: ${message}`, details: { ct: { reason: 'log-list', error: message } } };
  }
  const leaf = path[0];
  if (!leaf) return { compliant: false, listStale: false, message: 'CT cannot be checked: no verified certificate', details: {} };
  const age = listAgeDays(verifier.list, now);
  const listStale = age === undefined || age > config.maxListAgeDays;
  let evaluation: CtEvaluation;
  try {
    evaluation = verifier.evaluate({ leaf: leaf.der, issuer: path[1]?.der, ocspResponse, leafFingerprint: leaf.fingerprint, issuerFingerprint: path[1]?.fingerprint }, now, { policy: config.policy, minScts: config.minScts });
  } catch (error) {
    const message = (error as Error).message;
    return { compliant: false, listStale, message: `CT cannot be checked, so the connection is refused: ${message}`, details: { ct: { reason: 'error', error: message } } };
  }
  const list = verifier.list;
  let details: Record<string, unknown> | undefined;
  // Details and text are built lazily: a compliant handshake never reads them.
  const lazyDetails = (): Record<string, unknown> =>
    (details ??= {
      ct: {
        policy: config.policy,
        listVersion: list.version,
        listAgeDays: age === undefined ? null : Math.floor(age),
        scts: evaluation.scts.map(sctJson),
      },
    });
  const staleText = (): string =>
    age === undefined
      ? `the log list ${list.version} has no timestamp, so its age (limit ${config.maxListAgeDays} days) is unknown`
      : `the log list ${list.version} is ${Math.floor(age)} days old (limit ${config.maxListAgeDays})`;
  let compliant = evaluation.compliant;
  let text = (): string => evaluation.message;
  if (listStale && config.onStaleList === 'fail-closed') {
    compliant = false;
    text = () => `${staleText()} and "onStaleList" is "fail-closed"\n${evaluation.message}`;
  } else if (listStale) {
    // fail-open-report: a stale list lacks new logs, so a failure may be the list's fault; allow, but say so.
    compliant = true;
    text = () => `${staleText()}; CT is not enforced until it is updated (${evaluation.compliant ? 'the certificate complies' : 'the certificate would be refused'})\n${evaluation.message}`;
  }
  return {
    compliant,
    listStale,
    evaluation,
    get message() {
      return text();
    },
    get details() {
      return lazyDetails();
    },
  };
}

export const ctCheckFactory: CtCheckFactory = (domain, policy) => {
  const config = effectiveCtConfig(domain, policy);
  // `"enforce": false` turns CT off for the domain (e.g. one host opting out of a top-level rule).
  if (!config || !config.enforce) return undefined;
  return (path, ocspResponse, now) => checkCt(config, path, ocspResponse, now);
};

registerCtCheckFactory(ctCheckFactory);
