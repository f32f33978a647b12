/**
 * `pqlsync rename-sync` (src/state/rename-sync.ts) in-process on DuckDB: a sync's snapshot, failures, unfolded
 * journal, row-hash recipe and its rows in the shared tables move to the new name; a name without state, or a new
 * name with state of its own, is refused with nothing moved; both locks are held while it moves and released
 * after, also when it fails.
 *
 * Written for the mutation run (issue 24): each test names the mutants it was checked against by hand (the
 * mutant applied to src, the test seen failing, the mutant reverted).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { journalOutcomes } from '../../../src/state/outcome-journal.js';
import { renameSyncState } from '../../../src/state/rename-sync.js';
import type { StateStore } from '../../../src/state/state-store.js';
import {
  applied,
  caught,
  change,
  openState,
  rejected,
  SCHEMA,
  tableRows,
  type StateFixture,
  T0,
} from './state-fixture.js';

const OLD = 'old_users';
const NEW = 'users';

let fx: StateFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const rename = (store: StateStore) =>
  renameSyncState(store, { from: OLD, to: NEW, runId: 'rename-1', leaseSeconds: 60 });

/** The routing tables (route-store.ts) as far as the rename reads them: a `sync` column. */
async function routingTables(store: StateStore, rows: [string, string][]): Promise<void> {
  for (const t of ['task_log', 'route_state']) {
    await store.wh.query(`create table ${store.table(t)} (sync varchar, note varchar)`);
    await store.wh.insertRows(`${SCHEMA}.${t}`, ['sync', 'note'], rows);
  }
}

/** OLD's state: two synced keys, one failure, one outcome journaled but not folded, a recipe, two runs, a mapping. */
async function oldState(store: StateStore): Promise<void> {
  await store.ensureSyncTables(OLD);
  await store.commitBatch(
    OLD,
    'r1',
    [change('a'), change('b'), change('c')],
    [applied('a'), applied('b'), rejected('c', 'no')],
  );
  await journalOutcomes(store, {
    sync: OLD,
    runId: 'r2',
    batchNo: 1,
    changes: [change('d')],
    outcomes: [applied('d')],
    tierOf: () => null,
    at: T0,
  });
  await store.setHashRecipe(OLD, 2);
  await store.startRun({
    runId: 'r0',
    sync: OLD,
    startedAt: new Date(T0.getTime() - 3600_000),
    modelHash: null,
  });
  await store.startRun({ runId: 'r1', sync: OLD, startedAt: T0, modelHash: null });
  await store.startRun({
    runId: 'x1',
    sync: 'other',
    startedAt: new Date(T0.getTime() - 1800_000),
    modelHash: null,
  });
  await store.wh.insertRows(
    `${SCHEMA}.mappings`,
    ['sync', 'signature', 'run_id', 'updated_at'],
    [[OLD, '{}', 'r1', T0]],
  );
}

