/**
 * The state store's locks in-process on DuckDB (src/state/state-store.ts): taking a free lock, refusing a live
 * holder, taking over an expired lease or a dead process on this host (its run marked abandoned), backing off
 * when another run took the lock at the same moment, the heartbeat that notices a lost lock, and a concurrent
 * update read as a held lock. Full error messages are asserted.
 *
 * Written for the mutation run (issue 24): each test names the mutants it was checked against by hand (the
 * mutant applied to src, the test seen failing, the mutant reverted).
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { StateStore } from '../../../src/state/state-store.js';
import type { QueryResult, BoundSql } from '../../../src/warehouse/warehouse-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import { caught, openState, SCHEMA, SYNC, tableRows, type StateFixture, T0 } from './state-fixture.js';

const LEASE = 60;

let fx: StateFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** A lock row as another process wrote it. */
async function lockRow(store: StateStore, runId: string, host: string, pid: number, at: Date, lease = LEASE) {
  await store.wh.insertRows(
    `${SCHEMA}.locks`,
    ['sync', 'run_id', 'host', 'pid', 'acquired_at', 'heartbeat_at', 'expires_at'],
    [[SYNC, runId, host, pid, at, at, new Date(at.getTime() + lease * 1000)]],
  );
}

const runStatus = async (store: StateStore) =>
  (await store.listRuns(SYNC, 10)).map((r) => [
    r.runId,
    r.status,
    r.error,
    r.finishedAt?.toISOString() ?? null,
  ]);

