// The collector on its embedded store (PGlite in a temp folder), over real HTTP on loopback, fed by
// real wirelock clients and by TrustKit-shaped reports.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, type Collector } from '../../src/collect/server.js';
import { openStore } from '../../src/collect/backends.js';
import { applyRetention, foldAggregates, MIGRATIONS, type SqlClient } from '../../src/collect/store.js';
import { startCountingServer, type CountingServer } from '../../src/lab/servers.js';
import { createFetch } from '../../src/transport/fetch.js';
import { definePolicy } from '../../src/policy/define.js';
import { WirelockError } from '../../src/errors.js';
import { certificatePin } from '../../src/x509/certificate.js';
import { createTestPki } from '../transport/pki.js';
import { get, post, tempDir, trustKitReport, waitFor } from './support.js';

const pki = createTestPki();
let store: SqlClient;
let collector: Collector;
let origin: CountingServer;
let attacker: CountingServer;

before(async () => {
  store = await openStore(tempDir());
  collector = await startCollector({
    db: store,
    port: 0,
    policy: definePolicy({ version: 1, trustAnchors: [pki.legit.root.pem], domains: { 'api.example.com': { pins: [pki.legitPin, pki.backupPin] } } }),
  });
  origin = await startCountingServer(pki.serverOptions(pki.legit));
  attacker = await startCountingServer(pki.serverOptions(pki.compromised));
});
after(async () => {
  await collector.close();
  await origin.close();
  await attacker.close();
  await store.close();
});

async function reportsFor(host: string, code?: string): Promise<any[]> {
  const { text } = await get(collector.url, `/api/reports?host=${encodeURIComponent(host)}${code ? `&code=${code}` : ''}`);
  return JSON.parse(text).reports;
}

test('a real wirelock client in report-only mode reports a pin mismatch to a loopback collector over http, labelled with its app and release, and its request still goes through', async () => {
  const policy = {
    version: 1,
    mode: 'report-only',
    trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
    report: { uri: `${collector.url}/api/reports`, app: { id: 'com.example.payments-api', version: '3.1.0' } },
    domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } },
  };
  const response = await createFetch(policy)(attacker.url('127.0.0.1', '/pay'), { method: 'POST', body: 'report-only-secret' });
  assert.equal(response.status, 200, 'report-only allows the connection');
  const [report] = await waitFor(async () => {
    const found = await reportsFor('127.0.0.1', 'ERR_PIN_MISMATCH');
    return found.length > 0 ? found : undefined;
  }, 'the report to arrive');
  assert.equal(report.format, 'wirelock');
  assert.equal(report.mode, 'report-only');
  assert.equal(report.blocked, false);
  assert.equal(report.port, attacker.port);
  assert.ok(report.validatedChain.length >= 2, 'the verified chain is stored');
  assert.ok(report.servedChain.length >= 2, 'the served chain is stored');
  assert.deepEqual(report.knownPins, [pki.legitPin, pki.backupPin]);
  assert.equal(report.appId, 'com.example.payments-api', "the policy's report.app.id travels as app-bundle-id");
  assert.equal(report.appVersion, '3.1.0');
  assert.ok(!JSON.stringify(report).includes('report-only-secret'), 'request data never reaches a report');
});

test('an enforce-mode block is reported too, and the collector never receives the blocked request body', async () => {
  const policy = {
    version: 1,
    trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
    report: { uri: `${collector.url}/api/reports` },
    domains: { localhost: { pins: [pki.legitPin, pki.backupPin] } },
  };
  await assert.rejects(createFetch(policy)(attacker.url('localhost', '/pay'), { method: 'POST', body: 'blocked-secret' }), (error: unknown) => error instanceof WirelockError && error.code === 'ERR_PIN_MISMATCH');
  const [report] = await waitFor(async () => {
    const found = await reportsFor('localhost');
    return found.length > 0 ? found : undefined;
  }, 'the enforce report');
  assert.equal(report.blocked, true);
  assert.equal(report.mode, 'enforce');
  assert.equal(report.appId, '', 'without report.app a Node client reports no app (shown as "(none)")');
});

