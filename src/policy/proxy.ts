import { normalizeHost } from './match.js';
import type { NoProxyRule, Policy, ProxyConfig } from './types.js';

// Builtins through process.getBuiltinModule, not `import`: no ESM facade (a facade reads every
// export, which loads what lazy getters hide: webcrypto, net's BlockList, stream/promises).
const net = process.getBuiltinModule('node:net') as typeof import('node:net');
const { isIP } = net;

/**
 * The proxy part of a policy, pure: parsing `noProxy` entries and proxy URLs, deciding which hosts
 * bypass the proxy, and holding credentials that came with HTTPS_PROXY outside the policy object
 * (so printing, serializing or reporting a policy can never show them).
 */

const urlCredentials = new WeakMap<ProxyConfig, string>();

/** Holds `user:password` from HTTPS_PROXY for this proxy; see proxyCredentials. */
export function attachUrlCredentials(proxy: ProxyConfig, userColonPassword: string): void {
  urlCredentials.set(proxy, userColonPassword);
}

/**
 * The `user:password` to send to the proxy, or undefined when it needs none. `env` credentials are
 * read now (so a rotated secret is picked up); a missing variable is reported by the caller.
 */
export function proxyCredentials(proxy: ProxyConfig, env: Record<string, string | undefined>): { value: string | undefined; missing?: string } {
  if (!proxy.auth) return { value: undefined };
  if (proxy.auth.kind === 'url') return { value: urlCredentials.get(proxy) };
  const value = env[proxy.auth.variable];
  return value ? { value } : { value: undefined, missing: proxy.auth.variable };
}

/** Parses one NO_PROXY / `noProxy` entry (curl's rules: a host covers its subdomains, a leading dot is optional). */
export function parseNoProxyEntry(entry: string): NoProxyRule | string {
  const text = entry.trim().toLowerCase();
  if (text === '*') return { kind: 'all' };
  if (text === '') return 'empty entry';
  const cidr = /^(.+)\/(\d{1,3})$/.exec(text);
  if (cidr) {
    const family = isIP(cidr[1]!);
    const prefix = Number(cidr[2]);
    if (family === 0 || prefix > (family === 4 ? 32 : 128)) return `"${text}" is not an IP range (address/prefix)`;
    return { kind: 'cidr', address: cidr[1]!, prefix, family: family === 4 ? 'ipv4' : 'ipv6', port: undefined };
  }
  let host = text.startsWith('.') ? text.slice(1) : text.startsWith('*.') ? text.slice(2) : text;
  let port: number | undefined;
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(host);
  if (withPort) {
    host = withPort[1]!;
    port = Number(withPort[2]);
    if (port < 1 || port > 65535) return `"${text}" has an invalid port`;
  }
  const name = normalizeHost(host);
  if (!name) return `"${text}" is not a host name, IP address or IP range`;
  return { kind: 'host', name, port };
}

/** True when `host:port` is reached directly, not through the proxy. */
export function bypassesProxy(proxy: ProxyConfig, rawHost: string, port: number): boolean {
  const host = normalizeHost(rawHost) ?? rawHost;
  for (const rule of proxy.noProxy) {
    if (rule.kind === 'all') return true;
    if (rule.port !== undefined && rule.port !== port) continue;
    if (rule.kind === 'host') {
      if (host === rule.name || (isIP(host) === 0 && host.endsWith(`.${rule.name}`))) return true;
    } else {
      const family = isIP(host);
      if ((family === 4 && rule.family === 'ipv4') || (family === 6 && rule.family === 'ipv6')) {
        const list = new net.BlockList();
        list.addSubnet(rule.address, rule.prefix, rule.family);
        if (list.check(host, rule.family)) return true;
      }
    }
  }
  return false;
}

/** The proxy that carries a connection to `host:port` under `policy`, or undefined for a direct one. */
export function proxyFor(policy: Pick<Policy, 'proxy'>, host: string, port: number): ProxyConfig | undefined {
  const proxy = policy.proxy;
  if (!proxy || bypassesProxy(proxy, host, port)) return undefined;
  return proxy;
}

export type ParsedProxyUrl =
  | { ok: true; protocol: 'http:' | 'https:'; host: string; port: number; display: string; credentials: string | undefined }
  | { ok: false; reason: string };

/**
 * A proxy URL (`http://host:port`, `https://...`; HTTPS_PROXY also accepts a bare `host:port`).
 * Reasons never quote the URL: it may carry a password.
 */
export function parseProxyUrl(text: string, bareAllowed: boolean): ParsedProxyUrl {
  const withScheme = bareAllowed && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? `http://${text}` : text;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { ok: false, reason: 'is not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `uses ${url.protocol.replace(/:$/, '')}: only http:// and https:// (CONNECT) proxies are supported` };
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return { ok: false, reason: 'must be scheme://host:port, without a path, query or fragment' };
  const host = normalizeHost(url.hostname);
  if (!host) return { ok: false, reason: 'has no valid host' };
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const display = `${url.protocol}//${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const credentials = url.username || url.password ? `${decode(url.username)}:${decode(url.password)}` : undefined;
  return { ok: true, protocol: url.protocol, host, port, display, credentials };
}

/** A proxy URL for display: `user:password@` becomes `***@` (also in scheme-less HTTPS_PROXY values). */
export function redactCredentials(value: string): string {
  return value.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^/?#]*@/i, '$1***@');
}
