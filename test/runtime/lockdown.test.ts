// Every attack runs as a real process against real loopback servers: the legitimate origin
// (127.0.0.1, listed in the policy), the attacker's C2 and a MITM with a rogue CA (127.0.0.2,
// not listed). Each attack is run twice: under lockdown (detected, blocked, the attacker gets 0
// bytes) and unprotected (the positive control: the same attack really works).
// The guards one by one are in lockdown-guards.test.ts and lockdown-exfiltration.test.ts (split so
// each file stays well under the per-file timeout on 2 cores).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { attack, keys, nodeWithSetDefaultCas, runApp, labForThisFile, type AppResult, type Lab } from './support.js';

const lab = labForThisFile();

const SECRET = 'TOP-SECRET-BODY-4711';

interface AttackCase {
  name: string;
  /** Extra environment of both runs. */
  env?: (lab: Lab) => Record<string, string>;
  flags?: string[];
  /** Where the attacker receives: the C2 (exfiltration, proxy) or the MITM (trust attacks). */
  attacker: 'c2' | 'mitm';
  /** The request goes to the MITM (the attack is about trusting it). */
  targetMitm?: boolean;
  /** The finding key lockdown must report (exact, or a prefix ending in ':'). */
  finding: string;
  /** Lockdown through the preload entry instead of an in-process lockdown() call. */
  register?: boolean;
  /** What the unprotected run must show. */
  control: (result: AppResult, lab: Lab) => void;
  node?: () => Promise<string | undefined>;
}

const leaked = (text: string) => (_result: AppResult, lab: Lab) => {
  assert.ok(lab.c2.captured.includes(text), `the C2 should have received ${text}; got ${lab.c2.applicationBytes} bytes`);
};
const mitmGotSecret = (_result: AppResult, lab: Lab) => {
  assert.ok(lab.mitm.captured.includes(SECRET), `the MITM should have decrypted the secret; got ${lab.mitm.applicationBytes} bytes`);
};

