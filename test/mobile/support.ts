import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { loadPolicy } from '../../src/policy/define.js';
import { registryLength } from '../../src/mobile/trustkit.js';

export const fixtures = join(process.cwd(), 'test', 'fixtures', 'mobile');
export const vectors = join(process.cwd(), 'test', 'vectors');
export const everyFeatureFile = join(fixtures, 'every-feature.wirelock.json');
export const loadEveryFeature = () => loadPolicy(everyFeatureFile, { now: new Date('2026-11-01T00:00:00Z') });

/** Compares with a golden file; WIRELOCK_UPDATE_GOLDEN=1 rewrites it (review the diff). */
export function assertGolden(name: string, actual: string): void {
  const path = join(fixtures, 'golden', name);
  if (process.env.WIRELOCK_UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.CI && !existsSync(path)) assert.fail(`golden file ${name} is missing`);
    writeFileSync(path, actual);
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from golden file ${name}`);
}

/**
 * TrustKit's own rules, written from its source for these tests (not wirelock's model):
 * configuration_utils.m:18-56 isSubdomain (TrustKit 3.0.7, c48790f; dot boundary since 1.5.3
 * cc0b100, same suffix text since 1.5.1 c3b3ce0), :58-100 getPinningConfigurationKeyForDomain
 * (longest match since 1.6.2 96045ef), parse_configuration.m:221-234 (an exclusion needs a parent).
 */
export function trustKitDomainKey(host: string, domains: Record<string, { TSKIncludeSubdomains?: unknown }>): string | undefined {
  if (domains[host] !== undefined) return host;
  let best: string | undefined;
  let bestLength = 0;
  for (const [name, entry] of Object.entries(domains)) {
    if (entry.TSKIncludeSubdomains !== true || host.length <= name.length) continue;
    const length = registryLength(name);
    if (length === 0 || registryLength(host) !== length || name.slice(-length) !== host.slice(-length)) continue;
    const label = `.${name.slice(0, name.length - length - 1)}`;
    if (host.slice(0, host.length - length - 1).endsWith(label) && label.length > bestLength) {
      best = name;
      bestLength = label.length;
    }
  }
  return best;
}

/** The policy both Expo tests build a project from: a pinned API with subdomains and a private CA. */
export const EXPO_PINS = [
  { pin: 'sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=', role: 'ca' },
  { pin: 'sha256/13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs=', role: 'ca' },
];
export const expoPolicyDocument = {
  version: 1,
  domains: {
    'api.example.com': { includeSubdomains: true, pins: EXPO_PINS, pinsExpire: '2031-06-01' },
    'corp.example': { trustAnchors: ['./certs/corp-root.pem'], pins: EXPO_PINS },
  },
};
