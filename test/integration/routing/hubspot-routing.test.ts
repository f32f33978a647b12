/**
 * Routing into HubSpot through the sandbox with the real @hubspot/api-client: tasks with hs_timestamp,
 * priority, owner, subject and body, associated to the contact (204) and its company (192); round robin skips an
 * archived owner; the unique task property `pqlsync_task_key` keeps reruns and crash replays from duplicating.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { startRoutingHarness, T0, type RoutingHarness } from './routing-harness.js';

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
    timezone: America/New_York
    routing:
      sla:
        hot: { due_in: 4h, reminder_in: 1h, priority: high }
        pql: { due_in: 2d, priority: normal }
      account: { column: account_id, field: product_account_id }
      rules:
        - name: enterprise
          when: { employees: { gte: 500 } }
          assign: { strategy: round_robin, pool: [ada.lovelace@example.com, former.rep@example.com, 41629781] }
          set_owner: true
        - name: self_serve
          when: { plan: free }
          task: false
        - name: named_accounts
          assign: { strategy: account_owner }
      task:
        subject: 'PQL {{ tier }}: {{ email }}'
        body: |-
          Their team created {{ dashboards_created }} dashboards; score {{ score }}.
          Plan <{{ plan }}> & {{ employees }} people.
`;

interface HsRecord {
  id: string;
  properties: Record<string, string>;
  associations: Array<{
    to: { id: string };
    toObjectType: string;
    types: Array<{ associationTypeId: number }>;
  }>;
}

describe('routing into HubSpot', () => {
  let h: RoutingHarness;

  const list = async (type: string): Promise<HsRecord[]> =>
    ((await h.admin('GET', `/_sandbox/hubspot/${type}`)).body as { results: HsRecord[] }).results;

  /** Tasks as a rep sees them: owner by email, associations by product ids. */
  const tasks = async () => {
    const owners = new Map(
      (
        (await h.admin('GET', '/_sandbox/hubspot/owners')).body as {
          results: Array<{ id: string; email: string }>;
        }
      ).results.map((o) => [o.id, o.email]),
    );
    const contacts = new Map((await list('contacts')).map((c) => [c.id, c.properties.product_user_id]));
    const companies = new Map((await list('companies')).map((c) => [c.id, c.properties.product_account_id]));
    return (await list('tasks'))
      .map((t) => ({
        key: t.properties.pqlsync_task_key,
        owner: owners.get(t.properties.hubspot_owner_id ?? '') ?? null,
        due: t.properties.hs_timestamp,
        reminder: t.properties.hs_task_reminders,
        priority: t.properties.hs_task_priority,
        status: t.properties.hs_task_status,
        subject: t.properties.hs_task_subject,
        body: t.properties.hs_task_body,
        associations: t.associations
          .map(
            (a) =>
              `${a.types[0]?.associationTypeId} ${a.toObjectType === 'contacts' ? contacts.get(a.to.id) : companies.get(a.to.id)}`,
          )
          .sort(),
      }))
      .sort((a, b) => String(a.key).localeCompare(String(b.key)));
  };

  beforeEach(async () => {
    h = await startRoutingHarness(config);
    const created = await h.admin('POST', '/crm/v3/properties/companies', {
      name: 'product_account_id',
      label: 'Product account id',
      type: 'string',
      fieldType: 'text',
      groupName: 'companyinformation',
      hasUniqueValue: true,
    });
    expect(created.status).toBe(201);
    await h.admin('POST', '/_sandbox/hubspot/companies', {
      records: [
        { properties: { name: 'Globex', product_account_id: 'acct-1', hubspot_owner_id: '41629780' } },
        { properties: { name: 'Initech', product_account_id: 'acct-2' } },
      ],
    });
    await h.seed([
      { id: 'h1', score: 82, employees: 900, plan: 'pro', dashboards: 12, account: 'acct-2' },
      { id: 'h2', score: 48, employees: 700, plan: 'pro', dashboards: 3 },
      { id: 'h3', score: 95, employees: 3, plan: 'free', dashboards: 40 },
      { id: 'h4', score: 71, employees: 80, plan: 'pro', dashboards: 8, account: 'acct-1' },
      { id: 'h5', score: 12, employees: 80, plan: 'pro', dashboards: 0 },
    ]);
  });

  afterEach(async () => {
    await h.close();
  });

  it('creates tasks with owner, due time, priority, text and associations; a rerun creates none', async () => {
    const first = await h.run();
    expect(first.status).toBe('success');
    expect(first.counts).toMatchObject({ added: 5, applied: 5, tasks: 3 });
    const hot = (due: string, reminder: string) => ({ due, reminder: String(Date.parse(reminder)) });
    expect(await tasks()).toEqual([
      {
        key: 'pqlsync:contacts:h1:hot:2025-01-06',
        owner: 'ada.lovelace@example.com',
        ...hot('2025-01-06T13:00:00.000Z', '2025-01-06T10:00:00.000Z'),
        priority: 'HIGH',
        status: 'NOT_STARTED',
        subject: 'PQL hot: h1@acme.io',
        body: 'Their team created 12 dashboards; score 82.<br>Plan &lt;pro&gt; &amp; 900 people.',
        associations: ['192 acct-2', '204 h1'],
      },
      {
        key: 'pqlsync:contacts:h2:pql:2025-01-06',
        // The archived owner in the pool is skipped.
        owner: 'alan.turing@example.com',
        due: '2025-01-08T09:00:00.000Z',
        reminder: String(Date.parse('2025-01-08T09:00:00.000Z')),
        priority: 'MEDIUM',
        status: 'NOT_STARTED',
        subject: 'PQL pql: h2@acme.io',
        body: 'Their team created 3 dashboards; score 48.<br>Plan &lt;pro&gt; &amp; 700 people.',
        associations: ['204 h2'],
      },
      {
        key: 'pqlsync:contacts:h4:hot:2025-01-06',
        owner: 'grace.hopper@example.com',
        ...hot('2025-01-06T13:00:00.000Z', '2025-01-06T10:00:00.000Z'),
        priority: 'HIGH',
        status: 'NOT_STARTED',
        subject: 'PQL hot: h4@acme.io',
        body: 'Their team created 8 dashboards; score 71.<br>Plan &lt;pro&gt; &amp; 80 people.',
        associations: ['192 acct-1', '204 h4'],
      },
    ]);
    // set_owner only on the enterprise rule's contacts.
    const contactOwners = Object.fromEntries(
      (await list('contacts')).map((c) => [
        c.properties.product_user_id,
        c.properties.hubspot_owner_id ?? null,
      ]),
    );
    expect(contactOwners).toEqual({ h1: '41629779', h2: '41629781', h3: null, h4: null, h5: null });

    const again = await h.run({ now: new Date(T0.getTime() + 60_000) });
    expect(again.counts).toMatchObject({ added: 0, changed: 0, tasks: 0 });
    expect(again.apiCalls).toBe(0);
    expect(await list('tasks')).toHaveLength(3);
  });

  it('plans the tasks without writing anything', async () => {
    const plan = await h.run({ dryRun: true });
    expect(plan.error).toBeUndefined();
    expect(plan.counts.tasks).toBe(3);
    expect(
      plan.plan?.tasks?.map((t) => `${t.key} ${t.tier} ${t.rule} ${t.owner} ${t.dueDate} ${t.subject}`),
    ).toEqual([
      'h1 hot enterprise Ada Lovelace <ada.lovelace@example.com> 2025-01-06 PQL hot: h1@acme.io',
      'h2 pql enterprise Alan Turing <alan.turing@example.com> 2025-01-08 PQL pql: h2@acme.io',
      'h4 hot named_accounts Grace Hopper <grace.hopper@example.com> 2025-01-06 PQL hot: h4@acme.io',
    ]);
    expect(await list('tasks')).toEqual([]);
    expect(await list('contacts')).toEqual([]);
  });

  it('a crash between task creation and commit creates no duplicate', async () => {
    const crashed = await h.run({ crashAfterTasks: true });
    expect(crashed.status).toBe('failed');
    expect(crashed.error?.message).toBe('simulated crash after the CRM created the tasks');
    const before = await tasks();
    expect(before.map((t) => t.key)).toEqual([
      'pqlsync:contacts:h1:hot:2025-01-06',
      'pqlsync:contacts:h2:pql:2025-01-06',
      'pqlsync:contacts:h4:hot:2025-01-06',
    ]);
    const rerun = await h.run({ now: new Date('2025-01-07T15:00:00.000Z') });
    expect(rerun.status).toBe('success');
    // The records were committed before the tasks were sent: the rerun sends only the pending tasks again, and
    // HubSpot's unique task key finds the ones created before the crash.
    expect(rerun.counts).toMatchObject({ added: 0, applied: 0, tasks: 0 });
    expect(await tasks()).toEqual(before);
    expect((await h.taskLog()).map((e) => `${e.entityKey} ${e.status}`)).toEqual([
      'h1 created',
      'h2 created',
      'h4 created',
    ]);
  });
});
