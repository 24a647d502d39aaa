#!/usr/bin/env node
// Runs every test/**/*.test.ts under node:test through tsx. Node 20 has no glob support in
// `node --test`, so the file list is built here. Arguments narrow the run to paths containing them.
// `--system` runs the system suite instead: test/**/*.system.ts, the tests that need Debian packages
// (mitmproxy, strace, tshark, squid, PostgreSQL, Chromium, ...). They fail, never skip, when a tool is
// missing (test/support/system.ts names the install line); `.ci/run` installs them first.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const system = process.argv.includes('--system');
const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('--') && arg !== '--system');
// The system suite installs and runs real tools (expo prebuild from the registry): 15 minutes a file.
const suffix = system ? '.system.ts' : '.test.ts';

function walk(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'fixtures' || entry === 'node_modules') return [];
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const files = walk(join(root, 'test'))
  .filter((file) => file.endsWith(suffix))
  .map((file) => relative(root, file))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// The lab's system files capture loopback with tcpdump and decrypt with the keys each client logs:
// two such captures at once see each other's traffic, so they run one at a time, after the rest.
const serial = system ? files.filter((file) => file.startsWith('test/lab/')) : [];
const batches = [
  { files: files.filter((file) => !serial.includes(file)), concurrency: 2 },
  { files: serial, concurrency: 1 },
].filter((batch) => batch.files.length > 0);

let status = 0;
for (const batch of batches) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${batch.concurrency}`, `--test-timeout=${system ? 900000 : 120000}`, ...passThrough, ...batch.files],
    { cwd: root, stdio: 'inherit' },
  );
  if ((result.status ?? 1) !== 0) status = result.status ?? 1;
}
process.exit(status);
