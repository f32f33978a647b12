/**
 * The flag-rate guard's counting (one aggregate query over the compiled model, DuckDB) and its alert and exit-code
 * wording.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookAlerts } from '../../../src/alerts/webhook-alerts.js';
import { exitWithFlagRatePolicy } from '../../../src/cli/commands/run.js';
import { alertsSchema, type RoutingConfig } from '../../../src/config/config-schema.js';
import { measureFlagRate } from '../../../src/runner/flag-rate.js';
import type { RunSummary } from '../../../src/runner/run-sync.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { sqlDialect } from '../../../src/warehouse/sql-dialect.js';

const MODEL = {
  dialect: 'duckdb' as const,
  // 10 rows: scores 95, 85 (hot), 60, 50, 45 (pql), 30, 20, 10, 5 (nurture), one null score
  sql: `select * from (values (1, 95, true), (2, 85, true), (3, 60, true), (4, 50, true), (5, 45, true),
      (6, 30, false), (7, 20, false), (8, 10, false), (9, 5, false), (10, null, false)) v(user_id, pql_score, is_pql)`,
  params: [],
};

const routing = {
  score_column: 'pql_score',
  tiers: [{ name: 'hot', min_score: 80 }, { name: 'pql', min_score: 40 }, { name: 'nurture' }],
  task_tiers: ['hot'],
} as unknown as RoutingConfig;

describe('measureFlagRate', () => {
  const wh = new DuckdbAdapter({ path: ':memory:' });
  beforeAll(() => wh.connect());
  afterAll(() => wh.close());
  const d = sqlDialect('duckdb');
  const columns = ['user_id', 'pql_score', 'is_pql'];

  it("counts routing's score bands in the warehouse; flagged means the task tiers", async () => {
    const r = await measureFlagRate({ wh, d, model: MODEL, columns, routing, max: 0.15 });
    expect(r).toEqual({
      rows: 10,
      tiers: [
        { tier: 'hot', n: 2, share: 0.2 },
        { tier: 'pql', n: 3, share: 0.3 },
        { tier: 'nurture', n: 4, share: 0.4 },
        { tier: '(none)', n: 1, share: 0.1 },
      ],
      flagged: 2,
      rate: 0.2,
      rule: 'tier in (hot)',
      max: 0.15,
      exceeded: true,
    });
  });

  it("without routing, reads the model's tier column and its is_pql flag", async () => {
    const model = {
      ...MODEL,
      sql: `select *, case when pql_score >= 80 then 'hot' when pql_score >= 40 then 'pql' else 'nurture' end as pql_tier from (${MODEL.sql}) x`,
    };
    const r = await measureFlagRate({
      wh,
      d,
      model,
      columns: [...columns, 'pql_tier'],
      routing: undefined,
      max: 0.5,
    });
    expect(r?.tiers.map((t) => [t.tier, t.n])).toEqual([
      ['hot', 2],
      ['pql', 3],
      ['nurture', 5],
    ]);
    expect(r).toMatchObject({ flagged: 5, rate: 0.5, rule: 'is_pql is true', exceeded: false });
  });

  it('without routing or a flag column, counts every tier above the lowest (ordered by their lowest score)', async () => {
    const model = {
      ...MODEL,
      sql: `select user_id, pql_score, case when pql_score >= 80 then 'a_hot' when pql_score >= 40 then 'z_pql' else 'm_low' end as pql_tier from (${MODEL.sql}) x`,
    };
    const r = await measureFlagRate({
      wh,
      d,
      model,
      columns: ['user_id', 'pql_score', 'pql_tier'],
      routing: undefined,
      max: 0.4,
    });
    expect(r?.tiers.map((t) => t.tier)).toEqual(['a_hot', 'z_pql', 'm_low']);
    expect(r).toMatchObject({ flagged: 5, rate: 0.5, rule: 'every tier above m_low', exceeded: true });
  });

  it('says nothing for a model with neither a tier nor a flag column', async () => {
    const model = { ...MODEL, sql: 'select 1 as user_id' };
    expect(await measureFlagRate({ wh, d, model, columns: ['user_id'], routing: undefined, max: 0.4 })).toBe(
      undefined,
    );
  });
});

const summary = (exceeded: boolean, status: RunSummary['status'] = 'success'): RunSummary => ({
  sync: 'pql_users',
  runId: 'r1',
  status,
  counts: { added: 0, changed: 0, removed: 0, invalid: 0, retried: 0, applied: 0, rejected: 0, tasks: 0 },
  apiCalls: 0,
  durationMs: 1,
  flagRate: {
    rows: 200,
    flagged: exceeded ? 130 : 40,
    rate: exceeded ? 0.65 : 0.2,
    rule: 'is_pql is true',
    tiers: [],
    max: 0.4,
    exceeded,
  },
});

describe('flag-rate alert and exit code', () => {
  it('alerts above max_flag_rate only', () => {
    const alerts = new WebhookAlerts(alertsSchema.parse({ webhook_url: 'https://hooks.example.com/x' }));
    expect(alerts.messagesFor(summary(true))).toEqual([
      ':warning: pqlsync sync *pql_users* flagged 130 of 200 rows (65.0%, above max_flag_rate 40.0%): check the model before reps work these',
    ]);
    expect(alerts.messagesFor(summary(false))).toEqual([]);
  });

  it('--fail-on-flag-rate turns 0 into 3, says why, and leaves worse codes alone', () => {
    const said: string[] = [];
    const say = (l: string) => said.push(l);
    expect(exitWithFlagRatePolicy([summary(true)], 0, false, say)).toBe(0);
    expect(exitWithFlagRatePolicy([summary(false)], 0, true, say)).toBe(0);
    expect(said).toEqual([]);
    expect(exitWithFlagRatePolicy([summary(true)], 0, true, say)).toBe(3);
    expect(exitWithFlagRatePolicy([summary(true, 'failed')], 1, true, say)).toBe(1);
    expect(said).toEqual([
      'pqlsync: pql_users flagged 65.0% of its rows, more than max_flag_rate 40.0%, with --fail-on-flag-rate: exit 3\n',
      'pqlsync: pql_users flagged 65.0% of its rows, more than max_flag_rate 40.0%, with --fail-on-flag-rate: exit 1\n',
    ]);
  });
});
