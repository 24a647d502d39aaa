// Where wirelock's files are, found from this module's own URL. The code runs from src/ (tests,
// through tsx), or from dist/ where the build bundles modules into shared chunks (dist/chunks/):
// a module's code does not stay at its source path, so `new URL('./sibling.js', import.meta.url)`
// would point elsewhere. Every path wirelock computes from its own location goes through here.
// Built, this module is replaced by its answer (scripts/bundle.mjs: the start chunk sits in
// dist/chunks/, which the build checks), so a start does not look for package.json.
const { existsSync } = process.getBuiltinModule('node:fs');

function locate(): { packageRoot: URL; codeRoot: URL } {
  let dir = new URL('.', import.meta.url);
  for (let depth = 0; depth < 4; depth++) {
    const parent = new URL('..', dir);
    if (existsSync(new URL('package.json', parent))) {
      // The first folder below the package root on the way here: src/ or dist/.
      const top = dir.href.slice(parent.href.length).split('/')[0]!;
      return { packageRoot: parent, codeRoot: new URL(`${top}/`, parent) };
    }
    dir = parent;
  }
  throw new Error(`wirelock: no package.json above ${import.meta.url}`);
}

const found = locate();
/** The folder holding wirelock's package.json. */
export const packageRoot: URL = found.packageRoot;
/** The folder wirelock's code runs from (dist/ or src/): `new URL('lab/client.js', codeRoot)`. */
export const codeRoot: URL = found.codeRoot;
/** `.ts` when running from source, `.js` when built. */
export const codeExtension: '.ts' | '.js' = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
