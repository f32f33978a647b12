/**
 * planSync's diff, called directly on an in-memory DuckDB, in each of the three plan shapes (plan-fixture.ts): the
 * counts it returns, the rows it plans and the changes streamed out of them. For `npm run mutation`: Stryker's run
 * with these tests is what shows they catch breaks (docs/audits/mutation-plan.md lists what survived them).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../../src/destination/destination.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { openFixture, PLAN_SHAPES, TARGET, type Fixture } from './plan-fixture.js';

setLogger(createLogger({ level: 'silent' }));

const HASH = /^[0-9a-f]{32}$/;

describe.each(PLAN_SHAPES)('planSync, $name', ({ shape, steps }) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture(shape);
  });
  afterEach(async () => {
    await f.close();
  });

  const planTable = 'pqlsync_scratch.main."users__plan"';
  const workTables = steps ? ['users__current', 'users__plan', 'users__dups'] : ['users__plan'];

  it('plans every row of a first sync as added, with the values to send', async () => {
    await f.insert([
      [1, 'e1', 'a@x.io', 10, 'gold'],
      [2, 'e2', 'b@x.io', 20, null],
      [3, null, 'c@x.io', null, 'silver'],
    ]);
    const p = await f.plan();
    expect(p).toEqual({
      modelRows: 3,
      validRows: 3,
      invalid: { nullKeys: 0, duplicateKeyRows: 0, sampleDuplicateKeys: [] },
      snapshotRows: 0,
      added: 3,
      changed: 0,
      removed: 0,
      retried: 0,
      planTable,
      workTables,
    });
    const changes = await f.changes(p);
    expect(changes.map((c) => c.rowHash)).toEqual([
      expect.stringMatching(HASH),
      expect.stringMatching(HASH),
      expect.stringMatching(HASH),
    ]);
    expect(new Set(changes.map((c) => c.rowHash)).size).toBe(3);
    expect(changes.map(({ rowHash: _h, ...c }) => c)).toEqual([
      {
        key: '1',
        kind: 'added',
        matchValue: 'e1',
        values: { Email: 'a@x.io', Score__c: 10, Tier__c: 'gold', Ext__c: 'e1' },
        changedFields: ['Email', 'Score__c', 'Tier__c', 'Ext__c'],
        row: { user_id: 1, ext_id: 'e1', email: 'a@x.io', score: 10, tier: 'gold' },
        attempts: 0,
      },
      {
        // Tier__c is skip_null: left out when null.
        key: '2',
        kind: 'added',
        matchValue: 'e2',
        values: { Email: 'b@x.io', Score__c: 20, Ext__c: 'e2' },
        changedFields: ['Email', 'Score__c', 'Ext__c'],
        row: { user_id: 2, ext_id: 'e2', email: 'b@x.io', score: 20, tier: null },
        attempts: 0,
      },
      {
        // No match value: an empty one (the batch writer rejects it), not "null".
        key: '3',
        kind: 'added',
        matchValue: '',
        values: { Email: 'c@x.io', Score__c: null, Tier__c: 'silver', Ext__c: null },
        changedFields: ['Email', 'Score__c', 'Tier__c', 'Ext__c'],
        row: { user_id: 3, ext_id: null, email: 'c@x.io', score: null, tier: 'silver' },
        attempts: 0,
      },
    ]);
  });

  it('after a commit plans nothing for unchanged rows, and each edit, removal and new row once', async () => {
    await f.insert([
      [1, 'e1', 'a@x.io', 10, 'gold'],
      [2, 'e2', 'b@x.io', 20, 'gold'],
      [3, 'e3', 'c@x.io', 30, 'gold'],
      [4, 'e4', 'd@x.io', 40, 'gold'],
      [5, 'e5', 'e@x.io', 50, 'gold'],
    ]);
    await f.sync();
    expect(await f.plan()).toMatchObject({
      modelRows: 5,
      validRows: 5,
      snapshotRows: 5,
      added: 0,
      changed: 0,
      removed: 0,
    });
    expect(await f.changes(await f.plan())).toEqual([]);

    // One edit per hashed column (each mapped column, and the match column alone), a removal, a new row.
    await f.wh.query(`update src.users set email = 'a2@x.io' where user_id = 1`);
    await f.wh.query(`update src.users set score = 21 where user_id = 2`);
    await f.wh.query(`update src.users set tier = null where user_id = 3`);
    await f.wh.query(`update src.users set ext_id = 'e4b' where user_id = 4`);
    await f.wh.query(`delete from src.users where user_id = 5`);
    await f.insert([[6, 'e6', 'f@x.io', 60, null]]);
    const p = await f.plan();
    expect(p).toEqual({
      modelRows: 5,
      validRows: 5,
      invalid: { nullKeys: 0, duplicateKeyRows: 0, sampleDuplicateKeys: [] },
      snapshotRows: 5,
      added: 1,
      changed: 4,
      removed: 1,
      retried: 0,
      planTable,
      workTables,
    });
    const changes = await f.changes(p);
    const brief = (c: Change) => ({
      key: c.key,
      kind: c.kind,
      matchValue: c.matchValue,
      changedFields: c.changedFields,
    });
    expect(changes.map(brief)).toEqual([
      // Only the fields that differ from the snapshot's values (the previous values the plan carries).
      { key: '1', kind: 'changed', matchValue: 'e1', changedFields: ['Email'] },
      { key: '2', kind: 'changed', matchValue: 'e2', changedFields: ['Score__c'] },
      // Tier__c went null and is skip_null: no value to send, yet the row changed.
      { key: '3', kind: 'changed', matchValue: 'e3', changedFields: [] },
      { key: '4', kind: 'changed', matchValue: 'e4b', changedFields: ['Ext__c'] },
      {
        key: '5',
        kind: 'removed',
        matchValue: 'e5',
        changedFields: ['Email', 'Score__c', 'Tier__c', 'Is_PQL__c'],
      },
      { key: '6', kind: 'added', matchValue: 'e6', changedFields: ['Email', 'Score__c', 'Ext__c'] },
    ]);
    // A removed row is sent with the cleared values and on_remove, under the match value it was synced with.
    expect(changes[4]).toEqual({
      key: '5',
      kind: 'removed',
      matchValue: 'e5',
      values: { Email: null, Score__c: null, Tier__c: 'none', Is_PQL__c: false },
      changedFields: ['Email', 'Score__c', 'Tier__c', 'Is_PQL__c'],
      row: undefined,
      rowHash: null,
      attempts: 0,
    });
    expect(changes[0]!.values).toEqual({ Email: 'a2@x.io', Score__c: 10, Tier__c: 'gold', Ext__c: 'e1' });

    // Streaming one kind streams only it.
    expect((await f.changes(p, ['removed'])).map((c) => c.key)).toEqual(['5']);
    expect((await f.changes(p, ['added', 'changed'])).map((c) => c.key)).toEqual(['1', '2', '3', '4', '6']);

    // Committed, the same data plans nothing.
    await f.sync();
    expect(await f.plan()).toMatchObject({ snapshotRows: 5, added: 0, changed: 0, removed: 0 });
  });

  it('counts null and repeated keys, names up to five repeated keys in order, and plans none of them', async () => {
    await f.insert([
      [null, 'n1', 'n@x.io', 1, null],
      [null, 'n2', 'n@x.io', 2, null],
      [null, 'n3', 'n@x.io', 3, null],
      [7, 'e7', 'a@x.io', 1, null],
      [7, 'e7', 'b@x.io', 2, null],
      [8, 'e8', 'c@x.io', 3, null],
    ]);
    const first = await f.plan();
    expect(first).toMatchObject({
      modelRows: 6,
      validRows: 1,
      invalid: { nullKeys: 3, duplicateKeyRows: 2, sampleDuplicateKeys: ['7'] },
      added: 1,
      changed: 0,
      removed: 0,
    });
    expect((await f.changes(first)).map((c) => c.key)).toEqual(['8']);
    await f.sync();

    // Copies of synced rows, equal to the snapshot: only the counts show them (the one-pass plan's second pass).
    await f.insert([[8, 'e8', 'c@x.io', 3, null]]);
    for (let k = 10; k <= 15; k++)
      await f.insert([
        [k, `e${k}`, 'x@x.io', k, null],
        [k, `e${k}`, 'x@x.io', k, null],
      ]);
    const p = await f.plan();
    expect(p).toMatchObject({
      modelRows: 19,
      validRows: 0,
      // Sorted as text, the first five: 10..14 (and 15, 7, 8 not named).
      invalid: { nullKeys: 3, duplicateKeyRows: 16, sampleDuplicateKeys: ['10', '11', '12', '13', '14'] },
      snapshotRows: 1,
      added: 0,
      changed: 0,
      // Key 8 is repeated, not removed: a repeated key is left alone, neither sent nor removed.
      removed: 0,
    });
    expect(await f.changes(p)).toEqual([]);
  });

  it('finds a repeated synced key that only the counts show, when the rest of the model is unchanged', async () => {
    await f.insert([
      [1, 'e1', 'a@x.io', 1, null],
      [2, 'e2', 'b@x.io', 2, null],
    ]);
    await f.sync();
    await f.insert([[2, 'e2', 'b@x.io', 2, null]]);
    const p = await f.plan();
    expect(p).toMatchObject({
      modelRows: 3,
      validRows: 1,
      invalid: { nullKeys: 0, duplicateKeyRows: 2, sampleDuplicateKeys: ['2'] },
      snapshotRows: 2,
      added: 0,
      changed: 0,
      removed: 0,
    });
    // A repeated key among changed rows (one copy edited) is left out as well.
    await f.wh.query(
      `update src.users set score = 9 where user_id = 2 and email = 'b@x.io' and rowid = (select max(rowid) from src.users)`,
    );
    expect(await f.plan()).toMatchObject({
      validRows: 1,
      invalid: { duplicateKeyRows: 2 },
      changed: 0,
      removed: 0,
    });
  });

  it('plans a new repeated key among unmatched rows without the second pass', async () => {
    await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
    await f.sync();
    await f.insert([
      [3, 'e3', 'c@x.io', 3, null],
      [3, 'e3', 'd@x.io', 4, null],
    ]);
    const p = await f.plan();
    expect(p).toMatchObject({
      modelRows: 3,
      validRows: 1,
      invalid: { nullKeys: 0, duplicateKeyRows: 2, sampleDuplicateKeys: ['3'] },
      snapshotRows: 1,
      added: 0,
      changed: 0,
      removed: 0,
    });
  });

  it('plans keys in failures again (retries, with their attempts), and parks them at max_attempts until they change', async () => {
    await f.insert([
      [1, 'e1', 'a@x.io', 1, null],
      [2, 'e2', 'b@x.io', 2, null],
      [3, 'e3', 'c@x.io', 3, null],
    ]);
    await f.sync({ '2': { status: 'rejected', reason: 'no' }, '3': { status: 'rejected', reason: 'no' } });
    // Unchanged rows in failures are planned again, as retries of their kind.
    const p = await f.plan();
    expect(p).toMatchObject({ snapshotRows: 1, added: 2, changed: 0, removed: 0, retried: 2 });
    expect((await f.changes(p)).map((c) => [c.key, c.kind, c.attempts])).toEqual([
      ['2', 'added', 1],
      ['3', 'added', 1],
    ]);
    // Under max_attempts 1 both have failed enough: parked, not planned, not counted.
    const parked = await f.plan({ maxAttempts: 1 });
    expect(parked).toMatchObject({ added: 0, changed: 0, removed: 0, retried: 0 });
    expect((await f.planRows(parked, ['parked'])).map((r) => [r.__pqlsync_pk, r.__pqlsync_attempts])).toEqual(
      [
        ['2', 1],
        ['3', 1],
      ],
    );
    // Under max_attempts 2 they are retried.
    expect(await f.plan({ maxAttempts: 2 })).toMatchObject({ added: 2, retried: 2 });
    // A parked row whose values change is tried again.
    await f.wh.query(`update src.users set score = 30 where user_id = 3`);
    const moved = await f.plan({ maxAttempts: 1 });
    expect(moved).toMatchObject({ added: 1, retried: 1 });
    expect((await f.changes(moved)).map((c) => [c.key, c.attempts])).toEqual([['3', 1]]);

    // A synced key that failed (its change was rejected) and then leaves the model is planned as removed, and
    // counted as a retry; a key that never reached the snapshot and leaves the model is not planned.
    await f.sync({ '3': { status: 'rejected', reason: 'still no' } });
    await f.wh.query(`update src.users set score = 12 where user_id = 2`);
    await f.sync({ '2': { status: 'rejected', reason: 'no' }, '3': { status: 'rejected', reason: 'no' } });
    await f.wh.query(`update src.users set score = 11 where user_id = 1`);
    await f.wh.query(`delete from src.users where user_id = 2`);
    const gone = await f.plan();
    expect(gone).toMatchObject({ added: 1, changed: 1, removed: 1, retried: 2 });
    expect((await f.changes(gone)).map((c) => [c.key, c.kind, c.attempts])).toEqual([
      ['1', 'changed', 0],
      ['2', 'removed', 1],
      ['3', 'added', 3],
    ]);
    await f.sync({ '2': { status: 'rejected', reason: 'no' }, '3': { status: 'rejected', reason: 'no' } });
    await f.wh.query(`delete from src.users where user_id = 3`);
    expect(await f.plan()).toMatchObject({ added: 0, changed: 0, removed: 1, retried: 1 });
  });

  it('plans from scratch under `fresh` (plan --rematch): the snapshot and failures are not read', async () => {
    await f.insert([
      [1, 'e1', 'a@x.io', 1, null],
      [2, 'e2', 'b@x.io', 2, null],
    ]);
    await f.sync({ '2': { status: 'rejected', reason: 'no' } });
    expect(await f.plan({ fresh: true })).toMatchObject({
      snapshotRows: 0,
      added: 2,
      changed: 0,
      removed: 0,
      retried: 0,
    });
  });

  it('hashes the mapping: another mapping plans every row as changed, the same mapping under other column names none', async () => {
    await f.insert([
      [1, 'e1', 'a@x.io', 1, null],
      [2, 'e2', 'b@x.io', 2, null],
    ]);
    await f.sync();
    // The mapping as the config names its columns (`hashTarget`) is what the hash signs.
    const renamed = {
      ...TARGET,
      fields: TARGET.fields.map((x) => ({ ...x, column: x.column.toUpperCase() })),
    };
    expect(await f.plan({ hashTarget: renamed })).toMatchObject({ changed: 2 });
    expect(await f.plan({ hashTarget: TARGET })).toMatchObject({ changed: 0 });
    const skipNull = { ...TARGET, fields: TARGET.fields.map((x) => ({ ...x, skipNull: !x.skipNull })) };
    expect(await f.plan({ target: skipNull })).toMatchObject({ changed: 2 });
  });

  it('reads a model that ends in semicolons and blank lines', async () => {
    await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
    const p = await f.plan({
      model: { dialect: f.wh.dialect, sql: 'select * from src.users;\n ; \n', params: [] },
    });
    expect(p).toMatchObject({ modelRows: 1, added: 1 });
  });

  it('plans into `pqlsync_plan_<sync>` tables under dryRun, writing nothing to the state', async () => {
    await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
    const p = await f.plan({ dryRun: true });
    expect(p.planTable).toBe('pqlsync_scratch.main."pqlsync_plan_users__plan"');
    expect(p.workTables).toEqual(workTables.map((t) => `pqlsync_plan_${t}`));
    expect(p).toMatchObject({ added: 1 });
    const { rows } = await f.wh.query(`select count(*) as n from pqlsync_state.users__snapshot`);
    expect(rows[0]!.n).toBe(0);
  });
});
