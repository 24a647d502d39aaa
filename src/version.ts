// Builtins through process.getBuiltinModule, not `import`: no ESM facade (on Node 24 a facade reads
// every export and loads what lazy getters hide: webcrypto, fs streams), and no loader hook in between.
import { packageRoot } from './location.js';

const { readFileSync } = process.getBuiltinModule('node:fs');

/**
 * Read from package.json at run time so reports always carry the installed version. The build writes
 * the same package.json's version in its place (scripts/bundle.mjs): one file read less at every start.
 */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8')) as { version: string }
).version;
