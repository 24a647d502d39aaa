import type { CollectedReport } from './reports.js';

/**
 * The collector's storage in one SQL dialect: PostgreSQL's, spoken by both backends (PGlite, which is
 * PostgreSQL compiled to WebAssembly, and a real server through `pg`). Every statement is
 * parameterized: report fields are attacker-chosen and never become SQL text.
 */
export interface SqlClient {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** Runs `fn` in one transaction on one connection. */
  transaction<T>(fn: (client: Pick<SqlClient, 'query'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly kind: 'embedded' | 'postgres';
}

/** Versioned, append-only: a released migration is never edited, the next change is a new entry. */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'reports, daily aggregates, chains',
    sql: `
create table reports (
  id bigserial primary key,
  dedup_key text not null unique,
  received_at timestamptz not null default now(),
  reported_at timestamptz,
  format text not null,
  kind text not null,
  app_id text not null,
  app_version text not null,
  app_platform text not null,
  client_id text,
  host text not null,
  port integer,
  noted_host text,
  code text not null,
  mode text,
  blocked boolean,
  message text not null,
  chain_key text not null,
  served_chain jsonb not null,
  validated_chain jsonb not null,
  known_pins jsonb not null,
  details jsonb
);
create index reports_received on reports (received_at desc);
create index reports_host_received on reports (host, received_at desc);
-- Aggregates outlive the raw reports' retention: the fleet's history stays when the bodies go.
create table daily (
  day date not null,
  app_id text not null,
  app_version text not null,
  host text not null,
  code text not null,
  chain_key text not null,
  reports bigint not null,
  primary key (day, app_id, app_version, host, code, chain_key)
);
create table chains (
  chain_key text primary key,
  chain jsonb not null,
  first_seen timestamptz not null,
  last_seen timestamptz not null
);`,
  },
  {
    version: 2,
    name: 'chains stored once, aggregates folded off the ingest path',
    sql: `
-- A report refers to its chains by key (each distinct chain is stored once in chains); rows written before
-- this migration keep their own copy, which the read side prefers.
alter table reports alter column served_chain drop not null;
alter table reports alter column validated_chain drop not null;
alter table reports add column served_key text;
alter table reports add column validated_key text;
-- Ingest appends each batch's counts here instead of updating daily in the same transaction: concurrent
-- commits of reports for the same host and day would otherwise queue on one daily row and never share a
-- WAL flush. foldAggregates moves them into daily; the read side adds both.
create table daily_pending (
  day date not null,
  app_id text not null,
  app_version text not null,
  host text not null,
  code text not null,
  chain_key text not null,
  reports bigint not null,
  last_seen timestamptz not null
);`,
  },
];

const MIGRATION_LOCK = 0x77697265; // "wire": serializes concurrent collectors migrating one database

export async function migrate(db: SqlClient): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await tx.query('create table if not exists wirelock_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())');
    const { rows } = await tx.query<{ version: number }>('select version from wirelock_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const ran: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean)) await tx.query(statement);
      await tx.query('insert into wirelock_migrations (version, name) values ($1, $2)', [migration.version, migration.name]);
      ran.push(migration.version);
    }
    return ran;
  });
}

/**
 * Stores a batch in one statement (so one commit acknowledges them all): the chains not stored yet, the raw
 * rows (referring to their chains by key), and the batch's counts for the daily aggregates from exactly the
 * rows that were new. Resent duplicates change nothing. Returns how many were new.
 *
 * `storedChains` holds the keys of chains known to be committed already (this process wrote or saw them):
 * their PEM text is not sent again. Keys are added only after the commit that stored them returned.
 */
