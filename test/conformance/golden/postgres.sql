-- postgres: statements of golden-sql.test.ts (params as position:name:type)

-- ======== plan ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- tableExists pqlsync_state.users__journal;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.mappings;

-- tableExists pqlsync_state.users__snapshot;

drop table if exists "pqlsync_plan_users__plan";

create temp table "pqlsync_plan_users__plan" as with __pqlsync_c as materialized (select m.*, cast(m."user_id" as text) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as text) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as text)) as text) || ':' || cast(m."email" as text), 'N') || coalesce(cast(length(cast(m."score" as text)) as text) || ':' || cast(m."score" as text), 'N') || coalesce(cast(length(cast(m."tier" as text)) as text) || ':' || cast(m."tier" as text), 'N') || coalesce(cast(length(cast(m."user_id" as text)) as text) || ':' || cast(m."user_id" as text), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
) m),
  __pqlsync_j as (
    select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
      case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
      s.row_hash as __pqlsync_prev_hash, f.attempts as __pqlsync_attempts, c.*, s.values_json as __pqlsync_prev
    from (select * from __pqlsync_c where __pqlsync_key is not null) c
    full outer join (select key, row_hash, values_json from (select cast(null as text) as key, cast(null as text) as row_hash, cast(null as text) as values_json from (select 1 as one) e where 1 = 0) s0) s on c.__pqlsync_key = s.key
    left join (select cast(null as text) as key, cast(null as bigint) as attempts, cast(null as text) as row_hash from (select 1 as one) e where 1 = 0) f on f.key = coalesce(c.__pqlsync_key, s.key)
    where (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null))
select j.*, cast(null as bigint) as __pqlsync_n, cast(null as bigint) as __pqlsync_valid
  from __pqlsync_j j
union all select null, '__stats', null, null, null, null, null, null, null, null, null, count(*), count(__pqlsync_key) from __pqlsync_c
-- params: 1:min_score:integer, 2:tiers:string[];

select sum(case when __pqlsync_op = '__stats' then __pqlsync_n else 0 end) as total,
         sum(case when __pqlsync_op = '__stats' then __pqlsync_valid else 0 end) as valid,
         sum(case when __pqlsync_op = '__dup' then __pqlsync_n else 0 end) as dup_rows,
         sum(case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_prev_hash is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_prev_hash is null then __pqlsync_pk end) as unmatched_keys,
         sum(case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_key is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when __pqlsync_op = 'added' then 1 else 0 end) as added,
         sum(case when __pqlsync_op = 'changed' then 1 else 0 end) as changed,
         sum(case when __pqlsync_op = 'removed' then 1 else 0 end) as removed,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed') and __pqlsync_attempts is not null then 1 else 0 end) as retried
       from "pqlsync_plan_users__plan";

select cast(m."tier" as text) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as double precision)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- ensureSchema pqlsync_state;

create table if not exists "pqlsync_state"."meta" (name text not null, value text);

create table if not exists "pqlsync_state"."runs" (run_id text not null, sync text not null,
        status text not null, started_at timestamptz not null, finished_at timestamptz,
        added bigint, changed bigint, removed bigint, invalid bigint, retried bigint,
        applied bigint, rejected bigint, tasks bigint, api_calls bigint, duration_ms bigint,
        error text, host text, pid bigint, model_hash text, flag_rate double precision, tier_shares text);

select * from "pqlsync_state"."runs" where 1 = 0;

create table if not exists "pqlsync_state"."locks" (sync text not null, run_id text not null,
        host text not null, pid bigint not null, acquired_at timestamptz not null,
        heartbeat_at timestamptz not null, expires_at timestamptz not null);

create table if not exists "pqlsync_state"."mappings" (sync text not null, signature text not null,
      run_id text, updated_at timestamptz not null);

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

create table if not exists "pqlsync_state"."users__snapshot" (key text not null, row_hash text not null,
        values_json text, tier text, destination_id text, synced_at timestamptz not null,
        run_id text not null);

create table if not exists "pqlsync_state"."users__journal" (run_id text not null,
      batch_no bigint not null, key text not null, kind text not null, status text not null,
      row_hash text, values_json text, tier text, destination_id text, reason text,
      code text, attempts bigint not null, recorded_at timestamptz not null);

create table if not exists "pqlsync_state"."users__failures" (key text not null, reason text,
        code text, attempts bigint not null, first_seen timestamptz not null,
        last_seen timestamptz not null, run_id text not null, row_hash text);

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

drop table if exists "pqlsync_state"."users__plan";

