/**
 * What per-account routing reads about an account in the warehouse: its qualified users (to list in the account's
 * task) and the values the account sync last synced for it (`account_<field>` columns for rules and templates).
 *
 * Glossary:
 * - account value: the model's account column of a user's row (e.g. account_id), as text.
 * - qualified user: a row in one of `routing.task_tiers`.
 */
import type { RoutingConfig } from '../config/config-schema.js';
import type { SyncTarget } from '../destination/destination.js';
import { changeValue } from '../plan/change-values.js';
import { PLAN_COLUMN } from '../plan/plan-sync.js';
import { cell } from '../plan/resolve-columns.js';
import type { StateStore } from '../state/state-store.js';
import { queryByList } from '../warehouse/sql-dialect.js';
import type { Row } from '../warehouse/warehouse-adapter.js';
import { tierOfRow } from './tiers.js';

/** A user listed in an account's task. */
export interface ListedUser {
  row: Row;
  tier: string;
  /** The model key. */
  key: string;
  matchValue: string;
}

export function accountValue(row: Record<string, unknown>, column: string): string {
  const v = column in row ? row[column] : row[column.toLowerCase()];
  return v === null || v === undefined ? '' : String(v);
}

/**
 * The qualified users of each account, highest score first, at most `users_listed`: from the plan table when the
 * run has one (every user of the account this run sends, in any batch), else from `batch` (account value → rows).
 */
export async function listedUsers(
  context: {
    state: StateStore;
    routing: RoutingConfig;
    target: SyncTarget;
    sync: string;
    planTable?: string;
  },
  batch: ReadonlyArray<readonly [string, ReadonlyArray<{ row: Row; key: string }>]>,
): Promise<Map<string, ListedUser[]>> {
  const { routing, state, target, planTable, sync } = context;
  const account = routing.account;
  const out = new Map<string, ListedUser[]>();
  if (!account) return out;
  let rows: Array<{ row: Row; key: string }>;
  if (planTable) {
    const d = state.d;
    const col = d.quoteColumn?.(account.column) ?? d.quote(account.column);
    const found = await queryByList(
      state.wh,
      d,
      batch.map(([value]) => value),
      (b, list) =>
        `select * from ${planTable} where ${PLAN_COLUMN.op} in ('added', 'changed')
           and ${d.inList(`cast(${col} as ${d.types.text})`, b, list)}`,
    );
    rows = found.map((r) => ({
      key: String(r[PLAN_COLUMN.key]),
      row: Object.fromEntries(
        Object.entries(r)
          .filter(([k]) => !k.startsWith('__pqlsync'))
          .map(([k, v]) => [k, changeValue(v)]),
      ),
    }));
  } else {
    rows = batch.flatMap(([, users]) => users);
  }
  const score = (r: Row) => Number(cell(r, routing.score_column) ?? 0);
  for (const { row, key } of rows) {
    const tier = tierOfRow(row, routing, sync);
    if (tier === null || !routing.task_tiers.includes(tier)) continue;
    const value = accountValue(row, account.column);
    const matchValue = String(cell(row, target.matchColumn) ?? '');
    out.set(value, [...(out.get(value) ?? []), { row, tier, key, matchValue }]);
  }
  for (const [value, users] of out) {
    users.sort((a, b) => score(b.row) - score(a.row) || a.key.localeCompare(b.key));
    out.set(value, users.slice(0, account.users_listed));
  }
  return out;
}

/** `account_<field>` values of each account from the account sync's snapshot (what it last synced), by its key. */
export async function accountColumns(
  state: StateStore,
  accountSync: string | undefined,
  values: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  if (!accountSync || values.length === 0) return out;
  for (const r of await snapshotRows(state, accountSync, values, 'key, values_json')) {
    const parsed = JSON.parse(String(r.values_json)) as Record<string, unknown>;
    out.set(
      String(r.key),
      Object.fromEntries(
        Object.entries(parsed)
          .filter(([k]) => !k.startsWith('__'))
          .map(([k, v]) => [`account_${k}`, v]),
      ),
    );
  }
  return out;
}

/** `columns` of a sync's snapshot rows with these keys; none when the sync has no snapshot yet. */
export async function snapshotRows(
  state: StateStore,
  sync: string,
  keys: readonly string[],
  columns: string,
): Promise<Row[]> {
  if (!(await state.wh.tableExists(state.schema, `${sync}__snapshot`))) return [];
  return queryByList(
    state.wh,
    state.d,
    keys,
    (b, list) =>
      `select ${columns} from ${state.snapshotTable(sync)} where ${state.d.inList('key', b, list)}`,
  );
}
