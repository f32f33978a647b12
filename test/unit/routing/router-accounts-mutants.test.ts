/**
 * Per-account routing (router-accounts.ts) path by path, written for Stryker's survivors on it (issue 24): the
 * account's tier, rule and lead user, the account sync's values in rules, users listed from the plan table, the
 * cooldown against earlier runs and earlier batches, resending a refused account task, the owner (CRM, kept,
 * chosen; ignored and inactive ones) and what is kept for it, owner and field changes. Real DuckDB state; the CRM
 * is pqlsync's TaskWriter interface held in memory (router-harness.ts). Each test's comment names mutants of
 * router-accounts.ts it was seen to fail with, each applied by hand.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Change } from '../../../src/destination/destination.js';
import { RouteStore } from '../../../src/routing/route-store.js';
import type { TaskSpec } from '../../../src/routing/task-writer.js';
import { applied, RouterWorld, user } from './router-harness.js';

/** Per-account routing on `account_id` with these rules (and more routing options). */
const perAccount = (rules: unknown[] = [], more: Record<string, unknown> = {}, account = {}) => ({
  account: { column: 'account_id', field: 'Acct__c', tasks: 'per_account', ...account },
  rules,
  ...more,
});
const at = (account: string, key: string, score: number, extra: Record<string, unknown> = {}) =>
  user(key, score, { account_id: account, ...extra });
const refuseAll = async (tasks: readonly TaskSpec[]) =>
  tasks.map((t) => ({ taskKey: t.taskKey, status: 'failed' as const, reason: 'UNABLE_TO_LOCK_ROW' }));

