-- snowflake: statements of golden-sql.test.ts (params as position:name:type)

-- ======== plan ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
) m limit 0
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- tableExists pqlsync_state.users__journal;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

create or replace temporary table "PUBLIC"."PQLSYNC_PLAN_USERS__CURRENT" as select m.*, cast(m."user_id" as VARCHAR) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as VARCHAR) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as VARCHAR)) as VARCHAR) || ':' || cast(m."email" as VARCHAR), 'N') || coalesce(cast(length(cast(m."score" as VARCHAR)) as VARCHAR) || ':' || cast(m."score" as VARCHAR), 'N') || coalesce(cast(length(cast(m."tier" as VARCHAR)) as VARCHAR) || ':' || cast(m."tier" as VARCHAR), 'N') || coalesce(cast(length(cast(m."user_id" as VARCHAR)) as VARCHAR) || ':' || cast(m."user_id" as VARCHAR), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
) m
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

create or replace temporary table "PUBLIC"."PQLSYNC_PLAN_USERS__DUPS" as select __pqlsync_key, count(*) as n from "PUBLIC"."PQLSYNC_PLAN_USERS__CURRENT" where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from "PUBLIC"."PQLSYNC_PLAN_USERS__DUPS") as dup_rows
     from "PUBLIC"."PQLSYNC_PLAN_USERS__CURRENT";

create or replace temporary table "PUBLIC"."PQLSYNC_PLAN_USERS__PLAN" as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from "PUBLIC"."PQLSYNC_PLAN_USERS__CURRENT" where __pqlsync_key is not null) c
      full outer join (select cast(null as VARCHAR) as key, cast(null as VARCHAR) as row_hash, cast(null as VARCHAR) as values_json from (select 1 as one) e where 1 = 0) s on c.__pqlsync_key = s.key
      left join (select cast(null as VARCHAR) as key, cast(null as NUMBER(38,0)) as attempts, cast(null as VARCHAR) as row_hash from (select 1 as one) e where 1 = 0) f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join "PUBLIC"."PQLSYNC_PLAN_USERS__DUPS" dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from "PUBLIC"."PQLSYNC_PLAN_USERS__PLAN" where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select cast(m."tier" as VARCHAR) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as FLOAT)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
) m limit 0
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- ensureSchema pqlsync_state;

create table if not exists "PQLSYNC_STATE"."META" (name VARCHAR not null, value VARCHAR);

create table if not exists "PQLSYNC_STATE"."RUNS" (run_id VARCHAR not null, sync VARCHAR not null,
        status VARCHAR not null, started_at TIMESTAMP_TZ not null, finished_at TIMESTAMP_TZ,
        added NUMBER(38,0), changed NUMBER(38,0), removed NUMBER(38,0), invalid NUMBER(38,0), retried NUMBER(38,0),
        applied NUMBER(38,0), rejected NUMBER(38,0), tasks NUMBER(38,0), api_calls NUMBER(38,0), duration_ms NUMBER(38,0),
        error VARCHAR, host VARCHAR, pid NUMBER(38,0), model_hash VARCHAR, flag_rate FLOAT, tier_shares VARCHAR);

select * from "PQLSYNC_STATE"."RUNS" where 1 = 0;

create table if not exists "PQLSYNC_STATE"."LOCKS" (sync VARCHAR not null, run_id VARCHAR not null,
        host VARCHAR not null, pid NUMBER(38,0) not null, acquired_at TIMESTAMP_TZ not null,
        heartbeat_at TIMESTAMP_TZ not null, expires_at TIMESTAMP_TZ not null);

create table if not exists "PQLSYNC_STATE"."MAPPINGS" (sync VARCHAR not null, signature VARCHAR not null,
      run_id VARCHAR, updated_at TIMESTAMP_TZ not null);

-- tableExists pqlsync_state.meta;

select value from "PQLSYNC_STATE"."META" where name = 'state_version';

insert into "PQLSYNC_STATE"."META" (name, value) values ('state_version', :1)
-- params: 1:p1:string;

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from "PQLSYNC_STATE"."LOCKS" where sync = :1
-- params: 1:p1:string;

