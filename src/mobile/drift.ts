/**
 * Drift check: does an existing (possibly hand-edited) platform file still say what the policy
 * says? The file is evaluated on the host matrix exactly like freshly generated output; differences
 * that the platform's own limits explain (the generator's warnings) are accepted, anything else is
 * drift. This is what keeps the copies in app repositories from silently diverging.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isIP } from 'node:net';
import { WirelockError } from '../errors.js';
import { normalizeHost } from '../policy/match.js';
import type { Policy } from '../policy/types.js';
import { toPem } from '../x509/certificate.js';
import { ANDROID_XML_PATH, checkNetworkSecurityConfig, parseNetworkSecurityConfig } from './android.js';
import { checkEquivalence, hostMatrix, type EquivalenceReport } from './equivalence.js';
import { generateTarget, type GenerateOptions } from './generate.js';
import { effectiveInfoValues, infoPlistVariantKeys, IOS_PLIST_PATH, nonBooleanFlags } from './ios.js';
import { isPlistDict, parsePlist, type PlistValue } from './plist.js';
import type { GeneratedFile, MobileTarget } from './model.js';
import { TRUSTKIT_JSON_PATH, TRUSTKIT_PLIST_PATH, trustKitConfigurationProblem } from './trustkit.js';

export interface DriftReport {
  file: string;
  /** Problems that make the file unreadable for the platform (Android format rules). */
  formatProblems: string[];
  reports: EquivalenceReport[];
  drifted: boolean;
}

function read(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new WirelockError('ERR_INPUT_INVALID', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file: path });
  }
}

/** The `@raw/` resources an Android XML references, from the res/raw/ beside its res/xml/. */
function androidRaws(xml: string, xmlFile: string): GeneratedFile[] {
  const rawDir = resolve(dirname(xmlFile), '..', 'raw');
  let entries: string[] = [];
  try {
    entries = readdirSync(rawDir);
  } catch {
    // No raw directory: every @raw reference shows up as a missing anchor in the comparison.
  }
  const files: GeneratedFile[] = [];
  for (const match of xml.matchAll(/src="@raw\/([a-z0-9_]+)"/g)) {
    const name = match[1]!;
    const entry = entries.find((e) => e.replace(/\.[^.]*$/, '') === name);
    if (!entry) continue;
    const bytes = read(join(rawDir, entry));
    const text = bytes.toString('latin1');
    files.push({ path: `raw/${name}.pem`, contents: text.includes('-----BEGIN CERTIFICATE-----') ? text : toPem(new Uint8Array(bytes)), role: 'trust anchor' });
  }
  return files;
}

/** Host names an existing platform file configures, in every key variant the platform reads. */
export function namesInFile(target: MobileTarget, file: GeneratedFile): string[] {
  const names: string[] = [];
  const keysOf = (value: PlistValue | undefined) => {
    if (isPlistDict(value)) names.push(...Object.keys(value));
  };
  if (target === 'android') {
    names.push(...parseNetworkSecurityConfig(file.contents).domains.map((d) => d.name));
  } else if (file.path === TRUSTKIT_JSON_PATH) {
    let json: unknown;
    try {
      json = JSON.parse(file.contents);
    } catch {
      return []; // the equivalence check reports the invalid JSON
    }
    if (typeof json === 'object' && json !== null) names.push(...Object.keys(json));
  } else {
    const plist = parsePlist(file.contents, file.path);
    const info = isPlistDict(plist) ? plist : {};
    const base = target === 'ios' ? 'NSAppTransportSecurity' : 'TSKConfiguration';
    for (const key of [base, ...infoPlistVariantKeys(Object.keys(info), base)]) {
      const value = info[key];
      if (!isPlistDict(value)) continue;
      if (target === 'ios') {
        keysOf(value.NSExceptionDomains);
        keysOf(value.NSPinnedDomains);
      } else keysOf(value.TSKPinnedDomains);
    }
  }
  return names;
}

/** Each name, normalized as a device would, and a name one and two labels under it. */
function probesFor(names: string[]): string[] {
  const out: string[] = [];
  for (const raw of names) {
    const name = normalizeHost(raw.trim().replace(/\.$/, '')) ?? raw.toLowerCase();
    if (name === '') continue;
    out.push(name);
    if (isIP(name) === 0) out.push(`www.${name}`, `a.b.${name}`, `a${name}`);
  }
  return out;
}

export function checkDrift(target: MobileTarget, policy: Policy, file: string, options: GenerateOptions & { format?: 'json' | 'plist' } = {}): DriftReport {
  const { result } = generateTarget(target, policy, { ...options, strict: false });
  const text = read(file).toString('utf8');
  let files: GeneratedFile[];
  const formatProblems: string[] = [];
  if (target === 'android') {
    formatProblems.push(...checkNetworkSecurityConfig(text).map((p) => `line ${p.line}: ${p.message}`));
    files = [{ path: ANDROID_XML_PATH, contents: text, role: 'network security config' }, ...androidRaws(text, file)];
  } else if (target === 'ios') {
    files = [{ path: IOS_PLIST_PATH, contents: text, role: 'Info.plist' }];
  } else {
    const format = options.format ?? (text.trimStart().startsWith('{') ? 'json' : 'plist');
    files = [{ path: format === 'json' ? TRUSTKIT_JSON_PATH : TRUSTKIT_PLIST_PATH, contents: text, role: 'TrustKit configuration' }];
  }
  if (target !== 'android' && files[0]!.path !== TRUSTKIT_JSON_PATH) {
    const document = parsePlist(text, file);
    formatProblems.push(...nonBooleanFlags(document));
    if (target === 'trustkit' && isPlistDict(document)) {
      for (const { products, value } of effectiveInfoValues(document, 'TSKConfiguration')) {
        const problem = trustKitConfigurationProblem(value ?? {});
        if (problem) formatProblems.push(`TSKConfiguration${products.length < 3 ? ` (${products.join(', ')})` : ''}: TrustKit raises while loading it (the app dies at launch): ${problem}`);
        // TrustKit.m:106 (3.0.7): without swizzling TrustKit validates only where the app calls TSKPinningValidator itself.
        if (!problem && !(isPlistDict(value) && value.TSKSwizzleNetworkDelegates === true)) formatProblems.push(`TSKConfiguration${products.length < 3 ? ` (${products.join(', ')})` : ''}: TSKSwizzleNetworkDelegates is not YES, so TrustKit pins only connections whose delegate calls its validator; the generated file sets it`);
      }
    }
  }
  if (target !== 'android') {
    // TrustKit compares names as written, and how ATS treats a key in another case or with a
    // trailing dot is not documented: a name not in canonical form may or may not match, so a
    // checker cannot say what the device applies. The generators never write one.
    for (const name of namesInFile(target, files[0]!)) {
      if (normalizeHost(name) !== name) formatProblems.push(`"${name}" is not a canonical host name (lower case, no trailing dot, IDN as punycode "${normalizeHost(name) ?? '?'}"): the platform may not match it as the policy's name`);
    }
  }
  if (formatProblems.length > 0) return { file, formatProblems, reports: [], drifted: true };
  // The policy's host matrix misses names only the file holds (a hand-added entry for a subdomain):
  // every name and key variant in the file is evaluated too.
  const hosts = [...new Set([...hostMatrix(policy), ...probesFor(namesInFile(target, files[0]!))])].sort();
  const reports = checkEquivalence(policy, { target, files, warnings: result.warnings }, hosts);
  return { file, formatProblems, reports, drifted: reports.some((r) => r.unexplained.length > 0) };
}
