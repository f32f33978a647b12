/**
 * The state store in-process on DuckDB (src/state/state-store.ts), apart from its locks: the state layout and its
 * upgrade, the row-hash recipe, the runs rows (a run's error scrubbed of secrets, a late end written only over a
 * running or abandoned row), a one-batch commit, forgetting removed rows in one transaction, pruning resolved
 * failures, and the failures as records.
 *
 * Written for the mutation run (issue 24): each test names the mutants it was checked against by hand (the
 * mutant applied to src, the test seen failing, the mutant reverted).
 */
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { clearSecretsForTests, registerSecret } from '../../../src/errors/secrets.js';
import { PLAN_COLUMN } from '../../../src/plan/plan-table.js';
import { STATE_VERSION, ZERO_COUNTS, type StateStore } from '../../../src/state/state-store.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import {
  applied,
  change,
  DuckdbAsDialect,
  openState,
  rejected,
  SCHEMA,
  SYNC,
  tableRows,
  type StateFixture,
  T0,
  T1,
  T2,
} from './state-fixture.js';

let fx: StateFixture | undefined;
afterEach(async () => {
  clearSecretsForTests();
  await fx?.close();
  fx = undefined;
});

/** Records every statement the store sends (after setup, once `calls.length = 0`). */
function recording(calls: string[]) {
  return (wh: StateFixture['wh']) =>
    new FaultyWarehouse(wh, [{ method: 'query', before: (c) => void calls.push(c.sql) }]);
}

describe('state tables', () => {
  // Checked by hand against `version === undefined` → `false` (no version row written), the version insert's
  // value emptied, and `stateVersion`'s `v === undefined` / `v === null` → `false` (NaN or 0: a meta table without its version row
  // would never get one).
  it('writes the layout version once, reads it back, and reads none before the tables exist', async () => {
    fx = await openState({ syncTables: false });
    const { store } = fx;
    expect(await store.stateVersion()).toBe(STATE_VERSION);
    await store.ensureStateTables();
    expect(await tableRows(store, 'meta', 'name')).toEqual([
      { name: 'state_version', value: String(STATE_VERSION) },
    ]);
    await store.wh.query(`update ${store.table('meta')} set value = null`);
    expect(await store.stateVersion()).toBeUndefined();
    // A meta table without a version row: none (and ensureStateTables writes it).
    await store.wh.query(`delete from ${store.table('meta')}`);
    expect(await store.stateVersion()).toBeUndefined();
    await store.ensureStateTables();
    expect(await store.stateVersion()).toBe(STATE_VERSION);
    const other = new (store.constructor as typeof StateStore)(store.wh, 'other_schema');
    expect(await other.stateVersion()).toBeUndefined();
    expect(await other.listRuns(undefined, 10)).toEqual([]);
    expect(await other.listFailures(SYNC)).toEqual([]);
  });

  // Checked by hand against `version > STATE_VERSION` → `>=` (the current layout refused) and → `false`, and the
  // message emptied.
  it('refuses a state written by a newer pqlsync, naming both layouts', async () => {
    fx = await openState({ syncTables: false });
    const { store } = fx;
    await store.wh.query(`update ${store.table('meta')} set value = '${STATE_VERSION + 1}'`);
    const err = await store.ensureStateTables().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PqlsyncError);
    expect((err as PqlsyncError).toJSON()).toEqual({
      code: 'STATE_INVALID',
      kind: 'system',
      message: `the state schema ${SCHEMA} was written by a newer pqlsync (layout ${STATE_VERSION + 1}; this one knows ${STATE_VERSION})`,
      hint: 'upgrade pqlsync, or point state.schema at another schema',
    });
  });

  // Checked by hand against `!runColumns.has(column)` → `true` (adding a column that exists fails) and → `false`
  // (an old runs table keeps no flag_rate: listRuns reads flagRate undefined), and the column list emptied.
  it('adds the flag-rate columns to a runs table from before them, once', async () => {
    fx = await openState({ syncTables: false });
    const { store, wh } = fx;
    await wh.query(`alter table ${store.table('runs')} drop column flag_rate`);
    await wh.query(`alter table ${store.table('runs')} drop column tier_shares`);
    await store.ensureStateTables();
    await store.ensureStateTables();
    const { columns } = await wh.query(`select * from ${store.table('runs')} where 1 = 0`);
    expect(columns?.slice(-2)).toEqual(['flag_rate', 'tier_shares']);
  });

  // Checked by hand against `syncTablesExist`'s `&&` → `||`, and the bigquery `cluster by key` ternary forced true.
  it('creates a sync tables once; both the snapshot and failures must exist', async () => {
    fx = await openState({ syncTables: false });
    const { store, wh } = fx;
    expect(await store.syncTablesExist(SYNC)).toBe(false);
    await store.ensureSyncTables(SYNC);
    await store.ensureSyncTables(SYNC);
    expect(await store.syncTablesExist(SYNC)).toBe(true);
    expect(await wh.tableExists(SCHEMA, `${SYNC}__journal`)).toBe(true);
    await wh.query(`drop table ${store.failuresTable(SYNC)}`);
    expect(await store.syncTablesExist(SYNC)).toBe(false);
  });

  // Checked by hand against `this.d.scratchTable ? …` forced either way and `dropWorkTables`'s early return
  // dropped (a dialect without scratch space would drop the state schema's table).
  it('keeps working tables in DuckDB scratch space (dropped by name), elsewhere in the state schema (kept)', async () => {
    fx = await openState();
    const { store, wh } = fx;
    expect(store.workTable('users__plan')).toBe('pqlsync_scratch.main."users__plan"');
    await wh.query(`create table ${store.workTable('users__plan')} (x int)`);
    await store.dropWorkTables(['users__plan']);
    // Killed after the Stryker run: dropWorkTables emptied (tableExists does not see the scratch database).
    await expect(wh.query(`select * from ${store.workTable('users__plan')}`)).rejects.toThrow(/users__plan/);

    const pg = new (store.constructor as typeof StateStore)(new DuckdbAsDialect(wh, 'postgres'), SCHEMA);
    expect(pg.workTable('users__plan')).toBe(`"${SCHEMA}"."users__plan"`);
    await wh.query(`create table ${pg.workTable('users__plan')} (x int)`);
    await pg.dropWorkTables(['users__plan']);
    expect(await wh.tableExists(SCHEMA, 'users__plan')).toBe(true);
  });
});

