-- redshift: statements of golden-sql.test.ts (params as position:name:type)

-- ======== plan ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
) m limit 0
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- tableExists pqlsync_state.users__journal;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

drop table if exists "pqlsync_plan_users__current";

create temp table "pqlsync_plan_users__current" as select m.*, cast(m."user_id" as varchar(65535)) as __pqlsync_key, md5(nvl(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as varchar(12)) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || nvl(cast(length(cast(m."email" as varchar(65535))) as varchar(12)) || ':' || cast(m."email" as varchar(65535)), 'N') || nvl(cast(length(cast(m."score" as varchar(65535))) as varchar(12)) || ':' || cast(m."score" as varchar(65535)), 'N') || nvl(cast(length(cast(m."tier" as varchar(65535))) as varchar(12)) || ':' || cast(m."tier" as varchar(65535)), 'N') || nvl(cast(length(cast(m."user_id" as varchar(65535))) as varchar(12)) || ':' || cast(m."user_id" as varchar(65535)), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
) m
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

drop table if exists "pqlsync_plan_users__dups";

create temp table "pqlsync_plan_users__dups" as select __pqlsync_key, count(*) as n from "pqlsync_plan_users__current" where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from "pqlsync_plan_users__dups") as dup_rows
     from "pqlsync_plan_users__current";

drop table if exists "pqlsync_plan_users__plan";

create temp table "pqlsync_plan_users__plan" as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from "pqlsync_plan_users__current" where __pqlsync_key is not null) c
      full outer join (select cast(null as varchar(65535)) as key, cast(null as varchar(65535)) as row_hash, cast(null as varchar(65535)) as values_json from (select 1 as one) e where 1 = 0) s on c.__pqlsync_key = s.key
      left join (select cast(null as varchar(65535)) as key, cast(null as bigint) as attempts, cast(null as varchar(65535)) as row_hash from (select 1 as one) e where 1 = 0) f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join "pqlsync_plan_users__dups" dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from "pqlsync_plan_users__plan" where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select cast(m."tier" as varchar(65535)) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as float8)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
) m limit 0
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- ensureSchema pqlsync_state;

create table if not exists "pqlsync_state"."meta" (name varchar(65535) not null, value varchar(65535));

create table if not exists "pqlsync_state"."runs" (run_id varchar(65535) not null, sync varchar(65535) not null,
        status varchar(65535) not null, started_at timestamptz not null, finished_at timestamptz,
        added bigint, changed bigint, removed bigint, invalid bigint, retried bigint,
        applied bigint, rejected bigint, tasks bigint, api_calls bigint, duration_ms bigint,
        error varchar(65535), host varchar(65535), pid bigint, model_hash varchar(65535), flag_rate float8, tier_shares varchar(65535));

select * from "pqlsync_state"."runs" where 1 = 0;

create table if not exists "pqlsync_state"."locks" (sync varchar(65535) not null, run_id varchar(65535) not null,
        host varchar(65535) not null, pid bigint not null, acquired_at timestamptz not null,
        heartbeat_at timestamptz not null, expires_at timestamptz not null);

create table if not exists "pqlsync_state"."mappings" (sync varchar(65535) not null, signature varchar(65535) not null,
      run_id varchar(65535), updated_at timestamptz not null);

-- tableExists pqlsync_state.meta;

select value from "pqlsync_state"."meta" where name = 'state_version';

insert into "pqlsync_state"."meta" (name, value) values ('state_version', $1)
-- params: 1:p1:string;

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from "pqlsync_state"."locks" where sync = $1
-- params: 1:p1:string;

