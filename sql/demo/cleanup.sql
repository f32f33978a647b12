-- Drops the generator's temp tables (the temp macros stay until the connection closes).
drop table if exists demo_spawn_accounts;
drop table if exists demo_spawn_users;
drop table if exists demo_advance_signups;
drop table if exists demo_new_accounts;
drop table if exists demo_user_accounts;
drop table if exists demo_new_users;
drop table if exists demo_active_days;
drop table if exists demo_buy_accounts;
drop table if exists demo_buy_user_days;
drop table if exists demo_buy_activation;
drop table if exists demo_buy_days;
drop table if exists demo_buys;
