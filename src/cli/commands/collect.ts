import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WirelockError } from '../../errors.js';
import { loadPolicy } from '../../policy/define.js';
import { EXIT, parseCommandArgs, type Command } from '../command.js';

const usage = `usage: wirelock collect [--listen 127.0.0.1:8787] [--db <dir | postgres://...>] [--token <t>]
                        [--cert <pem> --key <pem>] [--policy <file>] [--retention-days N]

Receives the violation reports apps POST to their policy's report.uri (wirelock's reports, lockdown's
runtime findings, TrustKit's native reports) at POST /api/reports, stores them (an embedded PostgreSQL
in --db <dir>, default ./wirelock-collect; or a PostgreSQL server at --db postgres://...) and serves a
dashboard at / with a JSON API (/api/reports, /api/summary, /api/hosts/<host>) and CSV exports.
The read side needs --token (or WIRELOCK_COLLECT_TOKEN) unless bound to loopback; plain HTTP is for
loopback only (give --cert/--key elsewhere). --policy compares the chains seen with the policy's pins.
Runs until interrupted. Exit 2 on a usage or database error.`;

function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:]+)):(\d{1,5})$/i.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535) throw new WirelockError('ERR_USAGE', `--listen "${value}": expected host:port, e.g. 127.0.0.1:8787`);
  return { host: match[1] || match[2] || '127.0.0.1', port };
}

export const command: Command = {
  name: 'collect',
  summary: 'report collector and fleet dashboard',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      listen: { type: 'string', default: '127.0.0.1:8787' },
      db: { type: 'string' },
      token: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      policy: { type: 'string' },
      'retention-days': { type: 'string', default: '30' },
    });
    if (positionals.length > 0) throw new WirelockError('ERR_USAGE', `unexpected argument ${positionals[0]}`);
    if (Boolean(values.cert) !== Boolean(values.key)) throw new WirelockError('ERR_USAGE', '--cert and --key go together');
    const retentionDays = Number(values['retention-days']);
    if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new WirelockError('ERR_USAGE', '--retention-days: a whole number of days, at least 1');
    const readPem = (file: string) => {
      try {
        return readFileSync(resolve(io.cwd, file));
      } catch (error) {
        throw new WirelockError('ERR_USAGE', `cannot read ${file}: ${(error as Error).message}`, { file });
      }
    };
    const { startCollector } = await import('../../collect/server.js');
    const { redact } = await import('../../collect/backends.js');
    const db = values.db ?? resolve(io.cwd, 'wirelock-collect');
    const collector = await startCollector({
      db: /^postgres(ql)?:\/\//i.test(db) ? db : resolve(io.cwd, db),
      ...parseListen(values.listen),
      token: values.token ?? io.env.WIRELOCK_COLLECT_TOKEN,
      tls: values.cert ? { cert: readPem(values.cert), key: readPem(values.key!) } : undefined,
      policy: values.policy ? await loadPolicy(resolve(io.cwd, values.policy)) : undefined,
      retentionDays,
    });
    io.stdout.write(`wirelock collect: listening on ${collector.url} (store: ${collector.store.kind} ${redact(db)})\n`);
    io.stdout.write(`  POST ${collector.url}/api/reports   dashboard ${collector.url}/\n`);
    await new Promise<void>((done) => {
      const stop = () => void collector.close().finally(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return EXIT.OK;
  },
};
