// The builder against the real validator: for every x509-limbo SERVER case, the openssl binary verifies
// the chain as a TLS client's OpenSSL does (purpose sslserver, no partial chains, at the case's time).
// A path the builder returns, on which pins would be matched, must be one OpenSSL accepts; and every
// FAILURE case the builder accepts (ACCEPTED_LIKE_OPENSSL) is one OpenSSL accepts as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from '../support/system.js';
import { ACCEPTED_LIKE_OPENSSL, limboCases, runLimboCase, type LimboCase } from './limbo.js';

const openssl = requireTool('openssl', 'openssl');
const dir = mkdtempSync(join(tmpdir(), 'wirelock-limbo-'));

function opensslVerdict(testcase: LimboCase): { ok: boolean; output: string } {
  writeFileSync(join(dir, 'trusted.pem'), testcase.trusted_certs.join(''));
  writeFileSync(join(dir, 'untrusted.pem'), testcase.untrusted_intermediates.join(''));
  writeFileSync(join(dir, 'peer.pem'), testcase.peer_certificate);
  const args = ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'trusted.pem')];
  if (testcase.untrusted_intermediates.length > 0) args.push('-untrusted', join(dir, 'untrusted.pem'));
  if (testcase.validation_time) args.push('-attime', String(Math.floor(Date.parse(testcase.validation_time) / 1000)));
  args.push(join(dir, 'peer.pem'));
  const result = spawnSync(openssl, args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

test('x509-limbo: every path the builder accepts is one the openssl validator accepts', () => {
  const cases = limboCases().filter((testcase) => testcase.validation_kind === 'SERVER');
  const accepted: string[] = [];
  const tally = { bothAccept: 0, bothRefuse: 0, onlyOpensslAccepts: 0 };
  for (const testcase of cases) {
    const ours = runLimboCase(testcase);
    // The host name is not OpenSSL's job here (Node checks it): compare the chain verdict only.
    const chainOnly = ours.actual === 'SUCCESS' || ours.reason.startsWith('host name:') ? 'SUCCESS' : 'FAILURE';
    const reference = opensslVerdict(testcase);
    if (chainOnly === 'SUCCESS') {
      accepted.push(testcase.id);
      assert.ok(reference.ok, `${testcase.id}: the builder accepts a chain openssl refuses:\n${reference.output}`);
      tally.bothAccept++;
    } else if (reference.ok) tally.onlyOpensslAccepts++;
    else tally.bothRefuse++;
  }
  for (const id of ACCEPTED_LIKE_OPENSSL) assert.ok(accepted.includes(id), `${id} is listed as accepted`);
  console.log(`x509-limbo vs ${spawnSync(openssl, ['version'], { encoding: 'utf8' }).stdout.trim()}: ${JSON.stringify(tally)}`);
});
