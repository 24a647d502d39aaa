/**
 * The Expo config plugin: `"plugins": [["wirelock/expo", { "policy": "./wirelock.json" }]]`.
 * During `expo prebuild` it writes res/xml/network_security_config.xml (and res/raw/ anchors), points
 * the manifest's `android:networkSecurityConfig` at it, and sets Info.plist's NSAppTransportSecurity
 * (and TSKConfiguration with `trustkit: true`). What is written is exactly what `wirelock generate`
 * writes and self-checks; warnings go to Expo's warning list, and `strict` fails the prebuild.
 *
 * `@expo/config-plugins` is passed in (the CommonJS entry loads the project's copy), so wirelock has
 * no dependency on Expo.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { WirelockError } from '../errors.js';
import { loadPolicySync } from '../policy/define.js';
import { generateAndroid, type AndroidOptions } from './android.js';
import { write, writeAndroidResources } from './files.js';
import { generateTarget } from './generate.js';
import { gitIgnored, reincludeRule } from './gitignore.js';
import { infoPlistVariantKeys } from './ios.js';
import { TRUSTKIT_PLIST_PATH } from './trustkit.js';
import type { GenerateResult, GenerateWarning } from './model.js';
import type { Policy } from '../policy/types.js';
import { isPlistDict, parsePlist, type PlistValue } from './plist.js';

export interface WirelockExpoProps {
  /** Policy file, relative to the project root. */
  policy: string;
  /** Fail the prebuild on any warning not in `accept`. */
  strict?: boolean;
  accept?: string[];
  /** `<debug-overrides>` trust for debuggable Android builds: `"user"` or PEM files. */
  debugCertificates?: string[];
  /** Also write TrustKit's TSKConfiguration into Info.plist. */
  trustkit?: boolean;
  /** Platforms to configure (default both). */
  platforms?: Array<'android' | 'ios'>;
  /**
   * Also write a debug-build-type copy (android/app/src/debug/res/xml) whose base-config permits
   * cleartext, so debug builds can load the bundle from Metro over http. Release builds keep the
   * policy's rules.
   */
  debugCleartext?: boolean;
}

/* Structural types for the parts of @expo/config-plugins used here. */
type Config = { _internal?: { projectRoot?: string }; [key: string]: unknown };
type ModConfig<T> = Config & { modResults: T; modRequest: { projectRoot: string; platformProjectRoot: string } };
type Mod<T> = (config: ModConfig<T>) => ModConfig<T> | Promise<ModConfig<T>>;
interface ManifestXml {
  manifest: { application?: Array<{ $: Record<string, string> }> };
}
export interface ConfigPluginsApi {
  withAndroidManifest(config: Config, action: Mod<ManifestXml>): Config;
  withInfoPlist(config: Config, action: Mod<Record<string, unknown>>): Config;
  withDangerousMod(config: Config, action: [string, Mod<unknown>]): Config;
  WarningAggregator: { addWarningAndroid(property: string, text: string): void; addWarningIOS(property: string, text: string): void };
}

export const NETWORK_SECURITY_CONFIG_REF = '@xml/network_security_config';

function invalidProps(message: string): WirelockError {
  return new WirelockError('ERR_USAGE', `wirelock/expo: ${message}`, { plugin: 'wirelock/expo' });
}

function checkProps(props: unknown): WirelockExpoProps {
  if (typeof props !== 'object' || props === null) throw invalidProps('options are required: ["wirelock/expo", { "policy": "./wirelock.json" }]');
  const p = props as Record<string, unknown>;
  const known = ['policy', 'strict', 'accept', 'debugCertificates', 'trustkit', 'platforms', 'debugCleartext'];
  for (const key of Object.keys(p)) if (!known.includes(key)) throw invalidProps(`unknown option "${key}"; expected ${known.join(', ')}`);
  if (typeof p.policy !== 'string' || p.policy === '') throw invalidProps('"policy" must be the path of the policy file');
  const strings = (key: string) => {
    if (p[key] !== undefined && !(Array.isArray(p[key]) && (p[key] as unknown[]).every((v) => typeof v === 'string'))) throw invalidProps(`"${key}" must be an array of strings`);
  };
  strings('accept');
  strings('debugCertificates');
  strings('platforms');
  if (p.platforms && !(p.platforms as string[]).every((v) => v === 'android' || v === 'ios')) throw invalidProps('"platforms" holds "android" and/or "ios"');
  for (const key of ['strict', 'trustkit', 'debugCleartext']) if (p[key] !== undefined && typeof p[key] !== 'boolean') throw invalidProps(`"${key}" must be true or false`);
  return p as unknown as WirelockExpoProps;
}

