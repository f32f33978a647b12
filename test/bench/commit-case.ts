/**
 * One commit-cost case in its own process: a sync of 1M rows (the snapshot written straight from a plan, without a
 * 1M first sync through the sandboxes), then 1% of the rows changed and sent in 100-row batches. Counts the DML
 * statements of that run that touch the snapshot (target: at most 3, whatever the batch count) and all the state
 * DML it sends; on BigQuery, the bytes each DML statement would bill, from a dry run (jobs.insert with
 * `dryRun: true`, `statistics.totalBytesProcessed`) made by a second client just before the statement runs, and the
 * same estimate for the DELETE per batch that committed state before the outcome journal. Prints one JSON line.
 *
 * `node commit-case.js <duckdb|postgres|bigquery|snowflake> [rows]`; postgres reads BENCH_POSTGRES_URL.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import type { Destination, RecordOutcome, WriteBatch } from '../../src/destination/destination.js';
import { planSync } from '../../src/plan/plan-sync.js';
import { runSync, syncTarget } from '../../src/runner/run-sync.js';
import { StateStore } from '../../src/state/state-store.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { BigqueryAdapter } from '../../src/warehouse/bigquery/bigquery-adapter.js';
import { BigquerySandbox } from '../../src/warehouse/bigquery/sandbox/bigquery-sandbox.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import { SnowflakeSandbox } from '../../src/warehouse/snowflake/sandbox/snowflake-sandbox.js';
import { SnowflakeAdapter } from '../../src/warehouse/snowflake/snowflake-adapter.js';
import { SqlBuilder, sqlDialect } from '../../src/warehouse/sql-dialect.js';
import type {
  BoundSql,
  QueryResult,
  Row,
  StreamOptions,
  WarehouseAdapter,
} from '../../src/warehouse/warehouse-adapter.js';

setLogger(createLogger({ level: 'silent' }));
const kind = process.argv[2] ?? 'duckdb';
const rows = Number(process.argv[3] ?? 1_000_000);
const BATCH = 100;

/** Accepts everything: the case measures the commit, not a CRM. */
class NullDestination implements Destination {
  readonly type = 'null';
  calls = 0;
  capabilities() {
    return { batchSize: BATCH, modes: ['update', 'upsert', 'mirror'] as const };
  }
  async preflight() {}
  async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    this.calls++;
    return batch.changes.map((c) => ({ key: c.key, status: 'applied' as const }));
  }
  apiCalls() {
    return this.calls;
  }
  async close() {}
}

const DML = /^\s*(insert|update|delete|merge)\b/i;
const SNAPSHOT_DML = /^\s*(insert\s+into|update|delete\s+from|merge\s+into)\s+\S*users__snapshot\b/i;