insert into "pqlsync_state"."locks" (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values ($1, $2, $3,
             $4, $5, $6,
             $7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from "pqlsync_state"."locks" where sync = $1 and run_id <> $2
-- params: 1:p1:string, 2:p2:string;

insert into "pqlsync_state"."runs" (run_id, sync, status, started_at, host, pid, model_hash)
         values ($1, $2, 'running',
           $3, $4, $5,
           $6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists "pqlsync_state"."users__snapshot" (key varchar(65535) not null, row_hash varchar(65535) not null,
        values_json varchar(65535), tier varchar(65535), destination_id varchar(65535), synced_at timestamptz not null,
        run_id varchar(65535) not null);

create table if not exists "pqlsync_state"."users__journal" (run_id varchar(65535) not null,
      batch_no bigint not null, key varchar(65535) not null, kind varchar(65535) not null, status varchar(65535) not null,
      row_hash varchar(65535), values_json varchar(65535), tier varchar(65535), destination_id varchar(65535), reason varchar(65535),
      code varchar(65535), attempts bigint not null, recorded_at timestamptz not null);

create table if not exists "pqlsync_state"."users__failures" (key varchar(65535) not null, reason varchar(65535),
        code varchar(65535), attempts bigint not null, first_seen timestamptz not null,
        last_seen timestamptz not null, run_id varchar(65535) not null, row_hash varchar(65535));

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from "pqlsync_state"."mappings" where sync = $1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select count(*) as n from "pqlsync_state"."users__snapshot";

-- tableExists pqlsync_state.mappings;

select sync, signature from "pqlsync_state"."mappings" order by sync;

-- insertRows pqlsync_state.mappings (sync, signature, run_id, updated_at): 1 rows;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from "pqlsync_state"."meta" where name = $1
-- params: 1:p1:string;

select count(*) as n from "pqlsync_state"."users__snapshot";

delete from "pqlsync_state"."meta" where name = $1
-- params: 1:p1:string;

insert into "pqlsync_state"."meta" (name, value) values ($1, $2)
-- params: 1:p1:string, 2:p2:string;

drop table if exists "pqlsync_state"."users__current";

create table "pqlsync_state"."users__current" as select m.*, cast(m."user_id" as varchar(65535)) as __pqlsync_key, md5(nvl(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as varchar(12)) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || nvl(cast(length(cast(m."email" as varchar(65535))) as varchar(12)) || ':' || cast(m."email" as varchar(65535)), 'N') || nvl(cast(length(cast(m."score" as varchar(65535))) as varchar(12)) || ':' || cast(m."score" as varchar(65535)), 'N') || nvl(cast(length(cast(m."tier" as varchar(65535))) as varchar(12)) || ':' || cast(m."tier" as varchar(65535)), 'N') || nvl(cast(length(cast(m."user_id" as varchar(65535))) as varchar(12)) || ':' || cast(m."user_id" as varchar(65535)), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
) m
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

drop table if exists "pqlsync_state"."users__dups";

create table "pqlsync_state"."users__dups" as select __pqlsync_key, count(*) as n from "pqlsync_state"."users__current" where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from "pqlsync_state"."users__dups") as dup_rows
     from "pqlsync_state"."users__current";

drop table if exists "pqlsync_state"."users__plan";

create table "pqlsync_state"."users__plan" as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from "pqlsync_state"."users__current" where __pqlsync_key is not null) c
      full outer join "pqlsync_state"."users__snapshot" s on c.__pqlsync_key = s.key
      left join "pqlsync_state"."users__failures" f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join "pqlsync_state"."users__dups" dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from "pqlsync_state"."users__plan" where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select count(*) as n from "pqlsync_state"."users__snapshot";

select cast(m."tier" as varchar(65535)) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as float8)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

update "pqlsync_state"."runs" set flag_rate = $1, tier_shares = $2
       where run_id = $3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from "pqlsync_state"."users__plan" where __pqlsync_op in ($1, $2, $3)
-- params: 1:p1:string, 2:p2:string, 3:p3:string;

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 4 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

select count(*) - count(distinct key) as repeats from "pqlsync_state"."users__journal";

-- begin transaction;

delete from "pqlsync_state"."users__snapshot" where key in (select key from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status in ('applied', 'skipped')) j)
-- params: 1:cutoff:timestamp;

insert into "pqlsync_state"."users__snapshot" (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
select key, row_hash, values_json, tier, destination_id, recorded_at, run_id from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status in ('applied', 'skipped') and kind <> 'removed') j
-- params: 1:cutoff:timestamp;

delete from "pqlsync_state"."users__failures" where key in (select key from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status in ('applied', 'skipped')) j)
-- params: 1:cutoff:timestamp;

update "pqlsync_state"."users__failures" set reason = j.reason, code = j.code, attempts = "pqlsync_state"."users__failures".attempts + 1,
  last_seen = j.recorded_at, run_id = j.run_id, row_hash = j.row_hash
from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status not in ('applied', 'skipped')) j where "pqlsync_state"."users__failures".key = j.key
-- params: 1:cutoff:timestamp;

insert into "pqlsync_state"."users__failures" (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
select key, reason, code, attempts + 1, recorded_at, recorded_at, run_id, row_hash from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status not in ('applied', 'skipped')) j
where not exists (select 1 from "pqlsync_state"."users__failures" f where f.key = j.key)
-- params: 1:cutoff:timestamp;

delete from "pqlsync_state"."users__journal" where recorded_at <= cast($1 as timestamptz)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from "pqlsync_state"."users__failures";

delete from "pqlsync_state"."users__failures" where key in (
         select f.key from "pqlsync_state"."users__failures" f
         join "pqlsync_state"."users__snapshot" s on s.key = f.key
         join "pqlsync_state"."users__plan" p on p.__pqlsync_pk = f.key and p.__pqlsync_hash = s.row_hash)
       or key not in (select __pqlsync_pk from "pqlsync_state"."users__plan" where __pqlsync_pk is not null);

