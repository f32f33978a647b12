/**
 * A fault-injecting wrapper around any WarehouseAdapter, for tests of what a run does when the warehouse fails:
 * fail the Nth call of a method (optionally only calls whose SQL matches), hold a call until the test lets it
 * go on, end a stream quietly after some rows, or look at calls as they pass. The wrapped adapter is untouched;
 * a transaction's adapter is wrapped with the same faults and counters, so a fault on `query` also reaches the
 * statements of a transaction.
 *
 * The default failure is a generic `WAREHOUSE_QUERY_FAILED` saying it was injected: a test whose point is an
 * engine's own error text should produce the real error instead.
 */
import { PqlsyncError } from '../../src/errors/pqlsync-error.js';
import type {
  BoundSql,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
  WarehousePhase,
  PhaseScope,
} from '../../src/warehouse/warehouse-adapter.js';

export const FAULTY_METHODS = ['query', 'stream', 'transaction', 'insertRows'] as const;
export type FaultyMethod = (typeof FAULTY_METHODS)[number];

export interface WarehouseFault {
  method: FaultyMethod;
  /** Only calls whose SQL (query, stream) or table (insertRows) matches. (Default: every call of the method) */
  match?: RegExp;
  /** The matching call (1-based) this fault applies to. (Default: every matching call) */
  nth?: number;
  /** Throw this (or the default injected failure) instead of making the call. */
  fail?: true | Error;
  /** Awaited before the call is made: a gate the test opens, or an observer. (Default: none) */
  before?: (call: { method: FaultyMethod; sql: string; n: number }) => Promise<void> | void;
  /** stream only: end the stream without an error after this many rows (DuckDB's client does, out of memory). */
  endAfterRows?: number;
  /**
   * query only: answer with these rows instead of making the call (a read that saw the table as it was before
   * another session's commit). (Default: the call is made)
   */
  answerRows?: Row[];
}

/** The error a fault with `fail: true` throws. */
export function injectedFailure(method: FaultyMethod, n: number): PqlsyncError {
  return new PqlsyncError('WAREHOUSE_QUERY_FAILED', `injected failure: ${method} call ${n}`);
}

function sqlText(sql: BoundSql | string): string {
  return typeof sql === 'string' ? sql : sql.sql;
}

interface Shared {
  faults: WarehouseFault[];
  /** Matching calls seen per fault. */
  seen: Map<WarehouseFault, number>;
}

/** Wraps `inner`; add faults with `add` (or the constructor) and take them away with `clear`. */
export class FaultyWarehouse implements WarehouseAdapter {
  readonly dialect: WarehouseAdapter['dialect'];
  readonly tempSchema: string | undefined;
  readonly estimateBytes?: WarehouseAdapter['estimateBytes'];
  readonly phase?: (kind: WarehousePhase, scope?: PhaseScope) => Promise<() => Promise<void>>;
  private readonly shared: Shared;

  constructor(
    readonly inner: WarehouseAdapter,
    faults: WarehouseFault[] = [],
    shared?: Shared,
  ) {
    this.dialect = inner.dialect;
    this.tempSchema = inner.tempSchema;
    this.shared = shared ?? { faults: [...faults], seen: new Map() };
    if (inner.estimateBytes) this.estimateBytes = (sql) => inner.estimateBytes!(sql);
    if (inner.phase) this.phase = (kind, scope) => inner.phase!(kind, scope);
  }

  add(fault: WarehouseFault): void {
    this.shared.faults.push(fault);
  }

  clear(): void {
    this.shared.faults.length = 0;
    this.shared.seen.clear();
  }

  /** Runs the faults that apply to this call; returns the stream cut-off, if any. */
  private async apply(
    method: FaultyMethod,
    subject: string,
  ): Promise<{ endAfterRows?: number; answerRows?: Row[] }> {
    let endAfterRows: number | undefined;
    let answerRows: Row[] | undefined;
    for (const fault of [...this.shared.faults]) {
      if (fault.method !== method || (fault.match && !fault.match.test(subject))) continue;
      const n = (this.shared.seen.get(fault) ?? 0) + 1;
      this.shared.seen.set(fault, n);
      if (fault.nth !== undefined && fault.nth !== n) continue;
      await fault.before?.({ method, sql: subject, n });
      if (fault.fail) throw fault.fail === true ? injectedFailure(method, n) : fault.fail;
      if (fault.endAfterRows !== undefined) endAfterRows = fault.endAfterRows;
      if (fault.answerRows !== undefined) answerRows = fault.answerRows;
    }
    return { ...(endAfterRows === undefined ? {} : { endAfterRows }), ...(answerRows ? { answerRows } : {}) };
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  async query(sql: BoundSql | string): Promise<QueryResult> {
    const { answerRows } = await this.apply('query', sqlText(sql));
    return answerRows ? { rows: answerRows.map((r) => ({ ...r })) } : this.inner.query(sql);
  }

  async *stream(sql: BoundSql | string, options?: StreamOptions): AsyncIterable<Row[]> {
    const { endAfterRows } = await this.apply('stream', sqlText(sql));
    let left = endAfterRows ?? Infinity;
    for await (const rows of this.inner.stream(sql, options)) {
      if (left <= 0) return;
      yield rows.length > left ? rows.slice(0, left) : rows;
      left -= rows.length;
    }
  }

  async transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    await this.apply('transaction', '');
    return this.inner.transaction((tx) => fn(new FaultyWarehouse(tx, [], this.shared)));
  }

  quoteIdentifier(name: string): string {
    return this.inner.quoteIdentifier(name);
  }

  quoteQualified(name: string): string {
    return this.inner.quoteQualified(name);
  }

  tableExists(schema: string, table: string): Promise<boolean> {
    return this.inner.tableExists(schema, table);
  }

  ensureSchema(schema: string): Promise<void> {
    return this.inner.ensureSchema(schema);
  }

  async insertRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    await this.apply('insertRows', table);
    return this.inner.insertRows(table, columns, rows);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
