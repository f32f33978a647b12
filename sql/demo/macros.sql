-- Helpers for the demo data generator (DuckDB only; connection-scoped temp macros).
-- All randomness is a hash of (seed, entity, day or index, salt), so the same seed gives the same data
-- whatever the thread count, insert order or generation window. getvariable('demo_seed') is set by
-- generate-demo-data.ts from a validated integer before this file runs.

-- Uniform in [0, 1): the top 53 bits of a 64-bit hash, divided by 2^53. hash() of several values only
-- combines their hashes, so draws that differ in the salt alone come out correlated (about -0.97 for
-- 'x' vs 'x.2'); hashing the result again mixes the bits and removes that.
create or replace temp macro demo_u(a, b, salt) as
  cast(hash(hash(getvariable('demo_seed'), a, b, salt)) >> 11 as double) / 9007199254740992.0;

-- Standard normal (Box-Muller over two independent uniforms).
create or replace temp macro demo_n(a, b, salt) as
  sqrt(-2.0 * ln(1.0 - demo_u(a, b, salt))) * cos(2.0 * pi() * demo_u(a, b, salt || '.2'));

create or replace temp macro demo_sigmoid(x) as 1.0 / (1.0 + exp(-(x)));

-- One item of a list, chosen by a uniform u in [0, 1).
create or replace temp macro demo_pick(xs, u) as xs[1 + cast(floor(u * len(xs)) as integer)];

-- Day numbers (days since 2000-01-01) keep hashing and id arithmetic in integers.
create or replace temp macro demo_day_num(d) as cast(d - date '2000-01-01' as integer);
create or replace temp macro demo_day_date(n) as date '2000-01-01' + cast(n as integer);

create or replace temp macro demo_first_names() as [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
  'Priya', 'Wei', 'Ana', 'Luis', 'Fatima', 'Mohammed', 'Yuki', 'Hiro', 'Sofia', 'Lucas',
  'Emma', 'Noah', 'Olivia', 'Liam', 'Ava', 'Mateo', 'Chloe', 'Arjun', 'Aisha', 'Omar',
  'Lena', 'Jonas', 'Elena', 'Marco', 'Ingrid', 'Kofi', 'Amara', 'Diego', 'Mei', 'Rahul'];

create or replace temp macro demo_last_names() as [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Patel', 'Nguyen', 'Kim', 'Chen',
  'Muller', 'Schmidt', 'Rossi', 'Silva', 'Kowalski', 'Novak', 'Okafor', 'Tanaka', 'Sato', 'Singh'];

create or replace temp macro demo_company_words() as [
  'Blue', 'North', 'Bright', 'Iron', 'Silver', 'Red', 'Quiet', 'Swift', 'Golden', 'Green',
  'Clear', 'Bold', 'Cedar', 'Maple', 'Summit', 'River', 'Stone', 'Harbor', 'Pine', 'Polar',
  'Lunar', 'Solar', 'Coral', 'Amber', 'Atlas', 'Apex', 'Nova', 'Orbit', 'Prism', 'Vertex',
  'Echo', 'Delta', 'Falcon', 'Hawk', 'Lynx', 'Otter', 'Fox', 'Wolf', 'Bear', 'Raven',
  'Oak', 'Birch', 'Aspen', 'Willow', 'Sierra', 'Canyon', 'Mesa', 'Prairie', 'Tundra', 'Glacier',
  'Cobalt', 'Copper', 'Granite', 'Onyx', 'Ruby', 'Jade', 'Indigo', 'Crimson', 'Scarlet', 'Azure',
  'Ivory', 'Velvet', 'Zenith', 'Pioneer'];

create or replace temp macro demo_company_nouns() as [
  'Analytics', 'Labs', 'Systems', 'Logistics', 'Health', 'Foods', 'Robotics', 'Energy', 'Capital', 'Media',
  'Studios', 'Works', 'Software', 'Cloud', 'Dynamics', 'Networks', 'Partners', 'Retail', 'Supply', 'Bio',
  'Pharma', 'Finance', 'Insurance', 'Motors', 'Freight', 'Travel', 'Learning', 'Education', 'Security', 'Data',
  'Metrics', 'Commerce', 'Goods', 'Designs', 'Foundry', 'Forge', 'Ventures', 'Holdings', 'Group', 'Collective',
  'Outfitters', 'Brands', 'Apparel', 'Kitchens', 'Farms', 'Mining', 'Marine', 'Aerospace', 'Telecom', 'Devices',
  'Hardware', 'Payments', 'Legal', 'Realty', 'Homes', 'Construction', 'Engineering', 'Consulting', 'Research', 'Games',
  'Music', 'Sports', 'Pets', 'Wellness'];

