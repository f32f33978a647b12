-- duckdb: statements of golden-sql.test.ts (params as position:name:type)

-- ======== plan ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- tableExists pqlsync_state.users__journal;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

explain (format json) select count(*) from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m
-- params: 1:min_score:integer, 2:tiers:string[];

create or replace table pqlsync_scratch.main."pqlsync_plan_users__plan" as select case when __pqlsync_planned then coalesce(__pqlsync_key, __pqlsync_snapshot_key) end as __pqlsync_pk, case when __pqlsync_planned then (case when __pqlsync_parked then 'parked' when __pqlsync_snapshot_key is null then 'added' when __pqlsync_key is null then 'removed' else 'changed' end) when __pqlsync_dup then '__dup_row' when __pqlsync_key is null then '__null' else '__same' end as __pqlsync_op, case when __pqlsync_planned then __pqlsync_prev_hash end as __pqlsync_prev_hash, case when __pqlsync_planned then __pqlsync_attempts end as __pqlsync_attempts, case when __pqlsync_planned then j."user_id" end as "user_id", case when __pqlsync_planned then j."email" end as "email", case when __pqlsync_planned then j."score" end as "score", case when __pqlsync_planned then j."tier" end as "tier", case when __pqlsync_planned then j.__pqlsync_key end as __pqlsync_key, case when __pqlsync_planned then j.__pqlsync_hash end as __pqlsync_hash, cast(null as varchar) as __pqlsync_prev from (select c.*, s.key as __pqlsync_snapshot_key, s.row_hash as __pqlsync_prev_hash, f.attempts as __pqlsync_attempts, false as __pqlsync_parked, false as __pqlsync_dup, coalesce(c.__pqlsync_key, s.key) is not null and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null) as __pqlsync_planned from (select m.*, cast(m."user_id" as varchar) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as varchar) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as varchar)) as varchar) || ':' || cast(m."email" as varchar), 'N') || coalesce(cast(length(cast(m."score" as varchar)) as varchar) || ':' || cast(m."score" as varchar), 'N') || coalesce(cast(length(cast(m."tier" as varchar)) as varchar) || ':' || cast(m."tier" as varchar), 'N') || coalesce(cast(length(cast(m."user_id" as varchar)) as varchar) || ':' || cast(m."user_id" as varchar), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m) c
    full outer join (select key, row_hash from (select cast(null as varchar) as key, cast(null as varchar) as row_hash, cast(null as varchar) as values_json from (select 1 as one) e where 1 = 0) s0) s on c.__pqlsync_key = s.key
    left join (select cast(null as varchar) as key, cast(null as bigint) as attempts, cast(null as varchar) as row_hash from (select 1 as one) e where 1 = 0) f on f.key = coalesce(c.__pqlsync_key, s.key)) j
-- params: 1:min_score:integer, 2:tiers:string[];

select x.*, (select count(*) from (select cast(null as varchar) as key, cast(null as varchar) as row_hash, cast(null as varchar) as values_json from (select 1 as one) e where 1 = 0) s0) as snapshot_rows from (select sum(case when __pqlsync_op in ('__same', '__null', '__dup_row') or __pqlsync_key is not null then 1 else 0 end) as marked_total,
         sum(case when __pqlsync_op = '__null' then 1 else 0 end) as null_keys,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_prev_hash is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_prev_hash is null then __pqlsync_pk end) as unmatched_keys,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_key is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when __pqlsync_op = 'added' then 1 else 0 end) as added,
         sum(case when __pqlsync_op = 'changed' then 1 else 0 end) as changed,
         sum(case when __pqlsync_op = 'removed' then 1 else 0 end) as removed,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed') and __pqlsync_attempts is not null then 1 else 0 end) as retried
       from pqlsync_scratch.main."pqlsync_plan_users__plan") x;

select cast(m."tier" as varchar) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as double)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

drop table if exists pqlsync_scratch.main."pqlsync_plan_users__plan";

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- ensureSchema pqlsync_state;

create table if not exists "pqlsync_state"."meta" (name varchar not null, value varchar);

create table if not exists "pqlsync_state"."runs" (run_id varchar not null, sync varchar not null,
        status varchar not null, started_at timestamptz not null, finished_at timestamptz,
        added bigint, changed bigint, removed bigint, invalid bigint, retried bigint,
        applied bigint, rejected bigint, tasks bigint, api_calls bigint, duration_ms bigint,
        error varchar, host varchar, pid bigint, model_hash varchar, flag_rate double, tier_shares varchar);

select * from "pqlsync_state"."runs" where 1 = 0;

