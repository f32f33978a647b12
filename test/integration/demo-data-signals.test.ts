/**
 * The default demo data's intent events stay plausible (no workspace with thousands of pricing views, invites or
 * limit hits in a month), it has the activation events the example model needs (onboarding finished, a dashboard
 * shared), self-serve purchases follow those signals and not only the hidden propensity (within a propensity
 * band, accounts with the signals buy several times as often), and the model's gates hold on it: recency decay,
 * required activation, declining usage, inactivity.
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

/** Self-serve conversion rate per propensity quartile, split by whether the account has `signal`. */
const BY_BAND = (signal: string): string => `
  with accounts as (
    select t.account_id, t.account_propensity,
           coalesce(t.account_conversion_kind = 'self_serve_upgrade'
                    and t.account_converts_at < timestamp '2026-11-01', false) as bought,
           ${signal} as has_signal
    from app.truth t join app.accounts a on a.account_id = t.account_id
    where t.account_user_ordinal = 0 and not a.is_internal
      and coalesce(t.account_conversion_kind, '') <> 'sales_led'
  ),
  banded as (select *, ntile(4) over (order by account_propensity, account_id) as band from accounts)
  select band,
         count(*) filter (where has_signal) as n_with,
         avg(bought::integer) filter (where has_signal) as rate_with,
         count(*) filter (where not has_signal) as n_without,
         avg(bought::integer) filter (where not has_signal) as rate_without
  from banded group by band order by band`;

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

  it('within each of the top two propensity bands, onboarded accounts buy at least 2.5x as often', async () => {
    // Onboarding happens on the signup day or never, whoever buys later, so it is a signal and not an effect.
    const bands = await rows(
      BY_BAND(`exists (select 1 from app.events e where e.account_id = t.account_id
                         and e.event_type = 'onboarding_completed')`),
    );
    expect(bands).toHaveLength(4);
    for (const b of bands.slice(2)) {
      expect(Number(b.n_with), `band ${String(b.band)}`).toBeGreaterThan(50);
      expect(Number(b.n_without), `band ${String(b.band)}`).toBeGreaterThan(50);
      expect(Number(b.rate_without), `band ${String(b.band)}`).toBeGreaterThan(0);
      expect(Number(b.rate_with) / Number(b.rate_without), `band ${String(b.band)}`).toBeGreaterThanOrEqual(
        2.5,
      );
    }
  });

  it('every self-serve buyer was active earlier on the day they bought, and bought once', async () => {
    const [r] = await rows(`select
        count(*) as purchases,
        count(distinct account_id) as accounts,
        count(*) filter (where not exists (
          select 1 from app.events e where e.user_id = c.user_id and e.ts < c.converted_at
            and cast(e.ts as date) = cast(c.converted_at as date)
            and e.event_type not in ('checkout_started', 'checkout_completed', 'upgrade'))) as without_activity,
        count(*) filter (where (select count(*) from app.events e where e.user_id = c.user_id
                                  and e.event_type = 'upgrade' and e.ts = c.converted_at + interval 1 second) <> 1)
          as without_upgrade_event
      from app.conversions c where c.kind = 'self_serve_upgrade'`);
    expect(Number(r!.purchases)).toBeGreaterThan(50);
    expect(Number(r!.accounts)).toBe(Number(r!.purchases));
    expect(Number(r!.without_activity)).toBe(0);
    expect(Number(r!.without_upgrade_event)).toBe(0);
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
