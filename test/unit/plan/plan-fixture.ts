/**
 * A sync planned in process on an in-memory DuckDB: `planSync` called directly, its changes streamed and committed
 * with `StateStore.commitBatch` (as the runner does, without a destination). Fast enough for `npm run mutation`'s
 * FAST list: a mutant of plan-sync.ts is checked in seconds instead of the minutes whole-sync tests take.
 *
 * The model: `user_id` is the key, `ext_id` the match column (so the key and the match value differ), and four
 * mapped fields; `Tier__c` is skip_null with a cleared value, and removal sets `Is_PQL__c: false`.
 */
import type {
  Change,
  ChangeKind,
  FieldSpec,
  RecordOutcome,
  SyncTarget,
} from '../../../src/destination/destination.js';
import { planSync, streamChanges, type PlanOptions, type PlanSummary } from '../../../src/plan/plan-sync.js';
import { StateStore } from '../../../src/state/state-store.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { sqlDialect, type SqlDialect } from '../../../src/warehouse/sql-dialect.js';
import type { Row, WarehouseAdapter } from '../../../src/warehouse/warehouse-adapter.js';

export const MODEL_SQL = 'select user_id, ext_id, email, score, tier from src.users';

export const field = (
  f: string,
  column: string,
  skipNull = false,
  clearedValue: FieldSpec['clearedValue'] = null,
): FieldSpec => ({
  field: f,
  column,
  skipNull,
  clearedValue,
});

export const TARGET: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'ext_id',
  mode: 'mirror',
  fields: [
    field('Email', 'email'),
    field('Score__c', 'score'),
    field('Tier__c', 'tier', true, 'none'),
    // The match field mapped as a field too: a removal leaves it out of the cleared values.
    field('Ext__c', 'ext_id'),
  ],
  onRemove: { Is_PQL__c: false },
};

/**
 * How a warehouse plans: DuckDB's diff of the planned rows, the model counted by a second read of its key column
 * (a model that only scans tables) or by a marker row for every unchanged or invalid row in the diff (any other
 * model; the fixture's model is a table scan, so this shape turns the second read off), previous values joined to
 * the changes after it; Postgres's one statement (the model materialised in a CTE,
 * previous values carried through the diff's join), or the three steps of BigQuery, Snowflake and Redshift. All
 * three run on DuckDB here; only the dialect's `onePassPlan` differs.
 */
export const PLAN_SHAPES = [
  { name: 'table model counted apart (DuckDB)', shape: (d: SqlDialect): SqlDialect => d, steps: false },
  {
    name: 'marked rows (DuckDB, a model that does more than scan tables)',
    shape: (d: SqlDialect): SqlDialect => ({ ...d, countTableModelsApart: false }),
    steps: false,
  },
  {
    name: 'one pass, materialised model (Postgres)',
    shape: (d: SqlDialect): SqlDialect => ({ ...d, onePassPlan: 'materialized-cte' }),
    steps: false,
  },
  {
    name: 'three steps (BigQuery, Snowflake, Redshift)',
    shape: (d: SqlDialect): SqlDialect => ({ ...d, onePassPlan: undefined }),
    steps: true,
  },
] as const;

/** A state store whose dialect is DuckDB's, reshaped (see PLAN_SHAPES; `scratchTable` dropped for temp tables). */
export class ShapedStore extends StateStore {
  override readonly d: SqlDialect;
  constructor(wh: WarehouseAdapter, shape: (d: SqlDialect) => SqlDialect = (d) => d) {
    super(wh, 'pqlsync_state');
    this.d = shape(sqlDialect(wh.dialect));
  }
}

/** A RecordOutcome without its key. */
export type Outcome = RecordOutcome extends infer T ? (T extends unknown ? Omit<T, 'key'> : never) : never;

export interface Fixture {
  wh: WarehouseAdapter;
  store: StateStore;
  /** Rows of src.users: [user_id, ext_id, email, score, tier]. */
  insert(rows: readonly (readonly unknown[])[]): Promise<void>;
  plan(options?: Partial<PlanOptions>): Promise<PlanSummary>;
  /** The plan's changes of these kinds, by key (and kind). */
  changes(plan: PlanSummary, kinds?: readonly ChangeKind[], target?: SyncTarget): Promise<Change[]>;
  /** Plans, then commits every planned change as applied (or with the given outcomes by key). */
  sync(outcomes?: Record<string, Outcome>, options?: Partial<PlanOptions>): Promise<PlanSummary>;
  /** The plan table's rows of the given ops, by key. */
  planRows(plan: PlanSummary, ops: readonly string[]): Promise<Row[]>;
  close(): Promise<void>;
}

export async function openFixture(shape: (d: SqlDialect) => SqlDialect = (d) => d): Promise<Fixture> {
  const wh = new DuckdbAdapter({ path: ':memory:' });
  await wh.connect();
  await wh.query('create schema src');
  await wh.query(
    'create table src.users (user_id integer, ext_id varchar, email varchar, score integer, tier varchar)',
  );
  const store = new ShapedStore(wh, shape);
  await store.ensureStateTables();
  await store.ensureSyncTables('users');
  await store.setHashRecipe('users', 2);
  const plan = (options: Partial<PlanOptions> = {}) =>
    planSync({
      store,
      target: TARGET,
      model: { dialect: wh.dialect, sql: MODEL_SQL, params: [] },
      keyColumn: 'user_id',
      modelFile: 'models/scores.sql',
      ...options,
    });
  const changes = async (
    p: PlanSummary,
    kinds: readonly ChangeKind[] = ['added', 'changed', 'removed'],
    target: SyncTarget = TARGET,
  ) => {
    const expected = kinds.reduce((n, k) => n + p[k], 0);
    const out: Change[] = [];
    for await (const chunk of streamChanges(store, target, p.planTable, kinds, expected)) out.push(...chunk);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.kind < b.kind ? -1 : 1));
  };
  return {
    wh,
    store,
    insert: async (rows) => {
      if (rows.length > 0)
        await wh.insertRows(
          'src.users',
          ['user_id', 'ext_id', 'email', 'score', 'tier'],
          rows.map((r) => [...r]),
        );
    },
    plan,
    changes,
    sync: async (outcomes = {}, options = {}) => {
      const p = await plan(options);
      const all = await changes(p);
      await store.commitBatch(
        'users',
        'run-1',
        all,
        all.map(
          (c): RecordOutcome =>
            ({ key: c.key, ...(outcomes[c.key] ?? { status: 'applied' }) }) as RecordOutcome,
        ),
      );
      return p;
    },
    planRows: async (p, ops) =>
      (
        await wh.query(
          `select * from ${p.planTable} where __pqlsync_op in (${ops.map((o) => `'${o}'`).join(', ')}) order by __pqlsync_pk, __pqlsync_op`,
        )
      ).rows,
    close: () => wh.close(),
  };
}
