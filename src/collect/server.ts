import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WirelockError } from '../errors.js';
import { isLoopbackHost } from '../policy/match.js';
import type { Policy } from '../policy/types.js';
import { openStore, redact } from './backends.js';
import { CONTENT_SECURITY_POLICY, hostPage, messagePage, overviewPage, reportPage, STYLESHEET } from './dashboard.js';
import { chainsSeen, overview, policyPinsFor, rollout } from './fleet.js';
import { parseReportBody, type CollectedReport } from './reports.js';
import { applyRetention, chainsByKey, foldAggregates, dailyAggregates, getReport, insertReports, listReports, recentClients, type SqlClient, type StoredReport } from './store.js';

export interface CollectorOptions {
  /** A folder for the embedded store, a postgres:// URL, or an open client. */
  db: string | SqlClient;
  host?: string;
  port?: number;
  /** Guards the read side (dashboard, GET /api/...). Required unless bound to loopback. */
  token?: string | undefined;
  /** PEM; without them the collector speaks plain HTTP, which it allows on loopback only. */
  tls?: { cert: string | Buffer; key: string | Buffer } | undefined;
  /** The policy whose pins the dashboard compares the chains seen in the wild against. */
  policy?: Policy | undefined;
  retentionDays?: number;
  limits?: Partial<IngestLimits>;
}

export interface IngestLimits {
  maxBodyBytes: number;
  maxReportsPerRequest: number;
  /** Requests per second per source address (token bucket), and its burst. */
  perSourceRate: number;
  perSourceBurst: number;
  /** Reports per second per app (bundle id), and its burst. */
  perAppRate: number;
  perAppBurst: number;
  /** Reports per batch commit. */
  maxBatch: number;
  /** Batch commits in flight at once on a PostgreSQL server (the embedded store is one connection: always 1). */
  commitsInFlight: number;
}

export const DEFAULT_LIMITS: IngestLimits = {
  maxBodyBytes: 1024 * 1024,
  maxReportsPerRequest: 100,
  perSourceRate: 50,
  perSourceBurst: 200,
  perAppRate: 2000,
  perAppBurst: 10000,
  maxBatch: 1000,
  commitsInFlight: 2,
};

export interface Collector {
  url: string;
  store: SqlClient;
  close(): Promise<void>;
}

class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly rate: number, readonly burst: number) {}
  /** Takes `cost` tokens; returns seconds to wait when there are not enough. */
  take(key: string, cost: number, now = Date.now()): number {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      // Bounded memory: a flood of new source addresses evicts the oldest buckets, never grows without limit.
      if (this.#buckets.size >= 100_000) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.burst, at: now };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.ceil((cost - bucket.tokens) / this.rate);
  }
}

/**
 * Group commit: reports that arrive while a commit runs are written together by the next one, and
 * each request is answered only when the commit holding its reports has returned. Nothing is
 * acknowledged before it is durable, and a burst costs one commit, not one per report.
 */
interface PendingWrite {
  reports: CollectedReport[];
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}

class BatchWriter {
  readonly #queue: PendingWrite[] = [];
  #running = 0;
  /** Chains this process has committed: their PEM text need not travel with every batch. */
  readonly #storedChains = new Set<string>();
  /** PGlite is one connection; a server takes a few commits in flight at once. */
  constructor(readonly db: SqlClient, readonly maxBatch: number, readonly concurrency: number) {}

