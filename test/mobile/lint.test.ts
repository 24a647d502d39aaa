import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePolicy } from '../../src/policy/define.js';
import { lintMobilePolicy } from '../../src/mobile/lint.js';

const A = 'sha256/LWOLuLH9BzkTqld/hNBpZM2FQITdWcGLvU42FVp04FA=';
const B = 'sha256/13AXL1cHOEYOSKTkW/o4cxVRRkY/PT+SYyyWm4dnzhs=';
const now = new Date('2027-01-01T00:00:00Z');
const rules = (document: unknown) => lintMobilePolicy(definePolicy(document), now).map((i) => `${i.rule} ${i.pointer}`).sort();

test('a well-formed mobile policy has no mobile findings (control)', () => {
  assert.deepEqual(rules({ version: 1, domains: { 'api.example.com': { pins: [{ pin: A, role: 'ca' }, { pin: B, role: 'ca' }], pinsExpire: '2027-12-31' } } }), []);
});

test('each rule fires on its mistake, with the pointer of the offending setting', () => {
  assert.deepEqual(rules({ version: 1, domains: { 'old.example.com': { cleartext: 'allow' } } }), ['mobile/cleartext-allowed /domains/old.example.com/cleartext']);
  assert.deepEqual(rules({ version: 1, domains: { 't.example.com': { mode: 'report-only', pins: [{ pin: A, role: 'ca' }] } } }), [
    'mobile/no-backup-pin /domains/t.example.com/pins',
    'mobile/report-only-pins /domains/t.example.com/mode',
  ]);
  assert.deepEqual(rules({ version: 1, domains: { 'l.example.com': { pins: [{ pin: A, role: 'leaf' }, { pin: B, role: 'leaf' }] } } }), ['mobile/leaf-only-pins /domains/l.example.com/pins']);
  assert.deepEqual(rules({ version: 1, domains: { 'r.example.com': { pins: [A, { pin: B, role: 'ca' }] } } }), ['mobile/pin-role-missing /domains/r.example.com/pins']);
  assert.deepEqual(rules({ version: 1, domains: { 'e.example.com': { pins: [{ pin: A, role: 'ca' }, { pin: B, role: 'ca' }], pinsExpire: '2027-01-20' } } }), ['mobile/pins-near-expiry /domains/e.example.com/pinsExpire']);
  // 60 days out is not near; already expired is the core validator's pins/expired, not repeated here.
  assert.deepEqual(rules({ version: 1, domains: { 'e.example.com': { pins: [{ pin: A, role: 'ca' }, { pin: B, role: 'ca' }], pinsExpire: '2027-03-02' } } }), []);
  assert.deepEqual(rules({ version: 1, domains: { 'e.example.com': { pins: [{ pin: A, role: 'ca' }, { pin: B, role: 'ca' }], pinsExpire: '2026-12-01' } } }), []);
});

test('`wirelock policy lint` includes the mobile rules', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirelock-lint-'));
  const file = join(dir, 'wirelock.json');
  writeFileSync(file, JSON.stringify({ version: 1, domains: { 'l.example.com': { cleartext: 'allow', pins: [{ pin: A, role: 'leaf' }, { pin: B, role: 'leaf' }] } } }));
  const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [join(process.cwd(), 'dist', 'cli', 'main.js'), 'policy', 'lint', file, '--json', '--strict'], { env: { PATH: process.env.PATH } }, (error, stdout) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout }),
    );
  });
  assert.equal(result.code, 1, 'warnings fail under --strict');
  const found = JSON.parse(result.stdout).issues.map((i: { rule: string }) => i.rule);
  assert.ok(found.includes('mobile/cleartext-allowed') && found.includes('mobile/leaf-only-pins'), found.join());
  rmSync(dir, { recursive: true, force: true });
});
