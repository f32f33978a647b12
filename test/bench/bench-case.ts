/**
 * One bench case in its own process (so peak RSS is this case's): N users of model output, a first sync that
 * streams N changes, then 2 % changed / 1 % added / 1 % removed, timing the plan against the raw diff SQL on the
 * same engine, and an unchanged rerun. Prints one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MEMORY_LIMIT, DEFAULT_STREAM_MEMORY_LIMIT } from '../../src/config/config-schema.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { Destination, RecordOutcome, WriteBatch } from '../../src/destination/destination.js';
import { hashColumns, planSync, probeModel } from '../../src/plan/plan-sync.js';
import { runSync, syncTarget } from '../../src/runner/run-sync.js';
import { StateStore } from '../../src/state/state-store.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { duckdbStreamMemoryLimit } from '../../src/warehouse/create-warehouse.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { sqlDialect } from '../../src/warehouse/sql-dialect.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import { FileDestination } from '../../src/destination/file/file-destination.js';
import { writeBenchProject } from './bench-project.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';

setLogger(createLogger({ level: 'silent' }));
const users = Number(process.argv[2] ?? 100_000);

/**
 * The process's peak RSS so far (the kernel's VmHWM; getrusage's maxRSS where /proc is missing), in bytes. On Linux
 * `resetPeakRss` starts a new peak from the current RSS, so a phase's own peak can be read.
 */
const peakRss = (): number => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
};
const resetPeakRss = (): boolean => {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
};
const FILE_BATCH_SIZE = new FileDestination(tmpdir()).capabilities(
  {} as Parameters<FileDestination['capabilities']>[0],
  0,
).batchSize;
/** Peaks of the phases measured so far, and the process's peak over all of them. */
const peaks = { plan: 0, stream: 0, whole: 0 };

/** Accepts everything, sends nothing: the bench measures pqlsync, not a CRM. */
class NullDestination implements Destination {
  readonly type = 'null';
  calls = 0;
  capabilities() {
    // The bench project's destination's batch size (the file destination's, 1,000: the defaults the CLI's 1M first
    // sync runs on), so the streaming peak is that of the same run; BENCH_BATCH_SIZE sets another (a CRM's). At
    // 10,000 (the bench's size before) two or three batches of about 7 MB each are alive at once, and the heap's
    // garbage between collections grows with them: 20-25 MB more peak RSS at 1M changes.
    return {
      batchSize: Number(process.env.BENCH_BATCH_SIZE ?? FILE_BATCH_SIZE),
      modes: ['update', 'upsert', 'mirror'] as const,
    };
  }
  /** Called once a run's plan is done and its changes start streaming: the plan's peak ends here. */
  async preflight() {
    if (peaks.plan > 0) return;
    peaks.plan = peakRss();
    peaks.whole = peaks.plan;
    if (!resetPeakRss()) peaks.plan = Number.NaN; // one peak for the whole run: reported as streaming
  }
  async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    this.calls++;
    return batch.changes.map((c) => ({ key: c.key, status: 'applied' as const }));
  }
  apiCalls() {
    return this.calls;
  }
  async close() {}
}

// With BENCH_POSTGRES_URL the warehouse is that Postgres database (a server process of its own, so the RSS
// measured is pqlsync's alone); else a DuckDB file, embedded in this process.
const postgresUrl = process.env.BENCH_POSTGRES_URL;
const streamMemoryLimit = process.env.BENCH_DUCKDB_STREAM_MEMORY ?? DEFAULT_STREAM_MEMORY_LIMIT;
const openWarehouse = (duckdbPath: string): WarehouseAdapter =>
  postgresUrl
    ? new PostgresAdapter({ url: postgresUrl })
    : new DuckdbAdapter({
        path: duckdbPath,
        threads: 2,
        // As the CLI does: the config's default unless the case sets one.
        memoryLimit: process.env.BENCH_DUCKDB_MEMORY ?? DEFAULT_MEMORY_LIMIT,
        // As the CLI does: the config's default unless the case sets one (`none`: memory_limit throughout).
        ...duckdbStreamMemoryLimit(streamMemoryLimit),
      });