test('a TrustKit report (its real field names) is stored as TrustKit, its HPKP-syntax pins read, and a resend is folded', async () => {
  const body = trustKitReport(pki.compromised, { hostname: 'trustkit.example.com', 'app-vendor-id': 'vendor-tk-1' });
  const first = await post(collector.url, body);
  assert.equal(first.status, 202);
  assert.deepEqual(first.json, { accepted: 1 });
  const again = await post(collector.url, body);
  assert.equal(again.status, 202, 'TrustKit resends: acknowledged again');
  const stored = await reportsFor('trustkit.example.com');
  assert.equal(stored.length, 1, 'the resend is folded into the first');
  const [report] = stored;
  assert.equal(report.format, 'trustkit');
  assert.equal(report.code, 'TRUSTKIT_NO_MATCHING_PIN');
  assert.equal(report.appId, 'com.example.payments');
  assert.equal(report.appVersion, '4.2.0');
  assert.equal(report.mode, 'report-only');
  assert.equal(report.knownPins[0], certificatePin(pki.compromised.intermediate.der));
  const daily = JSON.parse((await get(collector.url, '/api/summary')).text);
  assert.equal(daily.hosts.find((h: any) => h.host === 'trustkit.example.com').reports, 1, 'the aggregate counted it once');
});

test('aggregates: counted at once through the pending table, unchanged when folded into daily; chains stored once', async () => {
  const host = 'fold.example.com';
  for (const n of [1, 2, 3]) assert.equal((await post(collector.url, trustKitReport(pki.legit, { hostname: host, 'app-vendor-id': `fold-${n}` }))).status, 202);
  const summary = async () => JSON.parse((await get(collector.url, '/api/summary')).text).hosts.find((h: any) => h.host === host)?.reports;
  assert.equal(await summary(), 3, 'pending counts are read with the folded ones');
  const pending = await store.query<{ n: number }>(`select coalesce(sum(reports), 0)::int as n from daily_pending where host = $1`, [host]);
  assert.equal(pending.rows[0]!.n, 3, 'ingest appended the counts to daily_pending');
  await foldAggregates(store);
  const left = await store.query<{ n: number }>(`select count(*)::int as n from daily_pending where host = $1`, [host]);
  assert.equal(left.rows[0]!.n, 0, 'folded');
  assert.equal(await summary(), 3, 'the same count after the fold');
  const rows = await store.query<{ served_chain: unknown; validated_key: string | null }>(`select served_chain, validated_key from reports where host = $1`, [host]);
  assert.ok(rows.rows.every((r) => r.served_chain === null && typeof r.validated_key === 'string'), 'a new row refers to its chain by key');
  const chains = await store.query<{ n: number }>(`select count(*)::int as n from chains where chain_key = $1`, [rows.rows[0]!.validated_key]);
  assert.equal(chains.rows[0]!.n, 1);
  const [report] = await reportsFor(host);
  assert.equal(report.validatedChain.length, 3, 'the read side gives the chain back from the chains table');
  assert.match(report.validatedChain[0], /^-----BEGIN CERTIFICATE-----/);
});

test('a row stored before migration 2 (chains in the row, no keys) still reads with its chains', async () => {
  const pem = trustKitReport(pki.compromised)['validated-certificate-chain'] as string[];
  await store.query(
    `insert into reports (dedup_key, format, kind, app_id, app_version, app_platform, host, port, code, message, chain_key, served_chain, validated_chain, known_pins)
     values ('v1-row', 'trustkit', 'violation', 'com.example.old', '1.0', 'IOS', 'v1.example.com', 443, 'TRUSTKIT_NO_MATCHING_PIN', '', 'v1-key', '[]'::jsonb, $1::jsonb, '[]'::jsonb)`,
    [JSON.stringify(pem)],
  );
  const [report] = await reportsFor('v1.example.com');
  assert.deepEqual(report.validatedChain, pem);
  assert.deepEqual(report.servedChain, []);
});

test('values PostgreSQL would refuse (lone surrogates, NUL in details) are a 400 for their own report, not a failed batch', async () => {
  const base = JSON.stringify(trustKitReport(pki.legit, { hostname: 'unicode.example.com', 'app-vendor-id': 'u-1' }));
  const loneSurrogate = await post(collector.url, base.replace('"4.2.0"', '"4.2\\ud800"'));
  assert.equal(loneSurrogate.status, 400);
  assert.equal(loneSurrogate.json.error.pointer, '/app-version');
  assert.match(loneSurrogate.json.error.message, /lone surrogate/);
  const wirelock = { kind: 'runtime-finding', code: 'ERR_TAMPERED', hostname: 'runtime', message: 'x', details: { evidence: ['ok', 'nul\u0000here'] } };
  const nul = await post(collector.url, wirelock);
  assert.equal(nul.status, 400);
  assert.equal(nul.json.error.pointer, '/details/evidence/1');
  const surrogateKey = await post(collector.url, JSON.stringify({ ...wirelock, details: {} }).replace('"details":{}', '"details":{"\\udc00":1}'));
  assert.equal(surrogateKey.status, 400);
  assert.equal((await post(collector.url, { ...wirelock, details: { evidence: ['fine'] } })).status, 202, 'positive control');
});