function report(api: ConfigPluginsApi, platform: 'android' | 'ios', texts: string[]): void {
  for (const text of texts) {
    if (platform === 'android') api.WarningAggregator.addWarningAndroid('wirelock', text);
    else api.WarningAggregator.addWarningIOS('wirelock', text);
  }
}

const warningTexts = (warnings: GenerateWarning[]) => warnings.map((warning) => `${warning.rule}: ${warning.message} (policy ${warning.pointer})`);

/** The policy, with the real cause when a trust anchor file is missing because .gitignore keeps it out of the repository. */
function loadPolicy(policyFile: string, projectRoot: string): Policy {
  try {
    return loadPolicySync(policyFile);
  } catch (error) {
    if (!(error instanceof WirelockError)) throw error;
    const hints: string[] = [];
    for (const match of error.message.matchAll(/cannot read trust anchor file (.+)$/gm)) {
      const path = match[1]!.trim();
      const ignored = gitIgnored(projectRoot, path);
      if (ignored) hints.push(`${path} is ignored by "${ignored.rule}" in ${ignored.file}, so a fresh clone or a cloud build does not have it: add "${reincludeRule(projectRoot, path)}" to ${join(projectRoot, '.gitignore')} and commit the certificate (it is public)`);
    }
    if (hints.length === 0) throw error;
    throw new WirelockError(error.code, `${error.message}\n  ${hints.join('\n  ')}`, error.details);
  }
}

/** Trust-anchor files of the policy that the project's .gitignore would keep out of the repository. */
function ignoredAnchors(policy: Policy, projectRoot: string): string[] {
  const paths = new Set<string>();
  for (const anchors of [policy.trustAnchors, ...policy.domains.map((d) => d.trustAnchors)]) {
    for (const anchor of anchors) if (anchor.kind === 'file' && anchor.path) paths.add(anchor.path);
  }
  const texts: string[] = [];
  for (const path of paths) {
    const ignored = gitIgnored(projectRoot, path);
    if (ignored) {
      texts.push(`expo/anchor-gitignored: ${relative(projectRoot, path)} (a trust anchor of the policy) is ignored by "${ignored.rule}" in ${ignored.file}: it will be missing from a fresh clone or a cloud build, and the prebuild then fails. Add "${reincludeRule(projectRoot, path)}" to ${join(projectRoot, '.gitignore')} and commit it (a CA certificate is public)`);
    }
  }
  return texts;
}

/**
 * Removes the device-specific variants of `key` (CFBundle_InfoPlist.c: `Key~iphone`, `Key~ipad`,
 * `Key-iphoneos`, ... replace `Key` on matching devices) and says which were removed.
 */
function removeVariants(info: Record<string, unknown>, key: string): string[] {
  const removed = infoPlistVariantKeys(Object.keys(info), key);
  for (const variant of removed) delete info[variant];
  return removed.map((variant) => `ios/info-plist-variant: removed ${variant} from Info.plist: iOS would read it instead of the ${key} wirelock writes`);
}

/**
 * Expo evaluates the app config several times per prebuild (and on every `expo config`): nothing is
 * generated, checked or reported until a mod of the platform being built runs, once per prebuild,
 * and only for the platforms `expo prebuild --platform` asked for.
 */
