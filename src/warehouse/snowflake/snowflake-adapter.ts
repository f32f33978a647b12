/**
 * Snowflake through snowflake-sdk.
 *
 * Glossary:
 * - session: one driver connection, so temp tables of a `plan` and `begin` ... `commit` span statements.
 * - binds: positional (`:1`, `:2`, reusable); the Node driver has no array binds, so lists are expanded one bind
 *   per element by the dialect. Integers beyond 2^53 and timestamps are sent as text and cast by Snowflake.
 * - identifiers: plain names are stored upper case; result column names are lower-cased for the Row contract.
 *   `insertRows` names its table with `IDENTIFIER(:1)`, so the table name travels as a bind too.
 * - results: numbers are fetched as strings and converted here, so integers beyond 2^53 come back exact (bigint).
 * - auth: password, or key pair (`SNOWFLAKE_JWT` with a private key file and its passphrase), both from env vars.
 */
import snowflake from 'snowflake-sdk';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { registerSecret } from '../../errors/secrets.js';
import { quoteParts, SerialQueue, SessionTransaction } from '../session-support.js';
import { snowflakeQuote } from '../sql-dialect.js';
import { createSchemaIfMissing, informationSchemaTableExists } from '../information-schema.js';
import { exactDecimal } from '../row-values.js';
import type {
  BoundParam,
  BoundSql,
  ColumnKind,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
} from '../warehouse-adapter.js';

export interface SnowflakeAdapterOptions {
  account: string;
  username: string;
  password?: string;
  /** PEM private key file for key-pair auth (SNOWFLAKE_JWT). */
  privateKeyPath?: string;
  /** The PEM private key's text, for key-pair auth without a file (e.g. from a secret manager's env var). */
  privateKey?: string;
  privateKeyPassphrase?: string;
  /** An OAuth access token (authenticator OAUTH) instead of a password or key pair. */
  oauthToken?: string;
  warehouse?: string;
  database: string;
  schema?: string;
  role?: string;
  /** Another endpoint, e.g. `http://127.0.0.1:9060` for the local sandbox. (Default: from the account) */
  accessUrl?: string;
}

type Column = { getName(): string; getType(): string; getScale(): number };

let driverConfigured = false;

/** Column types (as the driver names them) of the kinds the row hash formats explicitly (see ColumnKind). */
const SNOWFLAKE_KINDS: Record<string, ColumnKind> = {
  boolean: 'boolean',
  date: 'date',
  timestamp_ntz: 'timestamp',
  timestamp_ltz: 'timestamptz',
  timestamp_tz: 'timestamptz',
};

export class SnowflakeAdapter implements WarehouseAdapter {
  readonly dialect = 'snowflake' as const;
  private conn: snowflake.Connection | undefined;
  private readonly serial = new SerialQueue();
  private readonly tx = new SessionTransaction({ begin: 'begin', commit: 'commit', rollback: 'rollback' });

  /** The configured schema: a session's temporary tables are created in it, never in a current schema it may lack. */
  readonly tempSchema: string | undefined;

  constructor(private readonly options: SnowflakeAdapterOptions) {
    this.tempSchema = options.schema;
  }

  async connect(): Promise<void> {
    if (this.conn) return;
    const o = this.options;
    if (!driverConfigured) {
      // The driver logs to stdout by default; pqlsync's stdout carries `--json` output.
      snowflake.configure({ logLevel: 'OFF' });
      driverConfigured = true;
    }
    if (o.password) registerSecret(o.password);
    if (o.privateKeyPassphrase) registerSecret(o.privateKeyPassphrase);
    if (o.privateKey) registerSecret(o.privateKey);
    if (o.oauthToken) registerSecret(o.oauthToken);
    const conn = snowflake.createConnection({
      account: o.account,
      username: o.username,
      database: o.database,
      ...(o.schema ? { schema: o.schema } : {}),
      ...(o.warehouse ? { warehouse: o.warehouse } : {}),
      ...(o.role ? { role: o.role } : {}),
      ...(o.accessUrl ? { accessUrl: o.accessUrl } : {}),
      ...credentials(o),
      clientSessionKeepAlive: false,
      // With fetchAsString the driver turns NULL into the text 'NULL' unless told otherwise.
      representNullAsStringNull: false,
    });
    try {
      // connectAsync() resolves even when the login fails (the error only reaches a callback), so use the callback.
      await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
    } catch (err) {
      throw new PqlsyncError(
        'WAREHOUSE_CONNECT_FAILED',
        `cannot log in to Snowflake account ${o.account} as ${o.username}: ${messageOf(err)}`,
        {
          cause: err,
          kind: 'config',
          hint: o.oauthToken
            ? 'check that the OAuth access token in warehouse.token has not expired and was issued for this account and user'
            : o.privateKeyPath || o.privateKey
              ? `check that warehouse.${o.privateKeyPath ? 'private_key_path' : 'private_key'} is the private key whose public key is set on user ${o.username} (ALTER USER ... SET RSA_PUBLIC_KEY)`
              : 'check the username and the password env var, or use a key pair (private_key_path)',
        },
      );
    }
    this.conn = conn;
  }