describe('the clock', () => {
  // Killed after the Stryker run: the default clock `() => new Date()` → `() => undefined`.
  it('is the system clock unless one is given', async () => {
    fx = await openState();
    const store = new (fx.store.constructor as typeof StateStore)(fx.wh, SCHEMA);
    const before = Date.now();
    await store.acquireLock(SYNC, 'r1', 60);
    const at = (await store.lockHolder(SYNC))?.acquiredAt.getTime() ?? 0;
    expect(at >= before && at <= Date.now()).toBe(true);
  });
});

describe('row-hash recipe', () => {
  // Checked by hand against the recipe's default `1` → `0`, `v === null` → `false` (a null recipe read as 0), `setHashRecipe`'s delete dropped (two rows: the first
  // read), and `hashRecipeName` emptied.
  it('reads 1 until one is set; setting it again replaces it, per sync', async () => {
    fx = await openState();
    const { store } = fx;
    expect(await store.hashRecipe(SYNC)).toBe(1);
    await store.wh.query(`insert into ${store.table('meta')} values ('row_hash_recipe:${SYNC}', null)`);
    expect(await store.hashRecipe(SYNC)).toBe(1);
    await store.setHashRecipe(SYNC, 2);
    await store.setHashRecipe(SYNC, 3);
    await store.setHashRecipe('other', 2);
    expect(await store.hashRecipe(SYNC)).toBe(3);
    expect(await store.hashRecipe('other')).toBe(2);
    expect((await tableRows(store, 'meta', 'name')).map((r) => [r.name, r.value])).toEqual([
      ['row_hash_recipe:other', '2'],
      ['row_hash_recipe:users', '3'],
      ['state_version', '1'],
    ]);
  });
});

