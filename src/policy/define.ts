import { WirelockError } from '../errors.js';
import type { DomainPolicy, Policy, PolicyIssue } from './types.js';
import { validatePolicy, type PolicyFiles } from './validate.js';
import { deepFreeze } from '../freeze.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
const { existsSync, readFileSync } = process.getBuiltinModule('node:fs');
const { dirname, resolve } = process.getBuiltinModule('node:path');

/** The adapter that gives the pure validator access to the file system. */
const diskFiles: PolicyFiles = {
  read(path) {
    try {
      return new Uint8Array(readFileSync(path));
    } catch {
      return undefined;
    }
  },
  exists: (path) => existsSync(path),
};

const validated = new WeakSet<Policy>();

const certificateCopies = new WeakMap<readonly Uint8Array[], readonly Uint8Array[]>();
const expiryTimes = new WeakMap<DomainPolicy, number>();

function snapshot(policy: Policy): void {
  const anchorLists = [policy.trustAnchors, ...policy.domains.map((domain) => domain.trustAnchors), ...(policy.proxy ? [policy.proxy.trustAnchors] : [])];
  for (const list of anchorLists) {
    for (const source of list) if (source.kind === 'file') certificateCopies.set(source.certificates, source.certificates.map((der) => new Uint8Array(der)));
  }
  for (const domain of policy.domains) if (domain.pinsExpire) expiryTimes.set(domain, domain.pinsExpire.getTime());
}

/** The DER a trust-anchor file held when the policy was validated (the policy's own Uint8Arrays stay writable). */
export function privateBytes(certificates: readonly Uint8Array[]): readonly Uint8Array[] {
  return certificateCopies.get(certificates) ?? certificates;
}

/** When a domain's pins expire, as validated (a Date's value can be changed through setTime even when frozen). */
export function pinsExpireTime(domain: DomainPolicy): number | undefined {
  if (!domain.pinsExpire) return undefined;
  return expiryTimes.get(domain) ?? domain.pinsExpire.getTime();
}

/**
 * Freezes the whole object graph of a validated policy (src/freeze.ts). Engines read the policy at
 * every check and lockdown hands it out (activeLockdown().policy): a shallow freeze left `domains` and
 * every nested object writable, so code running later could list its own host or rename a pinned one.
 * Typed arrays (pin digests, trust-anchor DER) and Dates cannot be frozen by Object.freeze: what
 * enforcement reads from them is copied aside here (privateBytes, pinsExpireTime), never read back
 * from the handed-out object.
 */
function seal(policy: Policy): Policy {
  const result = deepFreeze(policy);
  snapshot(result);
  validated.add(result);
  return result;
}

export interface DefineOptions {
  /** Directory relative paths in the policy resolve against (default: the policy file's, else cwd). */
  baseDir?: string;
  /** Path of the document, for messages. */
  source?: string;
  now?: Date;
  /** Environment read by `"proxy": "env"` (default process.env). */
  env?: Record<string, string | undefined>;
}

function invalid(issues: PolicyIssue[], source: string | undefined): WirelockError {
  const errors = issues.filter((issue) => issue.severity === 'error');
  const where = source ?? '<policy>';
  const lines = errors.map((issue) => `  ${where}#${issue.pointer || '/'}: ${issue.message}`);
  return new WirelockError('ERR_POLICY_INVALID', `invalid policy ${where} (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
    file: source,
    pointer: errors[0]?.pointer ?? '',
    issues: errors,
  });
}

/** Validates a policy document (already parsed JSON) and returns the normalized policy. */
export function definePolicy(document: unknown, options: DefineOptions = {}): Policy {
  if (isPolicy(document)) return document;
  const baseDir = options.baseDir ?? (options.source ? dirname(resolve(options.source)) : process.cwd());
  const { policy, issues } = validatePolicy(document, { baseDir, files: diskFiles, now: options.now ?? new Date(), env: options.env ?? process.env });
  if (!policy) throw invalid(issues, options.source);
  return seal({ ...policy, source: options.source ? resolve(options.source) : undefined });
}

/**
 * The same policy, always enforced: what wirelock's own requests (violation reports) go out under.
 * Report-only mode exists so an app's traffic is never blocked by a policy being tried out; it must not
 * make wirelock trust what plain Node trusts (NODE_EXTRA_CA_CERTS, the system store) for its own traffic.
 */
export function enforcedPolicy(document: unknown): Policy {
  const base = definePolicy(document);
  return seal({ ...base, mode: 'enforce' as const, domains: base.domains.map((domain) => ({ ...domain, mode: 'enforce' as const })) });
}

/** True for a Policy returned by definePolicy/loadPolicy (never for a hand-built object). */
export function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && validated.has(value as Policy);
}

/** Parses policy file text; a syntax error names the file, line and column. */
export function parsePolicyText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    let where = '';
    if (position) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset).split('\n');
      where = ` at line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
    }
    throw new WirelockError('ERR_POLICY_INVALID', `${source}: not valid JSON${where}: ${message}`, { file: source, pointer: '' });
  }
}

function readFailed(path: string, error: unknown): WirelockError {
  return new WirelockError('ERR_POLICY_INVALID', `cannot read policy file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
    file: path,
    pointer: '',
  });
}

export async function loadPolicy(path: string, options: Omit<DefineOptions, 'source'> = {}): Promise<Policy> {
  let text: string;
  try {
    // node:fs/promises is loaded here, not at import: loadPolicySync and register never need it.
    text = await process.getBuiltinModule('node:fs/promises').readFile(path, 'utf8');
  } catch (error) {
    throw readFailed(path, error);
  }
  return definePolicy(parsePolicyText(text, path), { ...options, source: path });
}

export function loadPolicySync(path: string, options: Omit<DefineOptions, 'source'> = {}): Policy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw readFailed(path, error);
  }
  return definePolicy(parsePolicyText(text, path), { ...options, source: path });
}

/** Every problem in a policy file at once (errors and warnings), for `wirelock policy lint`. */
export function lintPolicyDocument(document: unknown, options: DefineOptions = {}): PolicyIssue[] {
  const baseDir = options.baseDir ?? (options.source ? dirname(resolve(options.source)) : process.cwd());
  return validatePolicy(document, { baseDir, files: diskFiles, now: options.now ?? new Date(), env: options.env ?? process.env }).issues;
}
