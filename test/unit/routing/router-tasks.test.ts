/**
 * A routed candidate's task and plan row as RouteTasks builds them (router-tasks.ts), checked field by field: the
 * task key's length limit, the rule's own SLA, the owner shown, per-account values and the account's key. Written
 * for Stryker's survivors on router-tasks.ts (issue 24); each test's comment names the mutant it was seen to fail
 * with, applied by hand.
 */
import { describe, expect, it } from 'vitest';
import { routingSchema } from '../../../src/config/config-schema.js';
import type { Change, SyncTarget } from '../../../src/destination/destination.js';
import { OwnerDirectory } from '../../../src/routing/owners.js';
import { RouteTasks, taskKey } from '../../../src/routing/router-tasks.js';
import type { Candidate, RouterOptions } from '../../../src/routing/router-types.js';
import { matchRule } from '../../../src/routing/rules.js';
import type { StateStore } from '../../../src/state/state-store.js';
import { createLogger } from '../../../src/util/logger.js';

const target: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'user_id',
  mode: 'upsert',
  fields: [{ field: 'Score__c', column: 'score', skipNull: false, clearedValue: null }],
  onRemove: {},
};
const now = new Date('2025-01-06T09:00:00.000Z');

function tasksFor(routing: Record<string, unknown>, extra: Partial<RouterOptions> = {}): RouteTasks {
  const options: RouterOptions = {
    sync: 'users',
    destination: 'crm',
    routing: routingSchema.parse(routing),
    target,
    // RouteTasks never reads the state store.
    state: undefined as unknown as StateStore,
    writer: undefined,
    runId: 'run-1',
    now: () => now,
    dryRun: true,
    log: createLogger({ level: 'silent' }),
    ...extra,
  };
  return new RouteTasks(options, {
    directory: new OwnerDirectory([{ id: 'o1', email: 'a@x.io', name: 'Ann', active: true }]),
    cursors: new Map(),
    tablesReady: false,
  });
}

function candidate(routing: Record<string, unknown>, row: Record<string, unknown>, tier = 'hot'): Candidate {
  const change: Change = {
    key: String(row.user_id),
    kind: 'changed',
    matchValue: String(row.user_id),
    values: {},
    changedFields: [],
    row,
    rowHash: 'h',
    attempts: 0,
  };
  return { change, row, previous: null, tier, matched: matchRule(row, routingSchema.parse(routing).rules) };
}

describe('taskKey', () => {
  // Fails with `key.length <= MAX_TASK_KEY` → `<` (a key of exactly 255 characters was hashed).
  it('keeps a key of exactly 255 characters as it is and hashes one of 256', () => {
    const fixed = 'pqlsync:Lead::hot:2025-01-06'.length;
    const at255 = taskKey('Lead', 'x'.repeat(255 - fixed), 'hot', '2025-01-06');
    expect(at255).toHaveLength(255);
    expect(at255).toBe(`pqlsync:Lead:${'x'.repeat(255 - fixed)}:hot:2025-01-06`);
    expect(taskKey('Lead', 'x'.repeat(256 - fixed), 'hot', '2025-01-06')).toMatch(/^pqlsync:Lead:sha256-/);
  });

  // Fails with the hash taken over '' instead of the match value (every long value would share one key).
  it('hashes the match value itself: two long values get two keys', () => {
    expect(taskKey('Lead', 'a'.repeat(300), 'hot', '2025-01-06')).toBe(
      'pqlsync:Lead:sha256-9835fa6bf4e20a9b9ea812506302e98982721a6cf8d2cae67af57129bf21ae90:hot:2025-01-06',
    );
    expect(taskKey('Lead', 'b'.repeat(300), 'hot', '2025-01-06')).not.toBe(
      taskKey('Lead', 'a'.repeat(300), 'hot', '2025-01-06'),
    );
  });
});

