/**
 * `pqlsync rename-sync OLD NEW`: moves all of a sync's state to a new name, so a sync renamed in the config goes
 * on where it was (nothing resent, no second task) instead of starting over. Moved: the snapshot and failures
 * (copied into `<NEW>__snapshot` / `<NEW>__failures`, then the old tables dropped), and the sync's rows in `runs`,
 * `mappings`, `task_log` and `route_state`. Task keys already in the CRM are not touched.
 *
 * Both names' locks are held while it moves, so no run of either can be in flight; the rows move in one
 * transaction, and the old tables are dropped only after it committed.
 */
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { SqlBuilder } from '../warehouse/sql-dialect.js';
import { hashRecipeName, type StateStore } from './state-store.js';
import { foldJournal, journalTableName } from './outcome-journal.js';

export interface RenameSyncResult {
  from: string;
  to: string;
  snapshotRows: number;
  failures: number;
  /** Rows of the shared tables that now name `to`. */
  runs: number;
  mappings: number;
  taskLog: number;
  routeState: number;
}

const SNAPSHOT_COLUMNS = ['key', 'row_hash', 'values_json', 'tier', 'destination_id', 'synced_at', 'run_id'];
const FAILURES_COLUMNS = [
  'key',
  'reason',
  'code',
  'attempts',
  'first_seen',
  'last_seen',
  'run_id',
  'row_hash',
];
/** Shared tables with a `sync` column, in the result's order. */
const SHARED = ['runs', 'mappings', 'task_log', 'route_state'] as const;

export async function renameSyncState(
  store: StateStore,
  options: { from: string; to: string; runId: string; leaseSeconds: number },
): Promise<RenameSyncResult> {
  const { from, to, runId, leaseSeconds } = options;
  await store.ensureStateTables();
  if (!(await store.syncTablesExist(from))) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `there is no state for sync ${from} in ${store.schema} (no ${from}__snapshot), so there is nothing to rename`,
      { hint: 'name the sync the state was written under: `pqlsync runs` lists the syncs that have run' },
    );
  }
  const count = async (table: string, where = '') =>
    Number((await store.wh.query(`select count(*) as n from ${table}${where}`)).rows[0]?.n ?? 0);
  const countOf = async (name: (typeof SHARED)[number], sync: string) => {
    if (!(await store.wh.tableExists(store.schema, name))) return 0;
    const b = new SqlBuilder(store.d);
    const { rows } = await store.wh.query(
      b.build(`select count(*) as n from ${store.table(name)} where sync = ${b.param(sync, 'string')}`),
    );
    return Number(rows[0]?.n ?? 0);
  };

  await store.acquireLock(from, runId, leaseSeconds);
  try {
    await store.acquireLock(to, runId, leaseSeconds);
    try {
      // The new name must have no state of its own: merging two histories cannot be done safely.
      const existing =
        ((await store.syncTablesExist(to))
          ? (await count(store.snapshotTable(to))) + (await count(store.failuresTable(to)))
          : 0) +
        (await countOf('mappings', to)) +
        (await countOf('task_log', to));
      if (existing > 0) {
        throw new PqlsyncError(
          'ARGS_INVALID',
          `sync ${to} already has state in ${store.schema} (synced records, failures, a mapping or tasks), so the state of ${from} cannot move there`,
          {
            hint: `a run of ${to} has happened since the rename; its records are in the CRM already. To keep ${from}'s history instead, drop ${to}'s state tables first`,
          },
        );
      }
      // Outcomes a run of the old name journaled but never folded move as part of its snapshot and failures.
      if (await store.wh.tableExists(store.schema, journalTableName(from))) await foldJournal(store, from);
      await store.ensureSyncTables(to);
      const result: RenameSyncResult = {
        from,
        to,
        snapshotRows: await count(store.snapshotTable(from)),
        failures: await count(store.failuresTable(from)),
        runs: await countOf('runs', from),
        mappings: await countOf('mappings', from),
        taskLog: await countOf('task_log', from),
        routeState: await countOf('route_state', from),
      };
      const present = new Map<string, boolean>();
      for (const t of SHARED) present.set(t, await store.wh.tableExists(store.schema, t));
      await store.wh.transaction(async (tx) => {
        const copy = (columns: readonly string[], into: string, source: string) =>
          `insert into ${into} (${columns.join(', ')}) select ${columns.join(', ')} from ${source}`;
        await tx.query(copy(SNAPSHOT_COLUMNS, store.snapshotTable(to), store.snapshotTable(from)));
        await tx.query(copy(FAILURES_COLUMNS, store.failuresTable(to), store.failuresTable(from)));
        // The snapshot's row-hash recipe moves with it (a snapshot of recipe 1 must still be carried over).
        const m = new SqlBuilder(store.d);
        await tx.query(
          m.build(
            `update ${store.table('meta')} set name = ${m.param(hashRecipeName(to), 'string')} where name = ${m.param(hashRecipeName(from), 'string')}`,
          ),
        );
        for (const t of SHARED) {
          if (!present.get(t)) continue;
          const b = new SqlBuilder(store.d);
          await tx.query(
            b.build(
              `update ${store.table(t)} set sync = ${b.param(to, 'string')} where sync = ${b.param(from, 'string')}`,
            ),
          );
        }
      });
      await store.wh.query(`drop table ${store.snapshotTable(from)}`);
      await store.wh.query(`drop table ${store.failuresTable(from)}`);
      await store.wh.query(`drop table if exists ${store.table(journalTableName(from))}`);
      return result;
    } finally {
      await store.releaseLock(to, runId);
    }
  } finally {
    await store.releaseLock(from, runId);
  }
}
