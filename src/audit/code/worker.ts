// One analysis thread: package folders in, PackageCode out (plain data, structured-cloned).
import { setFlagsFromString } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { analyzePackageDir } from './package.js';

parentPort?.on('message', (message: { index: number; dir: string; prepare?: boolean }) => {
  try {
    parentPort!.postMessage({ index: message.index, code: analyzePackageDir(message.dir, { prepare: message.prepare }) });
  } catch (error) {
    parentPort!.postMessage({ index: message.index, error: error instanceof Error ? error.message : String(error) });
  }
});

/**
 * The analysis (parser and walk) sees a new mix of AST shapes with every package, so V8 keeps
 * deoptimising and recompiling its functions: optimising compiles on V8's own threads took a fifth
 * of the process's CPU over the ~1,000-package bench tree (perf, Node 20). Making a function wait
 * eight times longer before TurboFan optimises it keeps that for what stays hot: on V8's threads a
 * third (Node 20) and a fifth (Node 24) less CPU, in all about 10% less on both (side by side on
 * the bench tree), the analysis threads' own time unchanged. Speed only: what the analysis finds
 * does not depend on it. The flag is process-wide; its name differs between V8 versions and an
 * unknown one is an error printed on stderr, so only the versions measured get it.
 */
const TIERING_FLAGS: Record<string, string> = {
  '11': `--interrupt-budget=${8 * 67_584}`, // Node 20: the profiler budget before optimisation
  '13': `--invocation-count-for-turbofan=${8 * 3000}`, // Node 24: tiering by invocation counts
};

function tuneTiering(): void {
  const flag = TIERING_FLAGS[process.versions.v8.split('.')[0]!];
  if (flag) setFlagsFromString(flag);
}

tuneTiering();