describe('RouteTasks', () => {
  const row = { user_id: 'u1', score: 80, __pqlsync_key: 'u1' };

  // Fails with the rule's own `sla` ignored (`c.matched.rule.sla?.[c.tier]` → undefined), with the owner shown as
  // `via` whoever owns the task, with `__pqlsync` columns kept in the template values, and with the body template
  // or the missing record's stand-in changed.
  it("takes the rule's own SLA, names the task's owner and keeps pqlsync's columns out of the text", () => {
    const routing = {
      sla: { hot: { due_in: '1h', priority: 'high' }, pql: { due_in: '4h' } },
      rules: [{ name: 'vip', sla: { hot: { due_in: '30m', priority: 'low' } } }],
      task: { subject: '{{ tier }} {{ owner }} {{ rule }}', body: 'score {{ score }}' },
    };
    const c = candidate(routing, row);
    const t = tasksFor(routing);
    const task = t.taskOf(c, now, null, undefined, undefined, 'record owner');
    expect(task).toEqual({
      taskKey: 'pqlsync:Lead:u1:hot:2025-01-06',
      entityKey: 'u1',
      subject: 'hot record owner vip',
      body: 'score 80',
      ownerId: null,
      dueAt: new Date('2025-01-06T09:30:00.000Z'),
      dueDate: '2025-01-06',
      reminderAt: new Date('2025-01-06T09:30:00.000Z'),
      priority: 'low',
      record: { id: '', ownerId: null, object: 'Lead' },
    });
    expect(t.taskOf(c, now, 'o1', undefined, undefined, 'record owner').subject).toBe('hot Ann vip');
    expect(t.plannedOf(c, task, false, 'round robin')).toEqual({
      key: 'u1',
      tier: 'hot',
      previousTier: null,
      rule: 'vip',
      ownerId: null,
      owner: '(round robin)',
      dueAt: '2025-01-06T09:30:00.000Z',
      dueDate: '2025-01-06',
      priority: 'low',
      subject: 'hot record owner vip',
      taskKey: 'pqlsync:Lead:u1:hot:2025-01-06',
      resumed: false,
    });
    expect(t.plannedOf(c, task, true).owner).toBe('(record owner)');
    expect(t.plannedOf(c, { ...task, ownerId: '005X' }, true).owner).toBe('005X');
    // pqlsync's own columns are no template values.
    expect(() =>
      tasksFor({ ...routing, task: { subject: '{{ __pqlsync_key }}' } }).taskOf(
        c,
        now,
        null,
        undefined,
        undefined,
        'x',
      ),
    ).toThrow(/__pqlsync_key/);
  });
});

describe('RouteTasks per account', () => {
  const routing = {
    account: { column: 'acct', field: 'Acct__c', tasks: 'per_account', sync: 'accounts' },
    task: {
      subject: '{{ account }}: {{ user_count }} [{{ account_name }}]',
      body: '{{ users }}',
    },
  };

  // Fails with `account: value || null` → `value && null`, the default user line emptied, the account object's
  // default changed, the `account_<field>` placeholders left out (an unknown-placeholder error), the key object or
  // entity of a group task taken from the user, or `about` left out.
  it("keys the group's task by the account, lists its users and leaves unknown account fields empty (shown as -)", () => {
    const t = tasksFor(routing);
    const c = candidate(routing, { user_id: 'u1', acct: 'acme', score: 90 });
    const users = [
      { row: { user_id: 'u1' }, tier: 'hot', key: 'u1', matchValue: 'u1' },
      { row: { user_id: 'u2' }, tier: 'pql', key: 'u2', matchValue: 'u2' },
    ];
    const vars = t.accountVars('acme', users);
    expect(vars).toEqual({ account: 'acme', user_count: 2, users: '- u1 (hot)\n- u2 (pql)' });
    expect(t.accountVars('', []).account).toBeNull();
    expect(t.accountKey('acme')).toBe('["crm","Account","acme"]');
    const account = { id: 'A1', ownerId: null, object: 'Account' };
    const task = t.taskOf(c, now, null, undefined, account, 'x', { value: 'acme', vars });
    expect([task.taskKey, task.entityKey, task.subject, task.body, task.about, task.account]).toEqual([
      'pqlsync:Account:acme:hot:2025-01-06',
      'acme',
      'acme: 2 [-]',
      '- u1 (hot)\n- u2 (pql)',
      'account',
      account,
    ]);
    expect(t.plannedOf(c, task, false, undefined, 'acme').key).toBe('account acme');
  });

  // Fails with the lone user's own `accountVars('', [that user])` left out (`{{ users }}` unknown) or with the
  // account's values given to a user's task keyed by the user.
  it('lists a user without an account alone, in a task keyed by the user', () => {
    const t = tasksFor(routing);
    const c = candidate(routing, { user_id: 'u9', acct: null, score: 90 });
    const task = t.taskOf(c, now, null, undefined, undefined, 'x');
    expect([task.taskKey, task.subject, task.body, task.about]).toEqual([
      'pqlsync:Lead:u9:hot:2025-01-06',
      '-: 1 [-]',
      '- u9 (hot)',
      undefined,
    ]);
  });
});

