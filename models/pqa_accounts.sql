/*---
name: pqa_accounts
description: >-
  Product-qualified account score, 0-100: breadth (active users) 0-25, usage 0-25, feature depth 0-15,
  expansion pressure (seats used vs the limit, limit hits, invites) 0-15, buying intent 0-10, firmographic
  fit 0-10. Tier hot (>= hot_threshold), pqa (>= pqa_threshold) or nurture, with plain-word reasons. Scores
  free and trial accounts with activity in the lookback window; internal accounts, bots' events and accounts
  already paying are left out. The *_30d columns count the lookback window.
key: account_id
entity: account
as_of: as_of
params:
  as_of:
    type: date
    description: Score as of this date, from events before it. Unset means the data's clock (clock_table).
  lookback_days: { type: integer, default: 30, min: 1, max: 365, description: Days of events scored }
  hot_threshold: { type: integer, default: 70, min: 1, max: 100, description: Lowest score of the hot tier }
  pqa_threshold: { type: integer, default: 40, min: 1, max: 100, description: Lowest score of the pqa tier }
  bot_events_per_day:
    type: integer
    default: 250
    min: 1
    description: Users averaging more events per active day are treated as bots; their events do not count
  events_table: { type: identifier, default: app.events }
  users_table: { type: identifier, default: app.users }
  accounts_table: { type: identifier, default: app.accounts }
  subscriptions_table: { type: identifier, default: app.subscriptions }
  clock_table: { type: identifier, default: app.demo_clock, description: One row with the data's as_of date }
---*/
with params as (
  select
    coalesce(cast(:as_of as date), (select max(as_of) from {{ clock_table }})) as as_of,
    cast(:lookback_days as integer) as lookback_days,
    cast(:hot_threshold as integer) as hot_threshold,
    cast(:pqa_threshold as integer) as pqa_threshold,
    cast(:bot_events_per_day as integer) as bot_events_per_day
),

bounds as (
  select params.*, as_of - lookback_days as window_start from params
),

-- Replayed events repeat their event_id: count each event once.
window_events as (
  select distinct e.event_id, e.user_id, e.account_id, e.event_type, e.feature, cast(e.ts as date) as day
  from {{ events_table }} e
  cross join bounds b
  where e.ts >= b.window_start and e.ts < b.as_of and e.account_id is not null
),

bots as (
  select user_id
  from window_events
  cross join bounds b
  group by user_id, b.bot_events_per_day
  having count(*) > b.bot_events_per_day * count(distinct day)
),

usage as (
  select
    account_id,
    count(*) as events,
    count(distinct user_id) as active_users,
    count(distinct day) as active_days,
    count(distinct case when event_type = 'feature_used' then feature end) as features,
    count(distinct case when feature in ('sso', 'audit_log', 'custom_roles') then feature end) as premium_features,
    sum(case when event_type = 'invite_sent' then 1 else 0 end) as invites,
    sum(case when event_type = 'limit_hit' then 1 else 0 end) as limit_hits,
    sum(case when event_type = 'pricing_page_view' then 1 else 0 end) as pricing_views,
    sum(case when event_type = 'billing_page_view' then 1 else 0 end) as billing_views,
    sum(case when event_type = 'checkout_started' then 1 else 0 end) as checkouts,
    sum(case when event_type = 'contact_sales' then 1 else 0 end) as sales_requests,
    max(day) as last_active_on
  from window_events
  where user_id not in (select user_id from bots)
  group by account_id
),

members as (
  select u.account_id, count(*) as users
  from {{ users_table }} u
  cross join bounds b
  where u.account_id is not null and u.signup_at < b.as_of
  group by u.account_id
),

plans_as_of as (
  select s.account_id, s.plan, s.seats
  from {{ subscriptions_table }} s
  cross join bounds b
  where s.started_at < b.as_of and (s.ended_at is null or s.ended_at >= b.as_of)
),

