/**
 * planSync over a snapshot hashed by an older recipe (recipe 1), and over a dialect without scratch space (working
 * tables in the state schema, temporary tables for a dry run), on an in-memory DuckDB. For `npm run mutation`:
 * Stryker's run with these tests is what shows they catch breaks (docs/audits/mutation-plan.md lists what survived
 * them).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashColumns, HASH_RECIPE } from '../../../src/plan/plan-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import type { SqlDialect } from '../../../src/warehouse/sql-dialect.js';
import { openFixture, PLAN_SHAPES, TARGET, type Fixture } from './plan-fixture.js';

setLogger(createLogger({ level: 'silent' }));

const noScratch = (shape: (d: SqlDialect) => SqlDialect) => (d: SqlDialect) => ({
  ...shape(d),
  scratchTable: undefined,
});

describe.each(PLAN_SHAPES)('recipe-1 snapshot, $name', ({ shape }) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture(shape);
    await f.insert([
      [1, 'e1', 'a@x.io', 1, null],
      [2, 'e2', 'b@x.io', 2, 'gold'],
      [3, 'e3', 'c@x.io', 3, null],
    ]);
    await f.sync();
  });
  afterEach(async () => {
    await f.close();
  });

  const snapshot = 'pqlsync_state.users__snapshot';
  const hashes = async () =>
    (await f.wh.query(`select key, row_hash from ${snapshot} order by key`)).rows.map((r) => [
      r.key,
      r.row_hash,
    ]);
  const recipe = async () =>
    (await f.wh.query(`select value from pqlsync_state.meta where name = 'row_hash_recipe:users'`)).rows.map(
      (r) => r.value,
    );

  /** The snapshot as a version before recipe 2 left it: recipe-1 hashes of the same rows, no recipe recorded. */
  const toRecipe1 = async () => {
    const d = f.store.d;
    const { legacySignature, columns } = hashColumns(TARGET);
    const legacy = d.legacyRowHash([`'${legacySignature}'`, ...columns.map((c) => `m.${d.quote(c)}`)]);
    await f.wh.query(
      `update ${snapshot} set row_hash = (select ${legacy} from src.users m where ${d.castText('m.user_id')} = ${snapshot}.key)`,
    );
    await f.wh.query(`delete from pqlsync_state.meta where name = 'row_hash_recipe:users'`);
  };

  it('carries the hashes over on a run: nothing resent, the recipe recorded, real changes still planned', async () => {
    const current = await hashes();
    await toRecipe1();
    expect(await hashes()).not.toEqual(current);
    // One row edited since (its old hash is kept and it is sent); one key repeated in the model (left alone).
    await f.wh.query(`update src.users set score = 30 where user_id = 3`);
    const edited = await hashes();
    await f.insert([
      [4, 'e4', 'd@x.io', 4, null],
      [4, 'e4', 'd@x.io', 4, null],
      [null, 'n', 'n@x.io', 0, null],
    ]);
    expect(await f.plan()).toMatchObject({ added: 0, changed: 1, removed: 0 });
    expect(await recipe()).toEqual([String(HASH_RECIPE)]);
    const after = await hashes();
    expect(after.slice(0, 2)).toEqual(current.slice(0, 2));
    expect(after[2]).toEqual(edited[2]);
  });

  it('carries nothing over from an empty snapshot, and records the recipe', async () => {
    await f.wh.query(`delete from ${snapshot}`);
    await f.wh.query(`delete from pqlsync_state.meta where name = 'row_hash_recipe:users'`);
    expect(await f.plan()).toMatchObject({ added: 3, snapshotRows: 0 });
    expect(await recipe()).toEqual([String(HASH_RECIPE)]);
  });

  it('leaves a key the model repeats alone (it is never sent)', async () => {
    await toRecipe1();
    const legacy = await hashes();
    await f.insert([[2, 'e2', 'b@x.io', 2, 'gold']]);
    expect(await f.plan()).toMatchObject({ changed: 0, removed: 0, invalid: { duplicateKeyRows: 2 } });
    const after = await hashes();
    expect(after[1]).toEqual(legacy[1]);
    expect(after[0]).not.toEqual(legacy[0]);
  });

  it('sends a key left alone at the carry-over (it repeated) once it stops repeating, in a dry run as in a run', async () => {
    // Mutants of `legacyHashExpr`'s condition (recipe < HASH_RECIPE && dry && !resendAll) forced true, `||` or `<=`:
    // the plans below would then compare by recipe 1 too and call key 2 unchanged, though its values were never
    // confirmed by the current recipe (checked by hand: this test fails with each).
    await toRecipe1();
    await f.insert([[2, 'e2', 'b@x.io', 2, 'gold']]);
    expect(await f.plan()).toMatchObject({ changed: 0, invalid: { duplicateKeyRows: 2 } });
    await f.wh.query('delete from src.users where user_id = 2');
    await f.insert([[2, 'e2', 'b@x.io', 2, 'gold']]);
    expect(await f.plan({ dryRun: true })).toMatchObject({ changed: 1 });
    expect(await f.sync()).toMatchObject({ changed: 1 });
    expect(await f.plan()).toMatchObject({ changed: 0 });
  });

  it('with resendAll, carries nothing over: every row is sent again, and the recipe is recorded', async () => {
    await toRecipe1();
    const legacy = await hashes();
    expect(await f.plan({ resendAll: true })).toMatchObject({ added: 0, changed: 3 });
    expect(await hashes()).toEqual(legacy);
    expect(await recipe()).toEqual([String(HASH_RECIPE)]);
  });

  it('in a dry run, compares by both recipes and writes nothing: unchanged rows are not planned', async () => {
    await toRecipe1();
    const legacy = await hashes();
    await f.wh.query(`update src.users set score = 30 where user_id = 3`);
    const p = await f.plan({ dryRun: true });
    expect(p).toMatchObject({ added: 0, changed: 1, removed: 0 });
    expect((await f.changes(p)).map((c) => c.key)).toEqual(['3']);
    expect(await hashes()).toEqual(legacy);
    expect(await recipe()).toEqual([]);
    // A dry run with resendAll shows every row as the run will send it.
    expect(await f.plan({ dryRun: true, resendAll: true })).toMatchObject({ changed: 3 });
    expect(await recipe()).toEqual([]);
  });

  it('a snapshot already of the current recipe is left as it is', async () => {
    const current = await hashes();
    expect(await f.plan()).toMatchObject({ changed: 0 });
    expect(await hashes()).toEqual(current);
  });
});

