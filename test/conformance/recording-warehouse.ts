/**
 * Wraps a warehouse adapter and records every statement pqlsync sends through it (with its params' names and
 * types, never values), for the golden SQL files. insertRows is recorded as a comment line: its SQL belongs to
 * the adapter and is exercised by the conformance suite.
 */
import type {
  BoundSql,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
} from '../../src/warehouse/warehouse-adapter.js';

export class RecordingWarehouse implements WarehouseAdapter {
  readonly dialect: WarehouseAdapter['dialect'];
  readonly tempSchema: string | undefined;

  constructor(
    private readonly inner: WarehouseAdapter,
    readonly log: string[] = [],
  ) {
    this.dialect = inner.dialect;
    this.tempSchema = inner.tempSchema;
  }

  private record(sql: BoundSql | string): void {
    if (typeof sql === 'string') {
      this.log.push(sql.trim());
      return;
    }
    const params = sql.params.map((p, i) => `${i + 1}:${p.name}:${p.type}`).join(', ');
    this.log.push(`${sql.sql.trim()}${params ? `\n-- params: ${params}` : ''}`);
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }
  query(sql: BoundSql | string): Promise<QueryResult> {
    this.record(sql);
    return this.inner.query(sql);
  }
  stream(sql: BoundSql | string, options?: StreamOptions): AsyncIterable<Row[]> {
    this.record(sql);
    return this.inner.stream(sql, options);
  }
  transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    this.log.push('-- begin transaction');
    return this.inner
      .transaction((tx) => fn(new RecordingWarehouse(tx, this.log)))
      .finally(() => this.log.push('-- end transaction'));
  }
  quoteIdentifier(name: string): string {
    return this.inner.quoteIdentifier(name);
  }
  quoteQualified(name: string): string {
    return this.inner.quoteQualified(name);
  }
  tableExists(schema: string, table: string): Promise<boolean> {
    this.log.push(`-- tableExists ${schema}.${table}`);
    return this.inner.tableExists(schema, table);
  }
  ensureSchema(schema: string): Promise<void> {
    this.log.push(`-- ensureSchema ${schema}`);
    return this.inner.ensureSchema(schema);
  }
  insertRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    this.log.push(`-- insertRows ${table} (${columns.join(', ')}): ${rows.length} rows`);
    return this.inner.insertRows(table, columns, rows);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
