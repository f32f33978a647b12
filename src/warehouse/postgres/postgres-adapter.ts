/**
 * PostgreSQL and Redshift through `pg` (node-postgres).
 *
 * Glossary:
 * - main client: one pooled connection pinned for `query()`, so session state (temp tables of a `plan`) is
 *   visible to every later statement. Streams and transactions each take a connection of their own.
 * - cursor streaming: Postgres reads through a portal (pg-query-stream); Redshift can ignore a portal's row
 *   limit (node-pg-cursor#14), so it uses `DECLARE ... CURSOR` + `FETCH FORWARD n` inside a transaction.
 * - insertRows: Postgres sends one `insert ... select from unnest($1::type[], ...)` per slice (one round trip,
 *   typed arrays); Redshift has no array binds, so it sends multi-row `insert ... values`.
 * - Redshift literals: Redshift binds only in SELECT/INSERT/UPDATE/DELETE, so other statements with values (the
 *   plan's CREATE TABLE AS, the cursor's DECLARE) get them inlined as literals (redshift-literals.ts).
 *
 * We bind with pg's `$N` directly and never use knex.raw: its named-binding regex also rewrites `:name` inside
 * strings and comments (warehouses.md §5).
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { quoteParts, SerialQueue } from '../session-support.js';
import type { RedshiftIamCredentials, RedshiftIamOptions } from './redshift-iam.js';
import { inlineRedshiftParams, redshiftRefusesBinds } from './redshift-literals.js';
import { createSchemaIfMissing, informationSchemaTableExists } from '../information-schema.js';
import { registerSecret } from '../../errors/secrets.js';
import { exactDecimal, OutOfRangeValue, timestampValue } from '../row-values.js';
import type {
  BoundParam,
  BoundSql,
  ColumnKind,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
} from '../warehouse-adapter.js';

export interface PostgresAdapterOptions {
  /** `postgres` or `redshift`. (Default: postgres) */
  dialect?: 'postgres' | 'redshift';
  /** A connection URL; the fields below override its parts. */
  url?: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** TLS: `true` verifies the server against the system's CAs; an object names the CA file. (Default: no TLS) */
  ssl?: boolean | PostgresSsl;
  /** Connections in the pool (the main one, plus streams and transactions). (Default: 4) */
  poolMax?: number;
  /** Redshift IAM login: user and password from the Redshift API instead of `user`/`password` (redshift-iam.ts). */
  iam?: RedshiftIamOptions;
}

/** TLS against a server whose certificate a CA of your own signed. */
export interface PostgresSsl {
  /** PEM file of the CA (absolute path). (Default: the system's CAs) */
  caPath?: string;
  /** Refuse a server the CA does not vouch for, or whose name differs from the host. (Default: true) */
  rejectUnauthorized?: boolean;
}

const OID = { int8: 20, numeric: 1700, date: 1082, timestamp: 1114, timestamptz: 1184 } as const;

/** Node's TLS refused the server's certificate (an unknown CA, a self-signed one, another host name). */
function certificateRefused(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    /^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME)/.test(code)
  );
}

/** node-postgres' TLS options for `ssl`; a CA file that cannot be read is a config error naming it. */
function tlsOptions(ssl: true | PostgresSsl): { ca?: string; rejectUnauthorized: boolean } {
  if (ssl === true) return { rejectUnauthorized: true };
  let ca: string | undefined;
  if (ssl.caPath) {
    try {
      ca = readFileSync(ssl.caPath, 'utf8');
    } catch (err) {
      throw new PqlsyncError(
        'CONFIG_INVALID',
        `cannot read warehouse.ssl.ca_path ${ssl.caPath}: ${messageOf(err)}`,
        {
          location: { path: 'warehouse.ssl.ca_path' },
          hint: "set ca_path to the PEM file of the CA that signed the server's certificate",
        },
      );
    }
  }
  return { ...(ca ? { ca } : {}), rejectUnauthorized: ssl.rejectUnauthorized ?? true };
}