/** A pid no process has: a child that has exited. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '0']).pid;
  if (!pid) throw new Error('no child pid');
  return pid;
}

describe('acquireLock', () => {
  // Checked by hand against the lease's `* 1000` → `/ 1000` (expires_at), and toDate's `v instanceof Date` →
  // `false` (the milliseconds lost).
  it('takes a free lock and names its holder', async () => {
    fx = await openState();
    fx.clock.now = new Date('2026-01-01T00:00:00.125Z');
    await fx.store.acquireLock(SYNC, 'r1', LEASE);
    expect(await fx.store.lockHolder(SYNC)).toEqual({
      sync: SYNC,
      runId: 'r1',
      host: hostname(),
      pid: process.pid,
      acquiredAt: new Date('2026-01-01T00:00:00.125Z'),
      expiresAt: new Date('2026-01-01T00:01:00.125Z'),
    });
    expect(await fx.store.lockHolder('other')).toBeUndefined();
  });

  // Checked by hand against `holder.expiresAt.getTime() <= now.getTime()` → `<` (refused at the expiry instant),
  // `!expired && !deadHere` → `||`, and `if (holder)` → `if (false)`.
  it('refuses a live holder until its lease expires, then takes over and marks its run abandoned', async () => {
    fx = await openState();
    const { store, clock } = fx;
    await store.startRun({ runId: 'r1', sync: SYNC, startedAt: T0, modelHash: null });
    await lockRow(store, 'r1', 'elsewhere', 4242, T0);
    clock.now = new Date('2026-01-01T00:00:59.999Z');
    const err = await caught(store.acquireLock(SYNC, 'r2', LEASE));
    expect(err.toJSON()).toEqual({
      code: 'STATE_LOCK_HELD',
      kind: 'system',
      message: 'another run holds the lock: run r1 on elsewhere (pid 4242) since 2026-01-01T00:00:00.000Z',
      location: { sync: SYNC },
      hint: 'the lease expires at 2026-01-01T00:01:00.000Z unless renewed',
      details: {
        holder: {
          sync: SYNC,
          runId: 'r1',
          host: 'elsewhere',
          pid: 4242,
          acquiredAt: T0,
          expiresAt: new Date('2026-01-01T00:01:00.000Z'),
        },
      },
    });
    expect(await runStatus(store)).toEqual([['r1', 'running', null, null]]);

    clock.now = new Date('2026-01-01T00:01:00.000Z');
    await store.acquireLock(SYNC, 'r2', LEASE);
    expect((await store.lockHolder(SYNC))?.runId).toBe('r2');
    expect(await runStatus(store)).toEqual([
      ['r1', 'abandoned', 'abandoned: lease expired', '2026-01-01T00:01:00.000Z'],
    ]);
    expect((await tableRows(store, 'locks', 'run_id')).map((r) => r.run_id)).toEqual(['r2']);
  });

  // Checked by hand against `holder.host === hostname()` → `true` (a dead pid on another host taken over),
  // `!processAlive(holder.pid)` → `false`, and the abandon reason's ternary swapped.
  it('takes over a lock whose holder process on this host is gone, not one on another host', async () => {
    fx = await openState();
    const { store, clock } = fx;
    clock.now = T0;
    const pid = deadPid();
    await store.startRun({ runId: 'r1', sync: SYNC, startedAt: T0, modelHash: null });
    await lockRow(store, 'r1', 'elsewhere', pid, T0);
    const err = await caught(store.acquireLock(SYNC, 'r2', LEASE));
    expect(err.message).toBe(
      `another run holds the lock: run r1 on elsewhere (pid ${pid}) since 2026-01-01T00:00:00.000Z`,
    );
    await store.wh.query(`update ${store.table('locks')} set host = '${hostname()}'`);
    await store.acquireLock(SYNC, 'r2', LEASE);
    expect((await store.lockHolder(SYNC))?.runId).toBe('r2');
    expect(await runStatus(store)).toEqual([
      ['r1', 'abandoned', 'abandoned: holder process is gone', '2026-01-01T00:00:00.000Z'],
    ]);
    // A live process on this host (this one) keeps its lock.
    await store.releaseLock(SYNC, 'r2');
    await lockRow(store, 'r3', hostname(), process.pid, T0);
    expect((await caught(store.acquireLock(SYNC, 'r4', LEASE))).code).toBe('STATE_LOCK_HELD');
  });

  // Checked by hand against `others.length > 0` → `>= 0` / `false`, the back-off's `releaseLock` dropped (this
  // run's row left behind), and the two lockHeldError messages swapped.
  it('backs off when another run inserted its lock row at the same moment', async () => {
    let raced: ((store: StateStore) => Promise<void>) | undefined;
    const others = /select run_id from .*locks.* run_id <>/s;
    fx = await openState({
      wrap: (wh) =>
        new FaultyWarehouse(wh, [
          { method: 'query', match: others, before: async () => raced && fx && (await raced(fx.store)) },
        ]),
    });
    const { store, clock } = fx;
    clock.now = T0;
    raced = (s) => lockRow(s, 'r9', 'elsewhere', 9, T0);
    const err = await caught(store.acquireLock(SYNC, 'r1', LEASE));
    expect(err.message).toBe(
      'another run holds the lock: run r9 on elsewhere (pid 9) since 2026-01-01T00:00:00.000Z',
    );
    expect((await tableRows(store, 'locks', 'run_id')).map((r) => r.run_id)).toEqual(['r9']);

    // Both saw each other and both stood back: no holder is left to name.
    await store.releaseLock(SYNC, 'r9');
    raced = undefined;
    (store.wh as FaultyWarehouse).add({ method: 'query', match: others, answerRows: [{ run_id: 'r9' }] });
    const both = await caught(store.acquireLock(SYNC, 'r1', LEASE));
    expect(both.toJSON()).toEqual({
      code: 'STATE_LOCK_HELD',
      kind: 'system',
      message: 'another run took the lock at the same moment; both stood back',
      location: { sync: SYNC },
      hint: 'run again: the lock is free',
    });
    expect(await tableRows(store, 'locks', 'run_id')).toEqual([]);
  });

  // Checked by hand against `releaseLock`'s `and run_id = …` dropped (another run's row deleted).
  it('releases only its own row', async () => {
    fx = await openState();
    await fx.store.acquireLock(SYNC, 'r1', LEASE);
    await fx.store.releaseLock(SYNC, 'r2');
    await fx.store.releaseLock('other', 'r1');
    expect((await fx.store.lockHolder(SYNC))?.runId).toBe('r1');
    await fx.store.releaseLock(SYNC, 'r1');
    expect(await fx.store.lockHolder(SYNC)).toBeUndefined();
  });
});

describe('a concurrent update while taking the lock', () => {
  // Checked by hand against the pattern emptied or its alternatives dropped one at a time, `throw err` for an
  // unrelated error dropped (it would be swallowed) and the message emptied.
  it.each([
    'Transaction is aborted due to concurrent update against table pqlsync_state.locks',
    'could not serialize access due to concurrent update',
    'ERROR: 1023 DETAIL: Serializable isolation violation on table - 123, transactions forming the cycle are: 1, 2',
    'Serializable isolation violation on table locks',
  ])('reads "%s" as a held lock (exit 4)', async (text) => {
    const cause = new Error(text);
    fx = await openState({ wrap: (wh) => new FaultyWarehouse(wh) });
    (fx.store.wh as FaultyWarehouse).add({ method: 'transaction', fail: cause });
    const err = await caught(fx.store.acquireLock(SYNC, 'r1', LEASE));
    expect(err.toJSON()).toEqual({
      code: 'STATE_LOCK_HELD',
      kind: 'system',
      message: 'another run was taking the lock at the same moment; this one stood back',
      location: { sync: SYNC },
      hint: 'run again: one of the two holds the lock now, or neither does',
    });
    expect(err.cause).toBe(cause);
  });

  it('passes any other failure on as it is, from the lock and the heartbeat', async () => {
    const cause = new Error('disk full');
    fx = await openState({ wrap: (wh) => new FaultyWarehouse(wh) });
    const wh = fx.store.wh as FaultyWarehouse;
    wh.add({ method: 'transaction', fail: cause });
    await expect(fx.store.acquireLock(SYNC, 'r1', LEASE)).rejects.toBe(cause);
    wh.clear();
    wh.add({
      method: 'query',
      match: /^update .*locks/,
      fail: new Error('aborted due to concurrent update'),
    });
    expect((await caught(fx.store.heartbeat(SYNC, 'r1', LEASE))).message).toBe(
      'another run was taking the lock at the same moment; this one stood back',
    );
    wh.clear();
    wh.add({ method: 'query', match: /^update .*locks/, fail: cause });
    await expect(fx.store.heartbeat(SYNC, 'r1', LEASE)).rejects.toBe(cause);
  });
});

/** The adapter without `rowsAffected` (engines that do not report it). */
class NoRowsAffected extends FaultyWarehouse {
  override async query(sql: BoundSql | string): Promise<QueryResult> {
    const { rows, columns } = await super.query(sql);
    return { rows, ...(columns ? { columns } : {}) };
  }
}

