/**
 * The outcome journal (`<sync>__journal`, in the state schema): how a run commits what the CRM did without a DML
 * statement on the snapshot per batch.
 *
 * Each batch, once the CRM acknowledged it, only INSERTs its outcomes into the journal (key, kind, outcome, row
 * hash, stored values, tier, reason): an append, cheap on every warehouse (no DELETE that scans the snapshot). At
 * the run's end ONE fold applies the journal to the snapshot and failures and clears it, in one transaction; a
 * run that died leaves its journal for the next run, which folds it after taking the lock and before planning.
 *
 * Crash safety: a journal row is written only after the CRM acknowledged its record, and every journal row stands
 * alone (a half-written batch is still right as far as it goes); a crash between a batch's insert and the fold
 * loses nothing (the next run folds it, so those records are not sent again), and a crash before the insert
 * resends only that batch (upserts by external id, so nothing is duplicated).
 *
 * The fold, per dialect (statements touching the snapshot, per run):
 * - MERGE (DuckDB, BigQuery, Snowflake): one MERGE into the snapshot, one into failures.
 * - delete + insert (Postgres 12+, Redshift, whose MERGE takes one WHEN MATCHED without conditions): a DELETE and
 *   an INSERT on the snapshot; DELETE, UPDATE and INSERT on failures.
 * Then one DELETE of the folded journal rows. A key appears once per run; should it appear more than once (a run
 * that lost its lock and wrote on), the latest outcome wins.
 *
 * A `skipped` outcome (a converted Lead, which the CRM refuses for good) folds as an applied one: the key enters
 * the snapshot with its values (so it is not sent again until they change) and leaves failures. Its journal row
 * keeps the record id the snapshot held when the CRM did not name it, so the read-back still finds the record.
 */
import { scrubSecrets } from '../errors/secrets.js';
import type { Change, RecordOutcome } from '../destination/destination.js';
import { snapshotValues } from '../plan/plan-table.js';
import { queryByList, SqlBuilder } from '../warehouse/sql-dialect.js';
import type { StateStore } from './state-store.js';

export const JOURNAL_COLUMNS = [
  'run_id',
  'batch_no',
  'key',
  'kind',
  'status',
  'row_hash',
  'values_json',
  'tier',
  'destination_id',
  'reason',
  'code',
  'attempts',
  'recorded_at',
] as const;

/** Warehouses whose MERGE takes conditional WHEN clauses (`when matched and ... then delete`). */
const MERGE_DIALECTS: ReadonlySet<string> = new Set(['duckdb', 'bigquery', 'snowflake']);

/** The outcomes the snapshot takes (and failures drop): applied, and skipped for good. */
const SENT = "('applied', 'skipped')";

export function journalTableName(sync: string): string {
  return `${sync}__journal`;
}

export async function ensureJournalTable(store: StateStore, sync: string): Promise<void> {
  const t = store.d.types;
  await store.wh.query(
    `create table if not exists ${store.table(journalTableName(sync))} (run_id ${t.text} not null,
      batch_no ${t.bigint} not null, key ${t.text} not null, kind ${t.text} not null, status ${t.text} not null,
      row_hash ${t.text}, values_json ${t.text}, tier ${t.text}, destination_id ${t.text}, reason ${t.text},
      code ${t.text}, attempts ${t.bigint} not null, recorded_at ${t.timestamp} not null)`,
  );
}

/**
 * Appends one acknowledged batch's outcomes to the journal: one insert, nothing deleted (and nothing read, unless
 * a skipped outcome lacks its record id: then the snapshot's ids of those keys). Changes without an outcome are
 * left out, so they are planned again next run.
 */
export async function journalOutcomes(
  store: StateStore,
  input: {
    sync: string;
    runId: string;
    batchNo: number;
    changes: readonly Change[];
    outcomes: readonly RecordOutcome[];
    tierOf: (change: Change) => string | null;
    at: Date;
  },
): Promise<void> {
  const byKey = new Map(input.outcomes.map((o) => [o.key, o]));
  const unnamed = input.outcomes.filter((o) => o.status === 'skipped' && !o.destinationId).map((o) => o.key);
  const known = new Map<string, unknown>();
  if (unnamed.length > 0)
    for (const r of await queryByList(
      store.wh,
      store.d,
      unnamed,
      (b, list) =>
        `select key, destination_id from ${store.snapshotTable(input.sync)} where ${store.d.inList('key', b, list)}`,
    ))
      known.set(String(r.key), r.destination_id);
  const rows: unknown[][] = [];
  for (const c of input.changes) {
    const o = byKey.get(c.key);
    if (!o) continue;
    const sent = o.status === 'applied' || o.status === 'skipped';
    const kept = sent && c.kind !== 'removed';
    rows.push([
      input.runId,
      input.batchNo,
      c.key,
      c.kind,
      o.status,
      c.rowHash,
      kept ? JSON.stringify(snapshotValues(c)) : null,
      kept ? input.tierOf(c) : null,
      sent ? (o.destinationId ?? known.get(c.key) ?? null) : null,
      o.status === 'applied' ? null : scrubSecrets(o.reason).slice(0, 4000),
      o.status === 'applied' ? null : (o.code ?? null),
      c.attempts,
      input.at,
    ]);
  }
  if (rows.length === 0) return;
  await store.wh.insertRows(`${store.schema}.${journalTableName(input.sync)}`, JOURNAL_COLUMNS, rows);
}

