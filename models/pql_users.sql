/*---
name: pql_users
description: >-
  Product-qualified lead score per user, 0-100 on a points template: usage frequency 0-30, activation 0-25,
  team 0-20, feature depth 0-15, buying intent 0-10, firmographic fit 0-10. Tier hot (>= hot_threshold),
  pql (>= pql_threshold) or nurture, plain-word reasons, and the date the user first crossed the PQL line.
  Scores free and trial users with activity in the lookback window; internal accounts, bots (more than
  bot_events_per_day events per active day) and accounts already paying are left out. Invalid and missing emails
  stay in: such a record is rejected alone, never its batch (see pqlsync failures). *_30d columns: the lookback window.
key: user_id
entity: user
as_of: as_of
params:
  as_of:
    type: date
    description: Score as of this date, from events before it. Unset means the data's clock (clock_table).
  lookback_days: { type: integer, default: 30, min: 1, max: 365, description: Days of events scored }
  hot_threshold: { type: integer, default: 70, min: 1, max: 100, description: Lowest score of the hot tier }
  pql_threshold: { type: integer, default: 40, min: 1, max: 100, description: Lowest score of the pql tier }
  bot_events_per_day:
    type: integer
    default: 250
    min: 1
    description: Users averaging more events per active day are treated as bots and left out
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
    cast(:pql_threshold as integer) as pql_threshold,
    cast(:bot_events_per_day as integer) as bot_events_per_day
),

bounds as (
  select params.*, as_of - lookback_days as window_start from params
),

-- Replayed events repeat their event_id: count each event once.
window_events as (
  select distinct e.event_id, e.user_id, e.event_type, e.feature, cast(e.ts as date) as day
  from {{ events_table }} e
  cross join bounds b
  where e.ts >= b.window_start and e.ts < b.as_of
),

user_days as (
  select
    user_id,
    day,
    count(*) as events,
    sum(case when event_type = 'invite_sent' then 1 else 0 end) as invites,
    sum(case when event_type = 'pricing_page_view' then 1 else 0 end) as pricing_views,
    sum(case when event_type = 'billing_page_view' then 1 else 0 end) as billing_views,
    sum(case when event_type = 'checkout_started' then 1 else 0 end) as checkouts,
    sum(case when event_type = 'contact_sales' then 1 else 0 end) as sales_requests,
    sum(case when event_type = 'limit_hit' then 1 else 0 end) as limit_hits,
    sum(case when event_type = 'integration_connected' then 1 else 0 end) as integrations,
    sum(case when event_type = 'project_created' then 1 else 0 end) as projects,
    sum(case when event_type in ('export', 'api_call') then 1 else 0 end) as exports
  from window_events
  group by user_id, day
),

-- Feature depth counts distinct features, so each feature counts on the day it was first used.
first_feature_use as (
  select user_id, feature, min(day) as day
  from window_events
  where event_type = 'feature_used' and feature is not null
  group by user_id, feature
),

new_features as (
  select
    user_id,
    day,
    count(*) as features,
    sum(case when feature in ('sso', 'audit_log', 'custom_roles') then 1 else 0 end) as premium_features
  from first_feature_use
  group by user_id, day
),

-- Running totals per user and day, so the score on any day of the window is known (for qualified_at).
running as (
  select
    d.user_id,
    d.day,
    count(*) over w as active_days,
    sum(d.events) over w as events,
    sum(d.invites) over w as invites,
    sum(d.pricing_views) over w as pricing_views,
    sum(d.billing_views) over w as billing_views,
    sum(d.checkouts) over w as checkouts,
    sum(d.sales_requests) over w as sales_requests,
    sum(d.limit_hits) over w as limit_hits,
    sum(d.integrations) over w as integrations,
    sum(d.projects) over w as projects,
    sum(d.exports) over w as exports,
    sum(coalesce(n.features, 0)) over w as features,
    sum(coalesce(n.premium_features, 0)) over w as premium_features
  from user_days d
  left join new_features n on n.user_id = d.user_id and n.day = d.day
  window w as (partition by d.user_id order by d.day rows between unbounded preceding and current row)
),

bots as (
  select user_id
  from user_days
  cross join bounds b
  group by user_id, b.bot_events_per_day
  having sum(events) > b.bot_events_per_day * count(*)
),

active_teammates as (
  select u.account_id, count(*) as active_users
  from {{ users_table }} u
  where u.account_id is not null
    and u.user_id in (select user_id from user_days)
    and u.user_id not in (select user_id from bots)
  group by u.account_id
),

plans_as_of as (
  select s.account_id, s.plan
  from {{ subscriptions_table }} s
  cross join bounds b
  where s.started_at < b.as_of and (s.ended_at is null or s.ended_at >= b.as_of)
),

eligible_users as (
  select
    u.user_id,
    u.account_id,
    u.email,
    u.first_name,
    u.last_name,
    u.title,
    u.seniority,
    a.name as company_name,
    a.employee_count,
    a.employee_band,
    a.country,
    coalesce(p.plan, 'free') as plan,
    coalesce(t.active_users - 1, 0) as teammates_active,
    least(10,
      case when a.employee_count >= 1000 then 5 when a.employee_count >= 200 then 4
           when a.employee_count >= 51 then 3 when a.employee_count >= 11 then 2 else 0 end
      + case when u.is_free_email = false then 2 else 0 end
      + case when a.is_target_account then 2 else 0 end
      + case when u.seniority in ('director', 'vp', 'c_level') then 1 else 0 end
    ) as fit_points
  from {{ users_table }} u
  left join {{ accounts_table }} a on a.account_id = u.account_id
  left join plans_as_of p on p.account_id = u.account_id
  left join active_teammates t on t.account_id = u.account_id
  where coalesce(u.is_internal, false) = false
    and coalesce(a.is_internal, false) = false
    and coalesce(p.plan, 'free') in ('free', 'trial')
    and u.user_id not in (select user_id from bots)
),

points as (
  select
    r.*,
    e.teammates_active,
    e.fit_points,
    case when r.active_days >= 22 then 30 when r.active_days >= 16 then 24 when r.active_days >= 10 then 16
         when r.active_days >= 5 then 10 when r.active_days >= 2 then 5 else 2 end as usage_points,
    case when r.projects >= 3 then 10 when r.projects >= 1 then 5 else 0 end
      + case when r.integrations > 0 then 10 else 0 end
      + case when r.exports >= 5 then 5 else 0 end as activation_points,
    least(12, 3 * r.invites)
      + case when e.teammates_active >= 10 then 8 when e.teammates_active >= 5 then 6
             when e.teammates_active >= 2 then 4 when e.teammates_active >= 1 then 2 else 0 end as team_points,
    case when r.features >= 11 then 12 when r.features >= 8 then 9 when r.features >= 5 then 6
         when r.features >= 3 then 3 else 0 end
      + case when r.premium_features > 0 then 3 else 0 end as depth_points,
    least(10,
      least(4, 2 * r.pricing_views)
      + case when r.billing_views > 0 then 2 else 0 end
      + case when r.checkouts > 0 then 4 else 0 end
      + case when r.limit_hits > 0 then 3 else 0 end
      + case when r.sales_requests > 0 then 10 else 0 end
    ) as intent_points
  from running r
  join eligible_users e on e.user_id = r.user_id
),

scored as (
  select
    points.*,
    -- the parts add up to 110 at most; the score is capped at 100, so a user can top out without every signal
    least(100, usage_points + activation_points + team_points + depth_points + intent_points + fit_points) as score
  from points
),

latest as (
  select user_id, max(day) as day, min(case when score >= b.pql_threshold then day end) as qualified_at
  from scored
  cross join bounds b
  group by user_id
)

select
  e.user_id,
  e.account_id,
  e.email,
  e.first_name,
  e.last_name,
  e.company_name,
  cast(s.score as integer) as pql_score,
  case when s.score >= b.hot_threshold then 'hot' when s.score >= b.pql_threshold then 'pql' else 'nurture' end
    as pql_tier,
  s.score >= b.pql_threshold as is_pql,
  concat_ws('; ',
    case when s.sales_requests > 0 then 'asked to talk to sales' end,
    case when s.checkouts = 1 then 'started checkout once'
         when s.checkouts > 1 then 'started checkout ' || cast(s.checkouts as varchar) || ' times' end,
    cast(s.events as varchar) || ' events on ' || cast(s.active_days as varchar) || ' active days in '
      || cast(b.lookback_days as varchar) || ' days',
    case when s.invites = 1 then 'invited 1 teammate'
         when s.invites > 1 then 'invited ' || cast(s.invites as varchar) || ' teammates' end,
    case when s.teammates_active = 1 then '1 teammate active'
         when s.teammates_active > 1 then cast(s.teammates_active as varchar) || ' teammates active' end,
    case when s.pricing_views = 1 then 'viewed pricing once' when s.pricing_views = 2 then 'viewed pricing twice'
         when s.pricing_views > 2 then 'viewed pricing ' || cast(s.pricing_views as varchar) || ' times' end,
    case when s.limit_hits = 1 then 'hit a plan limit once'
         when s.limit_hits > 1 then 'hit plan limits ' || cast(s.limit_hits as varchar) || ' times' end,
    case when s.features > 0 then 'used ' || cast(s.features as varchar)
         || case when s.features = 1 then ' feature' else ' features' end
         || case when s.premium_features > 0 then ' incl. premium' else '' end end,
    case when s.integrations = 1 then 'connected an integration'
         when s.integrations > 1 then 'connected ' || cast(s.integrations as varchar) || ' integrations' end
  ) as reasons,
  l.qualified_at,
  cast(s.events as integer) as events_30d,
  cast(s.active_days as integer) as active_days,
  cast(s.invites as integer) as invites_sent,
  cast(s.teammates_active as integer) as teammates_active,
  cast(s.pricing_views as integer) as pricing_views_30d,
  cast(s.features as integer) as features_used,
  cast(s.integrations as integer) as integrations_connected,
  cast(s.limit_hits as integer) as limit_hits_30d,
  cast(s.checkouts as integer) as checkouts_started,
  cast(s.sales_requests as integer) as sales_requests,
  l.day as last_active_on,
  cast(s.usage_points as integer) as usage_points,
  cast(s.activation_points as integer) as activation_points,
  cast(s.team_points as integer) as team_points,
  cast(s.depth_points as integer) as depth_points,
  cast(s.intent_points as integer) as intent_points,
  cast(s.fit_points as integer) as fit_points,
  e.title,
  e.seniority,
  e.employee_count,
  e.employee_band,
  e.country,
  e.plan,
  b.as_of as scored_as_of
from latest l
join scored s on s.user_id = l.user_id and s.day = l.day
join eligible_users e on e.user_id = l.user_id
cross join bounds b