create or replace temp macro demo_free_mail_domains() as
  ['gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'proton.me'];

create or replace temp macro demo_industries() as [
  'Software', 'Financial Services', 'Healthcare', 'Retail', 'Manufacturing', 'Education', 'Media',
  'Logistics', 'Real Estate', 'Energy', 'Professional Services', 'Nonprofit', 'Government'];

create or replace temp macro demo_departments() as
  ['engineering', 'data', 'product', 'marketing', 'sales', 'finance', 'operations', 'customer success'];

-- The individual-contributor title per department, same order as demo_departments().
create or replace temp macro demo_ic_titles() as [
  'Software Engineer', 'Data Analyst', 'Product Manager', 'Marketing Specialist', 'Account Executive',
  'Financial Analyst', 'Operations Specialist', 'Customer Success Manager'];

create or replace temp macro demo_chief_titles() as ['CTO', 'Chief Data Officer', 'CPO', 'CMO', 'CRO', 'CFO', 'COO', 'Chief Customer Officer'];

-- Features by tier: core features are what everyone touches, premium ones sit behind paid plans.
create or replace temp macro demo_core_features() as ['dashboards', 'reports', 'charts', 'search', 'sharing'];
create or replace temp macro demo_advanced_features() as ['alerts', 'sql_editor', 'scheduling', 'api_keys', 'data_models'];
create or replace temp macro demo_premium_features() as ['sso', 'audit_log', 'custom_roles'];

create or replace temp macro demo_integrations() as
  ['slack', 'salesforce', 'hubspot', 'snowflake', 'bigquery', 'github', 'google_sheets', 'zapier'];

create or replace temp macro demo_department_names() as
  ['Engineering', 'Data', 'Product', 'Marketing', 'Sales', 'Finance', 'Operations', 'Customer Success'];

-- Countries skewed to the US, then the UK, Germany and India.
create or replace temp macro demo_country(u) as
  case when u < 0.45 then 'US' when u < 0.57 then 'GB' when u < 0.66 then 'DE' when u < 0.74 then 'IN'
       when u < 0.79 then 'CA' when u < 0.83 then 'FR' when u < 0.87 then 'AU' when u < 0.90 then 'NL'
       when u < 0.93 then 'BR' when u < 0.95 then 'ES' when u < 0.97 then 'JP' else 'SE' end;

create or replace temp macro demo_region(country) as
  case when country in ('US', 'CA') then 'NA' when country = 'BR' then 'LATAM'
       when country in ('IN', 'JP', 'AU') then 'APAC' else 'EMEA' end;

create or replace temp macro demo_employee_band(n) as
  case when n <= 10 then '1-10' when n <= 50 then '11-50' when n <= 200 then '51-200'
       when n <= 1000 then '201-1000' when n <= 5000 then '1001-5000' else '5000+' end;

-- Seconds after midnight when a user's session starts on a day (business hours, 08:00 to 19:00).
create or replace temp macro demo_session_sec(user_idx, day_num) as
  28800 + cast(floor(demo_u(user_idx, day_num, 'session') * 39600) as integer);

-- Signup and account-creation days: slight growth (density ~ exp(0.003 t)) over the history window, with
-- weekdays about 1.3x weekends (a weekend draw is redrawn with probability 0.27).
create or replace temp macro demo_growth_offset(u, h) as
  cast(floor(ln(1.0 + u * (exp(0.003 * h) - 1.0)) / 0.003) as integer);
create or replace temp macro demo_signup_day(start_day, h, a, salt) as
  case when isodow(demo_day_date(start_day + demo_growth_offset(demo_u(a, 1, salt), h))) >= 6
         and demo_u(a, 3, salt) < 0.27
       then start_day + demo_growth_offset(demo_u(a, 2, salt), h)
       else start_day + demo_growth_offset(demo_u(a, 1, salt), h) end;

-- A (first name, last name) pair index in [0, 2500): distinct for the first 2,500 users of an account.
create or replace temp macro demo_name_pair(account_idx, user_idx, ordinal) as
  case when account_idx is null then cast(floor(demo_u(user_idx, 0, 'user.names') * 2500) as integer)
       else cast((floor(demo_u(account_idx, 0, 'acct.names') * 2500) + ordinal) % 2500 as integer) end;