export function withWirelock(config: Config, rawProps: unknown, api: ConfigPluginsApi): Config {
  const props = checkProps(rawProps);
  const platforms = props.platforms ?? ['android', 'ios'];
  const options = { strict: props.strict ?? false, accept: props.accept ?? [] };
  let loaded: { policy: Policy; projectRoot: string; reported: boolean } | undefined;
  const policyFor = (projectRoot: string) => {
    if (!loaded || loaded.projectRoot !== projectRoot) {
      const policyFile = isAbsolute(props.policy) ? props.policy : resolve(projectRoot, props.policy);
      loaded = { policy: loadPolicy(policyFile, projectRoot), projectRoot, reported: false };
    }
    return loaded;
  };
  const projectWarnings = (platform: 'android' | 'ios', projectRoot: string) => {
    const state = policyFor(projectRoot);
    if (state.reported) return;
    state.reported = true;
    report(api, platform, ignoredAnchors(state.policy, projectRoot));
  };

  if (platforms.includes('android')) {
    let generated: { result: GenerateResult; debugCleartext: GenerateResult | undefined } | undefined;
    const generate = (projectRoot: string) => {
      if (generated) return generated;
      const { policy } = policyFor(projectRoot);
      // Debug-only material (the overrides and a development proxy's certificate) goes to the
      // debug source set, never into release builds' res/raw.
      const android: AndroidOptions = { source: props.policy, debugOverridesFile: true };
      if (props.debugCertificates) {
        android.debugOverrides = props.debugCertificates.map((entry) => {
          if (entry === 'user') return 'user' as const;
          const path = resolve(projectRoot, entry);
          try {
            return { name: entry, pem: readFileSync(path, 'utf8') };
          } catch (error) {
            throw invalidProps(`cannot read debug certificate ${path}: ${(error as NodeJS.ErrnoException).code}`);
          }
        });
      }
      const { result, open } = generateTarget('android', policy, { ...options, android });
      projectWarnings('android', projectRoot);
      report(api, 'android', warningTexts(open));
      const debugCleartext = props.debugCleartext ? generateAndroid(policy, { source: props.policy, debugBuildCleartext: true }) : undefined;
      generated = { result, debugCleartext };
      return generated;
    };
    config = api.withAndroidManifest(config, (mod) => {
      generate(mod.modRequest.projectRoot);
      const application = mod.modResults.manifest.application?.[0];
      if (!application) throw new WirelockError('ERR_INPUT_INVALID', 'wirelock/expo: AndroidManifest.xml has no <application>');
      application.$['android:networkSecurityConfig'] = NETWORK_SECURITY_CONFIG_REF;
      return mod;
    });
    config = api.withDangerousMod(config, [
      'android',
      (mod) => {
        const { result, debugCleartext } = generate(mod.modRequest.projectRoot);
        const app = join(mod.modRequest.platformProjectRoot, 'app', 'src');
        const release = { ...result, files: result.files.filter((f) => !f.debugOnly) };
        writeAndroidResources(release, join(app, 'main', 'res', 'xml', 'network_security_config.xml'));
        const debugOnly = result.files.filter((f) => f.debugOnly);
        for (const file of debugOnly) write(join(app, 'debug', 'res', file.path), file.contents);
        // Resources of the debug source set override main's in debug builds only.
        if (debugCleartext) write(join(app, 'debug', 'res', 'xml', 'network_security_config.xml'), debugCleartext.files[0]!.contents);
        return mod;
      },
    ]);
  }

  if (platforms.includes('ios')) {
    let generated: { ats: PlistValue | undefined; trustkit: PlistValue | undefined } | undefined;
    config = api.withInfoPlist(config, (mod) => {
      const projectRoot = mod.modRequest.projectRoot;
      if (!generated) {
        const { policy } = policyFor(projectRoot);
        const { result, open } = generateTarget('ios', policy, options);
        projectWarnings('ios', projectRoot);
        report(api, 'ios', warningTexts(open));
        // What goes into Info.plist is read back from the checked plist text, not rebuilt.
        const plist = parsePlist(result.files[0]!.contents);
        let trustkit: PlistValue | undefined;
        if (props.trustkit) {
          const tk = generateTarget('trustkit', policy, options);
          report(api, 'ios', warningTexts(tk.open.filter((w) => !w.rule.startsWith('trustkit/rn-'))));
          const tkPlist = parsePlist(tk.result.files.find((f) => f.path === TRUSTKIT_PLIST_PATH)!.contents);
          trustkit = isPlistDict(tkPlist) ? tkPlist.TSKConfiguration : undefined;
        }
        generated = { ats: isPlistDict(plist) ? plist.NSAppTransportSecurity : undefined, trustkit };
      }
      const info = mod.modResults;
      report(api, 'ios', removeVariants(info, 'NSAppTransportSecurity'));
      info.NSAppTransportSecurity = generated.ats;
      if (generated.trustkit) {
        report(api, 'ios', removeVariants(info, 'TSKConfiguration'));
        info.TSKConfiguration = generated.trustkit;
      }
      return mod;
    });
  }
  return config;
}
