/**
 * The demo dataset and the example models, on a real in-process DuckDB: determinism, distributions, planted
 * truth, clock advance, and the models compiled by the real compiler.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceDemoData, DEMO_TABLES, generateDemoData } from '../../src/demo/generate-demo-data.js';
import { PqlsyncError } from '../../src/errors/pqlsync-error.js';
import { compileModel } from '../../src/model/compile-model.js';
import { loadModel } from '../../src/model/model-file.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';

const MODELS_DIR = path.resolve(import.meta.dirname, '../../models');
const TABLES = DEMO_TABLES;

async function openWarehouse(): Promise<DuckdbAdapter> {
  const wh = new DuckdbAdapter({ path: ':memory:', threads: 2 });
  await wh.connect();
  return wh;
}

const exec =
  (wh: DuckdbAdapter) =>
  (sql: string): Promise<unknown> =>
    wh.query(sql);

async function one(wh: DuckdbAdapter, sql: string): Promise<Record<string, unknown>> {
  const { rows } = await wh.query(sql);
  const row = rows[0];
  if (!row) throw new Error(`no row from: ${sql}`);
  return row;
}

async function num(wh: DuckdbAdapter, sql: string): Promise<number> {
  return Number(Object.values(await one(wh, sql))[0]);
}

/** Row count and an order-independent checksum of every row, per table. */
async function checksums(wh: DuckdbAdapter): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of TABLES) {
    const row = await one(wh, `select count(*) as n, sum(hash(t)) as h from app.${table} t`);
    out[table] = `${String(row.n)}:${String(row.h)}`;
  }
  return out;
}

/** Runs a model through the real loader and compiler, into table `scored`. */
async function scoreModel(
  wh: DuckdbAdapter,
  name: string,
  vars: Record<string, unknown> = {},
): Promise<void> {
  const model = await loadModel(MODELS_DIR, name, 'duckdb');
  const compiled = compileModel(model, { dialect: 'duckdb', vars });
  await wh.query({ ...compiled, sql: `create or replace table scored as ${compiled.sql}` });
}

interface TierRow {
  tier: string;
  n: number;
  converted: number;
}

/** Tier sizes and how many rows' accounts converted in the 30 days from `asOf`. */
async function tierOutcomes(wh: DuckdbAdapter, tierColumn: string, asOf: string): Promise<TierRow[]> {
  const { rows } = await wh.query(`
    select ${tierColumn} as tier, count(*) as n,
           sum(case when exists (select 1 from app.conversions c
                                 where c.account_id = s.account_id
                                   and c.converted_at >= timestamp '${asOf}'
                                   and c.converted_at < timestamp '${asOf}' + interval 30 day)
                    then 1 else 0 end) as converted
    from scored s group by 1 order by 1`);
  return rows.map((r) => ({ tier: String(r.tier), n: Number(r.n), converted: Number(r.converted) }));
}

