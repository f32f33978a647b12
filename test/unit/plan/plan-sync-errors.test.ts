/**
 * What planSync says when the model cannot be planned (plan-sync.ts `probeModel`, `explainModelFailure`), and how
 * `streamChanges` ends, on an in-memory DuckDB. For `npm run mutation`: Stryker's run with these tests is what shows
 * they catch breaks (docs/audits/mutation-plan.md lists what survived them).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { planSync, probeModel, streamChanges, type PlanOptions } from '../../../src/plan/plan-sync.js';
import { heapTrimmed } from '../../../src/util/heap.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { StateStore } from '../../../src/state/state-store.js';
import { SnowflakeSandbox } from '../../../src/warehouse/snowflake/sandbox/snowflake-sandbox.js';
import { SnowflakeAdapter } from '../../../src/warehouse/snowflake/snowflake-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import { field, openFixture, PLAN_SHAPES, ShapedStore, TARGET, type Fixture } from './plan-fixture.js';

setLogger(createLogger({ level: 'silent' }));

async function failure(p: Promise<unknown>): Promise<Record<string, unknown>> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PqlsyncError);
  return (err as PqlsyncError).toJSON();
}

describe.each(PLAN_SHAPES)('a model that cannot be planned, $name', ({ shape }) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture(shape);
    await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
  });
  afterEach(async () => {
    await f.close();
  });
  const model = (sql: string) => ({ model: { dialect: f.wh.dialect, sql, params: [] } });

  it('names a missing key column, with the columns the model returns', async () => {
    expect(await failure(f.plan(model('select ext_id, email, score, tier from src.users')))).toEqual({
      code: 'MODEL_KEY_MISSING',
      kind: 'config',
      message: "the model does not return its key column 'user_id' (it returns: ext_id, email, score, tier)",
      location: { file: 'models/scores.sql', sync: 'users' },
      hint: 'select the key column in the model, or fix `key` in its front matter',
    });
  });

  it('names the mapped columns the model does not return, each once, in the config', async () => {
    const target = { ...TARGET, fields: [...TARGET.fields, field('Score2__c', 'score')] };
    expect(
      await failure(
        f.plan({ ...model('select user_id, email, tier from src.users'), target, configFile: 'pqlsync.yml' }),
      ),
    ).toEqual({
      code: 'CONFIG_INVALID',
      kind: 'config',
      message:
        "the sync maps columns 'score', 'ext_id', which models/scores.sql does not return (it returns: user_id, email, tier)",
      location: { file: 'pqlsync.yml', sync: 'users', path: 'syncs.users.fields' },
      hint: 'fix `fields` in the sync config, or return the column from the model',
    });
  });

  it('names one missing column in the singular (the match column), without a config file', async () => {
    expect(await failure(f.plan(model('select user_id, email, score, tier from src.users')))).toEqual({
      code: 'CONFIG_INVALID',
      kind: 'config',
      message:
        "the sync maps column 'ext_id', which models/scores.sql does not return (it returns: user_id, email, score, tier)",
      location: { sync: 'users', path: 'syncs.users.fields' },
      hint: 'fix `fields` in the sync config, or return the column from the model',
    });
  });

  it("passes on the warehouse's own error for a model that fails when read, without DuckDB's prefix", async () => {
    const err = await failure(f.plan(model('select * from src.nope')));
    expect(err).toMatchObject({
      code: 'WAREHOUSE_QUERY_FAILED',
      kind: 'config',
      location: { file: 'models/scores.sql', sync: 'users' },
      hint: 'run `pqlsync compile <model>` to see the SQL that was sent',
    });
    expect(err.message).toMatch(
      /^the model failed in the warehouse: Catalog Error: Table with name nope does not exist!/,
    );
  });

  it('passes on an error the model only raises when its rows are read (all its columns are there)', async () => {
    const sql = `select user_id, ext_id, email, cast(email as integer) as score, tier from src.users`;
    const err = await failure(f.plan(model(sql)));
    expect(err).toMatchObject({
      code: 'WAREHOUSE_QUERY_FAILED',
      kind: 'config',
      location: { file: 'models/scores.sql' },
    });
    expect(err.message).toMatch(
      /^the model failed in the warehouse: Conversion Error: Could not convert string 'a@x\.io' to INT32/,
    );
  });

  it('explains a failure of the recipe carry-over like one of the plan', async () => {
    await f.sync();
    await f.wh.query(`delete from pqlsync_state.meta where name = 'row_hash_recipe:users'`);
    const sql = `select user_id, ext_id, email, cast(email as integer) as score, tier from src.users`;
    const err = await failure(f.plan(model(sql)));
    expect(err.message).toMatch(/^the model failed in the warehouse: Conversion Error/);
    // Nothing was carried over, so the recipe is not recorded: the next run carries over again (with carryOverHashes'
    // catch block emptied the failure passed unnoticed and recipe 2 was recorded; checked by hand).
    expect(
      (await f.wh.query(`select * from pqlsync_state.meta where name = 'row_hash_recipe:users'`)).rows,
    ).toEqual([]);
    // The key missing from a model that fails while carrying over: named as such (from the probed columns).
    const noKey = `select ext_id, email, cast(email as integer) as score, tier from src.users`;
    const probe = {
      columns: ['ext_id', 'email', 'score', 'tier'],
      kinds: ['other', 'other', 'other', 'other'] as const,
    };
    expect(
      await failure(f.plan({ ...model(noKey), probe: { ...probe, kinds: [...probe.kinds] } })),
    ).toMatchObject({
      code: 'MODEL_KEY_MISSING',
      message: "the model does not return its key column 'user_id' (it returns: ext_id, email, score, tier)",
    });
  });
});

describe('probeModel', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture();
  });
  afterEach(async () => {
    await f.close();
  });
  const options = (store = f.store): PlanOptions => ({
    store,
    target: TARGET,
    model: {
      dialect: f.wh.dialect,
      sql: 'select user_id, score, cast(null as date) as d from src.users',
      params: [],
    },
    keyColumn: 'user_id',
    modelFile: 'models/scores.sql',
  });

  it("reads the model's columns and their kinds", async () => {
    expect(await probeModel(options())).toEqual({
      columns: ['user_id', 'score', 'd'],
      kinds: ['other', 'other', 'date'],
    });
  });

  it('refuses an adapter that reports no columns (INTERNAL, not a model failure)', async () => {
    const wh = new FaultyWarehouse(f.wh, [{ method: 'query', match: /limit 0$/, answerRows: [] }]);
    expect(await failure(probeModel(options(new ShapedStore(wh))))).toEqual({
      code: 'INTERNAL',
      kind: 'system',
      message: "the duckdb adapter did not report the model's columns",
    });
  });
});

describe('streamChanges', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture();
    await f.insert([1, 2, 3, 4, 5].map((k) => [k, `e${k}`, `u${k}@x.io`, k, null]));
  });
  afterEach(async () => {
    await f.close();
  });

  it('streams in chunks of chunkSize, holding the streaming heap policy while it runs', async () => {
    const p = await f.plan();
    const sizes: number[] = [];
    const trimmed: boolean[] = [];
    for await (const chunk of streamChanges(f.store, TARGET, p.planTable, ['added'], 5, 2)) {
      sizes.push(chunk.length);
      trimmed.push(heapTrimmed());
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(trimmed).toEqual([true, true, true]);
    expect(heapTrimmed()).toBe(false);
  });

  // With `kinds.length === 0` turned false, an empty stream was still read from the warehouse (checked by hand).
  it('streams nothing for no kinds, without asking the warehouse', async () => {
    const p = await f.plan();
    const streams: string[] = [];
    const wh = new FaultyWarehouse(f.wh, [{ method: 'stream', before: ({ sql }) => void streams.push(sql) }]);
    const chunks: unknown[] = [];
    for await (const chunk of streamChanges(new ShapedStore(wh), TARGET, p.planTable, [], 0))
      chunks.push(chunk);
    expect(chunks).toEqual([]);
    expect(streams).toEqual([]);
    for await (const chunk of streamChanges(new ShapedStore(wh), TARGET, p.planTable, ['added'], 5))
      chunks.push(chunk);
    expect(streams).toHaveLength(1);
  });

  const short = async (store: ShapedStore | Fixture['store'], expected: number) => {
    const p = await f.plan();
    let streamed = 0;
    const err = await failure(
      (async () => {
        for await (const chunk of streamChanges(store, TARGET, p.planTable, ['added'], expected, 2))
          streamed += chunk.length;
      })(),
    );
    return { err, streamed };
  };

  it('fails a stream that ends short of the planned rows (what was read is still yielded)', async () => {
    const { err, streamed } = await short(f.store, 7);
    expect(streamed).toBe(5);
    expect(err).toEqual({
      code: 'WAREHOUSE_QUERY_FAILED',
      kind: 'system',
      message:
        'the warehouse ended the stream of planned changes after 5 of 7 rows without an error; what was sent is committed, the rest is planned again by the next run',
      location: { sync: 'users' },
      hint: "DuckDB's Node client ends a result this way when DuckDB runs out of memory mid-result: raise warehouse.stream_memory_limit (memory_limit, if that is none)",
    });
    expect(heapTrimmed()).toBe(false);
  });

  it('fails a stream that has more rows than were planned', async () => {
    const { err } = await short(f.store, 4);
    expect(err.message).toMatch(/after 5 of 4 rows/);
  });
});

describe('planSync through a warehouse that cannot run the plan', () => {
  it('explains the failure of the plan statement (one pass) with the probed columns', async () => {
    const f = await openFixture();
    try {
      await f.insert([[1, 'e1', 'a@x.io', 1, null]]);
      const wh = new FaultyWarehouse(f.wh, [
        {
          method: 'query',
          match: /create or replace table/,
          fail: new Error('DuckDB: Out of Memory Error: test'),
        },
      ]);
      const err = await failure(
        planSync({
          store: new ShapedStore(wh),
          target: TARGET,
          model: {
            dialect: f.wh.dialect,
            sql: 'select user_id, ext_id, email, score, tier from src.users',
            params: [],
          },
          keyColumn: 'user_id',
          modelFile: 'models/scores.sql',
        }),
      );
      expect(err).toMatchObject({
        code: 'WAREHOUSE_QUERY_FAILED',
        message: 'the model failed in the warehouse: Out of Memory Error: test',
      });
    } finally {
      await f.close();
    }
  });
});

describe('streamChanges on Snowflake (the local sandbox, through the real driver)', () => {
  it('fails a stream that ends short with the hint for warehouses other than DuckDB', async () => {
    const sandbox = new SnowflakeSandbox({ username: 'u', password: 'pw-1' });
    const wh = new SnowflakeAdapter({
      account: 'a',
      username: 'u',
      password: 'pw-1',
      database: 'SANDBOX',
      schema: 'PUBLIC',
      accessUrl: await sandbox.start(),
    });
    try {
      await wh.connect();
      await wh.query(
        'create table src_users (user_id integer, ext_id varchar, email varchar, score integer, tier varchar)',
      );
      await wh.query(
        `insert into src_users values (1, 'e1', 'a@x.io', 1, null), (2, 'e2', 'b@x.io', 2, 'gold')`,
      );
      const store = new StateStore(wh, 'pqlsync_state');
      const p = await planSync({
        store,
        target: TARGET,
        model: {
          dialect: 'snowflake',
          sql: 'select user_id, ext_id, email, score, tier from src_users',
          params: [],
        },
        keyColumn: 'user_id',
        modelFile: 'models/scores.sql',
        dryRun: true,
      });
      expect(p).toMatchObject({ modelRows: 2, added: 2 });
      // A run's working tables are TRANSIENT (no Fail-safe storage for tables rebuilt every run; README,
      // warehouses.md). With `working: true` turned false in the three-step plan they were plain tables (checked
      // by hand).
      await store.ensureStateTables();
      const before = sandbox.statements().length;
      await planSync({
        store,
        target: TARGET,
        model: {
          dialect: 'snowflake',
          sql: 'select user_id, ext_id, email, score, tier from src_users',
          params: [],
        },
        keyColumn: 'user_id',
        modelFile: 'models/scores.sql',
      });
      const creates = sandbox
        .statements()
        .slice(before)
        .filter((s) => /^create .*users__(current|dups|plan)/is.test(s));
      expect(
        creates.map((s) =>
          /^create or replace (\w+ )?table "PQLSYNC_STATE"\."USERS__(\w+)"/i.exec(s)?.slice(1),
        ),
      ).toEqual([
        ['transient ', 'CURRENT'],
        ['transient ', 'DUPS'],
        ['transient ', 'PLAN'],
      ]);
      const err = await failure(
        (async () => {
          for await (const _ of streamChanges(store, TARGET, p.planTable, ['added'], 3));
        })(),
      );
      expect(err).toEqual({
        code: 'WAREHOUSE_QUERY_FAILED',
        kind: 'system',
        message:
          'the warehouse ended the stream of planned changes after 2 of 3 rows without an error; what was sent is committed, the rest is planned again by the next run',
        location: { sync: 'users' },
        hint: 'check the warehouse for errors or a dropped connection at that time',
      });
    } finally {
      await wh.close();
      await sandbox.stop();
    }
  }, 60_000);
});
