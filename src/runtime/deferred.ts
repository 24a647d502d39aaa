// The runtime checks (lockdown, inspectEnvironment and what they use: inspect.ts, origin.ts,
// flags.ts) as one value, for the entry points that need them only when called. Run from source
// (tests, through tsx) this is a plain import. The build replaces this module (scripts/bundle.mjs):
// there the runtime code is a separate file that is read and compiled at the first call, so an app
// that only uses createAgent never compiles it (~100 KB of JavaScript, a few milliseconds at every
// start), with the V8 code cache the build made beside it when V8 accepts it (docs/runtime.md). The
// values those modules take from Node are taken when wirelock loads (builtins.ts).
import * as runtime from './index.js';

/** What the entry points call (the build hands out exactly these names: RUNTIME_API in bundle.mjs). */
export type Runtime = Pick<typeof runtime, 'lockdown' | 'activeLockdown' | 'inspectEnvironment'>;

/** The runtime checks; throws when they cannot be loaded (no check is ever skipped for it). */
export function loadRuntime(): Runtime {
  return runtime;
}

/**
 * The runtime checks if they are loaded, else undefined: then no lockdown can be active (lockdown()
 * and wirelock/register both load them first).
 */
export function loadedRuntime(): Runtime | undefined {
  return runtime;
}
