/**
 * What planSync computes and sends that the plan's counts alone do not show, on an in-memory DuckDB: the exact row
 * hash it stores (every snapshot holds it, so its input must not drift), and the statements it runs (the one-pass plan
 * writes once unless a key repeats; the repeated keys are only looked up when there are some). For `npm run mutation`:
 * Stryker's run with these tests is what shows they catch breaks (docs/audits/mutation-plan.md lists what survived
 * them).
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SyncTarget } from '../../../src/destination/destination.js';
import { hashColumns, planSync } from '../../../src/plan/plan-sync.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import { field, openFixture, PLAN_SHAPES, ShapedStore, TARGET, type Fixture } from './plan-fixture.js';

setLogger(createLogger({ level: 'silent' }));

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
/** Recipe 2 (see test/unit/warehouse/row-hash.test.ts): md5 of each text as `<length>:<text>`, NULL as `N`. */
const recipe2 = (parts: (string | null)[]) =>
  md5(parts.map((p) => (p === null ? 'N' : `${[...p].length}:${p}`)).join(''));

describe('the row hash planSync stores', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it('is recipe 2 over the signature (quotes and all), then the mapped columns by field name, then the match column', async () => {
    // Field names with quotes: the signature is a SQL literal, each quote doubled.
    const target: SyncTarget = {
      sync: 'users',
      object: 'Lead',
      matchField: 'Ext__c',
      matchColumn: 'ext_id',
      mode: 'upsert',
      fields: [field("Rock'n'roll__c", 'note'), field('At__c', 'at'), field('Tier__c', 'tier', true)],
      onRemove: {},
    };
    const sql = `select 1 as user_id, 'E1' as ext_id, timestamp '2026-03-29 10:11:12' as at, 'x' as note,
      cast(null as varchar) as tier`;
    const p = await planSync({
      store: f.store,
      target,
      model: { dialect: f.wh.dialect, sql, params: [] },
      keyColumn: 'user_id',
      modelFile: 'models/scores.sql',
    });
    const [change] = await f.changes(p, ['added'], target);
    const { signature } = hashColumns(target);
    expect(signature).toBe("v2:At__c=at,Rock'n'roll__c=note,Tier__c=tier?,match=ext_id");
    // The timestamp as ISO 8601 (its column kind), not DuckDB's cast text.
    expect(change!.rowHash).toBe(recipe2([signature, '2026-03-29T10:11:12.000000', 'x', null, 'E1']));
  });

  it('is keyed by the key column as text (a timestamp key by its ISO 8601 text)', async () => {
    const target: SyncTarget = {
      sync: 'users',
      object: 'Lead',
      matchField: 'Ext__c',
      matchColumn: 'ext_id',
      mode: 'upsert',
      fields: [field('Email', 'email')],
      onRemove: {},
    };
    const sql = `select timestamp '2026-03-29 10:11:12' as k, 'E1' as ext_id, 'a@x.io' as email`;
    const p = await planSync({
      store: f.store,
      target,
      model: { dialect: f.wh.dialect, sql, params: [] },
      keyColumn: 'k',
      modelFile: 'models/scores.sql',
    });
    expect((await f.changes(p, ['added'], target)).map((c) => c.key)).toEqual(['2026-03-29T10:11:12.000000']);
  });
});

