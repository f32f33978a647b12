/**
 * The task_log query that finds the tasks to send again (pending: a crash between commit and send; failed: the
 * CRM refused them), on DuckDB and on a real Postgres: the table layout is unchanged (`status` already allows
 * `failed`, `reason` holds the CRM's words), so rows written by earlier versions are read as they are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteStore, type TaskLogEntry } from '../../../src/routing/route-store.js';
import { StateStore } from '../../../src/state/state-store.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';
import type { WarehouseAdapter } from '../../../src/warehouse/warehouse-adapter.js';
import { startTestPostgres, type TestPostgres } from '../../helpers/postgres.js';

const T0 = new Date('2025-01-06T09:00:00.000Z');

function entry(key: string, status: TaskLogEntry['status'], loggedAt: Date): TaskLogEntry {
  return {
    sync: 'users',
    entityKey: key,
    recordKey: JSON.stringify(['crm', 'contacts', key]),
    tier: 'hot',
    previousTier: null,
    taskKey: `pqlsync:users:${key}:hot:2025-01-06`,
    status,
    rule: 'everyone',
    task: {
      taskKey: `pqlsync:users:${key}:hot:2025-01-06`,
      entityKey: key,
      subject: `PQL hot: ${key}`,
      body: '',
      ownerId: '41629779',
      dueAt: T0,
      dueDate: '2025-01-06',
      reminderAt: T0,
      priority: 'high',
      record: { id: '100001', ownerId: null, object: 'contacts' },
    },
    taskId: status === 'created' ? '200001' : null,
    reason: status === 'failed' ? 'VALIDATION_ERROR: The owner 41629779 is deactivated' : null,
    runId: 'run-1',
    loggedAt,
    updatedAt: loggedAt,
  };
}

async function check(wh: WarehouseAdapter): Promise<void> {
  const state = new StateStore(wh, 'pqlsync_state');
  await state.ensureStateTables();
  const routes = new RouteStore(state);
  expect(await routes.outstanding('users', new Date(0))).toEqual([]); // no table yet
  await routes.ensureTables();
  const old = new Date(T0.getTime() - 40 * 86_400_000);
  await routes.write([
    entry('a', 'created', T0),
    entry('b', 'failed', T0),
    entry('c', 'pending', T0),
    entry('d', 'failed', old),
  ]);
  const since = new Date(T0.getTime() - 30 * 86_400_000);
  const found = await routes.outstanding('users', since);
  expect(found.map((e) => [e.entityKey, e.status, e.reason])).toEqual([
    ['b', 'failed', 'VALIDATION_ERROR: The owner 41629779 is deactivated'],
    ['c', 'pending', null],
  ]);
  expect(found[0]?.task.dueAt).toEqual(T0);
}

describe('task_log: tasks to send again', () => {
  let server: TestPostgres;

  beforeAll(async () => {
    server = await startTestPostgres();
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('DuckDB', async () => {
    const wh = new DuckdbAdapter({ path: ':memory:' });
    await wh.connect();
    try {
      await check(wh);
    } finally {
      await wh.close();
    }
  });

  it('Postgres', async () => {
    const wh = new PostgresAdapter({
      dialect: 'postgres',
      url: await server.createDatabase('pqlsync_task_log'),
    });
    await wh.connect();
    try {
      await check(wh);
    } finally {
      await wh.close();
    }
  });
});