/**
 * Row values as the WarehouseAdapter contract says: safe integers as numbers, numerics exact (row-values.ts),
 * dates as `YYYY-MM-DD`, timestamps as Dates (ISO text when finer than a millisecond), and dates and timestamps
 * outside years 1-9999 (±infinity, BC, five-digit years) as OutOfRangeValues instead of invalid Dates.
 */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format === 'binary') return pg.types.getTypeParser(oid, 'binary');
    switch (oid) {
      case OID.int8:
        return (v: string) => {
          const n = Number(v);
          return Number.isSafeInteger(n) ? n : BigInt(v);
        };
      case OID.numeric:
        return exactDecimal;
      case OID.date:
        return (v: string) =>
          /^\d{4}-\d{2}-\d{2}$/.test(v) && !v.startsWith('0000') ? v : new OutOfRangeValue('date', v);
      case OID.timestamp:
        // A timestamp without zone is read as UTC, never as the runner's local time.
        return (v: string) => pgTimestamp(v, false);
      case OID.timestamptz:
        return (v: string) => pgTimestamp(v, true);
      default:
        return pg.types.getTypeParser(oid, 'text');
    }
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A timestamp's text (`2024-01-01 12:00:00.123456`, with `+05:30` or `+00:53:28` when zoned) as a Row value; the
 * ISO form of Postgres' DateStyle (the default) is assumed, as pg's own parser does.
 */
function pgTimestamp(text: string, zoned: boolean): Date | string | OutOfRangeValue {
  const m =
    /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/.exec(
      text,
    );
  if (!m || m[1]!.startsWith('0000') || (zoned && !m[4])) return new OutOfRangeValue('timestamp', text);
  const [, day, time, frac = '', sign, hh = '0', mm = '0', ss = '0'] = m;
  const offsetSeconds = (sign === '-' ? -1 : 1) * (Number(hh) * 3600 + Number(mm) * 60 + Number(ss));
  const seconds = BigInt(Date.parse(`${day}T${time}Z`) / 1000 - offsetSeconds);
  const micros = seconds * 1_000_000n + BigInt(frac.padEnd(6, '0'));
  return timestampValue(micros, 1_000_000n, () => text);
}

const TRANSIENT_SQLSTATE = /^(08|40001|40P01|53|57P0[123])/;

/** Type OIDs (pg_type) of the kinds the row hash formats explicitly (see ColumnKind). */
const PG_KINDS = new Map<number, ColumnKind>([
  [16, 'boolean'],
  [1082, 'date'],
  [1114, 'timestamp'],
  [1184, 'timestamptz'],
]);

/** The port a connection URL names, if any. */
function urlPort(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).port || undefined;
  } catch {
    return undefined;
  }
}

function withUrlPort(url: string, port: number): string {
  try {
    const u = new URL(url);
    u.port = String(port);
    return u.toString();
  } catch {
    return url; // pg reports an unparsable URL itself
  }
}

/**
 * The URL pg connects with: Redshift's port when it names none, and no user or password with an IAM login (pg lets
 * a URL's parts override the pool's own settings, which hold the IAM user and password).
 */
function connectionUrl(url: string, port: number | undefined, iam: boolean): string {
  const withPort = port ? withUrlPort(url, port) : url;
  if (!iam) return withPort;
  try {
    const u = new URL(withPort);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return withPort; // pg reports an unparsable URL itself
  }
}

export class PostgresAdapter implements WarehouseAdapter {
  readonly dialect: 'postgres' | 'redshift';
  private pool: pg.Pool | undefined;
  private main: pg.PoolClient | undefined;
  private readonly queue = new SerialQueue();
  private readonly columnTypes = new Map<string, Map<string, string>>();
  private iamCredentials: RedshiftIamCredentials | undefined;

  constructor(
    private readonly options: PostgresAdapterOptions,
    /** Set for the adapter handed to a transaction's callback: everything runs on this client. */
    private readonly txClient?: pg.PoolClient,
  ) {
    this.dialect = options.dialect ?? 'postgres';
  }

  private get label(): string {
    return this.dialect === 'redshift' ? 'Redshift' : 'Postgres';
  }

