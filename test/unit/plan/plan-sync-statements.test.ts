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
import { createLogger, setLogger } from '../../../src/util/logger.js';
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
  const writes = () =>
    statements.filter((s) => /^create or replace table \S*users__plan"? as /.test(s)).length;
  const dupLookups = () => statements.filter((s) => /order by __pqlsync_\w+ limit 5$/.test(s)).length;

  it('writes the plan once and looks up no repeated keys when none repeat', async () => {
    expect(await plan()).toMatchObject({ added: 2 });
    expect(writes()).toBe(1);
    expect(dupLookups()).toBe(0);
    await f.sync();
    statements.length = 0;
    expect(await plan()).toMatchObject({ added: 0, changed: 0 });
    expect(writes()).toBe(1);
    expect(dupLookups()).toBe(0);
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
