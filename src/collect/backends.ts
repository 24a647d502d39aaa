import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { WirelockError } from '../errors.js';
import { migrate, type SqlClient } from './store.js';

/**
 * Opens the store named by `--db`: a folder (embedded PGlite, no service to run) or a
 * postgres:// URL (a real server through `pg`). Both drivers are optional peer dependencies,
 * imported only here, so the enforcement core never loads them.
 */
export async function openStore(target: string): Promise<SqlClient> {
  const db = /^postgres(?:ql)?:\/\//i.test(target) ? await openPostgres(target) : await openEmbedded(target);
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw new WirelockError('ERR_COLLECT', `cannot prepare the database ${redact(target)}: ${(error as Error).message}`, { db: redact(target) }, { cause: error });
  }
  return db;
}

/** A database URL without its password, for every message and log line. */
export function redact(target: string): string {
  return target.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}

async function optional<T>(name: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new WirelockError('ERR_COLLECT', `wirelock collect needs the optional package ${name}: npm install ${name}`, { package: name });
    }
    throw error;
  }
}

async function openEmbedded(dir: string): Promise<SqlClient> {
  const path = resolve(dir);
  mkdirSync(path, { recursive: true });
  const { PGlite } = await optional<typeof import('@electric-sql/pglite')>('@electric-sql/pglite');
  let pg: InstanceType<typeof PGlite>;
  try {
    pg = await PGlite.create(path);
  } catch (error) {
    throw new WirelockError('ERR_COLLECT', `cannot open the embedded database in ${path}: ${(error as Error).message} (is another collector using it?)`, { file: path }, { cause: error });
  }
  return {
    kind: 'embedded',
    query: async (sql, params) => (await pg.query(sql, params)) as never,
    transaction: (fn) => pg.transaction((tx) => fn({ query: async (sql, params) => (await tx.query(sql, params)) as never })),
    close: () => pg.close(),
  };
}

async function openPostgres(url: string): Promise<SqlClient> {
  const { default: pg } = await optional<{ default: typeof import('pg') }>('pg');
  // Room for the batch commits in flight (DEFAULT_LIMITS.commitsInFlight) and the read side next to them.
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  // An idle client that loses its server must not crash the collector: the next query reports it.
  pool.on('error', () => {});
  try {
    await pool.query('select 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new WirelockError('ERR_COLLECT', `cannot reach PostgreSQL at ${redact(url)}: ${(error as Error).message}`, { db: redact(url) }, { cause: error });
  }
  // Every statement the collector runs is a constant text: each is prepared once per connection (named), so a
  // batch insert is not parsed and planned again for every commit.
  const names = new Map<string, string>();
  const named = (sql: string) => {
    let name = names.get(sql);
    if (name === undefined) names.set(sql, (name = `wirelock_${names.size}`));
    return name;
  };
  return {
    kind: 'postgres',
    query: async (sql, params) => (await pool.query({ name: named(sql), text: sql, values: params as unknown[] })) as never,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await fn({ query: async (sql, params) => (await client.query(sql, params as unknown[])) as never });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