describe.each(PLAN_SHAPES)('without scratch space, $name', ({ shape, steps }) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture(noScratch(shape));
    await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
  });
  afterEach(async () => {
    await f.close();
  });

  const tables = async () =>
    (
      await f.wh.query(
        `select schema_name || '.' || table_name || (case when temporary then ' (temp)' else '' end) as t
         from duckdb_tables() where table_name like '%\\_\\_plan' escape '\\' or table_name like '%\\_\\_current' escape '\\'
           or table_name like '%\\_\\_dups' escape '\\' order by 1`,
      )
    ).rows.map((r) => r.t);

  it('plans into the state schema on a run', async () => {
    const p = await f.plan();
    expect(p.planTable).toBe('"pqlsync_state"."users__plan"');
    expect(p).toMatchObject({ added: 1 });
    expect(await tables()).toEqual(
      steps
        ? ['pqlsync_state.users__current', 'pqlsync_state.users__dups', 'pqlsync_state.users__plan']
        : ['pqlsync_state.users__plan'],
    );
  });

  it('plans into temporary tables under dryRun', async () => {
    const p = await f.plan({ dryRun: true });
    expect(p.planTable).toBe('"pqlsync_plan_users__plan"');
    expect(p).toMatchObject({ added: 1 });
    expect(await tables()).toEqual(
      steps
        ? [
            'main.pqlsync_plan_users__current (temp)',
            'main.pqlsync_plan_users__dups (temp)',
            'main.pqlsync_plan_users__plan (temp)',
          ]
        : ['main.pqlsync_plan_users__plan (temp)'],
    );
  });

  it.runIf(!steps)(
    'drops the three-step working tables an older version left in the state schema',
    async () => {
      await f.wh.query('create table pqlsync_state.users__current (k text)');
      await f.wh.query('create table pqlsync_state.users__dups (k text)');
      await f.plan({ dryRun: true });
      // A dry run writes nothing to the state schema: they stay.
      expect(await tables()).toContain('pqlsync_state.users__dups');
      await f.plan();
      expect(await tables()).toEqual(['main.pqlsync_plan_users__plan (temp)', 'pqlsync_state.users__plan']);
    },
  );
});
