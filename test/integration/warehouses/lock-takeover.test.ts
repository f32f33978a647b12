/**
 * Lock takeover on a real Postgres, with two connections (two runs) and the interleaving forced: one run stops
 * inside its takeover transaction until the other has taken the lock, no sleeps. Also: a run that loses its lock
 * stops at its next heartbeat (exit 4), and the engines' concurrent-update refusals mean "lock held".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { exitCodeFor, runSync } from '../../../src/runner/run-sync.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';
import type { BoundSql, WarehouseAdapter } from '../../../src/warehouse/warehouse-adapter.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { tempProject } from '../../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const T0 = new Date('2026-01-05T10:00:00.000Z');
const textOf = (sql: BoundSql | string) => (typeof sql === 'string' ? sql : sql.sql);

/**
 * `wh` whose transactions stop before their first statement matching `at` until `resume()`; `reached` resolves
 * when one has stopped there.
 */
function pausing(wh: WarehouseAdapter, at: RegExp) {
  let resume!: () => void;
  let reachedResolve!: () => void;
  const gate = new Promise<void>((r) => (resume = r));
  const reached = new Promise<void>((r) => (reachedResolve = r));
  let paused = false;
  const wrap = (tx: WarehouseAdapter): WarehouseAdapter =>
    Object.assign(Object.create(tx) as WarehouseAdapter, {
      query: async (sql: BoundSql | string) => {
        if (!paused && at.test(textOf(sql))) {
          paused = true;
          reachedResolve();
          await gate;
        }
        return tx.query(sql);
      },
    });
  const adapter = Object.assign(Object.create(wh) as WarehouseAdapter, {
    transaction: <T>(fn: (tx: WarehouseAdapter) => Promise<T>) => wh.transaction((tx) => fn(wrap(tx))),
  });
  return { adapter, reached, resume: () => resume() };
}

