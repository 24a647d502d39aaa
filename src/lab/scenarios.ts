import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { ErrorCode } from '../errors.js';
import { generateKeys, issueCertificate } from '../x509/issue.js';
import { startMitmproxy } from './mitmproxy.js';
import { PROXY_SCENARIOS } from './proxy-scenarios.js';
import { issueWithScts, type IssueWithSctsOptions, type TestLog } from '../ct/testlog.js';
import { issueLeaf, PINNED_NAME, UNPINNED_NAME, type LabPki } from './pki.js';
import { plantCaInjectingDependency, plantDispatcherSwappingDependency, plantFetchWrappingDependency, plantKeylogListeningDependency, plantTlsHookPreload } from './runtime-attacks.js';
import { startSniffer } from './sniffer.js';
import type { CountingServer, CountingServerOptions } from './servers.js';

/** How the unprotected client (the positive control) is configured, as real apps ship it. */
export type Weakness = 'none' | 'trust-all' | 'pin-only' | 'legacy-tls' | 'env-proxy';

/** Where intercepted traffic lands; `applicationBytes` must stay 0 while wirelock's client runs. */
export interface Attacker {
  readonly connections: number;
  readonly applicationBytes: number;
  readonly captured: string;
  /**
   * For attackers that learn what they got after the fact (a capture decrypted later): called after
   * each client run, before the counters are read. Without it the lab waits for the counters to settle.
   */
  observe?(): Promise<void>;
}

export interface StagedAttack {
  /** What the client is told to call. */
  url: string;
  attacker: Attacker;
  /** Environment for both clients: the attacker's foothold (proxy, extra CA, ...). */
  env?: Record<string, string>;
  weakness?: Weakness;
  /**
   * In-process attacks: wirelock's side runs under `lockdown()` (runtime integrity) and uses the
   * global fetch, as an app protected with `--import wirelock/register` does.
   */
  lockdown?: boolean;
  /** A module both clients load after start-up (after lockdown): a compromised dependency. */
  dependency?: string;
  /** Both clients call through `https.request` with Node's global agent instead of fetch. */
  api?: 'fetch' | 'https';
  /** Which lab policy wirelock's client runs under ('ct': no pins, Certificate Transparency enforced). */
  policy?: 'lab' | 'expired-pins' | 'ct' | 'proxy-env';
  /** Request headers the attacker chose (e.g. a Host naming another policy's host). */
  headers?: Record<string, string>;
  /** What the system resolver answers for these names while both clients run (name -> address). */
  hosts?: Record<string, string>;
}

/**
 * - blocked: wirelock refuses the connection (with `expectedCode`) and the attacker gets 0 bytes.
 * - bypassed: wirelock completes the request without going through the attacker at all.
 * - allowed-with-report: not an attack to block; wirelock must allow it and emit `expectedReport`.
 * - delivered: not an attack; the request must arrive where `attacker` records (an origin behind a proxy).
 */
export type Expectation = 'blocked' | 'bypassed' | 'allowed-with-report' | 'delivered';

export interface Scenario {
  id: string;
  title: string;
  /** What the attacker does, in one line. */
  attack: string;
  /** The unprotected client's configuration, shown beside its result; undefined when there is no control. */
  control: string | undefined;
  expect: Expectation;
  expectedCode?: ErrorCode;
  /** For ERR_ENV_COMPROMISED: the runtime finding (key or subject) that must be the reason, not any other. */
  expectedFinding?: string;
  expectedReport?: string;
  /** Programs that must be on PATH; without them the scenario is reported as unavailable. */
  requires?: readonly string[];
  /** What the scenario needs beyond programs: capturing on loopback, or a private mount namespace. */
  privilege?: 'capture' | 'mount-namespace';
  /** How to fix a client that fails this scenario (shown under a failing row). */
  fixHint?: string;
  /** Why the scenario cannot attack a user's program (--client), when it cannot. */
  builtinClientOnly?: string;
  stage(lab: LabContext): Promise<StagedAttack>;
}

