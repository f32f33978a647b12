/**
 * Issue 19's done-when checks of account-aware routing on the default demo (5,000 users, seed 42) against both CRM
 * sandboxes, read back from the sandbox as a rep would see it (tasks, their WhatId or company association, owners,
 * keys) and checked against the demo's own data: at least 90% of tasks linked to their account; one owner per
 * account; at most one task per account per tier entry; no rep task at a company of 1-10 employees unless one of
 * its users asked to talk to sales (a `contact_sales` event in the lookback window); due times inside the demo's
 * business hours (America/New_York, Monday to Friday 09:00-17:00, holidays), computed here with Intl only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../../src/cli/commands/demo.js';
import { compileModel } from '../../../src/model/compile-model.js';
import { loadModel } from '../../../src/model/model-file.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';

for (const name of ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY']) delete process.env[name];
setLogger(createLogger({ level: 'silent' }));

/** One task as the CRM holds it, reduced to what the checks need. */
interface CrmTask {
  key: string;
  ownerId: string;
  /** The account the CRM links the task to (Salesforce WhatId, HubSpot company association), by product id. */
  linkedAccount: string | null;
  /** The product account of the person the task is about, when it names one. */
  personAccount: string | null;
  /** Due instant (HubSpot hs_timestamp, Salesforce ReminderDateTime's day via ActivityDate). */
  dueAt: Date | null;
  dueDate: string | null;
}

interface DemoFacts {
  tasks: CrmTask[];
  /** Product account id → employee count. */
  employees: Map<string, number>;
  /** Product accounts with a user who asked to talk to sales in the model's window. */
  handRaisers: Set<string>;
}

const ZONE = 'America/New_York';
const HOLIDAYS = new Set(['2026-11-26', '2026-12-25', '2027-01-01']);

/** Weekday, date and minutes of an instant in ZONE, from Intl alone. */
function local(at: Date): { weekday: string; date: string; minutes: number; seconds: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: ZONE,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return {
    weekday: get('weekday'),
    date: `${get('year')}-${get('month')}-${get('day')}`,
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
    seconds: Number(get('second')),
  };
}

function inBusinessHours(at: Date): boolean {
  const l = local(at);
  const exact = l.minutes + l.seconds / 60;
  return !['Sat', 'Sun'].includes(l.weekday) && !HOLIDAYS.has(l.date) && exact >= 9 * 60 && exact <= 17 * 60;
}