  async connect(): Promise<void> {
    if (this.txClient || this.pool) return;
    const o = this.options;
    if (o.password) registerSecret(o.password);
    if (o.url) {
      const pw = safeUrlPassword(o.url);
      if (pw) registerSecret(pw);
    }
    // Redshift listens on 5439, not Postgres's 5432: the default when neither `port` nor the URL names one.
    const redshiftPort = this.dialect === 'redshift' && !o.port && !urlPort(o.url) ? 5439 : undefined;
    const iam = o.iam ? await this.iamLogin(o.iam) : undefined;
    const pool = new pg.Pool({
      ...(o.url ? { connectionString: connectionUrl(o.url, redshiftPort, !!iam) } : {}),
      ...(o.host ? { host: o.host } : {}),
      ...(o.port || redshiftPort ? { port: o.port ?? redshiftPort } : {}),
      ...(o.database ? { database: o.database } : {}),
      ...(o.user ? { user: o.user } : {}),
      ...(o.password ? { password: o.password } : {}),
      ...(iam ?? {}),
      ...(o.ssl ? { ssl: tlsOptions(o.ssl) } : {}),
      max: o.poolMax ?? 4,
      types: typeParsers,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    try {
      this.main = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new PqlsyncError(
        'WAREHOUSE_CONNECT_FAILED',
        `cannot connect to ${this.label} at ${this.where()}: ${messageOf(err)}`,
        {
          cause: err,
          hint: certificateRefused(err)
            ? "the server's certificate was not verified: set warehouse.ssl.ca_path to the PEM file of the CA that signed it"
            : o.iam
              ? "check warehouse.host, port and database, and that the IAM credentials' user exists (or set warehouse.iam.auto_create: true)"
              : 'check warehouse.url (or host, port, database, user) and that the password env var is set',
        },
      );
    }
    this.pool = pool;
  }

  /**
   * The pool's user and password for an IAM login: the user from the first credentials (fetched now, so a refusal
   * is reported before any connection), the password asked for at each new connection (fresh near expiry).
   */
  private async iamLogin(
    options: RedshiftIamOptions,
  ): Promise<{ user: string; password: () => Promise<string> }> {
    const { RedshiftIamCredentials } = await import('./redshift-iam.js');
    const creds = new RedshiftIamCredentials(options);
    const first = await creds.get();
    this.iamCredentials = creds;
    return { user: first.user, password: async () => (await creds.get()).password };
  }

  /**
   * A pool connection. With an IAM login, credentials near their expiry are renewed first: the server reads a role's
   * password when the login starts, so a password fetched during the handshake would be checked against the old one.
   */
  private async newConnection(pool: pg.Pool): Promise<pg.PoolClient> {
    await this.iamCredentials?.get();
    return pool.connect();
  }

  /** host:port/database without credentials, for messages. */
  private where(): string {
    const o = this.options;
    let host = o.host;
    let port = o.port;
    let db = o.database;
    if (o.url) {
      try {
        const u = new URL(o.url);
        host ??= u.hostname;
        port ??= u.port ? Number(u.port) : undefined;
        db ??= u.pathname.replace(/^\//, '') || undefined;
      } catch {
        // an unparsable URL is reported by pg itself
      }
    }
    return `${host ?? 'localhost'}:${port ?? (this.dialect === 'redshift' ? 5439 : 5432)}/${db ?? ''}`;
  }

  private client(): pg.PoolClient {
    const c = this.txClient ?? this.main;
    if (!c) throw new PqlsyncError('INTERNAL', `${this.label} adapter used before connect()`);
    return c;
  }

  async query(sql: BoundSql | string): Promise<QueryResult> {
    const { text, values } = this.toPg(sql);
    return this.queue.run(async () => {
      try {
        const res = await this.client().query(
          this.dialect === 'redshift' && values.length > 0 && redshiftRefusesBinds(text)
            ? oneStatement(inlineRedshiftParams(text, values), [])
            : oneStatement(text, values),
        );
        return {
          rows: res.rows as Row[],
          columns: (res.fields ?? []).map((f) => f.name),
          columnKinds: (res.fields ?? []).map((f) => PG_KINDS.get(f.dataTypeID) ?? 'other'),
          ...(res.rowCount !== null ? { rowsAffected: res.rowCount } : {}),
        };
      } catch (err) {
        throw this.queryError(err, text);
      }
    });
  }

  async *stream(sql: BoundSql | string, options: StreamOptions = {}): AsyncIterable<Row[]> {
    const chunkSize = options.chunkSize ?? 2048;
    const { text, values } = this.toPg(sql);
    if (this.txClient || !this.pool) {
      // Inside a transaction the statement runs on the transaction's client.
      const { rows } = await this.query(sql);
      for (let i = 0; i < rows.length; i += chunkSize) yield rows.slice(i, i + chunkSize);
      return;
    }
    const client = await this.newConnection(this.pool);
    try {
      if (this.dialect === 'redshift') {
        yield* this.fetchCursor(client, text, values, chunkSize);
      } else {
        yield* this.queryStream(client, text, values, chunkSize);
      }
    } finally {
      client.release();
    }
  }

  private async *queryStream(
    client: pg.PoolClient,
    text: string,
    values: unknown[],
    chunkSize: number,
  ): AsyncIterable<Row[]> {
    const qs = client.query(
      new QueryStream(text, values, { batchSize: chunkSize, highWaterMark: chunkSize }),
    );
    let pending: Row[] = [];
    try {
      for await (const row of qs as AsyncIterable<Row>) {
        pending.push(row);
        if (pending.length >= chunkSize) {
          const out = pending;
          pending = [];
          yield out;
        }
      }
    } catch (err) {
      throw this.queryError(err, text);
    } finally {
      qs.destroy();
    }
    if (pending.length > 0) yield pending;
  }

  /** Redshift: an explicit cursor, read `chunkSize` rows per FETCH. */
  private async *fetchCursor(
    client: pg.PoolClient,
    text: string,
    values: unknown[],
    chunkSize: number,
  ): AsyncIterable<Row[]> {
    const run = async (t: string, shown = t) => {
      try {
        return await client.query(oneStatement(t, []));
      } catch (err) {
        throw this.queryError(err, shown);
      }
    };
    await run('begin');
    let open = false;
    try {
      // No binds in a DECLARE on Redshift (redshift-literals.ts); errors show the statement with its `$N`.
      const declare = (q: string) => `declare pqlsync_stream no scroll cursor for ${q}`;
      await run(declare(inlineRedshiftParams(text, values)), declare(text));
      open = true;
      // Redshift rejects a 1-row FETCH after a suspended portal (node-pg-cursor#55); read at least 2.
      const n = Math.max(2, Math.trunc(chunkSize));
      for (;;) {
        const res = await run(`fetch forward ${n} from pqlsync_stream`);
        if (res.rows.length > 0) yield res.rows as Row[];
        if (res.rows.length < n) break;
      }
      await run('close pqlsync_stream');
      open = false;
      await run('commit');
    } finally {
      if (open) await client.query('rollback').catch(() => undefined);
    }
  }

  async transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    if (this.txClient) return fn(this);
    if (!this.pool) throw new PqlsyncError('INTERNAL', `${this.label} adapter used before connect()`);
    const client = await this.newConnection(this.pool);
    const tx = new PostgresAdapter(this.options, client);
    try {
      await tx.query('begin');
      const out = await fn(tx);
      await tx.query('commit');
      return out;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  quoteIdentifier(name: string): string {
    return pg.escapeIdentifier(name);
  }

  quoteQualified(name: string): string {
    return quoteParts(name, (p) => this.quoteIdentifier(p));
  }

  tableExists(schema: string, table: string): Promise<boolean> {
    return informationSchemaTableExists(this, schema, table);
  }

  ensureSchema(schema: string): Promise<void> {
    return createSchemaIfMissing(this, schema);
  }

  async insertRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    const cols = columns.map((c) => this.quoteIdentifier(c)).join(', ');
    const target = this.quoteQualified(table);
    if (this.dialect === 'redshift') {
      // No array binds on Redshift: multi-row VALUES, sliced well below its 16 MB statement limit and 32,767 binds.
      const slice = Math.max(1, Math.floor(2000 / Math.max(1, columns.length)));
      for (let start = 0; start < rows.length; start += slice) {
        const values: unknown[] = [];
        const tuples = rows.slice(start, start + slice).map((row) => {
          const ph = row.map((v) => {
            values.push(toPgValue(v));
            return `$${values.length}`;
          });
          return `(${ph.join(', ')})`;
        });
        await this.query({
          dialect: this.dialect,
          sql: `insert into ${target} (${cols}) values ${tuples.join(', ')}`,
          params: bindAll(values),
        });
      }
      return;
    }
    // Postgres: one array per column, unnested server side (typed from the table's own column types).
    const types = await this.tableColumnTypes(table);
    const arrays = columns.map((_c, i) => rows.map((r) => toPgValue(r[i])));
    const unnest = columns
      .map((c, i) => {
        const t = types.get(c);
        if (!t) throw new PqlsyncError('INTERNAL', `insertRows: table ${table} has no column ${c}`);
        return `$${i + 1}::${t}[]`;
      })
      .join(', ');
    await this.query({
      dialect: this.dialect,
      sql: `insert into ${target} (${cols}) select * from unnest(${unnest})`,
      params: bindAll(arrays),
    });
  }

  private async tableColumnTypes(table: string): Promise<Map<string, string>> {
    const cached = this.columnTypes.get(table);
    if (cached) return cached;
    const { rows } = await this.query({
      dialect: this.dialect,
      sql: `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
            where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped`,
      params: [{ name: 'table', type: 'string', value: this.quoteQualified(table) }],
    });
    const types = new Map(rows.map((r) => [String(r.name), String(r.type)]));
    this.columnTypes.set(table, types);
    return types;
  }

  async close(): Promise<void> {
    if (this.txClient) return;
    await this.queue.drain();
    this.main?.release();
    this.main = undefined;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private toPg(sql: BoundSql | string): { text: string; values: unknown[] } {
    if (typeof sql === 'string') return { text: sql, values: [] };
    if (sql.dialect !== this.dialect) {
      throw new PqlsyncError('INTERNAL', `${this.label} adapter got SQL compiled for ${sql.dialect}`);
    }
    return { text: sql.sql, values: sql.params.map(bindValue) };
  }

  private queryError(err: unknown, sql: string): PqlsyncError {
    const code =
      typeof err === 'object' && err && 'code' in err ? String((err as { code: unknown }).code) : '';
    const transient =
      TRANSIENT_SQLSTATE.test(code) || /Connection terminated|ECONNRESET|ECONNREFUSED/.test(messageOf(err));
    return new PqlsyncError('WAREHOUSE_QUERY_FAILED', `${this.label}: ${messageOf(err)}`, {
      cause: err,
      ...(transient ? { kind: 'transient' as const } : {}),
      details: {
        sql: sql.length > 2000 ? `${sql.slice(0, 2000)}...` : sql,
        ...(code ? { sqlstate: code } : {}),
      },
    });
  }
}

function bindAll(values: unknown[]): BoundParam[] {
  // The values are already in pg's form; the type tag only documents them.
  return values.map((value, i) => ({ name: `p${i + 1}`, type: 'string', value }));
}

/** A bound parameter in the form pg sends: Dates, numbers, strings, booleans and JS arrays. */
function bindValue(p: BoundParam): unknown {
  const v = p.value;
  if (v === null || v === undefined) return null;
  switch (p.type) {
    case 'integer':
      return typeof v === 'bigint' ? v.toString() : Math.trunc(Number(v));
    case 'number':
      return Number(v);
    case 'boolean':
      return Boolean(v);
    case 'date':
      return v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10);
    case 'timestamp':
      return v instanceof Date ? v : new Date(String(v));
    case 'string[]':
      return Array.isArray(v) ? v.map((x) => (x === null || x === undefined ? null : String(x))) : v;
    case 'integer[]':
      return Array.isArray(v) ? v.map((x) => (x === null || x === undefined ? null : String(x))) : v;
    default:
      return typeof v === 'string' ? v : p.type === 'string' && typeof v !== 'object' ? String(v) : v;
  }
}

function toPgValue(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v;
  if (typeof v === 'object' && !Array.isArray(v)) return JSON.stringify(v);
  return v;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function safeUrlPassword(url: string): string | undefined {
  try {
    const pw = new URL(url).password;
    return pw ? decodeURIComponent(pw) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A query sent with the extended protocol, which runs exactly one statement: pg sends SQL without values as a
 * simple query, which runs every `;`-separated statement in it (a model that closes its wrapper would run what it
 * smuggles in, even in a `plan`). Postgres rejects more than one with "cannot insert multiple commands into a
 * prepared statement" before running any. (`queryMode` is pg's option since 8.12; @types/pg lacks it.)
 */
function oneStatement(text: string, values: unknown[]): pg.QueryConfig {
  const config: pg.QueryConfig & { queryMode: 'extended' } = { text, values, queryMode: 'extended' };
  return config;
}
