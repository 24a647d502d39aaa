import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCountingServer } from '../../src/lab/servers.js';
import { issueChain } from '../../src/x509/issue.js';
import { createTestLog, issueWithScts, writeLogListFiles } from '../../src/ct/testlog.js';

// These run the built CLI (`npm test` builds first) as a user would.
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const VECTORS = join(process.cwd(), 'test', 'vectors');
const dir = mkdtempSync(join(tmpdir(), 'wirelock-ct-cli-'));
const pki = issueChain({ hostnames: ['127.0.0.1'], rootName: 'CT CLI root' });
const logs = [createTestLog({ name: 'CLI log A', operator: 'A' }), createTestLog({ name: 'CLI log B', operator: 'B', keyAlgorithm: 'rsa-2048' })];
const list = writeLogListFiles(join(dir, 'list'), logs);
const good = issueWithScts({ issuer: pki.intermediate, hostnames: ['127.0.0.1'], logs });
const forged = issueWithScts({ issuer: pki.intermediate, hostnames: ['127.0.0.1'], logs, forge: 'tampered' });
writeFileSync(join(dir, 'good.pem'), good.chainPem);
writeFileSync(join(dir, 'forged.pem'), forged.chainPem);
writeFileSync(join(dir, 'root.pem'), pki.root.pem);
const googleList = join(VECTORS, 'ct-log-lists', 'google-all_logs_list.v87.10.2026-07-06.json');
const googleKey = join(VECTORS, 'ct-log-lists', 'google-log_list_pubkey.pem');
const githubChain = join(VECTORS, 'ct-sct-chains', 'appmattus', 'github.com.chain.pem');

const origin = await startCountingServer({ cert: good.chainPem, key: good.certificate.keyPem });
after(() => origin.close());

function wirelock(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '', NO_COLOR: '1' };
    execFile(process.execPath, [cli, ...args], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (error as { code?: number }).code ?? 1 : 0, stdout, stderr });
    });
  });
}

test('ct --json: a compliant chain prints the issue\'s JSON shape and exits 0', async () => {
  const result = await wirelock(dir, 'ct', 'good.pem', '--log-list', list.logList, '--log-list-key', list.logListKey, '--json');
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const out = JSON.parse(result.stdout);
  assert.equal(out.compliant, true);
  assert.equal(out.policy, 'chrome');
  assert.equal(out.scts.length, 2);
  for (const [index, sct] of out.scts.entries()) {
    assert.deepEqual(Object.keys(sct).slice(0, 6), ['logId', 'logName', 'operator', 'origin', 'timestamp', 'status']);
    assert.equal(sct.logId, logs[index]!.logIdBase64);
    assert.equal(sct.logName, logs[index]!.description);
    assert.equal(sct.origin, 'embedded');
    assert.equal(sct.status, 'valid');
    assert.match(sct.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  }
  assert.equal(out.logList.signatureVerified, true);
});

test('ct: forged SCTs exit 1 with status invalid-signature; text output names each SCT', async () => {
  const json = await wirelock(dir, 'ct', 'forged.pem', '--log-list', list.logList, '--json');
  assert.equal(json.code, 1);
  assert.deepEqual(JSON.parse(json.stdout).scts.map((s: { status: string }) => s.status), ['invalid-signature', 'invalid-signature']);
  const text = await wirelock(dir, 'ct', 'forged.pem', '--log-list', list.logList);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /CLI log A \(A\).*invalid-signature/);
  assert.match(text.stdout, /NOT COMPLIANT with the chrome CT policy/);
  assert.match(text.stdout, /signature NOT verified/);
});

