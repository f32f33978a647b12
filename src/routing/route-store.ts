/**
 * Routing state in the warehouse's state schema, next to the snapshot:
 * - `task_log`: one row per task key (CRM record, tier, transition date): `pending` is written BEFORE the
 *   task is sent, with the whole task (owner, due time, text) as JSON; `created` (with the CRM id) or `failed`
 *   after. A rerun that meets a pending or failed row resends that same task under the same key, and the CRM's
 *   unique task key turns a second send into a no-op, so a crash between creation and commit never duplicates.
 *   Created rows inside the cooldown stop new tasks for the same record and tier.
 * - record key (`record_key`): the CRM record a row is about, as destination, object and match value. The history
 *   follows it, not the sync's name, so a renamed sync (or another sync writing the same record) finds the tasks
 *   already created. Rows written before the column existed have none; they are found by sync and entity key.
 * - `route_state`: round-robin cursors per sync and rule, written in the same transaction as the pending rows.
 * - `account_owners`: per account (its record key), the owner routing gave it when the CRM account had none
 *   (per-account routing); written with the pending rows, and kept, so an account's tasks keep one owner.
 * Only the run holding the sync's lock writes them.
 */
import { SqlBuilder } from '../warehouse/sql-dialect.js';
import { toDate, type StateStore } from '../state/state-store.js';
import type { TaskSpec } from './task-writer.js';

