// The whole catalogue against wirelock, shared by catalogue-*.test.ts (two halves, so neither file nears
// the per-file timeout on a loaded 2-core machine): the row-by-row expectations are written out here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabResult } from '../../src/lab/run.js';

const run = promisify(execFile);
const CLI = 'dist/cli/main.js';

// What each attack must be stopped with: written out here, not read from the catalogue under test.
export const EXPECTED: Record<string, string> = {
  'self-signed': 'blocked ERR_CERT_UNTRUSTED',
  'user-installed-ca': 'blocked ERR_CERT_UNTRUSTED',
  'compromised-ca': 'blocked ERR_PIN_MISMATCH',
  'chain-injection': 'blocked ERR_PIN_MISMATCH',
  'expired-certificate': 'blocked ERR_CERT_EXPIRED',
  'hostname-mismatch': 'blocked ERR_CERT_HOSTNAME',
  'legacy-tls': 'blocked ERR_TLS_VERSION',
  cleartext: 'blocked ERR_CLEARTEXT_BLOCKED',
  'https-downgrade-redirect': 'blocked ERR_CLEARTEXT_BLOCKED',
  'https-proxy': 'bypassed',
  'reject-unauthorized-0': 'blocked ERR_CERT_UNTRUSTED',
  'expired-pins': 'allowed-with-report',
  'ct-no-scts': 'blocked ERR_CT_REQUIRED',
  'ct-unknown-log': 'blocked ERR_CT_REQUIRED',
  'ct-forged-sct': 'blocked ERR_CT_REQUIRED',
  'hooked-tls-preload': 'blocked ERR_ENV_COMPROMISED',
  'hooked-fetch-dependency': 'blocked ERR_ENV_COMPROMISED',
  'dispatcher-swap-dependency': 'blocked ERR_ENV_COMPROMISED',
  'ca-injection-dependency': 'blocked ERR_ENV_COMPROMISED',
  'keylog-sniffing': 'blocked ERR_ENV_COMPROMISED',
  'keylog-listener-dependency': 'blocked ERR_ENV_COMPROMISED',
  'dns-takeover': 'blocked ERR_PIN_MISMATCH',
  // Needs the transport fix that picks the policy by the destination host (issue 10's branch).
  'host-header-policy': 'blocked ERR_SERVERNAME_MISMATCH',
  // Not an attack: the request must arrive at the origin through a real corporate proxy (tinyproxy).
  'corporate-proxy': 'delivered',
  'mitmproxy-corporate': 'blocked ERR_CERT_UNTRUSTED',
};

// Scenarios that need a program or a privilege this machine may lack; the system suite runs them for sure.
const MAY_BE_UNAVAILABLE = /^(mitmproxy|keylog-|dns-takeover|corporate-proxy)/;

// In-process attacks must be blocked because the lab's hook was found, not for some other finding.
const EXPECTED_FINDING: Record<string, string> = {
  'hooked-tls-preload': 'hooked-api:tls.connect',
  'hooked-fetch-dependency': 'globalThis.fetch',
  'dispatcher-swap-dependency': 'dispatcher-swapped:undici.globalDispatcher',
  'ca-injection-dependency': 'ca-injected:https.globalAgent.options.ca',
  'keylog-sniffing': 'tls-keylog',
  'keylog-listener-dependency': 'tls-keylog',
};

