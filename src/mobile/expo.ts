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
import { isAbsolute, join, resolve } from 'node:path';
import { WirelockError } from '../errors.js';
import { loadPolicySync } from '../policy/define.js';
import { generateAndroid, type AndroidOptions } from './android.js';
import { write, writeAndroidResources } from './files.js';
import { generateTarget } from './generate.js';
import { generateTrustKitDictionary } from './trustkit.js';
import type { GenerateWarning } from './model.js';
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

function report(api: ConfigPluginsApi, platform: 'android' | 'ios', warnings: GenerateWarning[]): void {
  for (const warning of warnings) {
    const text = `${warning.rule}: ${warning.message} (policy ${warning.pointer})`;
    if (platform === 'android') api.WarningAggregator.addWarningAndroid('wirelock', text);
    else api.WarningAggregator.addWarningIOS('wirelock', text);
  }
}

export function withWirelock(config: Config, rawProps: unknown, api: ConfigPluginsApi): Config {
  const props = checkProps(rawProps);
  const projectRoot = config._internal?.projectRoot ?? process.cwd();
  const policyFile = isAbsolute(props.policy) ? props.policy : resolve(projectRoot, props.policy);
  const policy = loadPolicySync(policyFile);
  const platforms = props.platforms ?? ['android', 'ios'];
  const options = { strict: props.strict ?? false, accept: props.accept ?? [] };

  if (platforms.includes('android')) {
    const android: AndroidOptions = { source: props.policy };
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
    report(api, 'android', open);
    config = api.withAndroidManifest(config, (mod) => {
      const application = mod.modResults.manifest.application?.[0];
      if (!application) throw new WirelockError('ERR_INPUT_INVALID', 'wirelock/expo: AndroidManifest.xml has no <application>');
      application.$['android:networkSecurityConfig'] = NETWORK_SECURITY_CONFIG_REF;
      return mod;
    });
    config = api.withDangerousMod(config, [
      'android',
      (mod) => {
        writeAndroidResources(result, join(mod.modRequest.platformProjectRoot, 'app', 'src', 'main', 'res', 'xml', 'network_security_config.xml'));
        if (props.debugCleartext) {
          // Resources of the debug source set override main's in debug builds only.
          const debug = generateAndroid(policy, { ...android, debugBuildCleartext: true });
          write(join(mod.modRequest.platformProjectRoot, 'app', 'src', 'debug', 'res', 'xml', 'network_security_config.xml'), debug.files[0]!.contents);
        }
        return mod;
      },
    ]);
  }

  if (platforms.includes('ios')) {
    const { result, open } = generateTarget('ios', policy, options);
    report(api, 'ios', open);
    // What goes into Info.plist is read back from the checked plist text, not rebuilt.
    const plist = parsePlist(result.files[0]!.contents);
    const ats = isPlistDict(plist) ? plist.NSAppTransportSecurity : undefined;
    let trustkit: PlistValue | undefined;
    if (props.trustkit) {
      const generated = generateTarget('trustkit', policy, options);
      report(api, 'ios', generated.open.filter((w) => !w.rule.startsWith('trustkit/rn-')));
      trustkit = generateTrustKitDictionary(policy);
    }
    config = api.withInfoPlist(config, (mod) => {
      mod.modResults.NSAppTransportSecurity = ats;
      if (trustkit) mod.modResults.TSKConfiguration = trustkit;
      return mod;
    });
  }
  return config;
}
