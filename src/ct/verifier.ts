import { WirelockError } from '../errors.js';
import type { CtPolicyName } from '../policy/types.js';
import { parseCertificate } from '../x509/certificate.js';
import { content } from '../x509/der.js';
import { operatorAt, type CtLog, type LogList } from './loglist.js';
import { sctListsFromOcspResponse } from './ocsp.js';
import { evaluateCtPolicy, type CtPolicyResult, type SctVerdict } from './policy.js';
import { OID_EMBEDDED_SCT_LIST, parseSctList, parseSctListExtension, type Sct, type SctListEntry, type SctOrigin } from './sct.js';
import { precertEntry, verifySctSignature, type SignatureCheck, type SignedEntry } from './verify.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { createHash, X509Certificate } = process.getBuiltinModule('node:crypto');
type X509Certificate = InstanceType<typeof X509Certificate>;

/**
 * Verifies a certificate's SCTs against one log list. The expensive, time-independent part
 * (parsing, signature checks) is cached per (leaf, issuer, stapled data) for this list, so a
 * repeated handshake only re-runs the clock- and policy-dependent judgement.
 */

export interface CtChainInput {
  leaf: Uint8Array;
  /** The leaf's issuer from the verified path; without it embedded SCTs cannot be verified. */
  issuer: Uint8Array | undefined;
  ocspResponse?: Uint8Array | undefined;
  /** A TLS `signed_certificate_timestamp` extension body, where a stack provides one. */
  tlsSctList?: Uint8Array | undefined;
  /** SHA-256 (hex) of `leaf` / `issuer` when the caller already has it (the transport does). */
  leafFingerprint?: string | undefined;
  issuerFingerprint?: string | undefined;
}

export interface CtCheckOptions {
  policy: CtPolicyName;
  minScts: number | undefined;
}

export interface CtEvaluation {
  compliant: boolean;
  policy: CtPolicyName;
  listVersion: string;
  scts: SctVerdict[];
  result: CtPolicyResult;
  /** Human summary: the failures, then one line per SCT. */
  message: string;
  /** Whether this evaluation reused cached signature checks. */
  cached: boolean;
}

export interface CheckedSct {
  origin: SctOrigin;
  /** Base64 log id, computed once. */
  logId: string | undefined;
  sct: Sct | undefined;
  parseError: string | undefined;
  log: CtLog | undefined;
  signature: SignatureCheck | undefined;
}

interface Judged {
  scts: SctVerdict[];
  result: CtPolicyResult;
  message: () => string;
}

interface CheckedChain {
  scts: CheckedSct[];
  notBefore: number;
  notAfter: number;
  /**
   * The instants at which a verdict can change with the clock: each SCT's timestamp (before it, the
   * SCT is from the future) and each retirement of a log with an SCT here (before it, the log is
   * still approved). Between two of them the verdict for given options is constant, so it is kept.
   */
  boundaries: number[];
  judged: Map<string, Judged & { from: number; until: number }>;
}

const CACHE_LIMIT = 1024;

function sha256(bytes: Uint8Array | undefined): string {
  return bytes ? createHash('sha256').update(bytes).digest('hex') : '-';
}

function leafSerial(parts: ReturnType<typeof parseCertificate>): Uint8Array | undefined {
  const hasVersion = parts.tbsFields[0]?.tag === 0xa0;
  const node = parts.tbsFields[hasVersion ? 1 : 0];
  return node ? content(node) : undefined;
}

export class CtVerifier {
  readonly list: LogList;
  readonly #cache = new Map<string, CheckedChain>();

  constructor(list: LogList) {
    this.list = list;
  }

  get cacheSize(): number {
    return this.#cache.size;
  }

