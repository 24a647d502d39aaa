import { readFileSync } from 'node:fs';

/** Read from package.json at run time so reports always carry the installed version. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
