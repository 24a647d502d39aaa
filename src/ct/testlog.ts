import { createHash, randomBytes, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { bitString, children, content, explicit, nullValue, octetString, oid, parseDer, seq, tlv } from '../x509/der.js';
import { buildTbsCertificate, generateKeys, issueCertificate, type CertificateRequest, type IssuedCertificate, type KeyAlgorithm, type KeyPair } from '../x509/issue.js';
import type { LogStateName } from './loglist.js';
import { HASH_SHA256, OID_EMBEDDED_SCT_LIST, OID_OCSP_SCT_LIST, OID_PRECERT_POISON, serializeSct, serializeSctList, SIG_ECDSA, SIG_RSA, type Sct } from './sct.js';
import { issuerKeyHash, precertTbs, signedData, type SignedEntry } from './verify.js';

/**
 * Test CT logs: real log keys, a signed v3 log list naming them, and certificates whose embedded
 * SCTs those logs really signed over the precertificate entry. Used by the tests and by the attack
 * lab (certificates without SCTs, SCTs from an unknown log, forged SCTs). Fresh keys every run.
 */

export interface TestLog {
  description: string;
  operator: string;
  keys: KeyPair;
  /** DER SubjectPublicKeyInfo of the log key. */
  publicKeyDer: Uint8Array;
  logId: Uint8Array;
  logIdBase64: string;
  state: LogStateName | 'none';
  /** When the log entered `state` (default: 30 days ago). */
  stateTimestamp: Date;
  tiled: boolean;
  temporalInterval: { start: Date; end: Date } | undefined;
  previousOperators: Array<{ name: string; endTime: Date }>;
}

export interface TestLogOptions {
  name: string;
  operator: string;
  /** RFC 6962 logs use ECDSA P-256 or RSA. */
  keyAlgorithm?: Extract<KeyAlgorithm, 'ec-p256' | 'rsa-2048'>;
  state?: LogStateName | 'none';
  stateTimestamp?: Date;
  tiled?: boolean;
  temporalInterval?: { start: Date; end: Date };
  previousOperators?: Array<{ name: string; endTime: Date }>;
}

export function createTestLog(options: TestLogOptions): TestLog {
  const keys = generateKeys(options.keyAlgorithm ?? 'ec-p256');
  const publicKeyDer = new Uint8Array(keys.publicKey.export({ type: 'spki', format: 'der' }));
  const logId = new Uint8Array(createHash('sha256').update(publicKeyDer).digest());
  return {
    description: options.name,
    operator: options.operator,
    keys,
    publicKeyDer,
    logId,
    logIdBase64: Buffer.from(logId).toString('base64'),
    state: options.state ?? 'usable',
    stateTimestamp: options.stateTimestamp ?? new Date(Date.now() - 30 * 864e5),
    tiled: options.tiled ?? false,
    temporalInterval: options.temporalInterval,
    previousOperators: options.previousOperators ?? [],
  };
}

export interface LogListOptions {
  /** Signs the list; a fresh ECDSA P-256 key when omitted. */
  signingKey?: KeyPair;
  version?: string;
  /** `log_list_timestamp` (default now); `null` omits it, as Apple's list does. */
  timestamp?: Date | null;
}

export interface WrittenLogList {
  /** The v3 JSON text, byte for byte what was signed. */
  json: string;
  bytes: Uint8Array;
  /** Detached signature over `bytes` (the `<logList>.sig` file). */
  signature: Uint8Array;
  /** PEM SubjectPublicKeyInfo of the signing key (the policy's `logListKey`). */
  publicKeyPem: string;
  signingKey: KeyPair;
}

function logEntry(log: TestLog): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    description: log.description,
    log_id: log.logIdBase64,
    key: Buffer.from(log.publicKeyDer).toString('base64'),
    ...(log.tiled
      ? { submission_url: `https://${log.logIdBase64.slice(0, 8).replace(/[^A-Za-z0-9]/g, 'x')}.ct.invalid/`, monitoring_url: 'https://monitoring.ct.invalid/' }
      : { url: 'https://ct.invalid/' }),
    mmd: log.tiled ? 60 : 86400,
  };
  if (log.state !== 'none') entry.state = { [log.state]: { timestamp: log.stateTimestamp.toISOString().replace(/\.\d{3}Z$/, 'Z') } };
  if (log.temporalInterval) {
    entry.temporal_interval = { start_inclusive: log.temporalInterval.start.toISOString(), end_exclusive: log.temporalInterval.end.toISOString() };
  }
  if (log.previousOperators.length > 0) {
    entry.previous_operators = log.previousOperators.map((previous) => ({ name: previous.name, end_time: previous.endTime.toISOString() }));
  }
  return entry;
}

