-- Product events for every user on the days in [demo_from, demo_to). Whether a user is active on a day and
-- what they do is a hash of (seed, user, day), so a day's events do not depend on the window that made them:
-- generating to day D and then advancing N days gives the same events as generating to day D + N.
-- The latent propensity drives the engagement segment, events per day, activation (onboarding, sharing a
-- dashboard, connecting an integration) and the intent events. Nothing here knows who will buy: self-serve
-- purchases are drawn afterwards from these events (convert.sql). Each intent event's daily rate is capped at
-- a plausible rate, so even a 250-user workspace of power users has no thousands of pricing views, invites or
-- limit hits in a month.

create or replace temp table demo_active_days as
with window_days as (
  select demo_day_num(getvariable('demo_from')) as from_day, demo_day_num(getvariable('demo_to')) as to_day
),
users as (
  select
    t.user_idx, t.user_id, t.account_id, t.segment, t.user_z, t.is_bot, t.account_user_ordinal,
    demo_day_num(t.signup_day) as signup_day,
    demo_day_num(t.signup_day) + t.lifespan_days as end_day,
    t.account_initial_plan,
    -- the trial's admin comes back on the day the trial ends (convert.sql adds the downgrade if it did not buy)
    case when t.account_initial_plan = 'trial' and t.account_user_ordinal = 0
         then demo_day_num(cast(t.account_created_at as date)) + 14 end as trial_end_day
  from app.truth t, window_days w
  where demo_day_num(t.signup_day) < w.to_day
),
candidate_days as (
  select u.*, d as day_num
  from users u, window_days w,
       range(greatest(u.signup_day, w.from_day),
             least(w.to_day, greatest(u.end_day, coalesce(u.trial_end_day + 1, 0)))) r(d)
),
scored as (
  select *, isodow(demo_day_date(day_num)) >= 6 as weekend
  from candidate_days
)
select
  user_idx, user_id, account_id, segment, user_z, is_bot, day_num,
  day_num = signup_day as is_signup_day,
  account_user_ordinal = 0 and account_initial_plan = 'trial' and day_num = signup_day as starts_trial,
  segment = 'casual' and day_num = end_day - 1 and demo_u(user_idx, day_num, 'leave') < 0.03 as deletes_workspace,
  case when is_bot then 300 + cast(floor(700 * demo_u(user_idx, day_num, 'n')) as integer)
       else 1 + cast(floor(exp((case segment when 'never_returned' then 1.0 when 'casual' then 1.1
                                             when 'regular' then 1.5 else 1.9 end)
                               + 0.25 * user_z + 0.7 * demo_n(user_idx, day_num, 'n'))) as integer)
  end as n_events,
  demo_session_sec(user_idx, day_num) as session_sec
from scored
where day_num = signup_day
   or day_num = trial_end_day
   or demo_u(user_idx, day_num, 'active') <
        case when day_num >= end_day then 0.0
             else (case segment when 'never_returned' then 0.0 when 'casual' then 0.22
                                when 'regular' then 0.5 when 'power' then 0.85 else 0.35 end)
                  * (case when weekend then 0.4 else 1.0 end) end;

-- Routine usage: event 0 of a day is the signup or the session start, the rest are feature use, projects,
-- exports, API calls. event_id packs (user, day, sequence, slot) so ids are unique by construction.
insert into app.events
with expanded as (
  select d.*, cast(k as integer) as seq, demo_u(d.user_idx, d.day_num * 4096 + k, 'kind') as u_kind
  from demo_active_days d, range(d.n_events) r(k)
),
typed as (
  select
    *,
    case when seq = 0 and is_signup_day then 'signup'
         when seq = 0 then 'session_start'
         when is_bot and u_kind < 0.9 then 'api_call'
         when is_bot then 'export'
         when u_kind < 0.62 then 'feature_used'
         when u_kind < 0.66 then 'login'
         when u_kind < 0.72 then 'project_created'
         when u_kind < 0.78 then 'export'
         else 'api_call' end as event_type,
    demo_u(user_idx, day_num * 4096 + seq, 'tier') as u_tier,
    demo_u(user_idx, day_num * 4096 + seq, 'feature') as u_feature
  from expanded
),
featured as (
  select
    *,
    case when event_type <> 'feature_used' then null
         when u_tier < (case segment when 'power' then 0.15 when 'regular' then 0.05 when 'casual' then 0.01 else 0.0 end)
           then 'premium'
         when u_tier < (case segment when 'power' then 0.45 when 'regular' then 0.30 when 'casual' then 0.15 else 0.05 end)
           then 'advanced'
         else 'core' end as feature_tier
  from typed
)
select
  ((cast(user_idx as bigint) * 65536 + day_num) * 4096 + seq) * 16 as event_id,
  user_id,
  account_id,
  demo_day_date(day_num) + to_seconds(least(86399, session_sec + seq * (case when is_bot then 3 else 90 end)
                                            + cast(floor(60 * u_feature) as integer))) as ts,
  event_type,
  case feature_tier when 'core' then demo_pick(demo_core_features(), u_feature)
                    when 'advanced' then demo_pick(demo_advanced_features(), u_feature)
                    when 'premium' then demo_pick(demo_premium_features(), u_feature) end as feature,
  case when feature_tier is not null then json_object('feature_tier', feature_tier)
       when event_type = 'export' then json_object('format', demo_pick(['csv', 'xlsx', 'pdf'], u_feature))
       when event_type = 'api_call' then json_object('endpoint', demo_pick(['/v1/query', '/v1/dashboards', '/v1/export'], u_feature))
  end as properties
