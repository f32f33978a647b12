/**
 * The outcome journal in-process on DuckDB (src/state/outcome-journal.ts): what a batch journals per outcome, and
 * what the fold does to the snapshot and failures: only applied and skipped records enter the snapshot, failure
 * reasons are scrubbed of secrets, attempts count up with first_seen kept, the latest outcome of a repeated key
 * wins, and rows journaled after the fold's first read wait for the next fold. Both folds run: MERGE (DuckDB) and
 * delete + insert (the Postgres dialect's SQL, run on DuckDB: see DuckdbAsDialect).
 *
 * Written for the mutation run (issue 24): each test names the mutants it was checked against by hand (the
 * mutant applied to src, the test seen failing, the mutant reverted).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Change } from '../../../src/destination/destination.js';
import { clearSecretsForTests, registerSecret } from '../../../src/errors/secrets.js';
import { snapshotValues } from '../../../src/plan/plan-table.js';
import {
  foldJournal,
  journalOutcomes,
  journalTableName,
  unfoldedOutcomes,
} from '../../../src/state/outcome-journal.js';
import type { StateStore } from '../../../src/state/state-store.js';
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
  T3,
} from './state-fixture.js';

const SECRET = 'tok-9f8e7d6c5b4a';
const tierOf = (c: Change) => `tier-${c.key}`;

let fx: StateFixture | undefined;
afterEach(async () => {
  clearSecretsForTests();
  await fx?.close();
  fx = undefined;
});

const snapshotRow = (key: string, hash: string, id: string | null, at: Date, runId: string) => [
  key,
  hash,
  JSON.stringify({ old: key }),
  'cold',
  id,
  at,
  runId,
];

async function seed(store: StateStore): Promise<void> {
  await store.wh.insertRows(
    `${SCHEMA}.${SYNC}__snapshot`,
    ['key', 'row_hash', 'values_json', 'tier', 'destination_id', 'synced_at', 'run_id'],
    [
      snapshotRow('k1', 'old-k1', 'D-k1', T0, 'r0'),
      snapshotRow('k2', 'old-k2', 'D-k2', T0, 'r0'),
      snapshotRow('k3', 'old-k3', 'D-k3', T0, 'r0'),
      snapshotRow('s1', 'old-s1', 'SNAP-s1', T0, 'r0'),
    ],
  );
  await store.wh.insertRows(
    `${SCHEMA}.${SYNC}__failures`,
    ['key', 'reason', 'code', 'attempts', 'first_seen', 'last_seen', 'run_id', 'row_hash'],
    [
      ['k1', 'old reason k1', 'OLD', 1, T0, T0, 'r0', 'old-k1'],
      ['k3', 'old reason k3', 'OLD', 4, T0, T0, 'r0', 'old-k3'],
    ],
  );
}

/** Two batches of two runs: every outcome kind, a change without outcome, removed keys in and out of the snapshot. */
function batches() {
  const k1 = change('k1');
  const k2 = change('k2', { kind: 'removed', rowHash: null, values: {}, row: undefined });
  const k3 = change('k3', { attempts: 2 });
  const n1 = change('n1');
  const k4 = change('k4', { kind: 'added' });
  const k5 = change('k5', { kind: 'added' });
  const s1 = change('s1');
  const k6 = change('k6', { kind: 'removed', rowHash: null, values: {}, row: undefined });
  const k7 = change('k7', { kind: 'removed', rowHash: null, values: {}, row: undefined });
  return {
    k1,
    k3,
    k5,
    s1,
    first: {
      runId: 'run-b',
      batchNo: 1,
      at: T1,
      changes: [k1, k2, k3, n1],
      outcomes: [
        applied('k1', 'D-k1'),
        applied('k2'),
        rejected('k3', `INVALID_EMAIL_ADDRESS: bad email (token ${SECRET})`, 'INVALID_EMAIL_ADDRESS'),
      ],
    },
    second: {
      runId: 'run-a',
      batchNo: 2,
      at: T2,
      changes: [k4, k5, s1, k6, k7],
      outcomes: [
        rejected('k4', 'boom'),
        {
          key: 'k5',
          status: 'skipped' as const,
          reason: 'converted',
          code: 'CANNOT_UPDATE_CONVERTED_LEAD',
          destinationId: 'D-k5',
        },
        {
          key: 's1',
          status: 'skipped' as const,
          reason: 'converted too',
          code: 'CANNOT_UPDATE_CONVERTED_LEAD',
        },
        applied('k6', 'D-k6'),
        { key: 'k7', status: 'retryable' as const, reason: 'timeout' },
      ],
    },
  };
}

