/**
 * The few SQL differences pqlsync's own statements (state tables, plan, commit) need per warehouse.
 *
 * Glossary:
 * - SqlDialect: type names, quoting, the row-hash recipe and placeholders for one warehouse.
 * - SqlBuilder: collects bind parameters while a statement is written, so values are never spliced:
 *   `b.param(value, 'string')` returns the dialect's placeholder (`$name`, `$3`, `@p3`, `:3`).
 */
import type {
  BindType,
  BoundParam,
  BoundSql,
  ColumnKind,
  Dialect,
  Row,
  WarehouseAdapter,
} from './warehouse-adapter.js';

export interface SqlDialect {
  readonly name: Dialect;
  readonly types: { text: string; bigint: string; double: string; boolean: string; timestamp: string };
  /**
   * A state table's column type, in its CREATE TABLE, for text whose values are nearly all distinct (keys, row
   * hashes, JSON). DuckDB: FSST compression named up front. Left to choose, DuckDB's checkpoint also analyses such a
   * column for a dictionary, holding the distinct strings of each row group it writes (about 40 MB more peak memory
   * while a first sync of 1M rows commits its snapshot), only to pick FSST in the end. (Default: `types.text`)
   */
  readonly distinctText?: string;
  quote(identifier: string): string;
  /**
   * Quotes a result column by the name the warehouse reported for it (exact case). (Default: `quote`; Snowflake's
   * `quote` upper-cases plain names, this never does.)
   */
  quoteColumn?(name: string): string;
  /** `schema.table`, quoted. */
  table(schema: string, table: string): string;
  /** Text form of any value (the hash recipe v1 used it for keys and values). */
  castText(expr: string): string;
  /**
   * Text of a value for the row hash and the key: dates as `YYYY-MM-DD`, timestamps as ISO 8601 with
   * microseconds (`Z`, in UTC, for time-zone-aware ones), booleans as `true`/`false`, all written out in the SQL so
   * no session setting (TimeZone, DateStyle, Snowflake's *_OUTPUT_FORMAT) changes them; other kinds as `castText`.
   */
  hashText(expr: string, kind: ColumnKind): string;
  /**
   * The row hash (recipe v2) over texts (`hashText`, or literals), hex md5 of each text length-prefixed
   * (`<length>:<text>`) or `N` for NULL, concatenated: no two lists of values share an input (hashes are compared
   * only within one engine).
   */
  rowHash(texts: string[]): string;
  /**
   * The row hash of recipe v1 (`|`-joined `castText`s with `\N` for NULL: ambiguous, and dates through session
   * settings), kept to carry a snapshot's hashes over to v2 without resending anything.
   */
  legacyRowHash(exprs: string[]): string;
  /**
   * `CREATE [TEMP] TABLE name AS select`, replacing an existing one. `working`: a per-run working table, rebuilt
   * every run, so it may skip durability (Postgres: UNLOGGED, no WAL; lost on a server crash, which costs nothing).
   */
  createTableAs(name: string, select: string, options?: { temporary?: boolean; working?: boolean }): string;
  /**
   * Statements to run before `createTableAs` (Postgres and Redshift have no `create or replace table`, so the old
   * table is dropped first). Empty where `createTableAs` replaces by itself.
   */
  beforeCreateTableAs(name: string, options?: { temporary?: boolean }): string[];
  /** Current timestamp expression. */
  now(): string;
  /** Placeholder for the parameter at 1-based `position` named `name`. */
  placeholder(name: string, position: number): string;
  /** True when a repeated name reuses one bind (named placeholders). */
  readonly namedParams: boolean;
  /**
   * Where per-run working tables (`<sync>__plan`; elsewhere also `__current`, `__dups`) live when not in the state
   * schema: DuckDB keeps them in an in-memory attached database, rebuilt every run and never written to the file.
   */
  scratchTable?(name: string): string;
  /**
   * Set where the plan reads the model once, inside its diff statement. `marked-rows` (DuckDB): every model and
   * snapshot row leaves one row in the diff, a change with its values and any other row only its op, so the counts
   * come from the diff; the previous values are joined to the changes after it. `materialized-cte` (Postgres 12+):
   * the model is materialised inside the statement (`with ... as materialized`), counted and diffed, the previous
   * values carried through the diff's join. Elsewhere the plan materialises the model into `<sync>__current` first.
   */
  readonly onePassPlan?: 'marked-rows' | 'materialized-cte';
  /**
   * With `marked-rows`: a model that only scans tables (its plan, by `explain (format json)`) is counted by reading
   * its key column again instead, and the diff keeps the planned rows alone. (Default: false)
   */
  readonly countTableModelsApart?: boolean;
  /** `expr` is one of `values` (bound as an array, or one bind per value where the engine has no array binds). */
  inList(expr: string, b: SqlBuilder, values: readonly string[]): string;
  /**
   * Most values one `inList` takes (engines with one bind per value: Snowflake allows 16,384 list items, Redshift
   * 32,767 parameters per statement); `queryByList` splits longer lists. (Default: no limit)
   */
  readonly maxListItems?: number;
}