/** `start` .. `end` (inclusive) as a one-column table `t(i)`. */
const series = (start: number, end: number) =>
  postgresUrl ? `generate_series(${start}, ${end}) t(i)` : `range(${start}, ${end + 1}) t(i)`;
const h = (n: number) => (postgresUrl ? `((i::bigint * 7919 + ${n}) % 100)` : `(hash(i) % 100)`);

if (process.argv[3] === '--setup') {
  // The model's source table, written by a process of its own so its memory is not counted as pqlsync's.
  const setup = openWarehouse(process.argv[4]!);
  await setup.connect();
  await setup.query('drop schema if exists bench cascade');
  await setup.query('drop schema if exists pqlsync_state cascade');
  await setup.query('create schema bench');
  await setup.query(`create table bench.scores as
    select i as user_id, 'user' || i || '@example.com' as email, cast(${h(0)} as integer) as pql_score,
      case when ${h(0)} >= 70 then 'hot' when ${h(0)} >= 40 then 'pql' else 'nurture' end as pql_tier,
      'created ' || (${h(1)} % 20) || ' dashboards in 14 days; invited ' || (${h(2)} % 5) || ' teammates' as reasons
    from ${series(1, users)}`);
  await setup.close();
  process.exit(0);
}

const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-bench-'));
execFileSync(
  process.execPath,
  [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    String(users),
    '--setup',
    path.join(dir, 'wh.duckdb'),
  ],
  {
    stdio: 'inherit',
  },
);
writeBenchProject(dir);
const loaded = loadConfig(path.join(dir, 'config', 'pqlsync.yml'));
const wh = openWarehouse(path.join(dir, 'wh.duckdb'));
await wh.connect();

const dest = new NullDestination();
const run = () => runSync({ loaded, warehouse: wh, syncName: 'users', destination: async () => dest });
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const out = await fn();
  return [out, performance.now() - t];
};
/** `fn`'s wall time and this process's CPU time (user + system, all of DuckDB's threads) over it, in ms. */
const timeCpu = async <T>(fn: () => Promise<T>): Promise<[T, number, number]> => {
  const cpu = process.cpuUsage();
  const [out, ms] = await time(fn);
  const used = process.cpuUsage(cpu);
  return [out, ms, (used.user + used.system) / 1000];
};

// 1. First sync: N changes streamed out of the warehouse and committed.
const [first, firstMs] = await time(run);
if (first.status !== 'success') throw new Error(JSON.stringify(first.error));
peaks.stream = peakRss();
peaks.whole = Math.max(peaks.whole, peaks.stream);

// 2. Move the data: 2 % changed, 1 % added, 1 % removed.
await wh.query(`update bench.scores set pql_score = (pql_score + 1) % 100 where user_id % 50 = 0`);
await wh.query(`delete from bench.scores where user_id % 100 = 1`);
await wh.query(
  `insert into bench.scores select i, 'new' || i || '@example.com', 50, 'pql', 'new' from ${series(users + 1, users + Math.floor(users / 100))}`,
);
// The model's table is written by another process in real use (dbt, a loader), which commits and checkpoints.
// Made here, the edits would sit in DuckDB's memory until a checkpoint: at 10M users 113 MB of the plan's 128MB,
// and the plan ran out of memory ("failed to pin block"; a checkpoint first freed all but 1.5 MB).
if (!postgresUrl) await wh.query('checkpoint');

const store = new StateStore(wh, 'pqlsync_state');
const model = {
  dialect: wh.dialect,
  sql: 'select user_id, email, pql_score, pql_tier, reasons from bench.scores',
  params: [],
};
const target = syncTarget('users', loaded.config.syncs.users!, 'user_id');
const planOnce = () =>
  planSync({ store, target, model, keyColumn: 'user_id', modelFile: 'models/scores.sql', dryRun: true });

