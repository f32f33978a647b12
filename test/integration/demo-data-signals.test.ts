/**
 * The default demo data's intent events stay plausible (no workspace with thousands of pricing views, invites or
 * limit hits in a month), it has the activation events the example model needs (onboarding finished, a dashboard
 * shared), and the model's gates hold on it: recency decay, required activation, declining usage, inactivity.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../../src/demo/generate-demo-data.js';
import { compileModel } from '../../src/model/compile-model.js';
import { loadModel } from '../../src/model/model-file.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';

const MODELS = path.resolve(import.meta.dirname, '../../models');
const MONTH = "ts >= date '2026-10-02' and ts < date '2026-11-01'";

describe('demo data signals and the pql_users gates (5,000 users, seed 42)', () => {
  const wh = new DuckdbAdapter({ path: ':memory:', threads: 2 });
  beforeAll(async () => {
    await wh.connect();
    await generateDemoData((sql) => wh.query(sql), { users: 5000, seed: 42 });
  }, 120_000);
  afterAll(() => wh.close());
  const rows = async (sql: string) => (await wh.query(sql)).rows;

  it('caps intent events: the largest workspace has a few per user a month, no user more than 15 of a kind', async () => {
    const [big] = await rows(`select account_id, count(distinct user_id) as users,
        count(*) filter (where event_type = 'pricing_page_view') as pricing,
        count(*) filter (where event_type = 'invite_sent') as invites,
        count(*) filter (where event_type = 'limit_hit') as limit_hits
      from app.events where ${MONTH} and account_id is not null
      group by account_id order by users desc limit 1`);
    const users = Number(big!.users);
    expect(users).toBeGreaterThan(200);
    expect(Number(big!.pricing) / users).toBeLessThan(4);
    expect(Number(big!.invites) / users).toBeLessThan(1.5);
    expect(Number(big!.limit_hits) / users).toBeLessThan(1.5);
    const [most] =
      await rows(`select max(n) as n from (select user_id, event_type, count(*) as n from app.events
        where ${MONTH} and event_type in ('pricing_page_view', 'invite_sent', 'limit_hit', 'billing_page_view')
          and user_id not in (select user_id from app.truth where is_bot)
        group by user_id, event_type) t`);
    expect(Number(most!.n)).toBeLessThanOrEqual(15);
  });

  it('has onboarding and dashboard-sharing events, and activation at 20-40 % of signups', async () => {
    const [r] = await rows(`select
        (select count(distinct user_id) from app.events where event_type = 'onboarding_completed') as onboarded,
        (select count(distinct user_id) from app.events where event_type = 'dashboard_shared') as shared,
        (select count(distinct user_id) from app.events
          where event_type in ('dashboard_shared', 'integration_connected')) as activated,
        (select count(*) from app.users) as users`);
    const users = Number(r!.users);
    expect(Number(r!.onboarded) / users).toBeGreaterThan(0.3);
    expect(Number(r!.shared)).toBeGreaterThan(0);
    expect(Number(r!.activated) / users).toBeGreaterThan(0.2);
    expect(Number(r!.activated) / users).toBeLessThan(0.4);
  });

  it('pql_users: no PQL without activation or a hand raised, none inactive for more than 7 days, decline costs points', async () => {
    const model = await loadModel(MODELS, 'pql_users', 'duckdb');
    const score = async (vars: Record<string, unknown>) => {
      const compiled = compileModel(model, { dialect: 'duckdb', vars });
      await wh.query({ ...compiled, sql: `create or replace temp table scored as ${compiled.sql}` });
    };
    await score({ as_of: '2026-10-02' });
    const [gates] = await rows(`select
        count(*) filter (where is_pql and not is_activated and sales_requests = 0) as pql_not_activated,
        count(*) filter (where is_pql and days_inactive > 7 and sales_requests = 0) as pql_inactive,
        count(*) filter (where is_pql and qualified_at is null) as pql_without_date,
        count(*) filter (where not is_pql and qualified_at is not null) as date_without_pql,
        count(*) filter (where usage_declining and reasons not like '%usage down from %') as decline_unexplained,
        count(*) filter (where usage_declining) as declining,
        count(*) filter (where not is_activated and pql_score >= 40) as gated_above_line,
        count(*) filter (where seats_limit is null and account_id is not null) as no_seat_limit,
        count(*) filter (where lookback_days <> 30) as wrong_lookback
      from scored`);
    expect(gates).toEqual({
      pql_not_activated: 0,
      pql_inactive: 0,
      pql_without_date: 0,
      date_without_pql: 0,
      decline_unexplained: 0,
      declining: expect.any(Number),
      gated_above_line: expect.any(Number),
      no_seat_limit: expect.any(Number),
      wrong_lookback: 0,
    });
    expect(Number(gates!.declining)).toBeGreaterThan(0);

    // Without the activation gate more users qualify.
    const flagged = async () =>
      Number((await rows('select count(*) filter (where is_pql) as n from scored'))[0]!.n);
    const gated = await flagged();
    await score({ as_of: '2026-10-02', require_activation: false });
    expect(await flagged()).toBeGreaterThan(gated);
    // Usage that stopped 10+ days ago counts for less with a short half-life than with a long one.
    const staleUsage = async () =>
      Number((await rows('select sum(usage_points) as n from scored where days_inactive >= 10'))[0]!.n);
    const fast = await staleUsage();
    expect(fast).toBeGreaterThan(0);
    await score({ as_of: '2026-10-02', require_activation: false, recency_half_life_days: 365 });
    expect(await staleUsage()).toBeGreaterThan(fast);
  });

  it('documents the activation and recency params in the model file', () => {
    const text = readFileSync(path.join(MODELS, 'pql_users.sql'), 'utf8');
    for (const p of [
      'recency_half_life_days',
      'require_activation',
      'activation_events',
      'decline_ratio',
      'decline_penalty',
      'max_inactive_days',
    ])
      expect(text).toContain(`  ${p}:`);
  });
});