/** `wirelock lab` from the build, with its exit code and output (a failing run is a result, not a throw). */
export async function lab(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'lab', ...args], { maxBuffer: 16 << 20, ...(env ? { env } : {}) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The network-level attacks; every other scenario is in the second half. */
export const FIRST_HALF = ['self-signed', 'user-installed-ca', 'compromised-ca', 'chain-injection', 'expired-certificate', 'hostname-mismatch', 'legacy-tls', 'cleartext', 'https-downgrade-redirect', 'https-proxy', 'reject-unauthorized-0', 'expired-pins', 'dns-takeover'];

export async function scenarioIds(): Promise<string[]> {
  return (await lab(['--list'])).stdout.split('\n').filter(Boolean);
}

/** Runs `only` (the catalogue's ids in one half) and checks every row: stopped with 0 bytes, control intercepted, exit 0. */
export async function checkCatalogue(only: string[]): Promise<void> {
  const { code, stdout, stderr } = await lab(['--json', '--only', only.join(',')]);
  const result = JSON.parse(stdout) as LabResult;
  assert.equal(code, 0, `${stderr}\n${JSON.stringify(result.scenarios.filter((s) => !s.pass).map((s) => [s.id, s.problems, s.control?.message, s.subject?.message]))}`);
  assert.equal(result.ok, true);
  assert.deepEqual(result.unproven, []);
  const ids = result.scenarios.map((scenario) => scenario.id);
  assert.deepEqual(ids.sort(), [...only].sort());
  for (const id of Object.keys(EXPECTED).filter((id) => only.includes(id))) assert.ok(ids.includes(id), `scenario ${id} ran`);
  for (const scenario of result.scenarios) {
    if (scenario.verdict === 'unavailable') {
      assert.match(scenario.id, MAY_BE_UNAVAILABLE, 'only scenarios that need a system tool or privilege may be unavailable');
      assert.match(scenario.problems[0] ?? '', /not installed|needs root|mount namespace/);
      continue;
    }
    assert.equal(scenario.pass, true, `${scenario.id}: ${scenario.problems.join('; ')}`);
    // Every verdict stands on a subject that really works: it reached the legitimate server unattacked.
    assert.equal(scenario.originControl?.reached, true, `${scenario.id}: wirelock reached the legitimate server with no attack`);
    const expected = EXPECTED[scenario.id];
    const finding = EXPECTED_FINDING[scenario.id];
    if (finding) assert.ok(scenario.subject?.message?.includes(finding), `${scenario.id} was blocked for ${finding}, not another finding: ${scenario.subject?.message}`);
    if (expected) assert.equal(`${scenario.verdict}${scenario.verdict === 'blocked' ? ` ${scenario.subject?.code}` : ''}`, expected, scenario.id);
    if (scenario.expect === 'delivered') {
      assert.ok(scenario.subject?.ok && scenario.subject.secretCaptured, `${scenario.id}: the request arrived at the origin through the proxy`);
      continue;
    }
    if (scenario.expect === 'allowed-with-report') {
      assert.ok(scenario.subject?.ok, 'expired pins: the request is allowed');
      assert.ok(scenario.subject?.reports.some((report) => report.kind === 'pins-expired'), 'and a pins-expired report is emitted');
      continue;
    }
    assert.equal(scenario.subject?.attackerBytes, 0, `${scenario.id}: no byte of application data reached the attacker`);
    assert.equal(scenario.subject?.secretCaptured, false);
    assert.equal(scenario.control?.intercepted, true, `${scenario.id}: positive control intercepted`);
    assert.ok((scenario.control?.attackerBytes ?? 0) > 0);
  }
}

/** What every scenario of a subject that reached no one must look like, in the JSON. */
export function assertNoVerdicts(result: LabResult): void {
  assert.equal(result.ok, false);
  const ran = result.scenarios.filter((scenario) => scenario.verdict !== 'unavailable');
  assert.ok(ran.length >= 3);
  for (const scenario of ran) {
    assert.equal(scenario.verdict, 'unproven', `${scenario.id}: no "blocked" verdict for a subject that reached no one`);
    assert.equal(scenario.pass, false);
    assert.equal(scenario.originControl?.reached, false);
    assert.match(scenario.problems[0] ?? '', /never reached the legitimate server .*so nothing was proved/);
    // The attacks themselves were live: the positive control still ran and was intercepted.
    assert.equal(scenario.control?.intercepted, true, scenario.id);
  }
  assert.deepEqual([...result.unproven].sort(), ran.map((scenario) => scenario.id).sort());
}