describe('per-account routing', () => {
  let w: RouterWorld;
  const log = async () =>
    (await new RouteStore(w.state).entries('users')).map(
      (e) => `${e.taskKey} ${e.status} ${e.runId} ${e.entityKey} ${e.previousTier} ${e.rule}`,
    );
  const tasks = () => [...w.crm.tasks.values()].map((t) => `${t.taskKey} ${t.ownerId} ${t.subject}`);

  beforeEach(async () => {
    w = await new RouterWorld().open();
  });
  afterEach(async () => {
    await w.close();
  });

  // Fails with (each applied by hand): the tier's `tierRank(c.tier) < tierRank(a)` → `>`; the lead's sort
  // `ruleOrder(a) - ruleOrder(b)` → `+`; ruleOrder's `m.index < 0` → `<= 0` and → `false` (the default rule would
  // lead); `group.find((c) => c.tier === tier)` → `!==` (the task would be about a user of another tier);
  // `matched: lead.matched` dropped (the first user's rule instead of the lead's).
  it("takes the highest tier its users entered, the first rule any of them matches, and that tier's first user", async () => {
    const routing = perAccount([
      { name: 'big', when: { employees: { gte: 1000 } }, assign: { strategy: 'fixed', owner: 'b@x.io' } },
    ]);
    const first = w.router(routing);
    await first.start();
    await w.routeAndCommit(first, [at('acme', 'hotter', 50)]);
    w.at(1);
    const r = w.router(routing);
    await r.start();
    // The batch lists the default rule's user first: the rule order, not the batch order, picks the lead.
    const result = await w.routeAndCommit(r, [
      at('acme', 'hotter', 80),
      at('acme', 'large', 45, { employees: 5000 }),
    ]);
    expect(result.planned.map((p) => `${p.key} ${p.previousTier} -> ${p.tier} ${p.rule} ${p.owner}`)).toEqual(
      // Ann: the owner run 1 kept for acme (its rule then kept the user's record owner).
      ['account acme pql -> hot big Ann <a@x.io>'],
    );
    expect((await log()).slice(-1)).toEqual([
      'pqlsync:Account:acme:hot:2025-01-07 created run-2 acme pql big',
    ]);
  });

  // Fails with: `c.row = { ...c.row, ...columns.get(value) }` → `{ ...c.row }` and `c.matched =
  // matchRule(c.row, routing.rules)` removed (the rules would not see the account sync's values). (Dropping
  // `...columns.get(value)` from the task's vars is not seen: `c.row` and the listed users' rows carry them already.)
  it("routes by the account sync's last values, and names them in the task", async () => {
    await w.state.ensureSyncTables('accounts');
    const account: Change = {
      key: 'acme',
      kind: 'changed',
      matchValue: 'acme',
      values: { PQA_Tier__c: 'enterprise' },
      changedFields: ['PQA_Tier__c'],
      row: { account_id: 'acme' },
      rowHash: 'a1',
      attempts: 0,
    };
    await w.state.commitBatch('accounts', 'run', [account], applied([account]));
    const r = w.router(
      perAccount(
        [
          {
            name: 'ent',
            when: { account_PQA_Tier__c: 'enterprise' },
            assign: { strategy: 'fixed', owner: 'b@x.io' },
          },
        ],
        { task: { subject: '{{ account }} is {{ account_PQA_Tier__c }}' } },
        { sync: 'accounts' },
      ),
    );
    await r.start();
    await w.routeAndCommit(r, [at('acme', 'u1', 80), at('beta', 'v1', 80)]);
    expect(tasks()).toEqual([
      'pqlsync:Account:acme:hot:2025-01-06 ob acme is enterprise',
      'pqlsync:Account:beta:hot:2025-01-06 oa beta is -',
    ]);
  });

  // Fails with: `...(this.options.planTable ? { planTable } : {})` → `{}` (only the batch's users are
  // listed), `if (top) matchValues.add(top.matchValue)` removed (the top user of another batch would have no
  // record: the task would be linked to the batch's user instead).
  it("lists the account's users of every batch from the plan table, and links the task to the top one", async () => {
    await w.wh.query(
      `create table main.plan_rows as select * from (values
         ('top', 'changed', 'top', 'acme', 95, 50),
         ('u1', 'changed', 'u1', 'acme', 80, 50),
         ('old', 'removed', 'old', 'acme', 99, 50)) t(__pqlsync_pk, __pqlsync_op, user_id, account_id, score, employees)`,
    );
    const r = w.router(perAccount([], { task: { subject: '{{ user_count }} users' } }), {
      planTable: 'main.plan_rows',
    });
    await r.start();
    await w.routeAndCommit(r, [at('acme', 'u1', 80)]);
    expect(w.crm.calls).toContain('findRecords u1,top');
    expect([...w.crm.tasks.values()].map((t) => `${t.subject} ${t.record.id} ${t.body}`)).toEqual([
      expect.stringMatching(/^2 users rec-top /),
    ]);
  });

  // Fails with: `tierRank(t) <= tierRank(tier)` → `<` (a created task of the same tier in an earlier run
  // would not stop a new one), `result.cooldown += group.length` → `-=`.
  it('adds no task for an account whose task of the same tier was created by an earlier run', async () => {
    const first = w.router(perAccount());
    await first.start();
    await w.routeAndCommit(first, [at('acme', 'u1', 80)]);
    w.at(2);
    const second = w.router(perAccount());
    await second.start();
    w.crm.calls.length = 0;
    expect(await w.routeAndCommit(second, [at('acme', 'u2', 80), at('acme', 'u3', 90)])).toMatchObject({
      created: 0,
      cooldown: 2,
      planned: [],
    });
    expect(w.crm.calls.filter((c) => c.startsWith('writeTasks'))).toEqual([]);
  });

  // Fails with: `e.status === 'created' || e.runId === this.options.runId` → `… || false` (a task this run
  // prepared for a higher tier, though refused, would not stop a lower one in a later batch).
  it('adds no lower-tier task in a later batch of the run that prepared a higher one, even one the CRM refused', async () => {
    const r = w.router(perAccount());
    await r.start();
    w.crm.writeTasksAnswer = refuseAll;
    expect(await w.routeAndCommit(r, [at('acme', 'u1', 80)])).toMatchObject({ failed: 1 });
    w.crm.writeTasksAnswer = undefined;
    expect(await w.routeAndCommit(r, [at('acme', 'u2', 50)])).toMatchObject({ created: 0, cooldown: 1 });
    expect(w.crm.tasks.size).toBe(0);
  });

  // Fails with: `if (resumed)` → `if (false)` (a new task with a new owner and text instead), the resent
  // entry's `{ sync }` → `{}` (the row would stay under the former sync name), plannedOf(…, true, …) → `false`.
  it("sends an earlier run's refused account task again as it was, when another user enters the tier", async () => {
    const routing = perAccount(
      [{ name: 'rr', assign: { strategy: 'round_robin', pool: ['a@x.io', 'b@x.io'] } }],
      {
        task: { subject: '{{ key }} {{ owner }}' },
      },
    );
    const first = w.router(routing);
    await first.start();
    w.crm.writeTasksAnswer = refuseAll;
    await w.routeAndCommit(first, [at('acme', 'u1', 80)]);
    w.crm.writeTasksAnswer = undefined;
    // As written under the sync's former name: the account's history follows its record key, and is taken over.
    await w.wh.query(`update pqlsync_state.task_log set sync = 'old_users'`);
    w.at(1);
    const second = w.router(routing);
    await second.start();
    const result = await w.routeAndCommit(second, [at('acme', 'u2', 90)]);
    expect(result.planned.map((p) => `${p.key} ${p.resumed} ${p.owner} ${p.taskKey}`)).toEqual([
      'account acme true Ann <a@x.io> pqlsync:Account:acme:hot:2025-01-06',
    ]);
    expect(tasks()).toEqual(['pqlsync:Account:acme:hot:2025-01-06 oa u1 Ann']);
    expect(await log()).toEqual(['pqlsync:Account:acme:hot:2025-01-06 created run-2 acme null rr']);
  });

  // Fails with: `crmOwner?.active && …` → `crmOwner && …` (an inactive CRM owner would own the account),
  // the assignment's `account: crmOwner && !ignored ? crmAccount : undefined` → `crmAccount` (an ignored owner
  // would reach account_owner), `kept?.active` → `kept` (an inactive kept owner would be kept).
  it('passes over an ignored or inactive CRM owner and an inactive kept owner', async () => {
    w.crm.accountOwners.set('ign', 'int');
    w.crm.accountOwners.set('off', 'oz');
    w.crm.recordOwners.set('i1', null);
    w.crm.recordOwners.set('o1', null);
    const routing = perAccount(
      [{ name: 'acct', assign: { strategy: 'account_owner' } }],
      { task: { subject: '{{ account }}: {{ owner }}' } },
      { ignore_owners: ['integration@x.io'] },
    );
    const r = w.router(routing);
    await r.start();
    await new RouteStore(w.state).write([], undefined, [
      {
        recordKey: '["crm","Account","kept"]',
        ownerId: 'oz',
        sync: 'users',
        rule: 'acct',
        assignedAt: w.clock,
      },
    ]);
    await w.routeAndCommit(r, [at('ign', 'i1', 80), at('off', 'o1', 80), at('kept', 'k1', 80)]);
    expect(tasks()).toEqual([
      'pqlsync:Account:ign:hot:2025-01-06 null ign: existing owner (no account)',
      'pqlsync:Account:off:hot:2025-01-06 null off: existing owner (account owner inactive)',
      'pqlsync:Account:kept:hot:2025-01-06 oa kept: Ann',
    ]);
  });

  // Fails with: resolveIgnoredOwners' `if (owner) this.ignored.add(owner.id)` removed (int would own acme:
  // checked in the next test's sibling above too), the kept row's `rule` → `''`, `out.owners.push(…)` dropped (no
  // kept row), `if (assignment.cursor !== undefined)` → `if (false)` (the rotation restarts each run), and
  // `this.run.cursors.set(cursorName, assignment.cursor)` removed (gamma would get Bo too).
  it('keeps the owner a round robin chose for an account, and continues the rotation in the next run', async () => {
    const routing = perAccount([
      { name: 'rr', assign: { strategy: 'round_robin', pool: ['a@x.io', 'b@x.io'] } },
    ]);
    const r = w.router(routing);
    await r.start();
    await w.routeAndCommit(r, [at('acme', 'u1', 80)]);
    w.at(1);
    const next = w.router(routing);
    await next.start();
    await w.routeAndCommit(next, [at('beta', 'v1', 80), at('gamma', 'g1', 80)]);
    expect([...w.crm.tasks.values()].map((t) => `${t.entityKey} ${t.ownerId}`)).toEqual([
      'acme oa',
      'beta ob',
      'gamma oa',
    ]);
    const { rows } = await w.wh.query(
      'select record_key, owner_id, sync, rule, assigned_at from pqlsync_state.account_owners order by record_key',
    );
    expect(
      rows.map((o) => [
        o.record_key,
        o.owner_id,
        o.sync,
        o.rule,
        new Date(String(o.assigned_at)).toISOString(),
      ]),
    ).toEqual([
      ['["crm","Account","acme"]', 'oa', 'users', 'rr', '2025-01-06T09:00:00.000Z'],
      ['["crm","Account","beta"]', 'ob', 'users', 'rr', '2025-01-07T09:00:00.000Z'],
      ['["crm","Account","gamma"]', 'oa', 'users', 'rr', '2025-01-07T09:00:00.000Z'],
    ]);
  });

  // Fails with: ownerOf's `this.owners.set(key, assignment.ownerId)` removed (a plan writes no account_owners row,
  // so the owner chosen in its first batch is what keeps the account's later batches with the same rep); the stored
  // owners' read `values.map(…).filter((k) => !this.owners.has(k))` → `values.map(…)` (whole-file run, m24r: the
  // second batch would read acme's stored, inactive owner again over the one the first batch chose, and choose
  // anew: Bo).
  it("plans one owner for an account across a plan's batches, over an inactive stored one", async () => {
    const routing = perAccount([
      { name: 'rr', assign: { strategy: 'round_robin', pool: ['a@x.io', 'b@x.io'] } },
    ]);
    await w.router(routing).start();
    await new RouteStore(w.state).write([], undefined, [
      {
        recordKey: '["crm","Account","acme"]',
        ownerId: 'oz',
        sync: 'users',
        rule: 'rr',
        assignedAt: w.clock,
      },
    ]);
    const plan = w.router(routing, { dryRun: true });
    await plan.start();
    const first = await plan.route([at('acme', 'u1', 50)], []);
    const second = await plan.route([at('acme', 'u2', 80)], []);
    expect([...first.planned, ...second.planned].map((p) => `${p.key} ${p.tier} ${p.owner}`)).toEqual([
      'account acme pql Ann <a@x.io>',
      'account acme hot Ann <a@x.io>',
    ]);
  });

  // Fails with: `if ('error' in owner)` → `if (false)`, its `result.failed++` removed, its warning emptied, the
  // warning's `{ account: value, rule: c.matched.name, tier }` → `{}`.
  it('says why an account gets no task when its rule has no active owner', async () => {
    const r = w.router(perAccount([{ name: 'gone', assign: { strategy: 'fixed', owner: 'z@x.io' } }]));
    await r.start();
    w.logs.clear();
    expect(await w.routeAndCommit(r, [at('acme', 'u1', 80)])).toMatchObject({ created: 0, failed: 1 });
    expect(w.logs.lines).toEqual([
      'warn: no task for account acme: the fixed owner z@x.io is not an active owner',
    ]);
    expect(w.logs.fields).toEqual([{ account: 'acme', rule: 'gone', tier: 'hot' }]);
  });

  // Fails with: `rule.set_owner && owner.ownerId` → `||`, `r.ownerId !== owner.ownerId` → `true`, setOn's
  // `if (rule.set)` → `if (true)`.
  it("makes the account's owner the owner of its users' records that have another", async () => {
    w.crm.recordOwners.set('u2', 'ob');
    const r = w.router(
      perAccount([
        {
          name: 'own',
          set_owner: true,
          set: { Route__c: 'sales' },
          assign: { strategy: 'fixed', owner: 'b@x.io' },
        },
      ]),
    );
    await r.start();
    await w.routeAndCommit(r, [at('acme', 'u1', 80), at('acme', 'u2', 80)]);
    const plain = w.router(perAccount([{ name: 'plain', assign: { strategy: 'fixed', owner: 'b@x.io' } }]));
    await plain.start();
    await w.routeAndCommit(plain, [at('beta', 'v1', 80)]);
    expect(w.crm.calls.filter((c) => /^(setOwners|updateRecords)/.test(c))).toEqual([
      'setOwners rec-u1=ob',
      'updateRecords rec-u1={"Route__c":"sales"},rec-u2={"Route__c":"sales"}',
    ]);
  });

  // Fails with: `!topRecord && !crmAccount && !dryRun` → `… || !dryRun` and → `false`, its warning
  // emptied (and its `{ account: value }` → `{}`); plannedOf's `topRecord || crmAccount ? undefined : owner.via`
  // → `… : undefined`.
  it('makes no task when neither the account nor its users are found, and a plan says how it will be owned', async () => {
    w.crm.missing.add('u1');
    w.crm.missingAccounts.add('acme');
    const plan = w.router(perAccount(), { dryRun: true });
    await plan.start();
    expect((await plan.route([at('acme', 'u1', 80)], [])).planned.map((p) => p.owner)).toEqual([
      '(existing owner)',
    ]);
    const r = w.router(perAccount());
    await r.start();
    w.logs.clear();
    expect(await w.routeAndCommit(r, [at('acme', 'u1', 80), at('beta', 'v1', 80)])).toMatchObject({
      created: 1,
      failed: 1,
    });
    expect(w.logs.lines).toEqual([
      'warn: no task for account acme: neither the account (Acct__c = acme) nor its users were found after the write',
    ]);
    expect(w.logs.fields).toEqual([{ account: 'acme' }]);
  });

  // The tests below were written for the survivors of the whole-file Stryker run over router-accounts.ts
  // (2026-12-07, m24r); each mutant they name was applied to the source by hand and seen to fail the test.

  // Fails with: the account tier's `tierRank(c.tier) < tierRank(a)` → `false` (the tier of the batch's first user,
  // pql, whose task run 1 created: no task), `group.find((c) => c.tier === tier)` → `find(() => true)` (the task
  // would be about the batch's first user, who entered pql from no tier: previous tier null).
  it("takes the tier of a user listed after a lower-tier one, and that user's previous tier", async () => {
    const first = w.router(perAccount());
    await first.start();
    await w.routeAndCommit(first, [at('acme', 'hot', 50)]);
    w.at(1);
    const r = w.router(perAccount());
    await r.start();
    const result = await w.routeAndCommit(r, [at('acme', 'new', 45), at('acme', 'hot', 80)]);
    expect(result.planned.map((p) => `${p.key} ${p.previousTier} -> ${p.tier} ${p.resumed}`)).toEqual([
      'account acme pql -> hot false',
    ]);
  });

  // Fails with: `!topRecord && !crmAccount && !dryRun` → `!topRecord || !crmAccount && !dryRun` (an account found in
  // the CRM whose users are not would get no task, and a warning).
  it('makes the task of an account the CRM has when none of its users is found, linked to the account', async () => {
    w.crm.missing.add('u1');
    const r = w.router(perAccount());
    await r.start();
    w.logs.clear();
    expect(await w.routeAndCommit(r, [at('acme', 'u1', 80)])).toMatchObject({ created: 1, failed: 0 });
    expect([...w.crm.tasks.values()].map((t) => `${t.taskKey} ${t.record.id} ${t.account?.id}`)).toEqual([
      'pqlsync:Account:acme:hot:2025-01-06  acc-acme',
    ]);
    expect(w.logs.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  // Fails with: the task's template values `...(users[0]?.row ?? {})` → `...(users[0]?.row && {})` (the text would
  // name the batch's first user of the tier, u1, instead of the top-scored one).
  it("fills the account task's text with the top-scored user's values", async () => {
    const r = w.router(perAccount([], { task: { subject: '{{ user_id }} {{ score }}' } }));
    await r.start();
    await w.routeAndCommit(r, [at('acme', 'u1', 80), at('acme', 'u2', 95)]);
    expect([...w.crm.tasks.values()].map((t) => `${t.subject} ${t.record.id}`)).toEqual(['u2 95 rec-u2']);
  });

  // Fails with: plannedOf's `topRecord || crmAccount ? undefined : owner.via` → `false ? …` (acme's owner column
  // would read `(existing owner (account owner inactive))`) and → `topRecord && crmAccount ? …` (beta, whose
  // account is not found, would read `(existing owner (no account))`): a found record without an owner shows as
  // the record's owner, not as how the owner was chosen.
  it("plans an account task for a found record without an owner as the record owner's", async () => {
    w.crm.recordOwners.set('u1', null);
    w.crm.recordOwners.set('v1', null);
    w.crm.missingAccounts.add('beta');
    const plan = w.router(perAccount([{ name: 'acct', assign: { strategy: 'account_owner' } }]), {
      dryRun: true,
    });
    await plan.start();
    const result = await plan.route([at('acme', 'u1', 80), at('beta', 'v1', 80)], []);
    expect(result.planned.map((p) => `${p.key} ${p.owner}`)).toEqual([
      'account acme (record owner)',
      'account beta (record owner)',
    ]);
  });
});