const journalOf = (fxs: StateFixture) => tableRows(fxs.store, journalTableName(SYNC));

describe('journalOutcomes', () => {
  // Checked by hand against: `if (!o) continue` dropped (n1 journaled, TypeError), `kept` without `c.kind !==
  // 'removed'` (k2's values journaled), `sent` without `'skipped'` (s1's values and id left out), the reason's
  // scrub dropped (the secret in the journal), `.slice(0, 4000)` dropped, `o.code ?? null` → `null`, the known
  // record id of an unnamed skipped key not looked up (`known.set` dropped: s1's id null).
  it('journals one row per change with an outcome: values, tier and id only for sent ones, reasons scrubbed', async () => {
    fx = await openState();
    await seed(fx.store);
    registerSecret(SECRET);
    const b = batches();
    await journalOutcomes(fx.store, { sync: SYNC, tierOf, ...b.first });
    await journalOutcomes(fx.store, { sync: SYNC, tierOf, ...b.second });
    const values = (c: Change) => JSON.stringify(snapshotValues(c));
    const row = (over: Record<string, unknown>) => ({
      values_json: null,
      tier: null,
      destination_id: null,
      reason: null,
      code: null,
      attempts: 0,
      ...over,
    });
    expect(await journalOf(fx)).toEqual([
      row({
        run_id: 'run-b',
        batch_no: 1,
        key: 'k1',
        kind: 'changed',
        status: 'applied',
        row_hash: 'h-k1',
        values_json: values(b.k1),
        tier: 'tier-k1',
        destination_id: 'D-k1',
        recorded_at: T1.toISOString(),
      }),
      row({
        run_id: 'run-b',
        batch_no: 1,
        key: 'k2',
        kind: 'removed',
        status: 'applied',
        row_hash: null,
        recorded_at: T1.toISOString(),
      }),
      row({
        run_id: 'run-b',
        batch_no: 1,
        key: 'k3',
        kind: 'changed',
        status: 'rejected',
        row_hash: 'h-k3',
        reason: 'INVALID_EMAIL_ADDRESS: bad email (token [redacted])',
        code: 'INVALID_EMAIL_ADDRESS',
        attempts: 2,
        recorded_at: T1.toISOString(),
      }),
      row({
        run_id: 'run-a',
        batch_no: 2,
        key: 'k4',
        kind: 'added',
        status: 'rejected',
        row_hash: 'h-k4',
        reason: 'boom',
        recorded_at: T2.toISOString(),
      }),
      row({
        run_id: 'run-a',
        batch_no: 2,
        key: 'k5',
        kind: 'added',
        status: 'skipped',
        row_hash: 'h-k5',
        values_json: values(b.k5),
        tier: 'tier-k5',
        destination_id: 'D-k5',
        reason: 'converted',
        code: 'CANNOT_UPDATE_CONVERTED_LEAD',
        recorded_at: T2.toISOString(),
      }),
      row({
        run_id: 'run-a',
        batch_no: 2,
        key: 'k6',
        kind: 'removed',
        status: 'applied',
        row_hash: null,
        destination_id: 'D-k6',
        recorded_at: T2.toISOString(),
      }),
      row({
        run_id: 'run-a',
        batch_no: 2,
        key: 'k7',
        kind: 'removed',
        status: 'retryable',
        row_hash: null,
        reason: 'timeout',
        recorded_at: T2.toISOString(),
      }),
      row({
        run_id: 'run-a',
        batch_no: 2,
        key: 's1',
        kind: 'changed',
        status: 'skipped',
        row_hash: 'h-s1',
        values_json: values(b.s1),
        tier: 'tier-s1',
        destination_id: 'SNAP-s1',
        reason: 'converted too',
        code: 'CANNOT_UPDATE_CONVERTED_LEAD',
        recorded_at: T2.toISOString(),
      }),
    ]);
  });

  // Checked by hand against `.slice(0, 4000)` dropped and `o.status === 'applied' ? null : …` (reason) → the
  // reason kept for an applied outcome.
  it('cuts a reason at 4,000 characters', async () => {
    fx = await openState();
    await journalOutcomes(fx.store, {
      sync: SYNC,
      runId: 'r1',
      batchNo: 1,
      at: T1,
      tierOf,
      changes: [change('k1')],
      outcomes: [{ key: 'k1', status: 'retryable', reason: 'x'.repeat(5000), code: 'TOO_LONG' }],
    });
    const [row] = await journalOf(fx);
    expect(String(row?.reason)).toBe('x'.repeat(4000));
    expect(row?.code).toBe('TOO_LONG');
  });

  // Checked by hand against `if (rows.length === 0) return` dropped (an insert of no rows is made) and the
  // unnamed-skipped lookup run for a batch without such keys (`unnamed.length > 0` → `true` is equivalent: the
  // list loop makes no statement for an empty list).
  it('makes no statement for a batch without outcomes, and reads the snapshot only for unnamed skipped keys', async () => {
    const calls: string[] = [];
    fx = await openState({
      wrap: (wh) =>
        new FaultyWarehouse(wh, [
          { method: 'insertRows', before: (c) => void calls.push(`insertRows ${c.sql}`) },
          { method: 'query', before: (c) => void calls.push(`query ${c.sql}`) },
        ]),
    });
    calls.length = 0;
    const input = { sync: SYNC, runId: 'r1', batchNo: 1, at: T1, tierOf };
    await journalOutcomes(fx.store, { ...input, changes: [change('k1'), change('k2')], outcomes: [] });
    expect(calls).toEqual([]);
    await journalOutcomes(fx.store, {
      ...input,
      changes: [change('k1'), change('k2')],
      outcomes: [
        applied('k1'),
        { key: 'k2', status: 'skipped', reason: 'converted', code: 'C', destinationId: 'D2' },
      ],
    });
    expect(calls).toEqual([`insertRows ${SCHEMA}.${SYNC}__journal`]);
  });
});

