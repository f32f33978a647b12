-- New users signing up on the days in [demo_from, demo_to) when the clock moves forward: at the historical
-- daily rate (users / history days, weekdays busier), about 2/3 with a new account, 1/3 joining an existing
-- account as a teammate, 3 % without an account.
create or replace temp table demo_advance_signups as
with clock as (
  select
    demo_day_num(getvariable('demo_from')) as from_day,
    demo_day_num(getvariable('demo_to')) as to_day,
    cast(getvariable('demo_users') as double) / getvariable('demo_history_days') as daily_rate
),
existing as (
  select max(user_idx) as max_user_idx, max(account_idx) as max_account_idx from app.truth
),
days as (
  select
    d as day_num,
    greatest(1, cast(floor(c.daily_rate * (case when isodow(demo_day_date(d)) >= 6 then 0.8 else 1.05 end)
                           * (0.75 + 0.5 * demo_u(d, 0, 'adv.signups'))) as integer)) as n_signups
  from clock c, range(c.from_day, c.to_day) r(d)
),
numbered as (
  select day_num, row_number() over (order by day_num, k) as rn
  from days, range(days.n_signups) r(k)
)
select
  e.max_user_idx + n.rn as user_idx,
  n.day_num as signup_day,
  case when demo_u(e.max_user_idx + n.rn, 0, 'adv.kind') < 0.03 then 'orphan'
       when demo_u(e.max_user_idx + n.rn, 0, 'adv.kind') < 0.35 then 'join'
       else 'new' end as kind,
  e.max_account_idx,
  cast(floor(demo_u(e.max_user_idx + n.rn, 0, 'adv.join') * (e.max_account_idx + 1)) as bigint) as join_account_idx
from numbered n, existing e;

create or replace temp table demo_spawn_accounts as
select
  max_account_idx + row_number() over (order by user_idx) as account_idx,
  1 as n_users,
  user_idx as admin_user_idx,
  signup_day as created_day
from demo_advance_signups
where kind = 'new';

create or replace temp table demo_spawn_users as
with counts as (
  select account_idx, count(*) as n_users from app.truth where account_idx is not null group by account_idx
)
select a.admin_user_idx as user_idx, a.account_idx, 0 as ordinal, a.created_day as signup_day
from demo_spawn_accounts a
union all
select
  s.user_idx,
  s.join_account_idx,
  cast(coalesce(c.n_users, 0) + row_number() over (partition by s.join_account_idx order by s.user_idx) - 1 as integer),
  s.signup_day
from demo_advance_signups s
left join counts c on c.account_idx = s.join_account_idx
where s.kind = 'join'
union all
select user_idx, null, 0, signup_day
from demo_advance_signups
where kind = 'orphan';
