/**
 * The embedded default warehouse: a DuckDB file through @duckdb/node-api.
 *
 * One instance per adapter; queries run on one connection, each stream on a connection of its own (a DuckDB
 * connection holds one open result at a time), each transaction on its own connection.
 */
import type * as DuckdbApi from '@duckdb/node-api';
import type {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  DuckDBValueConverter,
  JS,
  DuckDBExtractedStatements,
  DuckDBPreparedStatement,
  DuckDBResult,
  DuckDBType,
  DuckDBValue,
} from '@duckdb/node-api';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { parseByteSize } from '../../util/byte-size.js';
import { collectGarbage, heapTrimmed } from '../../util/heap.js';
import { logger } from '../../util/logger.js';
import {
  exactDecimal,
  MAX_DATE_DAYS,
  MIN_DATE_DAYS,
  OutOfRangeValue,
  timestampValue,
} from '../row-values.js';
import { lexSql } from '../../model/sql-lexer.js';
import { DUCKDB_SCRATCH } from '../sql-dialect.js';
import { createSchemaIfMissing, informationSchemaTableExists } from '../information-schema.js';

// @duckdb/node-api is CommonJS: required, not imported, so Node does not lex its 120 files for their named exports
// (an ES import of it cost about twice the CPU time, a third of a no-op run's start-up, and 11 MB more RSS).
const {
  DATE,
  DOUBLE,
  BIGINT,
  BOOLEAN,
  DuckDBInstance: Instance,
  DuckDBTypeId: TypeId,
  JSDuckDBValueConverter,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  dateValue,
  listValue,
  timestampTZValue,
} = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckdbApi;
import type {
  BindType,
  BoundParam,
  BoundSql,
  ColumnKind,
  QueryResult,
  Row,
  StreamOptions,
  PhaseScope,
  WarehouseAdapter,
  WarehousePhase,
} from '../warehouse-adapter.js';

export interface DuckdbAdapterOptions {
  /** File path, or `:memory:`. */
  path: string;
  threads?: number;
  memoryLimit?: string;
  /**
   * DuckDB's memory_limit per stream while runs only stream changes and commit state (see `phase`), when lower than
   * `memoryLimit`. (Default: none, one limit throughout; the config's default is 64MB)
   */
  streamMemoryLimit?: string;
}

/**
 * Memory a delete holds until the next checkpoint, per row of the table it deletes from, at most: DuckDB keeps a
 * transaction id per row of each 2,048-row vector the delete touches (about 16 KB a vector, measured 34 MB for
 * 4,000 deletes spread over 1,953 vectors), and cannot evict it; deletes spread over a table can touch every vector.
 */
const DELETE_BYTES_PER_ROW = 8;

/**
 * The least memory_limit the journal's fold (plus its deletes) and each checkpoint while streaming get, when
 * `streamMemoryLimit` is lower (see checkpointFullRowGroups): the fold is
 * one MERGE of every change the run sent, and what it holds pinned grows with the rows it inserts (a row group's
 * worth at a time), not with a batch. 32MB could not fold the bench's 1M-row first sync, nor 16MB 5,000 rows of
 * 2 KB; 64MB folds both, and the whole process stayed under 300 MB where memory_limit (128MB) took it to 340 MB.
 */
const FOLD_MIN_BYTES = parseByteSize('64MB');

/** Rows per DuckDB row group: what one checkpoint of a table's appended rows writes as a full group. */
const ROW_GROUP_ROWS = 122_880;

/** What an adapter shares with the transaction adapters it hands out. */
interface SharedState {
  /** memory_limit outside stream-only stretches: the configured one, or DuckDB's default as it reported it. */
  planLimit: string;
  planBytes: number;
  /** `streamMemoryLimit` in bytes, if set. */
  streamBytes: number | undefined;
  /** The memory_limit set last. */
  applied: string;
  /** Bytes added to the stream limit for the deletes of the streams marked now (see DELETE_BYTES_PER_ROW). */
  reserved: number;
  marks: Record<WarehousePhase, number>;
  /** Rows appended per table since the last checkpoint. */
  appended: Map<string, number>;
  /** The file's catalog (DuckDB names it after the file): `tableExists` qualifies names with it. */
  catalog: string;
  /**
   * Each table's columns in order, as `insertRows` last looked them up (a lookup before every append took a sixth of
   * a 1M-row first sync). Cleared by the adapter's own DDL and by a rollback; the adapter is the file's only writer.
   */
  columns: Map<string, string[]>;
}