/**
 * Runs a statement over `values` in lists of at most `d.maxListItems` (one statement per list; inside a
 * transaction when `wh` is one) and returns the rows of all of them. `sql` writes the statement for one list.
 */
export async function queryByList(
  wh: WarehouseAdapter,
  d: SqlDialect,
  values: readonly string[],
  sql: (b: SqlBuilder, list: readonly string[]) => string,
): Promise<Row[]> {
  const size = d.maxListItems ?? Math.max(1, values.length);
  const rows: Row[] = [];
  for (let i = 0; i < values.length; i += size) {
    const b = new SqlBuilder(d);
    const text = sql(b, values.slice(i, i + size));
    rows.push(...(await wh.query(b.build(text))).rows);
  }
  return rows;
}

const standardHash = (castText: (e: string) => string) => (exprs: string[]) =>
  `md5(${exprs.map((e) => `coalesce(${castText(e)}, '\\N')`).join(` || '|' || `) || "''"})`;

/**
 * Recipe v2's input: `<length>:<text>` per non-null text, `N` per NULL, concatenated (a text's length is
 * counted in the engine's own unit; within one engine the parse is unique). `lengthText` spells the length as text.
 */
const lengthPrefixed = (texts: string[], lengthText: (t: string) => string, coalesce = 'coalesce'): string =>
  texts.length === 0
    ? "''"
    : texts.map((t) => `${coalesce}(${lengthText(t)} || ':' || ${t}, 'N')`).join(' || ');

/** ISO 8601 patterns of `to_char` (Postgres, Redshift) and Snowflake's TO_CHAR (FF6 instead of US). */
const pgHashText =
  (castText: (e: string) => string, boolean: (e: string) => string) =>
  (e: string, kind: ColumnKind): string => {
    switch (kind) {
      case 'date':
        return `to_char(${e}, 'YYYY-MM-DD')`;
      case 'timestamp':
        return `to_char(${e}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
      case 'timestamptz':
        return `to_char(${e} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
      case 'boolean':
        return boolean(e);
      default:
        return castText(e);
    }
  };

/** The in-memory database the DuckDB adapter attaches for per-run working tables. */
export const DUCKDB_SCRATCH = 'pqlsync_scratch';

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  types: {
    text: 'varchar',
    bigint: 'bigint',
    double: 'double',
    boolean: 'boolean',
    timestamp: 'timestamptz',
  },
  distinctText: 'varchar using compression fsst',
  quote: (id) => `"${id.replace(/"/g, '""')}"`,
  table(schema, table) {
    return `${this.quote(schema)}.${this.quote(table)}`;
  },
  castText: (e) => `cast(${e} as varchar)`,
  hashText: (e, kind) => {
    switch (kind) {
      case 'date':
        return `strftime(${e}, '%Y-%m-%d')`;
      case 'timestamp':
        return `strftime(${e}, '%Y-%m-%dT%H:%M:%S.%f')`;
      case 'timestamptz':
        return `strftime(timezone('UTC', ${e}), '%Y-%m-%dT%H:%M:%S.%fZ')`;
      default:
        return `cast(${e} as varchar)`;
    }
  },
  rowHash: (texts) => `md5(${lengthPrefixed(texts, (t) => `cast(length(${t}) as varchar)`)})`,
  // concat_ws gives the same text as the `||` chain (no argument is NULL after coalesce), one allocation per row.
  legacyRowHash: (exprs) =>
    `md5(concat_ws('|', ${exprs.map((e) => `coalesce(cast(${e} as varchar), '\\N')`).join(', ')}))`,
  createTableAs: (name, select, options) =>
    `create or replace ${options?.temporary ? 'temp ' : ''}table ${name} as ${select}`,
  beforeCreateTableAs: () => [],
  now: () => 'current_timestamp',
  placeholder: (name) => `$${name}`,
  namedParams: true,
  scratchTable: (name) => `${DUCKDB_SCRATCH}.main."${name.replace(/"/g, '""')}"`,
  onePassPlan: 'marked-rows',
  countTableModelsApart: true,
  // A semi-join on the unnested list: hashed, unlike `= any(list)` which compares row by row.
  inList: (expr, b, values) => `${expr} in (select unnest(${b.param(values, 'string[]')}))`,
};