  write(reports: CollectedReport[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ reports, resolve, reject });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#running >= this.concurrency) return;
    this.#running++;
    try {
      while (this.#queue.length > 0) {
        const batch: PendingWrite[] = [];
        let size = 0;
        while (this.#queue.length > 0 && (batch.length === 0 || size + this.#queue[0]!.reports.length <= this.maxBatch)) {
          const next = this.#queue.shift()!;
          batch.push(next);
          size += next.reports.length;
        }
        const unique = new Map<string, CollectedReport>();
        for (const entry of batch) for (const report of entry.reports) unique.set(report.dedupKey, report);
        try {
          await withDeadlockRetry(() => insertReports(this.db, [...unique.values()], this.#storedChains));
          for (const entry of batch) entry.resolve(entry.reports.length);
        } catch (error) {
          if (batch.length > 1 && isDataError(error)) {
            // A value the database refuses must cost only its own request, not every report sharing the commit.
            for (const entry of batch) {
              try {
                await withDeadlockRetry(() => insertReports(this.db, entry.reports, this.#storedChains));
                entry.resolve(entry.reports.length);
              } catch (single) {
                entry.reject(single);
              }
            }
          } else for (const entry of batch) entry.reject(error);
        }
      }
    } finally {
      this.#running--;
    }
  }
}

/** SQLSTATE class 22 (data exception): this batch's data, not the database, is at fault. */
function isDataError(error: unknown): boolean {
  return String((error as { code?: unknown }).code ?? '').startsWith('22');
}

/** PostgreSQL aborts one side of a deadlock (40P01); the batch is idempotent (resends fold), so run it again. */
async function withDeadlockRetry<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= 3 || (error as { code?: string }).code !== '40P01') throw error;
    }
  }
}

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** The answer to almost every ingest request, built once. */
const ACCEPTED_ONE = '{"accepted":1}';
const ACCEPTED_HEADERS = Object.entries({ ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': String(ACCEPTED_ONE.length) }).flat();

function sendAccepted(res: ServerResponse, count: number): void {
  if (count === 1) {
    res.writeHead(202, ACCEPTED_HEADERS);
    res.end(ACCEPTED_ONE);
  } else sendJson(res, 202, { accepted: count });
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message, ...extra } }, headers);
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The body as text, refused past `limit` bytes. Events, not an async iterator: this runs for every report. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new HttpError(413, 'ERR_TOO_LARGE', `body of ${declared} bytes (at most ${limit})`));
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, 'ERR_TOO_LARGE', `body larger than ${limit} bytes`));
      } else if (first === undefined) first = chunk;
      else (chunks ??= [first]).push(chunk);
    });
    req.once('end', () => resolve(chunks ? Buffer.concat(chunks).toString('utf8') : first ? first.toString('utf8') : ''));
    req.once('error', reject);
    // A client gone mid-body settles the request too (the answer goes nowhere, but nothing waits forever).
    req.once('close', () => req.complete || reject(new HttpError(400, 'ERR_INPUT_INVALID', 'the request body ended early')));
  });
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return sameSecret(bearer[1]!.trim(), token);
  // Browsers cannot send a bearer token on navigation: Basic with the token as password serves the dashboard.
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    return sameSecret(decoded.slice(decoded.indexOf(':') + 1), token);
  }
  return false;
}