describe('runs', () => {
  // Checked by hand against the error's scrub dropped, `error === null ? null : …` → the scrub of 'null', the
  // counts' `sets` emptied, the `late` condition forced on and off, `late?.finishedAt ?? this.now()` → `this.now()`,
  // and toRunRecord's null checks (`n`, finishedAt, durationMs, error, modelHash, flagRate) flipped.
  it('writes a run at start and end; its error is scrubbed of secrets; a late end only over a running row', async () => {
    fx = await openState();
    const { store, clock } = fx;
    registerSecret('hunter2-secret-token');
    clock.now = T2;
    await store.startRun({ runId: 'r1', sync: SYNC, startedAt: T0, modelHash: 'mh1' });
    await store.startRun({ runId: 'r2', sync: SYNC, startedAt: T1, modelHash: null });
    await store.startRun({ runId: 'o1', sync: 'other', startedAt: T1, modelHash: null });
    const counts = {
      added: 1,
      changed: 2,
      removed: 3,
      invalid: 4,
      retried: 5,
      applied: 6,
      rejected: 7,
      tasks: 8,
    };
    await store.finishRun('r1', 'failed', counts, 9, 1234, 'auth failed: token hunter2-secret-token refused');
    await store.finishRun('r2', 'success', ZERO_COUNTS, 0, 10, null);
    await store.wh.query(`update ${store.table('runs')} set flag_rate = 0.25 where run_id = 'r1'`);
    const base = { sync: SYNC, host: hostname(), pid: process.pid, flagRate: null };
    expect(await store.listRuns(SYNC, 10)).toEqual([
      {
        ...base,
        runId: 'r2',
        status: 'success',
        startedAt: T1,
        finishedAt: T2,
        counts: ZERO_COUNTS,
        apiCalls: 0,
        durationMs: 10,
        error: null,
        modelHash: null,
      },
      {
        ...base,
        runId: 'r1',
        status: 'failed',
        startedAt: T0,
        finishedAt: T2,
        counts,
        apiCalls: 9,
        durationMs: 1234,
        error: 'auth failed: token [redacted] refused',
        modelHash: 'mh1',
        flagRate: 0.25,
      },
    ]);
    expect((await store.listRuns(undefined, 10)).map((r) => r.runId)).toEqual(['r2', 'o1', 'r1']);
    expect((await store.listRuns(SYNC, 0)).map((r) => r.runId)).toEqual(['r2']);
    expect((await store.listRuns(undefined, 2.9)).map((r) => r.runId)).toEqual(['r2', 'o1']);
    expect(await store.listRuns('other', 10)).toEqual([
      {
        ...base,
        sync: 'other',
        runId: 'o1',
        status: 'running',
        startedAt: T1,
        finishedAt: null,
        counts: ZERO_COUNTS,
        apiCalls: 0,
        durationMs: null,
        error: null,
        modelHash: null,
      },
    ]);

    // A late end (unrecorded-runs.ts) writes over a running or abandoned row only, with its own finish time.
    await store.finishRun('r2', 'failed', counts, 1, 1, 'late', { finishedAt: T0 });
    await store.finishRun('o1', 'failed', counts, 1, 1, 'late', { finishedAt: T0 });
    expect(
      (await store.listRuns(undefined, 10)).map((r) => [r.runId, r.status, r.finishedAt, r.error]),
    ).toEqual([
      ['r2', 'success', T2, null],
      ['o1', 'failed', T0, 'late'],
      ['r1', 'failed', T2, 'auth failed: token [redacted] refused'],
    ]);
  });

  // Checked by hand against the `late` condition forced on (a run's own end is always written, whatever the row
  // says: a run taken over and marked abandoned still records how it ended).
  it("writes a run's own end over any status", async () => {
    fx = await openState();
    const { store } = fx;
    await store.startRun({ runId: 'r1', sync: SYNC, startedAt: T0, modelHash: null });
    await store.finishRun('r1', 'success', ZERO_COUNTS, 0, 1, null);
    await store.finishRun('r1', 'failed', ZERO_COUNTS, 0, 1, 'then failed');
    expect((await store.listRuns(SYNC, 10)).map((r) => [r.status, r.error])).toEqual([
      ['failed', 'then failed'],
    ]);
  });

  // Checked by hand against `and status = 'running'` dropped (a finished run overwritten) and the reason's
  // `abandoned: ` prefix emptied.
  it('marks only a running run abandoned', async () => {
    fx = await openState();
    const { store, clock } = fx;
    clock.now = T1;
    await store.startRun({ runId: 'r1', sync: SYNC, startedAt: T0, modelHash: null });
    await store.startRun({ runId: 'r2', sync: SYNC, startedAt: T0, modelHash: null });
    await store.finishRun('r2', 'success', ZERO_COUNTS, 0, 1, null);
    clock.now = T2;
    await store.markAbandoned('r1', 'why');
    await store.markAbandoned('r2', 'why');
    expect((await store.listRuns(SYNC, 10)).map((r) => [r.runId, r.status, r.finishedAt, r.error])).toEqual([
      ['r1', 'abandoned', T2, 'abandoned: why'],
      ['r2', 'success', T1, null],
    ]);
  });
});

