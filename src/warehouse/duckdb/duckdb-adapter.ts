/**
 * The embedded default warehouse: a DuckDB file through @duckdb/node-api.
 *
 * One instance per adapter; queries run on one connection, each stream on a connection of its own (a DuckDB
 * connection holds one open result at a time), each transaction on its own connection.
 */
import {
  DATE,
  DOUBLE,
  BIGINT,
  BOOLEAN,
  DuckDBConnection,
  DuckDBInstance,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  dateValue,
  listValue,
  timestampTZValue,
  type DuckDBAppender,
  type DuckDBResult,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { collectGarbage } from '../../util/heap.js';
import { DUCKDB_SCRATCH } from '../sql-dialect.js';
import type {
  BindType,
  BoundParam,
  BoundSql,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
} from '../warehouse-adapter.js';

export interface DuckdbAdapterOptions {
  /** File path, or `:memory:`. */
  path: string;
  threads?: number;
  memoryLimit?: string;
}

export class DuckdbAdapter implements WarehouseAdapter {
  readonly dialect = 'duckdb' as const;
  private instance: DuckDBInstance | undefined;
  private conn: DuckDBConnection | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: DuckdbAdapterOptions,
    private readonly sharedConnection?: DuckDBConnection,
  ) {}

  async connect(): Promise<void> {
    if (this.sharedConnection) {
      this.conn = this.sharedConnection;
      return;
    }
    if (this.instance) return;
    if (this.options.path !== ':memory:')
      mkdirSync(path.dirname(path.resolve(this.options.path)), { recursive: true });
    // DuckDB's allocator keeps freed memory for reuse until a task's peak passes 128 MiB (512 MiB for bulk frees);
    // a sync's long tail of small commits then holds tens of MB it no longer uses. A background thread returns it.
    const config: Record<string, string> = {
      allocator_flush_threshold: '8MB',
      allocator_bulk_deallocation_flush_threshold: '8MB',
      allocator_background_threads: 'true',
    };
    if (this.options.threads) config.threads = String(this.options.threads);
    if (this.options.memoryLimit) config.memory_limit = this.options.memoryLimit;
    try {
      this.instance = await DuckDBInstance.create(this.options.path, config);
      this.conn = await this.instance.connect();
      // Per-run working tables live here: in memory, shared by this instance's connections, never on disk.
      await this.conn.run(`attach if not exists ':memory:' as ${DUCKDB_SCRATCH}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const held = /Could not set lock on file|Conflicting lock/i.test(message);
      throw new PqlsyncError(
        held ? 'STATE_LOCK_HELD' : 'WAREHOUSE_CONNECT_FAILED',
        held
          ? `the DuckDB file ${this.options.path} is in use by another process: ${message.split('\n')[0]}`
          : `cannot open DuckDB file ${this.options.path}: ${message}`,
        {
          cause: err,
          hint: held
            ? 'DuckDB allows one writing process per file; wait for the other run to finish'
            : undefined,
        },
      );
    }
  }

  private connection(): DuckDBConnection {
    if (!this.conn) throw new PqlsyncError('INTERNAL', 'DuckDB adapter used before connect()');
    return this.conn;
  }

  /** Serialises statements on the shared connection (one statement at a time per DuckDB connection). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async query(sql: BoundSql | string): Promise<QueryResult> {
    const { text, values, types } = toDuckdb(sql);
    return this.serial(async () => {
      try {
        const reader = await this.connection().runAndReadAll(text, values, types);
        const names = reader.columnNames();
        const kinds = reader.columnTypes().map((t) => t.typeId);
        const rows = reader.getRowsJS().map((r) => toRow(names, kinds, r));
        return { rows, columns: names, rowsAffected: reader.rowsChanged };
      } catch (err) {
        throw queryError(err, text);
      }
    });
  }

  async *stream(sql: BoundSql | string, options: StreamOptions = {}): AsyncIterable<Row[]> {
    const { text, values, types } = toDuckdb(sql);
    const chunkSize = options.chunkSize ?? 2048;
    if (!this.instance) {
      // A shared connection (inside a transaction) cannot open a second result: read it all.
      const { rows } = await this.query(sql);
      for (let i = 0; i < rows.length; i += chunkSize) yield rows.slice(i, i + chunkSize);
      return;
    }
    const conn = await this.instance.connect();
    let result: DuckDBResult;
    try {
      result = await conn.stream(text, values, types);
    } catch (err) {
      conn.closeSync();
      throw queryError(err, text);
    }
    try {
      const names = result.columnNames();
      const kinds = result.columnTypes().map((t) => t.typeId);
      const pending: Row[] = [];
      for (let fetched = 1; ; fetched++) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        if (fetched % GC_EVERY_CHUNKS === 0) collectGarbage();
        for (const r of chunk.convertRows(JSDuckDBValueConverter)) pending.push(toRow(names, kinds, r));
        while (pending.length >= chunkSize) yield pending.splice(0, chunkSize);
      }
      if (pending.length > 0) yield pending;
    } finally {
      conn.closeSync();
    }
  }

  async transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    if (!this.instance) return fn(this);
    const conn = await this.instance.connect();
    const tx = new DuckdbAdapter(this.options, conn);
    await tx.connect();
    try {
      await conn.run('BEGIN TRANSACTION');
      const out = await fn(tx);
      await conn.run('COMMIT');
      return out;
    } catch (err) {
      try {
        await conn.run('ROLLBACK');
      } catch {
        // the transaction may already be aborted
      }
      throw err;
    } finally {
      conn.closeSync();
    }
  }

  quoteIdentifier(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  }

  quoteQualified(name: string): string {
    return splitQualified(name)
      .map((p) => this.quoteIdentifier(p))
      .join('.');
  }

  async tableExists(schema: string, table: string): Promise<boolean> {
    const { rows } = await this.query({
      dialect: 'duckdb',
      sql: 'select count(*) as n from information_schema.tables where table_schema = $schema and table_name = $table',
      params: [
        { name: 'schema', type: 'string', value: schema },
        { name: 'table', type: 'string', value: table },
      ],
    });
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async ensureSchema(schema: string): Promise<void> {
    await this.query(`create schema if not exists ${this.quoteIdentifier(schema)}`);
  }

  async insertRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    // DuckDB's appender: rows go straight into the table's storage (inside the open transaction, if any), about
    // 2.5x faster than an INSERT of unnested list binds and without their per-value bind objects. Values go in as
    // text and DuckDB casts them to the column types, as an INSERT would.
    const parts = splitQualified(table);
    const name = parts[parts.length - 1]!;
    const schema = parts.length > 1 ? parts[parts.length - 2]! : 'main';
    await this.serial(async () => {
      const conn = this.connection();
      let appender: DuckDBAppender | undefined;
      try {
        const described = await conn.runAndReadAll(
          'select column_name from duckdb_columns() where schema_name = $schema and table_name = $name order by column_index',
          { schema, name },
        );
        const tableColumns = described.getRows().map((r) => String(r[0]));
        const unknown = columns.filter((c) => !tableColumns.includes(c));
        if (tableColumns.length === 0 || unknown.length > 0) {
          throw new Error(
            tableColumns.length === 0 ? `no table ${table}` : `${table} has no column ${unknown.join(', ')}`,
          );
        }
        const from = tableColumns.map((c) => columns.indexOf(c));
        appender = await conn.createAppender(name, schema);
        for (const row of rows) {
          for (const i of from) {
            if (i < 0) {
              appender.appendDefault();
              continue;
            }
            const v = toText(row[i]);
            if (v === null) appender.appendNull();
            else appender.appendVarchar(v);
          }
          appender.endRow();
        }
        appender.flushSync();
      } catch (err) {
        throw queryError(err, `insert into ${table}`);
      } finally {
        try {
          appender?.closeSync();
        } catch {
          // a failed flush already reported the error; closing flushes nothing more
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.sharedConnection) return;
    await this.queue.catch(() => undefined);
    this.conn?.closeSync();
    this.instance?.closeSync();
    this.conn = undefined;
    this.instance = undefined;
  }
}

/**
 * A fetched chunk's memory is DuckDB's, freed only when V8 collects the chunk's small JS wrapper, and the binding
 * does not tell V8 how much native memory the wrapper holds; with little JS garbage to prompt a collection,
 * streamed chunks pile up (about 250 MB over 1M rows). So the stream asks for a collection every so many chunks.
 */
const GC_EVERY_CHUNKS = 16;

function queryError(err: unknown, sql: string): PqlsyncError {
  const message = err instanceof Error ? err.message : String(err);
  return new PqlsyncError('WAREHOUSE_QUERY_FAILED', `DuckDB: ${message}`, {
    cause: err,
    details: { sql: sql.length > 2000 ? `${sql.slice(0, 2000)}...` : sql },
  });
}

function toRow(names: string[], kinds: DuckDBTypeId[], values: unknown[]): Row {
  const row: Row = {};
  for (let i = 0; i < names.length; i++) row[names[i]!] = normalise(values[i], kinds[i]);
  return row;
}

function normalise(v: unknown, kind: DuckDBTypeId | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
  }
  if (v instanceof Date && kind === DuckDBTypeId.DATE) return v.toISOString().slice(0, 10);
  return v;
}

function toDuckdb(sql: BoundSql | string): {
  text: string;
  values: Record<string, DuckDBValue> | undefined;
  types: Record<string, DuckDBType | undefined> | undefined;
} {
  if (typeof sql === 'string') return { text: sql, values: undefined, types: undefined };
  if (sql.dialect !== 'duckdb') {
    throw new PqlsyncError('INTERNAL', `DuckDB adapter got SQL compiled for ${sql.dialect}`);
  }
  if (sql.params.length === 0) return { text: sql.sql, values: undefined, types: undefined };
  const values: Record<string, DuckDBValue> = {};
  const types: Record<string, DuckDBType | undefined> = {};
  for (const p of sql.params) {
    const [value, type] = bindValue(p);
    values[p.name] = value;
    types[p.name] = type;
  }
  return { text: sql.sql, values, types };
}

function bindValue(p: BoundParam): [DuckDBValue, DuckDBType | undefined] {
  const v = p.value;
  if (v === null || v === undefined) return [null, typeFor(p.type)];
  switch (p.type as BindType) {
    case 'integer':
      return [typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))), BIGINT];
    case 'number':
      return [Number(v), DOUBLE];
    case 'boolean':
      return [Boolean(v), BOOLEAN];
    case 'date': {
      const [y, m, d] = String(v).slice(0, 10).split('-').map(Number);
      return [dateValue({ year: y!, month: m!, day: d! }), DATE];
    }
    case 'timestamp': {
      const ms = (v instanceof Date ? v : new Date(String(v))).getTime();
      return [timestampTZValue(BigInt(ms) * 1000n), TIMESTAMPTZ];
    }
    case 'string[]':
      return [listValue((v as unknown[]).map((x) => String(x))), LIST(VARCHAR)];
    case 'integer[]':
      return [listValue((v as unknown[]).map((x) => BigInt(Math.trunc(Number(x))))), LIST(BIGINT)];
    default:
      return [String(v), VARCHAR];
  }
}

function typeFor(t: BindType): DuckDBType | undefined {
  switch (t) {
    case 'integer':
      return BIGINT;
    case 'number':
      return DOUBLE;
    case 'boolean':
      return BOOLEAN;
    case 'date':
      return DATE;
    case 'timestamp':
      return TIMESTAMPTZ;
    case 'string[]':
      return LIST(VARCHAR);
    case 'integer[]':
      return LIST(BIGINT);
    default:
      return VARCHAR;
  }
}

/** The parts of a dotted name (`schema.table`; names here are never quoted and never contain dots). */
function splitQualified(name: string): string[] {
  return name.split('.');
}

function toText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