create table if not exists "pqlsync_state"."locks" (sync varchar not null, run_id varchar not null,
        host varchar not null, pid bigint not null, acquired_at timestamptz not null,
        heartbeat_at timestamptz not null, expires_at timestamptz not null);

create table if not exists "pqlsync_state"."mappings" (sync varchar not null, signature varchar not null,
      run_id varchar, updated_at timestamptz not null);

-- tableExists pqlsync_state.meta;

select value from "pqlsync_state"."meta" where name = 'state_version';

insert into "pqlsync_state"."meta" (name, value) values ('state_version', $p1)
-- params: 1:p1:string;

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from "pqlsync_state"."locks" where sync = $p1
-- params: 1:p1:string;

insert into "pqlsync_state"."locks" (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values ($p1, $p2, $p3,
             $p4, $p5, $p6,
             $p7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from "pqlsync_state"."locks" where sync = $p1 and run_id <> $p2
-- params: 1:p1:string, 2:p2:string;

insert into "pqlsync_state"."runs" (run_id, sync, status, started_at, host, pid, model_hash)
         values ($p1, $p2, 'running',
           $p3, $p4, $p5,
           $p6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists "pqlsync_state"."users__snapshot" (key varchar using compression fsst not null, row_hash varchar using compression fsst not null,
        values_json varchar using compression fsst, tier varchar, destination_id varchar, synced_at timestamptz not null,
        run_id varchar not null);

create table if not exists "pqlsync_state"."users__journal" (run_id varchar not null,
      batch_no bigint not null, key varchar not null, kind varchar not null, status varchar not null,
      row_hash varchar, values_json varchar, tier varchar, destination_id varchar, reason varchar,
      code varchar, attempts bigint not null, recorded_at timestamptz not null);

create table if not exists "pqlsync_state"."users__failures" (key varchar not null, reason varchar,
        code varchar, attempts bigint not null, first_seen timestamptz not null,
        last_seen timestamptz not null, run_id varchar not null, row_hash varchar);

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from "pqlsync_state"."mappings" where sync = $p1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select count(*) as n from "pqlsync_state"."users__snapshot";

-- tableExists pqlsync_state.mappings;

select sync, signature from "pqlsync_state"."mappings" order by sync;

-- insertRows pqlsync_state.mappings (sync, signature, run_id, updated_at): 1 rows;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from "pqlsync_state"."meta" where name = $p1
-- params: 1:p1:string;

select count(*) as n from "pqlsync_state"."users__snapshot";

delete from "pqlsync_state"."meta" where name = $p1
-- params: 1:p1:string;

insert into "pqlsync_state"."meta" (name, value) values ($p1, $p2)
-- params: 1:p1:string, 2:p2:string;

explain (format json) select count(*) from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m
-- params: 1:min_score:integer, 2:tiers:string[];

create or replace table pqlsync_scratch.main."users__diff" as select case when __pqlsync_planned then coalesce(__pqlsync_key, __pqlsync_snapshot_key) end as __pqlsync_pk, case when __pqlsync_planned then (case when __pqlsync_parked then 'parked' when __pqlsync_snapshot_key is null then 'added' when __pqlsync_key is null then 'removed' else 'changed' end) when __pqlsync_dup then '__dup_row' when __pqlsync_key is null then '__null' else '__same' end as __pqlsync_op, case when __pqlsync_planned then __pqlsync_prev_hash end as __pqlsync_prev_hash, case when __pqlsync_planned then __pqlsync_attempts end as __pqlsync_attempts, case when __pqlsync_planned then j."user_id" end as "user_id", case when __pqlsync_planned then j."email" end as "email", case when __pqlsync_planned then j."score" end as "score", case when __pqlsync_planned then j."tier" end as "tier", case when __pqlsync_planned then j.__pqlsync_key end as __pqlsync_key, case when __pqlsync_planned then j.__pqlsync_hash end as __pqlsync_hash, cast(null as varchar) as __pqlsync_prev from (select c.*, s.key as __pqlsync_snapshot_key, s.row_hash as __pqlsync_prev_hash, f.attempts as __pqlsync_attempts, false as __pqlsync_parked, false as __pqlsync_dup, coalesce(c.__pqlsync_key, s.key) is not null and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null) as __pqlsync_planned from (select m.*, cast(m."user_id" as varchar) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as varchar) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as varchar)) as varchar) || ':' || cast(m."email" as varchar), 'N') || coalesce(cast(length(cast(m."score" as varchar)) as varchar) || ':' || cast(m."score" as varchar), 'N') || coalesce(cast(length(cast(m."tier" as varchar)) as varchar) || ':' || cast(m."tier" as varchar), 'N') || coalesce(cast(length(cast(m."user_id" as varchar)) as varchar) || ':' || cast(m."user_id" as varchar), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m) c
    full outer join (select key, row_hash from "pqlsync_state"."users__snapshot" s0) s on c.__pqlsync_key = s.key
    left join "pqlsync_state"."users__failures" f on f.key = coalesce(c.__pqlsync_key, s.key)) j