describe.each([
  { name: 'rows affected reported', wrap: undefined },
  { name: 'rows affected not reported', wrap: (wh: StateFixture['wh']) => new NoRowsAffected(wh) },
])('heartbeat ($name)', ({ wrap }) => {
  // Checked by hand against `rowsAffected > 0` → `>= 0`, the fallback's `=== runId` → `!==`, the lease's
  // `* 1000` → `/ 1000`, and both messages (with and without a holder) emptied.
  it('extends the lease while the run holds the lock, and stops a run that lost it', async () => {
    fx = await openState({ wrap });
    const { store, clock } = fx;
    clock.now = T0;
    await store.acquireLock(SYNC, 'r1', LEASE);
    clock.now = new Date('2026-01-01T00:00:30.000Z');
    await store.heartbeat(SYNC, 'r1', 90);
    const { rows } = await store.wh.query(`select heartbeat_at, expires_at from ${store.table('locks')}`);
    expect(
      rows.map((r) => [(r.heartbeat_at as Date).toISOString(), (r.expires_at as Date).toISOString()]),
    ).toEqual([['2026-01-01T00:00:30.000Z', '2026-01-01T00:02:00.000Z']]);

    // r2 took the lock over meanwhile.
    await store.wh.query(`update ${store.table('locks')} set run_id = 'r2', pid = 77, host = 'elsewhere'`);
    const lost = await caught(store.heartbeat(SYNC, 'r1', LEASE));
    expect(lost.toJSON()).toEqual({
      code: 'STATE_LOCK_HELD',
      kind: 'system',
      message:
        'this run lost its lock to run r2 on elsewhere (pid 77): its lease ran out before the heartbeat; stopped sending',
      location: { sync: SYNC },
      hint: 'raise scheduler.lock_lease_seconds above the longest pause between batches (CRM rate limits, retries)',
    });
    await store.releaseLock(SYNC, 'r2');
    expect((await caught(store.heartbeat(SYNC, 'r1', LEASE))).message).toBe(
      'this run lost its lock: its lease ran out before the heartbeat; stopped sending',
    );
  });
});
