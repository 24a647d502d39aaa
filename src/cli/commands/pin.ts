import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import { WirelockError } from '../../errors.js';
import { pinsFromFile, readCertificates, type KeyPinEntry } from '../../x509/certificate.js';
import { buildAnchorSet, buildVerifiedChains, toChainCertificate, type ChainCertificate } from '../../x509/chain.js';
import { trustMaterial } from '../../transport/trust.js';
import { EXIT, parseCommandArgs, type Command, type CommandIo } from '../command.js';
import { oneLine, palette, writeJson } from '../output.js';

type Role = 'leaf' | 'intermediate' | 'root' | 'key';

interface PinRow {
  role: Role;
  pin: string;
  subject?: string;
  issuer?: string;
  notAfter?: string;
}

const usage = `usage: wirelock pin <host[:port]> [--servername NAME] [--ca <pem>] [--format text|json]
       wirelock pin --cert <pem|der file> [--format text|json]

Prints the sha256/ SPKI pin of every certificate, leaf first, marked leaf/intermediate/root. For a
host, the chain shown is the verified one when it chains to Node's bundled roots (or --ca), else the
chain as served. JSON output carries a "pins" array ready to paste into wirelock.json.`;

function roleOf(index: number, subject: string | undefined, issuer: string | undefined): Role {
  if (index === 0) return subject !== undefined && subject === issuer ? 'root' : 'leaf';
  return subject === issuer ? 'root' : 'intermediate';
}

function parseTarget(target: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  const match = bracketed ?? (isIP(target) === 6 ? [target, target, undefined] : /^([^:]+)(?::(\d+))?$/.exec(target));
  if (!match) throw new WirelockError('ERR_USAGE', `"${target}" is not host[:port]`);
  const port = match[2] === undefined ? 443 : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new WirelockError('ERR_USAGE', `invalid port in "${target}"`);
  return { host: match[1]!, port };
}

async function fetchChain(host: string, port: number, servername: string | undefined): Promise<ChainCertificate[]> {
  return new Promise((resolvePromise, reject) => {
    // Verification is done by us below; here we only want to see what the server presents.
    const socket = tls.connect({ host, port, servername: servername ?? (isIP(host) ? undefined : host), rejectUnauthorized: false }, () => {
      const chain: ChainCertificate[] = [];
      const seen = new Set<string>();
      let current: PeerCertificate | undefined = socket.getPeerCertificate(true);
      while (current?.raw && !seen.has(current.fingerprint256)) {
        seen.add(current.fingerprint256);
        chain.push(toChainCertificate(new Uint8Array(current.raw)));
        const next: PeerCertificate | undefined = (current as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
        current = next;
      }
      socket.end();
      resolvePromise(chain);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`timeout connecting to ${host}:${port}`)));
    socket.once('error', (error) =>
      reject(new WirelockError('ERR_INPUT_INVALID', `cannot fetch the certificate chain of ${host}:${port}: ${error.message}`, { host, port })),
    );
  });
}

function print(io: CommandIo, rows: PinRow[], format: string, header: Record<string, unknown>): void {
  if (format === 'json') {
    writeJson(io, {
      ...header,
      certificates: rows,
      // A bare public key (a backup key) has no role we could know.
      pins: rows.map((row) => (row.role === 'key' ? { pin: row.pin } : { pin: row.pin, role: row.role === 'leaf' ? 'leaf' : 'ca' })),
    });
    return;
  }
  const c = palette(io);
  if (header.host) io.stdout.write(c.dim(`# ${header.host}:${header.port} (${header.verified ? 'verified chain' : 'chain as served, NOT verified'})\n`));
  for (const row of rows) {
    io.stdout.write(`${row.pin}  ${c.cyan(row.role.padEnd(12))} ${oneLine(row.subject) || '(public key)'}\n`);
  }
}

export const command: Command = {
  name: 'pin',
  summary: 'print the sha256/ SPKI pins of a server or a certificate file',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      servername: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      format: { type: 'string', default: 'text' },
    });
    if (values.format !== 'text' && values.format !== 'json') throw new WirelockError('ERR_USAGE', `--format must be text or json, not "${values.format}"`);
    if (values.cert) {
      if (positionals.length > 0) throw new WirelockError('ERR_USAGE', 'give either a host or --cert, not both');
      const file = resolve(io.cwd, values.cert);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (error) {
        throw new WirelockError('ERR_INPUT_INVALID', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, { file });
      }
      const entries: KeyPinEntry[] = pinsFromFile(bytes, file);
      const rows = entries.map((entry, index): PinRow => ({
        role: entry.subject === undefined ? 'key' : roleOf(index, entry.subject, entry.issuer),
        pin: entry.pin,
        ...(entry.subject ? { subject: oneLine(entry.subject), issuer: oneLine(entry.issuer) } : {}),
      }));
      print(io, rows, values.format, { file });
      return EXIT.OK;
    }
    if (positionals.length !== 1) throw new WirelockError('ERR_USAGE', 'expected exactly one <host[:port]>');
    const { host, port } = parseTarget(positionals[0]!);
    const served = await fetchChain(host, port, values.servername);
    const anchorsDer: Uint8Array[] = [...trustMaterial([{ kind: 'builtin' }]).anchors.der];
    if (values.ca) {
      const file = resolve(io.cwd, values.ca);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (error) {
        throw new WirelockError('ERR_INPUT_INVALID', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, { file });
      }
      anchorsDer.push(...readCertificates(bytes, file));
    }
    const verified = buildVerifiedChains(served, buildAnchorSet(anchorsDer), new Date());
    const chain = verified.ok ? verified.path : served;
    const rows = chain.map((cert, index): PinRow => ({
      role: index === chain.length - 1 && verified.ok && index > 0 ? 'root' : roleOf(index, cert.subject, cert.x509.issuer),
      pin: cert.pin,
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.x509.issuer),
      notAfter: new Date(cert.x509.validTo).toISOString(),
    }));
    print(io, rows, values.format, { host, port, verified: verified.ok, ...(verified.ok ? {} : { verifyError: verified.detail }) });
    return EXIT.OK;
  },
};