/** Formula injection: a cell that a spreadsheet would evaluate is prefixed so it stays text. */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function reportsCsv(reports: StoredReport[]): string {
  const columns: Array<keyof StoredReport> = ['id', 'receivedAt', 'reportedAt', 'format', 'kind', 'appId', 'appVersion', 'appPlatform', 'host', 'port', 'code', 'mode', 'blocked', 'knownPins', 'message'];
  return [columns.join(','), ...reports.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\r\n') + '\r\n';
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function daysAgo(days: number): Date {
  return new Date(Date.now() - days * 86_400_000);
}

function queryNumber(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new HttpError(400, 'ERR_INPUT_INVALID', `query ${name}: an integer from ${min} to ${max}`);
  return value;
}

function querySince(url: URL): string | undefined {
  const since = url.searchParams.get('since');
  if (since === null) return undefined;
  const time = Date.parse(since);
  if (Number.isNaN(time)) throw new HttpError(400, 'ERR_INPUT_INVALID', 'query since: an ISO 8601 date or date-time');
  return new Date(time).toISOString();
}

export async function startCollector(options: CollectorOptions): Promise<Collector> {
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  if (!loopback && !options.tls) {
    throw new WirelockError('ERR_USAGE', `plain HTTP is for loopback only: listening on ${host} needs --cert and --key (reports carry certificate chains and app identities)`);
  }
  if (!loopback && !options.token) {
    throw new WirelockError('ERR_USAGE', `the dashboard and read API need --token (or WIRELOCK_COLLECT_TOKEN) when not bound to loopback (${host})`);
  }
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const store = typeof options.db === 'string' ? await openStore(options.db) : options.db;
  const writer = new BatchWriter(store, limits.maxBatch, store.kind === 'postgres' ? limits.commitsInFlight : 1);
  const perSource = new TokenBuckets(limits.perSourceRate, limits.perSourceBurst);
  const perApp = new TokenBuckets(limits.perAppRate, limits.perAppBurst);
  const retentionDays = options.retentionDays ?? 30;
  const policy = options.policy;

  async function ingest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const source = req.socket.remoteAddress ?? 'unknown';
    const wait = perSource.take(source, 1);
    if (wait > 0) return sendError(res, 429, 'ERR_RATE_LIMITED', `too many requests from ${source}`, {}, { 'retry-after': String(wait) });
    const type = req.headers['content-type'];
    if (type !== 'application/json' && type?.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      return sendError(res, 415, 'ERR_INPUT_INVALID', 'reports are application/json');
    }
    const body = await readBody(req, limits.maxBodyBytes);
    let reports: CollectedReport[];
    try {
      reports = parseReportBody(body, limits.maxReportsPerRequest);
    } catch (error) {
      if (error instanceof WirelockError) return sendError(res, 400, error.code, error.message, { pointer: error.details.pointer });
      throw error;
    }
    if (reports.length === 1) {
      const appWait = perApp.take(reports[0]!.appId, 1);
      if (appWait > 0) return sendError(res, 429, 'ERR_RATE_LIMITED', `too many reports for app "${reports[0]!.appId.slice(0, 64)}"`, {}, { 'retry-after': String(appWait) });
    } else {
      const perAppCost = new Map<string, number>();
      for (const report of reports) perAppCost.set(report.appId, (perAppCost.get(report.appId) ?? 0) + 1);
      for (const [app, cost] of perAppCost) {
        const appWait = perApp.take(app, cost);
        if (appWait > 0) return sendError(res, 429, 'ERR_RATE_LIMITED', `too many reports for app "${app.slice(0, 64)}"`, {}, { 'retry-after': String(appWait) });
      }
    }
    try {
      await writer.write(reports);
    } catch {
      // Not committed, so not acknowledged: the device keeps the report and retries.
      return sendError(res, 503, 'ERR_COLLECT', 'the report store is unavailable; retry later', {}, { 'retry-after': '5' });
    }
    sendAccepted(res, reports.length);
  }

  async function hostView(name: string, days: number) {
    const rows = await dailyAggregates(store, daysAgo(days - 1).toISOString().slice(0, 10), name);
    const pins = policyPinsFor(policy, name);
    const sightings = await recentClients(store, name, daysAgo(7).toISOString());
    const chainMap = await chainsByKey(store, [...new Set([...rows.map((r) => r.chainKey), ...sightings.map((s) => s.chainKey)])]);
    return {
      view: overview(rows, today(), days),
      chains: chainsSeen(rows, chainMap, pins),
      rollout: rollout(sightings, chainMap, pins, 7),
      pins: pins === null ? null : [...pins],
    };
  }

  async function read(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (path === '/dashboard.css') return send(res, 200, 'text/css; charset=utf-8', STYLESHEET);
    if (!authorized(req, options.token)) {
      return sendError(res, 401, 'ERR_UNAUTHORIZED', 'the read side needs the collector token (Authorization: Bearer <token>)', {}, { 'www-authenticate': 'Basic realm="wirelock collect", charset="UTF-8"' });
    }
    const days = queryNumber(url, 'days', 30, 1, 400);
    if (path === '/') {
      const rows = await dailyAggregates(store, daysAgo(days - 1).toISOString().slice(0, 10));
      return send(res, 200, 'text/html; charset=utf-8', overviewPage(overview(rows, today(), days)));
    }
    if (path === '/api/summary') {
      const rows = await dailyAggregates(store, daysAgo(days - 1).toISOString().slice(0, 10));
      return sendJson(res, 200, overview(rows, today(), days));
    }
    if (path === '/api/daily.csv') {
      const rows = await dailyAggregates(store, daysAgo(days - 1).toISOString().slice(0, 10), url.searchParams.get('host') ?? undefined);
      const lines = ['day,app_id,app_version,host,code,chain_key,reports', ...rows.map((r) => [r.day, r.appId, r.appVersion, r.host, r.code, r.chainKey, r.reports].map(csvCell).join(','))];
      return send(res, 200, 'text/csv; charset=utf-8', `${lines.join('\r\n')}\r\n`, { 'content-disposition': 'attachment; filename="wirelock-daily.csv"' });
    }
    if (path === '/api/reports' || path === '/api/reports.csv') {
      const reports = await listReports(store, {
        host: url.searchParams.get('host') ?? undefined,
        code: url.searchParams.get('code') ?? undefined,
        since: querySince(url),
        limit: queryNumber(url, 'limit', 100, 1, 1000),
      });
      if (path.endsWith('.csv')) return send(res, 200, 'text/csv; charset=utf-8', reportsCsv(reports), { 'content-disposition': 'attachment; filename="wirelock-reports.csv"' });
      return sendJson(res, 200, { reports });
    }
    const reportMatch = /^\/(api\/)?reports\/(\d{1,15})$/.exec(path);
    if (reportMatch) {
      const report = await getReport(store, Number(reportMatch[2]));
      if (!report) return reportMatch[1] ? sendError(res, 404, 'ERR_NOT_FOUND', 'no such report') : send(res, 404, 'text/html; charset=utf-8', messagePage('Not found', 'No such report.'));
      return reportMatch[1] ? sendJson(res, 200, { report }) : send(res, 200, 'text/html; charset=utf-8', reportPage(report, policyPinsFor(policy, report.host)));
    }
    const hostMatch = /^\/(api\/)?hosts\/([^/]{1,255})$/.exec(path);
    if (hostMatch) {
      const name = decodeURIComponent(hostMatch[2]!).toLowerCase();
      const data = await hostView(name, days);
      if (hostMatch[1]) return sendJson(res, 200, { host: name, ...data });
      const recent = await listReports(store, { host: name, limit: 50 });
      return send(res, 200, 'text/html; charset=utf-8', hostPage(name, data.view, data.chains, data.rollout, data.pins, recent));
    }
    return path.startsWith('/api/') ? sendError(res, 404, 'ERR_NOT_FOUND', 'no such resource') : send(res, 404, 'text/html; charset=utf-8', messagePage('Not found', 'No such page.'));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // The ingest route needs no URL object: it is the path every device request takes.
      if (req.url === '/api/reports' && req.method === 'POST') return await ingest(req, res);
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://collector.invalid');
      } catch {
        return sendError(res, 400, 'ERR_INPUT_INVALID', 'bad request target');
      }
      if (url.pathname === '/api/reports' && req.method === 'POST') return await ingest(req, res);
      if (req.method === 'GET' || req.method === 'HEAD') return await read(req, res, url);
      return sendError(res, 405, 'ERR_METHOD', `${req.method} is not allowed here`, {}, { allow: url.pathname === '/api/reports' ? 'GET, POST' : 'GET' });
    } catch (error) {
      if (error instanceof HttpError) return sendError(res, error.status, error.code, error.message);
      if (!res.headersSent) sendError(res, 500, 'ERR_COLLECT', 'internal error');
      else res.destroy();
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
  // Slow-body clients must not hold sockets open forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new WirelockError('ERR_USAGE', `cannot listen on ${host}:${options.port ?? 8787}: ${error.message}`)));
    server.listen(options.port ?? 8787, host, () => resolve());
  });
  await applyRetention(store, retentionDays).catch(() => {});
  const retention = setInterval(() => void applyRetention(store, retentionDays).catch(() => {}), 3_600_000);
  retention.unref();
  // Pending aggregate counts are folded into daily off the ingest path; reads add both, so this only bounds
  // the pending table's size.
  const fold = setInterval(() => void foldAggregates(store).catch(() => {}), 1_000);
  fold.unref();
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${address.port}`,
    store,
    async close() {
      clearInterval(retention);
      clearInterval(fold);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await foldAggregates(store).catch(() => {});
      if (typeof options.db === 'string') await store.close();
    },
  };
}

export { redact };
