/**
 * CommonJS entry of the Expo config plugin (`wirelock/expo`): Expo loads plugins synchronously with
 * require(). It loads the project's own @expo/config-plugins (through `expo/config-plugins` when the
 * project has Expo) and the ESM implementation (require of ESM, Node >= 20.19).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ConfigPluginsApi, WirelockExpoProps } from './expo.js';

type Config = { _internal?: { projectRoot?: string }; [key: string]: unknown };

function loadConfigPlugins(projectRoot: string): ConfigPluginsApi {
  const errors: string[] = [];
  for (const from of [join(projectRoot, 'package.json'), __filename]) {
    for (const id of ['expo/config-plugins', '@expo/config-plugins']) {
      try {
        return createRequire(from)(id) as ConfigPluginsApi;
      } catch (error) {
        errors.push(`${id} from ${from}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  }
  throw new Error(`wirelock/expo needs @expo/config-plugins (part of expo):\n  ${errors.join('\n  ')}`);
}

function withWirelockPlugin(config: Config, props: WirelockExpoProps): Config {
  const api = loadConfigPlugins(config._internal?.projectRoot ?? process.cwd());
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { withWirelock } = require('./expo.js') as typeof import('./expo.js');
  return withWirelock(config, props, api);
}

export = withWirelockPlugin;
