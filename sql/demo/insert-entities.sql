-- Turns spawned accounts and users (demo_spawn_accounts, demo_spawn_users) into rows of app.accounts,
-- app.users and the hidden app.truth. Used by the first generation and by every clock advance.
-- Plans are filled in by refresh-plans.sql.

-- Accounts: firmographics, a latent propensity and the planted sales-led deal (which may lie in the future).
create or replace temp table demo_new_accounts as
with base as (
  select
    s.account_idx,
    s.n_users,
    s.admin_user_idx,
    s.created_day,
    s.account_idx < 3 or demo_u(s.account_idx, 0, 'acct.internal') < 0.0008 as is_internal,
    s.n_users = 1 and demo_u(s.account_idx, 0, 'acct.personal') < 0.75 as personal_draw,
    demo_n(s.account_idx, 0, 'acct.z') as z_draw,
    demo_n(s.account_idx, 0, 'acct.employees') as employees_draw,
    demo_day_date(s.created_day)
      + to_seconds(demo_session_sec(s.admin_user_idx, s.created_day)) as created_at
  from demo_spawn_accounts s
),
firm as (
  select
    *,
    personal_draw and not is_internal as is_personal,
    case when is_internal then 120
         when personal_draw then 1
         else cast(least(250000, greatest(n_users + floor(n_users * demo_u(account_idx, 0, 'acct.employees2')),
                                          round(exp(3.0 + 2.2 * employees_draw)))) as integer)
    end as employee_count,
    cast((account_idx * 2731) % 4096 as integer) as name_pair,
    cast(account_idx // 4096 as integer) as name_generation
  from base
),
latent as (
  select
    *,
    case when is_internal then 'free'
         when demo_u(account_idx, 0, 'acct.trial') < (case when is_personal then 0.08 else 0.2 end) then 'trial'
         else 'free' end as initial_plan,
    z_draw + 0.35 * ln(n_users) - (case when is_personal then 0.4 else 0.0 end) as account_z
  from firm
),
converting as (
  select
    *,
    case when is_internal then 0.0
         else demo_sigmoid((case when initial_plan = 'trial' then -3.0 when is_personal then -6.2 else -5.6 end)
                           + 2.6 * account_z)
    end as account_propensity
  from latent
),
planted as (
  select
    *,
    not is_internal and not is_personal
      and demo_u(account_idx, 0, 'acct.sales') < (case when employee_count >= 1000 then 0.15
                                                      when employee_count >= 200 then 0.05 else 0.002 end)
      as sales_led
  from converting
)
select
  account_idx,
  printf('acc_%06d', account_idx + 1) as account_id,
  admin_user_idx,
  n_users,
  created_at,
  is_internal,
  is_personal,
  employee_count,
  case when is_internal then ['Tallyboard (internal)', 'Tallyboard QA', 'Test Account'][1 + account_idx % 3]
       when is_personal then demo_first_names()[1 + demo_name_pair(account_idx, admin_user_idx, 0) % 50] || ' '
                             || demo_last_names()[1 + demo_name_pair(account_idx, admin_user_idx, 0) // 50]
                             || '''s workspace'
       else demo_company_words()[1 + name_pair % 64] || ' ' || demo_company_nouns()[1 + name_pair // 64]
            || ['', ' Inc', ' Group', ' Co', ' Ltd', ' GmbH', ' LLC', ' Partners'][1 + name_generation % 8]
            || case when name_generation >= 8 then ' ' || cast(name_generation // 8 + 1 as varchar) else '' end
  end as name,
  case when is_internal then (case when account_idx % 3 = 2 then 'example.com' else 'tallyboard.io' end)
       when is_personal then demo_pick(demo_free_mail_domains(), demo_u(admin_user_idx, 0, 'user.freemail'))
       else lower(demo_company_words()[1 + name_pair % 64] || demo_company_nouns()[1 + name_pair // 64])
            || case when name_generation > 0 then cast(name_generation as varchar) else '' end
            || demo_pick(['.com', '.com', '.com', '.com', '.com', '.com', '.io', '.io', '.co', '.ai'],
                         demo_u(account_idx, 0, 'acct.tld'))
  end as domain,
  demo_employee_band(employee_count) as employee_band,
  demo_pick(demo_industries(), demo_u(account_idx, 0, 'acct.industry')) as industry,
  demo_country(demo_u(account_idx, 0, 'acct.country')) as country,
  not is_internal and not is_personal
    and demo_u(account_idx, 0, 'acct.target') < 0.03 + (case when employee_count >= 1000 then 0.25 else 0.0 end)
    as is_target_account,
  initial_plan,
  account_z,
  account_propensity,
  -- only sales-led deals are planted; self-serve purchases follow from the generated usage (convert.sql)
  case when sales_led
         then created_at + to_seconds(cast(floor((20 + 160 * demo_u(account_idx, 0, 'acct.delay')) * 86400) as bigint))
  end as converts_at,
  case when sales_led then 'sales_led' end as conversion_kind,
  case when sales_led then 'enterprise' end as conversion_plan
from planted;

insert into app.accounts
select
  account_id, domain, name, created_at, employee_count, employee_band, industry, country,
  demo_region(country), initial_plan, created_at, null, is_target_account, is_internal
from demo_new_accounts;

-- The account facts a new user needs, for new accounts and for existing accounts that new users join.
create or replace temp table demo_user_accounts as
select
  account_idx, account_id, domain, is_internal, is_personal, country, account_z, account_propensity,
  created_at, initial_plan, employee_count, converts_at, conversion_kind, conversion_plan
from demo_new_accounts
union all
select
  t.account_idx, t.account_id, a.domain, a.is_internal, list_contains(demo_free_mail_domains(), a.domain),
  a.country, t.account_z, t.account_propensity, t.account_created_at, t.account_initial_plan,
  t.account_employee_count, t.account_converts_at, t.account_conversion_kind, t.account_conversion_plan
from app.truth t
join app.accounts a on a.account_id = t.account_id
where t.account_user_ordinal = 0
  and t.account_idx in (select account_idx from demo_spawn_users)
  and t.account_idx not in (select account_idx from demo_new_accounts);

create or replace temp table demo_new_users as
with base as (
  select
    s.user_idx,
    s.account_idx,
    s.ordinal,
    s.signup_day,
    a.account_id,
    a.domain as account_domain,
    coalesce(a.is_internal, false) as is_internal,
    coalesce(a.is_personal, false) as is_personal,
    a.country as account_country,
    a.account_z,
    a.account_propensity,
    a.created_at as account_created_at,
    a.initial_plan as account_initial_plan,
    a.employee_count as account_employee_count,
    a.converts_at as account_converts_at,
    a.conversion_kind as account_conversion_kind,
    a.conversion_plan as account_conversion_plan,
    demo_name_pair(s.account_idx, s.user_idx, s.ordinal) as name_pair,
    -- a few automated users with absurd event counts (at most 20 in any dataset)
    s.account_idx is not null and not coalesce(a.is_internal, false) and not coalesce(a.is_personal, false)
      and s.ordinal > 0 and s.user_idx < 50000 and (s.user_idx + getvariable('demo_seed')) % 2503 = 1000 as is_bot,
    case when s.account_idx is null then demo_n(s.user_idx, 0, 'user.z')
         else 0.85 * a.account_z + 0.5 * demo_n(s.user_idx, 0, 'user.z') end as user_z,
    cast(floor(demo_u(s.user_idx, 0, 'user.dept') * 8) as integer) as dept_i,
    demo_u(s.user_idx, 0, 'user.seniority') as u_seniority
  from demo_spawn_users s
  left join demo_user_accounts a on a.account_idx = s.account_idx
),
shaped as (
  select
    *,
    case when is_bot then 'bot'
         when 0.9 * user_z + 0.45 * demo_n(user_idx, 0, 'user.engagement') < 0.28 then 'never_returned'
         when 0.9 * user_z + 0.45 * demo_n(user_idx, 0, 'user.engagement') < 1.3 then 'casual'
         when 0.9 * user_z + 0.45 * demo_n(user_idx, 0, 'user.engagement') < 2.5 then 'regular'
         else 'power' end as segment,
    case when is_personal then true
         when account_idx is null then demo_u(user_idx, 0, 'user.freemail.use') < 0.8
         when is_internal or is_bot then false
         else demo_u(user_idx, 0, 'user.freemail.use') < 0.18 end as uses_free_mail,
    demo_first_names()[1 + name_pair % 50] as first_clean,
    demo_last_names()[1 + name_pair // 50] as last_clean,
    case when u_seniority < 0.55 then 'ic' when u_seniority < 0.80 then 'manager'
         when u_seniority < 0.92 then 'director' when u_seniority < 0.97 then 'vp' else 'c_level' end as seniority
  from base
),
addressed as (
  select
    *,
    case when uses_free_mail and is_personal then account_domain
         when uses_free_mail then demo_pick(demo_free_mail_domains(), demo_u(user_idx, 0, 'user.freemail'))
         else account_domain end as clean_domain,
    case when is_bot then 'svc-sync' || cast(user_idx + 1 as varchar)
         when uses_free_mail then lower(first_clean) || '.' || lower(last_clean) || cast(user_idx + 1 as varchar)
         else lower(first_clean) || '.' || lower(last_clean) end as local_part,
    (user_idx + getvariable('demo_seed')) % 997 = 0 as invalid_email,
    demo_u(user_idx, 0, 'user.nullemail') < 0.01 as null_email,
    (user_idx + getvariable('demo_seed')) % 2503 = 1 as control_chars
  from shaped
)
select
  user_idx,
  printf('usr_%07d', user_idx + 1) as user_id,
  account_idx,
  account_id,
  ordinal,
  signup_day,
  segment,
  is_bot,
  is_internal,
  user_z,
  account_z,
  account_propensity,
  account_created_at,
  account_initial_plan,
  account_employee_count,
  account_converts_at,
  account_conversion_kind,
  account_conversion_plan,
  case when invalid_email
         then demo_pick(['n/a', 'foo@', 'none', 'jane@@example.com', '@gmail.com', 'test', 'unknown'],
                        demo_u(user_idx, 0, 'user.invalid'))
       when null_email then null
       else local_part || '@' || clean_domain end as email,
  case when invalid_email or null_email then null else clean_domain end as email_domain,
  case when invalid_email or null_email then null
       else list_contains(demo_free_mail_domains(), clean_domain) end as is_free_email,
  case when is_bot then 'Sync'
       when control_chars and demo_u(user_idx, 0, 'user.ctl') < 0.5 then first_clean || chr(7)
       when control_chars then first_clean || chr(10) || ' '
       else first_clean end as first_name,
  case when is_bot then 'Service' when control_chars then chr(27) || last_clean else last_clean end as last_name,
  case when is_bot then 'Service Account'
       when is_personal and demo_u(user_idx, 0, 'user.notitle') < 0.3 then null
       when seniority = 'ic' then demo_ic_titles()[1 + dept_i]
       when seniority = 'manager' then demo_department_names()[1 + dept_i] || ' Manager'
       when seniority = 'director' then 'Director of ' || demo_department_names()[1 + dept_i]
       when seniority = 'vp' then 'VP ' || demo_department_names()[1 + dept_i]
       else demo_chief_titles()[1 + dept_i] end as title,
  seniority,
  demo_departments()[1 + dept_i] as department,
  case when ordinal = 0 and account_created_at is not null then account_created_at
       else demo_day_date(signup_day) + to_seconds(demo_session_sec(user_idx, signup_day)) end as signup_at,
  case when ordinal > 0 and demo_u(user_idx, 0, 'user.source') < 0.8 then 'invite'
       else demo_pick(['organic', 'organic', 'organic', 'organic', 'organic', 'organic', 'organic', 'organic',
                       'google_ads', 'google_ads', 'google_ads', 'referral', 'referral', 'referral',
                       'content', 'content', 'partner', 'product_hunt', 'webinar'],
                      demo_u(user_idx, 0, 'user.source2')) end as signup_source,
  account_idx is not null and (ordinal = 0 or demo_u(user_idx, 0, 'user.admin') < 0.1) as is_admin,
  coalesce(account_country, demo_country(demo_u(user_idx, 0, 'user.country'))) as country,
  -- days from signup until the user stops coming back; most users of low-propensity teams drift away 4x sooner
  case segment when 'never_returned' then 1
               when 'bot' then 100000
               else 1 + cast(floor(-ln(1 - demo_u(user_idx, 0, 'user.life'))
                                   * (case segment when 'casual' then 25 when 'regular' then 120 else 400 end)
                                   * (case when demo_u(user_idx, 0, 'user.stays')
                                                < least(1.0, 4.0 * coalesce(account_propensity, 0.0))
                                           then 1.0 else 0.25 end)) as integer)
  end as lifespan_days
from addressed;

insert into app.users
select
  user_id, account_id, email, email_domain, is_free_email, first_name, last_name, title, seniority, department,
  signup_at, signup_source, is_admin, is_internal, country
from demo_new_users;

insert into app.truth
select
  user_id, account_id, user_idx, account_idx, ordinal, demo_day_date(signup_day), segment, lifespan_days, is_bot,
  user_z, demo_sigmoid(user_z), account_z, account_propensity, account_created_at, account_initial_plan,
  account_employee_count, account_converts_at, account_conversion_kind, account_conversion_plan
from demo_new_users;
