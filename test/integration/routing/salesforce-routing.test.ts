/**
 * Routing into Salesforce through the sandbox with the real jsforce: Tasks upserted on PQLSync_Key__c with the
 * right owner (round robin skipping an inactive user, existing owner, account owner), due date, reminder,
 * priority, text, WhoId/WhatId; no duplicates on rerun or after a crash between creation and commit; cooldown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { startRoutingHarness, T0, type RoutingHarness, type UserRow } from './routing-harness.js';

setLogger(createLogger({ level: 'silent' }));

const config = (object: 'Lead' | 'Contact') => (url: string, token: string) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  sf:
    type: salesforce
    instance_url: ${url}
    auth: { type: access_token, access_token: ${token} }
syncs:
  users:
    model: users
    destination: sf
    object: ${object}
    match: { field: Product_User_Id__c, column: user_id }
    fields:
      Email: email
      LastName: last_name
${object === 'Lead' ? '      Company: company\n' : ''}      PQL_Score__c: score
    routing:
      cooldown_days: 30
      sla:
        hot: { due_in: 1h, priority: high }
        pql: { due_in: 4h, reminder_in: 30m, priority: normal }
${object === 'Contact' ? '      account: { column: account_id, field: Product_Account_Id__c }\n' : ''}      rules:
        - name: enterprise
          when: { employees: { gte: 500 } }
          assign:
            strategy: ${object === 'Lead' ? 'round_robin' : 'account_owner'}
            pool: [ava.patel@example.com, dev.inactive@example.com, ben.okafor@example.com]
          set_owner: true
        - name: self_serve
          when: { plan: free, employees: { lt: 10 } }
          task: false
      task:
        subject: '{{ tier }} PQL: {{ email }} (score {{ score }})'
        body: |-
          I saw your team has created {{ dashboards_created }} dashboards since {{ signup_date }}.
          {{ employees }} employees on the {{ plan }} plan. Due {{ due_date }} ({{ rule }}).
`;

const USERS: UserRow[] = [
  { id: 'u1', score: 80, employees: 900, plan: 'pro', dashboards: 12 },
  { id: 'u2', score: 50, employees: 1200, plan: 'pro', dashboards: 4 },
  { id: 'u3', score: 90, employees: 5, plan: 'free', dashboards: 30 },
  { id: 'u4', score: 45, employees: 50, plan: 'pro', dashboards: 2 },
  { id: 'u5', score: 20, employees: 20, plan: 'pro', dashboards: 0 },
  { id: 'u6', score: 75, employees: 600, plan: 'team', dashboards: 7 },
];

type Rec = Record<string, unknown>;

async function records(h: RoutingHarness, object: string): Promise<Rec[]> {
  return ((await h.admin('GET', `/_sandbox/salesforce/${object}`)).body as { records: Rec[] }).records;
}

/** Task fields a rep sees, with owner and Who by readable names. */
async function tasks(h: RoutingHarness): Promise<Rec[]> {
  const users = new Map((await records(h, 'User')).map((u) => [u.Id, u.FirstName]));
  const people = new Map(
    [...(await records(h, 'Lead')), ...(await records(h, 'Contact'))].map((l) => [
      l.Id,
      l.Product_User_Id__c,
    ]),
  );
  const accounts = new Map((await records(h, 'Account')).map((a) => [a.Id, a.Product_Account_Id__c]));
  return (await records(h, 'Task'))
    .map((t) => ({
      key: t.PQLSync_Key__c,
      owner: users.get(t.OwnerId),
      who: people.get(t.WhoId) ?? t.WhoId ?? null,
      what: accounts.get(t.WhatId) ?? t.WhatId ?? null,
      ActivityDate: t.ActivityDate,
      ReminderDateTime: t.ReminderDateTime,
      IsReminderSet: t.IsReminderSet,
      Priority: t.Priority,
      Status: t.Status,
      Subject: t.Subject,
      Description: t.Description,
    }))
    .sort((a, b) => String(a.key).localeCompare(String(b.key)));
}