/** Counts the state DML a run sends (and, given an estimator, the bytes each would bill) as it passes. */
class CountingWarehouse implements WarehouseAdapter {
  readonly dialect: WarehouseAdapter['dialect'];
  constructor(
    private readonly inner: WarehouseAdapter,
    readonly tally: { snapshotDml: number; stateDml: number; bytes: number },
    private readonly estimate?: (sql: BoundSql) => Promise<number>,
  ) {
    this.dialect = inner.dialect;
  }
  private async count(sql: BoundSql | string): Promise<void> {
    const text = typeof sql === 'string' ? sql : sql.sql;
    if (!DML.test(text)) return;
    this.tally.stateDml++;
    if (SNAPSHOT_DML.test(text)) this.tally.snapshotDml++;
    if (this.estimate)
      this.tally.bytes += await this.estimate(
        typeof sql === 'string' ? { dialect: this.dialect, sql, params: [] } : sql,
      );
  }
  connect() {
    return this.inner.connect();
  }
  async query(sql: BoundSql | string): Promise<QueryResult> {
    await this.count(sql);
    return this.inner.query(sql);
  }
  stream(sql: BoundSql | string, options?: StreamOptions): AsyncIterable<Row[]> {
    return this.inner.stream(sql, options);
  }
  transaction<T>(fn: (tx: WarehouseAdapter) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => fn(new CountingWarehouse(tx, this.tally, this.estimate)));
  }
  quoteIdentifier(name: string) {
    return this.inner.quoteIdentifier(name);
  }
  quoteQualified(name: string) {
    return this.inner.quoteQualified(name);
  }
  tableExists(schema: string, table: string) {
    return this.inner.tableExists(schema, table);
  }
  ensureSchema(schema: string) {
    return this.inner.ensureSchema(schema);
  }
  async insertRows(table: string, columns: readonly string[], values: readonly unknown[][]) {
    // One insert of the rows (an adapter may slice it into several statements; none scans a table).
    this.tally.stateDml++;
    if (/users__snapshot$/.test(table)) this.tally.snapshotDml++;
    return this.inner.insertRows(table, columns, values);
  }
  close() {
    return this.inner.close();
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-commit-bench-'));
const stops: (() => Promise<void>)[] = [];
let estimator: BigqueryAdapter | undefined;
const open = async (): Promise<WarehouseAdapter> => {
  if (kind === 'postgres') return new PostgresAdapter({ url: process.env.BENCH_POSTGRES_URL! });
  if (kind === 'bigquery') {
    const sandbox = new BigquerySandbox({ token: 'bench' });
    const url = await sandbox.start();
    stops.push(() => sandbox.stop());
    const client = () => new BigqueryAdapter({ projectId: 'bench', apiEndpoint: url, accessToken: 'bench' });
    estimator = client();
    await estimator.connect();
    return client();
  }
  if (kind === 'snowflake') {
    const sandbox = new SnowflakeSandbox({ username: 'bench', password: 'bench-password' });
    const url = await sandbox.start();
    stops.push(() => sandbox.stop());
    return new SnowflakeAdapter({
      account: 'bench',
      username: 'bench',
      password: 'bench-password',
      database: 'SANDBOX',
      accessUrl: url,
    });
  }
  return new DuckdbAdapter({ path: path.join(dir, 'wh.duckdb'), threads: 2 });
};

const wh = await open();
await wh.connect();
const d = sqlDialect(wh.dialect);
const series = kind === 'postgres' ? `generate_series(1, ${rows}) t(i)` : `range(1, ${rows + 1}) t(i)`;
await wh.ensureSchema('bench');
await wh.query(
  d.createTableAs(
    d.table('bench', 'scores'),
    `select i as user_id, 'user' || cast(i as ${d.types.text}) || '@example.com' as email,
       cast(mod(cast(i as ${d.types.bigint}) * 7919, 100) as ${d.types.bigint}) as pql_score from ${series}`,
  ),
);

mkdirSync(path.join(dir, 'config'));
mkdirSync(path.join(dir, 'models'));
writeFileSync(
  path.join(dir, 'models', 'scores.sql'),
  `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email, pql_score from ${d.table('bench', 'scores')}\n`,
);
writeFileSync(
  path.join(dir, 'config', 'pqlsync.yml'),
  `warehouse: { type: duckdb, path: wh.duckdb }
destinations: { out: { type: file } }
syncs:
  users:
    model: scores
    destination: out
    object: Lead
    match: { field: Ext__c }
    fields: { Email: email, PQL_Score__c: pql_score }
`,
);
const loaded = loadConfig(path.join(dir, 'config', 'pqlsync.yml'));

// The snapshot of a sync that sent every row: written from a plan in the warehouse, as a first sync would leave it.
const store = new StateStore(wh, 'pqlsync_state');
await store.ensureStateTables();
await store.ensureSyncTables('users');
const target = syncTarget('users', loaded.config.syncs.users!, 'user_id');
const model = {
  dialect: wh.dialect,
  sql: `select user_id, email, pql_score from ${d.table('bench', 'scores')}`,
  params: [],
};
const seeded = await planSync({ store, target, model, keyColumn: 'user_id', modelFile: 'models/scores.sql' });
await wh.query(
  `insert into ${store.snapshotTable('users')} (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
   select __pqlsync_pk, __pqlsync_hash, '{}', cast(null as ${d.types.text}), cast(null as ${d.types.text}), ${d.now()}, 'seed'
   from ${seeded.planTable} where __pqlsync_op = 'added'`,
);
await store.dropWorkTables(seeded.workTables);

// 1% changed.
await wh.query(
  `update ${d.table('bench', 'scores')} set pql_score = pql_score + 1 where mod(user_id, 100) = 0`,
);

const tally = { snapshotDml: 0, stateDml: 0, bytes: 0 };
const estimate = estimator ? async (sql: BoundSql) => (await estimator!.estimateBytes(sql)) ?? 0 : undefined;
// The statement that committed each batch before the journal deleted that batch's keys from the snapshot.
let perBatchDeleteBytes: number | undefined;
if (estimate) {
  const b = new SqlBuilder(d);
  const keys = Array.from({ length: BATCH }, (_, i) => String((i + 1) * 100));
  perBatchDeleteBytes = await estimate(
    b.build(`delete from ${store.snapshotTable('users')} where ${d.inList('key', b, keys)}`),
  );
}
const dest = new NullDestination();
const t = performance.now();
const summary = await runSync({
  loaded,
  warehouse: new CountingWarehouse(wh, tally, estimate),
  syncName: 'users',
  destination: async () => dest,
});
const runMs = performance.now() - t;
if (summary.status !== 'success') throw new Error(JSON.stringify(summary.error));
await estimator?.close();
await wh.close();
for (const stop of stops) await stop();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    warehouse: kind,
    rows,
    changed: summary.counts.changed,
    batches: dest.calls,
    snapshotDml: tally.snapshotDml,
    stateDml: tally.stateDml,
    runMs,
    ...(estimate ? { dmlBytes: tally.bytes, perBatchDeleteBytes: perBatchDeleteBytes! * dest.calls } : {}),
  }),
);