const folds = [
  { name: 'MERGE (duckdb)', wrap: undefined },
  {
    name: 'delete + insert (postgres SQL on DuckDB)',
    wrap: (wh: StateFixture['wh']) => new DuckdbAsDialect(wh, 'postgres'),
  },
];

describe.each(folds)('foldJournal: $name', ({ wrap }) => {
  // Checked by hand, on the MERGE fold, against: `Math.max` → `Math.min` for the cutoff (run-a's later rows stay
  // unfolded), the fold's sum `n + Number(r.n)` → `n - Number(r.n)`, the run ids' `.sort()` dropped, and each
  // statement's text emptied (a syntax error); on the delete + insert fold, against each of its five statements
  // dropped from the list (by hand: its effect missing below). Killed after the first Stryker run: the first
  // delete's filter `and status in ('applied', 'skipped')` emptied (k3, rejected, was deleted from the snapshot).
  it('applies applied and skipped rows to the snapshot, upserts the others into failures, and clears the journal', async () => {
    fx = await openState({ wrap });
    await seed(fx.store);
    const b = batches();
    await journalOutcomes(fx.store, { sync: SYNC, tierOf, ...b.first });
    await journalOutcomes(fx.store, { sync: SYNC, tierOf, ...b.second });
    expect(await unfoldedOutcomes(fx.store, SYNC)).toBe(8);

    expect(await foldJournal(fx.store, SYNC)).toEqual({ folded: 8, runIds: ['run-a', 'run-b'] });

    const values = (c: Change) => JSON.stringify(snapshotValues(c));
    expect(await tableRows(fx.store, `${SYNC}__snapshot`)).toEqual([
      {
        key: 'k1',
        row_hash: 'h-k1',
        values_json: values(b.k1),
        tier: 'tier-k1',
        destination_id: 'D-k1',
        synced_at: T1.toISOString(),
        run_id: 'run-b',
      },
      // k3 was rejected: the snapshot keeps what the CRM last accepted, so the row differs and is sent again.
      {
        key: 'k3',
        row_hash: 'old-k3',
        values_json: JSON.stringify({ old: 'k3' }),
        tier: 'cold',
        destination_id: 'D-k3',
        synced_at: T0.toISOString(),
        run_id: 'r0',
      },
      {
        key: 'k5',
        row_hash: 'h-k5',
        values_json: values(b.k5),
        tier: 'tier-k5',
        destination_id: 'D-k5',
        synced_at: T2.toISOString(),
        run_id: 'run-a',
      },
      {
        key: 's1',
        row_hash: 'h-s1',
        values_json: values(b.s1),
        tier: 'tier-s1',
        destination_id: 'SNAP-s1',
        synced_at: T2.toISOString(),
        run_id: 'run-a',
      },
    ]);
    expect(await tableRows(fx.store, `${SYNC}__failures`)).toEqual([
      {
        key: 'k3',
        reason: 'INVALID_EMAIL_ADDRESS: bad email (token tok-9f8e7d6c5b4a)',
        code: 'INVALID_EMAIL_ADDRESS',
        attempts: 5,
        first_seen: T0.toISOString(),
        last_seen: T1.toISOString(),
        run_id: 'run-b',
        row_hash: 'h-k3',
      },
      {
        key: 'k4',
        reason: 'boom',
        code: null,
        attempts: 1,
        first_seen: T2.toISOString(),
        last_seen: T2.toISOString(),
        run_id: 'run-a',
        row_hash: 'h-k4',
      },
      {
        key: 'k7',
        reason: 'timeout',
        code: null,
        attempts: 1,
        first_seen: T2.toISOString(),
        last_seen: T2.toISOString(),
        run_id: 'run-a',
        row_hash: null,
      },
    ]);
    expect(await unfoldedOutcomes(fx.store, SYNC)).toBe(0);
  });

  // Checked by hand against `repeats` forced false (`> 0` → `< 0`: the MERGE meets a key twice) and the window's
  // `recorded_at desc` / `batch_no desc` turned `asc` (the older outcome wins).
  it('folds the latest outcome of a key journaled more than once (a run that lost its lock wrote on)', async () => {
    fx = await openState({ wrap });
    const input = { sync: SYNC, tierOf };
    // k1: applied at T1, rejected at T2 → stays out of the snapshot, in failures. k2: rejected, then applied.
    // k3: two applied outcomes at the same time, batch 2 after batch 1 → batch 2's hash.
    await journalOutcomes(fx.store, {
      ...input,
      runId: 'r1',
      batchNo: 5,
      at: T1,
      changes: [change('k1'), change('k2')],
      outcomes: [applied('k1'), rejected('k2', 'no')],
    });
    await journalOutcomes(fx.store, {
      ...input,
      runId: 'r2',
      batchNo: 1,
      at: T2,
      changes: [change('k1'), change('k2')],
      outcomes: [rejected('k1', 'later no'), applied('k2')],
    });
    await journalOutcomes(fx.store, {
      ...input,
      runId: 'r2',
      batchNo: 1,
      at: T3,
      changes: [change('k3', { rowHash: 'first' })],
      outcomes: [applied('k3')],
    });
    await journalOutcomes(fx.store, {
      ...input,
      runId: 'r2',
      batchNo: 2,
      at: T3,
      changes: [change('k3', { rowHash: 'second' })],
      outcomes: [applied('k3')],
    });

    expect(await foldJournal(fx.store, SYNC)).toEqual({ folded: 6, runIds: ['r1', 'r2'] });
    const snapshot = await tableRows(fx.store, `${SYNC}__snapshot`);
    expect(snapshot.map((r) => [r.key, r.row_hash, r.run_id])).toEqual([
      ['k2', 'h-k2', 'r2'],
      ['k3', 'second', 'r2'],
    ]);
    const failures = await tableRows(fx.store, `${SYNC}__failures`);
    expect(failures.map((r) => [r.key, r.reason, r.attempts, r.last_seen])).toEqual([
      ['k1', 'later no', 1, T2.toISOString()],
    ]);
  });

  // Checked by hand against the final `delete from journal where recorded_at <= cutoff` without its condition,
  // and the fold's reads without `recorded_at <= cutoff` (the late row folded with the rest, then deleted).
  it('leaves a row journaled after its first read for the next fold', async () => {
    let late: (() => Promise<void>) | undefined;
    fx = await openState({
      wrap: (wh) => {
        const inner = wrap ? wrap(wh) : wh;
        return new FaultyWarehouse(inner, [
          { method: 'query', match: /count\(distinct key\)/, before: () => late?.() },
        ]);
      },
    });
    const store = fx.store;
    const input = { sync: SYNC, tierOf, runId: 'r1' };
    await journalOutcomes(store, {
      ...input,
      batchNo: 1,
      at: T1,
      changes: [change('k1')],
      outcomes: [applied('k1')],
    });
    late = async () => {
      late = undefined;
      await journalOutcomes(store, {
        ...input,
        batchNo: 2,
        at: T2,
        changes: [change('k2')],
        outcomes: [applied('k2')],
      });
    };
    expect(await foldJournal(store, SYNC)).toEqual({ folded: 1, runIds: ['r1'] });
    expect((await tableRows(store, `${SYNC}__snapshot`)).map((r) => r.key)).toEqual(['k1']);
    expect(await unfoldedOutcomes(store, SYNC)).toBe(1);
    expect(await foldJournal(store, SYNC)).toEqual({ folded: 1, runIds: ['r1'] });
    expect((await tableRows(store, `${SYNC}__snapshot`)).map((r) => r.key)).toEqual(['k1', 'k2']);
    expect(await unfoldedOutcomes(store, SYNC)).toBe(0);
  });
});

