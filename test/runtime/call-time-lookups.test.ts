// What a guard computes must not depend on a function code can still replace once lockdown is in
// place: the third independent review (2026-12-01) made guards approve a raw TCP handle to an
// unlisted host with a Set.prototype.has replaced only for the call, skip the DNS name check through
// net.isIP (read from the module object at each call) and judge no DNS server through Array.isArray.
// Each was one spelling of one class: a lookup at call time of a value code can replace. The fixture
// replaces everything replaceable after lockdown with a recorder and runs every guard path; a
// recorder called from wirelock's own code is such a lookup.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, REGISTER, ROOT, labForThisFile, nameServer } from './support.js';

const lab = labForThisFile();
const PROBE = join(FIXTURES, 'call-time-lookups.mjs');

interface ProbeResult {
  recorded: string[];
  replaced: number;
  skipped: number;
  results: Record<string, { error?: string; status?: number; connected?: boolean; secure?: boolean } | string | number | null>;
}

async function probe(wirelockFiles: string[]): Promise<ProbeResult> {
  const policyFile = join(lab.dir, 'lookups-policy.json');
  writeFileSync(policyFile, JSON.stringify(lab.policy));
  const dns = await nameServer('127.0.0.2');
  try {
    const node = process.env.RUNTIME_CHILD_NODE ?? process.execPath;
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      WIRELOCK_POLICY: policyFile,
      // Replacing built-ins is itself reported (hooked-api): reported, not blocking, so that every
      // guard still runs its own verdict on every request.
      WIRELOCK_ON_TAMPER: 'report',
      WIRELOCK_FILES: wirelockFiles.join(','),
      // LOOKUP_SITES=1: the child also prints where in wirelock each lookup happens (stderr).
      ...(process.env.LOOKUP_SITES ? { LOOKUP_SITES: '1' } : {}),
      C2_PORT: String(lab.c2.port),
      ORIGIN_PORT: String(lab.origin.port),
      DNS_PORT: dns.address.split(':')[1]!,
      TARGET_URL: lab.origin.url('127.0.0.1', '/api'),
      SECRET: 'TOP-SECRET-4711',
    };
    return await new Promise((resolve, reject) => {
      execFile(node, ['--import', REGISTER, PROBE], { cwd: ROOT, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (process.env.LOOKUP_SITES) process.stderr.write(stderr);
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as ProbeResult);
        } catch {
          reject(new Error(`probe did not report (exit ${error?.code ?? 0}):\nstdout: ${stdout}\nstderr: ${stderr}`));
        }
      });
    });
  } finally {
    dns.socket.close();
  }
}

// What the fixture labels Node's modules and process with.
const NODE_TARGETS = ['process', 'net', 'tls', 'dns', 'dns.promises', 'http', 'https', 'dgram', 'url', 'path', 'util', 'util.types', 'events', 'stream', 'diagnostics_channel', 'buffer', 'string_decoder', 'querystring', 'os', 'crypto', 'fs', 'module', 'vm', 'worker_threads', '_tls_wrap'];
// JavaScript's intrinsics and the web-platform globals (the documented remainder).
const JS_BUILTIN = /^(%[A-Za-z]+%\.|(Object|Array|String|RegExp|Map|Set|WeakMap|WeakSet|Reflect|JSON|Number|Math|Symbol|Promise|Error|Date|Uint8Array|Buffer|URL)(\.prototype)?\.|globalThis\.(Object|Array|String|RegExp|Map|Set|WeakMap|WeakSet|Number|Symbol|Promise|Error|TypeError|RangeError|Date|Uint8Array|Buffer|URL|setTimeout|clearTimeout|queueMicrotask)\b)/;
// wirelock's code as it runs: the built start and runtime bodies (and src/ where a runner loads it).
const WIRELOCK_FILES = [join(ROOT, 'dist/'), join(ROOT, 'src/')];

test('no guard looks up a value code can replace after lockdown (every guard path, allowed and refused)', async () => {
  lab.reset();
  const result = await probe(WIRELOCK_FILES);
  // The guards really ran: allowed traffic went through, refused traffic was refused.
  assert.equal((result.results.httpsAllowed as { status?: number }).status, 200, JSON.stringify(result.results));
  assert.equal((result.results.fetchAllowed as { status?: number }).status, 200, JSON.stringify(result.results));
  assert.equal((result.results.netAllowed as { connected?: boolean }).connected, true);
  for (const refused of ['netRefused', 'tlsRefused', 'httpsRefused', 'fetchRefused', 'dnsRefused', 'dnsPromiseRefused', 'udpRefused']) {
    const outcome = result.results[refused] as { error?: string };
    assert.ok(outcome?.error, `${refused} was not refused: ${JSON.stringify(outcome)}`);
  }
  assert.equal(lab.c2.connections, 0, 'nothing reached the unlisted host');
  // Thousands of values were replaceable and replaced: the recorders were in place.
  assert.ok(result.replaced > 1000, `only ${result.replaced} recorders installed`);
  // Closed: no Node module function, nothing of `process` (nor the global `process` itself), and none
  // of the watched Function.prototype/Reflect functions is looked up when a guard runs.
  const nodeLookups = result.recorded.filter((name) => NODE_TARGETS.some((target) => name.startsWith(`${target}.`)) || name.startsWith('globalThis.process'));
  assert.deepEqual(nodeLookups, [], `wirelock looks these up on shared Node objects as it runs:\n${nodeLookups.join('\n')}`);
  const watched = result.recorded.filter((name) => /^(Function\.prototype\.(call|apply|bind)|Reflect\.apply)$/.test(name));
  assert.deepEqual(watched, []);
  // Left (docs/runtime.md, limits: "JavaScript's own built-ins"): JavaScript's built-ins and the
  // web-platform globals the checks and the policy engine compute with. Anything else is a new class.
  const other = result.recorded.filter((name) => !JS_BUILTIN.test(name));
  assert.deepEqual(other, [], `lookups outside the documented JavaScript built-ins:\n${other.join('\n')}`);
});

test('positive control: a call from a file counted as wirelock is recorded', async () => {
  lab.reset();
  const result = await probe([...WIRELOCK_FILES, PROBE]);
  // The fixture itself calls Array.prototype.map and JSON.parse while recording.
  assert.ok(result.recorded.includes('Array.prototype.map'), JSON.stringify(result.recorded));
  assert.ok(result.recorded.includes('JSON.parse'), JSON.stringify(result.recorded));
});
