/**
 * BigQuery through @google-cloud/bigquery.
 *
 * Glossary:
 * - session: every statement runs in one BigQuery session (created by the first statement), so the temp tables of
 *   a `plan` outlive their statement and `transaction()` can span statements (`BEGIN TRANSACTION` ... `COMMIT
 *   TRANSACTION`).
 * - params: `@name` binds, always sent with explicit `types` (the client throws on a null or an empty array
 *   without them, warehouses.md §1.3).
 * - schema: the state schema is a dataset; `ensureSchema` creates it through the datasets API.
 * - stream: a query job whose results are read a page (`maxResults`) at a time through `getQueryResults`.
 * - estimateBytes: a dry-run job's `totalBytesProcessed`, which `plan` shows.
 */
import { BigQuery, type Job, type Query } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { quoteParts, SerialQueue, SessionTransaction } from '../session-support.js';
import { registerSecret } from '../../errors/secrets.js';
import { exactDecimal } from '../row-values.js';
import { lexSql } from '../../model/sql-lexer.js';
import type {
  BindType,
  BoundSql,
  ColumnKind,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
} from '../warehouse-adapter.js';

export interface BigqueryAdapterOptions {
  projectId: string;
  /** Dataset and job location, e.g. `US` or `europe-west3`. (Default: the client's, i.e. the dataset's) */
  location?: string;
  /** A service-account key file. (Default: Application Default Credentials) */
  keyFile?: string;
  /** A ready OAuth access token instead of a key file (short-lived tokens, the local sandbox). */
  accessToken?: string;
  /** Another API endpoint, e.g. `http://127.0.0.1:9050` for the local sandbox. */
  apiEndpoint?: string;
  /** Refuse queries that would bill more bytes than this. (Default: no limit) */
  maximumBytesBilled?: number;
}

const PARAM_TYPES: Record<BindType, string | string[]> = {
  integer: 'INT64',
  number: 'FLOAT64',
  string: 'STRING',
  boolean: 'BOOL',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  'string[]': ['STRING'],
  'integer[]': ['INT64'],
};

/** Result field types of the kinds the row hash formats explicitly (see ColumnKind). */
const BIGQUERY_KINDS: Record<string, ColumnKind> = {
  BOOL: 'boolean',
  BOOLEAN: 'boolean',
  DATE: 'date',
  DATETIME: 'timestamp',
  TIMESTAMP: 'timestamptz',
};

export class BigqueryAdapter implements WarehouseAdapter {
  readonly dialect = 'bigquery' as const;
  private bq: BigQuery | undefined;
  private sessionId: string | undefined;
  private readonly queue = new SerialQueue();
  private readonly tx = new SessionTransaction({
    begin: 'BEGIN TRANSACTION',
    commit: 'COMMIT TRANSACTION',
    rollback: 'ROLLBACK TRANSACTION',
  });

  constructor(private readonly options: BigqueryAdapterOptions) {}

