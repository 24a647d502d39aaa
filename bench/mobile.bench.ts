// Mobile generators: what the equivalence self-check costs. For each target, rounds interleaved:
//   generate  the generator alone (baseline: what writing the file without checking it costs)
//   checked   generateTarget(): generate + parse the text back + evaluate the host matrix
// on the every-feature test policy and on a synthetic 200-domain policy. Reported: median ms per
// call and the checked/generate ratio. Target: checked < 1 s for 200 domains (it runs on every
// `wirelock generate` and every `expo prebuild`).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { definePolicy, loadPolicy } from '../src/policy/define.js';
import type { Policy } from '../src/policy/types.js';
import { generateAndroid } from '../src/mobile/android.js';
import { hostMatrix } from '../src/mobile/equivalence.js';
import { generateTarget, TARGETS } from '../src/mobile/generate.js';
import { generateIos } from '../src/mobile/ios.js';
import { generateTrustKit } from '../src/mobile/trustkit.js';
import { formatRow, median } from './support/stats.js';

const ROUNDS = Number(process.env.BENCH_MOBILE_ROUNDS ?? 7);

function syntheticPolicy(domains: number): () => Promise<Policy> {
  const pin = (seed: string) => `sha256/${createHash('sha256').update(seed).digest('base64')}`;
  const entries: Record<string, unknown> = {};
  for (let i = 0; i < domains; i++) {
    entries[`svc${i}.region${i % 7}.example.com`] = {
      includeSubdomains: i % 2 === 0,
      pins: [{ pin: pin(`a${i}`), role: 'ca' }, { pin: pin(`b${i}`), role: 'ca' }],
      ...(i % 3 === 0 ? { pinsExpire: '2031-01-01' } : {}),
      ...(i % 5 === 0 ? { minTlsVersion: 'TLSv1.3' } : {}),
    };
  }
  return async () => definePolicy({ version: 1, domains: entries });
}

const generators = { android: (p: Policy) => generateAndroid(p), ios: (p: Policy) => generateIos(p), trustkit: (p: Policy) => generateTrustKit(p) };

function time(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

export async function run(): Promise<void> {
  // A fresh Policy object per round: the check memoizes wirelock's side per policy object, and a
  // real `wirelock generate` starts cold.
  const policies: Array<[string, () => Promise<Policy>]> = [
    ['every-feature', () => loadPolicy(join(process.cwd(), 'test', 'fixtures', 'mobile', 'every-feature.wirelock.json'))],
    ['200 domains', syntheticPolicy(200)],
  ];
  const widths = [15, 10, 8, 14, 14, 8];
  console.log(formatRow(['policy', 'target', 'hosts', 'generate ms', 'checked ms', 'ratio'], widths));
  for (const [name, load] of policies) {
    const hosts = hostMatrix(await load()).length;
    for (const target of TARGETS) {
      const plain: number[] = [];
      const checked: number[] = [];
      generateTarget(target, await load()); // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        const policy = await load();
        plain.push(time(() => generators[target](policy)));
        checked.push(time(() => generateTarget(target, policy)));
      }
      const a = median(plain);
      const b = median(checked);
      console.log(formatRow([name, target, hosts, a.toFixed(2), b.toFixed(2), (b / a).toFixed(1)], widths));
    }
  }
}