insert into "PQLSYNC_STATE"."LOCKS" (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values (:1, :2, :3,
             :4, :5, :6,
             :7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from "PQLSYNC_STATE"."LOCKS" where sync = :1 and run_id <> :2
-- params: 1:p1:string, 2:p2:string;

insert into "PQLSYNC_STATE"."RUNS" (run_id, sync, status, started_at, host, pid, model_hash)
         values (:1, :2, 'running',
           :3, :4, :5,
           :6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists "PQLSYNC_STATE"."USERS__SNAPSHOT" (key VARCHAR not null, row_hash VARCHAR not null,
        values_json VARCHAR, tier VARCHAR, destination_id VARCHAR, synced_at TIMESTAMP_TZ not null,
        run_id VARCHAR not null);

create table if not exists "PQLSYNC_STATE"."USERS__JOURNAL" (run_id VARCHAR not null,
      batch_no NUMBER(38,0) not null, key VARCHAR not null, kind VARCHAR not null, status VARCHAR not null,
      row_hash VARCHAR, values_json VARCHAR, tier VARCHAR, destination_id VARCHAR, reason VARCHAR,
      code VARCHAR, attempts NUMBER(38,0) not null, recorded_at TIMESTAMP_TZ not null);

create table if not exists "PQLSYNC_STATE"."USERS__FAILURES" (key VARCHAR not null, reason VARCHAR,
        code VARCHAR, attempts NUMBER(38,0) not null, first_seen TIMESTAMP_TZ not null,
        last_seen TIMESTAMP_TZ not null, run_id VARCHAR not null, row_hash VARCHAR);

select run_id, count(*) as n, max(recorded_at) as last_at from "PQLSYNC_STATE"."USERS__JOURNAL" group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from "PQLSYNC_STATE"."MAPPINGS" where sync = :1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select count(*) as n from "PQLSYNC_STATE"."USERS__SNAPSHOT";

-- tableExists pqlsync_state.mappings;

select sync, signature from "PQLSYNC_STATE"."MAPPINGS" order by sync;

-- insertRows pqlsync_state.mappings (sync, signature, run_id, updated_at): 1 rows;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from "PQLSYNC_STATE"."META" where name = :1
-- params: 1:p1:string;

select count(*) as n from "PQLSYNC_STATE"."USERS__SNAPSHOT";

delete from "PQLSYNC_STATE"."META" where name = :1
-- params: 1:p1:string;

insert into "PQLSYNC_STATE"."META" (name, value) values (:1, :2)
-- params: 1:p1:string, 2:p2:string;

create or replace transient table "PQLSYNC_STATE"."USERS__CURRENT" as select m.*, cast(m."user_id" as VARCHAR) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as VARCHAR) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as VARCHAR)) as VARCHAR) || ':' || cast(m."email" as VARCHAR), 'N') || coalesce(cast(length(cast(m."score" as VARCHAR)) as VARCHAR) || ':' || cast(m."score" as VARCHAR), 'N') || coalesce(cast(length(cast(m."tier" as VARCHAR)) as VARCHAR) || ':' || cast(m."tier" as VARCHAR), 'N') || coalesce(cast(length(cast(m."user_id" as VARCHAR)) as VARCHAR) || ':' || cast(m."user_id" as VARCHAR), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
) m
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

create or replace transient table "PQLSYNC_STATE"."USERS__DUPS" as select __pqlsync_key, count(*) as n from "PQLSYNC_STATE"."USERS__CURRENT" where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from "PQLSYNC_STATE"."USERS__DUPS") as dup_rows
     from "PQLSYNC_STATE"."USERS__CURRENT";

