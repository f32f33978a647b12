/**
 * The outcome journal on DuckDB and a real Postgres: a run that ends after journaling its acknowledged batches but
 * before the fold loses nothing and sends nothing again (the next run folds it before planning), and a run touches
 * the snapshot with at most 3 DML statements whatever its batch count (each batch only appends to the journal).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { Change, RecordOutcome } from '../../src/destination/destination.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { foldJournal, journalOutcomes } from '../../src/state/outcome-journal.js';
import { StateStore } from '../../src/state/state-store.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { sqlDialect } from '../../src/warehouse/sql-dialect.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { duckdbUnderTest, postgresUnderTest, seedUsers } from '../conformance/warehouses.js';
import { FaultyWarehouse, injectedFailure } from '../helpers/faulty-warehouse.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const ROWS = 300;
const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`;
const CONFIG = `
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    mode: mirror
    max_removed_pct: 100
    fields:
      Email: email
      Score__c: score
`;

/** A DML statement whose target is the sync's snapshot (insert, update, delete, merge), or an insertRows into it. */
const SNAPSHOT_DML = /^\s*(insert\s+into|update|delete\s+from|merge\s+into)\s+\S*users__snapshot\b/i;
/** The fold's first statement: it reads what the journal holds. */
const FOLD_READ = /^select run_id, count\(\*\) as n, max\(recorded_at\) as last_at from \S*users__journal/;

