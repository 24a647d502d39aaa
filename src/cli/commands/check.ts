import { WirelockError } from '../../errors.js';
// Registers the CT check with the engine this command builds itself.
import '../../ct/enforce.js';
import { listEmbeddedScts } from '../../ct/verifier.js';
import { findDomainPolicy } from '../../policy/match.js';
import { effectiveMode } from '../../transport/evaluate.js';
import { PolicyEngine, type HandshakeInfo } from '../../transport/engine.js';
import type { ViolationReport } from '../../transport/report.js';
import { EXIT, parseCommandArgs, type Command } from '../command.js';
import { oneLine, palette, writeJson } from '../output.js';
import { resolvePolicy } from '../policy-file.js';

const usage = `usage: wirelock check <https-url> [--policy <file>] [--json]

Runs a TLS handshake under the policy and sends no HTTP request. Prints the verified chain (subject,
issuer, validity and pin of each certificate), the policy domain that matched and the verdict.
Exit 0 allowed, 1 blocked, 2 usage or policy error.`;

/** CT as the handshake saw it: the full verdict when the policy configures CT, else the leaf's SCTs unverified. */
function ctSummary(handshake: HandshakeInfo | undefined): Record<string, unknown> | null {
  if (handshake?.ct) {
    const details = (handshake.ct.details.ct ?? {}) as Record<string, unknown>;
    return { configured: true, compliant: handshake.ct.compliant, listStale: handshake.ct.listStale, ...details };
  }
  const leaf = handshake?.verifiedPath[0] ?? handshake?.served[0];
  return leaf ? { configured: false, scts: listEmbeddedScts(leaf.der) } : null;
}

export const command: Command = {
  name: 'check',
  summary: 'handshake only: show the verified chain and whether the policy allows it',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { policy: { type: 'string' }, json: { type: 'boolean', default: false } });
    if (positionals.length !== 1) throw new WirelockError('ERR_USAGE', 'expected exactly one URL');
    let url: URL;
    try {
      url = new URL(positionals[0]!.includes('://') ? positionals[0]! : `https://${positionals[0]}`);
    } catch {
      throw new WirelockError('ERR_USAGE', `"${positionals[0]}" is not a URL`);
    }
    const policy = await resolvePolicy(values.policy, io, true);
    let handshake: HandshakeInfo | undefined;
    const reports: ViolationReport[] = [];
    // warnings off: this command prints every block and every report-only violation itself.
    const engine = new PolicyEngine(policy, { onHandshake: (info) => (handshake = info), onViolation: (report) => reports.push(report), warnings: false });
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port) || (url.protocol === 'http:' ? 80 : 443);
    let tlsVersion: string | null = null;
    let error = engine.checkDestination(url.protocol, host, port);
    if (!error) {
      error = await new Promise<WirelockError | undefined>((resolve) => {
        const socket = engine.connectTls({ host, port });
        socket.once('secureConnect', () => {
          tlsVersion = socket.getProtocol();
          socket.end();
          resolve(undefined);
        });
        socket.once('error', (failure) =>
          resolve(failure instanceof WirelockError ? failure : new WirelockError('ERR_INPUT_INVALID', `${host}:${port}: ${failure.message}`, { host, port, cause: (failure as NodeJS.ErrnoException).code })),
        );
      });
    }
    const matched = handshake ? handshake.domain : findDomainPolicy(engine.policy, host);
    const chain = (handshake?.verifiedPath.length ? handshake.verifiedPath : handshake?.served ?? []).map((cert) => ({
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.x509.issuer),
      notBefore: new Date(cert.x509.validFrom).toISOString(),
      notAfter: new Date(cert.x509.validTo).toISOString(),
      pin: cert.pin,
    }));
    const result = {
      url: url.href,
      host,
      port,
      allowed: !error,
      ...(error ? { code: error.code, message: error.message } : {}),
      // From the policy itself when the handshake was refused before wirelock's check saw it.
      mode: handshake?.mode ?? effectiveMode(engine.policy, matched),
      domain: matched?.name ?? null,
      tlsVersion,
      verified: Boolean(handshake?.verifiedPath.length),
      chain,
      certificateTransparency: ctSummary(handshake),
      reports: reports.map((report) => ({ kind: report.kind, code: report.code, message: report.message })),
    };
    if (values.json) {
      writeJson(io, result);
    } else {
      const c = palette(io);
      io.stdout.write(`${c.bold(url.href)}  policy domain: ${result.domain ?? '(none: global rules)'}  mode: ${result.mode}${tlsVersion ? `  ${tlsVersion}` : ''}\n`);
      chain.forEach((cert, index) => {
        io.stdout.write(`  ${index}. ${cert.subject}\n     issuer: ${cert.issuer}\n     valid: ${cert.notBefore} .. ${cert.notAfter}\n     pin: ${cert.pin}\n`);
      });
      if (handshake?.ct) {
        io.stdout.write(`  certificate transparency: ${handshake.ct.compliant ? c.green('compliant') : c.red('NOT compliant')}: ${handshake.ct.message}\n`);
      } else if (result.certificateTransparency) {
        const scts = result.certificateTransparency.scts as ReturnType<typeof listEmbeddedScts>;
        io.stdout.write(`  certificate transparency: not configured in the policy; ${scts.length} embedded SCT(s)${scts.length ? ' (not verified):' : ''}\n`);
        for (const sct of scts) io.stdout.write(`    [${sct.origin}] log ${sct.logId ?? '?'} ${sct.timestamp ?? sct.error ?? ''}\n`);
      }
      for (const report of reports.filter((r) => r.kind !== 'violation')) io.stdout.write(`  ${c.yellow('notice')}: ${report.message}\n`);
      const wouldBlock = reports.filter((r) => r.kind === 'violation' && !r.blocked);
      for (const report of wouldBlock) io.stdout.write(`${c.yellow('REPORT-ONLY')} enforce would block: ${report.code}: ${report.message}\n`);
      if (error) io.stdout.write(`${c.red('BLOCKED')} ${error.code}: ${error.message}\n`);
      else if (wouldBlock.length > 0) io.stdout.write(`${c.yellow('ALLOWED')} in report-only mode only: ${wouldBlock.length} violation(s) above; enforce mode would block this connection\n`);
      else io.stdout.write(`${c.green('ALLOWED')}\n`);
    }
    return error ? EXIT.FINDINGS : EXIT.OK;
  },
};