-- params: 1:min_score:integer, 2:tiers:string[];

select x.*, (select count(*) from "pqlsync_state"."users__snapshot" s0) as snapshot_rows from (select sum(case when __pqlsync_op in ('__same', '__null', '__dup_row') or __pqlsync_key is not null then 1 else 0 end) as marked_total,
         sum(case when __pqlsync_op = '__null' then 1 else 0 end) as null_keys,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_prev_hash is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_prev_hash is null then __pqlsync_pk end) as unmatched_keys,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_key is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when __pqlsync_op = 'added' then 1 else 0 end) as added,
         sum(case when __pqlsync_op = 'changed' then 1 else 0 end) as changed,
         sum(case when __pqlsync_op = 'removed' then 1 else 0 end) as removed,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed') and __pqlsync_attempts is not null then 1 else 0 end) as retried
       from pqlsync_scratch.main."users__diff") x;

create or replace table pqlsync_scratch.main."users__plan" as select d.* exclude (__pqlsync_prev), p.values_json as __pqlsync_prev from (select * from pqlsync_scratch.main."users__diff" where __pqlsync_pk is not null) d
       left join (select s.key, s.values_json from "pqlsync_state"."users__snapshot" s where s.key in (select __pqlsync_pk from (select * from pqlsync_scratch.main."users__diff" where __pqlsync_pk is not null) k)) p
       on p.key = d.__pqlsync_pk;

drop table if exists pqlsync_scratch.main."users__diff";

select cast(m."tier" as varchar) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as double)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

update "pqlsync_state"."runs" set flag_rate = $p1, tier_shares = $p2
       where run_id = $p3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from pqlsync_scratch.main."users__plan" where __pqlsync_op in (select unnest($p1))
-- params: 1:p1:string[];

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 4 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

select count(*) - count(distinct key) as repeats from "pqlsync_state"."users__journal";

-- begin transaction;

merge into "pqlsync_state"."users__snapshot" s using (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($cutoff as timestamptz) and status in ('applied', 'skipped')) j on s.key = j.key
when matched and j.kind = 'removed' then delete
when matched then update set row_hash = j.row_hash, values_json = j.values_json, tier = j.tier,
  destination_id = j.destination_id, synced_at = j.recorded_at, run_id = j.run_id