/** The statement and table of each DML statement among `calls`. */
const dmlTargets = (calls: readonly string[]) =>
  calls.flatMap(
    (s) => /^\s*(insert into|delete from|merge into|update) (\S+)/i.exec(s)?.slice(1).join(' ') ?? [],
  );

describe('foldJournal statements', () => {
  // Checked by hand against `rows.length === 0` → `false` (the fold goes on and fails on an empty cutoff) and
  // `MERGE_DIALECTS.has(d.name)` → `false` (DuckDB then folds by delete + insert: two statements on the snapshot).
  it('reads one count on an empty journal; otherwise touches the snapshot with one MERGE (DuckDB)', async () => {
    const calls: string[] = [];
    fx = await openState({
      wrap: (wh) => new FaultyWarehouse(wh, [{ method: 'query', before: (c) => void calls.push(c.sql) }]),
    });
    calls.length = 0;
    expect(await foldJournal(fx.store, SYNC)).toEqual({ folded: 0, runIds: [] });
    expect(calls).toEqual([
      `select run_id, count(*) as n, max(recorded_at) as last_at from "${SCHEMA}"."${SYNC}__journal" group by run_id`,
    ]);
    await fx.store.commitBatch(SYNC, 'r1', [change('k1')], [applied('k1')]);
    expect(dmlTargets(calls)).toEqual([
      `merge into "${SCHEMA}"."${SYNC}__snapshot"`,
      `merge into "${SCHEMA}"."${SYNC}__failures"`,
      `delete from "${SCHEMA}"."${SYNC}__journal"`,
    ]);
  });

  // Checked by hand against `MERGE_DIALECTS.has(d.name)` → `true` (Postgres would be sent a MERGE with conditional
  // WHEN clauses, which Postgres before 15 and Redshift refuse; DuckDB runs it, so only the statements tell).
  it('folds by delete + insert where the dialect has no conditional MERGE (Postgres)', async () => {
    const calls: string[] = [];
    fx = await openState({
      wrap: (wh) =>
        new FaultyWarehouse(new DuckdbAsDialect(wh, 'postgres'), [
          { method: 'query', before: (c) => void calls.push(c.sql) },
        ]),
    });
    calls.length = 0;
    await fx.store.commitBatch(SYNC, 'r1', [change('k1')], [applied('k1')]);
    const snapshot = `"${SCHEMA}"."${SYNC}__snapshot"`;
    const failures = `"${SCHEMA}"."${SYNC}__failures"`;
    expect(dmlTargets(calls)).toEqual([
      `delete from ${snapshot}`,
      `insert into ${snapshot}`,
      `delete from ${failures}`,
      `update ${failures}`,
      `insert into ${failures}`,
      `delete from "${SCHEMA}"."${SYNC}__journal"`,
    ]);
  });

  // Checked by hand against `if (!(await tableExists…)) return 0` dropped (a query on a missing table).
  it('counts no unfolded outcomes for a sync that never ran', async () => {
    fx = await openState({ syncTables: false });
    expect(await unfoldedOutcomes(fx.store, SYNC)).toBe(0);
  });
});