export async function insertReports(db: Pick<SqlClient, 'query'>, reports: CollectedReport[], storedChains?: Set<string>): Promise<number> {
  if (reports.length === 0) return 0;
  const chains = new Map<string, string[]>();
  const rows = reports.map((r) => {
    if (r.servedKey !== null && !storedChains?.has(r.servedKey)) chains.set(r.servedKey, r.servedChain);
    if (r.validatedKey !== null && !storedChains?.has(r.validatedKey)) chains.set(r.validatedKey, r.validatedChain);
    return {
      dedup_key: r.dedupKey, reported_at: r.reportedAt, format: r.format, kind: r.kind, app_id: r.appId, app_version: r.appVersion,
      app_platform: r.appPlatform, client_id: r.clientId, host: r.host, port: r.port, noted_host: r.notedHost, code: r.code, mode: r.mode,
      blocked: r.blocked, message: r.message, chain_key: r.chainKey, served_key: r.servedKey, validated_key: r.validatedKey,
      known_pins: r.knownPins, details: r.details,
    };
  });
  const { rows: result } = await db.query<{ inserted: number }>(
    `with input as (
       select * from json_to_recordset($1::json) as x(
         dedup_key text, reported_at timestamptz, format text, kind text, app_id text, app_version text, app_platform text,
         client_id text, host text, port integer, noted_host text, code text, mode text, blocked boolean, message text,
         chain_key text, served_key text, validated_key text, known_pins jsonb, details jsonb)
     ), new_chains as (
       insert into chains (chain_key, chain, first_seen, last_seen)
       select key, chain, now(), now() from json_to_recordset($2::json) as c(key text, chain jsonb)
       order by key
       on conflict (chain_key) do nothing
     ), ins as (
       insert into reports (dedup_key, reported_at, format, kind, app_id, app_version, app_platform, client_id, host, port,
         noted_host, code, mode, blocked, message, chain_key, served_key, validated_key, known_pins, details)
       select dedup_key, reported_at, format, kind, app_id, app_version, app_platform, client_id, host, port,
         noted_host, code, mode, blocked, message, chain_key, served_key, validated_key, known_pins, details from input
       -- One lock order for every batch: concurrent commits wait for each other instead of deadlocking.
       order by dedup_key
       on conflict (dedup_key) do nothing
       returning received_at, app_id, app_version, host, code, chain_key
     ), pending as (
       insert into daily_pending (day, app_id, app_version, host, code, chain_key, reports, last_seen)
       select (received_at at time zone 'UTC')::date, app_id, app_version, host, code, chain_key, count(*), max(received_at) from ins
       group by 1, 2, 3, 4, 5, 6
     )
     select count(*)::int as inserted from ins`,
    [JSON.stringify(rows), JSON.stringify([...chains].map(([key, chain]) => ({ key, chain })))],
  );
  if (storedChains) {
    // Bounded: chains are attacker-chosen. Forgetting a key only means sending its chain once more.
    if (storedChains.size > 10_000) storedChains.clear();
    for (const key of chains.keys()) storedChains.add(key);
  }
  return Number(result[0]?.inserted ?? 0);
}

const FOLD_LOCK = 0x666f6c64; // "fold": one collector folds at a time, the others skip

/**
 * Moves the pending counts into daily (and each chain's last sighting into chains), in one statement. Runs
 * off the ingest path (a timer, retention, shutdown); a fold already running elsewhere makes this one a no-op.
 * Returns how many pending rows were folded.
 */
export async function foldAggregates(db: Pick<SqlClient, 'query'>): Promise<number> {
  const { rows } = await db.query<{ folded: number }>(
    `with lock as (select pg_try_advisory_xact_lock(${FOLD_LOCK}) as held),
     moved as (delete from daily_pending where (select held from lock) returning *),
     agg as (
       insert into daily (day, app_id, app_version, host, code, chain_key, reports)
       select day, app_id, app_version, host, code, chain_key, sum(reports) from moved
       group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6
       on conflict (day, app_id, app_version, host, code, chain_key) do update set reports = daily.reports + excluded.reports
     ), seen as (
       update chains set last_seen = m.last_seen
       from (select chain_key, max(last_seen) as last_seen from moved group by chain_key) m
       where chains.chain_key = m.chain_key and chains.last_seen < m.last_seen
     )
     select count(*)::int as folded from moved`,
  );
  return Number(rows[0]?.folded ?? 0);
}

export interface ReportQuery {
  host?: string | undefined;
  code?: string | undefined;
  since?: string | undefined;
  limit?: number | undefined;
}

export interface StoredReport {
  id: number;
  receivedAt: string;
  reportedAt: string | null;
  format: string;
  kind: string;
  appId: string;
  appVersion: string;
  appPlatform: string;
  clientId: string | null;
  host: string;
  port: number | null;
  notedHost: string | null;
  code: string;
  mode: string | null;
  blocked: boolean | null;
  message: string;
  chainKey: string;
  servedChain: string[];
  validatedChain: string[];
  knownPins: string[];
  details: unknown;
}

// Rows from before migration 2 carry their chains; later rows refer to the chains table.
const REPORT_COLUMNS = `r.id::float8 as id, r.received_at, r.reported_at, r.format, r.kind, r.app_id, r.app_version, r.app_platform, r.client_id,
  r.host, r.port, r.noted_host, r.code, r.mode, r.blocked, r.message, r.chain_key,
  coalesce(r.served_chain, sc.chain, '[]'::jsonb) as served_chain, coalesce(r.validated_chain, vc.chain, '[]'::jsonb) as validated_chain,
  r.known_pins, r.details`;
const REPORT_FROM = `reports r left join chains sc on sc.chain_key = r.served_key left join chains vc on vc.chain_key = r.validated_key`;