/** What a scenario may use to stage its attack; everything started through it is closed after the run. */
export interface LabContext {
  readonly pki: LabPki;
  /** CT logs: `listed` are in the log list of the lab's 'ct' policy (two operators), `unlisted` are not. */
  readonly ctLogs: { listed: TestLog[]; unlisted: TestLog[] };
  readonly dir: string;
  /** Writes a PEM bundle of CA certificates and returns its path (for NODE_EXTRA_CA_CERTS). */
  caFile(name: string, ...pems: string[]): string;
  startServer(options: CountingServerOptions): Promise<CountingServer>;
  /** Registers a resource to release when the lab ends. */
  onClose(close: () => Promise<void> | void): void;
}

const DAY = 864e5;

/** The user's "public" trust store in the lab: the legitimate CA, so the plain client reaches the real server. */
function publicStore(lab: LabContext, ...extra: string[]): Record<string, string> {
  return { NODE_EXTRA_CA_CERTS: lab.caFile('trust-store', lab.pki.legit.root.pem, ...extra) };
}

/** The common shape: the attacker answers at the URL itself (DNS/ARP spoofing, a hostile network). */
async function attackerAtUrl(lab: LabContext, server: CountingServerOptions, staged: Omit<StagedAttack, 'url' | 'attacker'>): Promise<StagedAttack> {
  const attacker = await lab.startServer(server);
  return { url: attacker.url('127.0.0.1', '/pay'), attacker, ...staged };
}

/** Attacks that leave the URL alone and sit elsewhere (a proxy, a C2 fed by code inside the app). */
async function besideLegitOrigin(lab: LabContext, attacker: Attacker, staged: Omit<StagedAttack, 'url' | 'attacker'>): Promise<StagedAttack> {
  const origin = await legitOrigin(lab);
  return { url: origin.url('127.0.0.1', '/pay'), attacker, ...staged };
}

/** The environment a "VPN" app leaves behind: every proxy variable Node clients read, nothing exempt. */
function proxyEnv(proxyUrl: string): Record<string, string> {
  return { HTTPS_PROXY: proxyUrl, https_proxy: proxyUrl, NO_PROXY: '', no_proxy: '' };
}

async function legitOrigin(lab: LabContext, respond?: CountingServerOptions['respond']): Promise<CountingServer> {
  return lab.startServer({ ...lab.pki.serverOptions(lab.pki.legit), ...(respond ? { respond } : {}) });
}

/**
 * A "VPN app" style HTTPS proxy: it accepts CONNECT and terminates TLS itself with a rogue certificate,
 * forwarding the tunnel to an attacker-controlled server that decrypts and records the traffic.
 */
