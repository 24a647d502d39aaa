// Helpers for the collector tests: real collectors on loopback, real HTTP, report bodies as devices send them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IssuedChain } from '../../src/lab/pki.js';
import { toPem, certificatePin } from '../../src/x509/certificate.js';

export function tempDir(prefix = 'wirelock-collect-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(`${url}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json, headers: response.headers };
}

export async function get(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(`${url}${path}`, { headers });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** The field names and value shapes of TrustKit's TSKPinFailureReport (iOS) as it POSTs them. */
export function trustKitReport(chain: IssuedChain, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'app-bundle-id': 'com.example.payments',
    'app-version': '4.2.0',
    'app-platform': 'IOS',
    'app-platform-version': '18.1.0',
    'app-vendor-id': 'A1B2C3D4-0000-4000-8000-000000000001',
    'trustkit-version': '3.0.5',
    'date-time': '2026-11-30T10:00:00Z',
    hostname: 'api.example.com',
    port: 443,
    'noted-hostname': 'example.com',
    'include-subdomains': true,
    'enforce-pinning': false,
    'validated-certificate-chain': [toPem(chain.leaf.der), toPem(chain.intermediate.der), toPem(chain.root.der)],
    'known-pins': [`pin-sha256="${certificatePin(chain.intermediate.der).slice(7)}"`, 'pin-sha256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="'],
    'validation-result': 1,
    'known-pins-expiration-date': null,
    ...overrides,
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