/** Postgres and Redshift have no `create or replace table` (see beforeCreateTableAs); only Postgres has UNLOGGED. */
const postgresCreateTableAs =
  ({ unloggedWorkingTables }: { unloggedWorkingTables: boolean }): SqlDialect['createTableAs'] =>
  (name, select, options) =>
    options?.temporary
      ? `create temp table ${name} as ${select}`
      : `create ${unloggedWorkingTables && options?.working ? 'unlogged ' : ''}table ${name} as ${select}`;

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  types: {
    text: 'text',
    bigint: 'bigint',
    double: 'double precision',
    boolean: 'boolean',
    timestamp: 'timestamptz',
  },
  quote: (id) => `"${id.replace(/"/g, '""')}"`,
  table(schema, table) {
    return `${this.quote(schema)}.${this.quote(table)}`;
  },
  castText: (e) => `cast(${e} as text)`,
  hashText: pgHashText(
    (e) => `cast(${e} as text)`,
    (e) => `cast(${e} as text)`,
  ),
  rowHash: (texts) => `md5(${lengthPrefixed(texts, (t) => `cast(length(${t}) as text)`)})`,
  legacyRowHash: standardHash((e) => `cast(${e} as text)`),
  createTableAs: postgresCreateTableAs({ unloggedWorkingTables: true }),
  beforeCreateTableAs: (name) => [`drop table if exists ${name}`],
  onePassPlan: 'materialized-cte',
  now: () => 'now()',
  placeholder: (_name, position) => `$${position}`,
  namedParams: false,
  inList: (expr, b, values) => `${expr} = any(${b.param(values, 'string[]')}::text[])`,
};

/** One bind per value, for engines without array binds (Redshift, Snowflake's Node driver). */
const expandedInList = (expr: string, b: SqlBuilder, values: readonly string[]): string =>
  values.length === 0 ? '1 = 0' : `${expr} in (${values.map((v) => b.param(v, 'string')).join(', ')})`;

/**
 * Redshift: Postgres syntax without array binds, row constructors or `create or replace table`; an unsized
 * VARCHAR is VARCHAR(256), so text columns get the maximum; `getdate()` instead of `now()`.
 */
export const redshiftDialect: SqlDialect = {
  ...postgresDialect,
  name: 'redshift',
  types: {
    text: 'varchar(65535)',
    bigint: 'bigint',
    double: 'float8',
    boolean: 'boolean',
    timestamp: 'timestamptz',
  },
  castText: (e) => `cast(${e} as varchar(65535))`,
  // Redshift has neither `with ... as materialized` nor UNLOGGED tables.
  onePassPlan: undefined,
  createTableAs: postgresCreateTableAs({ unloggedWorkingTables: false }),
  // Redshift cannot cast BOOLEAN to VARCHAR.
  hashText: pgHashText(
    (e) => `cast(${e} as varchar(65535))`,
    (e) => `case when ${e} then 'true' when not ${e} then 'false' end`,
  ),
  rowHash: (texts) => `md5(${lengthPrefixed(texts, (t) => `cast(length(${t}) as varchar(12))`, 'nvl')})`,
  legacyRowHash: (exprs) =>
    `md5(${exprs.map((e) => `nvl(cast(${e} as varchar(65535)), '\\\\N')`).join(` || '|' || `) || "''"})`,
  now: () => 'getdate()',
  inList: expandedInList,
  // 32,767 parameters per statement; the lists' statements bind a few more.
  maxListItems: 32_000,
};

/**
 * BigQuery (GoogleSQL): backtick quoting, `@name` binds with explicit types, `md5` returning BYTES, a dataset
 * as the state schema, and `create or replace [temp] table` (temp tables live in the adapter's session).
 */
export const bigqueryDialect: SqlDialect = {
  name: 'bigquery',
  types: { text: 'STRING', bigint: 'INT64', double: 'FLOAT64', boolean: 'BOOL', timestamp: 'TIMESTAMP' },
  quote: (id) => `\`${id.replace(/[\\`]/g, (c) => `\\${c}`)}\``,
  table(schema, table) {
    return `${this.quote(schema)}.${this.quote(table)}`;
  },
  castText: (e) => `cast(${e} as STRING)`,
  hashText: (e, kind) => {
    switch (kind) {
      case 'date':
        return `format_date('%Y-%m-%d', ${e})`;
      case 'timestamp':
        return `format_datetime('%Y-%m-%dT%H:%M:%E6S', ${e})`;
      case 'timestamptz':
        return `format_timestamp('%Y-%m-%dT%H:%M:%E6SZ', ${e}, 'UTC')`;
      default:
        return `cast(${e} as STRING)`;
    }
  },
  rowHash: (texts) => `to_hex(md5(${lengthPrefixed(texts, (t) => `cast(length(${t}) as STRING)`)}))`,
  // BigQuery string literals treat backslash as an escape: '\\N' is the two characters \N.
  legacyRowHash: (exprs) =>
    `to_hex(md5(${exprs.map((e) => `coalesce(cast(${e} as STRING), '\\\\N')`).join(` || '|' || `) || "''"}))`,
  createTableAs: (name, select, options) =>
    `create or replace ${options?.temporary ? 'temp ' : ''}table ${name} as ${select}`,
  beforeCreateTableAs: () => [],
  now: () => 'current_timestamp()',
  placeholder: (name) => `@${name}`,
  namedParams: true,
  inList: (expr, b, values) => `${expr} in unnest(${b.param(values, 'string[]')})`,
};

