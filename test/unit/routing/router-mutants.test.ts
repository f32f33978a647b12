/**
 * The Router (router.ts) path by path, written for Stryker's survivors on it (issue 24): what `start` reads and
 * records, which rows are routed, resending earlier runs' tasks (`resumeOutstanding`, the cooldown's edge), owner
 * and field changes, the pending rows written before the CRM is called, and every way the CRM can refuse in `send`.
 * Real DuckDB state; the CRM is pqlsync's TaskWriter interface held in memory (router-harness.ts). Each test's
 * comment names the mutants of router.ts it was seen to fail with, each applied by hand.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routingSchema } from '../../../src/config/config-schema.js';
import type { Change } from '../../../src/destination/destination.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { ownerNames } from '../../../src/report/owner-names.js';
import { RouteStore } from '../../../src/routing/route-store.js';
import { hasOutstandingTasks } from '../../../src/routing/router.js';
import type { TaskSpec } from '../../../src/routing/task-writer.js';
import { applied, RouterWorld, user } from './router-harness.js';

const refuseAll = (reason: string) => async (tasks: readonly TaskSpec[]) =>
  tasks.map((t) => ({ taskKey: t.taskKey, status: 'failed' as const, reason }));

describe('Router', () => {
  let w: RouterWorld;
  const entries = async () =>
    (await new RouteStore(w.state).entries('users')).map(
      (e) => `${e.taskKey} ${e.status} ${e.runId}${e.reason ? ` (${e.reason})` : ''}`,
    );

  beforeEach(async () => {
    w = await new RouterWorld().open();
  });
  afterEach(async () => {
    await w.close();
  });

  describe('start', () => {
    // Fails with (each applied by hand): `if (!dryRun) await recordOwners(…)` → `if (false)` (no names kept)
    // and → `if (true)` (a plan writes them).
    it("records the CRM's owners for the loop report, except in a plan", async () => {
      await w.router({}, { dryRun: true }).start();
      expect(await w.wh.tableExists('pqlsync_state', 'crm_owners')).toBe(false);
      await w.router().start();
      expect(await ownerNames(w.state, 'crm')).toEqual(
        new Map([
          ['int', 'Integration'],
          ['oa', 'Ann'],
          ['ob', 'Bo'],
          ['oz', 'Zed'],
        ]),
      );
    });

    // Fails with: `this.run.directory.resolveConfig(routing, sync)` removed.
    it('names an owner the routing config gives that the CRM does not know', async () => {
      const e = await w
        .router({ rules: [{ name: 'x', assign: { strategy: 'fixed', owner: 'nobody@x.io' } }] })
        .start()
        .then(
          () => undefined,
          (err: unknown) => err as PqlsyncError,
        );
      expect(e?.message).toBe(
        "routing names owners the CRM does not know:\n  - rules[0].assign.owner: no owner 'nobody@x.io' in the CRM",
      );
    });

    // Fails with: `if (this.run.tablesReady) this.run.cursors = …` → `if (false)` (the next run starts at Ann
    // again); `if (assignment.cursor !== undefined)` → `if (false)` (the cursor is never moved).
    it("continues a round robin's rotation in the next run from the stored cursor", async () => {
      const routing = {
        rules: [{ name: 'rr', assign: { strategy: 'round_robin', pool: ['a@x.io', 'b@x.io'] } }],
      };
      const first = w.router(routing);
      await first.start();
      await w.routeAndCommit(first, [user('k1', 80)]);
      const second = w.router(routing);
      await second.start();
      await w.routeAndCommit(second, [user('k2', 80), user('k3', 80)]);
      expect([...w.crm.tasks.values()].map((t) => `${t.entityKey} ${t.ownerId}`)).toEqual([
        'k1 oa',
        'k2 ob',
        'k3 oa',
      ]);
      expect(await new RouteStore(w.state).cursors('users')).toEqual(new Map([['rr', 1]]));
    });

    // Fails with: `if (writer)` → `if (true)` in start (a plan without a CRM would list its owners); the
    // records lookup's `writer && …` → `true && …`; accountsOf's `|| !writer` dropped; send's `if (!writer)
    // return result` → `if (false)`. (Dropping route's `|| !this.options.writer` is equivalent: a router
    // without a writer is always a plan, start refuses it otherwise.)
    it('plans tasks without a CRM to read (a destination that holds no tasks)', async () => {
      const r = w.router(
        { account: { column: 'account_id', field: 'Acct__c' } },
        { dryRun: true, writer: null },
      );
      await r.start();
      const planned = await r.route([user('k', 80, { account_id: 'acme' })], []);
      expect(planned.planned.map((p) => `${p.key} ${p.tier} ${p.owner} ${p.taskKey}`)).toEqual([
        'k hot (existing owner) pqlsync:Lead:k:hot:2025-01-06',
      ]);
      expect(await r.send({ result: planned, entries: [], ownerChanges: new Map([['rec-k', 'ob']]) })).toBe(
        planned,
      );
      expect(w.crm.calls).toEqual([]);
    });
  });

  describe('which rows are routed', () => {
    // Fails with: tierOf's `change.row ? … : null` → `true ? …` (tierOfRow of no row throws).
    it('gives a removed row no tier', () => {
      const r = w.router();
      const removed: Change = { ...user('k', 80), kind: 'removed', row: undefined, rowHash: null };
      expect(r.tierOf(removed)).toBeNull();
      expect(r.tierOf(user('k', 80))).toBe('hot');
    });

    // Fails with: `o.status === 'applied'` → `true`; `c.kind !== 'removed'` → `true`; `c.row &&` → `true`;
    // `applied.has(c.key)` → `true`.
    it('routes only rows the destination applied, never removed rows or rows without a model row', async () => {
      const r = w.router();
      await r.start();
      const changes = [
        user('ok', 80),
        user('refused', 80),
        { ...user('gone', 80), kind: 'removed' as const },
        { ...user('norow', 80), row: undefined },
        user('unsent', 80),
      ];
      const result = await r.route(changes, [
        { key: 'ok', status: 'applied' },
        { key: 'refused', status: 'rejected', reason: 'REQUIRED_FIELD_MISSING' },
        { key: 'gone', status: 'applied' },
        { key: 'norow', status: 'applied' },
      ]);
      expect(result.planned.map((p) => p.key)).toEqual(['ok']);
      expect([...w.crm.tasks.keys()]).toEqual(['pqlsync:Lead:ok:hot:2025-01-06']);
    });

    // Fails with: `dryRun ? !c.invalid : …` → `dryRun ? true : …` (a plan would list a row the run never sends).
    it('plans no task for a row with a value that is never sent', async () => {
      const r = w.router({}, { dryRun: true });
      await r.start();
      const invalid = { ...user('bad', 80), invalid: { reason: 'NaN', code: 'INVALID_VALUE' } };
      const planned = await r.route([user('ok', 80), invalid], []);
      expect(planned.planned.map((p) => p.key)).toEqual(['ok']);
    });
  });

  describe('resumeOutstanding', () => {
    /** A task of run-1 the CRM refused on day 0. */
    const refusedOnDayZero = async () => {
      const r = w.router();
      await r.start();
      w.crm.writeTasksAnswer = refuseAll('UNABLE_TO_LOCK_ROW');
      expect(await w.routeAndCommit(r, [user('k', 80)])).toMatchObject({ failed: 1 });
      w.crm.writeTasksAnswer = undefined;
    };

    // Fails with: resumeOutstanding's `await this.routes.write(entries)` removed (the rows are pending under
    // this run only after the send), `if (entries.length === 0) return empty` → `if (true)`, its log message
    // emptied, its `{ tasks: entries.length }` → `{}`.
    it("sends an earlier run's refused task again under its key, written pending under this run first", async () => {
      await refusedOnDayZero();
      w.at(1);
      const during: string[] = [];
      w.crm.writeTasksAnswer = async (tasks) => {
        during.push(...(await entries()));
        return tasks.map((t) => w.crm.create(t));
      };
      const r = w.router();
      await r.start();
      w.logs.clear();
      expect(await r.resumeOutstanding()).toEqual({
        created: 1,
        failed: 0,
        cooldown: 0,
        noTask: 0,
        planned: [],
        alerts: [],
      });
      expect(during).toEqual(['pqlsync:Lead:k:hot:2025-01-06 pending run-2 (UNABLE_TO_LOCK_ROW)']);
      expect(await entries()).toEqual(['pqlsync:Lead:k:hot:2025-01-06 created run-2']);
      expect(w.logs.lines).toEqual(['info: sending tasks not created by earlier runs again']);
      expect(w.logs.fields).toEqual([{ tasks: 1 }]);
    });

    // Fails with: the cooldown's start `now - cooldown_days * 86_400_000` → `now + …` and → `… / 86_400_000`
    // (resumeOutstanding), `now - …` → `now + …` in hasOutstandingTasks, and its `length > 0` → `>= 0`.
    it('sends it again up to exactly cooldown_days after it was logged, not a millisecond later', async () => {
      const routing = routingSchema.parse({});
      await refusedOnDayZero();
      w.at(30);
      expect(await hasOutstandingTasks(w.state, 'users', routing, w.clock)).toBe(true);
      w.at(30, 1);
      expect(await hasOutstandingTasks(w.state, 'users', routing, w.clock)).toBe(false);
      const late = w.router();
      await late.start();
      expect(await late.resumeOutstanding()).toMatchObject({ created: 0, failed: 0 });
      w.at(30);
      const onTime = w.router();
      await onTime.start();
      expect(await onTime.resumeOutstanding()).toMatchObject({ created: 1, failed: 0 });
    });

    // Fails with: `if (dryRun || …) return empty` → `if (false || …)` (a plan would send), `if (entries.length
    // === 0) return empty` → `if (false)` (a run with nothing outstanding would say it sends tasks again).
    it('sends nothing in a plan, and says nothing when nothing is outstanding', async () => {
      const quiet = w.router();
      await quiet.start();
      w.logs.clear();
      expect(await quiet.resumeOutstanding()).toMatchObject({ created: 0, failed: 0 });
      expect(w.logs.lines).toEqual([]);
      await refusedOnDayZero();
      w.crm.calls.length = 0;
      const plan = w.router({}, { dryRun: true });
      await plan.start();
      expect(await plan.resumeOutstanding()).toMatchObject({ created: 0, failed: 0 });
      expect(w.crm.calls).toEqual(['listOwners']);
    });
  });

  describe('prepare', () => {
    // Fails with: `if (c.matched.rule.set_owner) ownerOnly.push(c)` → `if (false)` (the owner-only rule never
    // reaches the CRM); `assignment.ownerId !== record.ownerId` → `true` (an owner the record already has is
    // set again); `c.matched.rule.set && record` → `… || record`; `if (!c.matched.rule.task) continue;`
    // removed (an owner-only rule would get a task).
    it("sets the owner a rule without tasks chooses, and only when it differs from the record's", async () => {
      w.crm.recordOwners.set('mine', 'ob');
      const r = w.router({
        rules: [
          { name: 'own', task: false, set_owner: true, assign: { strategy: 'fixed', owner: 'b@x.io' } },
        ],
      });
      await r.start();
      const result = await w.routeAndCommit(r, [user('k', 80), user('mine', 80)]);
      expect(result).toMatchObject({ created: 0, noTask: 2, planned: [] });
      expect(w.crm.calls.slice(1)).toEqual(['findRecords k,mine', 'setOwners rec-k=ob']);
    });

    // A bug found here: a `task: false` rule with `set` but without `set_owner` wrote no field (routing.md:
    // "field values written on the record when the rule routes it"). Failed before the fix (fieldChanges
    // empty), and fails with `else if (c.matched.rule.set) fieldsOnly.push(c)` → `else if (false)`; send's
    // `ownerChanges.size > 0` → `>= 0` and `if (entries.length === 0) return result` → `if (false)` (CRM calls with
    // nothing to do).
    it("writes a rule's fields on the record when the rule makes no task", async () => {
      const r = w.router({ rules: [{ name: 'self', task: false, set: { Route__c: 'self_serve' } }] });
      await r.start();
      expect(await w.routeAndCommit(r, [user('k', 80)])).toMatchObject({ created: 0, noTask: 1 });
      expect(w.crm.calls.slice(1)).toEqual([
        'findRecords k',
        'updateRecords rec-k={"Route__c":"self_serve"}',
      ]);
      expect(w.crm.fieldChanges).toEqual([{ recordId: 'rec-k', fields: { Route__c: 'self_serve' } }]);
    });

    // Fails with: `if (!record && !dryRun)` → `!record || !dryRun` and → `if (false)`, its message emptied;
    // plannedOf's `record ? undefined : assignment.via` → `… : undefined` (the plan's "(existing owner)"), the
    // warning's `{ recordKey: c.change.key }` → `{}`.
    it('makes no task when the written record is not found, and a plan names how its owner will be chosen', async () => {
      w.crm.missing.add('new');
      w.crm.missing.add('ghost');
      const routing = {
        rules: [{ name: 'rr', assign: { strategy: 'round_robin', pool: ['z@x.io', 'b@x.io'] } }],
      };
      const plan = w.router(routing, { dryRun: true });
      await plan.start();
      const planned = await plan.route([user('new', 80)], []);
      expect(planned.planned.map((p) => `${p.key} ${p.ownerId} ${p.owner}`)).toEqual(['new ob Bo <b@x.io>']);
      const r = w.router(routing);
      await r.start();
      w.logs.clear();
      expect(await w.routeAndCommit(r, [user('new', 80), user('old', 80)])).toMatchObject({
        created: 1,
        failed: 1,
      });
      expect(w.logs.lines).toEqual([
        'warn: no task for record new: no Lead with Ext__c = new was found after the write',
      ]);
      expect(w.logs.fields).toEqual([{ recordKey: 'new' }]);
      const existing = w.router({}, { dryRun: true });
      await existing.start();
      const byOwner = await existing.route([user('ghost', 90)], []);
      expect(byOwner.planned.map((p) => p.owner)).toEqual(['(existing owner)']);
    });

    // Fails with: `result.failed++` removed after an assignment error, its warning emptied, the warning's
    // `{ recordKey, rule, tier }` → `{}`.
    it('says why a record gets no task when its rule has no active owner', async () => {
      const r = w.router({
        rules: [{ name: 'pool', assign: { strategy: 'round_robin', pool: ['z@x.io'] } }],
      });
      await r.start();
      w.logs.clear();
      expect(await w.routeAndCommit(r, [user('k', 80)])).toMatchObject({ created: 0, failed: 1 });
      expect(w.logs.lines).toEqual([
        'warn: no task for record k: no owner of the round-robin pool is active (z@x.io)',
      ]);
      expect(w.logs.fields).toEqual([{ recordKey: 'k', rule: 'pool', tier: 'hot' }]);
    });

    // Fails with: `candidate.matched.rule.set_owner && entry.task.ownerId` → `||` (a resumed task of a rule
    // without set_owner would set its owner) and → `false`; plannedOf(candidate, entry.task, true) → `false`
    // (resumed); the records lookup's `length > 0` → `>= 0` (resumed tasks alone look no record up).
    it('resends a refused task as it was, setting its owner again only for a set_owner rule', async () => {
      const routing = {
        rules: [
          {
            name: 'own',
            when: { employees: { gte: 1000 } },
            set_owner: true,
            assign: { strategy: 'fixed', owner: 'b@x.io' },
          },
        ],
      };
      const r = w.router(routing);
      await r.start();
      w.crm.writeTasksAnswer = refuseAll('owner is inactive');
      const batch = [user('big', 80, { employees: 5000 }), user('small', 80)];
      expect(await r.route(batch, applied(batch))).toMatchObject({ created: 0, failed: 2 });
      w.crm.writeTasksAnswer = undefined;
      w.crm.calls.length = 0;
      const again = await r.route(batch, applied(batch));
      expect(again).toMatchObject({ created: 2, failed: 0 });
      expect(again.planned.map((p) => `${p.key} ${p.resumed}`)).toEqual(['big true', 'small true']);
      expect(w.crm.calls).toEqual([
        'setOwners rec-big=ob',
        'writeTasks pqlsync:Lead:big:hot:2025-01-06,pqlsync:Lead:small:hot:2025-01-06',
      ]);
    });

    // Fails with: prepare's `await this.routes.write(entries, { sync, moved, at: now }, owners)` removed (the
    // rows would be written only after the send: a crash in between would lose them), its cursors argument
    // → `undefined`, the pending row's `rule: c.matched.name` → `''`.
    it('writes the pending rows and the moved cursor before the CRM is called', async () => {
      const routing = {
        rules: [{ name: 'rr', assign: { strategy: 'round_robin', pool: ['a@x.io', 'b@x.io'] } }],
      };
      const during: unknown[] = [];
      w.crm.writeTasksAnswer = async (tasks) => {
        const store = new RouteStore(w.state);
        for (const e of await store.entries('users'))
          during.push([e.entityKey, e.recordKey, e.previousTier, e.tier, e.rule, e.status, e.runId]);
        during.push(await store.cursors('users'));
        return tasks.map((t) => w.crm.create(t));
      };
      const r = w.router(routing);
      await r.start();
      await w.routeAndCommit(r, [user('k', 50)]);
      await w.routeAndCommit(r, [user('k', 80)]);
      expect(during).toEqual([
        ['k', '["crm","Lead","k"]', null, 'pql', 'rr', 'pending', 'run-1'],
        new Map([['rr', 1]]),
        ['k', '["crm","Lead","k"]', 'pql', 'hot', 'rr', 'pending', 'run-1'],
        ['k', '["crm","Lead","k"]', null, 'pql', 'rr', 'created', 'run-1'],
        new Map([['rr', 0]]),
      ]);
    });

    // Fails with: `if (c.matched.rule.alert)` → `if (true)`, and send's alert filter `made.has(a.taskKey)` →
    // `true` (a refused task would be alerted on).
    it("alerts only on an alerting rule's tasks the CRM created", async () => {
      const routing = {
        rules: [{ name: 'vip', when: { employees: { gte: 1000 } }, alert: true }, { name: 'rest' }],
      };
      const r = w.router(routing);
      await r.start();
      w.crm.writeTasksAnswer = async (tasks) =>
        tasks.map((t) =>
          t.entityKey === 'vip2'
            ? { taskKey: t.taskKey, status: 'failed' as const, reason: 'DUPLICATE_VALUE' }
            : w.crm.create(t),
        );
      const batch = [
        user('vip1', 80, { employees: 5000 }),
        user('vip2', 80, { employees: 5000 }),
        user('k', 80),
      ];
      const result = await w.routeAndCommit(r, batch);
      expect(result).toMatchObject({ created: 2, failed: 1 });
      expect(result.alerts.map((a) => a.key)).toEqual(['vip1']);
    });

    // Fails with: accountsOf's `.filter((v) => v !== '')` → `true` and `values.length > 0 ?` → `true ?` (a
    // batch of users without an account looks no account up), accountOf → `undefined`.
    it("looks up the accounts of the batch's users once, and takes an active account owner", async () => {
      w.crm.accountOwners.set('acme', 'ob');
      const r = w.router({
        account: { column: 'account_id', field: 'Acct__c' },
        rules: [{ name: 'acct', assign: { strategy: 'account_owner' } }],
      });
      await r.start();
      await w.routeAndCommit(r, [user('solo', 80, { account_id: null })]);
      await w.routeAndCommit(r, [
        user('u1', 80, { account_id: 'acme' }),
        user('u2', 80, { account_id: 'acme' }),
        user('solo2', 80, { account_id: null }),
      ]);
      expect(w.crm.calls.filter((c) => c.startsWith('findAccounts'))).toEqual(['findAccounts Acct__c acme']);
      expect([...w.crm.tasks.values()].map((t) => `${t.entityKey} ${t.ownerId} ${t.account?.id}`)).toEqual([
        'solo oa undefined',
        'u1 ob acc-acme',
        'u2 ob acc-acme',
        'solo2 oa undefined',
      ]);
    });

    // Fails with: the byAccount filter `accountValue(…) !== ''` → `true` and the perUser filter `=== ''` →
    // `true` (a user without an account would get an account task, or two tasks).
    it('routes a user without an account on their own under per_account', async () => {
      const r = w.router({ account: { column: 'account_id', field: 'Acct__c', tasks: 'per_account' } });
      await r.start();
      await w.routeAndCommit(r, [
        user('solo', 80, { account_id: null }),
        user('u1', 80, { account_id: 'acme' }),
      ]);
      expect([...w.crm.tasks.keys()]).toEqual([
        'pqlsync:Lead:solo:hot:2025-01-06',
        'pqlsync:Account:acme:hot:2025-01-06',
      ]);
    });
  });

  describe('send', () => {
    // Fails with: both `if (!(err instanceof PqlsyncError)) throw err` → `if (false)` (a defect is swallowed),
    // both failure maps built from a refusal → `new Map()`, both warnings emptied, the first warning's
    // `{ recordId: id }` → `{}` (and the second's).
    it('logs each owner and field change the CRM refuses, and a whole refused request for each record', async () => {
      const routing = {
        rules: [
          {
            name: 'own',
            set_owner: true,
            set: { Route__c: 'sales' },
            assign: { strategy: 'fixed', owner: 'b@x.io' },
          },
        ],
      };
      const r = w.router(routing);
      await r.start();
      w.crm.setOwnersAnswer = () => new Map([['rec-a', 'INSUFFICIENT_ACCESS']]);
      w.crm.updateRecordsAnswer = () => new Map([['rec-b', 'FIELD_CUSTOM_VALIDATION_EXCEPTION']]);
      w.logs.clear();
      expect(
        await r.route([user('a', 80), user('b', 80)], applied([user('a', 80), user('b', 80)])),
      ).toMatchObject({
        created: 2,
      });
      expect(w.logs.lines).toEqual([
        'warn: could not set the owner of Lead rec-a: INSUFFICIENT_ACCESS',
        "warn: could not set the route's fields of Lead rec-b: FIELD_CUSTOM_VALIDATION_EXCEPTION",
      ]);
      expect(w.logs.fields).toEqual([{ recordId: 'rec-a' }, { recordId: 'rec-b' }]);
      const refused = new PqlsyncError('DESTINATION_REQUEST_FAILED', 'the CRM is down for maintenance');
      w.crm.setOwnersAnswer = () => {
        throw refused;
      };
      w.crm.updateRecordsAnswer = () => {
        throw refused;
      };
      w.logs.clear();
      expect(await r.route([user('c', 80)], applied([user('c', 80)]))).toMatchObject({ created: 1 });
      expect(w.logs.lines).toEqual([
        'warn: could not set the owner of Lead rec-c: the CRM is down for maintenance',
        "warn: could not set the route's fields of Lead rec-c: the CRM is down for maintenance",
      ]);
      w.crm.setOwnersAnswer = () => {
        throw new TypeError('a defect');
      };
      await expect(r.route([user('d', 80)], applied([user('d', 80)]))).rejects.toThrow('a defect');
      w.crm.setOwnersAnswer = undefined;
      w.crm.updateRecordsAnswer = () => {
        throw new TypeError('another defect');
      };
      await expect(r.route([user('e', 80)], applied([user('e', 80)]))).rejects.toThrow('another defect');
    });

    // Fails with: writeTasks' `if (!(err instanceof PqlsyncError)) throw err` → `if (false)`, the refusal's
    // `reason: err.message` → `''`, `result.failed++` removed, the default reason and the warning emptied,
    // the warning's `{ recordKey: e.entityKey, taskKey: e.taskKey }` → `{}`.
    it('marks every task failed with the reason of a refused request, and a task the CRM said nothing about', async () => {
      const r = w.router();
      await r.start();
      w.crm.writeTasksAnswer = () =>
        Promise.reject(new PqlsyncError('DESTINATION_REQUEST_FAILED', 'REQUEST_LIMIT_EXCEEDED'));
      w.logs.clear();
      expect(await r.route([user('a', 80)], applied([user('a', 80)]))).toMatchObject({
        created: 0,
        failed: 1,
      });
      expect(w.logs.lines).toEqual([
        'warn: task not created (sent again by the next run): REQUEST_LIMIT_EXCEEDED',
      ]);
      w.crm.writeTasksAnswer = async (tasks) =>
        tasks.filter((t) => t.entityKey === 'a').map((t) => w.crm.create(t));
      w.logs.clear();
      expect(
        await r.route([user('a', 80), user('b', 80)], applied([user('a', 80), user('b', 80)])),
      ).toMatchObject({
        created: 1,
        failed: 1,
      });
      expect(w.logs.lines).toEqual([
        'warn: task not created (sent again by the next run): the CRM returned no result for this task',
      ]);
      expect(w.logs.fields).toEqual([{ recordKey: 'b', taskKey: 'pqlsync:Lead:b:hot:2025-01-06' }]);
      expect(await entries()).toEqual([
        'pqlsync:Lead:a:hot:2025-01-06 created run-1',
        'pqlsync:Lead:b:hot:2025-01-06 failed run-1 (the CRM returned no result for this task)',
      ]);
      w.crm.writeTasksAnswer = () => Promise.reject(new RangeError('a defect'));
      await expect(r.route([user('c', 80)], applied([user('c', 80)]))).rejects.toThrow('a defect');
      expect(await entries()).toContain('pqlsync:Lead:c:hot:2025-01-06 pending run-1');
    });

    // Fails with: `if (!o.existed) result.created++` → `if (true)` (a task the CRM had already would count as created).
    it('does not count a task the CRM had already (created before a crash) as created when it is resent', async () => {
      const r = w.router();
      await r.start();
      w.crm.writeTasksAnswer = async (tasks) => {
        for (const t of tasks) w.crm.create(t);
        throw new Error('the process died after the CRM answered');
      };
      await expect(r.route([user('a', 80)], applied([user('a', 80)]))).rejects.toThrow('the process died');
      expect(await entries()).toEqual(['pqlsync:Lead:a:hot:2025-01-06 pending run-1']);
      w.crm.writeTasksAnswer = undefined;
      w.at(1);
      const next = w.router();
      await next.start();
      expect(await next.resumeOutstanding()).toMatchObject({ created: 0, failed: 0 });
      expect(await entries()).toEqual(['pqlsync:Lead:a:hot:2025-01-06 created run-2']);
      expect(w.crm.tasks.size).toBe(1);
    });
  });

  // The tests below were written for the survivors of the whole-file Stryker run over router.ts (2026-12-07,
  // m24r); each mutant they name was applied to the source by hand and seen to fail the test.
  describe('survivors of the whole-file run', () => {
    // Fails with: `if (c.matched.rule.set_owner) ownerOnly.push(c)` → `if (true)` (a rule that neither makes a
    // task nor sets the owner would choose one anyway: its inactive fixed owner would fail the record, with a
    // warning, and its fields would not be written).
    it('chooses no owner for a rule that makes no task and sets no owner, and still writes its fields', async () => {
      const r = w.router({
        rules: [
          {
            name: 'self',
            task: false,
            set: { Route__c: 'self_serve' },
            assign: { strategy: 'fixed', owner: 'z@x.io' },
          },
        ],
      });
      await r.start();
      w.logs.clear();
      expect(await w.routeAndCommit(r, [user('k', 80)])).toMatchObject({ noTask: 1, failed: 0 });
      expect(w.logs.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
      expect(w.crm.fieldChanges).toEqual([{ recordId: 'rec-k', fields: { Route__c: 'self_serve' } }]);
    });

    // Fails with: `else if (c.matched.rule.set) fieldsOnly.push(c)` → `else if (true)` (a rule that makes no
    // task and writes nothing would look its records up in the CRM all the same).
    it('makes no CRM call for a rule that makes no task and writes nothing', async () => {
      const r = w.router({ rules: [{ name: 'quiet', task: false }] });
      await r.start();
      w.crm.calls.length = 0;
      expect(await w.routeAndCommit(r, [user('k', 80)])).toMatchObject({ noTask: 1, created: 0 });
      expect(w.crm.calls).toEqual([]);
    });

    // Fails with: the resent entry's relabel `{ sync, entityKey: …, recordKey: … }` → `{}` (the row would stay
    // under the sync's former name, and this sync's task_log would not hold it); the new task's
    // plannedOf(c, task, false, …) → `true` (a new task listed as resumed).
    it("takes over a task the sync's former name left failed, and resends it under this sync", async () => {
      const first = w.router();
      await first.start();
      w.crm.writeTasksAnswer = refuseAll('UNABLE_TO_LOCK_ROW');
      const made = await first.route([user('k', 80)], applied([user('k', 80)]));
      expect(made.planned.map((p) => `${p.key} ${p.resumed}`)).toEqual(['k false']);
      w.crm.writeTasksAnswer = undefined;
      await w.wh.query(`update pqlsync_state.task_log set sync = 'old_users'`);
      const second = w.router();
      await second.start();
      const again = await second.route([user('k', 80)], applied([user('k', 80)]));
      expect(again).toMatchObject({ created: 1, failed: 0 });
      expect(again.planned.map((p) => `${p.key} ${p.resumed}`)).toEqual(['k true']);
      expect(await entries()).toEqual(['pqlsync:Lead:k:hot:2025-01-06 created run-2']);
      expect(await new RouteStore(w.state).entries('old_users')).toEqual([]);
    });

    // Fails with: previousTiers' `r.tier === null || r.tier === undefined ? null : String(r.tier)` → `false ? …`,
    // `r.tier === null` → `false` and `||` → `&&` (a snapshot row without a tier would read as the tier "null").
    it('reads a snapshot row without a tier as no previous tier', async () => {
      const r = w.router({ task: { subject: 'from {{ previous_tier }}' } });
      await r.start();
      await w.routeAndCommit(r, [user('k', null)]);
      const result = await w.routeAndCommit(r, [user('k', 80)]);
      expect(result.planned.map((p) => `${p.key} ${p.previousTier} -> ${p.tier} ${p.subject}`)).toEqual([
        'k null -> hot from -',
      ]);
      expect(result.planned[0]?.previousTier).toBeNull();
    });
  });
});
