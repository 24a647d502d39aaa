import { WirelockError } from '../../errors.js';
import { SEVERITIES, severityRank, type Severity } from '../../runtime/findings.js';
import { inspectEnvironment } from '../../runtime/inspect.js';
import { EXIT, parseCommandArgs, type Command, type CommandIo } from '../command.js';
import { palette, writeJson } from '../output.js';

const usage = `usage: wirelock env [--json] [--allow NAME]... [--trusted-ca sha256/PIN]... [--proxy URL]...
                    [--fail-on info|low|medium|high|critical]

Inspects this process's runtime for anything that can read or redirect network traffic before TLS:
preloads (also ones hidden from NODE_OPTIONS or execArgv), module loader redirection, hooked
http/https/tls/net/fetch functions, a swapped undici dispatcher, extra or system CAs,
NODE_TLS_REJECT_UNAUTHORIZED, proxy variables, the inspector, TLS key logging, LD_PRELOAD,
injected libraries and tracers. Run it where the app runs (same environment, same NODE_OPTIONS),
e.g. as a container entrypoint check: \`wirelock env --fail-on high && node app.js\`.

  --allow NAME        known benign hooker (opentelemetry, datadog, newrelic, elastic-apm, sentry,
                      nock, msw, undici-mock, global-agent, tsx); repeatable
  --trusted-ca PIN    a CA allowed in NODE_EXTRA_CA_CERTS or injected lists; repeatable
  --proxy URL         a proxy allowed in HTTPS_PROXY and friends; repeatable
  --fail-on SEVERITY  exit 1 when a finding at or above it is not allow-listed (default medium)

Exit: 0 clean, 1 findings at or above --fail-on, 2 usage error.`;

const MARKS: Record<Severity, string> = { critical: 'CRIT', high: 'HIGH', medium: 'MED ', low: 'LOW ', info: 'INFO' };

async function run(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    allow: { type: 'string', multiple: true },
    'trusted-ca': { type: 'string', multiple: true },
    proxy: { type: 'string', multiple: true },
    'fail-on': { type: 'string' },
  });
  if (positionals.length > 0) throw new WirelockError('ERR_USAGE', `unexpected argument ${positionals[0]}`);
  const failOn = (values['fail-on'] ?? 'medium') as Severity;
  if (!SEVERITIES.includes(failOn)) throw new WirelockError('ERR_USAGE', `--fail-on must be one of ${SEVERITIES.join(', ')}`);
  for (const pin of values['trusted-ca'] ?? []) {
    if (!/^sha256\/[A-Za-z0-9+/]{43}=$/.test(pin)) throw new WirelockError('ERR_USAGE', `--trusted-ca ${pin}: not a sha256/ pin`);
  }
  const report = await inspectEnvironment({
    allow: {
      ...(values.allow ? { hookers: values.allow.flatMap((name) => name.split(',')) } : {}),
      ...(values['trusted-ca'] ? { trustedCas: values['trusted-ca'] } : {}),
      ...(values.proxy ? { proxies: values.proxy } : {}),
    },
  });
  const failing = report.findings.filter((finding) => finding.allowedBy === undefined && severityRank(finding.severity) >= severityRank(failOn));
  const code = failing.length > 0 ? EXIT.FINDINGS : EXIT.OK;
  if (values.json) {
    writeJson(io, { ...report, failOn, clean: failing.length === 0 });
    return code;
  }
  const color = palette(io);
  const paint = (severity: Severity): ((text: string) => string) =>
    severity === 'critical' || severity === 'high' ? color.red : severity === 'medium' ? color.yellow : color.dim;
  if (report.findings.length === 0) io.stdout.write(`${color.green('clean')}: no finding\n`);
  for (const finding of report.findings) {
    io.stdout.write(`${paint(finding.severity)(MARKS[finding.severity])} ${color.bold(finding.key)}  ${finding.title}${finding.allowedBy ? color.dim(` (allowed: ${finding.allowedBy})`) : ''}\n`);
    const evidence = JSON.stringify(finding.evidence);
    io.stdout.write(`     evidence: ${evidence.length > 400 ? `${evidence.slice(0, 400)}...` : evidence}\n`);
    if (!finding.allowedBy) io.stdout.write(`     fix: ${finding.fix}\n`);
  }
  for (const limit of report.limits) io.stdout.write(`${color.dim(`not checked: ${limit}`)}\n`);
  io.stdout.write(`${failing.length} finding(s) at or above ${failOn}; ${report.findings.length} in total (${report.node}, ${report.platform})\n`);
  return code;
}

export const command: Command = { name: 'env', summary: 'inspect the runtime for hooked network APIs and trust tampering', usage, run };