  private connection(): snowflake.Connection {
    if (!this.conn) throw new PqlsyncError('INTERNAL', 'Snowflake adapter used before connect()');
    return this.conn;
  }

  private execute(
    sql: BoundSql | string,
    streamResult: boolean,
  ): Promise<{ stmt: snowflake.RowStatement; rows: Record<string, unknown>[] | undefined; text: string }> {
    const { text, binds } = toSnowflake(sql);
    return new Promise((resolve, reject) => {
      this.connection().execute({
        sqlText: text,
        ...(binds.length > 0 ? { binds: binds as snowflake.Binds } : {}),
        fetchAsString: ['Number'],
        // Exactly one statement per request, whatever the account or user sets: Snowflake rejects any other
        // count before running any ("Actual statement count 2 did not match the desired statement count 1").
        parameters: { MULTI_STATEMENT_COUNT: 1 },
        streamResult,
        complete: (err, stmt, rows) => {
          if (err) reject(queryError(err, text));
          else resolve({ stmt, rows: rows as Record<string, unknown>[] | undefined, text });
        },
      });
    });
  }

  async query(sql: BoundSql | string): Promise<QueryResult> {
    return this.serial.run(async () => {
      const { stmt, rows } = await this.execute(sql, false);
      const columns = (stmt.getColumns() ?? []) as Column[];
      return {
        rows: (rows ?? []).map((r) => toRow(r, columns)),
        // As Snowflake names them (upper case for unquoted names): plan SQL quotes them exactly.
        columns: columns.map((c) => c.getName()),
        columnKinds: columns.map((c) => SNOWFLAKE_KINDS[c.getType()] ?? 'other'),
      };
    });
  }

  async *stream(sql: BoundSql | string, options: StreamOptions = {}): AsyncIterable<Row[]> {
    const chunkSize = options.chunkSize ?? 2048;
    const { stmt, text } = await this.serial.run(() => this.execute(sql, true));
    const columns = (stmt.getColumns() ?? []) as Column[];
    const rows = stmt.streamRows();
    const pending: Row[] = [];
    try {
      for await (const r of rows as AsyncIterable<Record<string, unknown>>) {
        pending.push(toRow(r, columns));
        if (pending.length >= chunkSize) yield pending.splice(0, chunkSize);
      }
    } catch (err) {
      throw queryError(err, text);
    } finally {
      rows.destroy();
    }
    if (pending.length > 0) yield pending;
  }

  async transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    return this.tx.run(this, fn);
  }

  quoteIdentifier(name: string): string {
    return snowflakeQuote(name);
  }

  quoteQualified(name: string): string {
    return quoteParts(name, (p) => this.quoteIdentifier(p));
  }

  tableExists(schema: string, table: string): Promise<boolean> {
    // The catalog lists a name in its stored case: a plain name quoted by `snowflakeQuote` is stored upper-cased.
    const stored = (id: string) => this.quoteIdentifier(id).slice(1, -1).replace(/""/g, '"');
    return informationSchemaTableExists(this, schema, table, stored);
  }

  ensureSchema(schema: string): Promise<void> {
    return createSchemaIfMissing(this, schema);
  }

  /** Multi-row `insert ... values` with positional binds, in slices well below the driver's stage-upload threshold. */
  async insertRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    const cols = columns.map((c) => this.quoteIdentifier(c)).join(', ');
    const slice = Math.max(1, Math.floor(4000 / Math.max(1, columns.length)));
    for (let start = 0; start < rows.length; start += slice) {
      const params: BoundParam[] = [{ name: 'table', type: 'string', value: this.quoteQualified(table) }];
      const tuples = rows.slice(start, start + slice).map((row) => {
        const ph = row.map((v) => {
          params.push({ name: `p${params.length + 1}`, ...bindOf(v) });
          return `:${params.length}`;
        });
        return `(${ph.join(', ')})`;
      });
      await this.query({
        dialect: 'snowflake',
        sql: `insert into identifier(:1) (${cols}) values ${tuples.join(', ')}`,
        params,
      });
    }
  }

  async close(): Promise<void> {
    await this.serial.drain();
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await new Promise<void>((resolve) => conn.destroy(() => resolve()));
  }
}

