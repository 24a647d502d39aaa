import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startMitmproxy } from './mitmproxy.js';
import type { Attacker, LabContext, Scenario } from './scenarios.js';
import { startTinyproxy } from './tinyproxy.js';

/**
 * The corporate proxy row: wirelock's client runs under a policy with `"proxy": "env"`, so it really
 * goes through whatever HTTPS_PROXY names, and every TLS check must still run with the origin.
 */

function userStore(lab: LabContext, ...extra: string[]): Record<string, string> {
  return { NODE_EXTRA_CA_CERTS: lab.caFile('trust-store', lab.pki.legit.root.pem, ...extra) };
}

function proxyVariables(proxyUrl: string): Record<string, string> {
  return { HTTPS_PROXY: proxyUrl, https_proxy: proxyUrl, NO_PROXY: '', no_proxy: '' };
}

export const PROXY_SCENARIOS: readonly Scenario[] = [
  {
    id: 'corporate-proxy',
    title: 'Corporate CONNECT proxy with Basic auth (tinyproxy)',
    attack: 'none: egress only through the proxy; the request must reach the origin through it, checked end to end',
    control: undefined,
    expect: 'delivered',
    requires: ['tinyproxy'],
    builtinClientOnly: 'the lab cannot tell whether your program went through the proxy',
    async stage(lab) {
      const origin = await lab.startServer(lab.pki.serverOptions(lab.pki.legit));
      // The corporate proxy wants Basic credentials; they come with HTTPS_PROXY, as on managed machines.
      const password = randomBytes(9).toString('base64url');
      const proxy = await startTinyproxy(lab, 'corporate', { basicAuth: { user: 'lab', password } });
      const tunnelled = `127.0.0.1:${origin.port}`;
      // Delivered means: the origin got the request, and tinyproxy's own log shows the tunnel to it.
      const throughProxy: Attacker = {
        get connections() {
          return origin.connections;
        },
        get applicationBytes() {
          return origin.applicationBytes;
        },
        get captured() {
          return proxy.connects().includes(tunnelled) ? origin.captured : '';
        },
      };
      const withCredentials = proxy.url.replace('http://', `http://lab:${password}@`);
      return { url: origin.url('127.0.0.1', '/pay'), attacker: throughProxy, env: { ...userStore(lab), ...proxyVariables(withCredentials) }, policy: 'proxy-env' };
    },
  },
  {
    id: 'mitmproxy-corporate',
    title: 'TLS-inspecting corporate proxy (mitmproxy), its CA installed',
    attack: 'the proxy the policy routes through (HTTPS_PROXY) decrypts: mitmproxy in regular mode, its CA user-installed',
    control: 'honours HTTPS_PROXY (undici EnvHttpProxyAgent), trusts the installed CA',
    expect: 'blocked',
    expectedCode: 'ERR_CERT_UNTRUSTED',
    requires: ['mitmdump'],
    async stage(lab) {
      const origin = await lab.startServer(lab.pki.serverOptions(lab.pki.legit));
      const mitm = await startMitmproxy(lab, 'regular', 'corporate');
      return {
        url: origin.url('127.0.0.1', '/pay'),
        attacker: mitm,
        env: { ...userStore(lab, readFileSync(mitm.caFile, 'utf8')), ...proxyVariables(mitm.url) },
        weakness: 'env-proxy',
        policy: 'proxy-env',
      };
    },
  },
];
