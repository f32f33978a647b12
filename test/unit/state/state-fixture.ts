/**
 * A state store on a real in-memory DuckDB, for the in-process tests of src/state/ (they are in the mutation run's
 * FAST list: no CLI spawn, no Postgres). The clock is a variable the test moves.
 */
import type { Change, RecordOutcome } from '../../../src/destination/destination.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { StateStore } from '../../../src/state/state-store.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import type {
  BoundSql,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
} from '../../../src/warehouse/warehouse-adapter.js';

export const SCHEMA = 'pqlsync_state';
export const SYNC = 'users';
/** The clock readings the state tests pass in; milliseconds on purpose: a timestamp read back through
 * `new Date(String(v))` would lose them. */
export const T0 = new Date('2026-01-01T00:00:00.000Z');
export const T1 = new Date('2026-01-01T01:00:00.250Z');
export const T2 = new Date('2026-01-01T02:00:00.750Z');
export const T3 = new Date('2026-01-01T03:00:00.125Z');

export interface StateFixture {
  wh: DuckdbAdapter;
  store: StateStore;
  /** The store's clock: set `clock.now` to move it. */
  clock: { now: Date };
  close(): Promise<void>;
}

/** An in-memory DuckDB with the state tables and the `users` sync's tables; `wrap` puts an adapter around it. */
export async function openState(
  options: { wrap?: (wh: DuckdbAdapter) => WarehouseAdapter; syncTables?: boolean } = {},
): Promise<StateFixture> {
  const wh = new DuckdbAdapter({ path: ':memory:', threads: 1 });
  await wh.connect();
  const clock = { now: new Date('2026-01-01T00:00:00.000Z') };
  const store = new StateStore(options.wrap ? options.wrap(wh) : wh, SCHEMA, () => clock.now);
  await store.ensureStateTables();
  if (options.syncTables !== false) await store.ensureSyncTables(SYNC);
  return { wh, store, clock, close: () => wh.close() };
}

/** A change of `key` with one mapped field. */
export function change(key: string, over: Partial<Change> = {}): Change {
  return {
    key,
    kind: 'changed',
    matchValue: `m-${key}`,
    values: { Score__c: Number(key.replace(/\D/g, '') || 0) },
    changedFields: ['Score__c'],
    row: { user_id: key },
    rowHash: `h-${key}`,
    attempts: 0,
    ...over,
  };
}

export const applied = (key: string, destinationId?: string): RecordOutcome =>
  destinationId === undefined ? { key, status: 'applied' } : { key, status: 'applied', destinationId };
export const rejected = (key: string, reason: string, code?: string): RecordOutcome =>
  code === undefined ? { key, status: 'rejected', reason } : { key, status: 'rejected', reason, code };

/** Every row of a state table, by key (timestamps as ISO text, numbers as numbers). */
export async function tableRows(store: StateStore, table: string, orderBy = 'key'): Promise<Row[]> {
  const { rows } = await store.wh.query(`select * from ${store.table(table)} order by ${orderBy}`);
  return rows.map(plain);
}

export function plain(r: Row): Row {
  return Object.fromEntries(
    Object.entries(r).map(([k, v]) => [
      k,
      v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v,
    ]),
  );
}

/**
 * DuckDB addressed as another dialect (`postgres`): the store writes that dialect's SQL (the outcome journal's
 * delete + insert fold instead of MERGE, positional `$n` binds), and the SQL runs on DuckDB, which reads the same
 * statements. It tests what those statements do to the state tables in-process; that Postgres itself accepts them
 * is the reliability and conformance suites' part (real Postgres, not run by the mutation run).
 */
export class DuckdbAsDialect extends FaultyWarehouse {
  override readonly dialect: 'postgres' | 'redshift';

  constructor(inner: WarehouseAdapter, dialect: 'postgres' | 'redshift') {
    super(inner);
    this.dialect = dialect;
  }

  private bound(sql: BoundSql | string): BoundSql | string {
    if (typeof sql === 'string') return sql;
    return {
      dialect: 'duckdb',
      sql: sql.sql,
      params: sql.params.map((p, i) => ({ ...p, name: String(i + 1) })),
    };
  }

  override query(sql: BoundSql | string): Promise<QueryResult> {
    return super.query(this.bound(sql));
  }

  override stream(sql: BoundSql | string, options?: StreamOptions): AsyncIterable<Row[]> {
    return super.stream(this.bound(sql), options);
  }

  override transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => fn(new DuckdbAsDialect(tx, this.dialect)));
  }
}

/** The PqlsyncError `p` rejects with (fails the test when it resolves or throws anything else). */
export async function caught(p: Promise<unknown>): Promise<PqlsyncError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PqlsyncError)) throw new Error(`expected a PqlsyncError, got ${String(err)}`);
  return err;
}