function isWorkingDate(date: string): boolean {
  const weekday = new Date(`${date}T12:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !HOLIDAYS.has(date);
}

/** Accounts' sizes and hand-raisers from the demo warehouse (the model's own sales_requests column). */
async function demoFacts(
  dir: string,
): Promise<Omit<DemoFacts, 'tasks'> & { userAccount: Map<string, string> }> {
  const wh = new DuckdbAdapter({ path: path.join(dir, 'pqlsync.duckdb') });
  await wh.connect();
  try {
    const model = await loadModel(path.join(dir, 'models'), 'pql_users', 'duckdb');
    const rows = (await wh.query(compileModel(model, { dialect: 'duckdb' }))).rows;
    const accounts = (await wh.query('select account_id, employee_count from app.accounts')).rows;
    const users = (await wh.query('select user_id, account_id from app.users where account_id is not null'))
      .rows;
    return {
      employees: new Map(accounts.map((a) => [String(a.account_id), Number(a.employee_count)])),
      handRaisers: new Set(
        rows
          .filter((r) => Number(r.sales_requests) > 0 && r.account_id !== null)
          .map((r) => String(r.account_id)),
      ),
      userAccount: new Map(users.map((u) => [String(u.user_id), String(u.account_id)])),
    };
  } finally {
    await wh.close();
  }
}

/** Due instants of every task routing logged (task_log.due_at: the time the CRM's due date and reminder come from). */
async function loggedDueTimes(dir: string): Promise<Date[]> {
  const wh = new DuckdbAdapter({ path: path.join(dir, 'pqlsync.duckdb') });
  await wh.connect();
  try {
    const { rows } = await wh.query('select due_at from pqlsync_state.task_log');
    return rows.map((r) => new Date(r.due_at instanceof Date ? r.due_at : String(r.due_at)));
  } finally {
    await wh.close();
  }
}

async function adminGet(sandbox: RunningSandbox, route: string): Promise<unknown> {
  const res = await fetch(`${sandbox.url}${route}`, {
    headers: { authorization: `Bearer ${sandbox.token}` },
  });
  return res.json();
}

async function salesforceTasks(
  sandbox: RunningSandbox,
  userAccount: Map<string, string>,
): Promise<CrmTask[]> {
  const records = async (type: string) =>
    ((await adminGet(sandbox, `/_sandbox/salesforce/${type}`)) as { records: Array<Record<string, unknown>> })
      .records;
  const accountById = new Map(
    (await records('Account')).map((a) => [String(a.Id), String(a.Product_Account_Id__c)]),
  );
  const userById = new Map((await records('Lead')).map((l) => [String(l.Id), String(l.Product_User_Id__c)]));
  return (await records('Task')).map((t) => {
    const linked = typeof t.WhatId === 'string' ? (accountById.get(t.WhatId) ?? null) : null;
    const user = typeof t.WhoId === 'string' ? userById.get(t.WhoId) : undefined;
    return {
      key: String(t.PQLSync_Key__c),
      ownerId: String(t.OwnerId),
      linkedAccount: linked,
      personAccount: user ? (userAccount.get(user) ?? null) : null,
      dueAt: null,
      dueDate: typeof t.ActivityDate === 'string' ? t.ActivityDate : null,
    };
  });
}

async function hubspotTasks(sandbox: RunningSandbox, userAccount: Map<string, string>): Promise<CrmTask[]> {
  type HsRecord = {
    id: string;
    properties: Record<string, string | null>;
    associations: Array<{ to: { id: string }; toObjectType: string }>;
  };
  const records = async (type: string) =>
    ((await adminGet(sandbox, `/_sandbox/hubspot/${type}`)) as { results: HsRecord[] }).results;
  const companies = new Map(
    (await records('companies')).map((c) => [c.id, String(c.properties.product_account_id)]),
  );
  const contacts = new Map(
    (await records('contacts')).map((c) => [c.id, String(c.properties.product_user_id)]),
  );
  return (await records('tasks')).map((t) => {
    const company = t.associations.find((a) => a.toObjectType === 'companies');
    const contact = t.associations.find((a) => a.toObjectType === 'contacts');
    const user = contact ? contacts.get(contact.to.id) : undefined;
    return {
      key: String(t.properties.pqlsync_task_key),
      ownerId: String(t.properties.hubspot_owner_id),
      linkedAccount: company ? (companies.get(company.to.id) ?? null) : null,
      personAccount: user ? (userAccount.get(user) ?? null) : null,
      dueAt: t.properties.hs_timestamp ? new Date(t.properties.hs_timestamp) : null,
      dueDate: null,
    };
  });
}

/** Product user ids of the people the self-serve route marked (Lead PQL_Route__c, contact lifecyclestage). */
async function selfServeUsers(sandbox: RunningSandbox, crm: 'salesforce' | 'hubspot'): Promise<string[]> {
  if (crm === 'salesforce') {
    const { records } = (await adminGet(sandbox, '/_sandbox/salesforce/Lead')) as {
      records: Array<Record<string, unknown>>;
    };
    return records.filter((l) => l.PQL_Route__c === 'self_serve').map((l) => String(l.Product_User_Id__c));
  }
  const { results } = (await adminGet(sandbox, '/_sandbox/hubspot/contacts')) as {
    results: Array<{ properties: Record<string, string | null> }>;
  };
  return results
    .filter((c) => c.properties.lifecyclestage === 'lead')
    .map((c) => String(c.properties.product_user_id));
}

/** The tier in a task key `pqlsync:<object>:<match value>:<tier>:<date>`. */
const tierOfKey = (key: string) => key.split(':').at(-2) ?? '';

describe.each(['salesforce', 'hubspot'] as const)('account-aware routing on the default demo (%s)', (crm) => {
  let sandbox: RunningSandbox;
  let dir: string;
  const saved = process.env.PQLSYNC_SANDBOX_TOKEN;

  afterAll(async () => {
    if (saved === undefined) delete process.env.PQLSYNC_SANDBOX_TOKEN;
    else process.env.PQLSYNC_SANDBOX_TOKEN = saved;
    await sandbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('links tasks to accounts, one owner and one task per account and tier, none for small self-serve companies, due in business hours', async () => {
    sandbox = await startSandbox({ seed: 11 });
    process.env.PQLSYNC_SANDBOX_TOKEN = sandbox.token;
    dir = mkdtempSync(path.join(tmpdir(), `pqlsync-account-routing-${crm}-`));
    const result = await runDemo({ dir, users: 5000, seed: 42, crm, sandbox: sandbox.url, run: true });
    expect(result.summaries.map((s) => [s.sync, s.status, s.error?.message])).toEqual([
      ['pqa_accounts', 'success', undefined],
      ['pql_users', 'success', undefined],
    ]);

    const facts = await demoFacts(dir);
    const tasks =
      crm === 'salesforce'
        ? await salesforceTasks(sandbox, facts.userAccount)
        : await hubspotTasks(sandbox, facts.userAccount);
    const accountOf = (t: CrmTask) => t.linkedAccount ?? t.personAccount;
    const linked = tasks.filter((t) => t.linkedAccount !== null).length;
    const byAccount = new Map<string, CrmTask[]>();
    for (const t of tasks) {
      const a = accountOf(t);
      if (a) byAccount.set(a, [...(byAccount.get(a) ?? []), t]);
    }
    console.log(
      `${crm}: ${tasks.length} tasks, ${linked} linked to their account (${((100 * linked) / Math.max(1, tasks.length)).toFixed(1)}%), ${byAccount.size} accounts`,
    );

    expect(tasks.length).toBeGreaterThan(0);
    expect(linked / tasks.length).toBeGreaterThanOrEqual(0.9);
    const manyOwners = [...byAccount].filter(([, ts]) => new Set(ts.map((t) => t.ownerId)).size > 1);
    expect(manyOwners.map(([a]) => a)).toEqual([]);
    const repeated = [...byAccount].filter(([, ts]) => {
      const tiers = ts.map((t) => tierOfKey(t.key));
      return new Set(tiers).size < tiers.length;
    });
    expect(repeated.map(([a]) => a)).toEqual([]);
    const smallWithoutHand = [...byAccount.keys()].filter(
      (a) => (facts.employees.get(a) ?? Infinity) <= 10 && !facts.handRaisers.has(a),
    );
    expect(smallWithoutHand).toEqual([]);
    // The self-serve route marks the users it gives no rep task: only users of 1-10 employee companies or none.
    const marked = await selfServeUsers(sandbox, crm);
    expect(marked.length).toBeGreaterThan(0);
    expect(
      marked.filter((u) => {
        const account = facts.userAccount.get(u);
        return account !== undefined && (facts.employees.get(account) ?? 0) > 10;
      }),
    ).toEqual([]);
    const due = await loggedDueTimes(dir);
    expect(due.length).toBe(tasks.length);
    expect(due.filter((d) => !inBusinessHours(d)).map((d) => d.toISOString())).toEqual([]);
    if (crm === 'hubspot') {
      expect(tasks.filter((t) => !t.dueAt || !inBusinessHours(t.dueAt)).map((t) => t.key)).toEqual([]);
    } else {
      expect(tasks.filter((t) => !t.dueDate || !isWorkingDate(t.dueDate)).map((t) => t.key)).toEqual([]);
    }
  }, 600_000);
});
