import { createRequire } from 'node:module';

/**
 * CVSS v4.0 base score. v4 scores come from FIRST's MacroVector lookup table (270 entries) plus
 * an interpolation step; ae-cvss-calculator implements it and is checked against FIRST's own
 * calculator, which beats transcribing the table by hand. Loaded on first use: most advisories
 * carry only v3 vectors.
 */
type Cvss4Ctor = new (vector: string) => { calculateScores(): { base?: number } };
let ctor: Cvss4Ctor | undefined;

export function cvss4BaseScore(vector: string): number | undefined {
  if (!/^CVSS:4\.0\//.test(vector)) return undefined;
  ctor ??= (createRequire(import.meta.url)('ae-cvss-calculator') as { Cvss4P0: Cvss4Ctor }).Cvss4P0;
  try {
    const base = new ctor(vector).calculateScores().base;
    return typeof base === 'number' && Number.isFinite(base) ? base : undefined;
  } catch {
    return undefined;
  }
}
