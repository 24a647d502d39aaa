// The system suite (`npm run test:system`, files *.system.ts) runs real programs from Debian's packages.
// A missing tool is a failure with the line that installs it, never a skip: a skipped adversary proves nothing.
import { spawnSync } from 'node:child_process';

export function requireTool(command: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${JSON.stringify(command)}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(`${command} is not installed: the system suite needs it. Install it with: apt-get update && apt-get install -y ${debianPackage}`);
  }
  return path;
}