  async connect(): Promise<void> {
    if (this.bq) return;
    const o = this.options;
    let authClient: OAuth2Client | undefined;
    if (o.accessToken) {
      registerSecret(o.accessToken);
      authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: o.accessToken });
    }
    this.bq = new BigQuery({
      projectId: o.projectId,
      ...(o.location ? { location: o.location } : {}),
      ...(o.keyFile ? { keyFilename: o.keyFile } : {}),
      ...(o.apiEndpoint ? { apiEndpoint: o.apiEndpoint } : {}),
      ...(authClient ? { authClient } : {}),
    });
    try {
      // The first statement opens the session every later statement joins.
      const [job] = await this.bq.createQueryJob({
        query: 'select 1',
        createSession: true,
        ...this.locationOpt(),
      });
      const info = (job.metadata as { statistics?: { sessionInfo?: { sessionId?: string } } }).statistics
        ?.sessionInfo;
      this.sessionId = info?.sessionId;
    } catch (err) {
      this.bq = undefined;
      throw new PqlsyncError(
        'WAREHOUSE_CONNECT_FAILED',
        `cannot reach BigQuery project ${o.projectId}: ${messageOf(err)}`,
        {
          cause: err,
          hint: o.keyFile
            ? `check the service-account key file ${o.keyFile} and its roles (BigQuery Job User, Data Editor)`
            : 'without warehouse.key_file pqlsync uses Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS (a key file), `gcloud auth application-default login`, or the metadata server (GKE Workload Identity, Cloud Run, Compute Engine)',
        },
      );
    }
  }

  private client(): BigQuery {
    if (!this.bq) throw new PqlsyncError('INTERNAL', 'BigQuery adapter used before connect()');
    return this.bq;
  }

  private locationOpt(): { location?: string } {
    return this.options.location ? { location: this.options.location } : {};
  }

  /** The query request for a statement: params with explicit types, in this adapter's session. */
  private request(sql: BoundSql | string): Query {
    const text = typeof sql === 'string' ? sql : sql.sql;
    // jobs.insert runs text with several statements as a script, and has no option to refuse one; so SQL with a
    // `;` that more SQL follows is refused here, before any job is created (a model could otherwise close its
    // wrapper and run statements of its own, even in a `plan`).
    const separator = lexSql(text, 'bigquery').separators[0];
    if (separator) {
      throw queryError(
        new Error(
          `expected one SQL statement, found more (a ";" at line ${separator.line}:${separator.column} is followed by more SQL); nothing was run`,
        ),
        text,
      );
    }
    const req: Query = {
      query: text,
      useLegacySql: false,
      ...this.locationOpt(),
      ...(this.sessionId ? { connectionProperties: [{ key: 'session_id', value: this.sessionId }] } : {}),
      ...(this.options.maximumBytesBilled
        ? { maximumBytesBilled: String(this.options.maximumBytesBilled) }
        : {}),
    };
    if (typeof sql !== 'string') {
      if (sql.dialect !== 'bigquery')
        throw new PqlsyncError('INTERNAL', `BigQuery adapter got SQL compiled for ${sql.dialect}`);
      if (sql.params.length > 0) {
        const params: Record<string, unknown> = {};
        const types: Record<string, string | string[]> = {};
        for (const p of sql.params) {
          params[p.name] = paramValue(p.type, p.value);
          types[p.name] = PARAM_TYPES[p.type];
        }
        req.params = params;
        req.types = types;
      }
    }
    return req;
  }

  async query(sql: BoundSql | string): Promise<QueryResult> {
    const req = this.request(sql);
    return this.queue.run(async () => {
      try {
        const [job] = await this.client().createQueryJob(req);
        const [rows, , response] = await job.getQueryResults({ wrapIntegers: true });
        const fields =
          (response as { schema?: { fields?: { name?: string; type?: string }[] } } | undefined)?.schema
            ?.fields ?? [];
        const dml = (job.metadata as { statistics?: { query?: { numDmlAffectedRows?: string } } }).statistics
          ?.query;
        return {
          rows: (rows as Record<string, unknown>[]).map(toRow),
          columns: fields.map((f) => String(f.name)),
          columnKinds: fields.map((f) => BIGQUERY_KINDS[String(f.type).toUpperCase()] ?? 'other'),
          ...(dml?.numDmlAffectedRows !== undefined ? { rowsAffected: Number(dml.numDmlAffectedRows) } : {}),
        };
      } catch (err) {
        throw queryError(err, req.query ?? '');
      }
    });
  }

  async *stream(sql: BoundSql | string, options: StreamOptions = {}): AsyncIterable<Row[]> {
    const chunkSize = options.chunkSize ?? 2048;
    const req = this.request(sql);
    let job: Job;
    try {
      [job] = await this.queue.run(() => this.client().createQueryJob(req));
    } catch (err) {
      throw queryError(err, req.query ?? '');
    }
    let pageToken: string | undefined;
    for (;;) {
      let rows: unknown[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [rows, next] = (await job.getQueryResults({
          autoPaginate: false,
          maxResults: chunkSize,
          wrapIntegers: true,
          ...(pageToken ? { pageToken } : {}),
        })) as unknown as [unknown[], { pageToken?: string } | null];
      } catch (err) {
        throw queryError(err, req.query ?? '');
      }
      if (rows.length > 0) yield (rows as Record<string, unknown>[]).map(toRow);
      pageToken = next?.pageToken;
      if (!pageToken) break;
    }
  }

  /** A multi-statement transaction inside the session; BigQuery has no nested transactions. */
  async transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    return this.tx.run(this, fn);
  }

  quoteIdentifier(name: string): string {
    return `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
  }

  quoteQualified(name: string): string {
    return quoteParts(name, (p) => this.quoteIdentifier(p));
  }

  // Not information-schema.ts's SQL: BigQuery has no project-wide `information_schema.tables` (its TABLES view is
  // per dataset, `<dataset>.INFORMATION_SCHEMA.TABLES`, and fails when the dataset is missing), and each lookup
  // would be a query job; tables.get / datasets.get answer without one, and the dataset is created in the
  // configured location (`locationOpt`).
  async tableExists(schema: string, table: string): Promise<boolean> {
    try {
      const [exists] = await this.client().dataset(schema).table(table).exists();
      return exists;
    } catch (err) {
      throw queryError(err, `tables.get ${schema}.${table}`);
    }
  }

  async ensureSchema(schema: string): Promise<void> {
    try {
      const ds = this.client().dataset(schema, this.locationOpt());
      const [exists] = await ds.exists();
      if (!exists) await ds.create(this.locationOpt());
    } catch (err) {
      if (/already exists/i.test(messageOf(err))) return;
      throw queryError(err, `datasets.insert ${schema}`);
    }
  }

  /**
   * DML `insert ... values` with typed params, in slices. Not the streaming-insert API: rows in its streaming buffer
   * cannot be updated or deleted for up to 90 minutes, and the state tables are.
   */
  async insertRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    const [schema, name] = splitTable(table);
    const types = await this.columnTypes(schema, name);
    const cols = columns.map((c) => this.quoteIdentifier(c)).join(', ');
    // jobs.query allows 10,000 parameters; stay well below.
    const slice = Math.max(1, Math.floor(4000 / Math.max(1, columns.length)));
    for (let start = 0; start < rows.length; start += slice) {
      const params: BoundSql['params'] = [];
      const tuples = rows.slice(start, start + slice).map((row) => {
        const ph = columns.map((c, i) => {
          const name = `p${params.length + 1}`;
          params.push({ name, type: bindTypeOf(types.get(c.toLowerCase())), value: row[i] });
          return `@${name}`;
        });
        return `(${ph.join(', ')})`;
      });
      await this.query({
        dialect: 'bigquery',
        sql: `insert into ${this.quoteQualified(table)} (${cols}) values ${tuples.join(', ')}`,
        params,
      });
    }
  }

  private async columnTypes(schema: string, table: string): Promise<Map<string, string>> {
    try {
      const [meta] = await this.client().dataset(schema).table(table).getMetadata();
      const fields =
        (meta as { schema?: { fields?: { name: string; type: string }[] } }).schema?.fields ?? [];
      return new Map(fields.map((f) => [f.name.toLowerCase(), f.type.toUpperCase()]));
    } catch (err) {
      throw queryError(err, `tables.get ${schema}.${table}`);
    }
  }

  async estimateBytes(sql: BoundSql): Promise<number | undefined> {
    const req = { ...this.request(sql), dryRun: true };
    try {
      const [job] = await this.client().createQueryJob(req);
      const bytes = (job.metadata as { statistics?: { totalBytesProcessed?: string } }).statistics
        ?.totalBytesProcessed;
      return bytes === undefined ? undefined : Number(bytes);
    } catch (err) {
      throw queryError(err, req.query ?? '');
    }
  }

  async close(): Promise<void> {
    await this.queue.drain();
    if (this.bq && this.sessionId) {
      // Ends the session now instead of after its 24-hour idle timeout (its temp tables go with it).
      await this.query(`CALL BQ.ABORT_SESSION()`).catch(() => undefined);
    }
    this.bq = undefined;
    this.sessionId = undefined;
  }
}

function splitTable(table: string): [string, string] {
  const parts = table.split('.');
  if (parts.length < 2)
    throw new PqlsyncError('INTERNAL', `BigQuery needs a dataset-qualified table name, got ${table}`);
  return [parts[parts.length - 2]!, parts[parts.length - 1]!];
}

/** The bind type for a column's BigQuery type (legacy or standard names). */
function bindTypeOf(type: string | undefined): BindType {
  switch (type) {
    case 'INTEGER':
    case 'INT64':
      return 'integer';
    case 'FLOAT':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return 'number';
    case 'BOOLEAN':
    case 'BOOL':
      return 'boolean';
    case 'DATE':
      return 'date';
    case 'TIMESTAMP':
      return 'timestamp';
    default:
      return 'string';
  }
}

/** A value in the form the client serialises for its declared type. */
function paramValue(type: BindType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'integer':
      return typeof v === 'bigint' ? v.toString() : String(Math.trunc(Number(v)));
    case 'number':
      return Number(v);
    case 'boolean':
      return Boolean(v);
    case 'date':
      return BigQuery.date(v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));
    case 'timestamp':
      return BigQuery.timestamp(v instanceof Date ? v : new Date(String(v)));
    case 'string[]':
      return (v as unknown[]).map((x) => String(x));
    case 'integer[]':
      return (v as unknown[]).map((x) => String(x));
    default:
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

/** Client values → the WarehouseAdapter's: safe integers as numbers, Date for TIMESTAMP, `YYYY-MM-DD` for DATE. */
function toRow(r: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(r)) row[k.toLowerCase()] = plain(v);
  return row;
}

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(plain);
  if (Buffer.isBuffer(v)) return v.toString('base64');
  const ctor = (v as { constructor?: { name?: string } }).constructor?.name;
  const value = (v as { value?: unknown }).value;
  switch (ctor) {
    case 'BigQueryInt': {
      const s = String(value);
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : BigInt(s);
    }
    case 'BigQueryTimestamp':
      return new Date(String(value));
    case 'BigQueryDate':
      return String(value);
    case 'BigQueryDatetime':
    case 'BigQueryTime':
      return String(value);
    case 'Big':
      // NUMERIC / BIGNUMERIC: exact (toFixed never uses exponent notation, which toString does past 1e21).
      return exactDecimal((v as { toFixed(): string }).toFixed());
    default:
      return v;
  }
}

function queryError(err: unknown, sql: string): PqlsyncError {
  const e = err as { code?: unknown; errors?: { reason?: string }[] };
  const status = typeof e.code === 'number' ? e.code : undefined;
  const reason = e.errors?.[0]?.reason;
  const transient =
    (status !== undefined && (status === 429 || status >= 500)) ||
    reason === 'rateLimitExceeded' ||
    reason === 'backendError';
  return new PqlsyncError('WAREHOUSE_QUERY_FAILED', `BigQuery: ${messageOf(err)}`, {
    cause: err,
    ...(transient ? { kind: 'transient' as const } : {}),
    details: { sql: sql.length > 2000 ? `${sql.slice(0, 2000)}...` : sql, ...(reason ? { reason } : {}) },
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
