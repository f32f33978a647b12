/**
 * The in-memory DuckDB behind the local BigQuery and Snowflake sandboxes: runs already-translated SQL one statement
 * at a time on one connection (so temp tables and transactions behave like one vendor session) and returns the
 * columns with a vendor-neutral kind and each value as the text a vendor's JSON result would carry.
 */
import {
  DuckDBConnection,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  LIST,
  VARCHAR,
  listValue,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';

export const VALUE_KINDS = [
  'integer',
  'float',
  'decimal',
  'boolean',
  'date',
  'timestamp',
  'text',
  'list',
] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

export interface EngineColumn {
  name: string;
  kind: ValueKind;
  /** Decimal precision and scale (decimal columns only). */
  precision?: number;
  scale?: number;
}

/** One cell: text (timestamps as epoch microseconds, dates as `YYYY-MM-DD`), a list of cells, or null. */
export type EngineCell = string | null | EngineCell[];

export interface EngineResult {
  columns: EngineColumn[];
  rows: EngineCell[][];
  rowsChanged: number;
}

/** Params are bound as text (or lists of text); the translated SQL casts them to their types. */
export type EngineParams = Record<string, string | null | (string | null)[]>;

function kindOf(t: DuckDBType): ValueKind {
  switch (t.typeId) {
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
      return 'integer';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'float';
    case DuckDBTypeId.DECIMAL:
      return 'decimal';
    case DuckDBTypeId.BOOLEAN:
      return 'boolean';
    case DuckDBTypeId.DATE:
      return 'date';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'timestamp';
    case DuckDBTypeId.LIST:
      return 'list';
    default:
      return 'text';
  }
}

function cell(v: DuckDBValue): EngineCell {
  if (v === null || v === undefined) return null;
  if (v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue) return v.micros.toString();
  if (v instanceof DuckDBDateValue || v instanceof DuckDBDecimalValue) return v.toString();
  if (v instanceof DuckDBListValue) return v.items.map(cell);
  return String(v);
}

const PLACEHOLDER_NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const IDENTIFIER_CHAR = /[A-Za-z0-9_$]/;

/**
 * The statement with each `$name` placeholder of `params` numbered (`$1`, `$2`, ...; a repeated name keeps its
 * number) and the names in number order, for binding by position. DuckDB finds a named parameter's index by a
 * linear search (duckdb_bind_parameter_index), so binding 20,000 by name was quadratic: 10 of the 22 s of a
 * 20,000-key commit on the BigQuery sandbox. Text inside '...' and "..." is left alone, as is a `$` inside a name
 * (Snowflake allows `A$B`) and a `$name` that is not a param.
 */
export function numberPlaceholders(sql: string, params: EngineParams): { sql: string; order: string[] } {
  const numbers = new Map<string, number>();
  const order: string[] = [];
  const out: string[] = [];
  let from = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      // To the closing quote; a doubled quote is one quote inside the text.
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c === '$' && (i === 0 || !IDENTIFIER_CHAR.test(sql[i - 1]!))) {
      PLACEHOLDER_NAME.lastIndex = i + 1;
      const name = PLACEHOLDER_NAME.exec(sql)?.[0];
      if (name !== undefined && Object.hasOwn(params, name)) {
        let n = numbers.get(name);
        if (n === undefined) {
          order.push(name);
          n = order.length;
          numbers.set(name, n);
        }
        out.push(sql.slice(from, i), `$${n}`);
        i += 1 + name.length;
        from = i;
        continue;
      }
    }
    i++;
  }
  out.push(sql.slice(from));
  return { sql: out.join(''), order };
}

export class DuckdbEngine {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async create(): Promise<DuckdbEngine> {
    const instance = await DuckDBInstance.create(':memory:');
    return new DuckdbEngine(instance, await instance.connect());
  }

  /** Runs one statement; rejects with DuckDB's own message. */
  run(sql: string, params: EngineParams = {}): Promise<EngineResult> {
    const task = async (): Promise<EngineResult> => {
      const numbered = numberPlaceholders(sql, params);
      const values: DuckDBValue[] = [];
      const types: DuckDBType[] = [];
      for (const name of numbered.order) {
        const v = params[name]!;
        values.push(Array.isArray(v) ? listValue(v) : v);
        types.push(Array.isArray(v) ? LIST(VARCHAR) : VARCHAR);
      }
      const hasParams = values.length > 0;
      const reader = await this.conn.runAndReadAll(
        numbered.sql,
        hasParams ? values : undefined,
        hasParams ? types : undefined,
      );
      const names = reader.columnNames();
      const columns = reader.columnTypes().map((t, i): EngineColumn => {
        const col: EngineColumn = { name: names[i]!, kind: kindOf(t) };
        if (t.typeId === DuckDBTypeId.DECIMAL) {
          const d = t as unknown as { width: number; scale: number };
          col.precision = d.width;
          col.scale = d.scale;
        }
        return col;
      });
      return { columns, rows: reader.getRows().map((r) => r.map(cell)), rowsChanged: reader.rowsChanged };
    };
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