test('a batch the database refuses is split: only the refused request fails, the reports that shared its commit are stored', async () => {
  const own = await openStore(tempDir());
  const batchSizes: number[] = [];
  let first = true;
  // The store refuses any batch holding the poisoned report, as PostgreSQL refuses a value it cannot store
  // (SQLSTATE 22...); the first commit is held a moment so the next requests queue into one batch.
  const refusing: SqlClient = {
    kind: own.kind,
    transaction: (fn) => own.transaction(fn),
    close: () => own.close(),
    async query(sql, params) {
      if (/insert into reports/.test(sql)) {
        batchSizes.push(JSON.parse(String(params![0])).length);
        if (first) {
          first = false;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        if (String(params![0]).includes('poisoned')) throw Object.assign(new Error('invalid input syntax'), { code: '22P02' });
      }
      return own.query(sql, params);
    },
  };
  const splitting = await startCollector({ db: refusing, port: 0 });
  try {
    const report = (id: string, version = '4.2.0') => trustKitReport(pki.legit, { hostname: 'split.example.com', 'app-vendor-id': id, 'app-version': version });
    const opening = post(splitting.url, report('opening'));
    await waitFor(async () => (batchSizes.length > 0 ? true : undefined), 'the first commit');
    const results = await Promise.all([post(splitting.url, report('s-1')), post(splitting.url, report('s-2', 'poisoned')), post(splitting.url, report('s-3'))]);
    assert.equal((await opening).status, 202);
    assert.deepEqual(results.map((r) => r.status), [202, 503, 202]);
    assert.ok(batchSizes.some((size) => size === 3), `the three queued into one batch first (batches: ${batchSizes})`);
    const stored = await own.query<{ client_id: string }>(`select client_id from reports where host = 'split.example.com' order by client_id`);
    assert.deepEqual(stored.rows.map((r) => r.client_id), ['opening', 's-1', 's-3']);
  } finally {
    await splitting.close();
    await own.close();
  }
});

test('an array of reports in one request is committed together', async () => {
  const bodies = [1, 2, 3].map((n) => trustKitReport(pki.legit, { hostname: 'batch.example.com', 'app-vendor-id': `batch-${n}` }));
  const response = await post(collector.url, bodies);
  assert.equal(response.status, 202);
  assert.deepEqual(response.json, { accepted: 3 });
  assert.equal((await reportsFor('batch.example.com')).length, 3);
});

test('bad input gets a clear 4xx naming what and where, and stores nothing', async () => {
  const cases: Array<[unknown, number, RegExp, string?]> = [
    ['{not json', 400, /not JSON/],
    [{ ...trustKitReport(pki.legit), evil: 1 }, 400, /unknown field/, '/evil'],
    [[trustKitReport(pki.legit), { ...trustKitReport(pki.legit), hostname: '<script>alert(1)</script>' }], 400, /not a host name/, '/1/hostname'],
    [{ ...trustKitReport(pki.legit), port: 'x' }, 400, /integer/, '/port'],
    [{ ...trustKitReport(pki.legit), 'validated-certificate-chain': ['<img src=x onerror=alert(1)>'] }, 400, /PEM/, '/validated-certificate-chain/0'],
    [{ ...trustKitReport(pki.legit), 'app-version': 'a\u0000b' }, 400, /control characters/, '/app-version'],
    [{ kind: 'violation', code: 'ERR_PIN_MISMATCH', hostname: 'x.example.com', port: 443, details: JSON.parse('['.repeat(40) + ']'.repeat(40)) }, 400, /nested deeper/],
    [[], 400, /empty/],
    [Array.from({ length: 101 }, () => trustKitReport(pki.legit)), 400, /at most 100/],
    [{ kind: 'telemetry', code: 'ERR_PIN_MISMATCH', hostname: 'x.example.com', port: 443 }, 400, /unknown report kind/, '/kind'],
  ];
  for (const [body, status, message, pointer] of cases) {
    const response = await post(collector.url, body);
    assert.equal(response.status, status, JSON.stringify(response.json));
    assert.equal(response.json.error.code, 'ERR_INPUT_INVALID');
    assert.match(response.json.error.message, message);
    if (pointer) assert.equal(response.json.error.pointer, pointer);
  }
  const wrongType = await post(collector.url, trustKitReport(pki.legit), { 'content-type': 'text/plain' });
  assert.equal(wrongType.status, 415);
  const huge = await post(collector.url, JSON.stringify({ ...trustKitReport(pki.legit), pad: 'x'.repeat(1024 * 1024) }));
  assert.equal(huge.status, 413);
  assert.equal((await reportsFor('<script>alert(1)</script>')).length, 0);
});

test('rate limits: a source over its budget gets 429 with Retry-After; one app cannot flood the store', async () => {
  const limited = await startCollector({ db: store, port: 0, limits: { perSourceRate: 0.01, perSourceBurst: 2 } });
  try {
    const body = trustKitReport(pki.legit, { hostname: 'rate.example.com' });
    assert.equal((await post(limited.url, body)).status, 202);
    assert.equal((await post(limited.url, body)).status, 202);
    const third = await post(limited.url, body);
    assert.equal(third.status, 429);
    assert.equal(third.json.error.code, 'ERR_RATE_LIMITED');
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
  } finally {
    await limited.close();
  }
  const perApp = await startCollector({ db: store, port: 0, limits: { perAppRate: 0.01, perAppBurst: 3 } });
  try {
    const many = [1, 2, 3, 4].map((n) => trustKitReport(pki.legit, { hostname: 'rate.example.com', 'app-vendor-id': `app-rate-${n}` }));
    const response = await post(perApp.url, many);
    assert.equal(response.status, 429, 'one app cannot flood the store');
    assert.match(response.json.error.message, /com\.example\.payments/);
  } finally {
    await perApp.close();
  }
});

test('the read side: a token guards dashboard and API (Bearer or Basic), ingest stays open', async () => {
  const guarded = await startCollector({ db: store, port: 0, token: 's3cret-token' });
  try {
    assert.equal((await get(guarded.url, '/api/reports')).status, 401);
    const denied = await get(guarded.url, '/');
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate') ?? '', /Basic/);
    assert.equal((await get(guarded.url, '/api/reports', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(guarded.url, '/api/reports', { authorization: 'Bearer s3cret-token' })).status, 200);
    const basic = Buffer.from('ops:s3cret-token').toString('base64');
    assert.equal((await get(guarded.url, '/', { authorization: `Basic ${basic}` })).status, 200);
    assert.equal((await post(guarded.url, trustKitReport(pki.legit, { hostname: 'guarded.example.com' }))).status, 202, 'devices POST without a token');
  } finally {
    await guarded.close();
  }
});

test('outside loopback the collector refuses plain HTTP and an unguarded read side', async () => {
  await assert.rejects(startCollector({ db: store, host: '0.0.0.0', port: 0, token: 't' }), (error: unknown) => error instanceof WirelockError && /loopback only/.test(error.message));
  await assert.rejects(
    startCollector({ db: store, host: '0.0.0.0', port: 0, tls: pki.serverOptions(pki.legit) }),
    (error: unknown) => error instanceof WirelockError && /--token/.test(error.message),
  );
});

test('hostile report fields render as text: escaped HTML, no script allowed by the CSP, CSV formulas neutralized', async () => {
  const hostile = {
    kind: 'violation',
    code: 'ERR_PIN_MISMATCH',
    message: '<script>document.title="pwned"</script>',
    hostname: 'hostile.example.com',
    port: 443,
    'app-bundle-id': '"><img src=x onerror=alert(1)>',
    'app-version': '=HYPERLINK("http://evil.invalid","x")',
    'validated-certificate-chain': [],
    details: { note: '</pre><script>alert(2)</script>' },
  };
  assert.equal((await post(collector.url, hostile)).status, 202);
  const [stored] = await reportsFor('hostile.example.com');
  const page = await get(collector.url, `/reports/${stored.id}`);
  assert.equal(page.status, 200);
  assert.ok(!page.text.includes('<script>'), 'no script element from report data');
  assert.ok(!page.text.includes('<img src=x'), 'no element from report data');
  assert.ok(page.text.includes('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;'));
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /script-src/);
  const overview = await get(collector.url, '/');
  assert.ok(!overview.text.includes('<img src=x'), 'overview escapes the app id');
  const csv = await get(collector.url, '/api/reports.csv?host=hostile.example.com');
  assert.match(csv.text, /"'=HYPERLINK\(""http:\/\/evil.invalid"",""x""\)"/, 'a formula cell is prefixed so a spreadsheet keeps it as text');
});

test('the rollout question: with the policy, the share of recent clients whose chain has no pinned key', async () => {
  const host = 'api.example.com';
  // Two clients see the legitimate chain (its intermediate is pinned), one sees the compromised CA's chain.
  for (const [id, chain] of [['client-1', pki.legit], ['client-2', pki.legit], ['client-3', pki.compromised]] as const) {
    assert.equal((await post(collector.url, trustKitReport(chain, { hostname: host, 'app-vendor-id': id, 'app-version': id === 'client-3' ? '4.1.0' : '4.2.0' }))).status, 202);
  }
  const view = JSON.parse((await get(collector.url, `/api/hosts/${host}`)).text);
  assert.equal(view.rollout.basis, 'policy-pins');
  assert.equal(view.rollout.clients, 3);
  assert.equal(view.rollout.wouldBeRefused, 1);
  assert.ok(Math.abs(view.rollout.share - 1 / 3) < 1e-9);
  assert.deepEqual(view.rollout.byAppVersion.find((v: any) => v.appVersion === '4.1.0'), { appVersion: '4.1.0', clients: 1, wouldBeRefused: 1 });
  const compromisedChain = view.chains.find((c: any) => c.certificates.some((cert: any) => cert.issuer?.includes('Compromised')));
  assert.equal(compromisedChain.passesPins, false);
  assert.ok(view.chains.some((c: any) => c.passesPins === true));
  assert.equal(view.chains[0].certificates[0].pin.startsWith('sha256/'), true, 'chains are decoded with their pins');
  const page = await get(collector.url, `/hosts/${host}`);
  assert.match(page.text, /33\.3% \(1 of 3 clients\) would be refused/);
});

test('retention drops raw reports but keeps the daily aggregates; migrations run once', async () => {
  assert.equal((await post(collector.url, trustKitReport(pki.legit, { hostname: 'old.example.com' }))).status, 202);
  await store.query(`update reports set received_at = now() - interval '40 days' where host = 'old.example.com'`);
  // Ingest appends to daily_pending; fold it into daily (as the collector's timer does) before ageing the row.
  await foldAggregates(store);
  await store.query(`update daily set day = (now() - interval '40 days')::date where host = 'old.example.com'`);
  assert.ok((await applyRetention(store, 30)) >= 1);
  assert.equal((await reportsFor('old.example.com')).length, 0);
  const { rows } = await store.query<{ n: number }>(`select sum(reports)::int as n from daily where host = 'old.example.com'`);
  assert.equal(rows[0]!.n, 1);
  const { rows: versions } = await store.query<{ version: number }>('select version from wirelock_migrations order by version');
  assert.deepEqual(versions.map((v) => Number(v.version)), MIGRATIONS.map((m) => m.version));
});

test('GET /api/reports filters by host, code and since, and rejects a bad query', async () => {
  const future = new Date(Date.now() + 86_400_000).toISOString();
  assert.deepEqual(JSON.parse((await get(collector.url, `/api/reports?since=${future}`)).text).reports, []);
  const bad = await get(collector.url, '/api/reports?since=yesterday');
  assert.equal(bad.status, 400);
  assert.equal((await get(collector.url, '/api/reports?limit=5000')).status, 400);
  const byCode = JSON.parse((await get(collector.url, '/api/reports?code=TRUSTKIT_NO_MATCHING_PIN')).text).reports;
  assert.ok(byCode.length > 0 && byCode.every((r: any) => r.code === 'TRUSTKIT_NO_MATCHING_PIN'));
});

test('--cert/--key: the collector serves HTTPS, and a wirelock client reports to it through its own verified transport', async () => {
  const secure = await startCollector({ db: store, port: 0, tls: pki.serverOptions(pki.legit) });
  try {
    assert.match(secure.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const policy = {
      version: 1,
      mode: 'report-only',
      // The collector's certificate chains to the legit root; the attacker's to the compromised one.
      trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
      report: { uri: `${secure.url}/api/reports` },
      domains: { '127.0.0.1': { pins: [pki.legitPin, pki.backupPin] } },
    };
    const { Agent } = await import('undici');
    const dispatcher = new Agent({ connect: { ca: pki.legit.root.pem } });
    const count = async () => {
      const response = await fetch(`${secure.url}/api/reports?host=127.0.0.1&code=ERR_PIN_MISMATCH&limit=1000`, { dispatcher } as RequestInit);
      return ((await response.json()) as { reports: unknown[] }).reports.length;
    };
    const before = await count();
    await createFetch(policy)(attacker.url('127.0.0.1', '/https-report'), { method: 'POST', body: 'x' });
    await waitFor(async () => ((await count()) > before ? true : undefined), 'a report over https');
    await dispatcher.close();
  } finally {
    await secure.close();
  }
});
