/**
 * What the Router's mutation tests share (router-mutants.test.ts, router-accounts-mutants.test.ts): a real DuckDB
 * state schema, a CRM held in memory that records every call and can be told to refuse, and the router's log lines.
 * The TaskWriter is pqlsync's own interface (the CRM writers are tested through the sandboxes).
 */
import { routingSchema } from '../../../src/config/config-schema.js';
import type { Change, RecordOutcome, SyncTarget } from '../../../src/destination/destination.js';
import { Router } from '../../../src/routing/router.js';
import type {
  AccountRecord,
  CrmOwner,
  FieldChange,
  OwnerChange,
  RoutedRecord,
  TaskOutcome,
  TaskSpec,
  TaskWriter,
} from '../../../src/routing/task-writer.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';

export const target: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'user_id',
  mode: 'upsert',
  fields: [{ field: 'Score__c', column: 'score', skipNull: false, clearedValue: null }],
  onRemove: {},
};

export const OWNERS: CrmOwner[] = [
  { id: 'int', email: 'integration@x.io', name: 'Integration', active: true },
  { id: 'oa', email: 'a@x.io', name: 'Ann', active: true },
  { id: 'ob', email: 'b@x.io', name: 'Bo', active: true },
  { id: 'oz', email: 'z@x.io', name: 'Zed', active: false },
];

/** A CRM in memory. Every call is listed in `calls`; the `…Answer` hooks replace an answer (or throw). */
export class RecordingCrm implements TaskWriter {
  readonly accountObject = 'Account';
  readonly calls: string[] = [];
  readonly tasks = new Map<string, TaskSpec>();
  readonly ownerChanges: OwnerChange[] = [];
  readonly fieldChanges: FieldChange[] = [];
  /** Match values with no CRM record. */
  readonly missing = new Set<string>();
  /** Record owners by match value (absent: `oa`). */
  readonly recordOwners = new Map<string, string | null>();
  /** Account owners by account value (absent: the account has none; `missingAccounts`: no such account). */
  readonly accountOwners = new Map<string, string | null>();
  readonly missingAccounts = new Set<string>();
  setOwnersAnswer: ((changes: readonly OwnerChange[]) => Map<string, string>) | undefined;
  updateRecordsAnswer: ((changes: readonly FieldChange[]) => Map<string, string>) | undefined;
  writeTasksAnswer: ((tasks: readonly TaskSpec[]) => Promise<TaskOutcome[]>) | undefined;

  constructor(readonly owners: CrmOwner[] = OWNERS) {}

  async listOwners() {
    this.calls.push('listOwners');
    return this.owners;
  }
  async findRecords(_t: SyncTarget, values: readonly string[]) {
    this.calls.push(`findRecords ${values.join(',')}`);
    return new Map<string, RoutedRecord>(
      values
        .filter((v) => !this.missing.has(v))
        .map((v) => [
          v,
          {
            id: `rec-${v}`,
            ownerId: this.recordOwners.has(v) ? (this.recordOwners.get(v) ?? null) : 'oa',
            object: 'Lead',
          },
        ]),
    );
  }
  async findAccounts(field: string, values: readonly string[]) {
    this.calls.push(`findAccounts ${field} ${values.join(',')}`);
    return new Map<string, AccountRecord>(
      values
        .filter((v) => !this.missingAccounts.has(v))
        .map((v) => [v, { id: `acc-${v}`, ownerId: this.accountOwners.get(v) ?? null }]),
    );
  }
  async setOwners(_t: SyncTarget, changes: readonly OwnerChange[]) {
    this.calls.push(`setOwners ${changes.map((c) => `${c.recordId}=${c.ownerId}`).join(',')}`);
    if (this.setOwnersAnswer) return this.setOwnersAnswer(changes);
    this.ownerChanges.push(...changes);
    return new Map<string, string>();
  }
  async updateRecords(_t: SyncTarget, changes: readonly FieldChange[]) {
    this.calls.push(
      `updateRecords ${changes.map((c) => `${c.recordId}=${JSON.stringify(c.fields)}`).join(',')}`,
    );
    if (this.updateRecordsAnswer) return this.updateRecordsAnswer(changes);
    this.fieldChanges.push(...changes);
    return new Map<string, string>();
  }
  async writeTasks(tasks: readonly TaskSpec[]): Promise<TaskOutcome[]> {
    this.calls.push(`writeTasks ${tasks.map((t) => t.taskKey).join(',')}`);
    if (this.writeTasksAnswer) return this.writeTasksAnswer(tasks);
    return tasks.map((t) => this.create(t));
  }
  /** Creates the task (an existing key is found, not made twice). */
  create(t: TaskSpec): TaskOutcome {
    const existed = this.tasks.has(t.taskKey);
    this.tasks.set(t.taskKey, t);
    return { taskKey: t.taskKey, status: 'created', taskId: `task-${this.tasks.size}`, existed };
  }
  apiCalls() {
    return 0;
  }
  async close() {}
}

