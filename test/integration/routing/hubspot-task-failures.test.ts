/**
 * A task HubSpot refuses never holds back the records it accepted (issue 17): tasks carry objectWriteTraceId, so
 * one bad task is one 207 entry, `failed` in task_log with HubSpot's reason; the records are committed; a later
 * run sends the missing task once, and no task is ever created twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { startRoutingHarness, type RoutingHarness } from './routing-harness.js';

setLogger(createLogger({ level: 'silent' }));

const config = (url: string, token: string) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  hs:
    type: hubspot
    access_token: ${token}
    base_url: ${url}
    create_properties: true
syncs:
  users:
    model: users
    destination: hs
    object: contacts
    match: { field: product_user_id, column: user_id }
    fields:
      email: email
      pql_score: score
    routing:
      sla:
        hot: { due_in: 4h, priority: high }
        pql: { due_in: 2d, priority: normal }
      rules:
        - name: everyone
          assign: { strategy: round_robin, pool: [ada.lovelace@example.com] }
      task:
        subject: 'PQL {{ tier }}: {{ email }}'
`;

const TASK_CREATE = 'POST /crm/v3/objects/tasks/batch/create';

describe('routing into HubSpot: a refused task', () => {
  let h: RoutingHarness;

  const taskKeys = async (): Promise<string[]> =>
    (
      (await h.admin('GET', '/_sandbox/hubspot/tasks')).body as {
        results: Array<{ properties: Record<string, string> }>;
      }
    ).results.map((t) => t.properties.pqlsync_task_key ?? '');

  beforeEach(async () => {
    h = await startRoutingHarness(config);
    await h.seed(
      Array.from({ length: 100 }, (_, i) => ({
        id: `c${String(i + 1).padStart(3, '0')}`,
        score: 90,
        employees: 10,
        plan: 'pro',
        dashboards: 1,
      })),
    );
  });

  afterEach(async () => {
    await h.close();
  });

  it('one bad task in a batch of 100: 99 created, 1 failed with its reason, every record committed; the next run creates it once', async () => {
    await h.admin('POST', '/_sandbox/faults', {
      route: TASK_CREATE,
      rejectRecord: { nth: 37, code: 'VALIDATION_ERROR', message: 'The owner 41629779 is deactivated' },
      times: 1,
    });
    const first = await h.run();
    expect(first.error).toBeUndefined();
    expect(first.status).toBe('success');
    expect(exitCodeFor([first])).toBe(0);
    expect(first.counts).toMatchObject({ added: 100, applied: 100, rejected: 0, tasks: 99 });
    expect(first.tasksFailed).toBe(1);
    const { rows } = await h.wh.query('select count(*) as n from pqlsync_state.users__snapshot');
    expect(Number(rows[0]?.n)).toBe(100);
    const log = await h.taskLog();
    expect(log.filter((e) => e.status === 'created')).toHaveLength(99);
    const failed = log.filter((e) => e.status === 'failed');
    expect(failed.map((e) => e.reason)).toEqual(['VALIDATION_ERROR: The owner 41629779 is deactivated']);
    const keys = await taskKeys();
    expect(keys).toHaveLength(99);
    expect(keys).not.toContain(failed[0]?.taskKey);

    // Nothing changed in the model: the run only sends the failed task again.
    const second = await h.run();
    expect(second.status).toBe('success');
    expect(second.counts).toMatchObject({ added: 0, changed: 0, applied: 0, tasks: 1 });
    expect(second.tasksFailed).toBeUndefined();
    expect((await h.taskLog()).every((e) => e.status === 'created')).toBe(true);

    const third = await h.run();
    expect(third.counts).toMatchObject({ tasks: 0 });
    const after = await taskKeys();
    expect(after).toHaveLength(100);
    expect(new Set(after).size).toBe(100);
  });

  it('a task batch HubSpot refuses whole fails its tasks, not the run: the records are committed', async () => {
    await h.admin('POST', '/_sandbox/faults', {
      route: TASK_CREATE,
      status: 502,
      body: { status: 'error', message: 'Bad gateway', category: 'UNKNOWN' },
    });
    const first = await h.run();
    expect(first.error).toBeUndefined();
    expect(first.counts).toMatchObject({ applied: 100, tasks: 0 });
    expect(first.tasksFailed).toBe(100);
    expect(new Set((await h.taskLog()).map((e) => e.status))).toEqual(new Set(['failed']));
    await h.admin('DELETE', '/_sandbox/faults');
    const second = await h.run();
    expect(second.counts).toMatchObject({ applied: 0, tasks: 100 });
    expect(new Set(await taskKeys()).size).toBe(100);
  });
});
