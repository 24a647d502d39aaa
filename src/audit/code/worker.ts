// One analysis thread: package folders in, PackageCode out (plain data, structured-cloned).
import { setFlagsFromString } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { analyzePackageDir } from './package.js';

tuneTiering();

parentPort?.on('message', (message: { index: number; dir: string; prepare?: boolean }) => {
  try {
    parentPort!.postMessage({ index: message.index, code: analyzePackageDir(message.dir, { prepare: message.prepare }) });
  } catch (error) {
    parentPort!.postMessage({ index: message.index, error: error instanceof Error ? error.message : String(error) });
  }
});

/**
 * The analysis (parser and walk) sees a new mix of AST shapes with every package, so V8 keeps
 * deoptimising and recompiling its functions: on Node 20 (V8 11), optimising compiles on V8's own
 * threads took a fifth of the process's CPU over the ~1,000-package bench tree (perf). An eight
 * times larger profiler budget optimises only what stays hot: a third less CPU on those threads and
 * about 10% less in all (side by side, five rounds), the analysis threads' own time unchanged.
 * Speed only: what the analysis finds does not depend on it. The flag is process-wide and set once
 * the analysis runs; later V8 versions tier up by invocation counts and have no such flag.
 */
function tuneTiering(): void {
  if (process.versions.v8.split('.')[0] === '11') setFlagsFromString(`--interrupt-budget=${8 * 67_584}`);
}
