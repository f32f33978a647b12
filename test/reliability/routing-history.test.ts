/**
 * Routing history across a sync rename and across the upgrade to record keys (issue 23, item 8), on the state
 * SQL of DuckDB and a real Postgres:
 * - a task_log written before record keys (no `record_key` column, keys `pqlsync:<sync>:<entity key>:…`) gets the
 *   column, and its rows still count: a created task stops a second one inside the cooldown, a pending one is
 *   resent under its old key (which the CRM already holds, so it is not created twice);
 * - a row another sync name wrote about the same CRM record counts for the record;
 * - renameSyncState moves every state table's rows, and refuses a new name that has state of its own.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { routingSchema } from '../../src/config/config-schema.js';
import type { Change, SyncTarget } from '../../src/destination/destination.js';
import { recordKey, RouteStore } from '../../src/routing/route-store.js';
import { Router } from '../../src/routing/router.js';
import type { RoutedRecord, TaskOutcome, TaskSpec, TaskWriter } from '../../src/routing/task-writer.js';
import { renameSyncState } from '../../src/state/rename-sync.js';
import { StateStore } from '../../src/state/state-store.js';
import { createLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';

const target: SyncTarget = {
  sync: 'users_v2',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'email',
  mode: 'upsert',
  fields: [{ field: 'Score__c', column: 'score', skipNull: false, clearedValue: null }],
  onRemove: {},
};

/** The CRM's tasks by key (creating a key twice is a no-op, as the unique task key makes it). */
class TaskCrm implements TaskWriter {
  readonly tasks = new Map<string, TaskSpec>();
  readonly sent: string[] = [];
  async listOwners() {
    return [{ id: 'o1', email: 'a@x.io', name: 'Ann', active: true }];
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
      this.sent.push(t.taskKey);
      const existed = this.tasks.has(t.taskKey);
      this.tasks.set(t.taskKey, t);
      return { taskKey: t.taskKey, status: 'created', taskId: `task-${t.taskKey}`, existed };
    });
  }
  apiCalls() {
    return 0;
  }
  async close() {}
}

const hot = (key: string): Change => ({
  key,
  kind: 'added',
  matchValue: `${key}@example.com`,
  values: { Score__c: 90 },
  changedFields: ['Score__c'],
  row: { user_id: key, email: `${key}@example.com`, score: 90 },
  rowHash: 'h',
  attempts: 0,
});

/** The task_log layout before record keys, as an older pqlsync created it. */
const LEGACY_TASK_LOG = (t: string) => `create table pqlsync_state.task_log (sync ${t} not null,
  entity_key ${t} not null, tier ${t} not null, previous_tier ${t}, task_key ${t} not null, status ${t} not null,
  rule ${t}, owner_id ${t}, due_at timestamptz, task_json ${t}, task_id ${t}, reason ${t}, run_id ${t} not null,
  logged_at timestamptz not null, updated_at timestamptz not null)`;

const legacyTask = (entity: string, key: string): string =>
  JSON.stringify({
    taskKey: key,
    entityKey: entity,
    subject: `old task for ${entity}`,
    body: '',
    ownerId: 'o1',
    dueAt: '2025-01-06T10:00:00.000Z',
    dueDate: '2025-01-06',
    reminderAt: '2025-01-06T09:30:00.000Z',
    priority: 'high',
    record: { id: `rec-${entity}@example.com`, ownerId: 'o1', object: 'Lead' },
  });

let server: TestPostgres | undefined;
let databases = 0;
afterAll(async () => {
  await server?.stop();
});