describe('commit, forget, prune', () => {
  // Checked by hand against commitBatch's default tierOf → a tier, and `at: this.now()` → another time.
  it('commits one batch at once: journaled and folded at the store clock, without a tier by default', async () => {
    fx = await openState();
    const { store, clock } = fx;
    clock.now = T1;
    await store.commitBatch(
      SYNC,
      'r1',
      [change('k1'), change('k2')],
      [applied('k1', 'D1'), rejected('k2', 'no')],
    );
    expect(
      (await tableRows(store, `${SYNC}__snapshot`)).map((r) => [
        r.key,
        r.tier,
        r.destination_id,
        r.synced_at,
      ]),
    ).toEqual([['k1', null, 'D1', T1.toISOString()]]);
    expect((await store.failures(SYNC)).map((r) => [r.key, r.reason, r.first_seen])).toEqual([
      ['k2', 'no', T1],
    ]);
  });

  async function plan(store: StateStore, rows: [string | null, string, string | null][]): Promise<string> {
    const table = store.workTable(`${SYNC}__plan`);
    await store.wh.query(
      `create table ${table} (${PLAN_COLUMN.key} varchar, ${PLAN_COLUMN.op} varchar, ${PLAN_COLUMN.hash} varchar)`,
    );
    const literal = (v: string | null) => (v === null ? 'null' : `'${v}'`);
    await store.wh.query(
      `insert into ${table} values ${rows.map((r) => `(${r.map(literal).join(', ')})`).join(', ')}`,
    );
    return table;
  }

  async function seed(store: StateStore, snapshot: [string, string][], failures: [string, string][]) {
    await store.wh.insertRows(
      `${SCHEMA}.${SYNC}__snapshot`,
      ['key', 'row_hash', 'synced_at', 'run_id'],
      snapshot.map(([k, h]) => [k, h, T0, 'r0']),
    );
    await store.wh.insertRows(
      `${SCHEMA}.${SYNC}__failures`,
      ['key', 'reason', 'attempts', 'first_seen', 'last_seen', 'run_id', 'row_hash'],
      failures.map(([k, h]) => [k, 'no', 1, T0, T0, 'r0', h]),
    );
  }

  const keys = async (store: StateStore, table: string) =>
    (await tableRows(store, `${SYNC}__${table}`)).map((r) => r.key);

  // Checked by hand against either delete dropped, the plan's `= 'removed'` condition emptied, and the
  // transaction (the second delete failing leaves the first undone: both deletes outside `transaction`).
  it('forgets rows the plan marked removed from the snapshot and failures, in one transaction', async () => {
    fx = await openState({ wrap: (wh) => new FaultyWarehouse(wh) });
    const { store } = fx;
    await seed(
      store,
      [
        ['a', 'ha'],
        ['b', 'hb'],
        ['c', 'hc'],
      ],
      [
        ['b', 'hb'],
        ['c', 'x'],
        ['d', 'x'],
      ],
    );
    const table = await plan(store, [
      ['a', 'changed', 'h'],
      ['b', 'removed', null],
      ['d', 'removed', null],
    ]);
    (store.wh as FaultyWarehouse).add({ method: 'query', match: /^delete from .*__failures/, fail: true });
    await expect(store.forgetRemoved(SYNC, table)).rejects.toThrow('injected failure: query call 1');
    expect(await keys(store, 'snapshot')).toEqual(['a', 'b', 'c']);
    (store.wh as FaultyWarehouse).clear();
    await store.forgetRemoved(SYNC, table);
    expect(await keys(store, 'snapshot')).toEqual(['a', 'c']);
    expect(await keys(store, 'failures')).toEqual(['c']);
  });

  // Checked by hand against the count shortcut `=== 0` → `!== 0` / dropped, the hash join's
  // `p.hash = s.row_hash` dropped, and `where key is not null` dropped (a null key in the plan: `not in` prunes
  // nothing).
  it('prunes failures whose row equals the snapshot again or that left the model; reads one count when none', async () => {
    const calls: string[] = [];
    fx = await openState({ wrap: recording(calls) });
    const { store } = fx;
    const table = await plan(store, [
      ['same', 'retry', 'h1'],
      ['moved', 'retry', 'h2'],
      ['new', 'retry', 'h3'],
      [null, 'invalid', null],
    ]);
    calls.length = 0;
    await store.pruneResolvedFailures(SYNC, table);
    expect(calls).toEqual([`select count(*) as n from "${SCHEMA}"."${SYNC}__failures"`]);
    await seed(
      store,
      [
        ['same', 'h1'],
        ['moved', 'h-old'],
        ['gone', 'hg'],
      ],
      [
        ['same', 'h1'],
        ['moved', 'h2'],
        ['new', 'h3'],
        ['gone', 'x'],
        ['never', 'x'],
      ],
    );
    await store.pruneResolvedFailures(SYNC, table);
    expect(await keys(store, 'failures')).toEqual(['moved', 'new']);
  });

  // Checked by hand against `runIds && runIds.length === 0` return dropped (an empty list still queried), the run filter dropped, the
  // order's `last_seen desc` → `asc`, the code's null check flipped, and `reason ?? ''` → `reason`.
  it('lists failures as records, most recently seen first, optionally of given runs only', async () => {
    const calls: string[] = [];
    fx = await openState({ wrap: recording(calls) });
    const { store } = fx;
    await store.wh.insertRows(
      `${SCHEMA}.${SYNC}__failures`,
      ['key', 'reason', 'code', 'attempts', 'first_seen', 'last_seen', 'run_id', 'row_hash'],
      [
        ['a', 'INVALID: bad', 'INVALID', 2, T0, T1, 'r1', 'h'],
        ['b', null, null, 1, T0, T2, 'r2', 'h'],
        ['c', 'later', null, 3, T0, T1, 'r2', 'h'],
      ],
    );
    const rec = (
      key: string,
      code: string | null,
      reason: string,
      attempts: number,
      lastSeen: Date,
      runId: string,
    ) => ({
      sync: SYNC,
      key,
      code,
      reason,
      attempts,
      firstSeen: T0,
      lastSeen,
      runId,
    });
    expect(await store.listFailures(SYNC)).toEqual([
      rec('b', null, '', 1, T2, 'r2'),
      rec('a', 'INVALID', 'INVALID: bad', 2, T1, 'r1'),
      rec('c', null, 'later', 3, T1, 'r2'),
    ]);
    expect((await store.listFailures(SYNC, ['r1'])).map((f) => f.key)).toEqual(['a']);
    expect((await store.listFailures(SYNC, ['r2', 'r9'])).map((f) => f.key)).toEqual(['b', 'c']);
    calls.length = 0;
    expect(await store.listFailures(SYNC, [])).toEqual([]);
    expect(calls).toEqual([]);
    expect((await store.failures(SYNC)).map((r) => r.key)).toEqual(['a', 'b', 'c']);
  });
});
