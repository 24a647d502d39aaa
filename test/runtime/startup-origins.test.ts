// The cheap origin proof used at start-up (origin.ts, `fast`): under `--import wirelock/register`
// with no other preload, Node's own functions are recognised without Debugger.enable (by script
// order and V8's own text of the function, compared with Node's shipped source at the reported
// line and column). These tests pin down what it accepts, and that everywhere code may have run
// before wirelock the full check (the whole script compared) is what judges.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, REGISTER, ROOT } from './support.js';

const FORGED = join(FIXTURES, 'forged-early.mjs');
const APP = join(FIXTURES, 'forged-early-app.mjs');
const policyFile = join(mkdtempSync(join(tmpdir(), 'wirelock-startup-')), 'wirelock.json');
writeFileSync(policyFile, JSON.stringify({ version: 1, domains: { '127.0.0.1': {} } }));

interface Finding {
  key: string;
  severity: string;
  defined: string | null;
}

function run(flags: string[], env: Record<string, string>): Promise<{ verdicts?: Record<string, { kind: string; url?: string; forged?: string }>; findings?: Finding[] }> {
  const node = process.env.RUNTIME_CHILD_NODE ?? process.execPath;
  return new Promise((resolve, reject) => {
    execFile(node, [...flags, APP], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', WIRELOCK_POLICY: policyFile, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`child did not report (exit ${error?.code ?? 0}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

const hooked = (findings: Finding[] | undefined): Finding | undefined => findings?.find((finding) => finding.key === 'hooked-api:tls.connect');

test('cheap proof: accepts Node\'s tls.connect, rejects a node:-named copy whose text differs by one character', async () => {
  const { verdicts } = await run([], { MODE: 'fast' });
  assert.equal(verdicts?.node?.kind, 'builtin');
  assert.match(verdicts!.node!.url!, /^node:(_tls_wrap|internal\/tls\/wrap)$/);
  // Falls through to the full check, which sees a script that is not Node's.
  assert.equal(verdicts?.other?.kind, 'user');
  assert.match(verdicts!.other!.forged!, /not the one Node ships/);
  // Its blind spot, why it is used only where wirelock provably loaded first: Node's exact text at
  // Node's line and column, compiled before wirelock inside another script.
  assert.equal(verdicts?.same?.kind, 'builtin');
});

test('code that ran before an in-app wirelock import: the full check judges, the same forgery is a hooked-api finding', async () => {
  const { findings } = await run([], { MODE: 'inspect', FORGED_INSTALL: '1' });
  const finding = hooked(findings);
  assert.ok(finding, `expected hooked-api:tls.connect, got ${JSON.stringify(findings)}`);
  assert.equal(finding.severity, 'high');
  assert.match(finding.defined ?? '', /claims to be Node's own, but its source is not the one Node ships/);
  // Control: the same process without the forgery installed has no such finding.
  const clean = await run([], { MODE: 'inspect' });
  assert.equal(hooked(clean.findings), undefined, JSON.stringify(clean.findings));
});

test('a preload that installs the forgery before --import wirelock/register: found (preload and hooked-api)', async () => {
  const flags = ['--import', FORGED, '--import', REGISTER];
  const { findings } = await run(flags, { MODE: 'inspect', FORGED_INSTALL: '1', WIRELOCK_ON_TAMPER: 'report' });
  assert.ok(findings?.some((finding) => finding.key.startsWith('preload:') && finding.severity === 'high'), JSON.stringify(findings));
  assert.match(hooked(findings)?.defined ?? '', /claims to be Node's own/);
  // Control: the same preload without installing anything is only the preload finding.
  const clean = await run(flags, { MODE: 'inspect', WIRELOCK_ON_TAMPER: 'report' });
  assert.equal(hooked(clean.findings), undefined, JSON.stringify(clean.findings));
});

test('register alone (the cheap proof at start): a clean process has no hook finding; a node:-named hook installed later is found', async () => {
  const clean = await run(['--import', REGISTER], { MODE: 'inspect' });
  assert.deepEqual(clean.findings?.filter((finding) => finding.severity !== 'info' && finding.severity !== 'low'), []);
  const { findings } = await run(['--import', REGISTER], { MODE: 'inspect', FORGED_INSTALL: '1', WIRELOCK_ON_TAMPER: 'report' });
  assert.match(hooked(findings)?.defined ?? '', /claims to be Node's own, but compiled after wirelock loaded/);
});

test('lockdown defers the start-up proof: it judges the values the slots held at start, and finds what the immediate proof finds', async () => {
  const result = await new Promise<{ deferred: boolean; atStart: Finding[]; proved: Finding[]; direct: Finding[] }>((resolve, reject) => {
    const node = process.env.RUNTIME_CHILD_NODE ?? process.execPath;
    execFile(node, ['--import', REGISTER, join(FIXTURES, 'deferred-proof-app.mjs')], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', WIRELOCK_POLICY: policyFile, WIRELOCK_ON_TAMPER: 'report' }, timeout: 60_000 }, (error, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`child did not report (exit ${error?.code ?? 0}):\n${stdout}\n${stderr}`));
      }
    });
  });
  assert.equal(result.deferred, true, 'under register alone the proof is handed back, not run');
  assert.deepEqual(result.atStart.filter((finding) => finding.key === 'hooked-api:https.request'), [], 'not judged before the proof runs');
  // The slot was put back to another of Node's functions before the proof ran: the proof still
  // judged the forgery it held when the inspection was made.
  const proved = result.proved.find((finding) => finding.key === 'hooked-api:https.request');
  assert.match(proved?.defined ?? '', /claims to be Node's own, but compiled after wirelock loaded/, JSON.stringify(result));
  // Control: the immediate proof gives the same verdict.
  const direct = result.direct.find((finding) => finding.key === 'hooked-api:https.request');
  assert.equal(direct?.defined, proved?.defined);
});