create unlogged table "pqlsync_state"."users__plan" as with __pqlsync_c as materialized (select m.*, cast(m."user_id" as text) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as text) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as text)) as text) || ':' || cast(m."email" as text), 'N') || coalesce(cast(length(cast(m."score" as text)) as text) || ':' || cast(m."score" as text), 'N') || coalesce(cast(length(cast(m."tier" as text)) as text) || ':' || cast(m."tier" as text), 'N') || coalesce(cast(length(cast(m."user_id" as text)) as text) || ':' || cast(m."user_id" as text), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
) m),
  __pqlsync_j as (
    select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
      case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
      s.row_hash as __pqlsync_prev_hash, f.attempts as __pqlsync_attempts, c.*, s.values_json as __pqlsync_prev
    from (select * from __pqlsync_c where __pqlsync_key is not null) c
    full outer join (select key, row_hash, values_json from "pqlsync_state"."users__snapshot" s0) s on c.__pqlsync_key = s.key
    left join "pqlsync_state"."users__failures" f on f.key = coalesce(c.__pqlsync_key, s.key)
    where (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null))
select j.*, cast(null as bigint) as __pqlsync_n, cast(null as bigint) as __pqlsync_valid
  from __pqlsync_j j
union all select null, '__stats', null, null, null, null, null, null, null, null, null, count(*), count(__pqlsync_key) from __pqlsync_c
-- params: 1:min_score:integer, 2:tiers:string[];

drop table if exists "pqlsync_state"."users__current";

drop table if exists "pqlsync_state"."users__dups";

select count(*) as n from "pqlsync_state"."users__snapshot";

select sum(case when __pqlsync_op = '__stats' then __pqlsync_n else 0 end) as total,
         sum(case when __pqlsync_op = '__stats' then __pqlsync_valid else 0 end) as valid,
         sum(case when __pqlsync_op = '__dup' then __pqlsync_n else 0 end) as dup_rows,
         sum(case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_prev_hash is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_prev_hash is null then __pqlsync_pk end) as unmatched_keys,
         sum(case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_key is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when __pqlsync_op = 'added' then 1 else 0 end) as added,
         sum(case when __pqlsync_op = 'changed' then 1 else 0 end) as changed,
         sum(case when __pqlsync_op = 'removed' then 1 else 0 end) as removed,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed') and __pqlsync_attempts is not null then 1 else 0 end) as retried
       from "pqlsync_state"."users__plan";

select cast(m."tier" as text) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as double precision)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

update "pqlsync_state"."runs" set flag_rate = $1, tier_shares = $2
       where run_id = $3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from "pqlsync_state"."users__plan" where __pqlsync_op = any($1::text[])
-- params: 1:p1:string[];

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

select key, code, reason, attempts, first_seen, last_seen, run_id from "pqlsync_state"."users__failures" where run_id = any($1::text[])
         order by last_seen desc, key
-- params: 1:p1:string[];

-- ======== run ========;

select * from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
) m limit 0
-- params: 1:min_score:integer, 2:tiers:string[];

-- ensureSchema pqlsync_state;

create table if not exists "pqlsync_state"."meta" (name text not null, value text);

create table if not exists "pqlsync_state"."runs" (run_id text not null, sync text not null,
        status text not null, started_at timestamptz not null, finished_at timestamptz,
        added bigint, changed bigint, removed bigint, invalid bigint, retried bigint,
        applied bigint, rejected bigint, tasks bigint, api_calls bigint, duration_ms bigint,
        error text, host text, pid bigint, model_hash text, flag_rate double precision, tier_shares text);

select * from "pqlsync_state"."runs" where 1 = 0;

create table if not exists "pqlsync_state"."locks" (sync text not null, run_id text not null,
        host text not null, pid bigint not null, acquired_at timestamptz not null,
        heartbeat_at timestamptz not null, expires_at timestamptz not null);

create table if not exists "pqlsync_state"."mappings" (sync text not null, signature text not null,
      run_id text, updated_at timestamptz not null);

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

create table if not exists "pqlsync_state"."users__snapshot" (key text not null, row_hash text not null,
        values_json text, tier text, destination_id text, synced_at timestamptz not null,
        run_id text not null);

create table if not exists "pqlsync_state"."users__journal" (run_id text not null,
      batch_no bigint not null, key text not null, kind text not null, status text not null,
      row_hash text, values_json text, tier text, destination_id text, reason text,
      code text, attempts bigint not null, recorded_at timestamptz not null);