test('ct: the real github.com chain against Google\'s signed 87.10 list: signatures verify, rejected logs do not count', async () => {
  const result = await wirelock(dir, 'ct', githubChain, '--log-list', googleList, '--log-list-key', googleKey, '--at', '2019-01-01T00:00:00Z', '--json');
  assert.equal(result.code, 1, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.deepEqual(out.scts.map((s: { logName: string }) => s.logName), ["Google 'Pilot' log", 'DigiCert Log Server', "Google 'Skydiver' log"]);
  assert.ok(out.scts.every((s: { status: string; signatureValid: boolean }) => s.status === 'log-not-usable' && s.signatureValid));
  // The same list with those logs marked usable (unsigned, so no key): compliant in 2019.
  const document = JSON.parse(readFileSync(googleList, 'utf8'));
  for (const operator of document.operators) for (const log of operator.logs) log.state = { usable: { timestamp: '2017-01-01T00:00:00Z' } };
  const usable = join(dir, 'usable.json');
  writeFileSync(usable, JSON.stringify(document));
  const usableResult = await wirelock(dir, 'ct', githubChain, '--log-list', usable, '--at', '2019-01-01T00:00:00Z', '--json');
  assert.equal(usableResult.code, 0, usableResult.stdout);
  const apple = await wirelock(dir, 'ct', githubChain, '--log-list', usable, '--at', '2019-01-01T00:00:00Z', '--policy', 'apple', '--json');
  assert.equal(JSON.parse(apple.stdout).policy, 'apple');
  assert.equal(apple.code, 0, apple.stdout);
  // After the certificate's SCTs were issued the list is years younger than --at: the SCTs become "future".
  const before = await wirelock(dir, 'ct', githubChain, '--log-list', usable, '--at', '2018-01-01T00:00:00Z', '--json');
  assert.equal(before.code, 1);
  assert.ok(JSON.parse(before.stdout).scts.every((s: { status: string }) => s.status === 'future'));
});

test('ct: a chain without SCTs exits 1; a tampered list signature or bad usage exits 2', async () => {
  const none = await wirelock(dir, 'ct', join(VECTORS, 'ct-sct-chains', 'appmattus', 'NEGATIVE-no-sct.badssl.com.chain.pem'), '--log-list', googleList, '--at', '2024-01-01T00:00:00Z', '--json');
  assert.equal(none.code, 1);
  assert.deepEqual(JSON.parse(none.stdout).scts, []);
  const tampered = join(dir, 'tampered.json');
  const bytes = readFileSync(googleList);
  bytes[100]! ^= 1;
  writeFileSync(tampered, bytes);
  writeFileSync(`${tampered}.sig`, readFileSync(`${googleList.replace(/\.json$/, '')}.sig`));
  const bad = await wirelock(dir, 'ct', githubChain, '--log-list', tampered, '--log-list-key', googleKey);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /ERR_CT_LOG_LIST: .*signature does not verify/);
  assert.equal((await wirelock(dir, 'ct', githubChain, '--log-list', googleList, '--policy', 'firefox')).code, 2);
  assert.equal((await wirelock(dir, 'ct', githubChain, '--log-list', googleList, '--at', 'yesterday')).code, 2);
  const noList = await wirelock(dir, 'ct', githubChain);
  assert.equal(noList.code, 2);
  assert.match(noList.stderr, /no log list/);
  assert.equal((await wirelock(dir, 'ct', 'missing.pem', '--log-list', googleList)).code, 2);
});

test('ct: without --log-list the settings come from ./wirelock.json', async () => {
  const project = mkdtempSync(join(tmpdir(), 'wirelock-ct-project-'));
  writeFileSync(join(project, 'wirelock.json'), JSON.stringify({ version: 1, certificateTransparency: { logList: list.logList, logListKey: list.logListKey, policy: 'apple' } }));
  writeFileSync(join(project, 'chain.pem'), good.chainPem);
  const result = await wirelock(project, 'ct', 'chain.pem', '--json');
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).policy, 'apple');
});

test('check --json shows the SCTs: verified when the policy configures CT, listed otherwise', async () => {
  const policyFile = join(dir, 'ct-policy.json');
  writeFileSync(policyFile, JSON.stringify({ version: 1, trustAnchors: ['./root.pem'], certificateTransparency: { logList: list.logList, logListKey: list.logListKey } }));
  const checked = await wirelock(dir, 'check', origin.url('127.0.0.1', '/'), '--policy', policyFile, '--json');
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  const ct = JSON.parse(checked.stdout).certificateTransparency;
  assert.equal(ct.configured, true);
  assert.equal(ct.compliant, true);
  assert.deepEqual(ct.scts.map((s: { status: string; logId: string }) => [s.logId, s.status]), logs.map((log) => [log.logIdBase64, 'valid']));
  const plainPolicy = join(dir, 'plain-policy.json');
  writeFileSync(plainPolicy, JSON.stringify({ version: 1, trustAnchors: ['./root.pem'] }));
  const plain = await wirelock(dir, 'check', origin.url('127.0.0.1', '/'), '--policy', plainPolicy, '--json');
  const listed = JSON.parse(plain.stdout).certificateTransparency;
  assert.equal(listed.configured, false);
  assert.deepEqual(listed.scts.map((s: { logId: string }) => s.logId), logs.map((log) => log.logIdBase64));
  const text = await wirelock(dir, 'check', origin.url('127.0.0.1', '/'), '--policy', policyFile);
  assert.match(text.stdout, /certificate transparency: compliant/);
  assert.match(text.stdout, /SCT #1 \[embedded\] CLI log A \(A\)/);
});