when not matched and j.kind <> 'removed' then insert (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
  values (j.key, j.row_hash, j.values_json, j.tier, j.destination_id, j.recorded_at, j.run_id)
-- params: 1:cutoff:timestamp;

merge into "pqlsync_state"."users__failures" f using (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($cutoff as timestamptz)) j on f.key = j.key
when matched and j.status in ('applied', 'skipped') then delete
when matched then update set reason = j.reason, code = j.code, attempts = f.attempts + 1, last_seen = j.recorded_at,
  run_id = j.run_id, row_hash = j.row_hash
when not matched and j.status not in ('applied', 'skipped') then insert (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
  values (j.key, j.reason, j.code, j.attempts + 1, j.recorded_at, j.recorded_at, j.run_id, j.row_hash)
-- params: 1:cutoff:timestamp;

delete from "pqlsync_state"."users__journal" where recorded_at <= cast($cutoff as timestamptz)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from "pqlsync_state"."users__failures";

delete from "pqlsync_state"."users__failures" where key in (
         select f.key from "pqlsync_state"."users__failures" f
         join "pqlsync_state"."users__snapshot" s on s.key = f.key
         join pqlsync_scratch.main."users__plan" p on p.__pqlsync_pk = f.key and p.__pqlsync_hash = s.row_hash)
       or key not in (select __pqlsync_pk from pqlsync_scratch.main."users__plan" where __pqlsync_pk is not null);

update "pqlsync_state"."runs" set status = $p9, finished_at = $p10,
           added = $p1, changed = $p2, removed = $p3, invalid = $p4, retried = $p5, applied = $p6, rejected = $p7, tasks = $p8, api_calls = $p11, duration_ms = $p12,
           error = $p13
         where run_id = $p14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

drop table if exists pqlsync_scratch.main."users__plan";

delete from "pqlsync_state"."locks" where sync = $p1 and run_id = $p2
-- params: 1:p1:string, 2:p2:string;

-- tableExists pqlsync_state.users__failures;

select key, code, reason, attempts, first_seen, last_seen, run_id from "pqlsync_state"."users__failures" where run_id in (select unnest($p1))
         order by last_seen desc, key
-- params: 1:p1:string[];

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- ensureSchema pqlsync_state;

create table if not exists "pqlsync_state"."meta" (name varchar not null, value varchar);

create table if not exists "pqlsync_state"."runs" (run_id varchar not null, sync varchar not null,
        status varchar not null, started_at timestamptz not null, finished_at timestamptz,
        added bigint, changed bigint, removed bigint, invalid bigint, retried bigint,
        applied bigint, rejected bigint, tasks bigint, api_calls bigint, duration_ms bigint,
        error varchar, host varchar, pid bigint, model_hash varchar, flag_rate double, tier_shares varchar);

select * from "pqlsync_state"."runs" where 1 = 0;

create table if not exists "pqlsync_state"."locks" (sync varchar not null, run_id varchar not null,
        host varchar not null, pid bigint not null, acquired_at timestamptz not null,
        heartbeat_at timestamptz not null, expires_at timestamptz not null);

create table if not exists "pqlsync_state"."mappings" (sync varchar not null, signature varchar not null,
      run_id varchar, updated_at timestamptz not null);

-- tableExists pqlsync_state.meta;

select value from "pqlsync_state"."meta" where name = 'state_version';

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from "pqlsync_state"."locks" where sync = $p1
-- params: 1:p1:string;

insert into "pqlsync_state"."locks" (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values ($p1, $p2, $p3,
             $p4, $p5, $p6,
             $p7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from "pqlsync_state"."locks" where sync = $p1 and run_id <> $p2
-- params: 1:p1:string, 2:p2:string;

insert into "pqlsync_state"."runs" (run_id, sync, status, started_at, host, pid, model_hash)
         values ($p1, $p2, 'running',
           $p3, $p4, $p5,
           $p6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists "pqlsync_state"."users__snapshot" (key varchar using compression fsst not null, row_hash varchar using compression fsst not null,
        values_json varchar using compression fsst, tier varchar, destination_id varchar, synced_at timestamptz not null,
        run_id varchar not null);

create table if not exists "pqlsync_state"."users__journal" (run_id varchar not null,
      batch_no bigint not null, key varchar not null, kind varchar not null, status varchar not null,
      row_hash varchar, values_json varchar, tier varchar, destination_id varchar, reason varchar,
      code varchar, attempts bigint not null, recorded_at timestamptz not null);

create table if not exists "pqlsync_state"."users__failures" (key varchar not null, reason varchar,
        code varchar, attempts bigint not null, first_seen timestamptz not null,
        last_seen timestamptz not null, run_id varchar not null, row_hash varchar);

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from "pqlsync_state"."mappings" where sync = $p1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from "pqlsync_state"."meta" where name = $p1
-- params: 1:p1:string;

explain (format json) select count(*) from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m
-- params: 1:min_score:integer, 2:tiers:string[];

create or replace table pqlsync_scratch.main."users__diff" as select case when __pqlsync_planned then coalesce(__pqlsync_key, __pqlsync_snapshot_key) end as __pqlsync_pk, case when __pqlsync_planned then (case when __pqlsync_parked then 'parked' when __pqlsync_snapshot_key is null then 'added' when __pqlsync_key is null then 'removed' else 'changed' end) when __pqlsync_dup then '__dup_row' when __pqlsync_key is null then '__null' else '__same' end as __pqlsync_op, case when __pqlsync_planned then __pqlsync_prev_hash end as __pqlsync_prev_hash, case when __pqlsync_planned then __pqlsync_attempts end as __pqlsync_attempts, case when __pqlsync_planned then j."user_id" end as "user_id", case when __pqlsync_planned then j."email" end as "email", case when __pqlsync_planned then j."score" end as "score", case when __pqlsync_planned then j."tier" end as "tier", case when __pqlsync_planned then j.__pqlsync_key end as __pqlsync_key, case when __pqlsync_planned then j.__pqlsync_hash end as __pqlsync_hash, cast(null as varchar) as __pqlsync_prev from (select c.*, s.key as __pqlsync_snapshot_key, s.row_hash as __pqlsync_prev_hash, f.attempts as __pqlsync_attempts, false as __pqlsync_parked, false as __pqlsync_dup, coalesce(c.__pqlsync_key, s.key) is not null and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null) as __pqlsync_planned from (select m.*, cast(m."user_id" as varchar) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as varchar) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as varchar)) as varchar) || ':' || cast(m."email" as varchar), 'N') || coalesce(cast(length(cast(m."score" as varchar)) as varchar) || ':' || cast(m."score" as varchar), 'N') || coalesce(cast(length(cast(m."tier" as varchar)) as varchar) || ':' || cast(m."tier" as varchar), 'N') || coalesce(cast(length(cast(m."user_id" as varchar)) as varchar) || ':' || cast(m."user_id" as varchar), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
) m) c
    full outer join (select key, row_hash from "pqlsync_state"."users__snapshot" s0) s on c.__pqlsync_key = s.key
    left join "pqlsync_state"."users__failures" f on f.key = coalesce(c.__pqlsync_key, s.key)) j