export interface FoldResult {
  /** Journal rows folded (0: the journal was empty, and only one count was read). */
  folded: number;
  /** The runs whose outcomes were folded. */
  runIds: string[];
}

/**
 * Applies the journal to the snapshot and failures and clears it, in one transaction: applied rows enter the
 * snapshot (removed ones leave it) and leave failures; rejected and retryable rows are upserted into failures with
 * attempts + 1 (first_seen kept). Only rows recorded up to the latest time read first are folded and cleared, so
 * a row a late writer appends meanwhile waits for the next fold instead of being cleared unfolded.
 */
export async function foldJournal(store: StateStore, sync: string): Promise<FoldResult> {
  const { d, wh } = store;
  const journal = store.table(journalTableName(sync));
  const { rows } = await wh.query(
    `select run_id, count(*) as n, max(recorded_at) as last_at from ${journal} group by run_id`,
  );
  if (rows.length === 0) return { folded: 0, runIds: [] };
  const cutoff = new Date(Math.max(...rows.map((r) => toDate(r.last_at).getTime())));
  const folded = rows.reduce((n, r) => n + Number(r.n), 0);
  const snapshot = store.snapshotTable(sync);
  const failures = store.failuresTable(sync);
  // Cast: Snowflake's driver binds a timestamp as text.
  const at = (b: SqlBuilder) => `cast(${b.param(cutoff, 'timestamp', 'cutoff')} as ${d.types.timestamp})`;
  // A key is journaled once per run, so keys repeat only when a run that lost its lock wrote on: only then is the
  // latest outcome per key picked (a window over the whole journal, which a 1M-row first sync would sort in memory).
  const { rows: counted } = await wh.query(
    `select count(*) - count(distinct key) as repeats from ${journal}`,
  );
  const repeats = Number(counted[0]?.repeats ?? 0) > 0;
  /** The journal up to the cutoff (the latest outcome per key when keys repeat). */
  const latest = (b: SqlBuilder, where = '') =>
    repeats
      ? `(select * from (select j0.*, row_number() over (partition by j0.key order by j0.recorded_at desc, j0.batch_no desc) as journal_rank
       from ${journal} j0 where j0.recorded_at <= ${at(b)}) j1
     where journal_rank = 1${where})`
      : `(select * from ${journal} j1 where recorded_at <= ${at(b)}${where})`;
  const statements: ((b: SqlBuilder) => string)[] = MERGE_DIALECTS.has(d.name)
    ? [
        (b) => `merge into ${snapshot} s using ${latest(b, ` and status in ${SENT}`)} j on s.key = j.key
when matched and j.kind = 'removed' then delete
when matched then update set row_hash = j.row_hash, values_json = j.values_json, tier = j.tier,
  destination_id = j.destination_id, synced_at = j.recorded_at, run_id = j.run_id
when not matched and j.kind <> 'removed' then insert (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
  values (j.key, j.row_hash, j.values_json, j.tier, j.destination_id, j.recorded_at, j.run_id)`,
        (b) => `merge into ${failures} f using ${latest(b)} j on f.key = j.key
when matched and j.status in ${SENT} then delete
when matched then update set reason = j.reason, code = j.code, attempts = f.attempts + 1, last_seen = j.recorded_at,
  run_id = j.run_id, row_hash = j.row_hash
when not matched and j.status not in ${SENT} then insert (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
  values (j.key, j.reason, j.code, j.attempts + 1, j.recorded_at, j.recorded_at, j.run_id, j.row_hash)`,
      ]
    : [
        (b) =>
          `delete from ${snapshot} where key in (select key from ${latest(b, ` and status in ${SENT}`)} j)`,
        (b) => `insert into ${snapshot} (key, row_hash, values_json, tier, destination_id, synced_at, run_id)
select key, row_hash, values_json, tier, destination_id, recorded_at, run_id from ${latest(b, ` and status in ${SENT} and kind <> 'removed'`)} j`,
        (b) =>
          `delete from ${failures} where key in (select key from ${latest(b, ` and status in ${SENT}`)} j)`,
        (b) => `update ${failures} set reason = j.reason, code = j.code, attempts = ${failures}.attempts + 1,
  last_seen = j.recorded_at, run_id = j.run_id, row_hash = j.row_hash
from ${latest(b, ` and status not in ${SENT}`)} j where ${failures}.key = j.key`,
        (b) => `insert into ${failures} (key, reason, code, attempts, first_seen, last_seen, run_id, row_hash)
select key, reason, code, attempts + 1, recorded_at, recorded_at, run_id, row_hash from ${latest(b, ` and status not in ${SENT}`)} j
where not exists (select 1 from ${failures} f where f.key = j.key)`,
      ];
  statements.push((b) => `delete from ${journal} where recorded_at <= ${at(b)}`);
  await wh.transaction(async (tx) => {
    for (const statement of statements) {
      const b = new SqlBuilder(d);
      await tx.query(b.build(statement(b)));
    }
  });
  return { folded, runIds: rows.map((r) => String(r.run_id)).sort() };
}

/** Journal rows not folded yet (0 when the sync never ran). */
export async function unfoldedOutcomes(store: StateStore, sync: string): Promise<number> {
  if (!(await store.wh.tableExists(store.schema, journalTableName(sync)))) return 0;
  const { rows } = await store.wh.query(`select count(*) as n from ${store.table(journalTableName(sync))}`);
  return Number(rows[0]?.n ?? 0);
}

function toDate(v: unknown): Date {
  return v instanceof Date ? v : new Date(String(v));
}
