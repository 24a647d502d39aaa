// The package's types as a TypeScript consumer compiles them (test/package/support.ts installs the
// packed tarball): moduleResolution node16, nodenext (ESM and CommonJS files) and bundler.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packAndInstall, ROOT, type Installed } from './support.js';

let installed: Installed;
let project: string;
before(async () => {
  installed = await packAndInstall();
  project = installed.project;
});
after(() => installed?.remove());

const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

describe('types of the installed package', () => {
  for (const mode of ['node16', 'nodenext', 'bundler'] as const) {
    test(`types resolve and check under moduleResolution ${mode}`, async () => {
      const dir = join(project, `types-${mode}`);
      mkdirSync(dir);
      const module = mode === 'bundler' ? 'esnext' : mode;
      // The shipped .d.ts files themselves are checked once (nodenext, the strictest): checking them
      // and all of @types/node again per mode costs ~3x the CPU and adds nothing the resolution misses.
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { module, moduleResolution: mode, target: 'es2022', strict: true, noEmit: true, skipLibCheck: mode !== 'nodenext', types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
        include: ['*.ts', '*.cts', '*.mts'],
      }));
      writeFileSync(join(dir, 'esm.ts'), `
        import { createFetch, createAgent, WirelockError, definePolicy, type Policy } from 'wirelock';
        import { generateAndroid } from 'wirelock/mobile';
        import { parseLockfile } from 'wirelock/audit';
        import 'wirelock/register';
        const policy: Policy = definePolicy({ version: 1, domains: {} });
        export const fetchFn = createFetch(policy);
        export const status: Promise<number> = fetchFn('https://example.com/').then((response) => response.status);
        export const agent = createAgent(policy);
        export const isError = (error: unknown): error is WirelockError => error instanceof WirelockError;
        export const generators = [generateAndroid, parseLockfile];
      `);
      // Control: a type error in the consumer is reported, so a green run means the types were read.
      writeFileSync(join(dir, 'control.ts'), "import { VERSION } from 'wirelock';\nexport const wrong: number = VERSION;\n");
      if (mode === 'nodenext') {
        // A CommonJS file of a TypeScript project: require() of the ESM entry (TypeScript >= 5.8, Node >= 20.19).
        writeFileSync(join(dir, 'cjs.cts'), "import wirelock = require('wirelock');\nimport expo = require('wirelock/expo');\nexport const f: typeof wirelock.createFetch = wirelock.createFetch;\nexport const plugin = expo;\n");
      }
      const result = await installed.node([TSC, '-p', dir]).catch((error: unknown) => error as { stdout: string; code: number });
      const errors = result.stdout.split('\n').filter((line) => /error TS/.test(line));
      assert.equal(errors.length, 1, result.stdout);
      assert.match(errors[0]!, /^.*control\.ts.*error TS2322: Type 'string' is not assignable to type 'number'/);
    });
  }
});