  #check(input: CtChainInput): { chain: CheckedChain; cached: boolean } {
    // Keyed by the leaf fingerprint and everything else the signatures depend on; the list is fixed
    // per verifier, so the list version is part of the key implicitly.
    const key = `${input.leafFingerprint ?? sha256(input.leaf)}|${input.issuer ? input.issuerFingerprint ?? sha256(input.issuer) : '-'}|${sha256(input.ocspResponse?.length ? input.ocspResponse : undefined)}|${sha256(input.tlsSctList?.length ? input.tlsSctList : undefined)}`;
    const hit = this.#cache.get(key);
    if (hit) return { chain: hit, cached: true };
    const parts = parseCertificate(input.leaf);
    const x509 = new X509Certificate(input.leaf);
    const scts: CheckedSct[] = [];
    const add = (origin: SctOrigin, load: () => SctListEntry[], entry: () => SignedEntry | string): void => {
      let entries: SctListEntry[];
      try {
        entries = load();
      } catch (error) {
        if (!(error instanceof WirelockError)) throw error;
        scts.push({ origin, logId: undefined, sct: undefined, parseError: error.message, log: undefined, signature: undefined });
        return;
      }
      let signed: SignedEntry | string | undefined;
      const once = (): SignedEntry | string => (signed ??= entry());
      for (const item of entries) scts.push(checkSct(origin, item, this.list, once));
    };
    const embedded = parts.extensions.find((ext) => ext.oid === OID_EMBEDDED_SCT_LIST);
    if (embedded) {
      add('embedded', () => parseSctListExtension(embedded.value), () => {
        if (!input.issuer) return 'the issuer certificate is not available, so the precertificate entry cannot be rebuilt';
        try {
          return precertEntry(input.leaf, input.issuer);
        } catch (error) {
          return `cannot rebuild the precertificate entry: ${(error as Error).message}`;
        }
      });
    }
    // Node reports "no stapled response" as an empty buffer.
    if (input.ocspResponse && input.ocspResponse.length > 0) {
      const ocsp = input.ocspResponse;
      add('ocsp', () => sctListsFromOcspResponse(ocsp, leafSerial(parts)), () => ({ type: 'x509', certificate: input.leaf }));
    }
    if (input.tlsSctList && input.tlsSctList.length > 0) {
      const list = input.tlsSctList;
      add('tls', () => parseSctList(list), () => ({ type: 'x509', certificate: input.leaf }));
    }
    const boundaries = scts.flatMap((checked) => [
      ...(checked.sct ? [checked.sct.timestamp] : []),
      ...(checked.log?.state?.name === 'retired' ? [checked.log.state.timestamp] : []),
    ]);
    const chain: CheckedChain = { scts, notBefore: Date.parse(x509.validFrom), notAfter: Date.parse(x509.validTo), boundaries, judged: new Map() };
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(key, chain);
    return { chain, cached: false };
  }

  /** Judges every SCT of `input` at `now` and applies the CT policy. */
  evaluate(input: CtChainInput, now: Date, options: CtCheckOptions): CtEvaluation {
    const { chain, cached } = this.#check(input);
    const at = now.getTime();
    const optionsKey = `${options.policy}|${options.minScts ?? ''}`;
    let judged = chain.judged.get(optionsKey);
    if (!judged || at < judged.from || at >= judged.until) {
      const scts = chain.scts.map((checked) => judgeSct(checked, at, chain.notAfter, this.list));
      const result = evaluateCtPolicy(options.policy, scts, chain, options.minScts);
      const list = this.list;
      let text: string | undefined;
      const from = Math.max(-Infinity, ...chain.boundaries.filter((b) => b <= at));
      const until = Math.min(Infinity, ...chain.boundaries.filter((b) => b > at));
      // The text is built only when someone reads it (a failure, a report, the CLI).
      judged = { scts, result, message: () => (text ??= describe(result, scts, list)), from, until };
      chain.judged.set(optionsKey, judged);
    }
    const { scts, result, message } = judged;
    return {
      compliant: result.compliant,
      policy: options.policy,
      listVersion: this.list.version,
      scts,
      result,
      get message() {
        return message();
      },
      cached,
    };
  }
}

/** Parses nothing, checks the signature: the time-independent part of one SCT's verdict. */
export function checkSct(origin: SctOrigin, item: SctListEntry, list: LogList, entry: () => SignedEntry | string): CheckedSct {
  if (!item.sct) return { origin, logId: undefined, sct: undefined, parseError: item.error, log: undefined, signature: undefined };
  const logId = Buffer.from(item.sct.logId).toString('base64');
  const log = list.logs.get(logId);
  let signature: SignatureCheck | undefined;
  if (log) {
    const signed = entry();
    signature = typeof signed === 'string' ? { ok: false, reason: signed } : verifySctSignature(item.sct, signed, log.key);
  }
  return { origin, logId, sct: item.sct, parseError: undefined, log, signature };
}

