-- bigquery: statements of golden-sql.test.ts (params as position:name:type)

-- ======== plan ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- tableExists pqlsync_state.users__journal;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

create or replace temp table `pqlsync_plan_users__current` as select m.*, cast(m.`user_id` as STRING) as __pqlsync_key, to_hex(md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as STRING) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m.`email` as STRING)) as STRING) || ':' || cast(m.`email` as STRING), 'N') || coalesce(cast(length(cast(m.`score` as STRING)) as STRING) || ':' || cast(m.`score` as STRING), 'N') || coalesce(cast(length(cast(m.`tier` as STRING)) as STRING) || ':' || cast(m.`tier` as STRING), 'N') || coalesce(cast(length(cast(m.`user_id` as STRING)) as STRING) || ':' || cast(m.`user_id` as STRING), 'N'))) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
) m
-- params: 1:min_score:integer, 2:tiers:string[];

create or replace temp table `pqlsync_plan_users__dups` as select __pqlsync_key, count(*) as n from `pqlsync_plan_users__current` where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from `pqlsync_plan_users__dups`) as dup_rows
     from `pqlsync_plan_users__current`;

create or replace temp table `pqlsync_plan_users__plan` as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from `pqlsync_plan_users__current` where __pqlsync_key is not null) c
      full outer join (select cast(null as STRING) as key, cast(null as STRING) as row_hash, cast(null as STRING) as values_json from (select 1 as one) e where 1 = 0) s on c.__pqlsync_key = s.key
      left join (select cast(null as STRING) as key, cast(null as INT64) as attempts, cast(null as STRING) as row_hash from (select 1 as one) e where 1 = 0) f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join `pqlsync_plan_users__dups` dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from `pqlsync_plan_users__plan` where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select cast(m.`tier` as STRING) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m.`score` as FLOAT64)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- ensureSchema pqlsync_state;

create table if not exists `pqlsync_state`.`meta` (name STRING not null, value STRING);

create table if not exists `pqlsync_state`.`runs` (run_id STRING not null, sync STRING not null,
        status STRING not null, started_at TIMESTAMP not null, finished_at TIMESTAMP,
        added INT64, changed INT64, removed INT64, invalid INT64, retried INT64,
        applied INT64, rejected INT64, tasks INT64, api_calls INT64, duration_ms INT64,
        error STRING, host STRING, pid INT64, model_hash STRING, flag_rate FLOAT64, tier_shares STRING);

select * from `pqlsync_state`.`runs` where 1 = 0;

create table if not exists `pqlsync_state`.`locks` (sync STRING not null, run_id STRING not null,
        host STRING not null, pid INT64 not null, acquired_at TIMESTAMP not null,
        heartbeat_at TIMESTAMP not null, expires_at TIMESTAMP not null);

create table if not exists `pqlsync_state`.`mappings` (sync STRING not null, signature STRING not null,
      run_id STRING, updated_at TIMESTAMP not null);

-- tableExists pqlsync_state.meta;

select value from `pqlsync_state`.`meta` where name = 'state_version';

insert into `pqlsync_state`.`meta` (name, value) values ('state_version', @p1)
-- params: 1:p1:string;

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from `pqlsync_state`.`locks` where sync = @p1
-- params: 1:p1:string;

