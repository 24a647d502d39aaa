// The advisory database's update channel follows wirelock's own rules (issue 10 class 5, issue 13):
// bundled roots only (a CA trusted through NODE_EXTRA_CA_CERTS is refused, while plain fetch under the
// same environment accepts it), and an export that is older than the cache, drops records or carries
// older copies of them never replaces it silently.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { download } from '../../src/audit/download.js';
import { writeZip } from '../../src/audit/zip.js';
import { startCountingServer } from '../../src/lab/servers.js';
import { definePolicy } from '../../src/policy/define.js';
import { createFetch } from '../../src/transport/fetch.js';
import { createTestPki } from '../transport/pki.js';

const cli = join(process.cwd(), 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'wirelock-audit-channel-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: work, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', HOME: work, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const record = (id: string, modified: string, name = 'wl-pkg') => ({
  name: `npm/${id}.json`,
  data: Buffer.from(JSON.stringify({ schema_version: '1.4.0', id, modified, published: '2025-01-01T00:00:00Z', summary: `Issue in ${name}`, affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }], database_specific: { severity: 'HIGH' } })),
});

test('NODE_EXTRA_CA_CERTS: plain fetch trusts the server (positive control), `audit db update` refuses it with 0 requests served', async () => {
  const pki = createTestPki();
  const zip = writeZip([record('GHSA-aaaa-bbbb-cccc', '2025-06-01T00:00:00Z')]);
  const server = await startCountingServer({ ...pki.serverOptions(pki.rogue), respond: (_req, res) => res.writeHead(200, { 'content-type': 'application/zip' }).end(zip) });
  try {
    const caFile = join(work, 'user-added-ca.pem');
    writeFileSync(caFile, pki.rogue.root.pem);
    const url = server.url('127.0.0.1', '/all.zip');
    const env = { NODE_EXTRA_CA_CERTS: caFile };

    // Positive control: an unprotected Node process in the same environment downloads the export.
    const plain = await run(['--input-type=module', '-e', `const r = await fetch(${JSON.stringify(url)}); process.stdout.write(String((await r.arrayBuffer()).byteLength));`], env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(Number(plain.stdout), zip.length, 'plain fetch trusted the user-added CA');
    assert.equal(server.requests.length, 1);

    server.reset();
    const cache = join(work, 'cache-extra-ca');
    const r = await run([cli, 'audit', 'db', 'update', '--from', url, '--cache-dir', cache], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ERR_CERT_UNTRUSTED/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(server.requests.length, 0, 'the request was never sent');
    assert.equal(server.applicationBytes, 0, '0 bytes of application data reached the server');
    assert.ok(server.connections >= 1, 'it did connect: refused in the handshake, not by a missing server');
    assert.equal(existsSync(cache), false, 'no cache written');
  } finally {
    await server.close();
  }
});

test('the same transport downloads when the server chains to a root it was told to trust (the protected path works)', async () => {
  const pki = createTestPki();
  const zip = writeZip([record('GHSA-aaaa-bbbb-cccc', '2025-06-01T00:00:00Z')]);
  const server = await startCountingServer({ ...pki.serverOptions(pki.legit), respond: (_req, res) => res.writeHead(200).end(zip) });
  try {
    const dest = join(work, 'ok.zip');
    const policy = definePolicy({ version: 1, cleartext: 'allow-loopback', trustAnchors: [pki.legit.root.pem] });
    const result = await download(server.url('127.0.0.1', '/all.zip'), dest, { fetchImpl: createFetch(policy) as unknown as typeof fetch });
    assert.equal(result.status, 'downloaded');
    assert.deepEqual(readFileSync(dest), zip);
    // Without that anchor (bundled roots only, the CLI's transport) the same server is refused.
    await assert.rejects(download(server.url('127.0.0.1', '/all.zip'), join(work, 'no.zip')), (e: any) => e.code === 'ERR_CERT_UNTRUSTED');
  } finally {
    await server.close();
  }
});

function cacheFiles(cache: string): Record<string, string> {
  return Object.fromEntries(readdirSync(cache).sort().map((f) => [f, readFileSync(join(cache, f), 'latin1')]));
}

test('downgrades are refused and leave the cache unchanged: older export, dropped records, older copies; --allow-downgrade replaces', async () => {
  const current = [record('GHSA-0001-aaaa-aaaa', '2026-01-10T00:00:00Z'), record('GHSA-0002-aaaa-aaaa', '2026-01-12T00:00:00Z'), record('MAL-2026-1', '2026-01-11T00:00:00Z', 'wl-evil')];
  const exports: Record<string, Buffer> = {
    current: writeZip(current),
    // Last month's genuine export, replayed: every record older, one not yet published.
    older: writeZip([record('GHSA-0001-aaaa-aaaa', '2025-12-01T00:00:00Z'), record('GHSA-0002-aaaa-aaaa', '2025-12-02T00:00:00Z')]),
    // Same newest date, but the malicious-package record is gone.
    dropped: writeZip([current[0]!, current[1]!]),
    // One record reverted to an old copy, padded with a new record so counts and the newest date grow.
    reverted: writeZip([record('GHSA-0001-aaaa-aaaa', '2025-06-01T00:00:00Z'), current[1]!, current[2]!, record('GHSA-0003-aaaa-aaaa', '2026-02-01T00:00:00Z')]),
    newer: writeZip([...current, record('GHSA-0003-aaaa-aaaa', '2026-02-01T00:00:00Z')]),
  };
  const server = await startCountingServer({ respond: (req, res) => res.writeHead(200).end(exports[req.url!.slice(1)]) });
  try {
    const cache = join(work, 'cache-downgrade');
    const from = (name: string) => server.url('127.0.0.1', `/${name}`);
    const first = await run([cli, 'audit', 'db', 'update', '--from', from('current'), '--cache-dir', cache]);
    assert.equal(first.code, 0, first.stderr);
    const before = cacheFiles(cache);
    assert.match(before['records.tsv']!, /^GHSA-0001-aaaa-aaaa\t2026-01-10T00:00:00Z\n/);

    const expectations: Array<[string, RegExp]> = [
      ['older', /newest record \(2025-12-02T00:00:00Z\) is older than the cache's \(2026-01-12T00:00:00Z\).*drops 1 record\(s\) the cache has \(MAL-2026-1\)/],
      ['dropped', /drops 1 record\(s\) the cache has \(MAL-2026-1\)/],
      ['reverted', /1 record\(s\) are older than the cache's copy \(GHSA-0001-aaaa-aaaa 2025-06-01T00:00:00Z < 2026-01-10T00:00:00Z\)/],
    ];
    for (const [name, message] of expectations) {
      const r = await run([cli, 'audit', 'db', 'update', '--from', from(name), '--cache-dir', cache]);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_ADVISORY_DB: refusing to replace the advisory database/);
      assert.match(r.stderr, message, name);
      assert.match(r.stderr, /--allow-downgrade/);
      assert.deepEqual(cacheFiles(cache), before, `${name}: cache unchanged`);
    }
    // The same refusal for a local file.
    writeFileSync(join(work, 'older.zip'), exports.older!);
    assert.equal((await run([cli, 'audit', 'db', 'update', '--from', join(work, 'older.zip'), '--cache-dir', cache])).code, 2);
    assert.deepEqual(cacheFiles(cache), before);

    const newer = await run([cli, 'audit', 'db', 'update', '--from', from('newer'), '--cache-dir', cache, '--json']);
    assert.equal(newer.code, 0, newer.stderr);
    assert.equal(JSON.parse(newer.stdout).records, 4);
    const forced = await run([cli, 'audit', 'db', 'update', '--from', from('older'), '--cache-dir', cache, '--allow-downgrade', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /warning: --allow-downgrade: replacing the advisory database although/);
    assert.equal(JSON.parse(forced.stdout).newestModified, '2025-12-02T00:00:00Z');
  } finally {
    await server.close();
  }
});
