/*---
name: pql_users
description: >-
  Product-qualified lead score per user, 0-100 on a points template: usage frequency 0-30 (recent days count
  more: active days decay with a half-life of recency_half_life_days), activation 0-25, team 0-20, feature
  depth 0-15, buying intent 0-10, firmographic fit 0-10, minus decline_penalty when usage fell below
  decline_ratio of the previous window. With require_activation, a user who never reached an activation
  milestone (activation_events) stays below the PQL line unless they asked for sales; so does a user inactive
  for more than max_inactive_days. Tier hot (>= hot_threshold), pql (>= pql_threshold) or nurture,
  plain-word reasons, and the date the user first crossed the PQL line.
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
  recency_half_life_days:
    type: integer
    default: 14
    min: 1
    max: 365
    description: An active day this many days before as_of counts half as much toward usage (0 would be no decay)
  require_activation:
    type: boolean
    default: true
    description: Keep users below the PQL line until they reach an activation milestone (hand-raisers excepted)
  activation_events:
    type: 'string[]'
    default: [dashboard_shared, integration_connected]
    description: Event types that count as activation, at any time before as_of
  decline_ratio:
    type: number
    default: 0.5
    min: 0
    max: 1
    description: Active days in the window below this share of the previous window's count as declining usage
  decline_penalty: { type: integer, default: 15, min: 0, max: 100, description: Points taken off declining users }
  max_inactive_days:
    type: integer
    default: 7
    min: 1
    max: 365
    description: Users not seen for more than this many days before as_of stay below the PQL line (no new task)
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
    cast(:bot_events_per_day as integer) as bot_events_per_day,
    cast(:recency_half_life_days as double) as half_life,
    cast(:require_activation as boolean) as require_activation,
    cast(:decline_ratio as double) as decline_ratio,
    cast(:decline_penalty as integer) as decline_penalty,
    cast(:max_inactive_days as integer) as max_inactive_days
),

bounds as (
  select
    params.*,
    as_of - lookback_days as window_start,
    as_of - 2 * lookback_days as previous_start,
    -- the weight of every day of the window: what a user active each day would have
    (1 - pow(0.5, lookback_days / half_life)) / (1 - pow(0.5, 1 / half_life)) as full_weight
  from params
),

-- Replayed events repeat their event_id: count each event once.
window_events as (
  select distinct e.event_id, e.user_id, e.event_type, e.feature, cast(e.ts as date) as day,
    case when e.event_type = 'integration_connected' then e.properties->>'integration' end as integration
  from {{ events_table }} e
  cross join bounds b
  where e.ts >= b.window_start and e.ts < b.as_of
),

-- Usage in the window before, for declining usage.
previous_days as (
  select e.user_id, count(distinct cast(e.ts as date)) as active_days
  from {{ events_table }} e
  cross join bounds b
  where e.ts >= b.previous_start and e.ts < b.window_start
  group by e.user_id
),

-- Activation milestones reached at any time before as_of.
activated as (
  select distinct e.user_id
  from {{ events_table }} e
  cross join bounds b
  where e.ts < b.as_of and e.event_type {{ in_list(activation_events) }}
),

-- Names of the features and integrations used in the window, for the hand-off text.
used_names as (
  select
    user_id,
    string_agg(distinct feature, ', ' order by feature) filter (where event_type = 'feature_used') as features,
    string_agg(distinct integration, ', ' order by integration) as integrations
  from window_events
  group by user_id
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
    -- active days weighted by recency as seen from this day (halving every half_life days)
    sum(pow(0.5, (d.day - b.window_start) / -b.half_life)) over w
      * pow(0.5, (d.day - b.window_start) / b.half_life) as active_weight,
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
  cross join bounds b
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
  select s.account_id, s.plan, s.seats
  from {{ subscriptions_table }} s
  cross join bounds b
  where s.started_at < b.as_of and (s.ended_at is null or s.ended_at >= b.as_of)
),

-- Seats in use: the account's users who had signed up before as_of.
seats_taken as (
  select u.account_id, count(*) as seats_used
  from {{ users_table }} u
  cross join bounds b
  where u.account_id is not null and u.signup_at < b.as_of
  group by u.account_id
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
    a.industry,
    coalesce(p.plan, 'free') as plan,
    p.seats as seats_limit,
    su.seats_used,
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
  left join seats_taken su on su.account_id = u.account_id
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
    -- recency-weighted active days, on the scale of plain days (every day of the window = lookback_days)
    r.active_weight / b.full_weight * b.lookback_days as usage_days,
    case when r.active_weight / b.full_weight * b.lookback_days >= 22 then 30
         when r.active_weight / b.full_weight * b.lookback_days >= 16 then 24
         when r.active_weight / b.full_weight * b.lookback_days >= 10 then 16
         when r.active_weight / b.full_weight * b.lookback_days >= 5 then 10
         when r.active_weight / b.full_weight * b.lookback_days >= 2 then 5 else 2 end as usage_points,
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
  cross join bounds b
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
),

-- The score as of as_of: usage decays from the last active day to as_of, declining usage costs points, and
-- the gates (activation, inactivity) keep a user below the PQL line.
final as (
  select
    s.*,
    l.qualified_at as first_qualified_at,
    cast(b.as_of - s.day - 1 as integer) as days_inactive,
    s.usage_days * pow(0.5, (b.as_of - s.day - 1) / b.half_life) as usage_days_now,
    coalesce(pd.active_days, 0) as previous_active_days,
    coalesce(pd.active_days, 0) >= 2 and s.active_days < b.decline_ratio * pd.active_days as declining,
    s.user_id in (select user_id from activated) as is_activated,
    un.features as feature_names,
    un.integrations as integration_names
  from latest l
  join scored s on s.user_id = l.user_id and s.day = l.day
  left join previous_days pd on pd.user_id = l.user_id
  left join used_names un on un.user_id = l.user_id
  cross join bounds b
),

final_points as (
  select
    f.*,
    case when usage_days_now >= 22 then 30 when usage_days_now >= 16 then 24 when usage_days_now >= 10 then 16
         when usage_days_now >= 5 then 10 when usage_days_now >= 2 then 5 else 2 end as usage_points_now,
    (b.require_activation and not is_activated and sales_requests = 0) as held_for_activation,
    days_inactive > b.max_inactive_days and sales_requests = 0 as held_for_inactivity
  from final f
  cross join bounds b
),

final_scored as (
  select
    f.*,
    case when held_for_activation or held_for_inactivity then least(raw_score, b.pql_threshold - 1)
         else raw_score end as final_score
  from (
    select
      final_points.*,
      greatest(0, least(100, usage_points_now + activation_points + team_points + depth_points + intent_points
                             + fit_points)
                  - case when declining then b.decline_penalty else 0 end) as raw_score
    from final_points
    cross join bounds b
  ) f
  cross join bounds b
)

select
  e.user_id,
  e.account_id,
  e.email,
  e.first_name,
  e.last_name,
  e.company_name,
  cast(s.final_score as integer) as pql_score,
  case when s.final_score >= b.hot_threshold then 'hot' when s.final_score >= b.pql_threshold then 'pql'
       else 'nurture' end as pql_tier,
  s.final_score >= b.pql_threshold as is_pql,
  concat_ws('; ',
    case when s.sales_requests > 0 then 'asked to talk to sales' end,
    case when s.checkouts = 1 then 'started checkout once'
         when s.checkouts > 1 then 'started checkout ' || cast(s.checkouts as varchar) || ' times' end,
    cast(s.events as varchar) || ' events on ' || cast(s.active_days as varchar) || ' active days in '
      || cast(b.lookback_days as varchar) || ' days',
    case when s.declining then 'usage down from ' || cast(s.previous_active_days as varchar)
      || ' active days in the previous ' || cast(b.lookback_days as varchar) || ' days' end,
    case when s.days_inactive >= 3 then 'last active ' || cast(s.days_inactive as varchar) || ' days ago' end,
    case when s.held_for_activation then 'not activated yet' end,
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
  case when s.final_score >= b.pql_threshold then s.first_qualified_at end as qualified_at,
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
  s.day as last_active_on,
  s.days_inactive,
  cast(s.previous_active_days as integer) as previous_active_days,
  s.declining as usage_declining,
  s.is_activated,
  s.feature_names,
  s.integration_names,
  cast(s.usage_points_now as integer) as usage_points,
  cast(s.activation_points as integer) as activation_points,
  cast(s.team_points as integer) as team_points,
  cast(s.depth_points as integer) as depth_points,
  cast(s.intent_points as integer) as intent_points,
  cast(s.fit_points as integer) as fit_points,
  e.title,
  e.seniority,
  e.employee_count,
  e.employee_band,
  e.industry,
  e.country,
  e.plan,
  cast(e.seats_used as integer) as seats_used,
  cast(e.seats_limit as integer) as seats_limit,
  b.lookback_days,
  b.as_of as scored_as_of
from final_scored s
join eligible_users e on e.user_id = s.user_id
cross join bounds b