describe.each(['duckdb', 'postgres'] as const)('routing history on %s', (engine) => {
  let wh: WarehouseAdapter;
  let state: StateStore;
  const clock = new Date('2025-01-06T15:00:00.000Z');

  beforeAll(async () => {
    if (engine === 'postgres') server ??= await startTestPostgres();
  }, 120_000);

  beforeEach(async () => {
    wh =
      engine === 'postgres'
        ? new PostgresAdapter({ url: await server!.createDatabase(`routing_history_${++databases}`) })
        : new DuckdbAdapter({ path: ':memory:' });
    await wh.connect();
    state = new StateStore(wh, 'pqlsync_state', () => clock);
    await state.ensureStateTables();
  });

  afterEach(async () => {
    await wh.close();
  });

  const router = (crm: TaskCrm, sync = 'users_v2', dryRun = false) =>
    new Router({
      sync,
      destination: 'crm',
      routing: routingSchema.parse({ score_column: 'score', task_tiers: ['hot'] }),
      target,
      state,
      writer: crm,
      runId: 'run-2',
      now: () => clock,
      dryRun,
      log: createLogger({ level: 'silent' }),
    });

  it('counts rows from before record keys and rows of another sync name about the same record', async () => {
    const text = engine === 'postgres' ? 'text' : 'varchar';
    await wh.query(LEGACY_TASK_LOG(text));
    await wh.query(
      `create table pqlsync_state.route_state (sync ${text} not null, name ${text} not null, cursor_pos bigint not null, updated_at timestamptz not null)`,
    );
    const legacy = (entity: string, status: string) => {
      const key = `pqlsync:users:${entity}:hot:2025-01-06`;
      return `('users', '${entity}', 'hot', null, '${key}', '${status}', 'default', 'o1', null, '${legacyTask(entity, key)}', null, null, 'run-1', timestamp '2025-01-06 09:00:00', timestamp '2025-01-06 09:00:00')`;
    };
    // Routed this morning by the old pqlsync, under the sync's old name: k1 created, k2 sent but not confirmed.
    await wh.query(
      `insert into pqlsync_state.task_log values ${legacy('k1', 'created')}, ${legacy('k2', 'pending')}`,
    );
    const crm = new TaskCrm();
    crm.tasks.set('pqlsync:users:k2:hot:2025-01-06', JSON.parse(legacyTask('k2', 'x')) as TaskSpec);
    await state.ensureSyncTables('users_v2');

    // After a rename-sync (legacy rows relabelled) the upgraded router meets k1, k2 and a new k3 entering hot.
    await wh.query(`update pqlsync_state.task_log set sync = 'users_v2'`);
    const changes = [hot('k1'), hot('k2'), hot('k3')];
    // A plan reads the older task_log as it is (it writes nothing, so the column is not added yet).
    const plan = router(crm, 'users_v2', true);
    await plan.start();
    const planned = await plan.route(changes, []);
    expect([planned.cooldown, planned.planned.map((t) => [t.key, t.taskKey, t.resumed])]).toEqual([
      1,
      [
        ['k2', 'pqlsync:users:k2:hot:2025-01-06', true],
        ['k3', 'pqlsync:Lead:k3@example.com:hot:2025-01-06', false],
      ],
    ]);
    const r = router(crm);
    await r.start();
    const routed = await r.route(
      changes,
      changes.map((c) => ({ key: c.key, status: 'applied' as const })),
    );
    expect(routed).toMatchObject({ created: 1, cooldown: 1, failed: 0 });
    // k2 is resent under its old key (the CRM has it: no second task); k3 gets a key of the new scheme.
    expect(crm.sent).toEqual([
      'pqlsync:users:k2:hot:2025-01-06',
      'pqlsync:Lead:k3@example.com:hot:2025-01-06',
    ]);
    const log = await new RouteStore(state).entries('users_v2');
    expect(log.map((e) => [e.entityKey, e.taskKey, e.status, e.recordKey])).toEqual([
      ['k1', 'pqlsync:users:k1:hot:2025-01-06', 'created', null],
      ['k2', 'pqlsync:users:k2:hot:2025-01-06', 'created', recordKey('crm', 'Lead', 'k2@example.com')],
      [
        'k3',
        'pqlsync:Lead:k3@example.com:hot:2025-01-06',
        'created',
        recordKey('crm', 'Lead', 'k3@example.com'),
      ],
    ]);

    // A sync under yet another name (no rename-sync) writing the same records finds all three by record key
    // except k1, whose row predates record keys and names users_v2: it is found only by users_v2.
    const other = router(crm, 'users_v3');
    await other.start();
    const again = await other.route(
      changes,
      changes.map((c) => ({ key: c.key, status: 'applied' as const })),
    );
    expect(again).toMatchObject({ created: 1, cooldown: 2 });
    expect(crm.sent.slice(2)).toEqual(['pqlsync:Lead:k1@example.com:hot:2025-01-06']);
  });

  it('renameSyncState moves every table and refuses a new name with state of its own', async () => {
    await state.ensureSyncTables('users');
    await new RouteStore(state).ensureTables();
    const at = "timestamp '2025-01-06 09:00:00'";
    await wh.query(
      `insert into pqlsync_state.users__snapshot values ('k1', 'h1', '{}', 'hot', 'id1', ${at}, 'run-1'), ('k2', 'h2', '{}', null, 'id2', ${at}, 'run-1')`,
    );
    await wh.query(
      `insert into pqlsync_state.users__failures values ('k3', 'bad', 'X', 2, ${at}, ${at}, 'run-1', 'h3')`,
    );
    await state.startRun({ runId: 'run-1', sync: 'users', startedAt: clock, modelHash: null });
    await wh.query(
      `insert into pqlsync_state.route_state values ('users', 'default', 3, ${at}), ('others', 'default', 1, ${at})`,
    );
    await wh.query(
      `insert into pqlsync_state.mappings values ('users', '{"object":"Lead"}', 'run-1', ${at})`,
    );
    const moved = await renameSyncState(state, {
      from: 'users',
      to: 'users_v2',
      runId: 'mv',
      leaseSeconds: 60,
    });
    expect(moved).toEqual({
      from: 'users',
      to: 'users_v2',
      snapshotRows: 2,
      failures: 1,
      runs: 1,
      mappings: 1,
      taskLog: 0,
      routeState: 1,
    });
    expect(
      (
        await wh.query(
          'select key, row_hash, tier, destination_id from pqlsync_state.users_v2__snapshot order by key',
        )
      ).rows,
    ).toEqual([
      { key: 'k1', row_hash: 'h1', tier: 'hot', destination_id: 'id1' },
      { key: 'k2', row_hash: 'h2', tier: null, destination_id: 'id2' },
    ]);
    expect((await state.failures('users_v2')).map((f) => [f.key, Number(f.attempts)])).toEqual([['k3', 2]]);
    expect(await wh.tableExists('pqlsync_state', 'users__snapshot')).toBe(false);
    expect(
      (await wh.query('select sync, cursor_pos from pqlsync_state.route_state order by sync')).rows.map(
        (x) => [x.sync, Number(x.cursor_pos)],
      ),
    ).toEqual([
      ['others', 1],
      ['users_v2', 3],
    ]);
    expect((await wh.query('select count(*) as n from pqlsync_state.locks')).rows[0]?.n).toSatisfy(
      (n) => Number(n) === 0,
    );
    expect((await state.listRuns('users_v2', 5)).map((x) => x.runId)).toEqual(['run-1']);

    // A sync named other already ran: its state is not overwritten.
    await state.ensureSyncTables('other');
    await wh.query(
      `insert into pqlsync_state.other__snapshot values ('k9', 'h9', '{}', null, null, ${at}, 'run-9')`,
    );
    await expect(
      renameSyncState(state, { from: 'users_v2', to: 'other', runId: 'mv2', leaseSeconds: 60 }),
    ).rejects.toThrow(
      'sync other already has state in pqlsync_state (synced records, failures, a mapping or tasks), so the state of users_v2 cannot move there',
    );
    expect(
      Number((await wh.query('select count(*) as n from pqlsync_state.users_v2__snapshot')).rows[0]?.n),
    ).toBe(2);
    expect((await wh.query('select count(*) as n from pqlsync_state.locks')).rows[0]?.n).toSatisfy(
      (n) => Number(n) === 0,
    );
  });
});