describe('renameSyncState', () => {
  // Checked by hand against the journal's fold dropped (d lost), the snapshot or failures copy dropped, the
  // recipe's rename dropped, the shared tables' update dropped, a `present` table check forced false, the old
  // tables kept (drops removed), and each count of the result swapped with another.
  it('moves the snapshot, failures, unfolded outcomes, recipe and shared rows to the new name', async () => {
    fx = await openState({ syncTables: false });
    const { store, wh } = fx;
    await oldState(store);
    await routingTables(store, [
      [OLD, 'task 1'],
      [OLD, 'task 2'],
      ['other', 'kept'],
    ]);
    await wh.query(`delete from ${store.table('route_state')} where note = 'task 2'`);

    expect(await rename(store)).toEqual({
      from: OLD,
      to: NEW,
      snapshotRows: 3,
      failures: 1,
      runs: 2,
      mappings: 1,
      taskLog: 2,
      routeState: 1,
    });
    expect((await tableRows(store, `${NEW}__snapshot`)).map((r) => r.key)).toEqual(['a', 'b', 'd']);
    expect((await tableRows(store, `${NEW}__failures`)).map((r) => [r.key, r.reason])).toEqual([['c', 'no']]);
    expect(await store.hashRecipe(NEW)).toBe(2);
    expect(await store.hashRecipe(OLD)).toBe(1);
    expect((await store.listRuns(undefined, 10)).map((r) => [r.runId, r.sync])).toEqual([
      ['r1', NEW],
      ['x1', 'other'],
      ['r0', NEW],
    ]);
    for (const t of ['mappings', 'task_log', 'route_state']) {
      const { rows } = await wh.query(
        `select sync, count(*) as n from ${store.table(t)} group by sync order by sync`,
      );
      expect([t, rows.map((r) => [r.sync, Number(r.n)])]).toEqual([
        t,
        {
          mappings: [[NEW, 1]],
          task_log: [
            ['other', 1],
            [NEW, 2],
          ],
          route_state: [
            ['other', 1],
            [NEW, 1],
          ],
        }[t],
      ]);
    }
    for (const t of ['snapshot', 'failures', 'journal'])
      expect(await wh.tableExists(SCHEMA, `${OLD}__${t}`)).toBe(false);
    expect(await store.lockHolder(OLD)).toBeUndefined();
    expect(await store.lockHolder(NEW)).toBeUndefined();
  });

  // Checked by hand against the shared tables' `present` check dropped (an update of a missing table) and the
  // journal's `tableExists` check dropped (a fold of a missing journal).
  it('moves a state without routing tables or journal', async () => {
    fx = await openState({ syncTables: false });
    const { store, wh } = fx;
    await oldState(store);
    await wh.query(`drop table ${store.table(`${OLD}__journal`)}`);
    expect(await rename(store)).toMatchObject({ snapshotRows: 2, taskLog: 0, routeState: 0 });
    expect((await tableRows(store, `${NEW}__snapshot`)).map((r) => r.key)).toEqual(['a', 'b']);
  });

  // Checked by hand against the `syncTablesExist(from)` check negated, and the message's names swapped.
  it('refuses a name that has no state', async () => {
    fx = await openState({ syncTables: false });
    const err = await caught(rename(fx.store));
    expect(err.toJSON()).toEqual({
      code: 'ARGS_INVALID',
      kind: 'config',
      message: `there is no state for sync ${OLD} in ${SCHEMA} (no ${OLD}__snapshot), so there is nothing to rename`,
      hint: 'name the sync the state was written under: `pqlsync runs` lists the syncs that have run',
    });
  });

  // Checked by hand against `existing > 0` → `>= 0` / `< 0`, each term of `existing` dropped one at a time
  // (snapshot, failures, mappings, task_log), the `syncTablesExist(to)` check forced true, and either
  // `releaseLock` in the `finally` blocks dropped.
  it.each([
    ['synced records', (s: StateStore) => s.commitBatch(NEW, 'n1', [change('z')], [applied('z')])],
    ['failures', (s: StateStore) => s.commitBatch(NEW, 'n1', [change('z')], [rejected('z', 'no')])],
    [
      'a mapping',
      (s: StateStore) =>
        s.wh.insertRows(
          `${SCHEMA}.mappings`,
          ['sync', 'signature', 'run_id', 'updated_at'],
          [[NEW, '{}', 'n1', T0]],
        ),
    ],
    [
      'tasks',
      (s: StateStore) => s.wh.query(`insert into ${s.table('task_log')} values ('${NEW}', 'its task')`),
    ],
  ])(
    'refuses a new name that has %s of its own, moving nothing and releasing both locks',
    async (_what, give) => {
      fx = await openState({ syncTables: false });
      const { store, wh } = fx;
      await oldState(store);
      await routingTables(store, []);
      await store.ensureSyncTables(NEW);
      await give(store);
      const err = await caught(rename(store));
      expect(err.toJSON()).toEqual({
        code: 'ARGS_INVALID',
        kind: 'config',
        message: `sync ${NEW} already has state in ${SCHEMA} (synced records, failures, a mapping or tasks), so the state of ${OLD} cannot move there`,
        hint: `a run of ${NEW} has happened since the rename; its records are in the CRM already. To keep ${OLD}'s history instead, drop ${NEW}'s state tables first`,
      });
      expect((await tableRows(store, `${OLD}__snapshot`)).map((r) => r.key)).toEqual(['a', 'b']);
      expect(await wh.tableExists(SCHEMA, `${OLD}__journal`)).toBe(true);
      expect(await store.lockHolder(OLD)).toBeUndefined();
      expect(await store.lockHolder(NEW)).toBeUndefined();
    },
  );

  // Checked by hand against the second `acquireLock` dropped (a run of the new name holding its lock is not
  // waited for) and the outer `finally`'s release dropped (the old name's lock left behind).
  it('refuses while a run of either name holds its lock, and leaves no lock of its own', async () => {
    fx = await openState({ syncTables: false });
    const { store } = fx;
    await oldState(store);
    await store.acquireLock(NEW, 'run-of-new', 60);
    expect((await caught(rename(store))).code).toBe('STATE_LOCK_HELD');
    expect(await store.lockHolder(OLD)).toBeUndefined();
    expect((await store.lockHolder(NEW))?.runId).toBe('run-of-new');
    await store.releaseLock(NEW, 'run-of-new');
    await store.acquireLock(OLD, 'run-of-old', 60);
    expect((await caught(rename(store))).code).toBe('STATE_LOCK_HELD');
    expect(await store.lockHolder(NEW)).toBeUndefined();
    expect(await store.wh.tableExists(SCHEMA, `${NEW}__snapshot`)).toBe(false);
  });
});