insert into `pqlsync_state`.`locks` (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values (@p1, @p2, @p3,
             @p4, @p5, @p6,
             @p7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from `pqlsync_state`.`locks` where sync = @p1 and run_id <> @p2
-- params: 1:p1:string, 2:p2:string;

insert into `pqlsync_state`.`runs` (run_id, sync, status, started_at, host, pid, model_hash)
         values (@p1, @p2, 'running',
           @p3, @p4, @p5,
           @p6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists `pqlsync_state`.`users__snapshot` (key STRING not null, row_hash STRING not null,
        values_json STRING, tier STRING, destination_id STRING, synced_at TIMESTAMP not null,
        run_id STRING not null) cluster by key;

create table if not exists `pqlsync_state`.`users__journal` (run_id STRING not null,
      batch_no INT64 not null, key STRING not null, kind STRING not null, status STRING not null,
      row_hash STRING, values_json STRING, tier STRING, destination_id STRING, reason STRING,
      code STRING, attempts INT64 not null, recorded_at TIMESTAMP not null);

create table if not exists `pqlsync_state`.`users__failures` (key STRING not null, reason STRING,
        code STRING, attempts INT64 not null, first_seen TIMESTAMP not null,
        last_seen TIMESTAMP not null, run_id STRING not null, row_hash STRING);

select run_id, count(*) as n, max(recorded_at) as last_at from `pqlsync_state`.`users__journal` group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from `pqlsync_state`.`mappings` where sync = @p1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select count(*) as n from `pqlsync_state`.`users__snapshot`;

-- tableExists pqlsync_state.mappings;

select sync, signature from `pqlsync_state`.`mappings` order by sync;

-- insertRows pqlsync_state.mappings (sync, signature, run_id, updated_at): 1 rows;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from `pqlsync_state`.`meta` where name = @p1
-- params: 1:p1:string;

select count(*) as n from `pqlsync_state`.`users__snapshot`;

delete from `pqlsync_state`.`meta` where name = @p1
-- params: 1:p1:string;

insert into `pqlsync_state`.`meta` (name, value) values (@p1, @p2)
-- params: 1:p1:string, 2:p2:string;

create or replace table `pqlsync_state`.`users__current` as select m.*, cast(m.`user_id` as STRING) as __pqlsync_key, to_hex(md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as STRING) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m.`email` as STRING)) as STRING) || ':' || cast(m.`email` as STRING), 'N') || coalesce(cast(length(cast(m.`score` as STRING)) as STRING) || ':' || cast(m.`score` as STRING), 'N') || coalesce(cast(length(cast(m.`tier` as STRING)) as STRING) || ':' || cast(m.`tier` as STRING), 'N') || coalesce(cast(length(cast(m.`user_id` as STRING)) as STRING) || ':' || cast(m.`user_id` as STRING), 'N'))) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
) m
-- params: 1:min_score:integer, 2:tiers:string[];

create or replace table `pqlsync_state`.`users__dups` as select __pqlsync_key, count(*) as n from `pqlsync_state`.`users__current` where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from `pqlsync_state`.`users__dups`) as dup_rows
     from `pqlsync_state`.`users__current`;

create or replace table `pqlsync_state`.`users__plan` as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from `pqlsync_state`.`users__current` where __pqlsync_key is not null) c
      full outer join `pqlsync_state`.`users__snapshot` s on c.__pqlsync_key = s.key
      left join `pqlsync_state`.`users__failures` f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join `pqlsync_state`.`users__dups` dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from `pqlsync_state`.`users__plan` where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select count(*) as n from `pqlsync_state`.`users__snapshot`;

select cast(m.`tier` as STRING) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m.`score` as FLOAT64)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

update `pqlsync_state`.`runs` set flag_rate = @p1, tier_shares = @p2
       where run_id = @p3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from `pqlsync_state`.`users__plan` where __pqlsync_op in unnest(@p1)
-- params: 1:p1:string[];

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 4 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from `pqlsync_state`.`users__journal` group by run_id;

select count(*) - count(distinct key) as repeats from `pqlsync_state`.`users__journal`;

-- begin transaction;

merge into `pqlsync_state`.`users__snapshot` s using (select * from `pqlsync_state`.`users__journal` j1 where recorded_at <= cast(@cutoff as TIMESTAMP) and status in ('applied', 'skipped')) j on s.key = j.key
when matched and j.kind = 'removed' then delete
when matched then update set row_hash = j.row_hash, values_json = j.values_json, tier = j.tier,
  destination_id = j.destination_id, synced_at = j.recorded_at, run_id = j.run_id