const CASES: AttackCase[] = [
  {
    name: 'NODE_OPTIONS --require preload wrapping tls.connect (lockdown via --import wirelock/register)',
    env: () => ({ NODE_OPTIONS: `--require ${attack('preload-wrap.cjs')}` }),
    attacker: 'c2',
    finding: 'hooked-api:tls.connect',
    register: true,
    control: leaked(SECRET),
  },
  {
    name: 'preload that scrubs NODE_OPTIONS and its require.cache entry',
    env: () => ({ NODE_OPTIONS: `--require ${attack('preload-scrub.cjs')}` }),
    attacker: 'c2',
    finding: `preload-scrubbed:${attack('preload-scrub.cjs')}`,
    control: leaked(SECRET),
  },
  {
    name: 'ESM --import with module.register redirecting node:https',
    flags: ['--import', attack('loader-redirect.mjs')],
    env: () => ({ CLIENT: 'https' }),
    attacker: 'c2',
    finding: 'loader-redirect:node:https',
    control: leaked(SECRET),
  },
  ...(['plain', 'proxy', 'bound'] as const).map(
    (variant): AttackCase => ({
      name: `dependency replacing globalThis.fetch after lockdown (${variant})`,
      env: () => ({ DEPENDENCY: attack('replace-fetch.mjs'), VARIANT: variant }),
      attacker: 'c2',
      // Judged at the assignment itself, which is refused.
      finding: 'tamper-attempt:globalThis.fetch',
      control: leaked(SECRET),
    }),
  ),
  {
    name: 'undici global dispatcher swapped to a ProxyAgent',
    env: () => ({ DEPENDENCY: attack('dispatcher-proxy.mjs'), REQUEST_TIMEOUT_MS: '1500' }),
    attacker: 'c2',
    finding: 'dispatcher-swapped:undici.globalDispatcher',
    control: leaked('CONNECT 127.0.0.1:'),
  },
  {
    name: 'global-agent bootstrap with an attacker proxy',
    env: () => ({ DEPENDENCY: attack('global-agent.mjs'), CLIENT: 'https', REQUEST_TIMEOUT_MS: '1500' }),
    attacker: 'c2',
    // global-agent's first assignment (http.globalAgent) is refused, so its bootstrap fails.
    finding: 'tamper-attempt:http.globalAgent',
    control: leaked('CONNECT 127.0.0.1:'),
  },
  {
    name: 'run-time CA injection through https.globalAgent.options.ca',
    env: (lab) => ({ DEPENDENCY: attack('ca-inject.mjs'), VARIANT: 'agent-options', ROGUE_CA_PEM: lab.rogue.root.pem, CLIENT: 'https' }),
    attacker: 'mitm',
    targetMitm: true,
    finding: 'ca-injected:https.globalAgent.options.ca',
    control: mitmGotSecret,
  },
  {
    name: 'run-time CA injection through tls.setDefaultCACertificates',
    env: (lab) => ({ DEPENDENCY: attack('ca-inject.mjs'), VARIANT: 'set-default', ROGUE_CA_PEM: lab.rogue.root.pem }),
    attacker: 'mitm',
    targetMitm: true,
    finding: 'ca-injected:tls.setDefaultCACertificates',
    control: mitmGotSecret,
    node: nodeWithSetDefaultCas,
  },
  {
    name: 'NODE_TLS_REJECT_UNAUTHORIZED=0 set at run time',
    env: () => ({ DEPENDENCY: attack('reject-unauthorized.mjs'), CLIENT: 'https' }),
    attacker: 'mitm',
    targetMitm: true,
    finding: 'tls-verification-disabled',
    control: mitmGotSecret,
  },
  {
    name: 'keylog listener shipping TLS secrets',
    env: () => ({ DEPENDENCY: attack('keylog.mjs'), CLIENT: 'https' }),
    attacker: 'c2',
    finding: 'tls-keylog:https.globalAgent',
    control: leaked('TRAFFIC_SECRET'),
  },
  {
    name: 'inspector.open() at run time',
    env: () => ({ DEPENDENCY: attack('inspector-open.mjs') }),
    attacker: 'c2',
    finding: 'inspector',
    control: (result) => assert.match(String(result.inspectorUrl), /^ws:\/\/127\.0\.0\.1:\d+\//),
  },
];

function envFor(lab: Lab, testCase: AttackCase, protectedRun: boolean): Record<string, string> {
  const env = lab.env({
    ...(testCase.env?.(lab) ?? {}),
    ...(testCase.targetMitm ? { TARGET_URL: lab.mitm.url('127.0.0.2', '/api') } : {}),
  });
  if (protectedRun) {
    if (testCase.register) {
      const file = join(lab.dir, 'wirelock.json');
      writeFileSync(file, JSON.stringify(lab.policy));
      env.WIRELOCK_POLICY = file;
    } else {
      env.LOCKDOWN = 'block';
    }
  } else {
    // The unprotected app trusts the legitimate origin the ordinary way.
    env.NODE_EXTRA_CA_CERTS = lab.legitRootFile;
  }
  return env;
}

describe('lockdown against real tampering', { concurrency: false }, () => {
  for (const testCase of CASES) {
    test(`${testCase.name}: detected, blocked, attacker receives 0 bytes`, async () => {
      const node = testCase.node ? await testCase.node() : process.execPath;
      if (!node) {
        // This Node has no tls.setDefaultCACertificates: the attack cannot exist here.
        const tls = await import('node:tls');
        assert.equal('setDefaultCACertificates' in tls, false);
        return;
      }
      lab.reset();
      const flags = [...(testCase.flags ?? []), ...(testCase.register ? ['--import', 'wirelock/register'] : [])];
      const result = await runApp({ flags, env: envFor(lab, testCase, true), node });
      assert.ok(
        keys(result).some((key) => key === testCase.finding),
        `expected finding ${testCase.finding}, got ${keys(result).join(', ')}\n${result.stderr}`,
      );
      assert.equal(result.outcome?.ok, false, JSON.stringify(result.outcome));
      assert.equal(result.outcome?.code, 'ERR_ENV_COMPROMISED', JSON.stringify(result.outcome));
      assert.ok(result.outcome?.finding, 'the error names the finding');
      assert.equal(lab[testCase.attacker].applicationBytes, 0, `${testCase.attacker} received ${lab[testCase.attacker].captured}`);
      assert.equal(lab.c2.applicationBytes, 0);
      assert.equal(lab.origin.applicationBytes, 0, 'a compromised process sends nothing, not even to the legitimate origin');
    });

    test(`${testCase.name}: positive control, the attack works on an unprotected app`, async () => {
      const node = testCase.node ? await testCase.node() : process.execPath;
      if (!node) {
        const tls = await import('node:tls');
        assert.equal('setDefaultCACertificates' in tls, false);
        return;
      }
      lab.reset();
      const result = await runApp({ flags: testCase.flags ?? [], env: envFor(lab, testCase, false), node });
      testCase.control(result, lab);
    });
  }
});