create or replace transient table "PQLSYNC_STATE"."USERS__PLAN" as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from "PQLSYNC_STATE"."USERS__CURRENT" where __pqlsync_key is not null) c
      full outer join "PQLSYNC_STATE"."USERS__SNAPSHOT" s on c.__pqlsync_key = s.key
      left join "PQLSYNC_STATE"."USERS__FAILURES" f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join "PQLSYNC_STATE"."USERS__DUPS" dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from "PQLSYNC_STATE"."USERS__PLAN" where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select count(*) as n from "PQLSYNC_STATE"."USERS__SNAPSHOT";

select cast(m."tier" as VARCHAR) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as FLOAT)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

update "PQLSYNC_STATE"."RUNS" set flag_rate = :1, tier_shares = :2
       where run_id = :3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from "PQLSYNC_STATE"."USERS__PLAN" where __pqlsync_op in (:1, :2, :3)
-- params: 1:p1:string, 2:p2:string, 3:p3:string;

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 4 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from "PQLSYNC_STATE"."USERS__JOURNAL" group by run_id;

select count(*) - count(distinct key) as repeats from "PQLSYNC_STATE"."USERS__JOURNAL";

-- begin transaction;

merge into "PQLSYNC_STATE"."USERS__SNAPSHOT" s using (select * from "PQLSYNC_STATE"."USERS__JOURNAL" j1 where recorded_at <= cast(:1 as TIMESTAMP_TZ) and status in ('applied', 'skipped')) j on s.key = j.key
when matched and j.kind = 'removed' then delete
when matched then update set row_hash = j.row_hash, values_json = j.values_json, tier = j.tier,
  destination_id = j.destination_id, synced_at = j.recorded_at, run_id = j.run_id