-- params: 1:min_score:integer, 2:tiers:string[];

select x.*, (select count(*) from "pqlsync_state"."users__snapshot" s0) as snapshot_rows from (select sum(case when __pqlsync_op in ('__same', '__null', '__dup_row') or __pqlsync_key is not null then 1 else 0 end) as marked_total,
         sum(case when __pqlsync_op = '__null' then 1 else 0 end) as null_keys,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_prev_hash is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_prev_hash is null then __pqlsync_pk end) as unmatched_keys,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed', 'parked') and __pqlsync_key is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when __pqlsync_op = 'added' then 1 else 0 end) as added,
         sum(case when __pqlsync_op = 'changed' then 1 else 0 end) as changed,
         sum(case when __pqlsync_op = 'removed' then 1 else 0 end) as removed,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed') and __pqlsync_attempts is not null then 1 else 0 end) as retried
       from pqlsync_scratch.main."users__diff") x;

create or replace table pqlsync_scratch.main."users__plan" as select d.* exclude (__pqlsync_prev), p.values_json as __pqlsync_prev from (select * from pqlsync_scratch.main."users__diff" where __pqlsync_pk is not null) d
       left join (select s.key, s.values_json from "pqlsync_state"."users__snapshot" s where s.key in (select __pqlsync_pk from (select * from pqlsync_scratch.main."users__diff" where __pqlsync_pk is not null) k)) p
       on p.key = d.__pqlsync_pk;

drop table if exists pqlsync_scratch.main."users__diff";

select cast(m."tier" as varchar) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as double)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $min_score::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($tiers::VARCHAR[])
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

update "pqlsync_state"."runs" set flag_rate = $p1, tier_shares = $p2
       where run_id = $p3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from pqlsync_scratch.main."users__plan" where __pqlsync_op in (select unnest($p1))
-- params: 1:p1:string[];

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 3 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

select count(*) - count(distinct key) as repeats from "pqlsync_state"."users__journal";

-- begin transaction;

merge into "pqlsync_state"."users__snapshot" s using (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($cutoff as timestamptz) and status in ('applied', 'skipped')) j on s.key = j.key
when matched and j.kind = 'removed' then delete
when matched then update set row_hash = j.row_hash, values_json = j.values_json, tier = j.tier,
  destination_id = j.destination_id, synced_at = j.recorded_at, run_id = j.run_id
when not matched and j.kind <> 'removed' then insert (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
  values (j.key, j.row_hash, j.values_json, j.tier, j.destination_id, j.recorded_at, j.run_id)
-- params: 1:cutoff:timestamp;

merge into "pqlsync_state"."users__failures" f using (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($cutoff as timestamptz)) j on f.key = j.key
when matched and j.status in ('applied', 'skipped') then delete
when matched then update set reason = j.reason, code = j.code, attempts = f.attempts + 1, last_seen = j.recorded_at,
  run_id = j.run_id, row_hash = j.row_hash
when not matched and j.status not in ('applied', 'skipped') then insert (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
  values (j.key, j.reason, j.code, j.attempts + 1, j.recorded_at, j.recorded_at, j.run_id, j.row_hash)
-- params: 1:cutoff:timestamp;

delete from "pqlsync_state"."users__journal" where recorded_at <= cast($cutoff as timestamptz)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from "pqlsync_state"."users__failures";

update "pqlsync_state"."runs" set status = $p9, finished_at = $p10,
           added = $p1, changed = $p2, removed = $p3, invalid = $p4, retried = $p5, applied = $p6, rejected = $p7, tasks = $p8, api_calls = $p11, duration_ms = $p12,
           error = $p13
         where run_id = $p14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

drop table if exists pqlsync_scratch.main."users__plan";

delete from "pqlsync_state"."locks" where sync = $p1 and run_id = $p2
-- params: 1:p1:string, 2:p2:string;