describe('lock takeover on Postgres', () => {
  let server: TestPostgres;
  let n = 0;
  const open = async (url: string) => {
    const wh = new PostgresAdapter({ url });
    await wh.connect();
    return wh;
  };
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 120_000);
  afterAll(async () => {
    await server.stop();
  });

  it('of two runs taking over the same expired lock, the one that read it before the other took it stands back', async () => {
    const url = await server.createDatabase(`lock_race_${process.pid}_${++n}`);
    const [whB, whC] = [await open(url), await open(url)];
    try {
      const later = () => new Date(T0.getTime() + 120_000);
      const setup = new StateStore(whB, 'pqlsync_state', () => T0);
      await setup.ensureStateTables();
      await setup.acquireLock('users', 'run-a', 60);
      // Run C reads the expired holder (run-a), then stops before its takeover's writes.
      const c = pausing(whC, /^\s*update .*"runs"/s);
      const storeC = new StateStore(c.adapter, 'pqlsync_state', later);
      const takeC = storeC.acquireLock('users', 'run-c', 60).then(
        () => 'held',
        (e: unknown) => e,
      );
      await c.reached;
      // Meanwhile run B takes the expired lock over, all the way, and commits.
      await new StateStore(whB, 'pqlsync_state', later).acquireLock('users', 'run-b', 60);
      c.resume();
      const outcome = await takeC;
      expect(outcome).toBeInstanceOf(PqlsyncError);
      expect((outcome as PqlsyncError).message).toBe(
        `another run holds the lock: run run-b on ${(await setup.lockHolder('users'))!.host} (pid ${process.pid}) since 2026-01-05T10:02:00.000Z`,
      );
      const { rows } = await whB.query('select run_id from pqlsync_state.locks order by run_id');
      expect(rows.map((r) => r.run_id)).toEqual(['run-b']);
    } finally {
      await whB.close();
      await whC.close();
    }
  });

  it('a run whose lock was taken over stops at its next heartbeat: exit 4, no more batches sent or committed', async () => {
    const url = await server.createDatabase(`lock_lost_${process.pid}_${++n}`);
    const wh = await open(url);
    const other = await open(url);
    const p = tempProject();
    try {
      await wh.query('create schema src');
      await wh.query('create table src.users (user_id bigint, email text)');
      await wh.query(
        `insert into src.users select i, 'u' || i || '@example.com' from generate_series(1, 250) as i`,
      );
      p.writeModel(
        'scores',
        `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email from src.users\n`,
      );
      p.writeConfig(`
destinations:
  crm: { type: file, path: out }
scheduler: { lock_lease_seconds: 60 }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    fields: { Email: email }
`);
      let clock = T0.getTime();
      const dest = new MemoryDestination();
      const write = dest.write.bind(dest);
      dest.write = async (batch) => {
        const outcomes = await write(batch);
        if (dest.batches === 2) {
          // The lease ran out during a long pause; another run took the lock over.
          clock += 61_000;
          await other.query(`delete from pqlsync_state.locks where sync = 'users'`);
          await other.query(
            `insert into pqlsync_state.locks values ('users', 'run-z', 'other-host', 1, now(), now(), now() + interval '1 hour')`,
          );
        }
        return outcomes;
      };
      const s = await runSync({
        loaded: loadConfig(p.configPath),
        warehouse: wh,
        syncName: 'users',
        destination: async () => dest,
        now: () => new Date(clock),
      });
      expect(exitCodeFor([s])).toBe(4);
      expect(s.error?.message).toBe(
        'sync users: this run lost its lock to run run-z on other-host (pid 1): its lease ran out before the heartbeat; stopped sending\n  hint: raise scheduler.lock_lease_seconds above the longest pause between batches (CRM rate limits, retries)',
      );
      // Batch 1 was journaled, and left for the lock's holder to fold; batch 2 was sent but not journaled (the next
      // holder sends it again); nothing after.
      expect(dest.batches).toBe(2);
      const count = async (table: string) =>
        (await wh.query(`select count(*)::int as n from pqlsync_state.${table}`)).rows[0]!.n;
      expect([await count('users__snapshot'), await count('users__journal')]).toEqual([0, 50]);
      const lock = await wh.query('select run_id from pqlsync_state.locks');
      expect(lock.rows).toEqual([{ run_id: 'run-z' }]);
      // The next run folds batch 1 before it plans: batch 2 and the rest are sent, batch 1 is not sent again.
      await other.query(`delete from pqlsync_state.locks where sync = 'users'`);
      const next = await runSync({
        loaded: loadConfig(p.configPath),
        warehouse: wh,
        syncName: 'users',
        destination: async () => dest,
        now: () => new Date(clock),
      });
      expect(next).toMatchObject({ status: 'success', counts: { added: 200, applied: 200 } });
      expect([await count('users__snapshot'), await count('users__journal')]).toEqual([250, 0]);
    } finally {
      await wh.close();
      await other.close();
      p.cleanup();
    }
  });
});

describe('concurrent-update refusals while taking the lock', () => {
  it.each([
    [
      'BigQuery',
      'Transaction is aborted due to concurrent update against table conformance.pqlsync_state.locks',
    ],
    [
      'Redshift',
      'ERROR: 1023 DETAIL: Serializable isolation violation on table - 123456, transactions forming the cycle are: 1, 2',
    ],
  ])('%s: mean the lock is held (exit 4), not a failure', async (_engine, message) => {
    const wh = new DuckdbAdapter({ path: ':memory:' });
    await wh.connect();
    try {
      const store = new StateStore(wh, 'pqlsync_state');
      await store.ensureStateTables();
      const refusing = Object.assign(Object.create(wh) as WarehouseAdapter, {
        transaction: async () => {
          throw new PqlsyncError('WAREHOUSE_QUERY_FAILED', message);
        },
      });
      const e = await new StateStore(refusing, 'pqlsync_state')
        .acquireLock('users', 'run-b', 60)
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PqlsyncError);
      expect([(e as PqlsyncError).code, (e as PqlsyncError).message]).toEqual([
        'STATE_LOCK_HELD',
        'another run was taking the lock at the same moment; this one stood back',
      ]);
    } finally {
      await wh.close();
    }
  });
});
