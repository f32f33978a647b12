/**
 * The Router over a real DuckDB state schema with an in-memory TaskWriter (pqlsync's own interface; the CRM
 * writers are tested through the sandbox): cooldown boundaries, resending failed tasks under their key, a pool
 * with no active owner, and the plan listing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routingSchema } from '../../../src/config/config-schema.js';
import type { Change, SyncTarget } from '../../../src/destination/destination.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { formatPlannedTasks } from '../../../src/routing/plan-tasks.js';
import { RouteStore } from '../../../src/routing/route-store.js';
import { Router } from '../../../src/routing/router.js';
import type {
  CrmOwner,
  RoutedRecord,
  TaskOutcome,
  TaskSpec,
  TaskWriter,
} from '../../../src/routing/task-writer.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';

const target: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'user_id',
  mode: 'upsert',
  fields: [{ field: 'Score__c', column: 'score', skipNull: false, clearedValue: null }],
  onRemove: {},
};

/** A CRM held in memory: tasks by key; `refuse` makes the next writes fail per task. */
class MemoryTaskWriter implements TaskWriter {
  tasks = new Map<string, TaskSpec>();
  refuse: string | undefined;
  constructor(readonly owners: CrmOwner[]) {}
  async listOwners() {
    return this.owners;
  }
  async findRecords(_t: SyncTarget, values: readonly string[]) {
    return new Map<string, RoutedRecord>(
      values.map((v) => [v, { id: `rec-${v}`, ownerId: 'o1', object: 'Lead' }]),
    );
  }
  async findAccounts() {
    return new Map();
  }
  readonly accountObject = 'Account';
  async setOwners() {
    return new Map<string, string>();
  }
  async updateRecords() {
    return new Map<string, string>();
  }
  async writeTasks(tasks: readonly TaskSpec[]): Promise<TaskOutcome[]> {
    return tasks.map((t) => {
      if (this.refuse) return { taskKey: t.taskKey, status: 'failed', reason: this.refuse };
      const existed = this.tasks.has(t.taskKey);
      this.tasks.set(t.taskKey, t);
      return { taskKey: t.taskKey, status: 'created', taskId: `task-${this.tasks.size}`, existed };
    });
  }
  apiCalls() {
    return 0;
  }
  async close() {}
}

const change = (key: string, score: number): Change => ({
  key,
  kind: 'changed',
  matchValue: key,
  values: { Score__c: score },
  changedFields: ['Score__c'],
  row: { user_id: key, score, employees: 10 },
  rowHash: `h${score}`,
  attempts: 0,
});
const applied = (changes: Change[]) => changes.map((c) => ({ key: c.key, status: 'applied' as const }));

