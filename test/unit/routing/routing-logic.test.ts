import { describe, expect, it } from 'vitest';
import { routingSchema, type RoutingConfig } from '../../../src/config/config-schema.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { assignOwner, OwnerDirectory, roundRobin } from '../../../src/routing/owners.js';
import { taskKey } from '../../../src/routing/router.js';
import { conditionHolds, matchRule } from '../../../src/routing/rules.js';
import { durationMs, localDate, slaTimes } from '../../../src/routing/sla.js';
import { defaultBody, renderTemplate } from '../../../src/routing/task-template.js';
import { createsTask, tierOfRow } from '../../../src/routing/tiers.js';

const routing = (input: Record<string, unknown> = {}): RoutingConfig => routingSchema.parse(input);

const errorOf = (fn: () => unknown): PqlsyncError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof PqlsyncError) return err;
    throw err;
  }
  throw new Error('expected a PqlsyncError');
};

describe('tiers and transitions', () => {
  const r = routing();

  it('bands scores by the default tiers: hot >= 70, pql 40-69, nurture below', () => {
    expect([100, 70, 69.9, 40, 39, 0].map((score) => tierOfRow({ score }, r, 's'))).toEqual([
      'hot',
      'hot',
      'pql',
      'pql',
      'nurture',
      'nurture',
    ]);
    expect(tierOfRow({ score: null }, r, 's')).toBeNull();
    expect(tierOfRow({ score: '55' }, r, 's')).toBe('pql');
  });

  it('reads a tier column instead of bands when set', () => {
    const t = routing({
      tier_column: 'pql_tier',
      tiers: [{ name: 'hot' }, { name: 'pql' }, { name: 'nurture' }],
    });
    expect(tierOfRow({ pql_tier: 'hot', score: 1 }, t, 's')).toBe('hot');
    expect(tierOfRow({ pql_tier: null }, t, 's')).toBeNull();
  });

  it('names the missing score column and the columns there are', () => {
    const e = errorOf(() => tierOfRow({ user_id: 1, pql_score: 80 }, r, 'users'));
    expect(e.format()).toBe(
      "sync users, syncs.users.routing.score_column: routing.score_column 'score' is not a column of the model (columns: user_id, pql_score)",
    );
  });

  it('creates a task only when entering a task tier from below; never moving down or staying', () => {
    expect(createsTask(null, 'pql', r)).toBe(true);
    expect(createsTask(null, 'hot', r)).toBe(true);
    expect(createsTask('nurture', 'pql', r)).toBe(true);
    expect(createsTask('nurture', 'hot', r)).toBe(true);
    expect(createsTask('pql', 'hot', r)).toBe(true);
    expect(createsTask('hot', 'pql', r)).toBe(false);
    expect(createsTask('hot', 'hot', r)).toBe(false);
    expect(createsTask('pql', 'pql', r)).toBe(false);
    expect(createsTask('pql', 'nurture', r)).toBe(false);
    expect(createsTask(null, 'nurture', r)).toBe(false);
  });

  it('honours task_tiers: only hot creates tasks', () => {
    const hotOnly = routing({ task_tiers: ['hot'] });
    expect(createsTask('nurture', 'pql', hotOnly)).toBe(false);
    expect(createsTask('pql', 'hot', hotOnly)).toBe(true);
  });

  it('rejects tiers out of order, unknown task tiers and missing SLAs in one go', () => {
    const res = routingSchema.safeParse({
      tiers: [{ name: 'pql', min_score: 40 }, { name: 'hot', min_score: 70 }, { name: 'nurture' }],
      task_tiers: ['hot', 'warm'],
      sla: { hot: { due_in: '1h' } },
    });
    expect(res.success).toBe(false);
    expect(res.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      "tiers.1.min_score: tiers go from highest to lowest: 'hot' (70) must be below 'pql' (40)",
      "task_tiers.1: 'warm' is not a tier (tiers: pql, hot, nurture)",
    ]);
    const noSla = routingSchema.safeParse({ task_tiers: ['hot', 'pql'], sla: { hot: { due_in: '1h' } } });
    expect(noSla.error?.issues.map((i) => i.message)).toEqual([
      "task tier 'pql' has no sla (e.g. pql: { due_in: 4h, priority: normal })",
    ]);
    const badDuration = routingSchema.safeParse({ task_tiers: ['hot'], sla: { hot: { due_in: '1 hour' } } });
    expect(badDuration.error?.issues.map((i) => i.message)).toEqual([
      "must be a number and a unit m, h or d, e.g. '30m', '4h', '2d'",
    ]);
  });
});