create table if not exists "pqlsync_state"."users__failures" (key text not null, reason text,
        code text, attempts bigint not null, first_seen timestamptz not null,
        last_seen timestamptz not null, run_id text not null, row_hash text);

select run_id, count(*) as n, max(recorded_at) as last_at from "pqlsync_state"."users__journal" group by run_id;

-- tableExists pqlsync_state.mappings;

select signature from "pqlsync_state"."mappings" where sync = $1
-- params: 1:p1:string;

-- tableExists pqlsync_state.users__snapshot;

-- tableExists pqlsync_state.users__failures;

select value from "pqlsync_state"."meta" where name = $1
-- params: 1:p1:string;

drop table if exists "pqlsync_state"."users__plan";

create unlogged table "pqlsync_state"."users__plan" as with __pqlsync_c as materialized (select m.*, cast(m."user_id" as text) as __pqlsync_key, md5(coalesce(cast(length('v2:Email=email,Score__c=score,Tier__c=tier,match=user_id') as text) || ':' || 'v2:Email=email,Score__c=score,Tier__c=tier,match=user_id', 'N') || coalesce(cast(length(cast(m."email" as text)) as text) || ':' || cast(m."email" as text), 'N') || coalesce(cast(length(cast(m."score" as text)) as text) || ':' || cast(m."score" as text), 'N') || coalesce(cast(length(cast(m."tier" as text)) as text) || ':' || cast(m."tier" as text), 'N') || coalesce(cast(length(cast(m."user_id" as text)) as text) || ':' || cast(m."user_id" as text), 'N')) as __pqlsync_hash from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
) m),
  __pqlsync_j as (
    select coalesce(c.__pqlsync_key, s.key) as __pqlsync_pk,
      case when s.key is null then 'added' when c.__pqlsync_key is null then 'removed' else 'changed' end as __pqlsync_op,
      s.row_hash as __pqlsync_prev_hash, f.attempts as __pqlsync_attempts, c.*, s.values_json as __pqlsync_prev
    from (select * from __pqlsync_c where __pqlsync_key is not null) c
    full outer join (select key, row_hash, values_json from "pqlsync_state"."users__snapshot" s0) s on c.__pqlsync_key = s.key
    left join "pqlsync_state"."users__failures" f on f.key = coalesce(c.__pqlsync_key, s.key)
    where (s.key is null or c.__pqlsync_key is null or c.__pqlsync_hash <> s.row_hash or f.key is not null))
select j.*, cast(null as bigint) as __pqlsync_n, cast(null as bigint) as __pqlsync_valid
  from __pqlsync_j j
union all select null, '__stats', null, null, null, null, null, null, null, null, null, count(*), count(__pqlsync_key) from __pqlsync_c
-- params: 1:min_score:integer, 2:tiers:string[];

drop table if exists "pqlsync_state"."users__current";

drop table if exists "pqlsync_state"."users__dups";

select count(*) as n from "pqlsync_state"."users__snapshot";

select sum(case when __pqlsync_op = '__stats' then __pqlsync_n else 0 end) as total,
         sum(case when __pqlsync_op = '__stats' then __pqlsync_valid else 0 end) as valid,
         sum(case when __pqlsync_op = '__dup' then __pqlsync_n else 0 end) as dup_rows,
         sum(case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_prev_hash is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_prev_hash is null then __pqlsync_pk end) as unmatched_keys,
         sum(case when __pqlsync_op <> '__stats' and __pqlsync_op <> '__dup' and __pqlsync_key is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when __pqlsync_op = 'added' then 1 else 0 end) as added,
         sum(case when __pqlsync_op = 'changed' then 1 else 0 end) as changed,
         sum(case when __pqlsync_op = 'removed' then 1 else 0 end) as removed,
         sum(case when __pqlsync_op in ('added', 'changed', 'removed') and __pqlsync_attempts is not null then 1 else 0 end) as retried
       from "pqlsync_state"."users__plan";

select cast(m."tier" as text) as tier, count(*) as n,
      sum(0) as flagged,
      min(cast(m."score" as double precision)) as min_score
    from (






select user_id, email, score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
where score >= $1::integer
  and case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end = ANY($2::text[])
    ) m group by 1
-- params: 1:min_score:integer, 2:tiers:string[];

update "pqlsync_state"."runs" set flag_rate = $1, tier_shares = $2
       where run_id = $3
-- params: 1:p1:number, 2:p2:string, 3:p3:string;

select * from "pqlsync_state"."users__plan" where __pqlsync_op = any($1::text[])
-- params: 1:p1:string[];

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
