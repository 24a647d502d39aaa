import type * as Undici from 'undici';

// The npm undici package costs more start-up time than the rest of wirelock together, and an app that
// only uses createAgent (or the lockdown of Node's own fetch before its first request) never needs
// it. It is loaded, synchronously, the first time a dispatcher is really created.
const load = process.getBuiltinModule('node:module').createRequire(import.meta.url);
let loaded: typeof Undici | undefined;

export function undici(): typeof Undici {
  return (loaded ??= load('undici') as typeof Undici);
}

/** True once the npm undici package has been loaded (by wirelock or by the app). */
export function undiciLoaded(): boolean {
  return loaded !== undefined;
}