when not matched and j.kind <> 'removed' then insert (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
  values (j.key, j.row_hash, j.values_json, j.tier, j.destination_id, j.recorded_at, j.run_id)
-- params: 1:cutoff:timestamp;

merge into `pqlsync_state`.`users__failures` f using (select * from `pqlsync_state`.`users__journal` j1 where recorded_at <= cast(@cutoff as TIMESTAMP)) j on f.key = j.key
when matched and j.status in ('applied', 'skipped') then delete
when matched then update set reason = j.reason, code = j.code, attempts = f.attempts + 1, last_seen = j.recorded_at,
  run_id = j.run_id, row_hash = j.row_hash
when not matched and j.status not in ('applied', 'skipped') then insert (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
  values (j.key, j.reason, j.code, j.attempts + 1, j.recorded_at, j.recorded_at, j.run_id, j.row_hash)
-- params: 1:cutoff:timestamp;

delete from `pqlsync_state`.`users__journal` where recorded_at <= cast(@cutoff as TIMESTAMP)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from `pqlsync_state`.`users__failures`;

delete from `pqlsync_state`.`users__failures` where key in (
         select f.key from `pqlsync_state`.`users__failures` f
         join `pqlsync_state`.`users__snapshot` s on s.key = f.key
         join `pqlsync_state`.`users__plan` p on p.__pqlsync_pk = f.key and p.__pqlsync_hash = s.row_hash)
       or key not in (select __pqlsync_pk from `pqlsync_state`.`users__plan` where __pqlsync_pk is not null);

update `pqlsync_state`.`runs` set status = @p9, finished_at = @p10,
           added = @p1, changed = @p2, removed = @p3, invalid = @p4, retried = @p5, applied = @p6, rejected = @p7, tasks = @p8, api_calls = @p11, duration_ms = @p12,
           error = @p13
         where run_id = @p14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

delete from `pqlsync_state`.`locks` where sync = @p1 and run_id = @p2
-- params: 1:p1:string, 2:p2:string;

-- tableExists pqlsync_state.users__failures;

select key, code, reason, attempts, first_seen, last_seen, run_id from `pqlsync_state`.`users__failures` where run_id in unnest(@p1)
         order by last_seen desc, key
-- params: 1:p1:string[];

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- ensureSchema pqlsync_state;

create table if not exists `pqlsync_state`.`meta` (name STRING not null, value STRING);

create table if not exists `pqlsync_state`.`runs` (run_id STRING not null, sync STRING not null,
        status STRING not null, started_at TIMESTAMP not null, finished_at TIMESTAMP,
        added INT64, changed INT64, removed INT64, invalid INT64, retried INT64,
        applied INT64, rejected INT64, tasks INT64, api_calls INT64, duration_ms INT64,
        error STRING, host STRING, pid INT64, model_hash STRING, flag_rate FLOAT64, tier_shares STRING);

select * from `pqlsync_state`.`runs` where 1 = 0;

create table if not exists `pqlsync_state`.`locks` (sync STRING not null, run_id STRING not null,
        host STRING not null, pid INT64 not null, acquired_at TIMESTAMP not null,
        heartbeat_at TIMESTAMP not null, expires_at TIMESTAMP not null);

create table if not exists `pqlsync_state`.`mappings` (sync STRING not null, signature STRING not null,
      run_id STRING, updated_at TIMESTAMP not null);

-- tableExists pqlsync_state.meta;

select value from `pqlsync_state`.`meta` where name = 'state_version';

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from `pqlsync_state`.`locks` where sync = @p1
-- params: 1:p1:string;

insert into `pqlsync_state`.`locks` (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values (@p1, @p2, @p3,
             @p4, @p5, @p6,
             @p7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from `pqlsync_state`.`locks` where sync = @p1 and run_id <> @p2
-- params: 1:p1:string, 2:p2:string;

insert into `pqlsync_state`.`runs` (run_id, sync, status, started_at, host, pid, model_hash)
         values (@p1, @p2, 'running',
           @p3, @p4, @p5,
           @p6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists `pqlsync_state`.`users__snapshot` (key STRING not null, row_hash STRING not null,
        values_json STRING, tier STRING, destination_id STRING, synced_at TIMESTAMP not null,
        run_id STRING not null) cluster by key;

create table if not exists `pqlsync_state`.`users__journal` (run_id STRING not null,
      batch_no INT64 not null, key STRING not null, kind STRING not null, status STRING not null,
      row_hash STRING, values_json STRING, tier STRING, destination_id STRING, reason STRING,
      code STRING, attempts INT64 not null, recorded_at TIMESTAMP not null);

create table if not exists `pqlsync_state`.`users__failures` (key STRING not null, reason STRING,
        code STRING, attempts INT64 not null, first_seen TIMESTAMP not null,
        last_seen TIMESTAMP not null, run_id STRING not null, row_hash STRING);

select run_id, count(*) as n, max(recorded_at) as last_at from `pqlsync_state`.`users__journal` group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from `pqlsync_state`.`mappings` where sync = @p1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from `pqlsync_state`.`meta` where name = @p1
-- params: 1:p1:string;

create or replace table `pqlsync_state`.`users__current` as select m.*, cast(m.`user_id` as STRING) as __pqlsync_key, to_hex(md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as STRING) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m.`email` as STRING)) as STRING) || ':' || cast(m.`email` as STRING), 'N') || coalesce(cast(length(cast(m.`score` as STRING)) as STRING) || ':' || cast(m.`score` as STRING), 'N') || coalesce(cast(length(cast(m.`tier` as STRING)) as STRING) || ':' || cast(m.`tier` as STRING), 'N') || coalesce(cast(length(cast(m.`user_id` as STRING)) as STRING) || ':' || cast(m.`user_id` as STRING), 'N'))) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
) m
-- params: 1:min_score:integer, 2:tiers:string[];

