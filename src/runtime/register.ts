/**
 * Preload entry: `node --import wirelock/register app.js`. Runs before the application's own
 * modules, so the baseline is taken before any dependency can hook the network, and the whole
 * process is locked down from its first connection.
 *
 * Policy: WIRELOCK_POLICY (path) or ./wirelock.json. Runtime options from the environment:
 * WIRELOCK_ON_TAMPER (block | report, default block), WIRELOCK_BLOCK_AT (severity, default high),
 * WIRELOCK_ALLOW (comma-separated hooker names, e.g. "opentelemetry,nock"),
 * WIRELOCK_TRUSTED_CAS (comma-separated sha256/ pins), WIRELOCK_PROXIES (comma-separated URLs),
 * WIRELOCK_FREEZE=1 (lockdown's freeze option).
 * A missing or invalid policy stops the process: an app that asked for lockdown never runs without it.
 */
// First, so the baseline of network functions is taken before anything else loads.
import './builtins.js';
import { WirelockError } from '../errors.js';
import { loadPolicySync } from '../policy/define.js';
import { SEVERITIES, type Severity } from './findings.js';
import type { OnTamper } from './lockdown.js';
// Straight from the loader (not './lockdown.js'): built, that module is one more file to resolve,
// read and link at every start (~0.4 ms of CPU, Node 20) only to call the same loader.
import { loadRuntime } from './deferred.js';

// Through process.getBuiltinModule: no ESM facade of node:path to build at every start.
const { resolve } = process.getBuiltinModule('node:path') as typeof import('node:path');

function list(value: string | undefined): string[] | undefined {
  const items = (value ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}

function fail(error: unknown): never {
  if (error instanceof WirelockError) {
    process.stderr.write(`wirelock/register: ${error.code}: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const file = process.env.WIRELOCK_POLICY ? resolve(process.env.WIRELOCK_POLICY) : resolve(process.cwd(), 'wirelock.json');
try {
  const policy = loadPolicySync(file);
  const onTamper = (process.env.WIRELOCK_ON_TAMPER || 'block') as OnTamper;
  const blockAt = (process.env.WIRELOCK_BLOCK_AT || 'high') as Severity;
  if (!SEVERITIES.includes(blockAt)) throw new WirelockError('ERR_USAGE', `WIRELOCK_BLOCK_AT must be one of ${SEVERITIES.join(', ')}`);
  const hookers = list(process.env.WIRELOCK_ALLOW);
  const trustedCas = list(process.env.WIRELOCK_TRUSTED_CAS);
  const proxies = list(process.env.WIRELOCK_PROXIES);
  const handle = loadRuntime().lockdown(policy, {
    onTamper,
    blockAt,
    allow: { ...(hookers ? { hookers } : {}), ...(trustedCas ? { trustedCas } : {}), ...(proxies ? { proxies } : {}) },
    ...(process.env.WIRELOCK_FREEZE === '1' ? { freeze: true } : {}),
  });
  await handle.ready;
} catch (error) {
  fail(error);
}
