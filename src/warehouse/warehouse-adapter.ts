/**
 * The boundary between pqlsync and a warehouse.
 *
 * Glossary:
 * - Dialect: the SQL flavour (`duckdb`, `postgres`, `redshift`, `bigquery`, `snowflake`). Models compile per dialect.
 * - BoundSql: SQL text with placeholders in the dialect's own syntax plus the values to bind, in order. Values are
 *   never spliced into the text; only validated identifiers and enum values are (by the model compiler).
 * - Row: one result row as a plain object keyed by lower-case column names, with JS values (bigint when an
 *   integer does not fit a double, Date for timestamps, `YYYY-MM-DD` strings for dates). Values stay exact (see
 *   row-values.ts): a decimal a double would round is its digits as text, a timestamp finer than a millisecond
 *   its ISO-8601 text, and a date or timestamp outside years 1-9999 an OutOfRangeValue (never a thrown error).
 * - stream: reads a result in chunks so memory stays bounded whatever the row count.
 *
 * Adapters live in `src/warehouse/<vendor>/` and never leak their SDK's types past this file.
 */

export const DIALECTS = ['duckdb', 'postgres', 'redshift', 'bigquery', 'snowflake'] as const;
export type Dialect = (typeof DIALECTS)[number];

/** The scalar and array types a bind parameter can have. */
export const BIND_TYPES = [
  'integer',
  'number',
  'string',
  'boolean',
  'date',
  'timestamp',
  'string[]',
  'integer[]',
] as const;
export type BindType = (typeof BIND_TYPES)[number];

export interface BoundParam {
  /** The parameter's name in the source (model param or our own SQL's `:name`). */
  name: string;
  type: BindType;
  value: unknown;
}

/**
 * SQL ready for one dialect. For positional dialects (postgres `$1`, snowflake `:1`) `params[i]` is
 * placeholder i+1; for named dialects (duckdb `$name`, bigquery `@name`) each name appears once.
 */
export interface BoundSql {
  dialect: Dialect;
  sql: string;
  params: BoundParam[];
}

export type Row = Record<string, unknown>;

/**
 * What a result column holds, as far as turning it into text goes: the row hash formats dates, timestamps and
 * booleans explicitly (ISO 8601, UTC), never through session settings (SqlDialect.hashText).
 */
export type ColumnKind = 'boolean' | 'date' | 'timestamp' | 'timestamptz' | 'other';

export interface QueryResult {
  rows: Row[];
  /** Column names in order (also for an empty result). */
  columns?: string[];
  /** The kind of each column in `columns`, in order. */
  columnKinds?: ColumnKind[];
  /** Rows changed by DML, when the engine reports it. */
  rowsAffected?: number;
}

export interface StreamOptions {
  /** Rows per yielded chunk. (Default: 2,048) */
  chunkSize?: number;
}

export type WarehousePhase = 'plan' | 'stream' | 'fold';

export interface PhaseScope {
  /** Rows in the state table the phase deletes from (the sync's snapshot). */
  stateRows?: number;
}

export interface WarehouseAdapter {
  readonly dialect: Dialect;
  /**
   * The schema a session's temporary tables are named in, where the engine needs them qualified: Snowflake refuses
   * an unqualified CREATE TEMPORARY TABLE in a session without a current schema. (Default: unqualified)
   */
  readonly tempSchema?: string;
  /** Opens connections; called once before any query. */
  connect(): Promise<void>;
  /** Runs one statement and returns all its rows (use for small results only). */
  query(sql: BoundSql | string): Promise<QueryResult>;
  /** Runs one statement and yields its rows in chunks with bounded memory. */
  stream(sql: BoundSql | string, options?: StreamOptions): AsyncIterable<Row[]>;
  /** Runs `fn` inside one transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T>;
  /** Quotes an identifier (one part) for this dialect. */
  quoteIdentifier(name: string): string;
  /** Quotes a possibly dotted name (`schema.table`), part by part. */
  quoteQualified(name: string): string;
  /** True when the table exists. `schema` may be undefined for the default. */
  tableExists(schema: string, table: string): Promise<boolean>;
  /** Creates the schema (a BigQuery dataset) when missing. */
  ensureSchema(schema: string): Promise<void>;
  /**
   * Loads rows into an existing table quickly (DuckDB appender, Postgres COPY/unnest, BigQuery load job,
   * Snowflake array binds). Columns are given in order; values are JS values.
   */
  insertRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void>;
  /** Bytes the statement would scan, when the engine can say without running it (BigQuery dry run). */
  estimateBytes?(sql: BoundSql): Promise<number | undefined>;
  /**
   * Marks what a run does until the returned function is called: `plan` (the model and the diff), `stream`
   * (changes read out of the plan and state committed, for as long as the destination takes) or `fold` (the
   * outcome journal folded into the snapshot once the changes are sent: one bulk statement). A warehouse
   * embedded in this process uses it to give back the plan's memory while only streams are marked (DuckDB: a
   * lower memory_limit). Others need not implement it.
   */
  phase?(kind: WarehousePhase, scope?: PhaseScope): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
