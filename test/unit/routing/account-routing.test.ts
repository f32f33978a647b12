/**
 * Per-account routing (`routing.account.tasks: per_account`) over a real DuckDB state schema with an in-memory
 * TaskWriter: one task per account per tier entry across batches and runs, listing the account's users; one owner
 * per account (the CRM's unless ignored, else chosen once and kept in account_owners); self-serve writes the rule's
 * fields instead of a task; the account task is linked to the account; existing per-user routing is unchanged.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookAlerts } from '../../../src/alerts/webhook-alerts.js';
import { alertsSchema, routingSchema } from '../../../src/config/config-schema.js';
import type { RunSummary } from '../../../src/runner/run-sync.js';
import type { Change, SyncTarget } from '../../../src/destination/destination.js';
import { taskRecord } from '../../../src/destination/salesforce/salesforce-tasks.js';
import { taskInput } from '../../../src/destination/hubspot/hubspot-tasks.js';
import { Router } from '../../../src/routing/router.js';
import type {
  AccountRecord,
  CrmOwner,
  FieldChange,
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

class AccountCrm implements TaskWriter {
  readonly accountObject = 'Account';
  tasks = new Map<string, TaskSpec>();
  fields: FieldChange[] = [];
  /** CRM account owners by account value (absent: the integration user). */
  accountOwners = new Map<string, string>();
  constructor(readonly owners: CrmOwner[]) {}
  async listOwners() {
    return this.owners;
  }
  async findRecords(_t: SyncTarget, values: readonly string[]) {
    return new Map<string, RoutedRecord>(
      values.map((v) => [v, { id: `rec-${v}`, ownerId: null, object: 'Lead' }]),
    );
  }
  async findAccounts(_f: string, values: readonly string[]) {
    return new Map<string, AccountRecord>(
      values.map((v) => [v, { id: `acc-${v}`, ownerId: this.accountOwners.get(v) ?? 'integration' }]),
    );
  }
  async setOwners() {
    return new Map<string, string>();
  }
  async updateRecords(_t: SyncTarget, changes: readonly FieldChange[]) {
    this.fields.push(...changes);
    return new Map<string, string>();
  }
  async writeTasks(tasks: readonly TaskSpec[]): Promise<TaskOutcome[]> {
    return tasks.map((t) => {
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

const user = (key: string, account: string | null, score: number, employees = 50): Change => ({
  key,
  kind: 'changed',
  matchValue: key,
  values: { Score__c: score },
  changedFields: ['Score__c'],
  row: { user_id: key, account_id: account, score, employees },
  rowHash: `h${score}`,
  attempts: 0,
});
const applied = (changes: Change[]) => changes.map((c) => ({ key: c.key, status: 'applied' as const }));

const ROUTING = {
  account: {
    column: 'account_id',
    field: 'Product_Account_Id__c',
    tasks: 'per_account',
    ignore_owners: ['integration@x.io'],
  },
  rules: [
    { name: 'self_serve', when: { employees: { lte: 10 } }, task: false, set: { Route__c: 'self_serve' } },
    { name: 'sales', assign: { strategy: 'round_robin', pool: ['a@x.io', 'b@x.io'] } },
  ],
  task: {
    subject: '{{ tier }}: {{ account }} ({{ user_count }} users)',
    body: '{{ users }}',
    user_line: '{{ user_id }} {{ score }}',
  },
};

describe('per-account routing', () => {
  let wh: DuckdbAdapter;
  let state: StateStore;
  let crm: AccountCrm;
  let clock: Date;
  let run = 0;

  const router = (routing: Record<string, unknown> = ROUTING) =>
    new Router({
      sync: 'users',
      destination: 'crm',
      routing: routingSchema.parse(routing),
      target,
      state,
      writer: crm,
      runId: `run-${++run}`,
      now: () => clock,
      dryRun: false,
      log: createLogger({ level: 'silent' }),
    });
  const routeAndCommit = async (r: Router, changes: Change[]) => {
    const result = await r.route(changes, applied(changes));
    await state.commitBatch('users', 'run', changes, applied(changes), (c) => r.tierOf(c));
    return result;
  };

  beforeEach(async () => {
    wh = new DuckdbAdapter({ path: ':memory:' });
    await wh.connect();
    clock = new Date('2025-01-06T15:00:00.000Z');
    state = new StateStore(wh, 'pqlsync_state', () => clock);
    await state.ensureStateTables();
    await state.ensureSyncTables('users');
    crm = new AccountCrm([
      { id: 'int', email: 'integration@x.io', name: 'Integration', active: true },
      { id: 'oa', email: 'a@x.io', name: 'Ann', active: true },
      { id: 'ob', email: 'b@x.io', name: 'Bo', active: true },
    ]);
    crm.accountOwners.set('acme', 'int');
  });

  afterEach(async () => {
    await wh.close();
  });

  it('one task per account and tier across batches, listing its users, linked to the account, one kept owner', async () => {
    const r = router();
    await r.start();
    const first = await routeAndCommit(r, [
      user('u1', 'acme', 50),
      user('u2', 'acme', 45),
      user('v1', 'beta', 50),
    ]);
    expect(first).toMatchObject({ created: 2, cooldown: 0 });
    // A later batch of the same run: another acme user entering pql adds no task.
    const second = await routeAndCommit(r, [user('u3', 'acme', 60)]);
    expect(second).toMatchObject({ created: 0, cooldown: 1 });
    const acme = crm.tasks.get('pqlsync:Account:acme:pql:2025-01-06');
    expect(acme).toMatchObject({
      subject: 'pql: acme (2 users)',
      body: 'u1 50\nu2 45',
      about: 'account',
      account: { id: 'acc-acme' },
      record: { id: 'rec-u1' },
    });
    expect(taskRecord(acme!)).toMatchObject({ WhatId: 'acc-acme' });
    expect(taskRecord(acme!)).not.toHaveProperty('WhoId');
    expect(taskInput({ ...acme!, record: { ...acme!.record, object: 'contacts' } }).associations).toEqual([
      { to: { id: 'rec-u1' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 204 }] },
      { to: { id: 'acc-acme' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 192 }] },
    ]);
    // The integration user does not own acme: the round robin chose Ann, and she keeps it in a later run
    // (the round robin has moved on to Bo meanwhile, who took beta).
    expect([...crm.tasks.values()].map((t) => [t.entityKey, t.ownerId])).toEqual([
      ['acme', 'oa'],
      ['beta', 'ob'],
    ]);
    clock = new Date('2025-01-07T15:00:00.000Z');
    const later = router();
    await later.start();
    await routeAndCommit(later, [user('u4', 'acme', 90)]);
    expect(crm.tasks.get('pqlsync:Account:acme:hot:2025-01-07')?.ownerId).toBe('oa');
  });

  it('a lower tier inside the cooldown of a created higher-tier task adds none; the CRM owner wins', async () => {
    crm.accountOwners.set('acme', 'ob');
    const r = router();
    await r.start();
    await routeAndCommit(r, [user('u1', 'acme', 90)]);
    clock = new Date('2025-01-08T15:00:00.000Z');
    const next = router();
    await next.start();
    expect(await routeAndCommit(next, [user('u2', 'acme', 50)])).toMatchObject({ created: 0, cooldown: 1 });
    expect([...crm.tasks.values()].map((t) => [t.taskKey, t.ownerId])).toEqual([
      ['pqlsync:Account:acme:hot:2025-01-06', 'ob'],
    ]);
  });

  it('self-serve writes the rule fields on the users and creates no task', async () => {
    const r = router();
    await r.start();
    const result = await routeAndCommit(r, [user('s1', 'tiny', 80, 5), user('s2', 'tiny', 45, 5)]);
    expect(result).toMatchObject({ created: 0, noTask: 2 });
    expect(crm.tasks.size).toBe(0);
    expect(crm.fields).toEqual([
      { recordId: 'rec-s1', fields: { Route__c: 'self_serve' } },
      { recordId: 'rec-s2', fields: { Route__c: 'self_serve' } },
    ]);
  });

  it("an alerting rule's new tasks reach the alerts webhook once, with a shorter SLA of its own", async () => {
    const enterprise = {
      name: 'enterprise',
      when: { employees: { gte: 1000 } },
      assign: { strategy: 'fixed', owner: 'b@x.io' },
      sla: { pql: { due_in: '30m', priority: 'high' } },
      alert: true,
    };
    const r = router({ ...ROUTING, rules: [enterprise, ...ROUTING.rules] });
    await r.start();
    const result = await routeAndCommit(r, [user('e1', 'bigco', 50, 5000), user('v1', 'beta', 50)]);
    expect(result.alerts.map((t) => [t.key, t.owner, t.dueAt, t.priority])).toEqual([
      ['account bigco', 'Bo <b@x.io>', '2025-01-06T15:30:00.000Z', 'high'],
    ]);
    const posted: string[] = [];
    const alerts = new WebhookAlerts(
      alertsSchema.parse({ webhook_url: 'https://hooks.example/x', hot_pqls: false }),
      async (_u, body) => {
        posted.push((body as { text: string }).text);
      },
    );
    alerts.tierWatch('users')?.onRouted?.(result.alerts);
    const summary = {
      sync: 'users',
      runId: 'r',
      status: 'success',
      counts: { applied: 2, rejected: 0 },
    } as RunSummary;
    expect(await alerts.afterRun(summary)).toBe(1);
    expect(posted).toEqual([
      ':briefcase: 1 new routed task to alert on from sync *users*:\n' +
        '• pql: bigco (1 users) → Bo <b@x.io>, due 2025-01-06T15:30Z (rule enterprise)',
    ]);
    expect(await alerts.afterRun(summary)).toBe(0);
  });

  it('without per_account, every user still gets their own task keyed by the record', async () => {
    const r = router({
      ...ROUTING,
      account: { column: 'account_id', field: 'Product_Account_Id__c' },
      task: {},
    });
    await r.start();
    await routeAndCommit(r, [user('u1', 'acme', 50), user('u2', 'acme', 45)]);
    expect([...crm.tasks.keys()]).toEqual([
      'pqlsync:Lead:u1:pql:2025-01-06',
      'pqlsync:Lead:u2:pql:2025-01-06',
    ]);
  });
});