describe('demo data determinism', () => {
  it('gives identical tables for the same seed and different ones for another seed', async () => {
    const a = await openWarehouse();
    const b = await openWarehouse();
    const c = await openWarehouse();
    try {
      await generateDemoData(exec(a), { users: 1500, seed: 42 });
      await generateDemoData(exec(b), { users: 1500, seed: 42 });
      await generateDemoData(exec(c), { users: 1500, seed: 43 });
      const [sa, sb, sc] = [await checksums(a), await checksums(b), await checksums(c)];
      expect(sb).toEqual(sa);
      for (const table of ['accounts', 'users', 'events', 'truth'] as const) {
        expect(sc[table], table).not.toBe(sa[table]);
      }

      await advanceDemoData(exec(a), { days: 5, seed: 42 });
      await advanceDemoData(exec(b), { days: 5, seed: 42 });
      await advanceDemoData(exec(c), { days: 5, seed: 42 });
      expect(await checksums(b)).toEqual(await checksums(a));
      expect((await checksums(c)).events).not.toBe((await checksums(a)).events);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
    // Three generations and three advances: a few seconds on a quiet machine, over 60 s at load average 37.
  }, 240_000);
});

describe('demo data, 20,000 users', () => {
  let wh: DuckdbAdapter;
  const users = 20_000;

  beforeAll(async () => {
    wh = await openWarehouse();
    const clock = await generateDemoData(exec(wh), { users });
    expect(clock).toEqual({ asOf: '2026-11-01', seed: 42, users, historyDays: 180 });
  });
  afterAll(async () => {
    await wh.close();
  });

  it('has the spec shape: users, about 0.4 accounts per user, heavy-tailed team sizes', async () => {
    expect(await num(wh, 'select count(*) from app.users')).toBe(users);
    expect(await num(wh, 'select count(distinct user_id) from app.users')).toBe(users);
    const accounts = await num(wh, 'select count(*) from app.accounts');
    expect(accounts / users).toBeGreaterThan(0.3);
    expect(accounts / users).toBeLessThan(0.5);
    const sizes = await one(
      wh,
      `select avg(case when n = 1 then 1.0 else 0 end) as single, avg(case when n > 10 then 1.0 else 0 end) as over10
       from (select account_id, count(*) as n from app.users where account_id is not null group by 1)`,
    );
    expect(Number(sizes.single)).toBeGreaterThan(0.6);
    expect(Number(sizes.single)).toBeLessThan(0.7);
    expect(Number(sizes.over10)).toBeGreaterThan(0.005);
    expect(Number(sizes.over10)).toBeLessThan(0.05);
    expect(await num(wh, `select count(*) from app.events where ts >= timestamp '2026-11-01'`)).toBe(0);
    expect(
      await num(
        wh,
        'select count(*) from app.events e where e.ts < (select signup_at from app.users u where u.user_id = e.user_id)',
      ),
    ).toBeLessThan((await num(wh, 'select count(*) from app.events')) * 0.001);
  });

  it('has 30-50 % free-mail signups and the engagement segments of the spec', async () => {
    const free = await num(wh, 'select avg(case when is_free_email then 1.0 else 0 end) from app.users');
    expect(free).toBeGreaterThan(0.3);
    expect(free).toBeLessThan(0.5);
    const { rows } = await wh.query(
      `select segment, count(*) * 1.0 / ${users} as share from app.truth group by 1`,
    );
    const share = Object.fromEntries(rows.map((r) => [String(r.segment), Number(r.share)]));
    expect(share.never_returned).toBeGreaterThan(0.4);
    expect(share.never_returned).toBeLessThan(0.55);
    expect(share.casual).toBeGreaterThan(0.25);
    expect(share.casual).toBeLessThan(0.35);
    expect(share.regular).toBeGreaterThan(0.1);
    expect(share.regular).toBeLessThan(0.2);
    expect(share.power).toBeGreaterThan(0.02);
    expect(share.power).toBeLessThan(0.05);
  });

  it('has intent events within 30 days of signup at the spec shares', async () => {
    const { rows } = await wh.query(`
      with cohort as (select user_id, signup_at from app.users where signup_at < timestamp '2026-10-01'),
           firsts as (select distinct e.user_id, e.event_type from app.events e join cohort c using (user_id)
                      where e.ts < c.signup_at + interval 30 day)
      select event_type, count(*) * 1.0 / (select count(*) from cohort) as share from firsts group by 1`);
    const share = Object.fromEntries(rows.map((r) => [String(r.event_type), Number(r.share)]));
    const ranges: Record<string, [number, number]> = {
      invite_sent: [0.1, 0.25],
      integration_connected: [0.05, 0.15],
      limit_hit: [0.03, 0.1],
      pricing_page_view: [0.1, 0.2],
      checkout_started: [0.03, 0.08],
      contact_sales: [0.002, 0.01],
    };
    for (const [type, [lo, hi]] of Object.entries(ranges)) {
      expect(share[type], type).toBeGreaterThanOrEqual(lo);
      expect(share[type], type).toBeLessThanOrEqual(hi);
    }
  });

  it('converts 2-5 % of free accounts and 15-25 % of trials, plus a few sales-led ones', async () => {
    const { rows } = await wh.query(`
      select account_initial_plan as plan,
             avg(case when account_conversion_kind = 'self_serve_upgrade' then 1.0 else 0 end) as self_serve,
             sum(case when account_conversion_kind = 'sales_led' then 1 else 0 end) as sales_led
      from app.truth where account_user_ordinal = 0 and account_id is not null group by 1`);
    const byPlan = Object.fromEntries(rows.map((r) => [String(r.plan), r]));
    expect(Number(byPlan.free?.self_serve)).toBeGreaterThan(0.02);
    expect(Number(byPlan.free?.self_serve)).toBeLessThan(0.05);
    expect(Number(byPlan.trial?.self_serve)).toBeGreaterThan(0.15);
    expect(Number(byPlan.trial?.self_serve)).toBeLessThan(0.25);
    expect(Number(byPlan.free?.sales_led) + Number(byPlan.trial?.sales_led)).toBeGreaterThan(10);
    // only conversions before the clock are visible, and the plan follows them
    expect(
      await num(wh, `select count(*) from app.conversions where converted_at >= timestamp '2026-11-01'`),
    ).toBe(0);
    expect(
      await num(
        wh,
        `select count(*) from app.conversions c join app.accounts a using (account_id) where a.plan <> c.plan`,
      ),
    ).toBe(0);
  });

  it('raises the conversion rate with the planted propensity from the middle quintile on', async () => {
    const { rows } = await wh.query(`
      select ntile(5) over (order by account_propensity) as q,
             case when account_conversion_kind = 'self_serve_upgrade' then 1.0 else 0 end as converted
      from app.truth where account_user_ordinal = 0 and account_id is not null`);
    const rate = [1, 2, 3, 4, 5].map((q) => {
      const inQ = rows.filter((r) => Number(r.q) === q);
      return inQ.reduce((s, r) => s + Number(r.converted), 0) / inQ.length;
    });
    // Purchases are drawn from the generated usage, which the propensity drives: the bottom two quintiles
    // buy almost only through trials (under 1 %, in either order), from the middle on the rate climbs steeply.
    expect(rate[0]).toBeLessThan(0.01);
    expect(rate[1]).toBeLessThan(0.01);
    for (let i = 2; i < 5; i++) expect(rate[i]).toBeGreaterThan(rate[i - 1] ?? 0);
    expect(rate[2]).toBeGreaterThan(0);
    expect(rate[3]).toBeGreaterThan(2 * (rate[2] ?? 0));
    expect(rate[4]).toBeGreaterThan(2 * (rate[3] ?? 0));
    // sales-led converters are planted without a product signal
    const salesLed = await one(
      wh,
      `select avg(account_propensity) as p from app.truth where account_conversion_kind = 'sales_led' and account_user_ordinal = 0`,
    );
    const selfServe = await one(
      wh,
      `select avg(account_propensity) as p from app.truth where account_conversion_kind = 'self_serve_upgrade' and account_user_ordinal = 0`,
    );
    expect(Number(salesLed.p)).toBeLessThan(Number(selfServe.p) / 2);
  });

  it('plants the dirty rows: replays, null and invalid emails, internal accounts, bots, no account, control characters', async () => {
    const dirty = await one(
      wh,
      `select
         (select count(*) from (select event_id from app.events group by 1 having count(*) > 1)) as replayed,
         (select count(*) from app.users where email is null) as null_emails,
         (select count(*) from app.users where email is not null
            and not regexp_full_match(email, '[^@\\s]+@[^@\\s]+\\.[a-z]+')) as invalid_emails,
         (select count(*) from app.accounts where is_internal) as internal_accounts,
         (select count(*) from app.users where is_internal) as internal_users,
         (select count(*) from app.truth where is_bot) as bots,
         (select count(*) from app.users where account_id is null) as without_account,
         (select count(*) from app.users where regexp_matches(first_name || last_name, '[\\x00-\\x1f]')) as control_chars`,
    );
    expect(Number(dirty.replayed)).toBeGreaterThan(1000);
    expect(Number(dirty.null_emails)).toBeGreaterThan(100);
    expect(Number(dirty.invalid_emails)).toBeGreaterThanOrEqual(10);
    expect(Number(dirty.invalid_emails)).toBeLessThanOrEqual(30);
    expect(Number(dirty.internal_accounts)).toBeGreaterThanOrEqual(3);
    expect(Number(dirty.internal_users)).toBeGreaterThanOrEqual(3);
    expect(Number(dirty.bots)).toBeGreaterThanOrEqual(2);
    expect(Number(dirty.without_account)).toBe(Math.floor(users * 0.015));
    expect(Number(dirty.control_chars)).toBeGreaterThanOrEqual(2);
    const botRate = await num(
      wh,
      `select min(n) from (select e.user_id, count(*) * 1.0 / count(distinct cast(e.ts as date)) as n
                           from app.events e join app.truth t using (user_id) where t.is_bot group by 1)`,
    );
    expect(botRate).toBeGreaterThan(250);
  });

  it('scores users: tier shares, reasons, exclusions, and a 5x lift for the hot tier 30 days out', async () => {
    const asOf = '2026-10-02';
    await scoreModel(wh, 'pql_users', { as_of: asOf });
    const tiers = await tierOutcomes(wh, 'pql_tier', asOf);
    const total = tiers.reduce((s, t) => s + t.n, 0);
    const converted = tiers.reduce((s, t) => s + t.converted, 0);
    const hot = tiers.find((t) => t.tier === 'hot');
    const pql = tiers.find((t) => t.tier === 'pql');
    const nurture = tiers.find((t) => t.tier === 'nurture');
    if (!hot || !pql || !nurture) throw new Error(`missing a tier: ${JSON.stringify(tiers)}`);
    // Under 1 %: 70+ points takes most signals at once, and no planted pre-purchase ramp inflates converters'
    // pricing views, limit hits and invites any more (it gave 2-8 %).
    expect(hot.n / total).toBeGreaterThan(0.003);
    expect(hot.n / total).toBeLessThan(0.03);
    // Users without an activation milestone stay below the PQL line (require_activation), so fewer than the
    // 10 % the ungated model put in pql.
    expect(pql.n / total).toBeGreaterThan(0.05);
    expect(pql.n / total).toBeLessThan(0.25);
    expect(nurture.n / total).toBeGreaterThan(0.6);
    const lift = hot.converted / hot.n / (converted / total);
    expect(lift).toBeGreaterThanOrEqual(5);

    const check = await one(
      wh,
      `select
         count(*) filter (where pql_score < 0 or pql_score > 100) as out_of_range,
         count(*) filter (where is_pql <> (pql_tier in ('hot', 'pql'))) as is_pql_mismatch,
         count(*) filter (where is_pql and qualified_at is null) as pql_without_date,
         count(*) filter (where not is_pql and qualified_at is not null) as date_without_pql,
         count(*) filter (where qualified_at >= date '${asOf}' or qualified_at < date '${asOf}' - 30) as date_outside,
         count(*) filter (where user_id in (select user_id from app.users where is_internal)) as internal,
         count(*) filter (where user_id in (select user_id from app.truth where is_bot)) as bots,
         count(*) filter (where plan not in ('free', 'trial')) as paying,
         count(*) filter (where email is null or email not like '%@%.%') as bad_emails,
         count(*) - count(distinct user_id) as duplicate_keys
       from scored`,
    );
    expect(check).toEqual({
      out_of_range: 0,
      is_pql_mismatch: 0,
      pql_without_date: 0,
      date_without_pql: 0,
      date_outside: 0,
      internal: 0,
      bots: 0,
      paying: 0,
      bad_emails: expect.any(Number),
      duplicate_keys: 0,
    });
    expect(Number(check.bad_emails)).toBeGreaterThan(0);

    const top = await one(
      wh,
      `select reasons, invites_sent, active_days from scored order by pql_score desc, user_id limit 1`,
    );
    expect(String(top.reasons)).toMatch(
      /^(.*; )?\d+ events on \d+ active days in 30 days; invited \d+ teammates?/,
    );
    expect(String(top.reasons)).toContain(`on ${String(top.active_days)} active days`);
  });

  it('scores accounts: tier shares and a 5x lift for the hot tier 30 days out', async () => {
    const asOf = '2026-10-02';
    await scoreModel(wh, 'pqa_accounts', { as_of: asOf });
    const tiers = await tierOutcomes(wh, 'pqa_tier', asOf);
    const total = tiers.reduce((s, t) => s + t.n, 0);
    const converted = tiers.reduce((s, t) => s + t.converted, 0);
    const hot = tiers.find((t) => t.tier === 'hot');
    if (!hot) throw new Error(`no hot tier: ${JSON.stringify(tiers)}`);
    // A handful of workspaces (6 of 2,504) reach 70+ points without the planted ramp (it gave 1-8 %).
    expect(hot.n).toBeGreaterThanOrEqual(3);
    expect(hot.n / total).toBeLessThan(0.03);
    expect(hot.converted / hot.n / (converted / total)).toBeGreaterThanOrEqual(5);
    expect(await num(wh, 'select count(*) - count(distinct account_id) from scored')).toBe(0);
    expect(await num(wh, 'select count(*) from scored where pqa_score < 0 or pqa_score > 100')).toBe(0);
  });

  it('defaults as_of to the data clock', async () => {
    await scoreModel(wh, 'pql_users');
    expect(await one(wh, 'select min(scored_as_of) as lo, max(scored_as_of) as hi from scored')).toEqual({
      lo: '2026-11-01',
      hi: '2026-11-01',
    });
  });

  it('advances the clock: new events after the old clock, new users, and new conversions', async () => {
    const before = await one(
      wh,
      `select (select count(*) from app.users) as users, (select count(*) from app.conversions) as conversions`,
    );
    const earlier = `select count(*) as n, sum(hash(c)) as h from app.conversions c
                     where converted_at < timestamp '2026-11-01'`;
    const earlierBefore = await one(wh, earlier);
    await advanceDemoData(exec(wh), { days: 14, seed: 42 });
    // purchases are drawn day by day from earlier events only, so new days never change an earlier one
    expect(await one(wh, earlier)).toEqual(earlierBefore);
    expect(await one(wh, 'select as_of from app.demo_clock')).toEqual({ as_of: '2026-11-15' });
    const after = await one(
      wh,
      `select
         (select count(*) from app.users) as users,
         (select count(*) from app.conversions) as conversions,
         (select count(*) from app.events where ts >= timestamp '2026-11-01') as new_events,
         (select count(*) from app.events where ts >= timestamp '2026-11-15') as future_events,
         (select count(distinct user_id) from app.events where ts >= timestamp '2026-11-01'
            and user_id in (select user_id from app.users where signup_at < timestamp '2026-11-01')) as returning_users`,
    );
    expect(Number(after.users) - Number(before.users)).toBeGreaterThan(100);
    expect(Number(after.conversions)).toBeGreaterThan(Number(before.conversions));
    expect(Number(after.new_events)).toBeGreaterThan(10_000);
    expect(Number(after.future_events)).toBe(0);
    expect(Number(after.returning_users)).toBeGreaterThan(500);
    expect(
      await num(wh, 'select count(*) from app.users where user_id not in (select user_id from app.truth)'),
    ).toBe(0);
  });
});

describe('advanceDemoData without data', () => {
  it('says there is nothing to advance', async () => {
    const wh = await openWarehouse();
    try {
      const err = await advanceDemoData(exec(wh), { days: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PqlsyncError);
      expect((err as PqlsyncError).format()).toBe(
        'there is no demo data to advance: table app.demo_clock is missing\n' +
          '  hint: generate the demo data first (pqlsync demo --no-run)',
      );
    } finally {
      await wh.close();
    }
  });
});