points as (
  select
    a.account_id,
    a.name,
    a.domain,
    a.employee_count,
    a.employee_band,
    a.industry,
    a.country,
    a.region,
    a.is_target_account,
    p.plan,
    p.seats as seats_limit,
    m.users as seats_used,
    u.events, u.active_users, u.active_days, u.features, u.premium_features, u.invites, u.limit_hits,
    u.pricing_views, u.billing_views, u.checkouts, u.sales_requests, u.last_active_on,
    case when u.active_users >= 10 then 25 when u.active_users >= 5 then 20 when u.active_users >= 3 then 15
         when u.active_users >= 2 then 10 else 5 end as breadth_points,
    case when u.active_days >= 22 then 25 when u.active_days >= 16 then 20 when u.active_days >= 10 then 14
         when u.active_days >= 5 then 8 when u.active_days >= 2 then 4 else 1 end as usage_points,
    case when u.features >= 11 then 12 when u.features >= 8 then 9 when u.features >= 5 then 6
         when u.features >= 3 then 3 else 0 end
      + case when u.premium_features > 0 then 3 else 0 end as depth_points,
    least(15,
      case when p.seats > 0 and m.users >= p.seats then 8
           when p.seats > 0 and 5 * m.users >= 4 * p.seats then 5 else 0 end
      + case when u.limit_hits >= 3 then 5 when u.limit_hits >= 1 then 3 else 0 end
      + case when u.invites >= 3 then 4 when u.invites >= 1 then 2 else 0 end
    ) as expansion_points,
    least(10,
      least(4, 2 * u.pricing_views)
      + case when u.billing_views > 0 then 2 else 0 end
      + case when u.checkouts > 0 then 4 else 0 end
      + case when u.sales_requests > 0 then 10 else 0 end
    ) as intent_points,
    least(10,
      case when a.employee_count >= 1000 then 6 when a.employee_count >= 200 then 5
           when a.employee_count >= 51 then 4 when a.employee_count >= 11 then 2 else 0 end
      + case when a.is_target_account then 4 else 0 end
    ) as fit_points
  from usage u
  join {{ accounts_table }} a on a.account_id = u.account_id
  join members m on m.account_id = u.account_id
  left join plans_as_of p on p.account_id = u.account_id
  where coalesce(a.is_internal, false) = false
    and coalesce(p.plan, 'free') in ('free', 'trial')
),

scored as (
  select
    points.*,
    breadth_points + usage_points + depth_points + expansion_points + intent_points + fit_points as score
  from points
)

select
  s.account_id,
  s.name,
  s.domain,
  cast(s.score as integer) as pqa_score,
  case when s.score >= b.hot_threshold then 'hot' when s.score >= b.pqa_threshold then 'pqa' else 'nurture' end
    as pqa_tier,
  s.score >= b.pqa_threshold as is_pqa,
  concat_ws('; ',
    case when s.sales_requests > 0 then 'asked to talk to sales' end,
    case when s.checkouts = 1 then 'started checkout once'
         when s.checkouts > 1 then 'started checkout ' || cast(s.checkouts as varchar) || ' times' end,
    cast(s.active_users as varchar) || case when s.active_users = 1 then ' active user' else ' active users' end
      || ' on ' || cast(s.active_days as varchar) || ' of the last ' || cast(b.lookback_days as varchar) || ' days',
    case when s.seats_limit > 0 and s.seats_used > s.seats_limit
         then cast(s.seats_used as varchar) || ' users on a ' || cast(s.seats_limit as varchar) || '-seat plan'
         when s.seats_limit > 0 and 5 * s.seats_used >= 4 * s.seats_limit
         then cast(s.seats_used as varchar) || ' of ' || cast(s.seats_limit as varchar) || ' seats used' end,
    case when s.limit_hits = 1 then 'hit a plan limit once'
         when s.limit_hits > 1 then 'hit plan limits ' || cast(s.limit_hits as varchar) || ' times' end,
    case when s.pricing_views = 1 then 'viewed pricing once' when s.pricing_views = 2 then 'viewed pricing twice'
         when s.pricing_views > 2 then 'viewed pricing ' || cast(s.pricing_views as varchar) || ' times' end,
    case when s.invites = 1 then 'invited 1 teammate'
         when s.invites > 1 then 'invited ' || cast(s.invites as varchar) || ' teammates' end,
    case when s.features > 0 then 'used ' || cast(s.features as varchar)
         || case when s.features = 1 then ' feature' else ' features' end
         || case when s.premium_features > 0 then ' incl. premium' else '' end end
  ) as reasons,
  cast(s.active_users as integer) as active_users_30d,
  cast(s.active_days as integer) as active_days_30d,
  cast(s.events as integer) as events_30d,
  cast(s.seats_used as integer) as seats_used,
  s.seats_limit,
  cast(s.limit_hits as integer) as limit_hits_30d,
  cast(s.pricing_views as integer) as pricing_views_30d,
  cast(s.invites as integer) as invites_sent_30d,
  cast(s.features as integer) as features_used,
  s.last_active_on,
  cast(s.breadth_points as integer) as breadth_points,
  cast(s.usage_points as integer) as usage_points,
  cast(s.depth_points as integer) as depth_points,
  cast(s.expansion_points as integer) as expansion_points,
  cast(s.intent_points as integer) as intent_points,
  cast(s.fit_points as integer) as fit_points,
  coalesce(s.plan, 'free') as plan,
  s.employee_count,
  s.employee_band,
  s.industry,
  s.country,
  s.region,
  s.is_target_account,
  b.as_of as scored_as_of
from scored s
cross join bounds b
