-- Conversions that happened in [demo_from, demo_to), and every account's subscriptions and current plan
-- as of demo_to (rebuilt from the planted truth, so they are the same whichever way the clock got there).

-- (self-serve purchases are written by convert.sql, with their buyer)
insert into app.conversions
select t.account_id, null as user_id, t.account_converts_at, t.account_conversion_kind, t.account_conversion_plan
from app.truth t
where t.account_user_ordinal = 0
  and t.account_conversion_kind = 'sales_led'
  and t.account_id is not null
  and t.account_converts_at >= cast(getvariable('demo_from') as timestamp)
  and t.account_converts_at < cast(getvariable('demo_to') as timestamp)
order by t.account_converts_at, t.account_id;

delete from app.subscriptions;

insert into app.subscriptions
with clock as (select cast(getvariable('demo_to') as timestamp) as now_ts),
accounts as (
  select
    t.account_idx,
    t.account_id,
    t.account_initial_plan,
    t.account_created_at,
    case when t.account_converts_at < c.now_ts then t.account_converts_at end as converted_at,
    t.account_conversion_plan,
    t.account_employee_count,
    c.now_ts
  from app.truth t, clock c
  where t.account_user_ordinal = 0 and t.account_id is not null
),
seats as (
  select account_id, count(*) as n_users from app.truth where account_id is not null group by account_id
),
periods as (
  -- the plan the account started on (a 14-day trial falls back to free unless it converts first)
  select account_id, 1 as n, account_initial_plan as plan, account_created_at as started_at,
         case when account_initial_plan = 'trial'
              then least(account_created_at + interval 14 day, coalesce(converted_at, account_created_at + interval 14 day))
              else converted_at end as ended_at,
         now_ts
  from accounts
  union all
  select account_id, 2, 'free', account_created_at + interval 14 day, converted_at, now_ts
  from accounts
  where account_initial_plan = 'trial' and (converted_at is null or converted_at > account_created_at + interval 14 day)
  union all
  select account_id, 3, account_conversion_plan, converted_at, null, now_ts
  from accounts
  where converted_at is not null
)
select
  p.account_id || '_' || cast(p.n as varchar) as subscription_id,
  p.account_id,
  p.plan,
  case p.plan when 'team' then 20 * greatest(s.n_users, 3)
              when 'business' then 45 * greatest(s.n_users, 5)
              when 'enterprise' then 2500 + 40 * least(a.account_employee_count, 2000)
              else 0 end as mrr,
  case p.plan when 'free' then 3 when 'trial' then 10 when 'team' then greatest(s.n_users, 3)
              when 'business' then greatest(s.n_users, 5) else greatest(s.n_users, 50) end as seats,
  p.started_at,
  case when p.ended_at < p.now_ts then p.ended_at end as ended_at
from periods p
join accounts a on a.account_id = p.account_id
join seats s on s.account_id = p.account_id
where p.started_at < p.now_ts;

update app.accounts a
set plan = s.plan, plan_started_at = s.started_at, seats_limit = s.seats
from app.subscriptions s
where s.account_id = a.account_id and s.ended_at is null;