const SNOWFLAKE_PLAIN = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * Snowflake's own spelling of an identifier: a plain name is stored upper case (so `"USER_ID"` is the column a
 * model's unquoted `user_id` made, and reserved words like `order` still work); anything else keeps its case.
 */
export function snowflakeQuote(id: string): string {
  return `"${(SNOWFLAKE_PLAIN.test(id) ? id.toUpperCase() : id).replace(/"/g, '""')}"`;
}

/**
 * Snowflake: identifiers quoted in their stored case (above), `:N` positional binds, no array binds in the Node
 * driver, backslash escapes in strings.
 */
export const snowflakeDialect: SqlDialect = {
  name: 'snowflake',
  types: {
    text: 'VARCHAR',
    bigint: 'NUMBER(38,0)',
    double: 'FLOAT',
    boolean: 'BOOLEAN',
    timestamp: 'TIMESTAMP_TZ',
  },
  quote: snowflakeQuote,
  quoteColumn: (name) => `"${name.replace(/"/g, '""')}"`,
  table(schema, table) {
    return `${this.quote(schema)}.${this.quote(table)}`;
  },
  castText: (e) => `cast(${e} as VARCHAR)`,
  hashText: (e, kind) => {
    switch (kind) {
      case 'date':
        return `to_char(${e}, 'YYYY-MM-DD')`;
      case 'timestamp':
        return `to_char(${e}, 'YYYY-MM-DD"T"HH24:MI:SS.FF6')`;
      case 'timestamptz':
        return `to_char(convert_timezone('UTC', ${e}), 'YYYY-MM-DD"T"HH24:MI:SS.FF6"Z"')`;
      default:
        return `cast(${e} as VARCHAR)`;
    }
  },
  rowHash: (texts) => `md5(${lengthPrefixed(texts, (t) => `cast(length(${t}) as VARCHAR)`)})`,
  legacyRowHash: (exprs) =>
    `md5(${exprs.map((e) => `coalesce(cast(${e} as VARCHAR), '\\\\N')`).join(` || '|' || `) || "''"})`,
  // Working tables are rebuilt every run: TRANSIENT, so they carry no Fail-safe storage.
  createTableAs: (name, select, options) =>
    `create or replace ${options?.temporary ? 'temporary ' : options?.working ? 'transient ' : ''}table ${name} as ${select}`,
  beforeCreateTableAs: () => [],
  now: () => 'current_timestamp()',
  placeholder: (_name, position) => `:${position}`,
  namedParams: false,
  inList: expandedInList,
  maxListItems: 16_384,
};

const dialects = new Map<Dialect, SqlDialect>([
  ['duckdb', duckdbDialect],
  ['postgres', postgresDialect],
  ['redshift', redshiftDialect],
  ['bigquery', bigqueryDialect],
  ['snowflake', snowflakeDialect],
]);

/** Registers a dialect (warehouse adapters call this for theirs). */
export function registerSqlDialect(dialect: SqlDialect): void {
  dialects.set(dialect.name, dialect);
}

export function sqlDialect(name: Dialect): SqlDialect {
  const d = dialects.get(name);
  if (!d) throw new Error(`no SQL dialect registered for ${name}`);
  return d;
}

/** A session temporary table's name: in `schema` when the adapter names one (see WarehouseAdapter.tempSchema). */
export function tempTableName(d: SqlDialect, name: string, schema: string | undefined): string {
  return schema ? d.table(schema, name) : d.quote(name);
}

/** Collects bind parameters for one statement. */
export class SqlBuilder {
  readonly params: BoundParam[] = [];
  private readonly byName = new Map<string, string>();

  constructor(readonly dialect: SqlDialect) {}

  /** Adds a value and returns its placeholder. Named dialects reuse a name's placeholder. */
  param(value: unknown, type: BindType, name?: string): string {
    const n = name ?? `p${this.params.length + 1}`;
    if (this.dialect.namedParams) {
      const existing = this.byName.get(n);
      if (existing) return existing;
    }
    this.params.push({ name: n, type, value });
    const ph = this.dialect.placeholder(n, this.params.length);
    if (this.dialect.namedParams) this.byName.set(n, ph);
    return ph;
  }

  build(sql: string): BoundSql {
    return { dialect: this.dialect.name, sql, params: [...this.params] };
  }
}
