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
      const values: Record<string, DuckDBValue> = {};
      const types: Record<string, DuckDBType> = {};
      for (const [k, v] of Object.entries(params)) {
        values[k] = Array.isArray(v) ? listValue(v) : v;
        types[k] = Array.isArray(v) ? LIST(VARCHAR) : VARCHAR;
      }
      const hasParams = Object.keys(values).length > 0;
      const reader = await this.conn.runAndReadAll(
        sql,
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