describe.each(PLAN_SHAPES)('statements of the plan, $name', ({ shape, steps }) => {
  let f: Fixture;
  let statements: string[];
  let store: ShapedStore;
  beforeEach(async () => {
    f = await openFixture(shape);
    statements = [];
    const wh = new FaultyWarehouse(f.wh, [
      {
        method: 'query',
        before: ({ sql }) => {
          statements.push(sql);
        },
      },
    ]);
    store = new ShapedStore(wh, shape);
    await f.insert([
      [1, 'e1', 'a@x.io', 1, null],
      [2, 'e2', 'b@x.io', 2, null],
    ]);
  });
  afterEach(async () => {
    await f.close();
  });
  const plan = () =>
    planSync({
      store,
      target: TARGET,
      model: {
        dialect: f.wh.dialect,
        sql: 'select user_id, ext_id, email, score, tier from src.users',
        params: [],
      },
      keyColumn: 'user_id',
      modelFile: 'models/scores.sql',
    });
  /** Writes of the plan table (the marked-rows plan: of the table that reads the model, its diff when there is a snapshot). */
  const writes = () =>
    statements.filter((s) =>
      steps
        ? /^create or replace table \S*users__plan"? as /.test(s)
        : /^create or replace table \S*users__(plan|diff)"? as /.test(s) && s.includes('src.users'),
    ).length;
  const dupLookups = () => statements.filter((s) => /order by __pqlsync_\w+ limit 5$/.test(s)).length;

  /** Statements a plan of a current-recipe snapshot never runs: recipe upkeep, and drops (the scratch space is DuckDB's). */
  const upkeep = () =>
    statements.filter(
      // DuckDB's plan drops its diff and previous values once the plan is written from them.
      (s) =>
        /^(update|delete|insert|drop) /.test(s) && !/^drop table if exists \S*users__(diff|prev)"?$/.test(s),
    );

  // With the carry-over's condition `recipe < HASH_RECIPE` forced true (or `<=`), every run carried over and
  // recorded the recipe again: `upkeep()` is not empty then (checked by hand).
  it('writes the plan once, without the group-by, and looks up no repeated keys when none repeat', async () => {
    expect(await plan()).toMatchObject({ added: 2 });
    expect(writes()).toBe(1);
    expect(dupLookups()).toBe(0);
    expect(upkeep()).toEqual([]);
    if (!steps) expect(statements.find((s) => s.includes('src.users'))).not.toMatch(/group by/);
    await f.sync();
    // Unchanged, then one row removed and one edited: still one write.
    for (const edit of [
      'select 1',
      'delete from src.users where user_id = 1',
      'update src.users set score = 5 where user_id = 2',
    ]) {
      await f.wh.query(edit);
      statements.length = 0;
      await plan();
      expect(writes(), edit).toBe(1);
      expect(dupLookups(), edit).toBe(0);
      expect(upkeep(), edit).toEqual([]);
    }
    expect(await plan()).toMatchObject({ changed: 1, removed: 1 });
  });

  // With carryOverHashes' `=== 0` early return turned false, an update of the empty snapshot ran (checked by hand).
  it('does not carry over an empty recipe-1 snapshot: only the recipe is recorded', async () => {
    await f.wh.query(`delete from pqlsync_state.meta where name = 'row_hash_recipe:users'`);
    expect(await plan()).toMatchObject({ added: 2 });
    expect(upkeep().map((s) => s.split(' ').slice(0, 3).join(' '))).toEqual([
      'delete from "pqlsync_state"."meta"',
      'insert into "pqlsync_state"."meta"',
    ]);
  });

  it('writes the one-pass plan again, with the group-by, when a synced key repeats', async () => {
    await f.sync();
    await f.insert([[2, 'e2', 'b@x.io', 2, null]]);
    statements.length = 0;
    expect(await plan()).toMatchObject({ invalid: { duplicateKeyRows: 2, sampleDuplicateKeys: ['2'] } });
    expect(writes()).toBe(steps ? 1 : 2);
    expect(dupLookups()).toBe(1);
  });
});

