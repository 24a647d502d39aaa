// What docs/lab.md says about the example wirelock client, proven with the lab itself: createFetch
// alone leaks when a preload hooked TLS before the app ran; under wirelock/register it is blocked.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import type { LabResult } from '../../src/lab/run.js';

function lab(client: string): Promise<LabResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['dist/cli/main.js', 'lab', '--json', '--only', 'hooked-tls-preload,user-installed-ca', '--client', client], { maxBuffer: 16 * 1024 * 1024 }, (_error, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout) as LabResult);
      } catch {
        reject(new Error(`lab did not print JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

test('the wirelock example client: createFetch alone leaks in the preload scenario; under --import wirelock/register it is blocked', async () => {
  const alone = await lab(`"${process.execPath}" test/fixtures/lab/wirelock-client.mjs`);
  const preload = alone.scenarios.find((scenario) => scenario.id === 'hooked-tls-preload');
  assert.equal(preload?.verdict, 'leaked', JSON.stringify(preload?.problems));
  assert.equal(preload?.subject?.secretCaptured, true);
  assert.equal(alone.scenarios.find((scenario) => scenario.id === 'user-installed-ca')?.verdict, 'blocked');

  const registered = await lab(`"${process.execPath}" --import ./dist/runtime/register.js test/fixtures/lab/wirelock-client.mjs`);
  const blocked = registered.scenarios.find((scenario) => scenario.id === 'hooked-tls-preload');
  assert.equal(blocked?.verdict, 'blocked', JSON.stringify(blocked?.problems));
  assert.equal(blocked?.subject?.code, 'ERR_ENV_COMPROMISED');
  assert.equal(blocked?.control?.intercepted, true, 'the positive control still ran');
});
