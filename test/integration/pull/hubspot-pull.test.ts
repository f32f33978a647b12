/**
 * `pqlsync pull` from the HubSpot sandbox into DuckDB through the real @hubspot/api-client: tasks with a pqlsync
 * key (with their contact), the sync's contacts and the deals (with their contact) land in the read-back tables;
 * more than 10,000 changed tasks are read whole by narrowing the search window (search pages no further than
 * 10,000 results); a rerun with nothing changed reads 0 records with only the watermark searches; one after 10
 * tasks were completed reads those 10.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../../src/config/load-config.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import type { TempProject } from '../../helpers/temp-project.js';
import { lastSeq, pullOnce, pullProject, readCounts, requestsSince, TestClock } from './pull-harness.js';

setLogger(createLogger({ level: 'silent' }));

const TASKS = 10_250;

describe('pull from HubSpot into DuckDB', () => {
  const clock = new TestClock(Date.parse('2026-03-02T09:00:00Z'));
  let sandbox: RunningSandbox;
  let project: TempProject;
  let loaded: LoadedConfig;
  let wh: DuckdbAdapter;
  const admin = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${sandbox.url}/_sandbox/hubspot/${route}`, {
      method,
      headers: { Authorization: `Bearer ${sandbox.token}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 3, now: clock.now, hubspot: { tenSecondlyLimit: 100_000 } });
    ({ project, loaded } = pullProject('hubspot', sandbox, 'warehouse: { type: duckdb, path: wh.duckdb }'));
    wh = new DuckdbAdapter({ path: path.join(project.dir, 'wh.duckdb') });
    await wh.connect();
    const contacts = (
      await admin('POST', 'contacts', {
        records: [
          ...Array.from({ length: 20 }, (_, i) => ({
            properties: { lastname: `C${i}`, product_user_id: `u${i}` },
          })),
          { properties: { lastname: 'not scored' } },
        ],
      })
    ).body.results as Array<{ id: string }>;
    // Tasks in 11 batches a second apart: a few distinct modification times, more than 10,000 records.
    for (let start = 0; start < TASKS; start += 1000) {
      const records = Array.from({ length: Math.min(1000, TASKS - start) }, (_, i) => ({
        properties: {
          hs_task_subject: `task ${start + i}`,
          hs_task_status: 'NOT_STARTED',
          hs_timestamp: '2026-03-02T10:00:00.000Z',
          pqlsync_task_key: `pqlsync:contacts:u${(start + i) % 20}:hot:${start + i}`,
        },
      }));
      expect((await admin('POST', 'tasks', { records })).status).toBe(201);
      clock.tick();
    }
    await admin('POST', 'tasks', { records: [{ properties: { hs_task_subject: 'a rep task' } }] });
    const deal = await admin('POST', `contacts/${contacts[0]!.id}/deal`, { amount: 1200 });
    expect(deal.status).toBe(201);
    clock.tick();
  }, 120_000);

  afterAll(async () => {
    await wh.close();
    await sandbox.close();
    project.cleanup();
  });

  it('reads past 10,000 results by narrowing; a rerun reads 0; 10 completed tasks read 10', async () => {
    const mark0 = await lastSeq(sandbox);
    const first = await pullOnce(loaded, wh, clock);
    expect(readCounts(first)).toEqual({ tasks: TASKS, contacts: 20, deals: 1 });
    const searches = (await requestsSince(sandbox, mark0)).filter(
      (r) => r.path === '/crm/v3/objects/tasks/search',
    );
    // 50 pages of 200 reach the cap; the window restarts at the newest time read and reads the rest.
    expect(searches.length).toBeGreaterThan(51);
    const { rows } = await wh.query(
      'select count(*) as n, count(distinct task_key) as keys, count(person_id) as people from pqlsync_state.crm_tasks',
    );
    expect(rows[0]).toEqual({ n: TASKS, keys: TASKS, people: 0 });
    const deals = (await wh.query('select amount, person_id, stage from pqlsync_state.crm_opportunities'))
      .rows;
    expect(deals).toEqual([{ amount: 1200, person_id: expect.any(String), stage: 'qualifiedtobuy' }]);

    clock.tick(60);
    const mark = await lastSeq(sandbox);
    const second = await pullOnce(loaded, wh, clock);
    expect(readCounts(second)).toEqual({ tasks: 0, contacts: 0, deals: 0 });
    const calls = (await requestsSince(sandbox, mark)).filter((r) => !r.path.startsWith('/_sandbox'));
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /crm/v3/objects/tasks/search',
      'POST /crm/v3/objects/contacts/search',
      'POST /crm/v3/objects/deals/search',
    ]);

    clock.tick(3600);
    const open = (await wh.query('select task_id from pqlsync_state.crm_tasks order by task_id limit 10'))
      .rows;
    for (const t of open)
      expect(
        (await admin('POST', `tasks/${String(t.task_id)}/complete`, { completedAt: '2026-03-02T09:30:00Z' }))
          .status,
      ).toBe(200);
    clock.tick();
    const third = await pullOnce(loaded, wh, clock);
    expect(readCounts(third)).toEqual({ tasks: 10, contacts: 0, deals: 0 });
    const done = (
      await wh.query(
        'select count(*) as n, min(completed_at) as at from pqlsync_state.crm_tasks where is_closed',
      )
    ).rows[0];
    expect(done).toEqual({ n: 10, at: new Date('2026-03-02T09:30:00Z') });
  });
});