describe('rules', () => {
  const rules = routing({
    rules: [
      {
        name: 'enterprise',
        when: { employees: { gte: 500 } },
        assign: { strategy: 'round_robin', pool: ['a'] },
      },
      { name: 'self_serve', when: { plan: 'free', employees: { lt: 10 } }, task: false },
      { when: { country: { in: ['DE', 'FR'] } }, assign: { strategy: 'fixed', owner: 'eu@example.com' } },
    ],
  }).rules;

  it('matches in order: the first rule whose every condition holds', () => {
    expect(matchRule({ employees: 900, plan: 'free' }, rules).name).toBe('enterprise');
    expect(matchRule({ employees: 5, plan: 'free' }, rules).name).toBe('self_serve');
    expect(matchRule({ employees: 5, plan: 'pro', country: 'FR' }, rules).name).toBe('rule 3');
    const none = matchRule({ employees: 50, plan: 'pro', country: 'US' }, rules);
    expect(none.name).toBe('default');
    expect(none.rule.assign.strategy).toBe('existing_owner');
    expect(none.rule.task).toBe(true);
  });

  it('compares numbers as numbers, text as text, and null only with null', () => {
    expect(conditionHolds('500', { gte: 500 })).toBe(true);
    expect(conditionHolds(499n, { gte: 500 })).toBe(false);
    expect(conditionHolds(null, { lt: 10 })).toBe(false);
    expect(conditionHolds(null, null)).toBe(true);
    expect(conditionHolds('Free', 'free')).toBe(false);
    expect(conditionHolds(10, '10')).toBe(true);
    expect(conditionHolds(true, true)).toBe(true);
    expect(conditionHolds('x', { ne: 'y', not_in: ['z'] })).toBe(true);
  });

  it('requires a pool for round robin, an owner for fixed, and routing.account for account_owner', () => {
    const res = routingSchema.safeParse({
      rules: [
        { assign: { strategy: 'round_robin' } },
        { assign: { strategy: 'fixed' } },
        { assign: { strategy: 'account_owner' } },
      ],
    });
    expect(res.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'rules.0.assign.pool: round_robin needs a pool of owners (ids or emails)',
      'rules.1.assign.owner: fixed needs an owner (id or email)',
      'rules.2.assign.strategy: account_owner needs routing.account: { column, field }',
    ]);
  });
});

describe('owners and round robin', () => {
  const directory = new OwnerDirectory([
    { id: 'u1', email: 'ava@example.com', name: 'Ava', active: true },
    { id: 'u2', email: 'ben@example.com', name: 'Ben', active: false },
    { id: 'u3', email: 'chloe@example.com', name: 'Chloe', active: true },
  ]);
  const pool = ['ava@example.com', 'u2', 'CHLOE@example.com'];

  it('rotates through active owners from the persisted cursor, skipping inactive ones', () => {
    let cursor = 0;
    const picked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const pick = roundRobin(pool, cursor, directory);
      if (!pick) throw new Error('no pick');
      picked.push(pick.owner.name);
      cursor = pick.cursor;
    }
    expect(picked).toEqual(['Ava', 'Chloe', 'Ava', 'Chloe', 'Ava']);
    // A cursor persisted at Ben's position (he was active then) continues with the next active owner.
    expect(roundRobin(pool, 1, directory)).toEqual({ owner: directory.find('u3'), cursor: 0 });
  });

  it('has no pick when every owner of the pool is inactive', () => {
    expect(roundRobin(['u2'], 0, directory)).toBeUndefined();
    expect(
      assignOwner(
        { strategy: 'round_robin', pool: ['u2'] },
        { record: undefined, account: undefined, directory, cursor: 0 },
      ),
    ).toEqual({ error: 'no owner of the round-robin pool is active (u2)' });
  });

  it('keeps the existing owner, prefers an active account owner, and resolves fixed owners by email', () => {
    const record = { id: '00Q1', ownerId: 'u1', object: 'Lead' };
    const ctx = { record, directory, cursor: 0 };
    expect(assignOwner({ strategy: 'existing_owner' }, { ...ctx, account: undefined })).toEqual({
      ownerId: 'u1',
      via: 'existing owner',
    });
    expect(
      assignOwner({ strategy: 'account_owner' }, { ...ctx, account: { id: '001', ownerId: 'u3' } }),
    ).toEqual({
      ownerId: 'u3',
      via: 'account owner',
    });
    expect(
      assignOwner({ strategy: 'account_owner' }, { ...ctx, account: { id: '001', ownerId: 'u2' } }),
    ).toEqual({
      ownerId: 'u1',
      via: 'existing owner (account owner inactive)',
    });
    expect(assignOwner({ strategy: 'account_owner' }, { ...ctx, account: undefined })).toEqual({
      ownerId: 'u1',
      via: 'existing owner (no account)',
    });
    expect(
      assignOwner({ strategy: 'fixed', owner: 'Chloe@Example.com' }, { ...ctx, account: undefined }),
    ).toEqual({
      ownerId: 'u3',
      via: 'fixed owner',
    });
  });

  it('lists every owner the config names that the CRM does not know', () => {
    const r = routing({
      rules: [
        { assign: { strategy: 'round_robin', pool: ['ava@example.com', 'zed@example.com'] } },
        { assign: { strategy: 'fixed', owner: '005XX' } },
      ],
    });
    const e = errorOf(() => directory.resolveConfig(r, 'users'));
    expect(e.format()).toBe(
      [
        'sync users, syncs.users.routing.rules: routing names owners the CRM does not know:',
        "  - rules[0].assign.pool[1]: no owner 'zed@example.com' in the CRM",
        "  - rules[1].assign.owner: no owner '005XX' in the CRM",
        '  hint: use an owner id or email; active owners: ava@example.com (u1), chloe@example.com (u3)',
      ].join('\n'),
    );
  });
});

