import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { loadPolicy } from '../../src/policy/define.js';

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