describe("DuckDB's choice between reading a model again for its counts and marking its rows", () => {
  let f: Fixture;
  let statements: string[];
  let store: ShapedStore;
  beforeEach(async () => {
    f = await openFixture();
    statements = [];
    store = new ShapedStore(
      new FaultyWarehouse(f.wh, [{ method: 'query', before: ({ sql }) => void statements.push(sql) }]),
    );
    await f.insert([
      [1, 'e1', 'a@x.io', 1, null],
      [2, 'e2', 'b@x.io', 2, null],
      [null, 'e3', 'c@x.io', 3, null],
    ]);
    await f.wh.query(`create table src.extra as select 1 as user_id, 'x' as note`);
  });
  afterEach(async () => {
    await f.close();
  });
  const planOf = (sql: string) =>
    planSync({
      store,
      target: TARGET,
      model: { dialect: f.wh.dialect, sql, params: [] },
      keyColumn: 'user_id',
      modelFile: 'models/scores.sql',
    });
  /** Statements that count the model's rows by reading it (the stats query, when it reads the model apart). */
  const recounts = () =>
    statements.filter((s) => s.includes('count(*) as total') && s.includes('from src.users')).length;
  const marks = () => statements.filter((s) => s.startsWith('create') && s.includes("'__same'")).length;

  it.each([
    [
      'a table, filtered and computed on',
      'select user_id, ext_id, lower(email) as email, score, tier from src.users where score < 10',
    ],
    [
      'a table through a subquery',
      'select * from (select user_id, ext_id, email, score, tier from src.users) u',
    ],
  ])('reads %s again for its key counts and marks nothing', async (_, sql) => {
    expect(await planOf(sql)).toMatchObject({
      modelRows: 3,
      validRows: 2,
      invalid: { nullKeys: 1 },
      added: 2,
    });
    expect(recounts()).toBe(1);
    expect(marks()).toBe(0);
  });

  it.each([
    [
      'a join',
      'select u.user_id, ext_id, email, score, tier from src.users u left join src.extra x using (user_id)',
    ],
    ['a group-by', 'select user_id, ext_id, email, max(score) as score, tier from src.users group by all'],
    [
      'a window',
      'select user_id, ext_id, email, score, tier from src.users qualify row_number() over (partition by ext_id) = 1',
    ],
    ['no table at all', "select 1 as user_id, 'e1' as ext_id, 'a@x.io' as email, 1 as score, null as tier"],
  ])('marks the rows of %s instead of reading it twice', async (what, sql) => {
    const rows = what === 'no table at all' ? 1 : 3;
    expect(await planOf(sql)).toMatchObject({ modelRows: rows, validRows: rows === 1 ? 1 : 2 });
    expect(recounts()).toBe(0);
    expect(marks()).toBe(1);
  });
});

/**
 * Redshift's statements (no `create or replace table`: each working table is dropped first, by the dialect's
 * `beforeCreateTableAs`) on DuckDB, in the one-pass and three-step shapes: planning twice must drop the first plan's
 * tables before writing them again.
 */
describe.each(PLAN_SHAPES)('without create or replace, $name', ({ shape }) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture((d) => ({
      ...shape(d),
      createTableAs: (name, select, options) =>
        `create ${options?.temporary ? 'temp ' : ''}table ${name} as ${select}`,
      beforeCreateTableAs: (name) => [`drop table if exists ${name}`],
    }));
    await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
  });
  afterEach(async () => {
    await f.close();
  });

  it('drops the last plan tables before writing them again', async () => {
    expect(await f.sync()).toMatchObject({ added: 1 });
    await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
    expect(await f.plan()).toMatchObject({ added: 0, invalid: { duplicateKeyRows: 2 } });
    expect(await f.plan({ dryRun: true })).toMatchObject({ added: 0, invalid: { duplicateKeyRows: 2 } });
    expect(await f.plan({ dryRun: true })).toMatchObject({ added: 0 });
  });
});

it('plans a dry run on a warehouse with no state schema yet (`pqlsync plan` before the first run)', async () => {
  const wh = new DuckdbAdapter({ path: ':memory:' });
  await wh.connect();
  try {
    await wh.query('create schema src');
    await wh.query(
      `create table src.users as select 1 as user_id, 'e1' as ext_id, 'a@x.io' as email, 1 as score, null as tier`,
    );
    const p = await planSync({
      store: new StateStore(wh, 'pqlsync_state'),
      target: TARGET,
      model: { dialect: wh.dialect, sql: 'select * from src.users', params: [] },
      keyColumn: 'user_id',
      modelFile: 'models/scores.sql',
      dryRun: true,
    });
    expect(p).toMatchObject({ modelRows: 1, added: 1, snapshotRows: 0 });
    expect(await wh.tableExists('pqlsync_state', 'meta')).toBe(false);
  } finally {
    await wh.close();
  }
});
