-- Self-serve purchases on the days in [demo_from, demo_to), drawn from the events generated so far rather than
-- planted: on each day an account is active, it buys with a probability that is a logistic of what its users did
-- in the 30 days before (activation, active user-days, teammates, pricing and billing views, plan-limit hits,
-- invites, a raised hand, activity in the last 7 days, an open trial) plus a seeded per-account noise; the
-- first such day is its purchase. The day's most active user buys: checkout started, completed and the
-- upgrade are added to app.events, the conversion to app.conversions and app.truth. Each day's draw is a hash
-- of (seed, account, day) and reads only events before that day, so moving the clock forward never changes an
-- earlier purchase. Trial accounts that had not bought by the end of their 14 days get a downgrade event.
-- Sales-led deals stay planted (insert-entities.sql): they come without a product signal.

create or replace temp table demo_buy_accounts as
select t.account_id, t.account_idx, t.account_initial_plan,
       demo_day_num(cast(t.account_created_at as date)) as created_day, t.account_employee_count
from app.truth t
join app.accounts a on a.account_id = t.account_id
where t.account_user_ordinal = 0 and t.account_conversion_kind is null and not a.is_internal;

-- One row per account, user and active day, from 30 days before the window on (the signals' lookback).
create or replace temp table demo_buy_user_days as
select
  e.account_id,
  e.user_id,
  demo_day_num(cast(e.ts as date)) as day_num,
  count(*) as n_events,
  max(e.ts) as last_ts,
  count(*) filter (where e.event_type in ('pricing_page_view', 'billing_page_view')) as pricing,
  count(*) filter (where e.event_type = 'limit_hit') as limits,
  count(*) filter (where e.event_type in ('invite_sent', 'invite_accepted')) as invites,
  count(*) filter (where e.event_type = 'contact_sales') as hands
from app.events e
where e.account_id in (select account_id from demo_buy_accounts)
  and e.ts >= cast(getvariable('demo_from') - 30 as timestamp)
  and e.ts < cast(getvariable('demo_to') as timestamp)
group by all;

create or replace temp table demo_buy_activation as
select account_id, min(demo_day_num(cast(ts as date))) as first_day
from app.events
where event_type in ('onboarding_completed', 'dashboard_shared', 'integration_connected')
  and account_id in (select account_id from demo_buy_accounts)
group by 1;

create or replace temp table demo_buy_days as
with account_days as (
  select account_id, day_num, count(*) as user_days, sum(pricing) as pricing, sum(limits) as limits,
         sum(invites) as invites, sum(hands) as hands,
         arg_min(user_id, (-n_events, user_id)) as buyer_id
  from demo_buy_user_days
  group by all
),
rolled as (
  select
    *,
    coalesce(sum(user_days) over w30, 0) as user_days_30,
    coalesce(sum(pricing) over w30, 0) as pricing_30,
    coalesce(sum(limits) over w30, 0) as limits_30,
    coalesce(sum(invites) over w30, 0) as invites_30,
    coalesce(sum(hands) over w30, 0) as hands_30,
    coalesce(sum(user_days) over (partition by account_id order by day_num
                                  range between 7 preceding and 1 preceding), 0) as user_days_7
  from account_days
  window w30 as (partition by account_id order by day_num range between 30 preceding and 1 preceding)
),
candidates as (
  select r.*
  from rolled r
  where r.day_num >= demo_day_num(getvariable('demo_from'))
),
teammates as (
  select c.account_id, c.day_num, count(distinct u.user_id) as teammates_30
  from candidates c
  join demo_buy_user_days u
    on u.account_id = c.account_id and u.day_num between c.day_num - 30 and c.day_num - 1
  group by all
)
select
  c.account_id,
  c.day_num,
  c.buyer_id,
  a.account_idx,
  a.account_employee_count,
  demo_sigmoid(-9.2
               + 1.5 * (coalesce(act.first_day < c.day_num, false))::integer
               + 0.6 * ln(1 + c.user_days_30)
               + 0.5 * ln(1 + coalesce(tm.teammates_30, 0))
               + 0.6 * ln(1 + c.pricing_30)
               + 0.6 * ln(1 + c.limits_30)
               + 0.4 * ln(1 + c.invites_30)
               + 1.5 * (c.hands_30 > 0)::integer
               + 0.6 * ln(1 + c.user_days_7)
               + 3.4 * (a.account_initial_plan = 'trial' and c.day_num <= a.created_day + 14)::integer
               + 0.5 * demo_n(a.account_idx, 0, 'acct.buy.noise')) as p_buy
from candidates c
join demo_buy_accounts a on a.account_id = c.account_id
left join demo_buy_activation act on act.account_id = c.account_id
left join teammates tm on tm.account_id = c.account_id and tm.day_num = c.day_num;

create or replace temp table demo_buys as
select
  b.account_id,
  b.account_idx,
  b.buyer_id,
  t.user_idx as buyer_idx,
  b.day_num,
  least(ud.last_ts + interval 30 second, demo_day_date(b.day_num) + interval 86390 second) as checkout_ts,
  case when demo_u(b.account_idx, 0, 'acct.paidplan') < 0.2
            or (b.account_employee_count >= 200 and demo_u(b.account_idx, 0, 'acct.paidplan') < 0.5)
       then 'business' else 'team' end as plan
from (
  select *, row_number() over (partition by account_id order by day_num) as nth
  from demo_buy_days
  where demo_u(account_idx, day_num, 'buy') < p_buy
) b
join app.truth t on t.user_id = b.buyer_id
join demo_buy_user_days ud on ud.user_id = b.buyer_id and ud.day_num = b.day_num
where b.nth = 1;

insert into app.events
select
  ((cast(b.buyer_idx as bigint) * 65536 + b.day_num) * 4096 + 4094) * 16 + v.slot,
  b.buyer_id,
  b.account_id,
  b.checkout_ts + to_seconds(v.offset_sec),
  v.event_type,
  null,
  null
from demo_buys b, (values (7, 'checkout_started', 0), (10, 'checkout_completed', 240), (11, 'upgrade', 241))
                  v(slot, event_type, offset_sec);

insert into app.conversions
select account_id, buyer_id, checkout_ts + interval 240 second, 'self_serve_upgrade', plan
from demo_buys
order by checkout_ts, account_id;

update app.truth t
set account_converts_at = b.checkout_ts + interval 240 second,
    account_conversion_kind = 'self_serve_upgrade',
    account_conversion_plan = b.plan
from demo_buys b
where t.account_id = b.account_id;

-- A trial that ends in the window without a purchase by its last day falls back to free.
insert into app.events
select
  ((cast(t.user_idx as bigint) * 65536 + demo_day_num(cast(t.account_created_at as date)) + 14) * 4096 + 4095) * 16 + 12,
  t.user_id,
  t.account_id,
  demo_day_date(demo_day_num(cast(t.account_created_at as date)) + 14)
    + to_seconds(demo_session_sec(t.user_idx, demo_day_num(cast(t.account_created_at as date)) + 14) + 30),
  'downgrade',
  null,
  json_object('from', 'trial', 'to', 'free')
from app.truth t
where t.account_user_ordinal = 0
  and t.account_initial_plan = 'trial'
  and cast(t.account_created_at as date) + 14 >= getvariable('demo_from')
  and cast(t.account_created_at as date) + 14 < getvariable('demo_to')
  and (t.account_converts_at is null or cast(t.account_converts_at as date) > cast(t.account_created_at as date) + 14);