/** A v3 log list (Google's layout) naming `logs`, grouped by operator, with its detached signature. */
export function writeLogList(logs: TestLog[], options: LogListOptions = {}): WrittenLogList {
  const operators = new Map<string, TestLog[]>();
  for (const log of logs) operators.set(log.operator, [...(operators.get(log.operator) ?? []), log]);
  const document = {
    version: options.version ?? `test.${Date.now()}`,
    ...(options.timestamp === null ? {} : { log_list_timestamp: (options.timestamp ?? new Date()).toISOString() }),
    operators: [...operators].map(([name, members]) => ({
      name,
      email: [`ct@${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.invalid`],
      logs: members.filter((log) => !log.tiled).map(logEntry),
      tiled_logs: members.filter((log) => log.tiled).map(logEntry),
    })),
  };
  const json = `${JSON.stringify(document, null, 2)}\n`;
  const bytes = new Uint8Array(Buffer.from(json, 'utf8'));
  const signingKey = options.signingKey ?? generateKeys('ec-p256');
  const signature = new Uint8Array(sign('sha256', bytes, signingKey.privateKey));
  const publicKeyPem = signingKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { json, bytes, signature, publicKeyPem, signingKey };
}

/** Writes `logs.json`, `logs.json.sig` and `logs.pub.pem` into `dir`; returns the paths for a policy. */
export function writeLogListFiles(dir: string, logs: TestLog[], options: LogListOptions = {}): WrittenLogList & { logList: string; logListKey: string; signaturePath: string } {
  mkdirSync(dir, { recursive: true });
  const written = writeLogList(logs, options);
  const logList = join(dir, 'logs.json');
  const logListKey = join(dir, 'logs.pub.pem');
  writeFileSync(logList, written.bytes);
  writeFileSync(`${logList}.sig`, written.signature);
  writeFileSync(logListKey, written.publicKeyPem);
  return { ...written, logList, logListKey, signaturePath: `${logList}.sig` };
}

export type Forgery =
  /** A correct SCT. */
  | false
  /** Signed with a key that is not the log's, under the log's id. */
  | 'wrong-key'
  /** The log's real signature with one byte changed. */
  | 'tampered'
  /** Signed over a different certificate (another TBS). */
  | 'other-certificate';

export interface SctRequest {
  log: TestLog;
  /** Default: the call's timestamp. */
  timestamp?: Date;
  forge?: Forgery;
}

/** An SCT v1 by `log` over `entry`, serialized. */
export function signSct(log: TestLog, entry: SignedEntry, options: { timestamp?: Date; forge?: Forgery; extensions?: Uint8Array } = {}): Uint8Array {
  const fields = { version: 0, timestamp: (options.timestamp ?? new Date(Date.now() - 60_000)).getTime(), extensions: options.extensions ?? new Uint8Array() };
  const signer = options.forge === 'wrong-key' ? generateKeys(log.keys.algorithm) : log.keys;
  const signedEntry: SignedEntry = options.forge === 'other-certificate' && entry.type === 'precert'
    ? { ...entry, tbs: Uint8Array.from([...entry.tbs.subarray(0, -1), entry.tbs[entry.tbs.length - 1]! ^ 1]) }
    : options.forge === 'other-certificate' && entry.type === 'x509'
      ? { type: 'x509', certificate: randomBytes(64) }
      : entry;
  const signature = new Uint8Array(sign('sha256', signedData(fields, signedEntry), signer.privateKey));
  if (options.forge === 'tampered') signature[signature.length - 1]! ^= 0x01;
  const sct: Sct = {
    ...fields,
    logId: log.logId,
    hashAlgorithm: HASH_SHA256,
    signatureAlgorithm: log.keys.algorithm === 'rsa-2048' ? SIG_RSA : SIG_ECDSA,
    signature,
  };
  return serializeSct(sct);
}

export interface IssueWithSctsOptions {
  /** The issuing CA (e.g. `issueChain(...).intermediate`). */
  issuer: IssuedCertificate;
  hostnames: string[];
  /** Logs that sign the precertificate; an entry may carry its own timestamp or forgery. */
  logs: Array<TestLog | SctRequest>;
  /** SCT timestamp (default one minute ago). */
  timestamp?: Date;
  /** Forge every SCT (`true` means 'wrong-key'). */
  forge?: boolean | Forgery;
  keyAlgorithm?: KeyAlgorithm;
  notBefore?: Date;
  notAfter?: Date;
}

export interface CertificateWithScts {
  /** The final certificate with the SCT list embedded. */
  certificate: IssuedCertificate;
  /** The precertificate (poison extension, signed by the same issuer) the logs were shown. */
  precertificate: IssuedCertificate;
  /** Serialized SCTs, in the order of `logs`. */
  scts: Uint8Array[];
  /** PEM of the certificate then its issuer, for `tls.createServer({ cert })`. */
  chainPem: string;
}

