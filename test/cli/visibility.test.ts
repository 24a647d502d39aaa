// The CLI says what it would have blocked and how to fix what it refused: report-only violations
// in `check` and `fetch`, the matched domain when OpenSSL refused first, fix texts that name the
// flags the CLI really has, and `pin --cert` on files that hold no certificate.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startCountingServer } from '../../src/lab/servers.js';
import { certificatePin, spkiPin } from '../../src/x509/certificate.js';
import { createTestPki } from '../transport/pki.js';

const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const pki = createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'wirelock-cli-visibility-'));
writeFileSync(join(dir, 'root.pem'), pki.legit.root.pem);
writeFileSync(join(dir, 'compromised-root.pem'), pki.compromised.root.pem);
const pins = [certificatePin(pki.legit.intermediate.der), pki.backupPin];
function policyFile(name: string, document: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ version: 1, trustAnchors: ['./root.pem', './compromised-root.pem'], ...document }));
  return file;
}
const reportOnly = policyFile('report-only.json', { mode: 'report-only', domains: { '127.0.0.1': { pins } } });
const enforce = policyFile('enforce.json', { domains: { '127.0.0.1': { pins } } });
const attacker = await startCountingServer(pki.serverOptions(pki.compromised));
const rogue = await startCountingServer(pki.serverOptions(pki.rogue));
after(() => Promise.all([attacker.close(), rogue.close()]));

