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

const PROXY_SETTINGS: Record<MobileTarget, string> = {
  android: "Android's network security config cannot name a proxy: the app uses the device's proxy (Wi-Fi settings, VPN, MDM)",
  ios: 'ATS (Info.plist) cannot name a proxy: URLSession uses the system proxy (Wi-Fi settings, PAC, MDM)',
  trustkit: 'TrustKit cannot name a proxy: URLSession uses the system proxy (Wi-Fi settings, PAC, MDM)',
};

/** The platform configs have no proxy setting: say so, and what still holds through whatever proxy the device uses. */
function proxyWarning(target: MobileTarget, policy: Policy): GenerateWarning {
  const proxy = policy.proxy!;
  const what = proxy.origin === 'env' ? '"proxy": "env"' : `the proxy ${proxy.display}${proxy.noProxy.length ? ', its noProxy list' : ''}${proxy.auth ? ' and its credentials' : ''}`;
  return {
    rule: `${target}/proxy`,
    platform: target,
    pointer: '/proxy',
    scope: {},
    aspects: [],
    message: `${PROXY_SETTINGS[target]}; ${what} is not carried over. Pins and trust anchors still apply end to end through a CONNECT proxy, so a TLS-inspecting proxy is refused for pinned hosts there too.`,
  };
}

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
  if (policy.proxy) result = { ...result, warnings: [...result.warnings, proxyWarning(target, policy)] };
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