update "pqlsync_state"."runs" set status = $9, finished_at = $10,
           added = $1, changed = $2, removed = $3, invalid = $4, retried = $5, applied = $6, rejected = $7, tasks = $8, api_calls = $11, duration_ms = $12,
           error = $13
         where run_id = $14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

delete from "pqlsync_state"."locks" where sync = $1 and run_id = $2
-- params: 1:p1:string, 2:p2:string;

-- tableExists pqlsync_state.users__failures;

select key, code, reason, attempts, first_seen, last_seen, run_id from "pqlsync_state"."users__failures" where run_id in ($1)
         order by last_seen desc, key
-- params: 1:p1:string;

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
) m limit 0
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

-- ensureSchema pqlsync_state;

create table if not exists "pqlsync_state"."meta" (name varchar(65535) not null, value varchar(65535));

create table if not exists "pqlsync_state"."runs" (run_id varchar(65535) not null, sync varchar(65535) not null,
        status varchar(65535) not null, started_at timestamptz not null, finished_at timestamptz,
        added bigint, changed bigint, removed bigint, invalid bigint, retried bigint,
        applied bigint, rejected bigint, tasks bigint, api_calls bigint, duration_ms bigint,
        error varchar(65535), host varchar(65535), pid bigint, model_hash varchar(65535), flag_rate float8, tier_shares varchar(65535));

select * from "pqlsync_state"."runs" where 1 = 0;

create table if not exists "pqlsync_state"."locks" (sync varchar(65535) not null, run_id varchar(65535) not null,
        host varchar(65535) not null, pid bigint not null, acquired_at timestamptz not null,
        heartbeat_at timestamptz not null, expires_at timestamptz not null);

create table if not exists "pqlsync_state"."mappings" (sync varchar(65535) not null, signature varchar(65535) not null,
      run_id varchar(65535), updated_at timestamptz not null);

-- tableExists pqlsync_state.meta;

select value from "pqlsync_state"."meta" where name = 'state_version';

-- begin transaction;

select sync, run_id, host, pid, acquired_at, expires_at from "pqlsync_state"."locks" where sync = $1
-- params: 1:p1:string;

insert into "pqlsync_state"."locks" (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values ($1, $2, $3,
             $4, $5, $6,
             $7)
-- params: 1:p1:string, 2:p2:string, 3:p3:string, 4:p4:integer, 5:p5:timestamp, 6:p6:timestamp, 7:p7:timestamp;

-- end transaction;

select run_id from "pqlsync_state"."locks" where sync = $1 and run_id <> $2
-- params: 1:p1:string, 2:p2:string;

insert into "pqlsync_state"."runs" (run_id, sync, status, started_at, host, pid, model_hash)
         values ($1, $2, 'running',
           $3, $4, $5,
           $6)
-- params: 1:p1:string, 2:p2:string, 3:p3:timestamp, 4:p4:string, 5:p5:integer, 6:p6:string;

create table if not exists "pqlsync_state"."users__snapshot" (key varchar(65535) not null, row_hash varchar(65535) not null,
        values_json varchar(65535), tier varchar(65535), destination_id varchar(65535), synced_at timestamptz not null,
        run_id varchar(65535) not null);

create table if not exists "pqlsync_state"."users__journal" (run_id varchar(65535) not null,
      batch_no bigint not null, key varchar(65535) not null, kind varchar(65535) not null, status varchar(65535) not null,
      row_hash varchar(65535), values_json varchar(65535), tier varchar(65535), destination_id varchar(65535), reason varchar(65535),
      code varchar(65535), attempts bigint not null, recorded_at timestamptz not null);

create table if not exists "pqlsync_state"."users__failures" (key varchar(65535) not null, reason varchar(65535),
        code varchar(65535), attempts bigint not null, first_seen timestamptz not null,
        last_seen timestamptz not null, run_id varchar(65535) not null, row_hash varchar(65535));

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from "pqlsync_state"."mappings" where sync = $1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from "pqlsync_state"."meta" where name = $1
-- params: 1:p1:string;

drop table if exists "pqlsync_state"."users__current";

create table "pqlsync_state"."users__current" as select m.*, cast(m."user_id" as varchar(65535)) as __pqlsync_key, md5(nvl(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as varchar(12)) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || nvl(cast(length(cast(m."email" as varchar(65535))) as varchar(12)) || ':' || cast(m."email" as varchar(65535)), 'N') || nvl(cast(length(cast(m."score" as varchar(65535))) as varchar(12)) || ':' || cast(m."score" as varchar(65535)), 'N') || nvl(cast(length(cast(m."tier" as varchar(65535))) as varchar(12)) || ':' || cast(m."tier" as varchar(65535)), 'N') || nvl(cast(length(cast(m."user_id" as varchar(65535))) as varchar(12)) || ':' || cast(m."user_id" as varchar(65535)), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
) m
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

drop table if exists "pqlsync_state"."users__dups";

create table "pqlsync_state"."users__dups" as select __pqlsync_key, count(*) as n from "pqlsync_state"."users__current" where __pqlsync_key is not null group by __pqlsync_key having count(*) > 1;

select count(*) as total, sum(case when __pqlsync_key is null then 1 else 0 end) as null_keys,
       (select sum(n) from "pqlsync_state"."users__dups") as dup_rows
     from "pqlsync_state"."users__current";

drop table if exists "pqlsync_state"."users__plan";

create table "pqlsync_state"."users__plan" as select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
        case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from "pqlsync_state"."users__current" where __pqlsync_key is not null) c
      full outer join "pqlsync_state"."users__snapshot" s on c.__pqlsync_key = s.key
      left join "pqlsync_state"."users__failures" f on f.key = coalesce(c.__pqlsync_key, s.key)
      left join "pqlsync_state"."users__dups" dup on dup.__pqlsync_key = coalesce(c.__pqlsync_key, s.key)
      where dup.__pqlsync_key is null
        and (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null);

select __pqlsync_op as op, count(*) as n, sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from "pqlsync_state"."users__plan" where __pqlsync_op in ('added', 'changed', 'removed') group by __pqlsync_op;

select count(*) as n from "pqlsync_state"."users__snapshot";

select cast(m."tier" as varchar(65535)) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as float8)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end IN ($2, $3, $4)
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers[0]:string, 3:tiers[1]:string, 4:tiers[2]:string;

