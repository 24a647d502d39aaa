// One analysis thread: package folders in, PackageCode out (plain data, structured-cloned).
import { parentPort } from 'node:worker_threads';
import { analyzePackageDir } from './package.js';

parentPort?.on('message', (message: { index: number; dir: string; prepare?: boolean }) => {
  try {
    parentPort!.postMessage({ index: message.index, code: analyzePackageDir(message.dir, { prepare: message.prepare }) });
  } catch (error) {
    parentPort!.postMessage({ index: message.index, error: error instanceof Error ? error.message : String(error) });
  }
});
