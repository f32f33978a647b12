/**
 * pqlsync's state, in the warehouse's state schema (default `pqlsync_state`).
 *
 * Glossary:
 * - snapshot (`<sync>__snapshot`): per key, the row hash and values the destination ACCEPTED, with the tier.
 *   Only rows with an `applied` outcome ever enter it, so a rejected row differs next run and is sent again.
 * - failures (`<sync>__failures`): keys the destination rejected (or that stayed retryable), with the reason and
 *   attempts; they leave once accepted.
 * - journal (`<sync>__journal`): the outcomes of a run's acknowledged batches, appended per batch and folded into
 *   the snapshot and failures once, at the run's end (or by the next run, if it died); see outcome-journal.ts.
 * - runs: one row per run, written at start (`running`) and at the end, with counts, timings and the error.
 * - locks: one row per running sync with a lease; a state table is only ever written by the lock's holder.
 * - meta: the state layout version, for upgrades.
 * - mappings: per sync, the mapping its snapshot was written under (see mapping-signature.ts).
 */
import { hostname } from 'node:os';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { scrubSecrets } from '../errors/secrets.js';
import type { Change, RecordOutcome } from '../destination/destination.js';
import { PLAN_COLUMN } from '../plan/plan-table.js';
import { SqlBuilder, sqlDialect, type SqlDialect } from '../warehouse/sql-dialect.js';
import { ensureJournalTable, foldJournal, journalOutcomes } from './outcome-journal.js';
import { ensureMappingsTable } from './mapping-signature.js';
import type { Row, WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import { processAlive } from '../util/process-alive.js';

/** The layout version this code writes; `ensureStateTables` upgrades older layouts. */
export const STATE_VERSION = 1;

export const RUN_STATUSES = ['running', 'success', 'partial', 'failed', 'abandoned'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunCounts {
  added: number;
  changed: number;
  removed: number;
  invalid: number;
  retried: number;
  applied: number;
  rejected: number;
  tasks: number;
}

export const ZERO_COUNTS: RunCounts = {
  added: 0,
  changed: 0,
  removed: 0,
  invalid: 0,
  retried: 0,
  applied: 0,
  rejected: 0,
  tasks: 0,
};

export interface RunRecord {
  runId: string;
  sync: string;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  counts: RunCounts;
  apiCalls: number;
  durationMs: number | null;
  error: string | null;
  host: string;
  pid: number;
  modelHash: string | null;
  /** The share of the model's rows flagged (runner/flag-rate.ts); null for runs before it was recorded. */
  flagRate: number | null;
}

export interface LockHolder {
  sync: string;
  runId: string;
  host: string;
  pid: number;
  acquiredAt: Date;
  expiresAt: Date;
}

export class StateStore {
  readonly d: SqlDialect;

  constructor(
    readonly wh: WarehouseAdapter,
    readonly schema: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.d = sqlDialect(wh.dialect);
  }

  table(name: string): string {
    return this.d.table(this.schema, name);
  }

  snapshotTable(sync: string): string {
    return this.table(`${sync}__snapshot`);
  }

  failuresTable(sync: string): string {
    return this.table(`${sync}__failures`);
  }

  /** A per-run working table: in the dialect's scratch space when it has one, else in the state schema. */
  workTable(name: string): string {
    return this.d.scratchTable ? this.d.scratchTable(name) : this.table(name);
  }

  /** Drops a sync's per-run working tables when they live in scratch space (memory). */
  async dropWorkTables(names: readonly string[]): Promise<void> {
    if (!this.d.scratchTable) return;
    for (const n of names) await this.wh.query(`drop table if exists ${this.workTable(n)}`);
  }

  /** Creates the schema and shared tables when missing, and upgrades an older layout. */
  async ensureStateTables(): Promise<void> {
    const t = this.d.types;
    await this.wh.ensureSchema(this.schema);
    await this.wh.query(
      `create table if not exists ${this.table('meta')} (name ${t.text} not null, value ${t.text})`,
    );
    await this.wh.query(
      `create table if not exists ${this.table('runs')} (run_id ${t.text} not null, sync ${t.text} not null,
        status ${t.text} not null, started_at ${t.timestamp} not null, finished_at ${t.timestamp},
        added ${t.bigint}, changed ${t.bigint}, removed ${t.bigint}, invalid ${t.bigint}, retried ${t.bigint},
        applied ${t.bigint}, rejected ${t.bigint}, tasks ${t.bigint}, api_calls ${t.bigint}, duration_ms ${t.bigint},
        error ${t.text}, host ${t.text}, pid ${t.bigint}, model_hash ${t.text}, flag_rate ${t.double}, tier_shares ${t.text})`,
    );
    // A runs table from before the flag rate (runner/flag-rate.ts) gains its columns, before any run takes a lock.
    const runColumns = new Set(
      ((await this.wh.query(`select * from ${this.table('runs')} where 1 = 0`)).columns ?? []).map((c) =>
        c.toLowerCase(),
      ),
    );
    for (const [column, type] of [
      ['flag_rate', t.double],
      ['tier_shares', t.text],
    ] as const) {
      if (!runColumns.has(column))
        await this.wh.query(`alter table ${this.table('runs')} add column ${column} ${type}`);
    }
    await this.wh.query(
      `create table if not exists ${this.table('locks')} (sync ${t.text} not null, run_id ${t.text} not null,
        host ${t.text} not null, pid ${t.bigint} not null, acquired_at ${t.timestamp} not null,
        heartbeat_at ${t.timestamp} not null, expires_at ${t.timestamp} not null)`,
    );
    await ensureMappingsTable(this);
    const version = await this.stateVersion();
    if (version === undefined) {
      const b = new SqlBuilder(this.d);
      await this.wh.query(
        b.build(
          `insert into ${this.table('meta')} (name, value) values ('state_version', ${b.param(String(STATE_VERSION), 'string')})`,
        ),
      );
    } else if (version > STATE_VERSION) {
      throw new PqlsyncError(
        'STATE_INVALID',
        `the state schema ${this.schema} was written by a newer pqlsync (layout ${version}; this one knows ${STATE_VERSION})`,
        { hint: 'upgrade pqlsync, or point state.schema at another schema' },
      );
    }
  }

  async stateVersion(): Promise<number | undefined> {
    if (!(await this.wh.tableExists(this.schema, 'meta'))) return undefined;
    const { rows } = await this.wh.query(
      `select value from ${this.table('meta')} where name = 'state_version'`,
    );
    const v = rows[0]?.value;
    return v === undefined || v === null ? undefined : Number(v);
  }

  /** Creates a sync's snapshot, failures and journal tables when missing. */
  async ensureSyncTables(sync: string): Promise<void> {
    const t = this.d.types;
    const distinct = this.d.distinctText ?? t.text;
    // BigQuery: clustered by key, so the fold's MERGE and the plan's join read the snapshot in key order.
    await this.wh.query(
      `create table if not exists ${this.snapshotTable(sync)} (key ${distinct} not null, row_hash ${distinct} not null,
        values_json ${distinct}, tier ${t.text}, destination_id ${t.text}, synced_at ${t.timestamp} not null,
        run_id ${t.text} not null)${this.d.name === 'bigquery' ? ' cluster by key' : ''}`,
    );
    await ensureJournalTable(this, sync);
    await this.wh.query(
      `create table if not exists ${this.failuresTable(sync)} (key ${t.text} not null, reason ${t.text},
        code ${t.text}, attempts ${t.bigint} not null, first_seen ${t.timestamp} not null,
        last_seen ${t.timestamp} not null, run_id ${t.text} not null, row_hash ${t.text})`,
    );
  }

  /**
   * The row-hash recipe (plan-sync's HASH_RECIPE) of the hashes in a sync's snapshot, from `meta`
   * (`row_hash_recipe:<sync>`); 1 when not recorded (snapshots written before recipes were recorded).
   */
  async hashRecipe(sync: string): Promise<number> {
    const b = new SqlBuilder(this.d);
    const { rows } = await this.wh.query(
      b.build(
        `select value from ${this.table('meta')} where name = ${b.param(hashRecipeName(sync), 'string')}`,
      ),
    );
    const v = rows[0]?.value;
    return v === undefined || v === null ? 1 : Number(v);
  }

  /** Records the recipe (delete, then insert: a crash between the two reads as recipe 1, and carrying over is repeatable). */
  async setHashRecipe(sync: string, recipe: number): Promise<void> {
    const b = new SqlBuilder(this.d);
    await this.wh.query(
      b.build(`delete from ${this.table('meta')} where name = ${b.param(hashRecipeName(sync), 'string')}`),
    );
    const b2 = new SqlBuilder(this.d);
    await this.wh.query(
      b2.build(
        `insert into ${this.table('meta')} (name, value) values (${b2.param(hashRecipeName(sync), 'string')}, ${b2.param(String(recipe), 'string')})`,
      ),
    );
  }

  async syncTablesExist(sync: string): Promise<boolean> {
    return (
      (await this.wh.tableExists(this.schema, `${sync}__snapshot`)) &&
      (await this.wh.tableExists(this.schema, `${sync}__failures`))
    );
  }

  // ---- locks -------------------------------------------------------------------------------------------

  /**
   * Takes the sync's lock for `runId`, or throws STATE_LOCK_HELD naming the holder. A lock whose lease expired,
   * or whose holder process on this host is gone, is taken over (its running run is marked abandoned).
   */
  async acquireLock(sync: string, runId: string, leaseSeconds: number): Promise<void> {
    const now = this.now();
    await concurrentUpdateMeansHeld(sync, () => this.takeLock(sync, runId, leaseSeconds, now));
    // No warehouse here enforces a unique key on `locks`, so two runs can both find no holder and both insert.
    // Once committed, a run that sees another run's row backs off; if both see each other, both back off (the next
    // schedule runs), which is safe where two runs at once are not.
    const b = new SqlBuilder(this.d);
    const { rows: others } = await this.wh.query(
      b.build(
        `select run_id from ${this.table('locks')} where sync = ${b.param(sync, 'string')} and run_id <> ${b.param(runId, 'string')}`,
      ),
    );
    if (others.length > 0) {
      await this.releaseLock(sync, runId);
      throw lockHeldError(sync, await this.lockHolder(sync));
    }
  }

  /**
   * One transaction: the holder is read; a live one refuses, a stale one is marked abandoned and ITS row deleted
   * (by run id: a competitor that took the lock meanwhile keeps its row, and the check after commit sees it).
   */
  private async takeLock(sync: string, runId: string, leaseSeconds: number, now: Date): Promise<void> {
    await this.wh.transaction(async (tx) => {
      const store = new StateStore(tx, this.schema, this.now);
      const holder = await store.lockHolder(sync);
      if (holder) {
        const expired = holder.expiresAt.getTime() <= now.getTime();
        const deadHere = holder.host === hostname() && !processAlive(holder.pid);
        if (!expired && !deadHere) throw lockHeldError(sync, holder);
        await store.markAbandoned(holder.runId, expired ? 'lease expired' : 'holder process is gone');
        const b = new SqlBuilder(this.d);
        await tx.query(
          b.build(
            `delete from ${this.table('locks')} where sync = ${b.param(sync, 'string')} and run_id = ${b.param(holder.runId, 'string')}`,
          ),
        );
      }
      const b = new SqlBuilder(this.d);
      const expires = new Date(now.getTime() + leaseSeconds * 1000);
      await tx.query(
        b.build(
          `insert into ${this.table('locks')} (sync, run_id, host, pid, acquired_at, heartbeat_at, expires_at)
           values (${b.param(sync, 'string')}, ${b.param(runId, 'string')}, ${b.param(hostname(), 'string')},
             ${b.param(process.pid, 'integer')}, ${b.param(now, 'timestamp')}, ${b.param(now, 'timestamp')},
             ${b.param(expires, 'timestamp')})`,
        ),
      );
    });
  }

  /**
   * Extends the lease (the runner calls it between batches). Throws STATE_LOCK_HELD when the run no longer holds
   * the lock (another run took it over after the lease expired): the run must stop sending and writing state.
   */
  async heartbeat(sync: string, runId: string, leaseSeconds: number): Promise<void> {
    const now = this.now();
    const b = new SqlBuilder(this.d);
    const { rowsAffected } = await concurrentUpdateMeansHeld(sync, () =>
      this.wh.query(
        b.build(
          `update ${this.table('locks')} set heartbeat_at = ${b.param(now, 'timestamp')},
           expires_at = ${b.param(new Date(now.getTime() + leaseSeconds * 1000), 'timestamp')}
         where sync = ${b.param(sync, 'string')} and run_id = ${b.param(runId, 'string')}`,
        ),
      ),
    );
    const held =
      rowsAffected !== undefined
        ? rowsAffected > 0
        : (await this.lockHolder(sync).then((h) => h?.runId)) === runId;
    if (!held) {
      const holder = await this.lockHolder(sync);
      throw new PqlsyncError(
        'STATE_LOCK_HELD',
        `this run lost its lock${holder ? ` to run ${holder.runId} on ${holder.host} (pid ${holder.pid})` : ''}: its lease ran out before the heartbeat; stopped sending`,
        {
          location: { sync },
          hint: 'raise scheduler.lock_lease_seconds above the longest pause between batches (CRM rate limits, retries)',
        },
      );
    }
  }

  async releaseLock(sync: string, runId: string): Promise<void> {
    const b = new SqlBuilder(this.d);
    await this.wh.query(
      b.build(
        `delete from ${this.table('locks')} where sync = ${b.param(sync, 'string')} and run_id = ${b.param(runId, 'string')}`,
      ),
    );
  }

  async lockHolder(sync: string): Promise<LockHolder | undefined> {
    const b = new SqlBuilder(this.d);
    const { rows } = await this.wh.query(
      b.build(
        `select sync, run_id, host, pid, acquired_at, expires_at from ${this.table('locks')} where sync = ${b.param(sync, 'string')}`,
      ),
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      sync: String(r.sync),
      runId: String(r.run_id),
      host: String(r.host),
      pid: Number(r.pid),
      acquiredAt: toDate(r.acquired_at),
      expiresAt: toDate(r.expires_at),
    };
  }

  // ---- runs --------------------------------------------------------------------------------------------

  async startRun(run: {
    runId: string;
    sync: string;
    startedAt: Date;
    modelHash: string | null;
  }): Promise<void> {
    const b = new SqlBuilder(this.d);
    await this.wh.query(
      b.build(
        `insert into ${this.table('runs')} (run_id, sync, status, started_at, host, pid, model_hash)
         values (${b.param(run.runId, 'string')}, ${b.param(run.sync, 'string')}, 'running',
           ${b.param(run.startedAt, 'timestamp')}, ${b.param(hostname(), 'string')}, ${b.param(process.pid, 'integer')},
           ${b.param(run.modelHash, 'string')})`,
      ),
    );
  }

  /**
   * Writes a run's end. `late`: the run's own process could not (unrecorded-runs.ts): its finish time, and the
   * row is only written while still `running` or `abandoned`. (Default: now, always written)
   */
  async finishRun(
    runId: string,
    status: RunStatus,
    counts: RunCounts,
    apiCalls: number,
    durationMs: number,
    error: string | null,
    late?: { finishedAt: Date },
  ): Promise<void> {
    const b = new SqlBuilder(this.d);
    const sets = (Object.keys(counts) as (keyof RunCounts)[]).map(
      (k) => `${k} = ${b.param(counts[k], 'integer')}`,
    );
    await this.wh.query(
      b.build(
        `update ${this.table('runs')} set status = ${b.param(status, 'string')}, finished_at = ${b.param(late?.finishedAt ?? this.now(), 'timestamp')},
           ${sets.join(', ')}, api_calls = ${b.param(apiCalls, 'integer')}, duration_ms = ${b.param(durationMs, 'integer')},
           error = ${b.param(error === null ? null : scrubSecrets(error), 'string')}
         where run_id = ${b.param(runId, 'string')}${late ? ` and status in ('running', 'abandoned')` : ''}`,
      ),
    );
  }

  async markAbandoned(runId: string, why: string): Promise<void> {
    const b = new SqlBuilder(this.d);
    await this.wh.query(
      b.build(
        `update ${this.table('runs')} set status = 'abandoned', finished_at = ${b.param(this.now(), 'timestamp')},
           error = ${b.param(`abandoned: ${why}`, 'string')}
         where run_id = ${b.param(runId, 'string')} and status = 'running'`,
      ),
    );
  }

  async listRuns(sync: string | undefined, limit: number): Promise<RunRecord[]> {
    if (!(await this.wh.tableExists(this.schema, 'runs'))) return [];
    const b = new SqlBuilder(this.d);
    const where = sync ? `where sync = ${b.param(sync, 'string')}` : '';
    const { rows } = await this.wh.query(
      b.build(
        `select * from ${this.table('runs')} ${where} order by started_at desc limit ${Math.max(1, Math.trunc(limit))}`,
      ),
    );
    return rows.map(toRunRecord);
  }

  // ---- commit ------------------------------------------------------------------------------------------

  /**
   * Commits one written batch at once: its outcomes are journaled and the journal folded (outcome-journal.ts).
   * A run journals each batch and folds once at its end instead; this is for callers with one batch.
   */
  async commitBatch(
    sync: string,
    runId: string,
    changes: readonly Change[],
    outcomes: readonly RecordOutcome[],
    tierOf: (change: Change) => string | null = () => null,
  ): Promise<void> {
    await journalOutcomes(this, { sync, runId, batchNo: 1, changes, outcomes, tierOf, at: this.now() });
    await foldJournal(this, sync);
  }

  /**
   * Forgets the rows a plan marked removed, without sending anything: outside mirror mode a row that left the
   * model leaves the snapshot (and failures), so it is sent again if it comes back. One transaction: a crash
   * between the two deletes would leave a failures row for a key in neither the model nor the snapshot, which no
   * later run plans or prunes.
   */
  async forgetRemoved(sync: string, planTable: string): Promise<void> {
    const removed = `select ${PLAN_COLUMN.key} from ${planTable} where ${PLAN_COLUMN.op} = 'removed'`;
    await this.wh.transaction(async (tx) => {
      await tx.query(`delete from ${this.snapshotTable(sync)} where key in (${removed})`);
      await tx.query(`delete from ${this.failuresTable(sync)} where key in (${removed})`);
    });
  }

  /**
   * Failures with nothing left to retry: the row now equals the snapshot again (the model moved back), or the row
   * left the model before it was ever accepted (so it is in neither the model nor the snapshot, and no plan has it).
   * Every key in failures that is still in the model is in the plan (as a retry, or parked), with its row hash.
   */
  async pruneResolvedFailures(sync: string, planTable: string): Promise<void> {
    // Usually there are none: then the joins with the whole snapshot and plan are skipped (at 10M rows DuckDB built
    // a hash table of the plan's keys for them; BigQuery bills both scans).
    const { rows } = await this.wh.query(`select count(*) as n from ${this.failuresTable(sync)}`);
    if (Number(rows[0]?.n ?? 0) === 0) return;
    await this.wh.query(
      `delete from ${this.failuresTable(sync)} where key in (
         select f.key from ${this.failuresTable(sync)} f
         join ${this.snapshotTable(sync)} s on s.key = f.key
         join ${planTable} p on p.${PLAN_COLUMN.key} = f.key and p.${PLAN_COLUMN.hash} = s.row_hash)
       or key not in (select ${PLAN_COLUMN.key} from ${planTable} where ${PLAN_COLUMN.key} is not null)`,
    );
  }

  async failures(sync: string): Promise<Row[]> {
    return (await this.wh.query(`select * from ${this.failuresTable(sync)} order by key`)).rows;
  }

  /**
   * The sync's failures as records, most recently seen first (`pqlsync failures`, a partial run's rejection
   * summary). With `runIds`, only those the given runs saw last. A sync that never ran has none.
   */
  async listFailures(sync: string, runIds?: readonly string[]): Promise<FailureRecord[]> {
    if (!(await this.wh.tableExists(this.schema, `${sync}__failures`))) return [];
    if (runIds && runIds.length === 0) return [];
    const b = new SqlBuilder(this.d);
    const where = runIds ? `where ${this.d.inList('run_id', b, [...runIds])}` : '';
    const { rows } = await this.wh.query(
      b.build(
        `select key, code, reason, attempts, first_seen, last_seen, run_id from ${this.failuresTable(sync)} ${where}
         order by last_seen desc, key`,
      ),
    );
    return rows.map((r) => ({
      sync,
      key: String(r.key),
      code: r.code === null || r.code === undefined ? null : String(r.code),
      reason: String(r.reason ?? ''),
      attempts: Number(r.attempts),
      firstSeen: toDate(r.first_seen),
      lastSeen: toDate(r.last_seen),
      runId: String(r.run_id),
    }));
  }
}

/** A row of `<sync>__failures`: a record the CRM refused (or that stayed retryable), retried every run. */
export interface FailureRecord {
  sync: string;
  key: string;
  /** The CRM's error code (`INVALID_EMAIL_ADDRESS`, `CONFLICT`...), when it gave one. */
  code: string | null;
  /** The CRM's message, scrubbed of secrets. */
  reason: string;
  attempts: number;
  firstSeen: Date;
  lastSeen: Date;
  /** The run that saw it last. */
  runId: string;
}

/**
 * A lock statement refused because another transaction changed the table at the same moment means another run is
 * taking the lock (exit 4, not 1): BigQuery aborts a transaction on a concurrent update; Redshift's serializable
 * isolation refuses it (error 1023).
 */
async function concurrentUpdateMeansHeld<T>(sync: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (
      /aborted due to concurrent update|could not serialize access due to concurrent update|\b1023\b.*serializable isolation violation|serializable isolation violation/i.test(
        message,
      )
    ) {
      throw new PqlsyncError(
        'STATE_LOCK_HELD',
        'another run was taking the lock at the same moment; this one stood back',
        {
          location: { sync },
          hint: 'run again: one of the two holds the lock now, or neither does',
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** The `meta` row that holds a sync's row-hash recipe. */
export function hashRecipeName(sync: string): string {
  return `row_hash_recipe:${sync}`;
}

function lockHeldError(sync: string, holder: LockHolder | undefined): PqlsyncError {
  if (!holder) {
    return new PqlsyncError(
      'STATE_LOCK_HELD',
      'another run took the lock at the same moment; both stood back',
      {
        location: { sync },
        hint: 'run again: the lock is free',
      },
    );
  }
  return new PqlsyncError(
    'STATE_LOCK_HELD',
    `another run holds the lock: run ${holder.runId} on ${holder.host} (pid ${holder.pid}) since ${holder.acquiredAt.toISOString()}`,
    {
      location: { sync },
      hint: `the lease expires at ${holder.expiresAt.toISOString()} unless renewed`,
      details: { holder },
    },
  );
}

export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  return new Date(String(v));
}

function toRunRecord(r: Row): RunRecord {
  const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  return {
    runId: String(r.run_id),
    sync: String(r.sync),
    status: String(r.status) as RunStatus,
    startedAt: toDate(r.started_at),
    finishedAt: r.finished_at === null || r.finished_at === undefined ? null : toDate(r.finished_at),
    counts: {
      added: n(r.added),
      changed: n(r.changed),
      removed: n(r.removed),
      invalid: n(r.invalid),
      retried: n(r.retried),
      applied: n(r.applied),
      rejected: n(r.rejected),
      tasks: n(r.tasks),
    },
    apiCalls: n(r.api_calls),
    durationMs: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
    error: r.error === null || r.error === undefined ? null : String(r.error),
    host: String(r.host ?? ''),
    pid: n(r.pid),
    modelHash: r.model_hash === null || r.model_hash === undefined ? null : String(r.model_hash),
    flagRate: r.flag_rate === null || r.flag_rate === undefined ? null : Number(r.flag_rate),
  };
}