describe('SLA times with an injected clock', () => {
  const now = new Date('2025-01-06T22:30:00.000Z');

  it('computes due time, due date, reminder and priority', () => {
    expect(slaTimes(now, { due_in: '1h', priority: 'high' })).toEqual({
      dueAt: new Date('2025-01-06T23:30:00.000Z'),
      dueDate: '2025-01-06',
      reminderAt: new Date('2025-01-06T23:30:00.000Z'),
      priority: 'high',
    });
    expect(slaTimes(now, { due_in: '4h', reminder_in: '30m', priority: 'normal' })).toEqual({
      dueAt: new Date('2025-01-07T02:30:00.000Z'),
      dueDate: '2025-01-07',
      reminderAt: new Date('2025-01-06T23:00:00.000Z'),
      priority: 'normal',
    });
  });

  it('takes the due date in the sync time zone', () => {
    expect(slaTimes(now, { due_in: '1h', priority: 'high' }, 'America/New_York').dueDate).toBe('2025-01-06');
    expect(slaTimes(now, { due_in: '1h', priority: 'high' }, 'Europe/Berlin').dueDate).toBe('2025-01-07');
    expect(localDate(new Date('2025-03-01T00:30:00Z'), 'America/Los_Angeles')).toBe('2025-02-28');
  });

  it('reads durations in minutes, hours and days', () => {
    expect([durationMs('30m'), durationMs('4h'), durationMs('1.5d')]).toEqual([
      1_800_000, 14_400_000, 129_600_000,
    ]);
  });
});

describe('task text', () => {
  const where = { sync: 'users', path: 'syncs.users.routing.task.subject' };

  it('fills columns and routing values, formatting numbers, dates, lists and nulls', () => {
    const text = renderTemplate(
      '{{ tier }}: {{email}} created {{ dashboards_created }} dashboards; score {{score}}; last seen {{last_seen}}; signals {{ reasons }}; plan {{ plan }}',
      {
        tier: 'hot',
        email: 'ana@acme.io',
        dashboards_created: 12n,
        score: 87.456,
        last_seen: new Date('2025-01-05T00:00:00Z'),
        reasons: ['invited 5 teammates', 'hit the seat limit'],
        plan: null,
      },
      where,
    );
    expect(text).toBe(
      'hot: ana@acme.io created 12 dashboards; score 87.46; last seen 2025-01-05; signals invited 5 teammates, hit the seat limit; plan -',
    );
  });

  it('names unknown placeholders, the template and what is available', () => {
    const e = errorOf(() =>
      renderTemplate('{{ tier }} {{ seats }} {{ plan_name }}', { tier: 'hot', plan: 'pro' }, where),
    );
    expect(e.format()).toBe(
      "sync users, syncs.users.routing.task.subject: the task template uses 'seats', 'plan_name', which are not a model column or routing value (available: tier, plan)",
    );
  });

  it('lists every model column in the default body', () => {
    expect(defaultBody({ user_id: 7, score: 80, __pqlsync_key: '7', signups: null })).toBe(
      'user_id: 7\nscore: 80\nsignups: -',
    );
  });

  it('keys a task by CRM object, match value, tier and transition date; hashes keys too long for a text field', () => {
    expect(taskKey('Lead', 'ada@example.com', 'hot', '2025-01-06')).toBe(
      'pqlsync:Lead:ada@example.com:hot:2025-01-06',
    );
    const long = taskKey('Lead', 'x'.repeat(300), 'hot', '2025-01-06');
    expect(long).toMatch(/^pqlsync:Lead:sha256-[0-9a-f]{64}:hot:2025-01-06$/);
  });
});
