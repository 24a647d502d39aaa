/**
 * CVSS base scores from vector strings, so severity comes from the vector an advisory carries and
 * not from a label someone typed. v3.0/v3.1 follow the FIRST specification formulas; v4.0 uses the
 * FIRST MacroVector lookup (cvss4.ts).
 */
import { cvss4BaseScore } from './cvss4.js';

/** "info" is for findings worth reading that are not defects (a known instrumentation library). */
export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info' | 'none' | 'unknown';
export const SEVERITY_ORDER: readonly Severity[] = ['none', 'info', 'low', 'medium', 'high', 'critical'];

/**
 * Rank for sorting and for --fail-on. An advisory with no usable severity ranks as high: not
 * knowing how bad it is must not let it through a gate.
 */
export function severityRank(severity: Severity): number {
  return severity === 'unknown' ? SEVERITY_ORDER.indexOf('high') : SEVERITY_ORDER.indexOf(severity);
}

/** Qualitative rating shared by v3.x and v4.0 (specification section 5). */
export function ratingOf(score: number): Severity {
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

const V3 = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

/** CVSS v3.1 Roundup (Appendix A): avoids floating-point artefacts such as 4.000000000001 -> 4.1. */
function roundUp(value: number): number {
  const integer = Math.round(value * 100000);
  return integer % 10000 === 0 ? integer / 100000 : (Math.floor(integer / 10000) + 1) / 10;
}

function parseVector(vector: string, prefix: RegExp): Map<string, string> | undefined {
  if (!prefix.test(vector)) return undefined;
  const metrics = new Map<string, string>();
  for (const part of vector.split('/').slice(1)) {
    const [key, value] = part.split(':');
    if (!key || !value || metrics.has(key)) return undefined;
    metrics.set(key, value);
  }
  return metrics;
}

export function cvss3BaseScore(vector: string): number | undefined {
  const m = parseVector(vector, /^CVSS:3\.[01]\//);
  if (!m) return undefined;
  const av = V3.AV[m.get('AV') as keyof typeof V3.AV];
  const ac = V3.AC[m.get('AC') as keyof typeof V3.AC];
  const ui = V3.UI[m.get('UI') as keyof typeof V3.UI];
  const scope = m.get('S');
  const pr = m.get('PR');
  const [c, i, a] = ['C', 'I', 'A'].map((k) => V3.CIA[m.get(k) as keyof typeof V3.CIA]);
  if (av === undefined || ac === undefined || ui === undefined || c === undefined || i === undefined || a === undefined) return undefined;
  if (scope !== 'U' && scope !== 'C') return undefined;
  const prValue = pr === 'N' ? 0.85 : pr === 'L' ? (scope === 'C' ? 0.68 : 0.62) : pr === 'H' ? (scope === 'C' ? 0.5 : 0.27) : undefined;
  if (prValue === undefined) return undefined;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  const exploitability = 8.22 * av * ac * prValue * ui;
  if (impact <= 0) return 0;
  return scope === 'U' ? roundUp(Math.min(impact + exploitability, 10)) : roundUp(Math.min(1.08 * (impact + exploitability), 10));
}

/** One rating an advisory carries: a CVSS vector (scored here) or the publisher's own label. */
export interface Rating {
  type: 'CVSS_V4' | 'CVSS_V3' | 'LABEL';
  severity: Severity;
  score?: number;
  vector?: string;
  /** The label as the record writes it (GHSA's "MODERATE"). */
  label?: string;
}

const LABELS: Record<string, Severity> = { LOW: 'low', MODERATE: 'medium', MEDIUM: 'medium', HIGH: 'high', CRITICAL: 'critical' };

/**
 * Every rating a record gives, v4 first, then v3, then the label. None is preferred over another:
 * the gate uses the highest (highestRating), because a publisher that labels an advisory MODERATE
 * while its v4 vector computes 2.3 has not said it is low, and a gate must never be weaker than
 * the record's own label. Vectors that do not parse are left out rather than guessed.
 */
export function osvRatings(entries: ReadonlyArray<{ type?: unknown; score?: unknown }> | undefined, label?: unknown): Rating[] {
  const out: Rating[] = [];
  for (const type of ['CVSS_V4', 'CVSS_V3'] as const) {
    for (const entry of entries ?? []) {
      if (entry.type !== type || typeof entry.score !== 'string') continue;
      const score = type === 'CVSS_V4' ? cvss4BaseScore(entry.score) : cvss3BaseScore(entry.score);
      if (score === undefined || out.some((r) => r.vector === entry.score)) continue;
      out.push({ type, severity: ratingOf(score), score, vector: entry.score });
    }
  }
  const labelled = typeof label === 'string' ? LABELS[label.toUpperCase()] : undefined;
  if (labelled) out.push({ type: 'LABEL', severity: labelled, label: String(label) });
  return out;
}

/** The rating the gate uses: the highest; ties go to the first listed (v4, then v3, then the label). */
export function highestRating(ratings: readonly Rating[]): Rating | undefined {
  let best: Rating | undefined;
  for (const rating of ratings) if (!best || severityRank(rating.severity) > severityRank(best.severity)) best = rating;
  return best;
}

export function describeRating(rating: Rating): string {
  if (rating.type === 'LABEL') return `label ${rating.label} (${rating.severity})`;
  return `CVSS ${rating.type === 'CVSS_V4' ? 'v4' : 'v3'} ${rating.score!.toFixed(1)} (${rating.severity})`;
}
