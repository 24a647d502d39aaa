import { X509Certificate } from 'node:crypto';
import { findDomainPolicy } from '../policy/match.js';
import type { Policy } from '../policy/types.js';
import { certificatePin, pemBlocks } from '../x509/certificate.js';
import type { ClientSighting, DailyRow } from './store.js';

/**
 * What the dashboard and the JSON API show, computed from stored rows (pure: no I/O). The same
 * objects are rendered as HTML, served as JSON and exported as CSV, so the three never disagree.
 */

export interface DecodedCertificate {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  pin: string;
  /** Whether the policy lists this certificate's key for the host (null: no policy given). */
  pinned: boolean | null;
}

export function decodeChain(chain: string[], policyPins: Set<string> | null): Array<DecodedCertificate | { error: string }> {
  return chain.map((pem) => {
    try {
      const [der] = pemBlocks(pem);
      if (!der) return { error: 'not a PEM certificate' };
      const cert = new X509Certificate(der);
      const pin = certificatePin(der);
      return {
        subject: cert.subject.replace(/\n/g, ', '),
        issuer: cert.issuer.replace(/\n/g, ', '),
        validFrom: new Date(cert.validFrom).toISOString(),
        validTo: new Date(cert.validTo).toISOString(),
        pin,
        pinned: policyPins ? policyPins.has(pin) : null,
      };
    } catch (error) {
      return { error: `undecodable certificate (${(error as Error).message.slice(0, 120)})` };
    }
  });
}

export function policyPinsFor(policy: Policy | undefined, host: string): Set<string> | null {
  if (!policy) return null;
  const domain = findDomainPolicy(policy, host);
  return new Set(domain?.pins.map((pin) => pin.pin) ?? []);
}

export interface Overview {
  days: string[];
  codes: string[];
  /** reports per day per code, aligned with `days` */
  series: Record<string, number[]>;
  hosts: Array<{ host: string; reports: number; codes: Record<string, number>; lastDay: string }>;
  appVersions: Array<{ appId: string; appVersion: string; reports: number; hosts: number }>;
  total: number;
}

export function dayRange(endDay: string, days: number): string[] {
  const end = Date.parse(`${endDay}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => new Date(end - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10));
}

export function overview(rows: DailyRow[], today: string, days: number): Overview {
  const range = dayRange(today, days);
  const index = new Map(range.map((day, i) => [day, i]));
  const series: Record<string, number[]> = {};
  const hosts = new Map<string, Overview['hosts'][number]>();
  const versions = new Map<string, { appId: string; appVersion: string; reports: number; hosts: Set<string> }>();
  let total = 0;
  for (const row of rows) {
    const i = index.get(row.day);
    if (i === undefined) continue;
    total += row.reports;
    (series[row.code] ??= new Array<number>(range.length).fill(0))[i]! += row.reports;
    const host = hosts.get(row.host) ?? { host: row.host, reports: 0, codes: {}, lastDay: row.day };
    host.reports += row.reports;
    host.codes[row.code] = (host.codes[row.code] ?? 0) + row.reports;
    if (row.day > host.lastDay) host.lastDay = row.day;
    hosts.set(row.host, host);
    const key = `${row.appId}\u0000${row.appVersion}`;
    const version = versions.get(key) ?? { appId: row.appId, appVersion: row.appVersion, reports: 0, hosts: new Set<string>() };
    version.reports += row.reports;
    version.hosts.add(row.host);
    versions.set(key, version);
  }
  return {
    days: range,
    codes: Object.keys(series).sort(),
    series,
    hosts: [...hosts.values()].sort((a, b) => b.reports - a.reports || a.host.localeCompare(b.host)),
    appVersions: [...versions.values()]
      .map((v) => ({ appId: v.appId, appVersion: v.appVersion, reports: v.reports, hosts: v.hosts.size }))
      .sort((a, b) => b.reports - a.reports),
    total,
  };
}

export interface ChainSeen {
  chainKey: string;
  reports: number;
  lastDay: string;
  certificates: Array<DecodedCertificate | { error: string }>;
  /** Would this chain pass the policy's pins (any verified key pinned)? null without a policy. */
  passesPins: boolean | null;
}

export function chainsSeen(rows: DailyRow[], chains: Map<string, string[]>, policyPins: Set<string> | null): ChainSeen[] {
  const byKey = new Map<string, { reports: number; lastDay: string }>();
  for (const row of rows) {
    const seen = byKey.get(row.chainKey) ?? { reports: 0, lastDay: row.day };
    seen.reports += row.reports;
    if (row.day > seen.lastDay) seen.lastDay = row.day;
    byKey.set(row.chainKey, seen);
  }
  return [...byKey.entries()]
    .map(([chainKey, seen]) => {
      const certificates = decodeChain(chains.get(chainKey) ?? [], policyPins);
      return { chainKey, ...seen, certificates, passesPins: chainPasses(certificates, policyPins) };
    })
    .sort((a, b) => b.reports - a.reports);
}

function chainPasses(certificates: ChainSeen['certificates'], policyPins: Set<string> | null): boolean | null {
  if (!policyPins || certificates.length === 0) return null;
  if (policyPins.size === 0) return true;
  return certificates.some((cert) => 'pin' in cert && policyPins.has(cert.pin));
}

export interface RolloutEstimate {
  windowDays: number;
  clients: number;
  wouldBeRefused: number;
  share: number | null;
  byAppVersion: Array<{ appVersion: string; clients: number; wouldBeRefused: number }>;
  basis: 'policy-pins' | 'reported-codes';
}

/**
 * "If this host switched to enforce now, which share of recent clients would be refused?" Counted
 * over the clients that reported for the host in the window (their latest report each). With the
 * policy, a client is refused when no key of its chain is pinned; without it, when its latest
 * report was a violation that enforce mode blocks. Clients that never report are not in the count.
 */
export function rollout(sightings: ClientSighting[], chains: Map<string, string[]>, policyPins: Set<string> | null, windowDays: number): RolloutEstimate {
  const versions = new Map<string, { clients: number; wouldBeRefused: number }>();
  let refused = 0;
  for (const sighting of sightings) {
    let refuses: boolean;
    const chain = chains.get(sighting.chainKey);
    if (policyPins && chain) {
      refuses = chainPasses(decodeChain(chain, policyPins), policyPins) === false;
    } else {
      refuses = sighting.code.startsWith('ERR_') || (sighting.code.startsWith('TRUSTKIT_') && sighting.code !== 'TRUSTKIT_SUCCESS');
    }
    if (refuses) refused++;
    const version = versions.get(sighting.appVersion) ?? { clients: 0, wouldBeRefused: 0 };
    version.clients++;
    if (refuses) version.wouldBeRefused++;
    versions.set(sighting.appVersion, version);
  }
  return {
    windowDays,
    clients: sightings.length,
    wouldBeRefused: refused,
    share: sightings.length === 0 ? null : refused / sightings.length,
    byAppVersion: [...versions.entries()].map(([appVersion, v]) => ({ appVersion, ...v })).sort((a, b) => b.clients - a.clients),
    basis: policyPins ? 'policy-pins' : 'reported-codes',
  };
}