update "pqlsync_state"."runs" set flag_rate = $1, tier_shares = $2
       where run_id = $3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from "pqlsync_state"."users__plan" where __pqlsync_op in ($1, $2, $3)
-- params: 1:p1:string, 2:p2:string, 3:p3:string;

-- insertRows pqlsync_state.users__journal (run_id, batch_no, key, kind, status, row_hash, values_json, tier, destination_id, reason, code, attempts, recorded_at): 3 rows;

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

select count(*) - count(distinct key) as repeats from "pqlsync_state"."users__journal";

-- begin transaction;

delete from "pqlsync_state"."users__snapshot" where key in (select key from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status in ('applied', 'skipped')) j)
-- params: 1:cutoff:timestamp;

insert into "pqlsync_state"."users__snapshot" (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
select key, row_hash, values_json, tier, destination_id, recorded_at, run_id from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status in ('applied', 'skipped') and kind <> 'removed') j
-- params: 1:cutoff:timestamp;

delete from "pqlsync_state"."users__failures" where key in (select key from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status in ('applied', 'skipped')) j)
-- params: 1:cutoff:timestamp;

update "pqlsync_state"."users__failures" set reason = j.reason, code = j.code, attempts = "pqlsync_state"."users__failures".attempts + 1,
  last_seen = j.recorded_at, run_id = j.run_id, row_hash = j.row_hash
from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status not in ('applied', 'skipped')) j where "pqlsync_state"."users__failures".key = j.key
-- params: 1:cutoff:timestamp;

insert into "pqlsync_state"."users__failures" (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
select key, reason, code, attempts + 1, recorded_at, recorded_at, run_id, row_hash from (select * from "pqlsync_state"."users__journal" j1 where recorded_at <= cast($1 as timestamptz) and status not in ('applied', 'skipped')) j
where not exists (select 1 from "pqlsync_state"."users__failures" f where f.key = j.key)
-- params: 1:cutoff:timestamp;

delete from "pqlsync_state"."users__journal" where recorded_at <= cast($1 as timestamptz)
-- params: 1:cutoff:timestamp;

-- end transaction;

select count(*) as n from "pqlsync_state"."users__failures";

update "pqlsync_state"."runs" set status = $9, finished_at = $10,
           added = $1, changed = $2, removed = $3, invalid = $4, retried = $5, applied = $6, rejected = $7, tasks = $8, api_calls = $11, duration_ms = $12,
           error = $13
         where run_id = $14
-- params: 1:p1:integer, 2:p2:integer, 3:p3:integer, 4:p4:integer, 5:p5:integer, 6:p6:integer, 7:p7:integer, 8:p8:integer, 9:p9:string, 10:p10:timestamp, 11:p11:integer, 12:p12:integer, 13:p13:string, 14:p14:string;

delete from "pqlsync_state"."locks" where sync = $1 and run_id = $2
-- params: 1:p1:string, 2:p2:string;
