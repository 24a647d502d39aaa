/**
 * `require('wirelock/register')` and `node --require wirelock/register`: refused with a clear error.
 * The register entry waits with top-level await until lockdown holds, so that no application module
 * runs first; Node cannot require() a module with top-level await (ERR_REQUIRE_ASYNC_MODULE), and a
 * synchronous variant would let the app start before its guards. It stops the process instead of
 * letting an app that asked for lockdown run without it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { WirelockError } = require('../errors.js') as typeof import('../errors.js');

const error = new WirelockError(
  'ERR_USAGE',
  'wirelock/register cannot be loaded with require() or --require: it is an ES module that waits for lockdown with top-level await. Use `node --import wirelock/register app.js` (also from a CommonJS app), or call lockdown() from the wirelock entry point.',
);
// Node loads --require preloads with a parent module whose id is 'internal/preload'.
if ((module as NodeJS.Module & { parent?: { id?: string } | null }).parent?.id === 'internal/preload') {
  // `node --require wirelock/register`: a preload, before any app code. Stop the process with the
  // message, as register does for a bad policy, not with a stack trace.
  process.stderr.write(`wirelock/register: ${error.code}: ${error.message}\n`);
  process.exit(2);
}
throw error;