create or replace table `pqlsync_state`.`users__dups` as select __pqlsync_key, count(*) as n from `pqlsync_state`.`users__current` where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from `pqlsync_state`.`users__dups`) as dup_rows
     from `pqlsync_state`.`users__current`;

create or replace table `pqlsync_state`.`users__plan` as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from `pqlsync_state`.`users__current` where __pqlsync_key is not null) c
      full outer join `pqlsync_state`.`users__snapshot` s on c.__pqlsync_key = s.key
      left join `pqlsync_state`.`users__failures` f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join `pqlsync_state`.`users__dups` dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from `pqlsync_state`.`users__plan` where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select count(*) as n from `pqlsync_state`.`users__snapshot`;

select cast(m.`tier` as STRING) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m.`score` as FLOAT64)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= @min_score
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN UNNEST(@tiers)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

update `pqlsync_state`.`runs` set flag_rate = @p1, tier_shares = @p2
       where run_id = @p3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from `pqlsync_state`.`users__plan` where __pqlsync_op in unnest(@p1)
-- params: 1:p1:string[];

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 3 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from `pqlsync_state`.`users__journal` group by run_id;

select count(*) - count(distinct key) as repeats from `pqlsync_state`.`users__journal`;

-- begin transaction;

merge into `pqlsync_state`.`users__snapshot` s using (select * from `pqlsync_state`.`users__journal` j1 where recorded_at <= cast(@cutoff as TIMESTAMP) and status in ('applied', 'skipped')) j on s.key = j.key
when matched and j.kind = 'removed' then delete
when matched then update set row_hash = j.row_hash, values_json = j.values_json, tier = j.tier,
  destination_id = j.destination_id, synced_at = j.recorded_at, run_id = j.run_id
when not matched and j.kind <> 'removed' then insert (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
  values (j.key, j.row_hash, j.values_json, j.tier, j.destination_id, j.recorded_at, j.run_id)
-- params: 1:cutoff:timestamp;

merge into `pqlsync_state`.`users__failures` f using (select * from `pqlsync_state`.`users__journal` j1 where recorded_at <= cast(@cutoff as TIMESTAMP)) j on f.key = j.key
when matched and j.status in ('applied', 'skipped') then delete
when matched then update set reason = j.reason, code = j.code, attempts = f.attempts + 1, last_seen = j.recorded_at,
  run_id = j.run_id, row_hash = j.row_hash
when not matched and j.status not in ('applied', 'skipped') then insert (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
  values (j.key, j.reason, j.code, j.attempts + 1, j.recorded_at, j.recorded_at, j.run_id, j.row_hash)
-- params: 1:cutoff:timestamp;

delete from `pqlsync_state`.`users__journal` where recorded_at <= cast(@cutoff as TIMESTAMP)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from `pqlsync_state`.`users__failures`;

update `pqlsync_state`.`runs` set status = @p9, finished_at = @p10,
           added = @p1, changed = @p2, removed = @p3, invalid = @p4, retried = @p5, applied = @p6, rejected = @p7, tasks = @p8, api_calls = @p11, duration_ms = @p12,
           error = @p13
         where run_id = @p14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

delete from `pqlsync_state`.`locks` where sync = @p1 and run_id = @p2
-- params: 1:p1:string, 2:p2:string;
