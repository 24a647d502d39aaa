import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { certificatePin } from '../../src/x509/certificate.js';
import { issueChain } from '../../src/x509/issue.js';

// The built CLI in a process whose environment is set exactly (PATH only, plus the case's own).
const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'wirelock-env-'));
const rogue = issueChain({ hostnames: ['mitm.test'], rootName: 'Env Rogue Root' });
const rogueFile = join(dir, 'rogue.pem');
writeFileSync(rogueFile, rogue.root.pem);
const roguePin = certificatePin(rogue.root.der);

function wirelock(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeFlags, cli, 'env', ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('env: a clean environment exits 0 and says so', async () => {
  const result = await wirelock([]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /clean: no finding/);
});

test('env --json: findings with stable keys, severity, evidence and fix; exit 1', async () => {
  const result = await wirelock(['--json'], { NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_EXTRA_CA_CERTS: rogueFile, HTTPS_PROXY: 'http://10.0.0.1:8080' });
  assert.equal(result.code, 1);
  const report = JSON.parse(result.stdout) as { clean: boolean; findings: Array<{ key: string; id: string; severity: string; fix: string; evidence: Record<string, unknown> }> };
  assert.equal(report.clean, false);
  assert.deepEqual(report.findings.map((f) => f.key), ['tls-verification-disabled', 'extra-ca:NODE_EXTRA_CA_CERTS', 'proxy-env:HTTPS_PROXY']);
  for (const finding of report.findings) assert.ok(finding.fix.length > 20);
  assert.deepEqual((report.findings[1]!.evidence.certificates as Array<{ pin: string }>).map((c) => c.pin), [roguePin]);
});

test('env: a preload in NODE_OPTIONS is reported in text with its fix', async () => {
  const preload = join(dir, 'preload.cjs');
  writeFileSync(preload, "const tls = require('node:tls'); const c = tls.connect; tls.connect = (...a) => c(...a);\n");
  const result = await wirelock([], { NODE_OPTIONS: `--require ${preload}` });
  assert.equal(result.code, 1);
  assert.match(result.stdout, new RegExp(`HIGH preload:${preload.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(result.stdout, /HIGH hooked-api:tls\.connect {2}tls\.connect is not Node's own: file:\/\/.*preload\.cjs/);
  assert.match(result.stdout, /fix: /);
});

test('env --trusted-ca and --proxy allow-list a corporate setup; --fail-on raises the bar', async () => {
  const env = { NODE_EXTRA_CA_CERTS: rogueFile, HTTPS_PROXY: 'http://10.0.0.1:8080' };
  const allowed = await wirelock(['--trusted-ca', roguePin, '--proxy', 'http://10.0.0.1:8080'], env);
  assert.equal(allowed.code, 0, allowed.stdout);
  assert.match(allowed.stdout, /allowed: trustedCas/);
  assert.equal((await wirelock(['--fail-on', 'high'], env)).code, 0);
  assert.equal((await wirelock(['--fail-on', 'medium'], env)).code, 1);
});

test('env: usage errors exit 2', async () => {
  assert.equal((await wirelock(['--fail-on', 'severe'])).code, 2);
  assert.equal((await wirelock(['--trusted-ca', 'md5/abc'])).code, 2);
  assert.equal((await wirelock(['extra'])).code, 2);
});