// Up to 35 s a test at load 20 (several syncs and routings each): near vitest's 60 s default (issue 24).
describe('routing into Salesforce', { timeout: 240_000 }, () => {
  let h: RoutingHarness;

  afterEach(async () => {
    await h.close();
  });

  describe('Leads', () => {
    beforeEach(async () => {
      h = await startRoutingHarness(config('Lead'));
      await h.seed(USERS);
    });

    it('creates one task per transition with owner, due date, reminder, priority, text and WhoId; a rerun creates none', async () => {
      const plan = await h.run({ dryRun: true });
      expect(plan.status).toBe('planned');
      expect(plan.counts.tasks).toBe(4);
      expect(
        plan.plan?.tasks?.map((t) => `${t.key} ${t.tier} ${t.rule} ${t.owner} ${t.dueAt} ${t.priority}`),
      ).toEqual([
        'u1 hot enterprise Ava Patel <ava.patel@example.com> 2025-01-06T10:00:00.000Z high',
        'u2 pql enterprise Ben Okafor <ben.okafor@example.com> 2025-01-06T13:00:00.000Z normal',
        'u4 pql default (existing owner) 2025-01-06T13:00:00.000Z normal',
        'u6 hot enterprise Ava Patel <ava.patel@example.com> 2025-01-06T10:00:00.000Z high',
      ]);
      expect(await records(h, 'Task')).toEqual([]);
      expect(await h.wh.tableExists('pqlsync_state', 'task_log')).toBe(false);

      const first = await h.run();
      expect(first.status).toBe('success');
      expect(first.counts).toMatchObject({ added: 6, applied: 6, tasks: 4 });
      expect(await tasks(h)).toEqual([
        {
          key: 'pqlsync:Lead:u1:hot:2025-01-06',
          owner: 'Ava',
          who: 'u1',
          what: null,
          ActivityDate: '2025-01-06',
          ReminderDateTime: '2025-01-06T10:00:00.000+0000',
          IsReminderSet: true,
          Priority: 'High',
          Status: 'Not Started',
          Subject: 'hot PQL: u1@acme.io (score 80)',
          Description:
            'I saw your team has created 12 dashboards since 2024-11-04.\n900 employees on the pro plan. Due 2025-01-06 (enterprise).',
        },
        {
          key: 'pqlsync:Lead:u2:pql:2025-01-06',
          owner: 'Ben',
          who: 'u2',
          what: null,
          ActivityDate: '2025-01-06',
          ReminderDateTime: '2025-01-06T09:30:00.000+0000',
          IsReminderSet: true,
          Priority: 'Normal',
          Status: 'Not Started',
          Subject: 'pql PQL: u2@acme.io (score 50)',
          Description:
            'I saw your team has created 4 dashboards since 2024-11-04.\n1200 employees on the pro plan. Due 2025-01-06 (enterprise).',
        },
        {
          key: 'pqlsync:Lead:u4:pql:2025-01-06',
          owner: 'Integration',
          who: 'u4',
          what: null,
          ActivityDate: '2025-01-06',
          ReminderDateTime: '2025-01-06T09:30:00.000+0000',
          IsReminderSet: true,
          Priority: 'Normal',
          Status: 'Not Started',
          Subject: 'pql PQL: u4@acme.io (score 45)',
          Description:
            'I saw your team has created 2 dashboards since 2024-11-04.\n50 employees on the pro plan. Due 2025-01-06 (default).',
        },
        {
          key: 'pqlsync:Lead:u6:hot:2025-01-06',
          owner: 'Ava',
          who: 'u6',
          what: null,
          ActivityDate: '2025-01-06',
          ReminderDateTime: '2025-01-06T10:00:00.000+0000',
          IsReminderSet: true,
          Priority: 'High',
          Status: 'Not Started',
          Subject: 'hot PQL: u6@acme.io (score 75)',
          Description:
            'I saw your team has created 7 dashboards since 2024-11-04.\n600 employees on the team plan. Due 2025-01-06 (enterprise).',
        },
      ]);
      // set_owner: the enterprise rule made the chosen rep the Lead's owner; others keep theirs.
      const users = new Map((await records(h, 'User')).map((u) => [u.Id, u.FirstName]));
      const owners = Object.fromEntries(
        (await records(h, 'Lead')).map((l) => [l.Product_User_Id__c, users.get(l.OwnerId)]),
      );
      expect(owners).toEqual({
        u1: 'Ava',
        u2: 'Ben',
        u3: 'Integration',
        u4: 'Integration',
        u5: 'Integration',
        u6: 'Ava',
      });
      expect(await h.cursors()).toEqual(new Map([['enterprise', 1]]));
      expect((await h.taskLog()).map((e) => `${e.taskKey} ${e.status}`)).toEqual([
        'pqlsync:Lead:u1:hot:2025-01-06 created',
        'pqlsync:Lead:u2:pql:2025-01-06 created',
        'pqlsync:Lead:u4:pql:2025-01-06 created',
        'pqlsync:Lead:u6:hot:2025-01-06 created',
      ]);

      const again = await h.run({ now: new Date(T0.getTime() + 3_600_000) });
      expect(again.counts).toMatchObject({ added: 0, changed: 0, tasks: 0 });
      expect(again.apiCalls).toBe(0);
      expect(await records(h, 'Task')).toHaveLength(4);
    });

    it('routes only upward moves, continues the rotation across runs, and keeps the cooldown', async () => {
      await h.run();
      const day1 = new Date('2025-01-07T09:00:00.000Z');
      await h.seed([
        ...USERS.map((u) =>
          // u1: hot → pql is a move down (no task); u5: nurture → hot under the default rule.
          u.id === 'u1' ? { ...u, score: 50 } : u.id === 'u5' ? { ...u, score: 85 } : u,
        ),
        { id: 'u7', score: 72, employees: 700, plan: 'pro', dashboards: 9 },
      ]);
      const second = await h.run({ now: day1 });
      expect(second.counts).toMatchObject({ added: 1, changed: 2, tasks: 2 });
      const created = (await tasks(h)).filter((t) => String(t.key).endsWith('2025-01-07'));
      expect(created.map((t) => `${t.key} ${t.owner} ${t.Priority} ${t.ActivityDate}`)).toEqual([
        'pqlsync:Lead:u5:hot:2025-01-07 Integration High 2025-01-07',
        // Ava, Ben, Ava were picked on day 0; Dev (inactive) is skipped, so Ben is next.
        'pqlsync:Lead:u7:hot:2025-01-07 Ben High 2025-01-07',
      ]);

      // u4 drops to nurture and comes back inside the cooldown: no second task.
      await h.setScore('u4', 10);
      await h.run({ now: new Date('2025-01-08T09:00:00.000Z') });
      await h.setScore('u4', 45);
      const back = await h.run({ now: new Date('2025-01-09T09:00:00.000Z') });
      expect(back.counts).toMatchObject({ changed: 1, tasks: 0 });
      // After the cooldown (30 days from the first task), re-entry gets a new task under a new key.
      await h.setScore('u4', 10);
      await h.run({ now: new Date('2025-02-06T09:00:00.000Z') });
      await h.setScore('u4', 60);
      const later = await h.run({ now: new Date('2025-02-06T10:00:00.000Z') });
      expect(later.counts).toMatchObject({ changed: 1, tasks: 1 });
      expect((await tasks(h)).filter((t) => t.who === 'u4').map((t) => t.key)).toEqual([
        'pqlsync:Lead:u4:pql:2025-01-06',
        'pqlsync:Lead:u4:pql:2025-02-06',
      ]);
      expect(await records(h, 'Task')).toHaveLength(7);
    });

    it('a crash between task creation and commit creates no duplicate: the rerun upserts the same keys', async () => {
      const crashed = await h.run({ crashAfterTasks: true });
      expect(crashed.status).toBe('failed');
      expect(crashed.error?.message).toBe('simulated crash after the CRM created the tasks');
      const before = await tasks(h);
      expect(before.map((t) => `${t.key} ${t.owner}`)).toEqual([
        'pqlsync:Lead:u1:hot:2025-01-06 Ava',
        'pqlsync:Lead:u2:pql:2025-01-06 Ben',
        'pqlsync:Lead:u4:pql:2025-01-06 Integration',
        'pqlsync:Lead:u6:hot:2025-01-06 Ava',
      ]);
      expect((await h.taskLog()).map((e) => e.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
      // The records were committed before the tasks were sent; the next day the rerun sends the pending tasks
      // again (upserts by task key: the same tasks).
      const rerun = await h.run({ now: new Date('2025-01-07T08:00:00.000Z') });
      expect(rerun.status).toBe('success');
      expect(rerun.counts).toMatchObject({ added: 0, applied: 0, tasks: 0 });
      const after = await tasks(h);
      expect(after).toEqual(before);
      expect((await h.taskLog()).map((e) => e.status)).toEqual(['created', 'created', 'created', 'created']);
      // The rotation was persisted with the pending rows, so the rerun kept the same owners.
      expect(await h.cursors()).toEqual(new Map([['enterprise', 1]]));
    });
  });

  describe('Contacts at owned accounts', () => {
    beforeEach(async () => {
      h = await startRoutingHarness(config('Contact'));
      const users = new Map((await records(h, 'User')).map((u) => [u.Email, u.Id]));
      const seeded = await h.admin('POST', '/_sandbox/salesforce/Account', {
        records: [
          { Name: 'Globex', Product_Account_Id__c: 'acct-1', OwnerId: users.get('chloe.martin@example.com') },
          {
            Name: 'Initech',
            Product_Account_Id__c: 'acct-2',
            OwnerId: users.get('dev.inactive@example.com'),
          },
        ],
      });
      expect(seeded.status).toBeLessThan(300);
      await h.seed([
        { id: 'c1', score: 88, employees: 800, plan: 'pro', dashboards: 21, account: 'acct-1' },
        { id: 'c2', score: 55, employees: 650, plan: 'pro', dashboards: 3, account: 'acct-2' },
        { id: 'c3', score: 71, employees: 40, plan: 'pro', dashboards: 5, account: 'acct-1' },
      ]);
    });

    it('assigns the account owner (else the existing owner) and relates the task to the Account', async () => {
      const run = await h.run();
      expect(run.status).toBe('success');
      expect((await tasks(h)).map((t) => `${t.who} ${t.what} ${t.owner} ${t.Priority}`)).toEqual([
        'c1 acct-1 Chloe High',
        // Initech's owner is inactive: the contact's own owner keeps it.
        'c2 acct-2 Integration Normal',
        // Not an enterprise: the default rule keeps the existing owner, and the task is still related to the Account.
        'c3 acct-1 Integration High',
      ]);
      const users = new Map((await records(h, 'User')).map((u) => [u.Id, u.FirstName]));
      expect(
        Object.fromEntries(
          (await records(h, 'Contact')).map((c) => [c.Product_User_Id__c, users.get(c.OwnerId)]),
        ),
      ).toEqual({
        c1: 'Chloe',
        c2: 'Integration',
        c3: 'Integration',
      });
    });
  });
});
