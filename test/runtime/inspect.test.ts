// inspectEnvironment() in real processes started with each risky flag or variable, and a clean
// process as the control. The environment of each child is set exactly (this shell's own
// NODE_EXTRA_CA_CERTS and SSL_CERT_* would otherwise show up).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { certificatePin } from '../../src/x509/certificate.js';
import { APP, attack, keys, runApp, startLab, type AppResult, type Lab } from './support.js';

let lab: Lab;
before(async () => {
  lab = await startLab();
});
after(async () => {
  await lab.close();
});

/** The app without a request and without lockdown: it prints inspectEnvironment(). */
async function inspect(options: { flags?: string[]; env?: Record<string, string>; wrapper?: string[] } = {}): Promise<AppResult> {
  return runApp({ flags: options.flags ?? [], env: options.env ?? {}, ...(options.wrapper ? { wrapper: options.wrapper } : {}) });
}

function finding(result: AppResult, key: string) {
  const found = result.findings.find((f) => f.key === key);
  assert.ok(found, `expected ${key}, got ${keys(result).join(', ') || 'none'}`);
  return found;
}

const LIBM = ['/lib/x86_64-linux-gnu/libm.so.6', '/usr/lib/x86_64-linux-gnu/libm.so.6', '/lib64/libm.so.6', '/usr/lib/libm.so.6'].find((path) => existsSync(path));