when not matched and j.kind <> 'removed' then insert (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
  values (j.key, j.row_hash, j.values_json, j.tier, j.destination_id, j.recorded_at, j.run_id)
-- params: 1:cutoff:timestamp;

merge into "PQLSYNC_STATE"."USERS__FAILURES" f using (select * from "PQLSYNC_STATE"."USERS__JOURNAL" j1 where recorded_at <= cast(:1 as TIMESTAMP_TZ)) j on f.key = j.key
when matched and j.status in ('applied', 'skipped') then delete
when matched then update set reason = j.reason, code = j.code, attempts = f.attempts + 1, last_seen = j.recorded_at,
  run_id = j.run_id, row_hash = j.row_hash
when not matched and j.status not in ('applied', 'skipped') then insert (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
  values (j.key, j.reason, j.code, j.attempts + 1, j.recorded_at, j.recorded_at, j.run_id, j.row_hash)
-- params: 1:cutoff:timestamp;

delete from "PQLSYNC_STATE"."USERS__JOURNAL" where recorded_at <= cast(:1 as TIMESTAMP_TZ)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from "PQLSYNC_STATE"."USERS__FAILURES";

delete from "PQLSYNC_STATE"."USERS__FAILURES" where key in (
         select f.key from "PQLSYNC_STATE"."USERS__FAILURES" f
         join "PQLSYNC_STATE"."USERS__SNAPSHOT" s on s.key = f.key
         join "PQLSYNC_STATE"."USERS__PLAN" p on p.__pqlsync_pk = f.key and p.__pqlsync_hash = s.row_hash)
       or key not in (select __pqlsync_pk from "PQLSYNC_STATE"."USERS__PLAN" where __pqlsync_pk is not null);

update "PQLSYNC_STATE"."RUNS" set status = :9, finished_at = :10,
           added = :1, changed = :2, removed = :3, invalid = :4, retried = :5, applied = :6, rejected = :7, tasks = :8, api_calls = :11, duration_ms = :12,
           error = :13
         where run_id = :14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

delete from "PQLSYNC_STATE"."LOCKS" where sync = :1 and run_id = :2
-- params: 1:p1:string, 2:p2:string;

-- tableExists pqlsync_state.users__failures;

select key, code, reason, attempts, first_seen, last_seen, run_id from "PQLSYNC_STATE"."USERS__FAILURES" where run_id in (:1)
         order by last_seen desc, key
-- params: 1:p1:string;

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
) m limit 0
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- ensureSchema pqlsync_state;

create table if not exists "PQLSYNC_STATE"."META" (name VARCHAR not null, value VARCHAR);

create table if not exists "PQLSYNC_STATE"."RUNS" (run_id VARCHAR not null, sync VARCHAR not null,
        status VARCHAR not null, started_at TIMESTAMP_TZ not null, finished_at TIMESTAMP_TZ,
        added NUMBER(38,0), changed NUMBER(38,0), removed NUMBER(38,0), invalid NUMBER(38,0), retried NUMBER(38,0),
        applied NUMBER(38,0), rejected NUMBER(38,0), tasks NUMBER(38,0), api_calls NUMBER(38,0), duration_ms NUMBER(38,0),
        error VARCHAR, host VARCHAR, pid NUMBER(38,0), model_hash VARCHAR, flag_rate FLOAT, tier_shares VARCHAR);

select * from "PQLSYNC_STATE"."RUNS" where 1 = 0;

create table if not exists "PQLSYNC_STATE"."LOCKS" (sync VARCHAR not null, run_id VARCHAR not null,
        host VARCHAR not null, pid NUMBER(38,0) not null, acquired_at TIMESTAMP_TZ not null,
        heartbeat_at TIMESTAMP_TZ not null, expires_at TIMESTAMP_TZ not null);

create table if not exists "PQLSYNC_STATE"."MAPPINGS" (sync VARCHAR not null, signature VARCHAR not null,
      run_id VARCHAR, updated_at TIMESTAMP_TZ not null);

-- tableExists pqlsync_state.meta;

select value from "PQLSYNC_STATE"."META" where name = 'state_version';

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from "PQLSYNC_STATE"."LOCKS" where sync = :1
-- params: 1:p1:string;

insert into "PQLSYNC_STATE"."LOCKS" (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values (:1, :2, :3,
             :4, :5, :6,
             :7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from "PQLSYNC_STATE"."LOCKS" where sync = :1 and run_id <> :2
-- params: 1:p1:string, 2:p2:string;

insert into "PQLSYNC_STATE"."RUNS" (run_id, sync, status, started_at, host, pid, model_hash)
         values (:1, :2, 'running',
           :3, :4, :5,
           :6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists "PQLSYNC_STATE"."USERS__SNAPSHOT" (key VARCHAR not null, row_hash VARCHAR not null,
        values_json VARCHAR, tier VARCHAR, destination_id VARCHAR, synced_at TIMESTAMP_TZ not null,
        run_id VARCHAR not null);

create table if not exists "PQLSYNC_STATE"."USERS__JOURNAL" (run_id VARCHAR not null,
      batch_no NUMBER(38,0) not null, key VARCHAR not null, kind VARCHAR not null, status VARCHAR not null,
      row_hash VARCHAR, values_json VARCHAR, tier VARCHAR, destination_id VARCHAR, reason VARCHAR,
      code VARCHAR, attempts NUMBER(38,0) not null, recorded_at TIMESTAMP_TZ not null);

create table if not exists "PQLSYNC_STATE"."USERS__FAILURES" (key VARCHAR not null, reason VARCHAR,
        code VARCHAR, attempts NUMBER(38,0) not null, first_seen TIMESTAMP_TZ not null,
        last_seen TIMESTAMP_TZ not null, run_id VARCHAR not null, row_hash VARCHAR);

select run_id, count(*) as n, max(recorded_at) as last_at from "PQLSYNC_STATE"."USERS__JOURNAL" group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from "PQLSYNC_STATE"."MAPPINGS" where sync = :1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from "PQLSYNC_STATE"."META" where name = :1
-- params: 1:p1:string;

create or replace transient table "PQLSYNC_STATE"."USERS__CURRENT" as select m.*, cast(m."user_id" as VARCHAR) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as VARCHAR) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as VARCHAR)) as VARCHAR) || ':' || cast(m."email" as VARCHAR), 'N') || coalesce(cast(length(cast(m."score" as VARCHAR)) as VARCHAR) || ':' || cast(m."score" as VARCHAR), 'N') || coalesce(cast(length(cast(m."tier" as VARCHAR)) as VARCHAR) || ':' || cast(m."tier" as VARCHAR), 'N') || coalesce(cast(length(cast(m."user_id" as VARCHAR)) as VARCHAR) || ':' || cast(m."user_id" as VARCHAR), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
) m
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