describe('account_<field> placeholders', () => {
  // Fails with `|| routing.account.sync === undefined` dropped from `accountPlaceholders` (the placeholder would
  // be blanked instead of named as unknown).
  it('are blanked only when routing reads an account sync; without one they must be model columns', () => {
    const routing = {
      account: { column: 'acct', field: 'Acct__c', tasks: 'per_account' },
      task: { subject: '{{ account_name }}' },
    };
    const c = candidate(routing, { user_id: 'u1', acct: 'acme', score: 90 });
    expect(() => tasksFor(routing).taskOf(c, now, null, undefined, undefined, 'x')).toThrow(/account_name/);
  });
});

describe('task template errors', () => {
  const row = { user_id: 'u1', score: 90 };
  const errorOf = (routing: Record<string, unknown>) => {
    try {
      tasksFor(routing).taskOf(candidate(routing, row), now, null, undefined, undefined, 'x');
    } catch (e) {
      return (e as Error & { format(): string }).format();
    }
    throw new Error('expected an error');
  };

  // Fails with `at`'s path emptied, or with `at('subject')` / `at('body')` given ''.
  it('name the template they are in', () => {
    expect(errorOf({ task: { subject: '{{ seats }}' } })).toMatch(
      /^sync users, syncs\.users\.routing\.task\.subject: /,
    );
    expect(errorOf({ task: { subject: 's', body: '{{ seats }}' } })).toMatch(
      /^sync users, syncs\.users\.routing\.task\.body: /,
    );
  });

  // Fails with the user line's path emptied in `accountVars`, and with the missing-SLA error's text or location
  // emptied (a config that skipped the schema: the schema itself requires an SLA for every task tier).
  it('name the user line, and a tier without an SLA', () => {
    const perAccount = { account: { column: 'acct', field: 'A__c', tasks: 'per_account' } };
    const formatted = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as Error & { format(): string }).format();
      }
      return '';
    };
    const lines = tasksFor({ ...perAccount, task: { subject: 's', user_line: '{{ seats }}' } });
    expect(
      formatted(() => lines.accountVars('acme', [{ row: {}, tier: 'hot', key: 'u1', matchValue: 'u1' }])),
    ).toMatch(/^sync users, syncs\.users\.routing\.task\.user_line: /);
    const t = tasksFor({});
    (t as unknown as { options: RouterOptions }).options.routing.sla = {};
    let message = '';
    try {
      t.taskOf(candidate({}, row), now, null, undefined, undefined, 'x');
    } catch (e) {
      message = (e as Error & { format(): string }).format();
    }
    expect(message).toBe("sync users, syncs.users.routing.sla: task tier 'hot' has no sla");
  });

  // Fails with the per-account condition forced true or `&&` → `||` (a user's task would list `{{ users }}`
  // without per-account routing).
  it('know no per-account values without per-account routing', () => {
    expect(errorOf({ task: { subject: '{{ users }}' } })).toContain("'users'");
    // Fails with `accountPlaceholders`' first condition forced false (blanked without per-account routing).
    expect(errorOf({ task: { subject: '{{ account_name }}' } })).toContain("'account_name'");
  });
});
