/**
 * `pqlsync pull` from the Salesforce sandbox into DuckDB through the real jsforce: tasks with a pqlsync key, the
 * sync's Leads and the opportunities land in the read-back tables; a rerun with nothing changed reads 0 records
 * (only the SystemModstamp queries reach the sandbox); one after 10 tasks were completed reads those 10.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../../src/config/load-config.js';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import type { TempProject } from '../../helpers/temp-project.js';
import { admin, adminRecords, connect, start, userIds } from '../sandbox/salesforce-helpers.js';
import { lastSeq, pullOnce, pullProject, readCounts, requestsSince, TestClock } from './pull-harness.js';

setLogger(createLogger({ level: 'silent' }));

describe('pull from Salesforce into DuckDB', () => {
  const clock = new TestClock(Date.parse('2026-03-02T09:00:00Z'));
  let sandbox: RunningSandbox;
  let project: TempProject;
  let loaded: LoadedConfig;
  let wh: DuckdbAdapter;
  let accountId: string;

  beforeAll(async () => {
    sandbox = await start({ now: clock.now });
    ({ project, loaded } = pullProject(
      'salesforce',
      sandbox,
      'warehouse: { type: duckdb, path: wh.duckdb }',
    ));
    wh = new DuckdbAdapter({ path: path.join(project.dir, 'wh.duckdb') });
    await wh.connect();
    const owners = await userIds(sandbox);
    const leads = Array.from({ length: 30 }, (_, i) => ({
      LastName: `Lead ${i}`,
      Company: `Co ${i}`,
      Product_User_Id__c: `u${i}`,
      OwnerId: owners['ava.patel@example.com'],
    }));
    // A lead pqlsync did not score: never read.
    leads.push({ LastName: 'Other', Company: 'Other', OwnerId: owners['ava.patel@example.com'] } as never);
    const seeded = (await admin(sandbox, 'POST', '/_sandbox/salesforce/Lead', { records: leads })).body as {
      records: Array<{ Id: string }>;
    };
    await admin(sandbox, 'POST', '/_sandbox/salesforce/Task', {
      records: [
        ...seeded.records.slice(0, 29).map((l, i) => ({
          WhoId: l.Id,
          Subject: `task ${i}`,
          PQLSync_Key__c: `pqlsync:Lead:u${i}:hot:2026-03-02`,
          ActivityDate: '2026-03-02',
        })),
        { Subject: 'a task a rep made', WhoId: seeded.records[0]!.Id },
      ],
    });
    // An account task (per_account routing) about Leads: the Account in WhatId, no WhoId; created through the REST
    // API, so the sandbox derives Task.AccountId from WhatId as Salesforce does.
    const seededAccount = await admin(sandbox, 'POST', '/_sandbox/salesforce/Account', {
      records: [{ Name: 'Acme' }],
    });
    accountId = (seededAccount.body as { records: Array<{ Id: string }> }).records[0]!.Id;
    const made = await connect(sandbox).sobject('Task').create({
      WhatId: accountId,
      Subject: 'account task',
      PQLSync_Key__c: 'pqlsync:Account:acme:hot:2026-03-02',
      ActivityDate: '2026-03-02',
    });
    expect(made.success).toBe(true);
    await admin(sandbox, 'POST', '/_sandbox/salesforce/Opportunity', {
      records: [{ Name: 'Deal', StageName: 'Prospecting', CloseDate: '2026-04-01', Amount: 1200 }],
    });
    clock.tick();
  });

  afterAll(async () => {
    await wh.close();
    await sandbox.close();
    project.cleanup();
  });

  it('reads tasks, leads and opportunities; a rerun reads 0 records; 10 completed tasks read 10', async () => {
    const first = await pullOnce(loaded, wh, clock);
    expect(readCounts(first)).toEqual({ Task: 30, Lead: 30, Opportunity: 1 });
    const tasks = (await wh.query('select * from pqlsync_state.crm_tasks order by task_key')).rows;
    const sfTasks = (await adminRecords(sandbox, 'Task')).filter((t) => t.PQLSync_Key__c);
    const byId = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(tasks.map((t) => [t.task_id, t.task_key, t.status, t.is_closed, t.due_date]).sort(byId)).toEqual(
      sfTasks.map((t) => [t.Id, t.PQLSync_Key__c, 'Not Started', false, '2026-03-02']).sort(byId),
    );
    // The account task's account: Task.AccountId (its WhatId); the Lead tasks have none.
    expect(
      tasks.filter((t) => t.account_id !== null).map((t) => [t.task_key, t.account_id, t.person_id]),
    ).toEqual([['pqlsync:Account:acme:hot:2026-03-02', accountId, accountId]]);
    const leads = (await wh.query("select * from pqlsync_state.crm_people where object = 'Lead'")).rows;
    expect(leads.map((l) => l.match_value).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `u${i}`).sort(),
    );

    clock.tick(60);
    const mark = await lastSeq(sandbox);
    const second = await pullOnce(loaded, wh, clock);
    expect(readCounts(second)).toEqual({ Task: 0, Lead: 0, Opportunity: 0 });
    const requests = await requestsSince(sandbox, mark);
    expect(requests.filter((r) => !r.path.startsWith('/_sandbox')).map((r) => r.path)).toEqual([
      '/services/data/v62.0/query',
      '/services/data/v62.0/query',
      '/services/data/v62.0/query',
    ]);
    for (const r of requests.filter((x) => x.path.endsWith('/query')))
      expect(new URLSearchParams(r.query).get('q')).toContain('SystemModstamp > 2026-03-02T09:00:00Z');

    clock.tick(3600);
    const done = sfTasks.slice(0, 10);
    for (const t of done) {
      const res = await admin(sandbox, 'POST', `/_sandbox/salesforce/Task/${String(t.Id)}/complete`, {
        completedAt: '2026-03-02T09:30:00Z',
        outcome: 'Connected',
      });
      expect(res.status).toBe(200);
    }
    clock.tick();
    const third = await pullOnce(loaded, wh, clock);
    expect(readCounts(third)).toEqual({ Task: 10, Lead: 0, Opportunity: 0 });
    const closed = (
      await wh.query(
        'select task_id, status, completed_at, outcome from pqlsync_state.crm_tasks where is_closed order by task_id',
      )
    ).rows;
    expect(
      closed.map((r) => [r.task_id, r.status, (r.completed_at as Date).toISOString(), r.outcome]),
    ).toEqual(
      done
        .map((t) => String(t.Id))
        .sort()
        .map((id) => [id, 'Completed', '2026-03-02T09:30:00.000Z', 'Connected']),
    );
    // Still one row per task: the update replaced the earlier read.
    expect((await wh.query('select count(*) as n from pqlsync_state.crm_tasks')).rows[0]?.n).toBe(30);
  });
});