export class DuckdbAdapter implements WarehouseAdapter {
  readonly dialect = 'duckdb' as const;
  private instance: DuckDBInstance | undefined;
  private conn: DuckDBConnection | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private shared: SharedState | undefined;

  constructor(
    private readonly options: DuckdbAdapterOptions,
    private readonly sharedConnection?: DuckDBConnection,
    shared?: SharedState,
  ) {
    this.shared = shared;
  }

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
      // State rows are checkpointed a row group at a time (see checkpointFullRowGroups); the WAL size that makes
      // DuckDB checkpoint on its own (16MB by default, about 70k snapshot rows) is raised above one row group's
      // worth, so it does not cut groups short for its vacuum to merge and rewrite later.
      checkpoint_threshold: '64MB',
    };
    if (this.options.threads) config.threads = String(this.options.threads);
    if (this.options.memoryLimit) config.memory_limit = this.options.memoryLimit;
    try {
      this.instance = await Instance.create(this.options.path, config);
      this.conn = await this.instance.connect();
      // Per-run working tables live here: in memory, shared by this instance's connections, never on disk.
      await this.conn.run(`attach if not exists ':memory:' as ${DUCKDB_SCRATCH}`);
      const reader = await this.conn.runAndReadAll(
        `select current_setting('memory_limit'), current_database()`,
      );
      const [limit, catalog] = reader.getRows()[0] ?? [];
      const planLimit = this.options.memoryLimit ?? String(limit);
      const streamLimit = this.options.streamMemoryLimit;
      this.shared = {
        planLimit,
        planBytes: parseByteSize(planLimit),
        streamBytes: streamLimit ? parseByteSize(streamLimit) : undefined,
        applied: planLimit,
        catalog: String(catalog),
        reserved: 0,
        marks: { plan: 0, stream: 0, fold: 0 },
        appended: new Map(),
        columns: new Map(),
      };
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
    const ddl = DDL.test(text);
    return this.serial(async () => {
      try {
        const conn = this.connection();
        const reader = await prepareOne(
          conn,
          text,
          values,
          types,
          (p) => p.runAndReadAll(),
          () => conn.runAndReadAll(text, values, types),
        );
        const names = reader.columnNames();
        const kinds = reader.columnTypes().map((t) => t.typeId);
        const rows = reader.convertRows(rowValue).map((r) => toRow(names, r));
        return { rows, columns: names, columnKinds: kinds.map(duckdbKind), rowsAffected: reader.rowsChanged };
      } catch (err) {
        throw queryError(err, text);
      } finally {
        // Once the statement has run (or failed): no append that looked up the columns before it keeps them.
        if (ddl) this.shared?.columns.clear();
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
      result = await prepareOne(
        conn,
        text,
        values,
        types,
        (p) => p.stream(),
        () => conn.stream(text, values, types),
      );
    } catch (err) {
      conn.closeSync();
      throw queryError(err, text);
    }
    try {
      const names = result.columnNames();
      const pending: Row[] = [];
      for (let fetched = 1; ; fetched++) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        if (fetched % GC_EVERY_CHUNKS === 0 && !heapTrimmed()) collectGarbage();
        for (const r of chunk.convertRows(rowValue)) pending.push(toRow(names, r));
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
    const tx = new DuckdbAdapter(this.options, conn, this.shared);
    await tx.connect();
    try {
      await conn.run('BEGIN TRANSACTION');
      const out = await fn(tx);
      await conn.run('COMMIT');
      await this.checkpointFullRowGroups();
      return out;
    } catch (err) {
      // A table the transaction created or altered is gone again.
      this.shared?.columns.clear();
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

  /**
   * Whether DuckDB binds `<file>.schema.table` (a table or view of the file, prepared as `select *`, never run):
   * 0.1 ms, where the `information_schema.tables` lookup took 2-6 ms (it lists every table of every attached
   * database, the scratch one included) and a run made four. Names match as DuckDB matches them (case-insensitively).
   * Any other refusal than the table's or schema's absence (a view over a dropped table) asks the information schema.
   */
  async tableExists(schema: string, table: string): Promise<boolean> {
    const catalog = this.shared?.catalog;
    if (catalog === undefined) return informationSchemaTableExists(this, schema, table);
    const name = [catalog, schema, table].map((p) => this.quoteIdentifier(p)).join('.');
    const bound = await this.serial(async () => {
      try {
        (await this.connection().prepare(`select * from ${name}`)).destroySync();
        return true;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const absent = [
          `Catalog Error: Table with name ${table} does not exist!`,
          `Catalog Error: Table with name "${schema}.${table}" does not exist because schema "${schema}" does not exist.`,
        ];
        return absent.some((a) => message.startsWith(a)) ? false : undefined;
      }
    });
    return bound ?? informationSchemaTableExists(this, schema, table);
  }

  ensureSchema(schema: string): Promise<void> {
    return createSchemaIfMissing(this, schema);
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
      // Outside a transaction the appender's flush would commit, writing and syncing the WAL inside a synchronous
      // call: the event loop stood still for it (6-25 ms a batch here; a sync's journal appends one per batch, and
      // the CRM's answers and the next requests waited). In a transaction the flush only fills the transaction,
      // and the COMMIT, the write and sync, runs on DuckDB's side like any statement.
      const own = !this.sharedConnection;
      let open = false;
      try {
        if (own) {
          await conn.run('BEGIN TRANSACTION');
          open = true;
        }
        // The table's columns as DuckDB binds `select *` (prepared, never run), where the appender will write: a
        // tenth of the time of a `duckdb_columns()` query, which lists every column of every table attached.
        const describe = async () => {
          let prepared: DuckDBPreparedStatement;
          try {
            prepared = await conn.prepare(`select * from ${this.quoteQualified(`${schema}.${name}`)}`);
          } catch (err) {
            if (/Catalog Error: Table with name .* does not exist/.test(String(err))) return [];
            throw err;
          }
          try {
            return Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
          } finally {
            prepared.destroySync();
          }
        };
        const cache = this.shared?.columns;
        let tableColumns = cache?.get(table) ?? (await describe());
        let unknown = columns.filter((c) => !tableColumns.includes(c));
        // A column the cached list lacks: look again before refusing.
        if (unknown.length > 0 && cache?.has(table)) {
          tableColumns = await describe();
          unknown = columns.filter((c) => !tableColumns.includes(c));
        }
        if (tableColumns.length === 0 || unknown.length > 0) {
          throw new Error(
            tableColumns.length === 0 ? `no table ${table}` : `${table} has no column ${unknown.join(', ')}`,
          );
        }
        const from = tableColumns.map((c) => columns.indexOf(c));
        cache?.set(table, tableColumns);
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
        appender.closeSync();
        appender = undefined;
        if (open) {
          open = false;
          await conn.run('COMMIT');
        }
        const appended = this.shared?.appended;
        appended?.set(table, (appended.get(table) ?? 0) + rows.length);
      } catch (err) {
        this.shared?.columns.delete(table);
        throw queryError(err, `insert into ${table}`);
      } finally {
        try {
          appender?.closeSync();
        } catch {
          // a failed flush already reported the error; closing flushes nothing more
        }
        if (open) {
          try {
            await conn.run('ROLLBACK');
          } catch {
            // the transaction may already be aborted
          }
        }
      }
    });
    // Outside a transaction the rows are committed now; inside one, transaction() checks after its commit.
    if (!this.sharedConnection) await this.checkpointFullRowGroups();
  }

  /**
   * With `streamMemoryLimit`, runs under it (once per stream) while only streams are marked, plus room for the
   * marked streams' deletes (DELETE_BYTES_PER_ROW per state row): DuckDB gives back what the plan held (for 1M
   * changes, hundreds of MB that would otherwise stay in the process for as long as the destination takes) and
   * spills the plan table to its temp directory, which the stream reads once, in order. Should DuckDB still run out
   * of memory inside a delete, DuckDB 1.5 refuses to delete those rows again until the database is reopened: the
   * error's hint says so.
   */
  async phase(kind: WarehousePhase, scope: PhaseScope = {}): Promise<() => Promise<void>> {
    const shared = this.shared;
    if (!shared || this.sharedConnection) return async () => {};
    const reserve = kind === 'plan' ? 0 : DELETE_BYTES_PER_ROW * (scope.stateRows ?? 0);
    shared.marks[kind]++;
    shared.reserved += reserve;
    await this.applyMemoryLimit();
    let ended = false;
    return async () => {
      if (ended) return;
      ended = true;
      shared.marks[kind]--;
      shared.reserved -= reserve;
      await this.applyMemoryLimit();
    };
  }

  private async applyMemoryLimit(): Promise<void> {
    const shared = this.shared!;
    // The stream limit for each stream marked (each commits batches of its own), at least FOLD_MIN_BYTES for each
    // fold, plus room for their deletes; only when below memory_limit.
    const { marks } = shared;
    const streamBytes =
      shared.streamBytes === undefined
        ? Infinity
        : shared.streamBytes * marks.stream +
          Math.max(shared.streamBytes, FOLD_MIN_BYTES) * marks.fold +
          shared.reserved;
    const want: WarehousePhase =
      marks.stream + marks.fold > 0 && marks.plan === 0 && streamBytes < shared.planBytes ? 'stream' : 'plan';
    const limit = want === 'stream' ? `${Math.ceil(streamBytes)}B` : shared.planLimit;
    if (limit === shared.applied) return;
    const lowering = want === 'stream' && shared.applied === shared.planLimit;
    shared.applied = limit;
    // What DuckDB cannot evict (deletes and appends since the last checkpoint) goes to disk first; if another
    // connection's transaction keeps the checkpoint from running, lowering may fail (see below). Not when DuckDB
    // already holds less than the lower limit (a plan of a few thousand rows): nothing needs evicting, and the
    // checkpoint's writes and syncs cost a small run more than anything else it did to start streaming.
    if (lowering && (await this.memoryInUse()) > streamBytes) await this.checkpoint();
    // Set by value: after `reset memory_limit` DuckDB 1.5 reports its default again but keeps its buffer pool at
    // the lower limit (a 1M-row plan then runs 1.8x slower). DuckDB's own default comes back as it reported it,
    // rounded to a tenth of its unit (18.8 GiB is set as 18.7 GiB).
    const setLimit = (value: string) => this.query(`set memory_limit = '${value.replace(/'/g, "''")}'`);
    try {
      await setLimit(limit);
    } catch (err) {
      if (want === 'plan') throw err;
      // DuckDB could not evict enough to fit the lower limit (pinned memory above it): the run carries on under
      // memory_limit, only holding more memory while it streams.
      await setLimit(shared.planLimit);
      shared.applied = shared.planLimit;
      logger().warn(
        { err: err instanceof Error ? err.message.split('\n')[0] : String(err), streamMemoryLimit: limit },
        'could not lower DuckDB memory_limit to stream_memory_limit; streaming under memory_limit',
      );
    }
  }

  /**
   * Checkpoints once a table has a full row group of appended rows. Left to itself DuckDB checkpoints by WAL size,
   * which cuts a table's appended rows into partial row groups that its vacuum then merges by rewriting them:
   * streaming 1M state rows that way cost about 10-20 MB more peak memory, a quarter more file (95 vs 74 MB).
   */
  private async checkpointFullRowGroups(): Promise<void> {
    const shared = this.shared;
    if (!shared || ![...shared.appended.values()].some((n) => n >= ROW_GROUP_ROWS)) return;
    // A checkpoint writes a row group of every table at once, whatever the batch: under a stream limit below
    // FOLD_MIN_BYTES it gets that much for as long as it runs (under 32MB, DuckDB 1.5 failed the checkpoint of a
    // 1M-row first sync's journal fatally, invalidating the database for the rest of the process).
    const floor = Math.min(FOLD_MIN_BYTES, shared.planBytes);
    const raise = shared.applied !== shared.planLimit && parseByteSize(shared.applied) < floor;
    if (raise) await this.query(`set memory_limit = '${floor}B'`);
    try {
      await this.checkpoint();
    } finally {
      if (raise) {
        try {
          await this.query(`set memory_limit = '${shared.applied}'`);
        } catch {
          // Pinned memory above the lower limit: the stream goes on under the floor.
          shared.applied = `${floor}B`;
        }
      }
    }
  }

  /** Bytes DuckDB's buffer manager holds now, over all its uses (the base tables, in-memory tables, hash tables). */
  private async memoryInUse(): Promise<number> {
    const { rows } = await this.query('select sum(memory_usage_bytes) as used from duckdb_memory()');
    return Number(rows[0]?.used ?? 0);
  }

  /** A checkpoint now, if DuckDB can take one; the appended-row counts start over. */
  private async checkpoint(): Promise<void> {
    this.shared?.appended.clear();
    try {
      await this.query('checkpoint');
    } catch {
      // Another connection's transaction is open: DuckDB checkpoints on its own when the WAL grows.
    }
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
 * streamed chunks pile up (about 250 MB over 1M rows). So the stream asks for a collection every so many chunks,
 * unless a stream of changes is running (`heapTrimmed`): its own trimming, a collection each time the heap has grown
 * by half, frees the chunks as well. Both together cost a 1M-row first sync about a fifth more CPU time for the same
 * peak RSS (255-260 MB); neither peaked at 284-304 MB, over the 300 MB target.
 */
const GC_EVERY_CHUNKS = 16;

/** A statement (of the text's, if it holds several) that may create, change or drop a table: see `columns`. */
const DDL = /(?:^|;)(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(?:create|alter|drop|attach|detach|import)\b/i;

function queryError(err: unknown, sql: string): PqlsyncError {
  const message = err instanceof Error ? err.message : String(err);
  return new PqlsyncError('WAREHOUSE_QUERY_FAILED', `DuckDB: ${message}`, {
    cause: err,
    ...(/Out of Memory/i.test(message)
      ? {
          hint: 'raise warehouse.memory_limit (warehouse.stream_memory_limit if it happened while changes were being sent)',
        }
      : /Conflict on tuple deletion/i.test(message)
        ? {
            // DuckDB 1.5: rows a delete was working on when it ran out of memory cannot be deleted again until the
            // database is reopened (in any process).
            hint: 'DuckDB ran out of memory in an earlier delete while this database was open; it clears when the database is reopened (the next run of the CLI; the scheduler reopens it once no run is going)',
          }
        : {}),
    details: { sql: sql.length > 2000 ? `${sql.slice(0, 2000)}...` : sql },
  });
}

/**
 * Runs `sql` as exactly one prepared statement (with `values` bound). The client's own `run`/`stream` execute every
 * statement but the last before preparing it, so a model that closes its wrapper (`select ...) m limit 0; delete
 * from ...`) would run its smuggled statements even in a `plan`; here SQL with more than one statement fails before
 * anything runs. Text DuckDB cannot split into statements (a parse error, or only comments) goes to `unparsed`,
 * the client's own call: it parses the whole text before running any of it, so it runs nothing there either and
 * reports the parse error (or an empty result) as before.
 */
async function prepareOne<T>(
  conn: DuckDBConnection,
  sql: string,
  values: Record<string, DuckDBValue> | undefined,
  types: Record<string, DuckDBType | undefined> | undefined,
  run: (prepared: DuckDBPreparedStatement) => Promise<T>,
  unparsed: () => Promise<T>,
): Promise<T> {
  let extracted: DuckDBExtractedStatements;
  try {
    extracted = await conn.extractStatements(sql);
  } catch {
    // Should the client fail to split text that does hold statements, pqlsync's lexer still refuses two of them.
    const separators = lexSql(sql, 'duckdb').separators.length;
    if (separators > 0)
      throw new Error(`expected one SQL statement, found ${separators + 1}; nothing was run`);
    try {
      return await unparsed();
    } catch (err) {
      // With values the client extracts too, and prefixes the parse error; keep DuckDB's own message.
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(message.replace(/^Failed to extract statements: /, ''), { cause: err });
    }
  }
  if (extracted.count !== 1) {
    throw new Error(`expected one SQL statement, found ${extracted.count}; nothing was run`);
  }
  const prepared = await extracted.prepare(0);
  try {
    if (values) prepared.bind(values, types);
    return await run(prepared);
  } finally {
    prepared.destroySync();
  }
}

/** See ColumnKind. */
function duckdbKind(id: DuckDBTypeId): ColumnKind {
  switch (id) {
    case TypeId.BOOLEAN:
      return 'boolean';
    case TypeId.DATE:
      return 'date';
    case TypeId.TIMESTAMP:
    case TypeId.TIMESTAMP_S:
    case TypeId.TIMESTAMP_MS:
    case TypeId.TIMESTAMP_NS:
      return 'timestamp';
    case TypeId.TIMESTAMP_TZ:
      return 'timestamptz';
    default:
      return 'other';
  }
}

function toRow(names: string[], values: unknown[]): Row {
  const row: Row = {};
  for (let i = 0; i < names.length; i++) row[names[i]!] = normalise(values[i]);
  return row;
}

function normalise(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
  }
  return v;
}

/**
 * DuckDB values → Row values (see row-values.ts): DuckDB's JS converter, except that DECIMALs keep their digits
 * (it makes them doubles), dates are `YYYY-MM-DD`, times and intervals are text, timestamps keep sub-millisecond
 * digits, and dates and timestamps outside years 1-9999 become OutOfRangeValues (it throws "DATE value out of
 * range for JS Date", failing the whole result over one row).
 */
/** DuckDB's ±infinity dates, in days. */
const INFINITE_DAYS = 2_147_483_647;

const rowValue: DuckDBValueConverter<unknown> = (value, type, converter) => {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case TypeId.DECIMAL:
      return exactDecimal(String(value));
    case TypeId.DATE: {
      const days = (value as DuckDBDateValue).days;
      if (days >= MIN_DATE_DAYS && days <= MAX_DATE_DAYS)
        return new Date(days * 86_400_000).toISOString().slice(0, 10);
      // The client prints -infinity as a date 5.8 million years BC.
      return new OutOfRangeValue(
        'date',
        Math.abs(days) === INFINITE_DAYS ? `${days < 0 ? '-' : ''}infinity` : String(value),
      );
    }
    case TypeId.TIMESTAMP:
    case TypeId.TIMESTAMP_TZ:
      return timestampValue((value as DuckDBTimestampValue).micros, 1_000_000n, () => String(value));
    case TypeId.TIMESTAMP_S:
      return timestampValue((value as DuckDBTimestampSecondsValue).seconds, 1n, () => String(value));
    case TypeId.TIMESTAMP_MS:
      return timestampValue((value as DuckDBTimestampMillisecondsValue).millis, 1000n, () => String(value));
    case TypeId.TIMESTAMP_NS:
      return timestampValue((value as DuckDBTimestampNanosecondsValue).nanos, 1_000_000_000n, () =>
        String(value),
      );
    case TypeId.TIME:
    case TypeId.TIME_NS:
    case TypeId.TIME_TZ:
    case TypeId.INTERVAL:
      // DuckDB's text (`12:34:56.789`, `3 days`): the client's microsecond counts (bigints) mean nothing in a CRM.
      return String(value);
    default:
      return JSDuckDBValueConverter(value, type, converter as DuckDBValueConverter<JS>);
  }
};

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
