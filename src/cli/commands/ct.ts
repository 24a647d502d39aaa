import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WirelockError } from '../../errors.js';
import { listAgeDays, readLogListFiles, sctJson } from '../../ct/enforce.js';
import { CtVerifier, findIssuer } from '../../ct/verifier.js';
import { readCertificates } from '../../x509/certificate.js';
import { EXIT, parseCommandArgs, type Command, type CommandIo } from '../command.js';
import { oneLine, palette, writeJson } from '../output.js';
import { resolvePolicy } from '../policy-file.js';
import { X509Certificate } from 'node:crypto';

const usage = `usage: wirelock ct <chain.pem> [--log-list <json>] [--log-list-key <pem>] [--at <ISO time>]
                   [--policy chrome|apple] [--min-scts N] [--ocsp <der>] [--json]

Offline Certificate Transparency check of a chain file (leaf first, then its issuer): every SCT
(embedded, and stapled in --ocsp) is verified against the log list and the CT policy is applied at
--at (default now). With --log-list-key the list's detached signature (<json>.sig, or Google's <name>.sig next to
<name>.json) must verify.
Without --log-list, the certificateTransparency settings of ./wirelock.json ($WIRELOCK_POLICY) are
used; wirelock ships no log list of its own for enforcement.
Exit 0 compliant, 1 not compliant, 2 usage or input error.`;

function readInput(io: CommandIo, path: string): { file: string; bytes: Uint8Array } {
  const file = resolve(io.cwd, path);
  try {
    return { file, bytes: new Uint8Array(readFileSync(file)) };
  } catch (error) {
    throw new WirelockError('ERR_INPUT_INVALID', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file });
  }
}

export const command: Command = {
  name: 'ct',
  summary: 'verify the SCTs of a certificate chain file against a log list (offline)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      'log-list': { type: 'string' },
      'log-list-key': { type: 'string' },
      at: { type: 'string' },
      policy: { type: 'string' },
      'min-scts': { type: 'string' },
      ocsp: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (positionals.length !== 1) throw new WirelockError('ERR_USAGE', 'expected exactly one chain file (PEM, leaf first)');
    const policyName = values.policy ?? undefined;
    if (policyName !== undefined && policyName !== 'chrome' && policyName !== 'apple') {
      throw new WirelockError('ERR_USAGE', `--policy must be chrome or apple, not "${policyName}"`);
    }
    let at = new Date();
    if (values.at !== undefined) {
      at = new Date(values.at);
      if (!/^\d{4}-\d{2}-\d{2}/.test(values.at) || Number.isNaN(at.getTime())) throw new WirelockError('ERR_USAGE', `--at must be an ISO 8601 time, not "${values.at}"`);
    }
    let minScts: number | undefined;
    if (values['min-scts'] !== undefined) {
      minScts = Number(values['min-scts']);
      if (!Number.isInteger(minScts) || minScts < 1) throw new WirelockError('ERR_USAGE', `--min-scts must be an integer >= 1, not "${values['min-scts']}"`);
    }

    // The list: from the command line, else from the policy file's top-level CT settings.
    let logListPath = values['log-list'] ? resolve(io.cwd, values['log-list']) : undefined;
    let logListKeyPath = values['log-list-key'] ? resolve(io.cwd, values['log-list-key']) : undefined;
    let configured: { policy: 'chrome' | 'apple'; minScts: number | undefined; maxListAgeDays: number } | undefined;
    if (!logListPath) {
      const config = (await resolvePolicy(undefined, io, false))?.certificateTransparency;
      if (!config?.logList) {
        throw new WirelockError('ERR_USAGE', 'no log list: pass --log-list <json> (or set certificateTransparency.logList in wirelock.json); wirelock ships none for enforcement');
      }
      logListPath = config.logList;
      logListKeyPath ??= config.logListKey;
      configured = config;
    }
    const policy = policyName ?? configured?.policy ?? 'chrome';
    minScts ??= configured?.minScts;
    const maxListAgeDays = configured?.maxListAgeDays ?? 70;

    const { file, bytes } = readInput(io, positionals[0]!);
    const certificates = readCertificates(bytes, file);
    const leaf = certificates[0]!;
    const issuer = findIssuer(leaf, certificates.slice(1));
    const ocspResponse = values.ocsp ? readInput(io, values.ocsp).bytes : undefined;
    const list = readLogListFiles(logListPath, logListKeyPath);
    const evaluation = new CtVerifier(list).evaluate({ leaf, issuer, ocspResponse }, at, { policy, minScts });
    const age = listAgeDays(list, at);
    const result = {
      compliant: evaluation.compliant,
      policy,
      scts: evaluation.scts.map(sctJson),
      failures: evaluation.result.failures,
      required: evaluation.result.required,
      at: at.toISOString(),
      certificate: { subject: oneLine(new X509Certificate(leaf).subject), issuerFound: issuer !== undefined },
      logList: {
        file: logListPath,
        version: list.version,
        signatureVerified: logListKeyPath !== undefined,
        timestamp: list.timestamp?.toISOString() ?? null,
        ageDays: age === undefined ? null : Math.floor(age),
        stale: age === undefined || age > maxListAgeDays,
      },
    };
    if (values.json) {
      writeJson(io, result);
    } else {
      const c = palette(io);
      io.stdout.write(`${c.bold(result.certificate.subject)}  policy: ${policy}  at: ${result.at}\n`);
      io.stdout.write(c.dim(`log list ${list.version} (${logListPath})${logListKeyPath ? ', signature verified' : ', signature NOT verified (no --log-list-key)'}${result.logList.stale ? `, STALE (${result.logList.ageDays ?? '?'} days)` : ''}\n`));
      if (!issuer && certificates.length > 0) io.stdout.write(`${c.yellow('warning')}: no certificate in the file issued the leaf; embedded SCTs cannot be verified\n`);
      if (evaluation.scts.length === 0) io.stdout.write('  no SCTs\n');
      for (const sct of result.scts) {
        const mark = sct.status === 'valid' ? c.green(String(sct.status)) : c.red(String(sct.status));
        const signature = sct.status !== 'valid' && sct.signatureValid === true ? ' (signature valid)' : '';
        io.stdout.write(`  [${sct.origin}] ${sct.logName ?? sct.logId ?? '?'}${sct.operator ? ` (${sct.operator})` : ''} ${sct.timestamp ?? ''}: ${mark}${signature}: ${sct.reason}\n`);
      }
      io.stdout.write(evaluation.compliant ? `${c.green('COMPLIANT')} with the ${policy} CT policy\n` : `${c.red('NOT COMPLIANT')} with the ${policy} CT policy: ${result.failures.join('; ')}\n`);
    }
    return evaluation.compliant ? EXIT.OK : EXIT.FINDINGS;
  },
};