export const TASK_STATUSES = ['pending', 'created', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskLogEntry {
  sync: string;
  entityKey: string;
  /** recordKey(destination, object, match value); null on rows written before record keys. */
  recordKey: string | null;
  tier: string;
  previousTier: string | null;
  taskKey: string;
  status: TaskStatus;
  rule: string;
  task: TaskSpec;
  taskId: string | null;
  reason: string | null;
  runId: string;
  /** When the transition was first routed (the cooldown counts from it). */
  loggedAt: Date;
  updatedAt: Date;
}

const COLUMNS = [
  'sync',
  'entity_key',
  'tier',
  'previous_tier',
  'task_key',
  'status',
  'rule',
  'owner_id',
  'due_at',
  'task_json',
  'task_id',
  'reason',
  'run_id',
  'logged_at',
  'updated_at',
  'record_key',
] as const;

/** The CRM record a task is about: destination name, object and match value, as one text. */
export function recordKey(destination: string, object: string, matchValue: string): string {
  return JSON.stringify([destination, object, matchValue]);
}

export class RouteStore {
  /** task_log has record_key (undefined until looked at). */
  private recordKeys: boolean | undefined;

  constructor(readonly state: StateStore) {}

  private get taskLog(): string {
    return this.state.table('task_log');
  }

  private get routeState(): string {
    return this.state.table('route_state');
  }

  private get accountOwnersTable(): string {
    return this.state.table('account_owners');
  }

  async ensureTables(): Promise<void> {
    const t = this.state.d.types;
    await this.state.wh.query(
      `create table if not exists ${this.taskLog} (sync ${t.text} not null, entity_key ${t.text} not null,
        tier ${t.text} not null, previous_tier ${t.text}, task_key ${t.text} not null, status ${t.text} not null,
        rule ${t.text}, owner_id ${t.text}, due_at ${t.timestamp}, task_json ${t.text}, task_id ${t.text},
        reason ${t.text}, run_id ${t.text} not null, logged_at ${t.timestamp} not null,
        updated_at ${t.timestamp} not null, record_key ${t.text})`,
    );
    // A task_log from before record keys: add the column (its rows keep null and are found by sync and key).
    if (!(await this.hasRecordKeys())) {
      await this.state.wh.query(`alter table ${this.taskLog} add column record_key ${t.text}`);
      this.recordKeys = true;
    }
    await this.state.wh.query(
      `create table if not exists ${this.routeState} (sync ${t.text} not null, name ${t.text} not null,
        cursor_pos ${t.bigint} not null, updated_at ${t.timestamp} not null)`,
    );
    await this.state.wh.query(
      `create table if not exists ${this.accountOwnersTable} (record_key ${t.text} not null,
        owner_id ${t.text} not null, sync ${t.text} not null, rule ${t.text}, assigned_at ${t.timestamp} not null)`,
    );
  }

  /** Owners assigned to accounts (by the account's record key) that have no owner of their own in the CRM. */
  async accountOwners(recordKeys: readonly string[]): Promise<Map<string, string>> {
    if (recordKeys.length === 0) return new Map();
    if (!(await this.state.wh.tableExists(this.state.schema, 'account_owners'))) return new Map();
    const b = new SqlBuilder(this.state.d);
    const { rows } = await this.state.wh.query(
      b.build(
        `select record_key, owner_id from ${this.accountOwnersTable}
         where ${this.state.d.inList('record_key', b, [...new Set(recordKeys)])}`,
      ),
    );
    return new Map(rows.map((r) => [String(r.record_key), String(r.owner_id)]));
  }

  /** Whether task_log has the record_key column (a plan reads an older task_log as it is). */
  private async hasRecordKeys(): Promise<boolean> {
    if (this.recordKeys === undefined) {
      const { columns } = await this.state.wh.query(`select * from ${this.taskLog} where 1 = 0`);
      this.recordKeys = !columns || columns.map((c) => c.toLowerCase()).includes('record_key');
    }
    return this.recordKeys;
  }

  async tablesExist(): Promise<boolean> {
    return (
      (await this.state.wh.tableExists(this.state.schema, 'task_log')) &&
      (await this.state.wh.tableExists(this.state.schema, 'route_state'))
    );
  }

  /**
   * The newest log entry per entity key + tier for these records, logged at or after `since`: rows about the same
   * CRM record (whichever sync wrote them), and rows from before record keys with this sync and entity key.
   */
  async recentEntries(
    sync: string,
    records: ReadonlyArray<{ entityKey: string; recordKey: string }>,
    since: Date,
  ): Promise<Map<string, TaskLogEntry>> {
    const out = new Map<string, TaskLogEntry>();
    if (records.length === 0) return out;
    const d = this.state.d;
    const b = new SqlBuilder(d);
    const recordKeys = await this.hasRecordKeys();
    const byRecordKey = recordKeys
      ? `${d.inList('record_key', b, [...new Set(records.map((r) => r.recordKey))])} or `
      : '';
    const { rows } = await this.state.wh.query(
      b.build(
        `select * from ${this.taskLog} where logged_at >= ${b.param(since, 'timestamp')}
           and (${byRecordKey}(${recordKeys ? 'record_key is null and ' : ''}sync = ${b.param(sync, 'string')}
               and ${d.inList(
                 'entity_key',
                 b,
                 records.map((r) => r.entityKey),
               )}))
         order by logged_at`,
      ),
    );
    const byRecord = new Map<string, string[]>();
    for (const r of records) byRecord.set(r.recordKey, [...(byRecord.get(r.recordKey) ?? []), r.entityKey]);
    for (const r of rows) {
      const e = toEntry(r);
      const entities = e.recordKey === null ? [e.entityKey] : (byRecord.get(e.recordKey) ?? []);
      for (const entity of entities) out.set(entryKey(entity, e.tier), e);
    }
    return out;
  }

  /** Entries not created yet (pending: sent or not before a crash; failed: refused by the CRM), logged since `since`. */
  async outstanding(sync: string, since: Date): Promise<TaskLogEntry[]> {
    if (!(await this.tablesExist())) return [];
    const b = new SqlBuilder(this.state.d);
    const { rows } = await this.state.wh.query(
      b.build(
        `select * from ${this.taskLog} where sync = ${b.param(sync, 'string')}
           and logged_at >= ${b.param(since, 'timestamp')} and status in ('pending', 'failed')
         order by logged_at, task_key`,
      ),
    );
    return rows.map(toEntry);
  }

  /** Every entry of a sync (tests and `runs`-style reports), oldest first. */
  async entries(sync: string): Promise<TaskLogEntry[]> {
    const b = new SqlBuilder(this.state.d);
    const { rows } = await this.state.wh.query(
      b.build(
        `select * from ${this.taskLog} where sync = ${b.param(sync, 'string')} order by logged_at, task_key`,
      ),
    );
    return rows.map(toEntry);
  }

  async cursors(sync: string): Promise<Map<string, number>> {
    const b = new SqlBuilder(this.state.d);
    const { rows } = await this.state.wh.query(
      b.build(`select name, cursor_pos from ${this.routeState} where sync = ${b.param(sync, 'string')}`),
    );
    return new Map(rows.map((r) => [String(r.name), Number(r.cursor_pos)]));
  }

  /**
   * Writes entries (replacing rows with the same task keys) and, in the same transaction, the cursors that
   * choosing their owners moved.
   */
  async write(
    entries: readonly TaskLogEntry[],
    cursors?: { sync: string; moved: Map<string, number>; at: Date },
    owners: readonly AccountOwner[] = [],
  ): Promise<void> {
    const d = this.state.d;
    const schema = this.state.schema;
    await this.state.wh.transaction(async (tx) => {
      if (entries.length > 0) {
        const b = new SqlBuilder(d);
        await tx.query(
          b.build(
            `delete from ${this.taskLog} where ${d.inList(
              'task_key',
              b,
              entries.map((e) => e.taskKey),
            )}`,
          ),
        );
        await tx.insertRows(`${schema}.task_log`, COLUMNS, entries.map(toRow));
      }
      if (cursors && cursors.moved.size > 0) {
        const names = [...cursors.moved.keys()];
        const b = new SqlBuilder(d);
        await tx.query(
          b.build(
            `delete from ${this.routeState} where sync = ${b.param(cursors.sync, 'string')} and ${d.inList('name', b, names)}`,
          ),
        );
        await tx.insertRows(
          `${schema}.route_state`,
          ['sync', 'name', 'cursor_pos', 'updated_at'],
          [...cursors.moved].map(([name, pos]) => [cursors.sync, name, pos, cursors.at]),
        );
      }
      if (owners.length > 0) {
        const b = new SqlBuilder(d);
        await tx.query(
          b.build(
            `delete from ${this.accountOwnersTable} where ${d.inList(
              'record_key',
              b,
              owners.map((o) => o.recordKey),
            )}`,
          ),
        );
        await tx.insertRows(
          `${schema}.account_owners`,
          ['record_key', 'owner_id', 'sync', 'rule', 'assigned_at'],
          owners.map((o) => [o.recordKey, o.ownerId, o.sync, o.rule, o.assignedAt]),
        );
      }
    });
  }
}

/** An owner given to an account without one of its own in the CRM: kept, so every later task goes to them. */
export interface AccountOwner {
  recordKey: string;
  ownerId: string;
  sync: string;
  rule: string;
  assignedAt: Date;
}

export function entryKey(entityKey: string, tier: string): string {
  return `${entityKey}\u0000${tier}`;
}

function toRow(e: TaskLogEntry): unknown[] {
  return [
    e.sync,
    e.entityKey,
    e.tier,
    e.previousTier,
    e.taskKey,
    e.status,
    e.rule,
    e.task.ownerId,
    e.task.dueAt,
    JSON.stringify(e.task),
    e.taskId,
    e.reason,
    e.runId,
    e.loggedAt,
    e.updatedAt,
    e.recordKey,
  ];
}

function toEntry(r: Record<string, unknown>): TaskLogEntry {
  const raw = JSON.parse(String(r.task_json)) as TaskSpec & { dueAt: string; reminderAt: string };
  const task: TaskSpec = { ...raw, dueAt: new Date(raw.dueAt), reminderAt: new Date(raw.reminderAt) };
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    sync: String(r.sync),
    entityKey: String(r.entity_key),
    recordKey: text(r.record_key),
    tier: String(r.tier),
    previousTier: text(r.previous_tier),
    taskKey: String(r.task_key),
    status: String(r.status) as TaskStatus,
    rule: String(r.rule ?? ''),
    task,
    taskId: text(r.task_id),
    reason: text(r.reason),
    runId: String(r.run_id),
    loggedAt: toDate(r.logged_at),
    updatedAt: toDate(r.updated_at),
  };
}