/** The driver's login options: an OAuth token, a key pair (file or PEM text), else the password. */
function credentials(o: SnowflakeAdapterOptions): snowflake.ConnectionOptions | Record<string, never> {
  if (o.oauthToken) return { authenticator: 'OAUTH', token: o.oauthToken } as snowflake.ConnectionOptions;
  const passphrase = o.privateKeyPassphrase ? { privateKeyPass: o.privateKeyPassphrase } : {};
  if (o.privateKeyPath)
    return {
      authenticator: 'SNOWFLAKE_JWT',
      privateKeyPath: o.privateKeyPath,
      ...passphrase,
    } as snowflake.ConnectionOptions;
  if (o.privateKey)
    return {
      authenticator: 'SNOWFLAKE_JWT',
      // A PEM kept on one line in an env var or CI secret has its line breaks written as \n.
      privateKey: o.privateKey.includes('\n') ? o.privateKey : o.privateKey.replace(/\\n/g, '\n'),
      ...passphrase,
    } as snowflake.ConnectionOptions;
  return { password: o.password ?? '' } as snowflake.ConnectionOptions;
}

/** A JS value's bind type for insertRows. */
function bindOf(v: unknown): Pick<BoundParam, 'type' | 'value'> {
  if (v instanceof Date) return { type: 'timestamp', value: v };
  if (typeof v === 'bigint') return { type: 'integer', value: v };
  if (typeof v === 'number') return { type: Number.isInteger(v) ? 'integer' : 'number', value: v };
  if (typeof v === 'boolean') return { type: 'boolean', value: v };
  if (v !== null && typeof v === 'object') return { type: 'string', value: JSON.stringify(v) };
  return { type: 'string', value: v ?? null };
}

function toSnowflake(sql: BoundSql | string): { text: string; binds: unknown[] } {
  if (typeof sql === 'string') return { text: sql, binds: [] };
  if (sql.dialect !== 'snowflake')
    throw new PqlsyncError('INTERNAL', `Snowflake adapter got SQL compiled for ${sql.dialect}`);
  return { text: sql.sql, binds: sql.params.map(bindValue) };
}

/** A bound parameter as the driver sends it (it has no array, date or bigint binds: those go as text). */
function bindValue(p: BoundParam): unknown {
  const v = p.value;
  if (v === null || v === undefined) return null;
  switch (p.type) {
    case 'integer': {
      if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      return Math.trunc(Number(v));
    }
    case 'number':
      return Number(v);
    case 'boolean':
      return Boolean(v);
    case 'date':
      return v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10);
    case 'timestamp':
      return (v instanceof Date ? v : new Date(String(v))).toISOString();
    case 'string[]':
    case 'integer[]':
      throw new PqlsyncError(
        'INTERNAL',
        `Snowflake has no array binds; ${p.name} should have been expanded per element`,
      );
    default:
      return typeof v === 'string' ? v : String(v);
  }
}

function toRow(r: Record<string, unknown>, columns: readonly Column[]): Row {
  const row: Row = {};
  for (const c of columns) row[c.getName().toLowerCase()] = plain(r[c.getName()], c);
  return row;
}

function plain(v: unknown, c: Column): unknown {
  if (v === null || v === undefined) return null;
  switch (c.getType()) {
    case 'fixed':
    case 'real': {
      const s = String(v);
      if (c.getType() === 'fixed' && c.getScale() === 0) {
        const n = Number(s);
        return Number.isSafeInteger(n) ? n : BigInt(s);
      }
      return c.getType() === 'fixed' ? exactDecimal(s) : Number(s);
    }
    case 'date':
      return (v as Date).toISOString().slice(0, 10);
    case 'timestamp_tz':
    case 'timestamp_ltz':
    case 'timestamp_ntz':
      return new Date((v as Date).getTime());
    default:
      return v;
  }
}

function queryError(err: unknown, sql: string): PqlsyncError {
  const e = err as { code?: unknown; sqlState?: unknown };
  const message = messageOf(err);
  const transient = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|Network error/i.test(message);
  return new PqlsyncError('WAREHOUSE_QUERY_FAILED', `Snowflake: ${message}`, {
    cause: err,
    ...(transient ? { kind: 'transient' as const } : {}),
    details: {
      sql: sql.length > 2000 ? `${sql.slice(0, 2000)}...` : sql,
      ...(e.code !== undefined ? { code: String(e.code) } : {}),
      ...(e.sqlState !== undefined ? { sqlState: String(e.sqlState) } : {}),
    },
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
