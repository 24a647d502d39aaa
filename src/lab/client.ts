// The lab's own client, run as a child process so each scenario gets a fresh environment
// (NODE_EXTRA_CA_CERTS and NODE_TLS_REJECT_UNAUTHORIZED are read by Node at start-up).
//
// WIRELOCK_LAB_SIDE=plain behaves like an unprotected app: Node's fetch, or undici / https with the
// insecure setting named by WIRELOCK_LAB_WEAKNESS. WIRELOCK_LAB_SIDE=wirelock makes the same call
// through wirelock under the policy in WIRELOCK_POLICY, passing the same insecure settings, which
// wirelock must override. Prints one JSON line: the outcome and any violation reports.
//
// Start-up is most of a lab run's cost (a few dozen of these processes per run): each side imports
// only what it uses, so the plain side never loads wirelock and Node's fetch never loads undici.
import https from 'node:https';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { ViolationReport } from '../transport/report.js';
import { pathToFileURL } from 'node:url';
import type { Weakness } from './scenarios.js';

interface Outcome {
  ok: boolean;
  status?: number;
  code?: string;
  message?: string;
  /** Violation reports, and runtime findings as kind "tamper" with the finding's key as code. */
  reports: Array<{ kind: string; code: string; blocked: boolean; message: string }>;
}

const url = process.env.WIRELOCK_LAB_URL!;
const secret = process.env.WIRELOCK_LAB_SECRET!;
const weakness = (process.env.WIRELOCK_LAB_WEAKNESS ?? 'none') as Weakness;
const reports: Outcome['reports'] = [];
/** Headers the request carries: an attack may choose some (e.g. Host). */
const headers = JSON.parse(process.env.WIRELOCK_LAB_HEADERS || '{}') as Record<string, string>;

/** The insecure TLS settings real apps ship with; wirelock gets the same and must ignore them. */
async function insecureTlsOptions(): Promise<ConnectionOptions | undefined> {
  switch (weakness) {
    case 'trust-all':
      return { rejectUnauthorized: false };
    case 'pin-only': {
      const { X509Certificate } = await import('node:crypto');
      const { spkiPin } = await import('../x509/certificate.js');
      // Home-made pinning: chain validation switched off "because pinning is stronger".
      const pins = new Set((process.env.WIRELOCK_LAB_PINS ?? '').split(','));
      return {
        rejectUnauthorized: false,
        checkServerIdentity: (_host, leaf) => {
          const seen = new Set<PeerCertificate>();
          for (let cert: PeerCertificate | undefined = leaf; cert && !seen.has(cert); cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate) {
            seen.add(cert);
            const der = new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
            if (pins.has(spkiPin(der))) return undefined;
          }
          return new Error('pin mismatch');
        },
      };
    }
    case 'legacy-tls':
      return { minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' };
    default:
      return undefined;
  }
}

/** Plays a compromised dependency the app loads after start-up (and after lockdown). */
async function loadDependency(): Promise<void> {
  const file = process.env.WIRELOCK_LAB_DEPENDENCY;
  if (!file) return;
  const module = (await import(pathToFileURL(file).href)) as { default?: () => unknown };
  if (typeof module.default === 'function') await module.default();
}

/** POST through `https.request`; `agent` undefined means Node's global agent. */
function httpsPost(agent: https.Agent | undefined, tlsOptions: ConnectionOptions = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const request = https.request(url, { method: 'POST', headers, ...(agent ? { agent } : {}), ...tlsOptions }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(secret);
  });
}

const useHttpsModule = process.env.WIRELOCK_LAB_API === 'https';

async function plain(): Promise<Outcome> {
  await loadDependency();
  if (useHttpsModule) return { ok: true, status: await httpsPost(undefined), reports };
  const tlsOptions = await insecureTlsOptions();
  const init = { method: 'POST', body: secret, headers };
  // Node's own fetch unless the app configured its weakness through an undici dispatcher.
  if (weakness !== 'env-proxy' && !tlsOptions) {
    const response = await fetch(url, init);
    return { ok: true, status: response.status, reports };
  }
  const { Agent, EnvHttpProxyAgent, fetch: undiciFetch } = await import('undici');
  const dispatcher = weakness === 'env-proxy' ? new EnvHttpProxyAgent() : new Agent({ connect: tlsOptions });
  const response = await undiciFetch(url, { ...init, dispatcher });
  return { ok: true, status: response.status, reports };
}

async function protectedByWirelock(): Promise<Outcome> {
  const { loadPolicy } = await import('../policy/define.js');
  const policy = await loadPolicy(process.env.WIRELOCK_POLICY!);
  const onViolation = (report: ViolationReport): void => {
    reports.push({ kind: report.kind, code: report.code, blocked: report.blocked, message: report.message });
  };
  if (process.env.WIRELOCK_LAB_LOCKDOWN === '1') {
    // The whole process under the policy, as with `node --import wirelock/register app.js`.
    const { lockdown } = await import('../runtime/lockdown.js');
    const handle = lockdown(policy, { onTamper: 'block', onViolation, onFinding: (finding) => reports.push({ kind: 'tamper', code: finding.key, blocked: false, message: finding.title }) });
    await handle.ready;
    await loadDependency();
    if (useHttpsModule) return { ok: true, status: await httpsPost(undefined), reports };
    const response = await fetch(url, { method: 'POST', body: secret, headers });
    await response.arrayBuffer();
    return { ok: true, status: response.status, reports };
  }
  const tlsOptions = await insecureTlsOptions();
  if (tlsOptions || useHttpsModule) {
    const { createAgent } = await import('../transport/agent.js');
    const agent = createAgent(policy, { onViolation, keepAlive: false });
    const status = await httpsPost(agent, tlsOptions).finally(() => agent.destroy());
    return { ok: true, status, reports };
  }
  const { createFetch } = await import('../transport/fetch.js');
  const wirelockFetch = createFetch(policy, { onViolation });
  try {
    const response = await wirelockFetch(url, { method: 'POST', body: secret, headers });
    await response.arrayBuffer();
    return { ok: true, status: response.status, reports };
  } finally {
    await wirelockFetch.dispatcher.close();
  }
}

function describeFailure(error: unknown): Outcome {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = (error as { code?: string }).code ?? cause?.code ?? 'ERR_REQUEST_FAILED';
  const message = code === cause?.code ? cause?.message ?? String(error) : (error as Error).message;
  return { ok: false, code, message, reports };
}

const outcome = await (process.env.WIRELOCK_LAB_SIDE === 'wirelock' ? protectedByWirelock() : plain()).catch(describeFailure);
process.stdout.write(`${JSON.stringify(outcome)}\n`);
