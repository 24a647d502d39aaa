/**
 * `require('wirelock/register')` and `node --require wirelock/register`: refused with a clear error.
 * The register entry waits with top-level await until lockdown holds, so that no application module
 * runs first; Node cannot require() a module with top-level await (ERR_REQUIRE_ASYNC_MODULE), and a
 * synchronous variant would let the app start before its guards. It stops the process instead of
 * letting an app that asked for lockdown run without it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { WirelockError } = require('../errors.js') as typeof import('../errors.js');

throw new WirelockError(
  'ERR_USAGE',
  'wirelock/register cannot be loaded with require() or --require: it is an ES module that waits for lockdown with top-level await. Use `node --import wirelock/register app.js` (also from a CommonJS app), or call lockdown() from the wirelock entry point.',
);
