import type * as Undici from 'undici';

// The npm undici package costs more start-up time than the rest of wirelock together, and an app that
// only uses createAgent (or the lockdown of Node's own fetch before its first request) never needs
// it. It is loaded, synchronously, the first time a dispatcher is really created.
// createRequire is taken at load (code running later cannot swap it for one that hands wirelock
// another undici); the require function it makes is made on first use (~0.3 ms at every start).
const { createRequire } = process.getBuiltinModule('node:module');
let loaded: typeof Undici | undefined;

export function undici(): typeof Undici {
  return (loaded ??= createRequire(import.meta.url)('undici') as typeof Undici);
}

/** True once the npm undici package has been loaded (by wirelock or by the app). */
export function undiciLoaded(): boolean {
  return loaded !== undefined;
}