async function startInterceptingProxy(lab: LabContext): Promise<{ url: string; attacker: CountingServer }> {
  const attacker = await lab.startServer(lab.pki.serverOptions(lab.pki.rogue));
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  const sockets = new Set<net.Socket>();
  proxy.on('connect', (_req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    const upstream = net.connect(attacker.port, attacker.host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    client.on('error', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  lab.onClose(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, attacker };
}

/**
 * A publicly trusted CA issued the attacker a certificate it did not log (or logged only in the
 * attacker's own logs, or with forged SCTs). No pins: Certificate Transparency alone must stop it.
 */
async function unloggedCertificateAttack(lab: LabContext, logs: IssueWithSctsOptions['logs'], forge: IssueWithSctsOptions['forge'] = false): Promise<StagedAttack> {
  const issued = issueWithScts({ issuer: lab.pki.compromised.intermediate, hostnames: ['127.0.0.1', 'localhost'], logs, forge });
  return attackerAtUrl(lab, { cert: issued.chainPem, key: issued.certificate.keyPem }, { env: publicStore(lab, lab.pki.compromised.root.pem), policy: 'ct' });
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'self-signed',
    title: 'MitM with a self-signed certificate',
    attack: 'answers for the server with a self-signed certificate',
    control: 'trusts all certificates (rejectUnauthorized: false)',
    expect: 'blocked',
    expectedCode: 'ERR_CERT_UNTRUSTED',
    fixHint: "never turn certificate checks off (rejectUnauthorized: false, curl -k, verify=False): trust the lab's CA instead (WIRELOCK_LAB_CA) or load the policy in WIRELOCK_POLICY",
    async stage(lab) {
      const keys = generateKeys();
      const cert = issueCertificate({ subject: { commonName: '127.0.0.1' }, keys, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
      return attackerAtUrl(lab, { cert: cert.pem, key: cert.keyPem }, { env: publicStore(lab), weakness: 'trust-all' });
    },
  },
  {
    id: 'user-installed-ca',
    title: 'Rogue CA installed by the user (NODE_EXTRA_CA_CERTS)',
    attack: 'its CA is in NODE_EXTRA_CA_CERTS, as a "VPN" app gets it installed',
    control: "Node's fetch with the user's trust store",
    expect: 'blocked',
    expectedCode: 'ERR_CERT_UNTRUSTED',
    fixHint: "trust only the server's own CA and pin its keys: a Node app uses createFetch(await loadPolicy(process.env.WIRELOCK_POLICY)); curl --cacert \"$WIRELOCK_LAB_CA\" replaces the system store; a mobile build pins WIRELOCK_LAB_PINS (network_security_config / TrustKit)",
    async stage(lab) {
      return attackerAtUrl(lab, lab.pki.serverOptions(lab.pki.rogue), { env: publicStore(lab, lab.pki.rogue.root.pem) });
    },
  },
  {
    id: 'compromised-ca',
    title: 'Trusted CA mis-issues a certificate (pin mismatch)',
    attack: 'presents a certificate from a CA the trust store accepts',
    control: "Node's fetch with the system trust store",
    expect: 'blocked',
    expectedCode: 'ERR_PIN_MISMATCH',
    fixHint: "pin the server's keys (the pins in WIRELOCK_LAB_PINS / the policy): any CA the store accepts can issue a certificate for the name; a Node app uses createFetch(await loadPolicy(process.env.WIRELOCK_POLICY))",
    async stage(lab) {
      return attackerAtUrl(lab, lab.pki.serverOptions(lab.pki.compromised), { env: publicStore(lab, lab.pki.compromised.root.pem) });
    },
  },
  {
    id: 'chain-injection',
    title: 'Pinned certificate injected into the chain (CVE-2016-2402)',
    attack: "sends its own chain plus the pinned intermediate, hoping pins are checked on what was served",
    control: "Node's fetch with the system trust store",
    expect: 'blocked',
    expectedCode: 'ERR_PIN_MISMATCH',
    fixHint: "check pins on the chain the validator built, never on the certificates the server sent (wirelock's createFetch does)",
    async stage(lab) {
      return attackerAtUrl(lab, lab.pki.serverOptions(lab.pki.compromised, lab.pki.legit.intermediate, lab.pki.legit.root), { env: publicStore(lab, lab.pki.compromised.root.pem) });
    },
  },
  {
    id: 'expired-certificate',
    title: 'Expired certificate',
    attack: 'serves an expired certificate of the real server (e.g. a leaked old key)',
    control: 'pins the key but skips chain validation (home-made pinning)',
    expect: 'blocked',
    expectedCode: 'ERR_CERT_EXPIRED',
    fixHint: "keep chain validation on when pinning: pins add to validation, they do not replace it",
    async stage(lab) {
      const leaf = issueLeaf(lab.pki.legit.intermediate, { hostnames: ['127.0.0.1', 'localhost'], notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
      return attackerAtUrl(lab, lab.pki.serverOptions({ leaf, intermediate: lab.pki.legit.intermediate }), { env: { ...publicStore(lab), WIRELOCK_LAB_PINS: lab.pki.legitPin }, weakness: 'pin-only' });
    },
  },
  {
    id: 'hostname-mismatch',
    title: 'Certificate for another host',
    attack: "presents a valid certificate issued for a different name (another of the CA's customers)",
    control: 'pins the key but skips chain validation (home-made pinning)',
    expect: 'blocked',
    expectedCode: 'ERR_CERT_HOSTNAME',
    fixHint: "keep hostname verification on when pinning: pins add to validation, they do not replace it",
    async stage(lab) {
      const leaf = issueLeaf(lab.pki.legit.intermediate, { hostnames: ['other.wirelock.test'] });
      return attackerAtUrl(lab, lab.pki.serverOptions({ leaf, intermediate: lab.pki.legit.intermediate }), { env: { ...publicStore(lab), WIRELOCK_LAB_PINS: lab.pki.legitPin }, weakness: 'pin-only' });
    },
  },
  {
    id: 'legacy-tls',
    title: 'TLS 1.0/1.1-only server (downgrade)',
    attack: 'offers only TLS 1.0 and 1.1 with weak ciphers',
    control: 'allows legacy TLS for compatibility (minVersion TLSv1)',
    expect: 'blocked',
    expectedCode: 'ERR_TLS_VERSION',
    fixHint: "require TLS 1.2 or newer (wirelock's default; curl --tlsv1.2; Python ssl.TLSVersion.TLSv1_2)",
    async stage(lab) {
      return attackerAtUrl(lab, { ...lab.pki.serverOptions(lab.pki.legit), minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }, { env: publicStore(lab), weakness: 'legacy-tls' });
    },
  },
  {
    id: 'cleartext',
    title: 'Cleartext HTTP',
    attack: 'sniffs an http:// request on the network',
    control: "Node's fetch",
    expect: 'blocked',
    expectedCode: 'ERR_CLEARTEXT_BLOCKED',
    fixHint: "send secrets over https:// only: wirelock refuses http:// (ERR_CLEARTEXT_BLOCKED); curl --proto =https",
    async stage(lab) {
      return attackerAtUrl(lab, {}, { env: publicStore(lab) });
    },
  },
  {
    id: 'https-downgrade-redirect',
    title: 'https -> http redirect (downgrade)',
    attack: 'makes the server redirect (307) to an http:// URL it sniffs',
    control: "Node's fetch (follows redirects)",
    expect: 'blocked',
    expectedCode: 'ERR_CLEARTEXT_BLOCKED',
    fixHint: "never follow a redirect from https to http: wirelock refuses it; curl --proto-redir =https",
    async stage(lab) {
      const attacker = await lab.startServer({});
      const origin = await legitOrigin(lab, (_req, res) => res.writeHead(307, { location: attacker.url('127.0.0.1', '/collect') }).end());
      return { url: origin.url('127.0.0.1', '/pay'), attacker, env: publicStore(lab) };
    },
  },
  {
    id: 'https-proxy',
    title: 'HTTPS_PROXY points at the attacker',
    attack: 'sets HTTPS_PROXY to its intercepting proxy and installs its CA',
    control: 'honours HTTPS_PROXY (undici EnvHttpProxyAgent), trusts the installed CA',
    expect: 'bypassed',
    fixHint: "do not take a proxy from the environment for pinned traffic, or pin so a proxy's CA is refused: createFetch ignores HTTPS_PROXY; curl --noproxy '*'",
    async stage(lab) {
      const proxy = await startInterceptingProxy(lab);
      return besideLegitOrigin(lab, proxy.attacker, { env: { ...publicStore(lab, lab.pki.rogue.root.pem), ...proxyEnv(proxy.url) }, weakness: 'env-proxy' });
    },
  },
  {
    id: 'reject-unauthorized-0',
    title: 'NODE_TLS_REJECT_UNAUTHORIZED=0 set at run time',
    attack: 'sets NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment and serves a rogue certificate',
    control: "Node's fetch",
    expect: 'blocked',
    expectedCode: 'ERR_CERT_UNTRUSTED',
    fixHint: "do not let the environment switch certificate checks off: wirelock ignores NODE_TLS_REJECT_UNAUTHORIZED; pin the server's keys",
    async stage(lab) {
      return attackerAtUrl(lab, lab.pki.serverOptions(lab.pki.rogue), { env: { ...publicStore(lab), NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
    },
  },
  {
    id: 'expired-pins',
    title: 'Expired pins (MASTG-TEST-0243)',
    attack: 'none: the pins expired and the server rotated keys; the app must keep working and say so',
    control: undefined,
    expect: 'allowed-with-report',
    expectedReport: 'pins-expired',
    builtinClientOnly: "the lab cannot see a foreign program's violation reports",
    async stage(lab) {
      const origin = await legitOrigin(lab);
      return { url: origin.url('127.0.0.1', '/pay'), attacker: origin, env: publicStore(lab), policy: 'expired-pins' };
    },
  },
  {
    id: 'mitmproxy',
    title: 'mitmproxy as HTTPS_PROXY, its CA user-installed',
    attack: 'a real mitmproxy (mitmdump) intercepts through HTTPS_PROXY with its CA installed',
    control: 'honours HTTPS_PROXY (undici EnvHttpProxyAgent), trusts the installed CA',
    expect: 'bypassed',
    requires: ['mitmdump'],
    fixHint: "do not take a proxy from the environment for pinned traffic, or pin so a proxy's CA is refused: createFetch ignores HTTPS_PROXY",
    async stage(lab) {
      const mitm = await startMitmproxy(lab, 'regular', 'proxy');
      return besideLegitOrigin(lab, mitm, { env: { ...publicStore(lab, readFileSync(mitm.caFile, 'utf8')), ...proxyEnv(mitm.url) }, weakness: 'env-proxy' });
    },
  },
  {
    id: 'mitmproxy-reverse',
    title: 'mitmproxy takes over the address, its CA user-installed',
    attack: 'a real mitmproxy (mitmdump, reverse mode) answers at the URL, as after DNS or ARP spoofing',
    control: "Node's fetch with the user's trust store",
    expect: 'blocked',
    expectedCode: 'ERR_CERT_UNTRUSTED',
    requires: ['mitmdump'],
    fixHint: "trust only the server's own CA and pin its keys: a Node app uses createFetch(await loadPolicy(process.env.WIRELOCK_POLICY)); curl --cacert \"$WIRELOCK_LAB_CA\" replaces the system store; a mobile build pins WIRELOCK_LAB_PINS (network_security_config / TrustKit)",
    async stage(lab) {
      const origin = await legitOrigin(lab);
      const mitm = await startMitmproxy(lab, { reverseTo: origin.url('127.0.0.1', '') }, 'reverse');
      return { url: `${mitm.url}/pay`, attacker: mitm, env: publicStore(lab, readFileSync(mitm.caFile, 'utf8')) };
    },
  },
  {
    id: 'ct-no-scts',
    title: 'Certificate with no SCTs (not logged)',
    attack: 'a trusted CA secretly issues it a certificate that was never logged',
    control: "Node's fetch with the system trust store",
    expect: 'blocked',
    expectedCode: 'ERR_CT_REQUIRED',
    fixHint: "require Certificate Transparency for the host (policy certificateTransparency.enforce) or pin its keys",
    stage: (lab) => unloggedCertificateAttack(lab, []),
  },
  {
    id: 'ct-unknown-log',
    title: 'SCTs from an unknown log',
    attack: "embeds valid SCTs from logs it runs itself, which are not in the app's log list",
    control: "Node's fetch with the system trust store",
    expect: 'blocked',
    expectedCode: 'ERR_CT_REQUIRED',
    fixHint: "require Certificate Transparency with a log list you ship (policy certificateTransparency) or pin its keys",
    stage: (lab) => unloggedCertificateAttack(lab, lab.ctLogs.unlisted),
  },
  {
    id: 'ct-forged-sct',
    title: 'Forged SCTs',
    attack: 'embeds SCTs that claim to come from the listed logs, with signatures it made itself',
    control: "Node's fetch with the system trust store",
    expect: 'blocked',
    expectedCode: 'ERR_CT_REQUIRED',
    fixHint: "verify SCT signatures against the log list (wirelock's certificateTransparency does) or pin the server's keys",
    stage: (lab) => unloggedCertificateAttack(lab, lab.ctLogs.listed, 'wrong-key'),
  },
  {
    id: 'hooked-tls-preload',
    title: 'Preload hooks tls.connect (NODE_OPTIONS)',
    attack: 'a --require preload in NODE_OPTIONS wraps tls.connect and copies plaintext to its server',
    control: "Node's fetch",
    expect: 'blocked',
    expectedCode: 'ERR_ENV_COMPROMISED',
    expectedFinding: 'hooked-api:tls.connect',
    fixHint: "start the program with `node --import wirelock/register` (lockdown): a preload that hooks tls.connect runs before createFetch and is only found by lockdown's inspection at start-up",
    async stage(lab) {
      const c2 = await lab.startServer({});
      return besideLegitOrigin(lab, c2, { env: { ...publicStore(lab), NODE_OPTIONS: `--require ${plantTlsHookPreload(lab, c2.port)}` }, lockdown: true });
    },
  },
  {
    id: 'hooked-fetch-dependency',
    title: 'Compromised dependency wraps fetch',
    attack: 'a dependency replaces globalThis.fetch and copies request bodies to its server',
    control: "Node's fetch",
    expect: 'blocked',
    expectedCode: 'ERR_ENV_COMPROMISED',
    expectedFinding: 'globalThis.fetch',
    builtinClientOnly: 'the lab cannot make your program load a compromised dependency',
    async stage(lab) {
      const c2 = await lab.startServer({});
      return besideLegitOrigin(lab, c2, { env: publicStore(lab), dependency: plantFetchWrappingDependency(lab, c2.port), lockdown: true });
    },
  },
  {
    id: 'dispatcher-swap-dependency',
    title: "Compromised dependency swaps fetch's dispatcher",
    attack: "a dependency points undici's global dispatcher at its intercepting proxy (its CA installed)",
    control: "Node's fetch",
    expect: 'blocked',
    expectedCode: 'ERR_ENV_COMPROMISED',
    expectedFinding: 'dispatcher-swapped:undici.globalDispatcher',
    builtinClientOnly: 'the lab cannot make your program load a compromised dependency',
    async stage(lab) {
      const proxy = await startInterceptingProxy(lab);
      return besideLegitOrigin(lab, proxy.attacker, { env: publicStore(lab, lab.pki.rogue.root.pem), dependency: plantDispatcherSwappingDependency(lab, proxy.url), lockdown: true });
    },
  },
  {
    id: 'ca-injection-dependency',
    title: "Compromised dependency adds its CA to https' global agent",
    attack: 'a dependency sets https.globalAgent.options.ca to include its CA, then answers at the URL',
    control: 'https.request with the global agent',
    expect: 'blocked',
    expectedCode: 'ERR_ENV_COMPROMISED',
    expectedFinding: 'ca-injected:https.globalAgent.options.ca',
    builtinClientOnly: 'the lab cannot make your program load a compromised dependency',
    stage: (lab) =>
      attackerAtUrl(lab, lab.pki.serverOptions(lab.pki.rogue), {
        env: publicStore(lab),
        dependency: plantCaInjectingDependency(lab, lab.pki.rogue.root.pem),
        lockdown: true,
        api: 'https',
      }),
  },
  {
    id: 'keylog-sniffing',
    title: 'Passive sniffing with leaked TLS keys (--tls-keylog)',
    attack: 'NODE_OPTIONS=--tls-keylog (and SSLKEYLOGFILE) make the app write its TLS keys; tcpdump captures loopback, tshark decrypts',
    control: "Node's fetch",
    expect: 'blocked',
    expectedCode: 'ERR_ENV_COMPROMISED',
    expectedFinding: 'tls-keylog',
    requires: ['tcpdump', 'tshark'],
    privilege: 'capture',
    fixHint: 'start the program with `node --import wirelock/register` (lockdown refuses to run while --tls-keylog writes the session keys out); never ship --tls-keylog or SSLKEYLOGFILE (curl, Python and OpenSSL honour it)',
    async stage(lab) {
      const origin = await legitOrigin(lab);
      const sniffer = await startSniffer(lab, origin.port, 'keylog-env');
      return {
        url: origin.url('127.0.0.1', '/pay'),
        attacker: sniffer,
        env: { ...publicStore(lab), NODE_OPTIONS: `--tls-keylog=${sniffer.keyLogFile}`, SSLKEYLOGFILE: sniffer.keyLogFile },
        lockdown: true,
      };
    },
  },
  {
    id: 'keylog-listener-dependency',
    title: 'Compromised dependency listens for TLS keys',
    attack: 'a dependency adds a "keylog" listener to https\' global agent and writes the keys out; tcpdump captures loopback, tshark decrypts',
    control: 'https.request with the global agent',
    expect: 'blocked',
    expectedCode: 'ERR_ENV_COMPROMISED',
    expectedFinding: 'tls-keylog',
    requires: ['tcpdump', 'tshark'],
    privilege: 'capture',
    builtinClientOnly: 'the lab cannot make your program load a compromised dependency',
    async stage(lab) {
      const origin = await legitOrigin(lab);
      const sniffer = await startSniffer(lab, origin.port, 'keylog-listener');
      return {
        url: origin.url('127.0.0.1', '/pay'),
        attacker: sniffer,
        env: publicStore(lab),
        dependency: plantKeylogListeningDependency(lab, sniffer.keyLogFile),
        lockdown: true,
        api: 'https',
      };
    },
  },
  {
    id: 'host-header-policy',
    title: 'Host header names an unpinned host',
    attack: `answers at the pinned address with a trusted certificate for ${UNPINNED_NAME}, which the request's Host header names, so a policy picked by Host has no pins`,
    control: 'https.request with the global agent',
    expect: 'blocked',
    expectedCode: 'ERR_SERVERNAME_MISMATCH',
    builtinClientOnly: 'the lab cannot make your program send a Host header it did not choose',
    fixHint: 'pick the policy by the host the connection goes to, never by the Host header or servername the request carries',
    stage: (lab) =>
      attackerAtUrl(lab, lab.pki.serverOptions(lab.pki.compromised), {
        env: publicStore(lab, lab.pki.compromised.root.pem),
        headers: { host: UNPINNED_NAME },
        api: 'https',
      }),
  },
  {
    id: 'dns-takeover',
    title: 'DNS takeover of the pinned name',
    attack: `${PINNED_NAME} resolves to the attacker, who holds a certificate for it from a CA the trust store accepts`,
    control: "Node's fetch with the system trust store",
    expect: 'blocked',
    expectedCode: 'ERR_PIN_MISMATCH',
    requires: ['unshare'],
    privilege: 'mount-namespace',
    fixHint: "pin the server's keys for its name (the policy in WIRELOCK_POLICY, or WIRELOCK_LAB_PINS in a mobile build): a name that resolves to the attacker then fails the pin check",
    async stage(lab) {
      // Another loopback address: the resolver, not the URL, sends the client to the attacker.
      const attacker = await lab.startServer({ ...lab.pki.serverOptions(lab.pki.compromised), host: '127.0.0.2' });
      return { url: `https://${PINNED_NAME}:${attacker.port}/pay`, attacker, hosts: { [PINNED_NAME]: attacker.host }, env: publicStore(lab, lab.pki.compromised.root.pem) };
    },
  },
  ...PROXY_SCENARIOS,
];