describe.each([duckdbUnderTest(), postgresUnderTest()])('outcome journal: $name', (w) => {
  let p: TempProject;
  let inner: WarehouseAdapter;
  let wh: FaultyWarehouse;
  let dest: MemoryDestination;
  /** DML statements on the snapshot, as they pass. */
  let snapshotDml: string[];

  beforeAll(async () => {
    await w.start();
  }, 120_000);
  afterAll(async () => {
    await w.stop();
  });
  beforeEach(async () => {
    p = tempProject();
    p.writeModel('scores', MODEL);
    p.writeConfig(CONFIG);
    inner = await w.open();
    await seedUsers(
      inner,
      Array.from({ length: ROWS }, (_, i) => [i + 1, `u${i + 1}@example.com`, ((i + 1) * 7) % 100]),
    );
    snapshotDml = [];
    wh = new FaultyWarehouse(inner);
    const observe = ({ sql }: { sql: string }) => {
      if (SNAPSHOT_DML.test(sql)) snapshotDml.push(sql.trim().split(/\s+/).slice(0, 3).join(' '));
    };
    wh.add({ method: 'query', before: observe });
    wh.add({
      method: 'insertRows',
      match: /users__snapshot$/,
      before: () => void snapshotDml.push('insertRows users__snapshot'),
    });
    dest = new MemoryDestination();
  });
  afterEach(async () => {
    await inner.close();
    p.cleanup();
  });

  const run = async () => {
    const [s] = await runSyncs({
      loaded: loadConfig(p.configPath),
      syncs: ['users'],
      warehouse: wh,
      destination: async () => dest,
    });
    return s!;
  };
  const count = async (table: string) =>
    Number(
      (
        await inner.query(
          `select count(*) as n from ${sqlDialect(inner.dialect).table('pqlsync_state', table)}`,
        )
      ).rows[0]?.n,
    );

  it('a run that ends after journaling, before the fold: the next run folds it first and sends nothing again', async () => {
    dest.rejectKeys.set('7', 'INVALID_EMAIL_ADDRESS');
    // The run's own fold (the first read of the journal after a batch was journaled) fails, as a process killed at
    // that point would stop: every batch was acknowledged and journaled, none folded.
    let journaled = false;
    wh.add({ method: 'insertRows', match: /users__journal$/, before: () => void (journaled = true) });
    wh.add({
      method: 'query',
      match: FOLD_READ,
      before: ({ n }) => {
        if (journaled) throw injectedFailure('query', n);
      },
    });
    const first = await run();
    expect(first.status).toBe('failed');
    expect(first.error?.message).toContain('injected failure: query call');
    expect(dest.records.get('Lead')?.size).toBe(ROWS - 1);
    expect(await count('users__snapshot')).toBe(0);
    expect(await count('users__failures')).toBe(0);
    expect(await count('users__journal')).toBe(ROWS);

    wh.clear();
    const writesBefore = dest.written.length;
    const again = await run();
    expect(again.status).toBe('partial');
    // Only the rejected record is planned again (as a retry); nothing the CRM acknowledged is sent twice.
    expect(again.counts).toMatchObject({ added: 1, changed: 0, retried: 1, applied: 0, rejected: 1 });
    expect(dest.written.length).toBe(writesBefore);
    expect(await count('users__snapshot')).toBe(ROWS - 1);
    expect(await count('users__journal')).toBe(0);
    const { rows } = await inner.query(
      `select key, attempts from ${sqlDialect(inner.dialect).table('pqlsync_state', 'users__failures')}`,
    );
    expect(rows.map((r) => [String(r.key), Number(r.attempts)])).toEqual([['7', 2]]);
    // The snapshot rows carry the run that got the CRM's acknowledgement.
    const { rows: owners } = await inner.query(
      `select distinct run_id from ${sqlDialect(inner.dialect).table('pqlsync_state', 'users__snapshot')}`,
    );
    expect(owners.map((r) => String(r.run_id))).toEqual([first.runId]);
  });

  it('folds the latest outcome of a key journaled twice (a run that lost its lock wrote on)', async () => {
    const store = new StateStore(inner, 'pqlsync_state');
    await store.ensureStateTables();
    await store.ensureSyncTables('users');
    const change = (key: string, hash: string): Change => ({
      key,
      kind: 'added',
      matchValue: key,
      values: { Score__c: hash },
      changedFields: [],
      row: {},
      rowHash: hash,
      attempts: 0,
    });
    const journal = (at: string, runId: string, changes: Change[], outcomes: RecordOutcome[]) =>
      journalOutcomes(store, {
        sync: 'users',
        runId,
        batchNo: 1,
        changes,
        outcomes,
        tierOf: () => null,
        at: new Date(at),
      });
    await journal(
      '2026-01-05T10:00:00Z',
      'run-old',
      [change('k1', 'h1'), change('k2', 'h1')],
      [
        { key: 'k1', status: 'applied' },
        { key: 'k2', status: 'rejected', reason: 'refused', code: 'TEST_REJECT' },
      ],
    );
    await journal(
      '2026-01-05T10:05:00Z',
      'run-new',
      [change('k1', 'h2'), change('k2', 'h2')],
      [
        { key: 'k1', status: 'rejected', reason: 'refused', code: 'TEST_REJECT' },
        { key: 'k2', status: 'applied' },
      ],
    );
    expect(await foldJournal(store, 'users')).toEqual({ folded: 4, runIds: ['run-new', 'run-old'] });
    const d = sqlDialect(inner.dialect);
    const { rows: snap } = await inner.query(
      `select key, row_hash, run_id from ${d.table('pqlsync_state', 'users__snapshot')}`,
    );
    expect(snap.map((r) => [String(r.key), String(r.row_hash), String(r.run_id)])).toEqual([
      ['k2', 'h2', 'run-new'],
    ]);
    const { rows: failed } = await inner.query(
      `select key, run_id from ${d.table('pqlsync_state', 'users__failures')}`,
    );
    expect(failed.map((r) => [String(r.key), String(r.run_id)])).toEqual([['k1', 'run-new']]);
    expect(await count('users__journal')).toBe(0);
  });

  it('touches the snapshot with at most 3 DML statements per run, whatever the batch count', async () => {
    dest.batchSize = 10;
    const first = await run();
    expect(first).toMatchObject({ status: 'success', counts: { added: ROWS, applied: ROWS } });
    expect(dest.batches).toBe(ROWS / 10);
    expect(snapshotDml.length, snapshotDml.join('\n')).toBeGreaterThan(0);
    expect(snapshotDml.length, snapshotDml.join('\n')).toBeLessThanOrEqual(3);

    // 90 changed and 30 removed (mirror mode sends the removals): 12 batches, still at most 3 statements.
    const d = sqlDialect(inner.dialect);
    await inner.query(`update ${d.table('src', 'users')} set score = score + 1 where user_id <= 90`);
    await inner.query(`delete from ${d.table('src', 'users')} where user_id > ${ROWS - 30}`);
    snapshotDml = [];
    const batchesBefore = dest.batches;
    const second = await run();
    expect(second).toMatchObject({ status: 'success', counts: { changed: 90, removed: 30, applied: 120 } });
    expect(dest.batches - batchesBefore).toBe(12);
    expect(snapshotDml.length, snapshotDml.join('\n')).toBeLessThanOrEqual(3);
    expect(await count('users__snapshot')).toBe(ROWS - 30);
  });
});