describe('inspectEnvironment in real processes', { concurrency: false }, () => {
  test('clean process: no finding at all above info, nothing it could not check', async () => {
    const result = await inspect();
    assert.deepEqual(keys(result, 'low'), []);
    assert.deepEqual(result.findings.filter((f) => f.severity === 'info').map((f) => f.key), []);
    assert.deepEqual(result.limits, []);
  });

  test('inspectEnvironment under an active lockdown does not report lockdown\'s own guards', async () => {
    const file = join(lab.dir, 'policy.json');
    writeFileSync(file, JSON.stringify(lab.policy));
    const result = await inspect({ flags: ['--import', 'wirelock/register'], env: { WIRELOCK_POLICY: file, FORCE_INSPECT: '1' } });
    assert.deepEqual(keys(result), []);
  });

  test('--require preload on the command line', async () => {
    const result = await inspect({ flags: ['--require', attack('exfil.cjs')] });
    const preload = finding(result, `preload:${attack('exfil.cjs')}`);
    assert.equal(preload.severity, 'high');
    assert.equal(preload.evidence.source, 'command line');
  });

  test('preload that removes itself from process.execArgv is still seen in /proc/self/cmdline', async () => {
    const result = await inspect({ flags: ['--require', attack('execargv-hide.cjs')] });
    const tampered = finding(result, 'execargv-tampered');
    assert.equal(tampered.severity, 'critical');
    assert.ok((tampered.evidence.hidden as string[]).some((flag) => flag.endsWith('execargv-hide.cjs')));
  });

  test('preload that scrubs NODE_OPTIONS is still seen in /proc/self/environ', async () => {
    const result = await inspect({ env: { NODE_OPTIONS: `--require ${attack('preload-scrub.cjs')}` } });
    assert.equal(finding(result, `preload-scrubbed:${attack('preload-scrub.cjs')}`).severity, 'critical');
    assert.equal(finding(result, 'hooked-api:tls.connect').evidence.package, null);
  });

  test('hook installed before wirelock loaded is attributed to its file (defined net.Socket.prototype.write)', async () => {
    const result = await inspect({ flags: ['--require', attack('socket-write.cjs')] });
    const hook = finding(result, 'hooked-api:net.Socket.prototype.write');
    assert.match(String(hook.evidence.url), /socket-write\.cjs$/);
    assert.equal(hook.evidence.changedSinceWirelockLoaded, false, 'the baseline alone could not see it: the origin does');
  });

  test('--inspect on the command line', async () => {
    const result = await inspect({ flags: ['--inspect=127.0.0.1:0'] });
    const inspector = finding(result, 'inspector');
    assert.equal(inspector.severity, 'critical');
    assert.match(String(inspector.evidence.url), /^ws:\/\/127\.0\.0\.1:/);
  });

  test('a Node option whose value is the next argument does not end the flags: a preload after it is named, and execArgv cut to hide it is caught', async () => {
    // Control: the option alone is a clean start (it used to read "strict" as the script and
    // report execargv-tampered for every later flag).
    const clean = await inspect({ flags: ['--unhandled-rejections', 'strict'] });
    assert.deepEqual(keys(clean, 'low'), []);
    const result = await inspect({ flags: ['--unhandled-rejections', 'strict', '--require', attack('execargv-truncate.cjs')] });
    assert.equal(finding(result, `preload:${attack('execargv-truncate.cjs')}`).severity, 'high');
    const tampered = finding(result, 'execargv-tampered');
    assert.ok((tampered.evidence.hidden as string[]).includes(attack('execargv-truncate.cjs')), JSON.stringify(tampered.evidence));
  });

  test('option names are read as Node reads them: underscores, `=value` on a boolean, separate values', async () => {
    const keylog = join(lab.dir, 'keys-separate.log');
    const separate = await inspect({ flags: ['--tls_keylog', keylog] });
    assert.equal(finding(separate, 'tls-keylog:--tls-keylog').evidence.file, keylog);
    const internals = await inspect({ flags: ['--expose-internals=1'] });
    assert.equal(finding(internals, 'raw-binding:--expose-internals').severity, 'critical');
  });

  test('a preload that overwrites the command line with the process title is caught (cmdline-rewritten), --title too; a title set after register is not', async () => {
    const hidden = await inspect({ flags: ['--require', attack('title-hide.cjs')] });
    assert.equal(finding(hidden, 'cmdline-rewritten').severity, 'critical');
    const titled = await inspect({ flags: ['--title=myservice'] });
    assert.equal(finding(titled, 'cmdline-rewritten').severity, 'critical');
    // Control: the app names its process after wirelock/register read the command line.
    const file = join(lab.dir, 'policy-title.json');
    writeFileSync(file, JSON.stringify(lab.policy));
    const later = await runApp({ flags: ['--import', 'wirelock/register'], env: { WIRELOCK_POLICY: file, DEPENDENCY: join(APP, '../benign/set-title.mjs') } });
    assert.deepEqual(keys(later, 'low'), []);
  });

  test('a preload that fills the title to the original length and replaces globalThis.process with a look-alike is caught', async () => {
    const result = await inspect({ flags: ['--require', attack('process-lookalike.cjs')] });
    assert.equal(finding(result, 'hooked-api:globalThis.process').severity, 'critical');
    assert.equal(finding(result, 'cmdline-rewritten').severity, 'critical');
  });

  test('NODE_OPTIONS set by an --env-file is read: a preload there that scrubs itself is named', async () => {
    const envFile = join(lab.dir, 'scrub.env');
    writeFileSync(envFile, `# set by a compromised deploy step\nNODE_OPTIONS="--require ${attack('preload-scrub.cjs')}"\n`);
    const result = await inspect({ flags: [`--env-file=${envFile}`] });
    const preload = finding(result, `preload:${attack('preload-scrub.cjs')}`);
    assert.equal(preload.severity, 'high');
    assert.equal(preload.evidence.source, 'env file or config file');
  });

  test('a Node config file\'s nodeOptions are read: a preload there is named (a Node without config files refuses the flag)', async () => {
    const config = join(lab.dir, 'node.config.json');
    writeFileSync(config, JSON.stringify({ nodeOptions: { require: [attack('exfil.cjs')] } }));
    if (Number(process.versions.node.split('.')[0]) < 24) {
      // Node 20 has no config files: no process can start with one, so nothing can hide there.
      assert.notEqual(spawnSync(process.execPath, [`--experimental-config-file=${config}`, '-e', '0']).status, 0);
      return;
    }
    const result = await inspect({ flags: [`--experimental-config-file=${config}`] });
    const preload = finding(result, `preload:${attack('exfil.cjs')}`);
    assert.equal(preload.evidence.source, 'env file or config file');
  });

  test('an env file that is not a regular file (stdin, a pipe, a device) cannot be read again: inspection-failed, high', async () => {
    const result = await inspect({ flags: ['--env-file=/dev/null'] });
    const failed = result.findings.find((f) => f.key.startsWith('inspection-failed:/dev/null'));
    assert.equal(failed?.severity, 'high', JSON.stringify(keys(result)));
  });

  test('--tls-keylog in NODE_OPTIONS is found after a dependency deleted the variable', async () => {
    const result = await inspect({ env: { NODE_OPTIONS: `--tls-keylog=${join(lab.dir, 'keys-deleted.log')}`, DEPENDENCY: attack('delete-node-options.mjs') } });
    assert.equal(finding(result, 'tls-keylog:--tls-keylog').severity, 'critical');
  });

  test('a module-resolution override given at start is a finding (--experimental-policy; a Node without it refuses the flag)', async () => {
    const policy = join(lab.dir, 'resolution-policy.json');
    writeFileSync(policy, JSON.stringify({ onerror: 'log', resources: {} }));
    if (!process.allowedNodeEnvironmentFlags.has('--experimental-policy')) {
      assert.notEqual(spawnSync(process.execPath, [`--experimental-policy=${policy}`, '-e', '0']).status, 0);
      return;
    }
    const result = await inspect({ flags: [`--experimental-policy=${policy}`] });
    assert.equal(finding(result, 'loader-redirect:--experimental-policy').severity, 'high');
  });

  test('--tls-keylog', async () => {
    const result = await inspect({ flags: [`--tls-keylog=${join(lab.dir, 'keys.log')}`] });
    assert.equal(finding(result, 'tls-keylog:--tls-keylog').severity, 'critical');
  });

  test('NODE_EXTRA_CA_CERTS with a rogue CA: medium, with the pin; allow-listed by pin it is info', async () => {
    const file = join(lab.dir, 'extra.pem');
    writeFileSync(file, lab.rogue.root.pem);
    const pin = certificatePin(lab.rogue.root.der);
    const result = await inspect({ env: { NODE_EXTRA_CA_CERTS: file } });
    const extra = finding(result, 'extra-ca:NODE_EXTRA_CA_CERTS');
    assert.equal(extra.severity, 'medium');
    assert.deepEqual((extra.evidence.certificates as Array<{ pin: string }>).map((c) => c.pin), [pin]);
    // Subjects are read only for the certificates listed (not for every certificate of a bundle), but always for those.
    assert.deepEqual((extra.evidence.certificates as Array<{ subject: string }>).map((c) => c.subject), [new X509Certificate(lab.rogue.root.der).subject.replace(/\n/g, ', ')]);
    assert.equal(extra.evidence.certificatesInFile, 1);
    const allowed = await inspect({ env: { NODE_EXTRA_CA_CERTS: file, ALLOW_JSON: JSON.stringify({ trustedCas: [pin] }) } });
    assert.equal(finding(allowed, 'extra-ca:NODE_EXTRA_CA_CERTS').severity, 'info');
    // An allow-list for another CA does not cover this one.
    const other = await inspect({ env: { NODE_EXTRA_CA_CERTS: file, ALLOW_JSON: JSON.stringify({ trustedCas: [certificatePin(lab.legit.root.der)] }) } });
    assert.equal(finding(other, 'extra-ca:NODE_EXTRA_CA_CERTS').severity, 'medium');
  });

  test('NODE_EXTRA_CA_CERTS larger than the 64 KiB read buffer: every certificate of the file is read', async () => {
    // /proc and the CA file are read in 64 KiB chunks (inspect.ts readText): a bundle such as Debian's
    // (~220 KB) must be read to its end, not to the first chunk.
    const file = join(lab.dir, 'big-extra.pem');
    const block = `${lab.legit.root.pem.trim()}\n`;
    const copies = Math.ceil(70_000 / block.length);
    const text = block.repeat(copies) + lab.rogue.root.pem;
    assert.ok(text.length > 65536, `the file must exceed one chunk (${text.length} bytes)`);
    writeFileSync(file, text);
    const extra = finding(await inspect({ env: { NODE_EXTRA_CA_CERTS: file } }), 'extra-ca:NODE_EXTRA_CA_CERTS');
    assert.equal(extra.evidence.certificatesInFile, copies + 1);
    assert.equal(extra.evidence.truncated, copies + 1 - 20);
  });

  test('--use-openssl-ca with SSL_CERT_FILE', async () => {
    const result = await inspect({ flags: ['--use-openssl-ca'], env: { SSL_CERT_FILE: lab.legitRootFile } });
    assert.equal(finding(result, 'system-ca:--use-openssl-ca').severity, 'medium');
    assert.equal(finding(result, 'system-ca:SSL_CERT_FILE').severity, 'medium');
  });

  // Each leg of .ci/run tests its own Node: Node 24 has the flag, Node 20 refuses to start with it.
  test('--use-system-ca: listed by pin where Node has it (tls.getCACertificates); where it does not (Node 20) the process never starts', async () => {
    if (!process.allowedNodeEnvironmentFlags.has('--use-system-ca')) {
      for (const [args, env] of [
        [['--use-system-ca', APP], {}],
        [[APP], { NODE_OPTIONS: '--use-system-ca' }],
      ] as const) {
        const child = spawnSync(process.execPath, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 30_000 });
        assert.equal(child.status, 9, child.stderr);
        assert.match(child.stderr, /bad option: --use-system-ca|--use-system-ca is not allowed in NODE_OPTIONS/);
        assert.equal(child.stdout, '', 'the app never ran');
      }
      return;
    }
    const file = join(lab.dir, 'system-store.pem');
    writeFileSync(file, lab.rogue.root.pem);
    const env = { SSL_CERT_FILE: file, SSL_CERT_DIR: join(lab.dir, 'no-such-dir') };
    const result = await runApp({ flags: ['--use-system-ca'], env });
    assert.equal(finding(result, 'system-ca:--use-system-ca').severity, 'medium');
    const store = finding(result, 'system-ca:default-store');
    assert.deepEqual((store.evidence.certificates as Array<{ pin: string }>).map((c) => c.pin), [certificatePin(lab.rogue.root.der)]);
    // Control: the same Node without the flag trusts nothing beyond its bundled roots.
    const control = await runApp({ env });
    assert.equal(control.findings.some((f) => f.key === 'system-ca:default-store'), false);
  });

  test('NODE_TLS_REJECT_UNAUTHORIZED=0 at start', async () => {
    const result = await inspect({ env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
    const disabled = finding(result, 'tls-verification-disabled');
    assert.equal(disabled.severity, 'critical');
    assert.equal(disabled.evidence.setAtRunTime, false);
  });

  test('proxy variables in both cases and GLOBAL_AGENT_*; an allow-listed proxy is info', async () => {
    const result = await inspect({ env: { HTTPS_PROXY: 'http://10.1.2.3:3128', http_proxy: 'http://10.1.2.3:3128', GLOBAL_AGENT_HTTP_PROXY: 'http://10.9.9.9:8080' } });
    for (const key of ['proxy-env:HTTPS_PROXY', 'proxy-env:http_proxy', 'proxy-env:GLOBAL_AGENT_HTTP_PROXY']) assert.equal(finding(result, key).severity, 'medium');
    const allowed = await inspect({ env: { HTTPS_PROXY: 'http://10.1.2.3:3128', ALLOW_JSON: JSON.stringify({ proxies: ['10.1.2.3:3128'] }) } });
    assert.equal(finding(allowed, 'proxy-env:HTTPS_PROXY').severity, 'info');
  });

  test('diagnostics channel subscriber reading requests', async () => {
    const result = await inspect({ env: { DEPENDENCY: attack('channel-spy.mjs') } });
    const spy = finding(result, 'channel-subscriber');
    assert.deepEqual(spy.evidence.channels, ['undici:request:create']);
  });

  test('LD_PRELOAD of a shared library', async () => {
    assert.ok(LIBM, 'a libm to preload');
    const result = await inspect({ env: { LD_PRELOAD: LIBM } });
    assert.equal(finding(result, 'ld-preload:LD_PRELOAD').severity, 'critical');
  });

  test('an injected instrumentation library (frida-agent) mapped into the process', async () => {
    assert.ok(LIBM);
    const fake = join(lab.dir, 'frida-agent-64.so');
    copyFileSync(LIBM, fake);
    const result = await inspect({ env: { LD_PRELOAD: fake } });
    const injected = finding(result, 'injected-library');
    assert.deepEqual(injected.evidence.libraries, [fake]);
  });
});