from featured;

-- Intent and lifecycle events: at most one of each per active day, driven by the latent propensity (an abandoned
-- checkout now and then; completed checkouts, upgrades and trial downgrades come from convert.sql).
insert into app.events
with intents as (
  select
    d.*,
    slot,
    event_type,
    demo_u(d.user_idx, d.day_num * 16 + slot, 'intent') as u_intent,
    demo_u(d.user_idx, d.day_num * 16 + slot, 'detail') as u_detail
  from demo_active_days d,
       (values (1, 'invite_sent'), (2, 'invite_accepted'), (3, 'integration_connected'), (4, 'limit_hit'),
               (5, 'pricing_page_view'), (6, 'billing_page_view'), (7, 'checkout_started'),
               (8, 'contact_sales'), (9, 'trial_started'), (13, 'workspace_deleted'),
               (14, 'onboarding_completed'), (15, 'dashboard_shared')) v(slot, event_type)
  where not d.is_bot
),
chosen as (
  select *
  from intents
  where case event_type
    when 'invite_sent' then u_intent < least(0.05, demo_sigmoid(user_z - 3.3))
    -- the invitee accepts about half the time (same draw as the invite, so only after one)
    when 'invite_accepted' then demo_u(user_idx, day_num * 16 + 1, 'intent')
                                < 0.5 * (least(0.05, demo_sigmoid(user_z - 3.3)))
    when 'integration_connected' then u_intent < least(0.03, demo_sigmoid(user_z - 4.6))
    when 'limit_hit' then u_intent < least(0.04, case segment when 'power' then demo_sigmoid(user_z - 3.0)
                                                            when 'regular' then demo_sigmoid(user_z - 5.0) else 0.0 end)
                                    
    when 'pricing_page_view' then u_intent < least(0.12, demo_sigmoid(user_z - 3.9))
    when 'billing_page_view' then u_intent < least(0.06, demo_sigmoid(user_z - 5.0))
    when 'checkout_started' then u_intent < least(0.02, demo_sigmoid(user_z - 6.3))
    -- activation: onboarding is finished on the first day or never; sharing a dashboard comes with engagement
    when 'onboarding_completed' then is_signup_day and u_intent < demo_sigmoid(0.9 * user_z - 0.2)
    when 'dashboard_shared' then u_intent < least(0.15, demo_sigmoid(user_z - 3.4))
    when 'contact_sales' then u_intent < demo_sigmoid(user_z - 8.2)
    when 'trial_started' then starts_trial
    when 'workspace_deleted' then deletes_workspace
  end
)
select
  ((cast(user_idx as bigint) * 65536 + day_num) * 4096 + 4095) * 16 + slot as event_id,
  user_id,
  account_id,
  demo_day_date(day_num) + to_seconds(least(86399, session_sec + 60 + cast(floor(3000 * u_detail) as integer))) as ts,
  event_type,
  null as feature,
  case event_type
    when 'dashboard_shared' then json_object('dashboard', demo_pick(['Weekly KPIs', 'Pipeline', 'Churn', 'Revenue', 'Product usage'], u_detail))
    when 'invite_sent' then json_object('invitee', 'teammate' || cast(day_num % 1000 as varchar) || '@invitee.example')
    when 'invite_accepted' then json_object('invitee', 'teammate' || cast(day_num % 1000 as varchar) || '@invitee.example')
    when 'integration_connected' then json_object('integration', demo_pick(demo_integrations(), u_detail))
    when 'limit_hit' then json_object('limit_type', demo_pick(['seats', 'usage', 'usage', 'storage'], u_detail))
    when 'trial_started' then json_object('plan', 'trial')
  end as properties
from chosen;

-- Replays: about 0.3 % of the window's events arrive twice with the same event_id.
insert into app.events
select *
from app.events
where ts >= cast(getvariable('demo_from') as timestamp)
  and ts < cast(getvariable('demo_to') as timestamp)
  and demo_u(event_id, 0, 'replay') < 0.003;