create or replace transient table "PQLSYNC_STATE"."USERS__DUPS" as select __pqlsync_key, count(*) as n from "PQLSYNC_STATE"."USERS__CURRENT" where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from "PQLSYNC_STATE"."USERS__DUPS") as dup_rows
     from "PQLSYNC_STATE"."USERS__CURRENT";

create or replace transient table "PQLSYNC_STATE"."USERS__PLAN" as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from "PQLSYNC_STATE"."USERS__CURRENT" where __pqlsync_key is not null) c
      full outer join "PQLSYNC_STATE"."USERS__SNAPSHOT" s on c.__pqlsync_key = s.key
      left join "PQLSYNC_STATE"."USERS__FAILURES" f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join "PQLSYNC_STATE"."USERS__DUPS" dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from "PQLSYNC_STATE"."USERS__PLAN" where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select count(*) as n from "PQLSYNC_STATE"."USERS__SNAPSHOT";

select cast(m."tier" as VARCHAR) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as FLOAT)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= :1::INTEGER
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN (:2, :3, :4)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

update "PQLSYNC_STATE"."RUNS" set flag_rate = :1, tier_shares = :2
       where run_id = :3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from "PQLSYNC_STATE"."USERS__PLAN" where __pqlsync_op in (:1, :2, :3)
-- params: 1:p1:string, 2:p2:string, 3:p3:string;

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 3 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from "PQLSYNC_STATE"."USERS__JOURNAL" group by run_id;

select count(*) - count(distinct key) as repeats from "PQLSYNC_STATE"."USERS__JOURNAL";

-- begin transaction;

merge into "PQLSYNC_STATE"."USERS__SNAPSHOT" s using (select * from "PQLSYNC_STATE"."USERS__JOURNAL" j1 where recorded_at <= cast(:1 as TIMESTAMP_TZ) and status in ('applied', 'skipped')) j on s.key = j.key
when matched and j.kind = 'removed' then delete
when matched then update set row_hash = j.row_hash, values_json = j.values_json, tier = j.tier,
  destination_id = j.destination_id, synced_at = j.recorded_at, run_id = j.run_id
when not matched and j.kind <> 'removed' then insert (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
  values (j.key, j.row_hash, j.values_json, j.tier, j.destination_id, j.recorded_at, j.run_id)
-- params: 1:cutoff:timestamp;

merge into "PQLSYNC_STATE"."USERS__FAILURES" f using (select * from "PQLSYNC_STATE"."USERS__JOURNAL" j1 where recorded_at <= cast(:1 as TIMESTAMP_TZ)) j on f.key = j.key
when matched and j.status in ('applied', 'skipped') then delete
when matched then update set reason = j.reason, code = j.code, attempts = f.attempts + 1, last_seen = j.recorded_at,
  run_id = j.run_id, row_hash = j.row_hash
when not matched and j.status not in ('applied', 'skipped') then insert (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
  values (j.key, j.reason, j.code, j.attempts + 1, j.recorded_at, j.recorded_at, j.run_id, j.row_hash)
-- params: 1:cutoff:timestamp;

delete from "PQLSYNC_STATE"."USERS__JOURNAL" where recorded_at <= cast(:1 as TIMESTAMP_TZ)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from "PQLSYNC_STATE"."USERS__FAILURES";

update "PQLSYNC_STATE"."RUNS" set status = :9, finished_at = :10,
           added = :1, changed = :2, removed = :3, invalid = :4, retried = :5, applied = :6, rejected = :7, tasks = :8, api_calls = :11, duration_ms = :12,
           error = :13
         where run_id = :14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

delete from "PQLSYNC_STATE"."LOCKS" where sync = :1 and run_id = :2
-- params: 1:p1:string, 2:p2:string;