/** The embedded SCTs of a certificate, parsed but not verified (for display when CT is not configured). */
export function listEmbeddedScts(leaf: Uint8Array): Array<{ logId: string | null; origin: SctOrigin; timestamp: string | null; error?: string }> {
  const ext = parseCertificate(leaf).extensions.find((candidate) => candidate.oid === OID_EMBEDDED_SCT_LIST);
  if (!ext) return [];
  try {
    return parseSctListExtension(ext.value).map((entry) =>
      entry.sct
        ? { logId: Buffer.from(entry.sct.logId).toString('base64'), origin: 'embedded' as const, timestamp: new Date(entry.sct.timestamp).toISOString() }
        : { logId: null, origin: 'embedded' as const, timestamp: null, error: entry.error },
    );
  } catch (error) {
    return [{ logId: null, origin: 'embedded', timestamp: null, error: (error as Error).message }];
  }
}

/** The certificate among `candidates` that issued `leaf` (name match and a verifying signature). */
export function findIssuer(leaf: Uint8Array, candidates: Uint8Array[]): Uint8Array | undefined {
  const child = new X509Certificate(leaf);
  return candidates.find((der) => {
    try {
      const issuer = new X509Certificate(der);
      return child.checkIssued(issuer) && child.verify(issuer.publicKey);
    } catch {
      return false;
    }
  });
}

export function judgeSct(checked: CheckedSct, now: number, leafNotAfter: number, list: LogList): SctVerdict {
  const { sct, log } = checked;
  const base = {
    origin: checked.origin,
    logId: checked.logId,
    logName: log?.description,
    operator: log && sct ? operatorAt(log, sct.timestamp) : undefined,
    timestamp: sct?.timestamp,
    signatureValid: checked.signature?.ok,
    currentlyApproved: false,
    tiled: log?.tiled ?? false,
  };
  if (!sct) return { ...base, status: 'malformed', reason: checked.parseError ?? 'malformed SCT' };
  if (!log) return { ...base, status: 'unknown-log', reason: `log ${base.logId} is not in the log list (version ${list.version})` };
  if (checked.signature && !checked.signature.ok) return { ...base, status: 'invalid-signature', reason: checked.signature.reason };
  if (sct.timestamp > now) return { ...base, status: 'future', reason: `timestamp ${new Date(sct.timestamp).toISOString()} is in the future` };
  if (log.logType === 'test' || log.logType === 'monitoring_only') {
    return { ...base, status: 'log-not-usable', reason: `the log is a ${log.logType} log` };
  }
  if (log.temporalInterval && (leafNotAfter < log.temporalInterval.start || leafNotAfter >= log.temporalInterval.end)) {
    return { ...base, status: 'log-not-usable', reason: 'the certificate expires outside the log\'s temporal interval' };
  }
  const state = log.state;
  if (!state || state.name === 'pending') return { ...base, status: 'log-not-usable', reason: 'the log is pending (not yet approved)' };
  if (state.name === 'rejected') return { ...base, status: 'log-not-usable', reason: `the log was rejected on ${new Date(state.timestamp).toISOString()}` };
  if (state.name === 'retired') {
    if (sct.timestamp >= state.timestamp) {
      return { ...base, status: 'log-not-usable', reason: `the SCT was issued after the log retired on ${new Date(state.timestamp).toISOString()}` };
    }
    // Judged at a time before the retirement (e.g. `wirelock ct --at`), the log was still approved.
    return { ...base, status: 'valid', reason: `log retired on ${new Date(state.timestamp).toISOString()}, SCT issued before`, currentlyApproved: now < state.timestamp };
  }
  return { ...base, status: 'valid', reason: `log is ${state.name}`, currentlyApproved: true };
}

function describe(result: CtPolicyResult, scts: SctVerdict[], list: LogList): string {
  const head = result.compliant
    ? `complies with the ${result.policy} CT policy`
    : `certificate does not comply with the ${result.policy} CT policy (log list ${list.version}): ${result.failures.join('; ')}`;
  const lines = scts.length === 0
    ? ['  no SCTs (none embedded in the certificate, none stapled in OCSP)']
    : scts.map((sct, index) => {
        const when = sct.timestamp === undefined ? '' : ` ${new Date(sct.timestamp).toISOString()}`;
        const who = sct.logName ? `${sct.logName} (${sct.operator})` : sct.logId ?? 'unknown log';
        const counts = sct.status === 'valid' ? 'counts' : 'does not count';
        return `  SCT #${index + 1} [${sct.origin}] ${who}${when}: ${sct.status}, ${counts}: ${sct.reason}`;
      });
  return [head, ...lines].join('\n');
}
