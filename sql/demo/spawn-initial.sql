-- The accounts and users of a fresh dataset: which user belongs to which account, and when each signed up.
-- Users per account are heavy-tailed (about 2/3 single-user, a few % above 10, rarely 100+); 1.5 % of users
-- have no account. Attributes are derived from these rows by insert-entities.sql.
create or replace temp table demo_spawn_accounts as
with params as (
  select
    getvariable('demo_users') as n_total,
    getvariable('demo_users') - cast(floor(getvariable('demo_users') * 0.015) as bigint) as n_in_accounts,
    demo_day_num(getvariable('demo_as_of')) - getvariable('demo_history_days') as start_day,
    getvariable('demo_history_days') as history_days
),
candidates as (
  select
    j as account_idx,
    case when demo_u(j, 0, 'acct.single') < 0.66 then 1
         -- 2 + a Lomax (Pareto II) draw with shape 1.3, capped at 250 users
         else cast(least(250, 2 + floor(pow(1.0 - demo_u(j, 0, 'acct.tail'), -1.0 / 1.3) - 1.0)) as integer)
    end as n_users
  from range(getvariable('demo_users')) r(j)
),
placed as (
  select
    account_idx,
    n_users,
    sum(n_users) over (order by account_idx rows between unbounded preceding and current row) - n_users
      as first_user_idx
  from candidates
)
select
  account_idx,
  cast(least(n_users, p.n_in_accounts - first_user_idx) as integer) as n_users,
  first_user_idx as admin_user_idx,
  demo_signup_day(p.start_day, p.history_days, account_idx, 'acct.created') as created_day
from placed, params p
where first_user_idx < p.n_in_accounts;

create or replace temp table demo_spawn_users as
with params as (
  select
    getvariable('demo_users') as n_total,
    getvariable('demo_users') - cast(floor(getvariable('demo_users') * 0.015) as bigint) as n_in_accounts,
    demo_day_num(getvariable('demo_as_of')) as as_of_day,
    demo_day_num(getvariable('demo_as_of')) - getvariable('demo_history_days') as start_day,
    getvariable('demo_history_days') as history_days
)
select
  a.admin_user_idx + k as user_idx,
  a.account_idx,
  cast(k as integer) as ordinal,
  -- teammates join after the account exists, most of them soon after
  case when k = 0 then a.created_day
       else a.created_day + cast(floor(pow(demo_u(a.admin_user_idx + k, 0, 'user.join'), 2)
                                       * (p.as_of_day - a.created_day)) as integer)
  end as signup_day
from demo_spawn_accounts a, params p, range(a.n_users) r(k)
union all
select
  i as user_idx,
  null as account_idx,
  0 as ordinal,
  demo_signup_day(p.start_day, p.history_days, i, 'user.orphan') as signup_day
from params p, range(p.n_in_accounts, p.n_total) r(i);