/** A user's row as the plan hands it to the router. */
export const user = (key: string, score: number | null, extra: Record<string, unknown> = {}): Change => ({
  key,
  kind: 'changed',
  matchValue: key,
  values: { Score__c: score },
  changedFields: ['Score__c'],
  row: { user_id: key, score, employees: 50, ...extra },
  rowHash: `h${score}`,
  attempts: 0,
});
export const applied = (changes: readonly Change[]): RecordOutcome[] =>
  changes.map((c) => ({ key: c.key, status: 'applied' as const }));

/** Log lines as `level: message`. */
export function logLines() {
  const lines: string[] = [];
  /** Each line's own fields (record ids, keys), without pino's. */
  const fields: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: 'debug',
    destination: {
      write(s: string) {
        const { level, msg, time: _t, pid: _p, ...own } = JSON.parse(s) as Record<string, unknown>;
        lines.push(`${String(level)}: ${String(msg)}`);
        fields.push(own);
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  });
  const clear = () => {
    lines.length = 0;
    fields.length = 0;
  };
  return { log, lines, fields, clear };
}

/** One in-memory DuckDB state schema with the users sync's tables, a clock, a CRM and a way to make routers. */
export class RouterWorld {
  wh = new DuckdbAdapter({ path: ':memory:' });
  clock = new Date('2025-01-06T09:00:00.000Z');
  state = new StateStore(this.wh, 'pqlsync_state', () => this.clock);
  crm = new RecordingCrm();
  logs = logLines();
  private runs = 0;

  async open(): Promise<this> {
    await this.wh.connect();
    await this.state.ensureStateTables();
    await this.state.ensureSyncTables('users');
    return this;
  }

  async close(): Promise<void> {
    await this.wh.close();
  }

  /** A router for a new run (`run-1`, `run-2`...), not started. */
  router(
    routing: Record<string, unknown> = {},
    options: { dryRun?: boolean; writer?: TaskWriter | null; planTable?: string } = {},
  ) {
    return new Router({
      sync: 'users',
      destination: 'crm',
      routing: routingSchema.parse(routing),
      target,
      state: this.state,
      writer: options.writer === null ? undefined : (options.writer ?? this.crm),
      runId: `run-${++this.runs}`,
      now: () => this.clock,
      dryRun: options.dryRun ?? false,
      log: this.logs.log,
      ...(options.planTable ? { planTable: options.planTable } : {}),
    });
  }

  /** Routes the changes, then commits their tiers to the snapshot as the runner does. */
  async routeAndCommit(r: Router, changes: Change[]) {
    const result = await r.route(changes, applied(changes));
    await this.state.commitBatch('users', 'run', changes, applied(changes), (c) => r.tierOf(c));
    return result;
  }

  /** Moves the clock to `days` days after the start (plus `ms`). */
  at(days: number, ms = 0): void {
    this.clock = new Date(Date.parse('2025-01-06T09:00:00.000Z') + days * 86_400_000 + ms);
  }
}
