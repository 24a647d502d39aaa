import { WirelockError } from '../../errors.js';
import { createFetch } from '../../transport/fetch.js';
import type { ViolationReport } from '../../transport/report.js';
import { EXIT, parseCommandArgs, type Command } from '../command.js';
import { writeJson } from '../output.js';
import { resolvePolicy } from '../policy-file.js';

const usage = `usage: wirelock fetch <url> --policy <file> [-X METHOD] [-H "name: value"]... [-d DATA] [--json]

curl-like request under the policy; prints the response body. With --json prints one object:
{"ok":true,"status":200,"headers":{...},"body":"...","reports":[...]} (reports: report-only
violations and notices) or
{"ok":false,"code":"ERR_...","message":"...","host":"...","port":443}.
Exit 0 allowed (whatever the HTTP status), 1 blocked or failed, 2 usage or policy error.
The policy defaults to $WIRELOCK_POLICY, then ./wirelock.json.`;

export const command: Command = {
  name: 'fetch',
  summary: 'make an HTTP request under the policy (curl-like)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      policy: { type: 'string' },
      request: { type: 'string', short: 'X' },
      header: { type: 'string', short: 'H', multiple: true },
      data: { type: 'string', short: 'd' },
      json: { type: 'boolean', default: false },
    });
    if (positionals.length !== 1) throw new WirelockError('ERR_USAGE', 'expected exactly one URL');
    const policy = await resolvePolicy(values.policy, io, false);
    if (!policy) throw new WirelockError('ERR_USAGE', 'no policy: pass --policy <file>, set WIRELOCK_POLICY, or create ./wirelock.json');
    const headers: Array<[string, string]> = (values.header ?? []).map((header) => {
      const colon = header.indexOf(':');
      if (colon <= 0) throw new WirelockError('ERR_USAGE', `header "${header}" is not "name: value"`);
      return [header.slice(0, colon).trim(), header.slice(colon + 1).trim()];
    });
    const method = values.request ?? (values.data !== undefined ? 'POST' : 'GET');
    // warnings off: this command prints blocks, report-only violations and notices itself.
    const reports: ViolationReport[] = [];
    const wirelockFetch = createFetch(policy, { warnings: false, onViolation: (report) => reports.push(report) });
    const unblocked = () => reports.filter((report) => !report.blocked).map((report) => ({ kind: report.kind, code: report.code, message: report.message }));
    const showUnblocked = () => {
      for (const report of unblocked()) {
        io.stderr.write(report.kind === 'violation' ? `wirelock fetch: report-only, enforce mode would block: ${report.code}: ${report.message}\n` : `wirelock fetch: notice: ${report.message}\n`);
      }
    };
    try {
      const response = await wirelockFetch(positionals[0]!, { method, headers, ...(values.data !== undefined ? { body: values.data } : {}) });
      const body = await response.text();
      if (values.json) writeJson(io, { ok: true, status: response.status, headers: Object.fromEntries(response.headers), body, reports: unblocked() });
      else {
        showUnblocked();
        io.stdout.write(body);
      }
      return EXIT.OK;
    } catch (error) {
      if (error instanceof TypeError && /Invalid URL|Failed to parse URL/i.test(error.message)) throw new WirelockError('ERR_USAGE', `"${positionals[0]}" is not a URL`);
      const other = error as Error & { cause?: { code?: string; message?: string } };
      const code = error instanceof WirelockError ? error.code : other.cause?.code ?? 'ERR_REQUEST_FAILED';
      const message = error instanceof WirelockError ? error.message : other.cause?.message ?? other.message;
      const where = error instanceof WirelockError ? { host: error.host ?? null, port: error.port ?? null } : { host: null, port: null };
      if (values.json) writeJson(io, { ok: false, code, message, ...where });
      else io.stderr.write(`wirelock fetch: ${code}: ${message}\n`);
      return EXIT.FINDINGS;
    } finally {
      await wirelockFetch.dispatcher.close();
    }
  },
};