/**
 * Issues a precertificate and the final certificate for `hostnames`, with SCTs from `logs`
 * embedded. `logs: []` gives a certificate without an SCT list at all.
 */
export function issueWithScts(options: IssueWithSctsOptions): CertificateWithScts {
  const now = Date.now();
  const request: CertificateRequest = {
    subject: { commonName: options.hostnames[0] ?? 'localhost' },
    keys: generateKeys(options.keyAlgorithm ?? 'ec-p256'),
    issuer: options.issuer,
    dnsNames: options.hostnames.filter((host) => isIP(host) === 0),
    ipAddresses: options.hostnames.filter((host) => isIP(host) !== 0),
    // Fixed here so the precertificate and the final certificate share them.
    notBefore: options.notBefore ?? new Date(Math.floor((now - 3_600_000) / 1000) * 1000),
    notAfter: options.notAfter ?? new Date(Math.floor((now + 90 * 864e5) / 1000) * 1000),
    serial: BigInt(`0x${randomBytes(16).toString('hex')}`) >> 1n,
  };
  const poison = { oid: OID_PRECERT_POISON, critical: true, value: nullValue() };
  const precertificate = issueCertificate({ ...request, extensions: [poison] });
  const { tbs } = buildTbsCertificate(request);
  const entry: SignedEntry = { type: 'precert', issuerKeyHash: issuerKeyHash(options.issuer.der), tbs };
  const forgeAll: Forgery = options.forge === true ? 'wrong-key' : options.forge || false;
  const scts = options.logs.map((item) => {
    const sctRequest: SctRequest = 'keys' in item ? { log: item } : item;
    return signSct(sctRequest.log, entry, { timestamp: sctRequest.timestamp ?? options.timestamp, forge: sctRequest.forge ?? forgeAll });
  });
  const extensions = scts.length === 0 ? [] : [{ oid: OID_EMBEDDED_SCT_LIST, value: octetString(serializeSctList(scts)) }];
  const certificate = issueCertificate({ ...request, extensions });
  if (Buffer.compare(precertTbs(certificate.der), tbs) !== 0) {
    throw new Error('testlog: the final certificate does not reproduce the precertificate TBS');
  }
  return { certificate, precertificate, scts, chainPem: certificate.pem + options.issuer.pem };
}

/**
 * A minimal successful OCSP response for `leaf` ("good"), signed by `issuer`, carrying `scts`
 * (x509 entries over the leaf) in the SingleResponse extension, for stapling tests.
 */
export function ocspResponseWithScts(leaf: IssuedCertificate, issuer: IssuedCertificate, scts: Uint8Array[], now = new Date()): Uint8Array {
  const leafTbs = children(children(parseDer(leaf.der))[0]!);
  const serial = leafTbs[leafTbs[0]!.tag === 0xa0 ? 1 : 0]!;
  const issuerFields = children(children(parseDer(issuer.der))[0]!);
  const issuerName = issuerFields[issuerFields[0]!.tag === 0xa0 ? 5 : 4]!;
  const issuerSpki = issuerFields[issuerFields[0]!.tag === 0xa0 ? 6 : 5]!;
  const keyBits = content(children(issuerSpki)[1]!).subarray(1);
  const sha1 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha1').update(bytes).digest());
  const certId = seq(seq(oid('1.3.14.3.2.26'), nullValue()), octetString(sha1(issuerName.source.subarray(issuerName.start, issuerName.end))), octetString(sha1(keyBits)), tlv(0x02, content(serial)));
  const singleExtensions = explicit(1, seq(seq(oid(OID_OCSP_SCT_LIST), octetString(octetString(serializeSctList(scts))))));
  const single = seq(certId, tlv(0x80), generalizedTime(now), explicit(0, generalizedTime(new Date(now.getTime() + 7 * 864e5))), singleExtensions);
  const responseData = seq(explicit(2, octetString(sha1(keyBits))), generalizedTime(now), seq(single));
  const sigAlg = issuer.keys.algorithm === 'rsa-2048' ? seq(oid('1.2.840.113549.1.1.11'), nullValue()) : seq(oid('1.2.840.10045.4.3.2'));
  const signature = new Uint8Array(sign('sha256', responseData, issuer.keys.privateKey));
  const basic = seq(responseData, sigAlg, bitString(signature));
  return seq(tlv(0x0a, Uint8Array.of(0)), explicit(0, seq(oid('1.3.6.1.5.5.7.48.1.1'), octetString(basic))));
}

function generalizedTime(date: Date): Uint8Array {
  const digits = date.toISOString().slice(0, 19).replace(/[-:T]/g, '');
  return tlv(0x18, new TextEncoder().encode(`${digits}Z`));
}