function wirelock(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('check in report-only mode shows the violation it would have blocked, not a bare ALLOWED', async () => {
  const result = await wirelock(['check', attacker.url('127.0.0.1', '/'), '--policy', reportOnly]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^REPORT-ONLY enforce would block: ERR_PIN_MISMATCH: Certificate pinning failure for 127\.0\.0\.1!/m);
  assert.match(result.stdout, /^ALLOWED in report-only mode only: 1 violation\(s\) above; enforce mode would block this connection$/m);
  // Control: the same server under enforce is BLOCKED with the same code.
  const enforced = await wirelock(['check', attacker.url('127.0.0.1', '/'), '--policy', enforce]);
  assert.equal(enforced.code, 1);
  assert.match(enforced.stdout, /^BLOCKED ERR_PIN_MISMATCH/m);
  assert.doesNotMatch(enforced.stdout, /REPORT-ONLY/);
  assert.equal(enforced.stderr, '', 'the CLI prints the block itself: no duplicate process warning');
});

test('fetch in report-only mode names the violation on stderr and in --json', async () => {
  const plain = await wirelock(['fetch', attacker.url('127.0.0.1', '/'), '--policy', reportOnly]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /^wirelock fetch: report-only, enforce mode would block: ERR_PIN_MISMATCH: /m);
  const json = await wirelock(['fetch', attacker.url('127.0.0.1', '/'), '--policy', reportOnly, '--json']);
  const out = JSON.parse(json.stdout) as { ok: boolean; reports: Array<{ kind: string; code: string }> };
  assert.equal(out.ok, true);
  assert.deepEqual(out.reports.map((report) => [report.kind, report.code]), [['violation', 'ERR_PIN_MISMATCH']]);
});

test('check names the policy domain that matched even when OpenSSL refused the chain before wirelock saw it', async () => {
  const result = await wirelock(['check', rogue.url('127.0.0.1', '/'), '--policy', enforce]);
  assert.equal(result.code, 1);
  assert.match(result.stdout, /policy domain: 127\.0\.0\.1 {2}mode: enforce/);
  assert.doesNotMatch(result.stdout, /\(none/);
  assert.match(result.stdout, /BLOCKED ERR_CERT_UNTRUSTED: .*"domains" > "127\.0\.0\.1" > "trustAnchors"/s);
  const json = JSON.parse((await wirelock(['check', rogue.url('127.0.0.1', '/'), '--policy', enforce, '--json'])).stdout) as { domain: string; mode: string };
  assert.deepEqual([json.domain, json.mode], ['127.0.0.1', 'enforce']);
});

test('env: the fix text names the flag env really has, and that flag with the shown pin allow-lists the CA', async () => {
  const caFile = join(dir, 'corporate.pem');
  writeFileSync(caFile, pki.rogue.root.pem);
  const env = { NODE_EXTRA_CA_CERTS: caFile };
  const first = await wirelock(['env'], env);
  assert.equal(first.code, 1);
  assert.match(first.stdout, /fix: .*wirelock env --trusted-ca sha256\/PIN/);
  assert.doesNotMatch(first.stdout, /\(trustedCas\)/);
  const pin = certificatePin(pki.rogue.root.der);
  assert.ok(first.stdout.includes(pin), 'the pin to allow is shown');
  const allowed = await wirelock(['env', '--trusted-ca', pin], env);
  assert.equal(allowed.code, 0, allowed.stdout);
});

test('pin --cert on a CSR or a private key says what the file holds and how to get its pin', async () => {
  const csr = join(dir, 'server.csr');
  writeFileSync(csr, `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from('not parsed').toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
  const key = join(dir, 'server.key');
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(key, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const onCsr = await wirelock(['pin', '--cert', csr]);
  assert.notEqual(onCsr.code, 0);
  assert.match(onCsr.stderr, /holds a certificate signing request \(CSR\), not a certificate\. Its public key is what you pin: `openssl req -in .*server\.csr -pubkey -noout > pub\.pem`, then `wirelock pin --cert pub\.pem`/);
  const onKey = await wirelock(['pin', '--cert', key]);
  assert.notEqual(onKey.code, 0);
  assert.match(onKey.stderr, /holds a private key \(PRIVATE KEY\), not a certificate\. Pin its public key: `openssl pkey -in .*server\.key -pubout -out pub\.pem`/);
  assert.doesNotMatch(onKey.stderr + onKey.stdout, /BEGIN PRIVATE KEY/, 'the key is never echoed');
  // The suggested next step works: the public key file gives the key's pin.
  const pub = join(dir, 'pub.pem');
  writeFileSync(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  const onPublic = await wirelock(['pin', '--cert', pub]);
  assert.equal(onPublic.code, 0, onPublic.stderr);
  assert.ok(onPublic.stdout.includes(spkiPin(new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })))), onPublic.stdout);
});

test('audit of a folder with only bun.lockb gives the text-lockfile hint, as with the file itself', async () => {
  const project = join(dir, 'bun-project');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'bun-project', version: '1.0.0' }));
  writeFileSync(join(project, 'bun.lockb'), Buffer.from([0x23, 0x21, 0x2f, 0x75, 0x73, 0x72, 0x00, 0x01]));
  const result = await wirelock(['audit', project]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /ERR_LOCKFILE_INVALID: .*bun-project\/bun\.lockb: binary bun\.lockb is not supported; run `bun install --save-text-lockfile`/);
  // The same hint as the lockfile API gives for the folder and for the file itself.
  const { readLockfile } = await import('../../src/audit/lockfile/read.js');
  for (const target of [project, join(project, 'bun.lockb')]) {
    assert.throws(() => readLockfile(target), (error: Error & { code?: string }) => error.code === 'ERR_LOCKFILE_INVALID' && /`bun install --save-text-lockfile`/.test(error.message), target);
  }
});

test('policy lint refuses a CT log list that is not a v3 log list; a real one passes', async () => {
  const { copyFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'not-a-list.json'), 'this is not JSON');
  writeFileSync(join(dir, 'wrong-shape.json'), JSON.stringify({ logs: [] }));
  copyFileSync(join(process.cwd(), 'test/vectors/ct-log-lists/google-all_logs_list.v89.25.2026-08-20.json'), join(dir, 'log_list.json'));
  for (const [list, expected] of [
    ['./not-a-list.json', /not-a-list\.json is not a CT log list \(v3 JSON\): not JSON/],
    ['./wrong-shape.json', /wrong-shape\.json is not a CT log list \(v3 JSON\): no "operators" array/],
  ] as const) {
    const file = policyFile(`ct-${list.slice(2)}`, { certificateTransparency: { enforce: true, logList: list } });
    const result = await wirelock(['policy', 'lint', file, '--json']);
    assert.equal(result.code, 1, result.stdout);
    const issue = (JSON.parse(result.stdout) as { issues: Array<{ rule: string; pointer: string; message: string }> }).issues.find((entry) => entry.rule === 'ct/log-list-invalid');
    assert.ok(issue, result.stdout);
    assert.equal(issue.pointer, '/certificateTransparency/logList');
    assert.match(issue.message, expected);
  }
  const good = await wirelock(['policy', 'lint', policyFile('ct-good.json', { certificateTransparency: { enforce: true, logList: './log_list.json' } }), '--json']);
  assert.equal((JSON.parse(good.stdout) as { issues: Array<{ rule: string }> }).issues.some((entry) => entry.rule === 'ct/log-list-invalid'), false, good.stdout);
});
