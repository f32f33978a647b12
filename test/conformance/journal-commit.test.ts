/**
 * A 20,000-key commit on every warehouse: the outcomes are journaled (in the adapter's own insert slices) and
 * folded by set-based statements, with no list of keys bound anywhere (Snowflake takes 16,384 list items,
 * Redshift 32,767 binds a statement). Added, changed, removed and rejected rows land where they belong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Change, RecordOutcome } from '../../src/destination/destination.js';
import { unfoldedOutcomes } from '../../src/state/outcome-journal.js';
import { StateStore } from '../../src/state/state-store.js';
import { sqlDialect } from '../../src/warehouse/sql-dialect.js';
import { conformanceWarehouses } from './warehouses.js';

const KEYS = 20_000;

function change(i: number, kind: Change['kind'], hash: string): Change {
  const key = `k${i}`;
  return {
    key,
    kind,
    matchValue: key,
    values: kind === 'removed' ? {} : { Score__c: i },
    changedFields: [],
    row: kind === 'removed' ? undefined : { score: i },
    rowHash: kind === 'removed' ? null : hash,
    attempts: 0,
  };
}

describe.each(conformanceWarehouses())('journal commit: $name', (w) => {
  beforeAll(async () => {
    await w.start();
  }, 120_000);
  afterAll(async () => {
    await w.stop();
  });

  it(`commits ${KEYS.toLocaleString('en-US')} keys in one journal and one fold`, async () => {
    const wh = await w.open();
    try {
      const d = sqlDialect(wh.dialect);
      let clock = new Date('2026-01-05T10:00:00.000Z');
      const store = new StateStore(wh, 'pqlsync_state', () => clock);
      await store.ensureStateTables();
      await store.ensureSyncTables('users');
      // The snapshot holds the keys already, written by one statement (the journal's insert is what is under test).
      const t = d.types;
      const digits = (alias: string, to = 9) =>
        `(select ${Array.from({ length: to + 1 }, (_, i) => `${i} as v`).join(' union all select ')}) ${alias}`;
      await wh.query(
        `insert into ${store.snapshotTable('users')} (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
         select 'k' || cast(a.v + 10 * b.v + 100 * c.v + 1000 * e.v + 10000 * f.v as ${t.text}), 'h1', '{}',
           cast(null as ${t.text}), cast(null as ${t.text}), ${d.now()}, 'run-1'
         from ${digits('a')} cross join ${digits('b')} cross join ${digits('c')} cross join ${digits('e')} cross join ${digits('f', 1)}`,
      );
      const all = Array.from({ length: KEYS }, (_, i) => i);

      // Then: the first 500 removed, the next 500 rejected, the rest changed and accepted.
      clock = new Date('2026-01-05T11:00:00.000Z');
      const second = all.map((i) => change(i, i < 500 ? 'removed' : 'changed', 'h2'));
      const outcomes = second.map((c, i): RecordOutcome =>
        i >= 500 && i < 1000
          ? { key: c.key, status: 'rejected', reason: 'refused', code: 'TEST_REJECT' }
          : { key: c.key, status: 'applied' },
      );
      await store.commitBatch('users', 'run-2', second, outcomes);

      const { rows } = await wh.query(
        `select row_hash, run_id, count(*) as n from ${store.snapshotTable('users')} group by row_hash, run_id order by row_hash`,
      );
      expect(rows.map((r) => [String(r.row_hash), String(r.run_id), Number(r.n)])).toEqual([
        ['h1', 'run-1', 500],
        ['h2', 'run-2', KEYS - 1000],
      ]);
      const { rows: failed } = await wh.query(
        `select count(*) as n, min(attempts) as lo, max(attempts) as hi, min(code) as code from ${store.failuresTable('users')}`,
      );
      expect(failed.map((r) => [Number(r.n), Number(r.lo), Number(r.hi), String(r.code)])).toEqual([
        [500, 1, 1, 'TEST_REJECT'],
      ]);
      expect(await unfoldedOutcomes(store, 'users')).toBe(0);
    } finally {
      await wh.close();
    }
  }, 600_000);
});
