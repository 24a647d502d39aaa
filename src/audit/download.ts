/**
 * Adapter: fetches the OSV export through wirelock's own transport: HTTPS only (http only to
 * loopback, for tests and a local mirror), Node's bundled Mozilla roots only. NODE_EXTRA_CA_CERTS,
 * --use-system-ca and a CA the user (or malware) installed are never trusted for the database
 * that decides which packages are malicious.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { WirelockError } from '../errors.js';
import type { Progress } from './db.js';

export const DEFAULT_OSV_URL = 'https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip';

/** The npm export is about 100 MB; anything far beyond is not what we asked for. */
const MAX_DOWNLOAD_BYTES = 2 * 1024 * 1024 * 1024;

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

let ownFetch: typeof fetch | undefined;

/** wirelock's fetch under a policy of bundled roots only; loaded on first use (the audit itself is offline). */
async function wirelockFetch(): Promise<typeof fetch> {
  if (!ownFetch) {
    const [{ createFetch }, { definePolicy }] = await Promise.all([import('../transport/fetch.js'), import('../policy/define.js')]);
    const policy = definePolicy({ version: 1, mode: 'enforce', minTlsVersion: 'TLSv1.2', cleartext: 'allow-loopback', unlistedHosts: 'allow', trustAnchors: ['builtin'] });
    ownFetch = createFetch(policy) as unknown as typeof fetch;
  }
  return ownFetch;
}

export type DownloadResult = { status: 'not-modified' } | { status: 'downloaded'; bytes: number; etag?: string; md5Verified: boolean };

/**
 * Downloads to `dest` (a temp file the caller removes), so a 150 MB export never sits in the heap.
 * With `etag`, an unchanged export is not fetched again (304). When the server states the object's
 * MD5 (Google Cloud Storage's `x-goog-hash`, which serves the OSV export), the bytes must match it.
 * That MD5 comes from the same server as the bytes: it catches a corrupted or truncated transfer,
 * not a malicious server or a replayed old export (TLS to a bundled root and the downgrade check
 * in db.ts are what stand against those).
 * `fetchImpl` replaces the transport (tests; a caller with its own policy-bound createFetch).
 */
export async function download(url: string, dest: string, options: { onProgress?: Progress; etag?: string; fetchImpl?: typeof fetch } = {}): Promise<DownloadResult> {
  const { onProgress, etag } = options;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WirelockError('ERR_USAGE', `"${url}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(parsed.hostname))) {
    throw new WirelockError('ERR_ADVISORY_DB', `refusing to download the advisory database over ${parsed.protocol} (https only, http only on loopback): ${url}`, { host: parsed.hostname });
  }
  const fetchImpl = options.fetchImpl ?? (await wirelockFetch());
  let response: Response;
  try {
    response = await fetchImpl(url, { redirect: 'follow', signal: AbortSignal.timeout(10 * 60_000), ...(etag ? { headers: { 'if-none-match': etag } } : {}) });
  } catch (error) {
    // The transport's own verdict (ERR_CERT_UNTRUSTED, ERR_CLEARTEXT_BLOCKED, ...) says more than "cannot download".
    if (error instanceof WirelockError) throw error;
    throw new WirelockError('ERR_ADVISORY_DB', `cannot download ${url}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, { host: parsed.hostname });
  }
  // A redirect must not leave https either.
  const final = new URL(response.url || url);
  if (final.protocol !== 'https:' && !(final.protocol === 'http:' && isLoopback(final.hostname))) {
    throw new WirelockError('ERR_ADVISORY_DB', `download of ${url} was redirected to ${final.protocol} (${final.host})`, { host: final.hostname });
  }
  if (response.status === 304 && etag) return { status: 'not-modified' };
  if (!response.ok || !response.body) throw new WirelockError('ERR_ADVISORY_DB', `cannot download ${url}: HTTP ${response.status}`, { host: parsed.hostname });
  const total = Number(response.headers.get('content-length') ?? 0);
  // A stated MD5 covers the stored bytes; with a content-encoding, fetch hands us other bytes.
  const statedMd5 = response.headers.get('content-encoding') ? undefined : /(?:^|,)\s*md5=([A-Za-z0-9+/=]+)/.exec(response.headers.get('x-goog-hash') ?? '')?.[1];
  const md5 = createHash('md5');
  let received = 0;
  const fd = openSync(dest, 'w');
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      if (received > MAX_DOWNLOAD_BYTES) throw new WirelockError('ERR_ADVISORY_DB', `download of ${url} exceeds ${MAX_DOWNLOAD_BYTES} bytes`, { host: parsed.hostname });
      writeSync(fd, chunk);
      md5.update(chunk);
      onProgress?.(received, total, 'downloading');
    }
  } catch (error) {
    closeSync(fd);
    rmSync(dest, { force: true });
    if (error instanceof WirelockError) throw error;
    throw new WirelockError('ERR_ADVISORY_DB', `download of ${url} failed: ${(error as Error).message}`, { host: parsed.hostname });
  }
  closeSync(fd);
  if (total && received !== total) throw new WirelockError('ERR_ADVISORY_DB', `download of ${url} truncated: ${received} of ${total} bytes`, { host: parsed.hostname });
  const actualMd5 = md5.digest('base64');
  if (statedMd5 !== undefined && statedMd5 !== actualMd5) {
    rmSync(dest, { force: true });
    throw new WirelockError('ERR_ADVISORY_DB', `download of ${url} does not match the MD5 the server states (${statedMd5}, got ${actualMd5})`, { host: parsed.hostname });
  }
  const newEtag = response.headers.get('etag') ?? undefined;
  return { status: 'downloaded', bytes: received, md5Verified: statedMd5 !== undefined, ...(newEtag ? { etag: newEtag } : {}) };
}

/** A one-line progress bar on a TTY; nothing at all otherwise (logs stay clean). */
export function progressBar(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): Progress & { done(): void } {
  let last = 0;
  let drawn = false;
  const fn = ((done: number, total: number, phase: string) => {
    if (!stream.isTTY) return;
    const now = Date.now();
    if (now - last < 80 && done !== total) return;
    last = now;
    drawn = true;
    const width = 30;
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    const bar = total > 0 ? `[${'#'.repeat(Math.round(ratio * width)).padEnd(width, '.')}] ${Math.round(ratio * 100)}%` : '';
    const amount = phase === 'downloading' ? `${(done / 1048576).toFixed(1)} MB` : `${done}${total ? `/${total}` : ''}`;
    stream.write(`\r${phase.padEnd(12)} ${bar} ${amount}\u001b[K`);
  }) as Progress & { done(): void };
  fn.done = () => {
    if (drawn) stream.write('\r\u001b[K');
  };
  return fn;
}