function toStored(row: Record<string, unknown>): StoredReport {
  const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : value === null ? null : new Date(String(value)).toISOString());
  const json = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);
  return {
    id: Number(row.id), receivedAt: iso(row.received_at)!, reportedAt: iso(row.reported_at), format: String(row.format), kind: String(row.kind),
    appId: String(row.app_id), appVersion: String(row.app_version), appPlatform: String(row.app_platform), clientId: (row.client_id as string | null) ?? null,
    host: String(row.host), port: row.port === null ? null : Number(row.port), notedHost: (row.noted_host as string | null) ?? null, code: String(row.code),
    mode: (row.mode as string | null) ?? null, blocked: (row.blocked as boolean | null) ?? null, message: String(row.message), chainKey: String(row.chain_key),
    servedChain: json(row.served_chain) as string[], validatedChain: json(row.validated_chain) as string[], knownPins: json(row.known_pins) as string[],
    details: json(row.details) ?? null,
  };
}

export async function listReports(db: Pick<SqlClient, 'query'>, query: ReportQuery): Promise<StoredReport[]> {
  const { rows } = await db.query(
    `select ${REPORT_COLUMNS} from ${REPORT_FROM}
     where ($1::text is null or r.host = $1) and ($2::text is null or r.code = $2) and ($3::timestamptz is null or r.received_at >= $3)
     order by r.received_at desc, r.id desc limit $4`,
    [query.host ?? null, query.code ?? null, query.since ?? null, Math.min(Math.max(query.limit ?? 100, 1), 1000)],
  );
  return rows.map(toStored);
}

export async function getReport(db: Pick<SqlClient, 'query'>, id: number): Promise<StoredReport | undefined> {
  const { rows } = await db.query(`select ${REPORT_COLUMNS} from ${REPORT_FROM} where r.id = $1`, [id]);
  return rows[0] ? toStored(rows[0]) : undefined;
}

export interface DailyRow {
  day: string;
  appId: string;
  appVersion: string;
  host: string;
  code: string;
  chainKey: string;
  reports: number;
}

export async function dailyAggregates(db: Pick<SqlClient, 'query'>, sinceDay: string, host?: string): Promise<DailyRow[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `select to_char(day, 'YYYY-MM-DD') as day, app_id, app_version, host, code, chain_key, sum(reports)::float8 as reports from (
       select day, app_id, app_version, host, code, chain_key, reports from daily
       union all select day, app_id, app_version, host, code, chain_key, reports from daily_pending) counted
     where day >= $1::date and ($2::text is null or host = $2)
     group by day, app_id, app_version, host, code, chain_key order by day, host, code`,
    [sinceDay, host ?? null],
  );
  return rows.map((row) => ({
    day: String(row.day), appId: String(row.app_id), appVersion: String(row.app_version), host: String(row.host), code: String(row.code),
    chainKey: String(row.chain_key), reports: Number(row.reports),
  }));
}

export async function chainsByKey(db: Pick<SqlClient, 'query'>, keys: string[]): Promise<Map<string, string[]>> {
  if (keys.length === 0) return new Map();
  const { rows } = await db.query<{ chain_key: string; chain: unknown }>('select chain_key, chain from chains where chain_key = any($1::text[])', [keys]);
  return new Map(rows.map((row) => [row.chain_key, (typeof row.chain === 'string' ? JSON.parse(row.chain) : row.chain) as string[]]));
}

export interface ClientSighting {
  clientKey: string;
  appVersion: string;
  chainKey: string;
  code: string;
  mode: string | null;
}

/** Each client's most recent report for a host in the window: the rollout estimate counts clients, not reports. */
export async function recentClients(db: Pick<SqlClient, 'query'>, host: string, since: string): Promise<ClientSighting[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `select distinct on (client_key) client_key, app_version, chain_key, code, mode from (
       select coalesce(client_id, app_id || '|' || app_version || '|' || dedup_key) as client_key, app_version, chain_key, code, mode, received_at
       from reports where host = $1 and received_at >= $2::timestamptz) recent
     order by client_key, received_at desc`,
    [host, since],
  );
  return rows.map((row) => ({
    clientKey: String(row.client_key), appVersion: String(row.app_version), chainKey: String(row.chain_key), code: String(row.code),
    mode: (row.mode as string | null) ?? null,
  }));
}

/** Deletes raw reports older than the retention; aggregates and the chain index stay. */
export async function applyRetention(db: Pick<SqlClient, 'query'>, days: number): Promise<number> {
  const { rows } = await db.query<{ deleted: number }>(
    `with gone as (delete from reports where received_at < now() - make_interval(days => $1) returning 1) select count(*)::int as deleted from gone`,
    [days],
  );
  return Number(rows[0]?.deleted ?? 0);
}
