/**
 * One entry point for the CLI and the Expo plugin: generate for a target, self-check the output
 * against the policy (a difference no warning announces is a generator bug and is never written),
 * and apply --strict / --accept.
 */
import { WirelockError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { generateAndroid, type AndroidOptions } from './android.js';
import { checkEquivalence, type EquivalenceReport } from './equivalence.js';
import { generateIos } from './ios.js';
import type { GenerateResult, GenerateWarning, MobileTarget } from './model.js';
import { generateTrustKit } from './trustkit.js';

export const TARGETS: readonly MobileTarget[] = ['android', 'ios', 'trustkit'];

export interface GenerateOptions {
  android?: AndroidOptions;
  /** Fail on any warning not accepted. */
  strict?: boolean;
  /** Warning rule ids (`android/min-tls`) reviewed and accepted; `--strict` lets them pass. */
  accept?: string[];
}

export interface MobileGeneration {
  result: GenerateResult;
  equivalence: EquivalenceReport[];
  /** Warnings not in `accept`. */
  open: GenerateWarning[];
}

export function generateTarget(target: MobileTarget, policy: Policy, options: GenerateOptions = {}): MobileGeneration {
  let result: GenerateResult;
  switch (target) {
    case 'android':
      result = generateAndroid(policy, options.android);
      break;
    case 'ios':
      result = generateIos(policy);
      break;
    case 'trustkit':
      result = generateTrustKit(policy);
      break;
    default:
      throw new WirelockError('ERR_USAGE', `unknown target "${String(target)}": expected one of ${TARGETS.join(', ')}`);
  }
  const equivalence = checkEquivalence(policy, result);
  const unexplained = equivalence.flatMap((report) => report.unexplained.map((d) => `${report.evaluator} ${d.host} ${d.aspect}: policy ${JSON.stringify(d.expected)}, generated ${JSON.stringify(d.actual)}`));
  if (unexplained.length > 0) {
    throw new WirelockError('ERR_GENERATE_UNSUPPORTED', `the generated ${target} configuration differs from the policy where no warning says so (a wirelock bug; nothing was written):\n  ${unexplained.slice(0, 20).join('\n  ')}`, {
      file: policy.source,
      target,
      differences: unexplained,
    });
  }
  const accepted = new Set(options.accept ?? []);
  const open = result.warnings.filter((warning) => !accepted.has(warning.rule));
  if (options.strict && open.length > 0) {
    throw new WirelockError('ERR_GENERATE_UNSUPPORTED', `${target} cannot express ${open.length} rule${open.length === 1 ? '' : 's'} of the policy (--strict):\n${open.map((w) => `  ${w.rule} (${policy.source ?? '<policy>'}#${w.pointer}): ${w.message}`).join('\n')}`, {
      file: policy.source,
      pointer: open[0]!.pointer,
      target,
      warnings: open,
    });
  }
  return { result, equivalence, open };
}