describe('Router', () => {
  let wh: DuckdbAdapter;
  let state: StateStore;
  let writer: MemoryTaskWriter;
  let clock: Date;

  const router = (routing: Record<string, unknown> = {}, dryRun = false) =>
    new Router({
      sync: 'users',
      destination: 'crm',
      routing: routingSchema.parse(routing),
      target,
      state,
      writer,
      runId: 'run-1',
      now: () => clock,
      dryRun,
      log: createLogger({ level: 'silent' }),
    });

  /** Routes the changes, then commits their tiers to the snapshot as the runner does. */
  const routeAndCommit = async (r: Router, changes: Change[]) => {
    const result = await r.route(changes, applied(changes));
    await state.commitBatch('users', 'run-1', changes, applied(changes), (c) => r.tierOf(c));
    return result;
  };

  beforeEach(async () => {
    wh = new DuckdbAdapter({ path: ':memory:' });
    await wh.connect();
    clock = new Date('2025-01-06T09:00:00.000Z');
    state = new StateStore(wh, 'pqlsync_state', () => clock);
    await state.ensureStateTables();
    await state.ensureSyncTables('users');
    writer = new MemoryTaskWriter([
      { id: 'o1', email: 'a@x.io', name: 'Ann', active: true },
      { id: 'o2', email: 'b@x.io', name: 'Bo', active: false },
    ]);
  });

  afterEach(async () => {
    await wh.close();
  });

  it('keeps the cooldown to the day: re-entry on day 29 is quiet, on day 30 it gets a new task', async () => {
    const r = router({ cooldown_days: 30 });
    await r.start();
    expect((await routeAndCommit(r, [change('k', 80)])).created).toBe(1);
    const day = (n: number) => new Date(Date.parse('2025-01-06T09:00:00.000Z') + n * 86_400_000);
    clock = day(29);
    await routeAndCommit(r, [change('k', 10)]);
    const quiet = await routeAndCommit(r, [change('k', 80)]);
    expect(quiet).toMatchObject({ created: 0, cooldown: 1 });
    clock = new Date(day(30).getTime() + 1);
    await routeAndCommit(r, [change('k', 10)]);
    expect((await routeAndCommit(r, [change('k', 80)])).created).toBe(1);
    expect([...writer.tasks.keys()]).toEqual([
      'pqlsync:Lead:k:hot:2025-01-06',
      'pqlsync:Lead:k:hot:2025-02-05',
    ]);
  });

  it('resends a failed task under its key when the transition is routed again', async () => {
    const r = router();
    await r.start();
    writer.refuse = 'INVALID_CROSS_REFERENCE_KEY: owner is inactive';
    const failed = await r.route([change('k', 80)], applied([change('k', 80)]));
    expect(failed).toMatchObject({ created: 0, failed: 1 });
    const log = await new RouteStore(state).entries('users');
    expect(log.map((e) => `${e.taskKey} ${e.status} ${e.reason}`)).toEqual([
      'pqlsync:Lead:k:hot:2025-01-06 failed INVALID_CROSS_REFERENCE_KEY: owner is inactive',
    ]);
    writer.refuse = undefined;
    clock = new Date('2025-01-07T09:00:00.000Z');
    const resent = await r.route([change('k', 80)], applied([change('k', 80)]));
    expect(resent).toMatchObject({ created: 1, failed: 0 });
    expect([...writer.tasks.keys()]).toEqual(['pqlsync:Lead:k:hot:2025-01-06']);
  });

  it('refuses a run with routing when the destination cannot hold tasks', async () => {
    const r = new Router({
      sync: 'users',
      destination: 'out',
      routing: routingSchema.parse({}),
      target,
      state,
      writer: undefined,
      runId: 'run-1',
      now: () => clock,
      dryRun: false,
      log: createLogger({ level: 'silent' }),
    });
    const e = await r.start().then(
      () => undefined,
      (err: unknown) => err as PqlsyncError,
    );
    expect(e?.format()).toBe(
      "sync users, syncs.users.routing: sync users has routing, but its destination 'out' cannot hold tasks (routing needs a salesforce or hubspot destination)\n  hint: remove routing from the sync, or point it at a CRM destination",
    );
  });

  it('creates no task when every owner of the pool is inactive, and says so', async () => {
    const r = router({ rules: [{ name: 'pool', assign: { strategy: 'round_robin', pool: ['b@x.io'] } }] });
    await r.start();
    expect(await routeAndCommit(r, [change('k', 80)])).toMatchObject({ created: 0, failed: 1 });
    expect(writer.tasks.size).toBe(0);
  });

  it('lists planned tasks without writing state or tasks', async () => {
    const r = router({}, true);
    await r.start();
    const planned = await r.route([change('a', 90), change('b', 55), change('c', 5)], []);
    expect(writer.tasks.size).toBe(0);
    expect(await wh.tableExists('pqlsync_state', 'task_log')).toBe(false);
    expect(formatPlannedTasks('users', planned.planned.length, planned.planned)).toBe(
      [
        'users: 2 tasks would be created',
        '  key  tier      rule     owner         due                priority  subject',
        '  ---  --------  -------  ------------  -----------------  --------  ----------',
        '  a    - -> hot  default  Ann <a@x.io>  2025-01-06T10:00Z  high      hot PQL: a',
        '  b    - -> pql  default  Ann <a@x.io>  2025-01-06T13:00Z  normal    pql PQL: b',
        '',
      ].join('\n'),
    );
    expect(formatPlannedTasks('users', 250, planned.planned.slice(0, 1)).split('\n').slice(-2)).toEqual([
      '  ... and 249 more',
      '',
    ]);
    expect(formatPlannedTasks('users', 0, [])).toBe('');
  });
});
