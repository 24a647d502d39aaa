// System suite: the dashboard in a real headless Chromium (Debian's chromium, driven by playwright-core, no
// browser download), fed by real wirelock clients and by hostile reports.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser } from 'playwright-core';
import { startCollector, type Collector } from '../../src/collect/server.js';
import { openStore } from '../../src/collect/backends.js';
import type { SqlClient } from '../../src/collect/store.js';
import { startCountingServer } from '../../src/lab/servers.js';
import { createFetch } from '../../src/transport/fetch.js';
import { WirelockError } from '../../src/errors.js';
import { requireTool } from '../support/system.js';
import { createTestPki } from '../transport/pki.js';
import { get, post, tempDir, waitFor } from './support.js';

const pki = createTestPki();
let store: SqlClient;
let collector: Collector;
let browser: Browser;

before(async () => {
  const executablePath = requireTool('chromium', 'chromium');
  store = await openStore(tempDir());
  collector = await startCollector({ db: store, port: 0 });
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  await browser?.close();
  await collector?.close();
  await store?.close();
});

test('the dashboard shows what real wirelock clients reported: hosts, codes, chains with pins, report detail', async () => {
  const origin = await startCountingServer(pki.serverOptions(pki.legit));
  const mitm = await startCountingServer(pki.serverOptions(pki.compromised));
  try {
    const policy = {
      version: 1,
      // The compromised CA is trusted (a mis-issuing public CA): only the pins stop it, and the report carries its chain.
      trustAnchors: [pki.legit.root.pem, pki.compromised.root.pem],
      report: { uri: `${collector.url}/api/reports` },
      domains: { localhost: { pins: [pki.legitPin, pki.backupPin] } },
    };
    const fetch = createFetch(policy);
    // The legitimate origin works (no report), the interceptor with a mis-issued certificate is blocked and reported.
    assert.equal((await fetch(origin.url('localhost', '/pay'), { method: 'POST', body: 'ok' })).status, 200);
    await assert.rejects(fetch(mitm.url('localhost', '/pay'), { method: 'POST', body: 'secret-4111' }), (e: unknown) => e instanceof WirelockError && e.code === 'ERR_PIN_MISMATCH');
    assert.equal(mitm.applicationBytes, 0, 'the interceptor received no request data');
    await waitFor(async () => (JSON.parse((await get(collector.url, '/api/reports?host=localhost')).text).reports.length > 0 ? true : undefined), 'the report');
  } finally {
    await origin.close();
    await mitm.close();
  }
  const page = await browser.newPage();
  await page.goto(`${collector.url}/`);
  assert.equal(await page.locator('h1').first().textContent(), 'Violations, last 30 days');
  assert.ok(await page.locator('svg rect').count() > 0, 'the chart has bars');
  await page.click('a[href="/hosts/localhost"]');
  assert.equal(await page.locator('h1').textContent(), 'localhost');
  const chainText = await page.locator('article.seen').first().textContent();
  assert.match(chainText ?? '', /Compromised Public CA/);
  assert.match(chainText ?? '', /sha256\//);
  await page.locator('td a').first().click();
  assert.match(await page.locator('h1').textContent() ?? '', /^Report \d+$/);
  assert.match(await page.locator('dd.code').textContent() ?? '', /ERR_PIN_MISMATCH/);
  await page.close();
});

test('hostile reports render as text in the browser and none of their script runs', async () => {
  const hostile = {
    kind: 'violation',
    code: 'ERR_PIN_MISMATCH',
    hostname: 'xss.example.com',
    port: 443,
    message: '<script>window.__pwned = 1; document.title = "pwned"</script><img src=x onerror="window.__pwned=2">',
    'app-bundle-id': '"><svg onload="window.__pwned=3">',
    'app-version': '</td><script>window.__pwned=4</script>',
    details: { html: '<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>' },
  };
  assert.equal((await post(collector.url, hostile)).status, 202);
  const [stored] = JSON.parse((await get(collector.url, '/api/reports?host=xss.example.com')).text).reports;
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  for (const path of ['/', '/hosts/xss.example.com', `/reports/${stored.id}`]) {
    await page.goto(`${collector.url}${path}`);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, `no hostile script ran on ${path}`);
    assert.equal(await page.evaluate(() => document.querySelectorAll('script, iframe, img, [onerror], [onload]').length), 0, `no hostile element on ${path}`);
    assert.notEqual(await page.title(), 'pwned');
  }
  assert.match(await page.locator('pre').first().textContent() ?? '', /<script>window.__pwned = 1/, 'the hostile text is shown as text');
  assert.deepEqual(dialogs, []);
  await page.close();
});