// The raw diff SQL on the same engine: the same row hash (else every row would differ from the snapshot), a
// full outer join with the snapshot, the changed rows materialised with their values.
const { signature, columns } = hashColumns(target);
const d = sqlDialect(wh.dialect);
// Each value as the plan hashes it: its text form by the column's kind (a number's length is that of its text).
const probe = await probeModel({
  store,
  target,
  model,
  keyColumn: 'user_id',
  modelFile: 'models/scores.sql',
});
const kindOf = (name: string) => probe.kinds[probe.columns.indexOf(name)] ?? 'other';
const rowHash = d.rowHash([`'${signature}'`, ...columns.map((c) => d.hashText(c, kindOf(c)))]);
// Like for like: the raw diff is written where the plan writes its table (DuckDB: the in-memory scratch database).
const rawTable = d.scratchTable ? d.scratchTable('bench_raw_plan') : 'bench.raw_plan';
const rawOnce = async () => {
  for (const stmt of d.beforeCreateTableAs(rawTable)) await wh.query(stmt);
  return wh.query(`${d.createTableAs(rawTable, '', { working: true })}
    with cur as (select *, cast(user_id as varchar) as pk, ${rowHash} as h from bench.scores)
    select coalesce(c.pk, s.key) as diff_key, case when s.key is null then 'added' when c.pk is null then 'removed' else 'changed' end as diff_op, c.*
    from cur c full outer join pqlsync_state.users__snapshot s on c.pk = s.key
    where s.key is null or c.pk is null or c.h <> s.row_hash`);
};
// Alternate the two, five times each, each starting every other round, and keep the medians (one timing of a
// sub-second query is noise). CPU time too: on a shared machine it moves less with the load than wall time does.
const planTimes: number[] = [];
const rawTimes: number[] = [];
const planCpu: number[] = [];
const rawCpu: number[] = [];
let plan = await planOnce();
await rawOnce();
for (let i = 0; i < 5; i++) {
  const timePlan = async () => {
    let ms: number, cpu: number;
    [plan, ms, cpu] = await timeCpu(planOnce);
    planTimes.push(ms);
    planCpu.push(cpu);
  };
  const timeRaw = async () => {
    const [, ms, cpu] = await timeCpu(rawOnce);
    rawTimes.push(ms);
    rawCpu.push(cpu);
  };
  if (i % 2 === 0) await timePlan().then(timeRaw);
  else await timeRaw().then(timePlan);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const planMs = median(planTimes);
const rawMs = median(rawTimes);
const rawRows = Number((await wh.query(`select count(*) as n from ${rawTable}`)).rows[0]!.n);
if (rawRows !== plan.added + plan.changed + plan.removed) {
  throw new Error(
    `the raw diff found ${rawRows} changes, the plan ${plan.added + plan.changed + plan.removed}`,
  );
}

// 3. Apply those changes, then an unchanged rerun.
const [second] = await time(run);
const [third, unchangedMs] = await time(run);
// A run that failed is reported as such, not timed (at 10M the change run's commit has failed on the defaults).
const failure = (r: typeof second) =>
  r.status === 'success' ? undefined : `${r.status}: ${(r.error?.message ?? '').split('\n')[0]}`;
await wh.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    users,
    modelRows: plan.modelRows,
    planned: plan.added + plan.changed + plan.removed,
    planMs,
    rawMs,
    planCpuMs: median(planCpu),
    rawCpuMs: median(rawCpu),
    firstMs,
    firstRowsPerSec: (first.counts.applied / firstMs) * 1000,
    secondApplied: second.counts.applied,
    ...(failure(second) ? { changeRunFailure: failure(second) } : {}),
    unchangedMs: third.status === 'success' ? unchangedMs : null,
    ...(failure(third) ? { unchangedRunFailure: failure(third) } : {}),
    unchangedApiCalls: third.apiCalls,
    planRssBytes: peaks.plan,
    streamRssBytes: peaks.stream,
    peakRssBytes: Math.max(peaks.whole, peakRss()),
  }),
);
