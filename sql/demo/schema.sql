-- Tables of the demo product-usage dataset (schema app). Generation starts from empty tables;
-- advancing the clock appends to them.
create schema if not exists app;

drop table if exists app.accounts;
drop table if exists app.users;
drop table if exists app.events;
drop table if exists app.subscriptions;
drop table if exists app.conversions;
drop table if exists app.truth;
drop table if exists app.demo_clock;

create table app.accounts (
  account_id varchar not null,
  domain varchar,
  name varchar,
  created_at timestamp,
  employee_count integer,
  employee_band varchar,
  industry varchar,
  country varchar,
  region varchar,
  plan varchar,
  plan_started_at timestamp,
  seats_limit integer,
  is_target_account boolean,
  is_internal boolean
);

create table app.users (
  user_id varchar not null,
  account_id varchar,
  email varchar,
  email_domain varchar,
  is_free_email boolean,
  first_name varchar,
  last_name varchar,
  title varchar,
  seniority varchar,
  department varchar,
  signup_at timestamp,
  signup_source varchar,
  is_admin boolean,
  is_internal boolean,
  country varchar
);

create table app.events (
  event_id bigint not null,
  user_id varchar not null,
  account_id varchar,
  ts timestamp not null,
  event_type varchar not null,
  feature varchar,
  properties json
);

create table app.subscriptions (
  subscription_id varchar not null,
  account_id varchar not null,
  plan varchar not null,
  mrr decimal(12, 2) not null,
  seats integer,
  started_at timestamp not null,
  ended_at timestamp
);

create table app.conversions (
  account_id varchar not null,
  user_id varchar,
  converted_at timestamp not null,
  kind varchar not null,
  plan varchar not null
);

-- Hidden planted truth, one row per user (account facts repeated): for tests and backtests only.
create table app.truth (
  user_id varchar not null,
  account_id varchar,
  user_idx bigint not null,
  account_idx bigint,
  account_user_ordinal integer not null,
  signup_day date not null,
  segment varchar not null,
  lifespan_days integer not null,
  is_bot boolean not null,
  user_z double not null,
  latent_propensity double not null,
  account_z double,
  account_propensity double,
  account_created_at timestamp,
  account_initial_plan varchar,
  account_employee_count integer,
  account_converts_at timestamp,
  account_conversion_kind varchar,
  account_conversion_plan varchar
);

-- The data's "today": events exist up to (not including) as_of.
create table app.demo_clock (
  as_of date not null,
  seed bigint not null,
  users bigint not null,
  history_days integer not null
);
