/**
 * Column resolution at its edges (resolve-columns.ts): the "did you mean" distance limit, where the error points
 * without a config file, tier columns, every task template, the names routing itself fills, and `cell`. Written for
 * Stryker's survivors on resolve-columns.ts (issue 24); each test's comment names the mutants it was seen to fail
 * with, applied by hand.
 */
import { describe, expect, it } from 'vitest';
import { routingSchema } from '../../../src/config/config-schema.js';
import type { SyncTarget } from '../../../src/destination/destination.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { cell, resolveColumn, resolveSyncColumns } from '../../../src/plan/resolve-columns.js';

const ctx = { sync: 'users', modelFile: 'models/scores.sql', configFile: 'config/pqlsync.yml' };
const use = (name: string) => ({ name, path: 'syncs.users.fields', what: 'the sync maps column' });

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PqlsyncError) return e.format();
    throw e;
  }
  throw new Error('expected a PqlsyncError');
}

describe('resolveColumn', () => {
  // Fails with `near.d <= Math.max(2, …)` → `<`, with `Math.max` → `Math.min`, and with `/ 3` → `* 3`.
  it('suggests the nearest column within max(2, a third of the name) edits, and none beyond', () => {
    // 'scroe' → 'score': 2 edits, the floor of 2 for a 5-letter name.
    expect(messageOf(() => resolveColumn(use('scroe'), ['user_id', 'score'], ctx))).toContain(
      "(it returns: user_id, score); did you mean 'score'?",
    );
    // 'xyz' vs 'score': 5 edits, past the limit.
    expect(messageOf(() => resolveColumn(use('xyz'), ['score'], ctx))).toBe(
      "config/pqlsync.yml (sync users, syncs.users.fields): the sync maps column 'xyz', which models/scores.sql does not return (it returns: score)\n  hint: fix `fields` in the sync config, or return the column from the model",
    );
    // A 12-letter name may be 4 edits away (four letters replaced), not 6.
    expect(messageOf(() => resolveColumn(use('lead_scoring'), ['lead_scxxxxg'], ctx))).toContain(
      "did you mean 'lead_scxxxxg'?",
    );
    expect(messageOf(() => resolveColumn(use('lead_scoring'), ['lead_xxxxxxg'], ctx))).not.toContain(
      'did you mean',
    );
  });

  // Fails with the location's file taken from the (missing) config file.
  it('points at the model file when there is no config file', () => {
    expect(
      messageOf(() =>
        resolveColumn(use('seats'), ['score'], { sync: 'users', modelFile: 'models/scores.sql' }),
      ),
    ).toMatch(/^models\/scores\.sql \(sync users, syncs\.users\.fields\): /);
  });
});

const target: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'user_id',
  mode: 'upsert',
  fields: [],
  onRemove: {},
};

describe('resolveSyncColumns routing', () => {
  const resolve = (routing: Record<string, unknown>, columns: string[]) =>
    resolveSyncColumns({
      target,
      keyColumn: 'user_id',
      routing: routingSchema.parse(routing),
      columns,
      ctx,
      rowKeysLowerCase: false,
    }).routing;

  // Fails with the tier_column branch forced either way, and with the body or user_line templates left unresolved.
  it('resolves the tier column instead of the score column, and every task template', () => {
    const r = resolve(
      {
        tier_column: 'Tier',
        tiers: [{ name: 'hot' }, { name: 'pql' }],
        task: { subject: 's', body: 'b {{ PLAN }}', user_line: '- {{ Email }}' },
      },
      ['user_id', 'tier', 'plan', 'email'],
    );
    expect(r).toMatchObject({
      tier_column: 'tier',
      task: { subject: 's', body: 'b {{ plan }}', user_line: '- {{ email }}' },
    });
    expect(resolve({}, ['user_id', 'SCORE'])?.task).toEqual({ subject: '{{ tier }} PQL: {{ key }}' });
  });

  // Fails with `routingValue`'s per_account check forced true or false, or the `account_` prefix or the
  // `account.sync` condition dropped.
  it('keeps the names routing fills: account values only per account, account_<field> only with an account sync', () => {
    const perAccount = (account: Record<string, unknown>) => ({
      account: { column: 'acct', field: 'Acct__c', tasks: 'per_account', ...account },
      task: { subject: '{{ users }} {{ user_count }} {{ account }} {{ account_name }}' },
    });
    expect(resolve(perAccount({ sync: 'accounts' }), ['user_id', 'score', 'acct'])?.task.subject).toBe(
      '{{ users }} {{ user_count }} {{ account }} {{ account_name }}',
    );
    expect(messageOf(() => resolve(perAccount({}), ['user_id', 'score', 'acct']))).toContain(
      "the task template uses 'account_name', which models/scores.sql does not return",
    );
    expect(
      messageOf(() =>
        resolve({ account: { column: 'acct', field: 'Acct__c' }, task: { subject: '{{ users }}' } }, [
          'user_id',
          'score',
          'acct',
        ]),
      ),
    ).toContain("the task template uses 'users', which");
    expect(
      messageOf(() =>
        resolve({ ...perAccount({ sync: 'accounts' }), task: { subject: '{{ accounting }}' } }, [
          'user_id',
          'score',
          'acct',
        ]),
      ),
    ).toContain("the task template uses 'accounting', which");
  });
});

describe('cell', () => {
  // Fails with `column in row` forced false (a mixed-case column read under its lower-case name) or true.
  it("reads the column's own name, else its lower-cased one", () => {
    expect(cell({ Score: 1, score: 2 }, 'Score')).toBe(1);
    expect(cell({ score: 2 }, 'Score')).toBe(2);
    expect(cell({ Score: undefined, score: 2 }, 'Score')).toBeUndefined();
  });
});

describe('resolveSyncColumns errors', () => {
  const columns = ['user_id', 'score', 'email'];
  const failing = (over: {
    target?: Partial<SyncTarget>;
    routing?: Record<string, unknown>;
    columns?: string[];
  }) =>
    messageOf(() =>
      resolveSyncColumns({
        target: { ...target, ...over.target },
        keyColumn: 'user_id',
        routing: over.routing ? routingSchema.parse(over.routing) : undefined,
        columns: over.columns ?? columns,
        ctx,
        rowKeysLowerCase: false,
      }),
    ).split(', which')[0] ?? '';

  // Fails with each use's config path or wording emptied (score, tier, rule, account and match columns).
  it('name each column use by its config path and wording', () => {
    expect(
      [
        failing({ routing: { score_column: 'pql' } }),
        failing({ routing: { tier_column: 'tier', tiers: [{ name: 'hot' }, { name: 'pql' }] } }),
        failing({ routing: { rules: [{ when: { plan: 'pro' } }] } }),
        failing({ routing: { account: { column: 'acct', field: 'A__c' } } }),
        failing({ target: { matchColumn: 'ext' } }),
      ].map((m) => m.replace('config/pqlsync.yml (sync users, ', '')),
    ).toEqual([
      "syncs.users.routing.score_column): routing.score_column is 'pql'",
      "syncs.users.routing.tier_column): routing.tier_column is 'tier'",
      "syncs.users.routing.rules.0.when.plan): the routing rule tests column 'plan'",
      "syncs.users.routing.account.column): routing.account.column is 'acct'",
      "syncs.users.match.column): match.column is 'ext'",
    ]);
    // Fails with the body's or user_line's template path emptied.
    expect(failing({ routing: { task: { subject: 's', body: '{{ seats }}' } } })).toContain('task.body)');
    expect(failing({ routing: { task: { subject: 's', user_line: '{{ seats }}' } } })).toContain(
      'task.user_line)',
    );
    // The key's wording where it matches several columns only by case.
    expect(failing({ columns: ['USER_ID', 'User_Id'] })).toBe(
      "models/scores.sql (sync users): the key column 'user_id'",
    );
  });

  // Fails with `target.matchColumn === options.keyColumn` forced true or negated (the match column would be the key).
  it('resolves a match column other than the key on its own', () => {
    const r = resolveSyncColumns({
      target: { ...target, matchColumn: 'Email' },
      keyColumn: 'user_id',
      routing: undefined,
      columns,
      ctx,
      rowKeysLowerCase: false,
    });
    expect([r.keyColumn, r.target.matchColumn, r.misread]).toEqual(['user_id', 'email', true]);
  });

  // Fails with the nearest column's sort dropped or `a.d - b.d` → `a.d + b.d` (the first column suggested).
  it('suggests the nearest column, not the first', () => {
    expect(messageOf(() => resolveColumn(use('scroe'), ['user_id', 'scores', 'score'], ctx))).toContain(
      "did you mean 'score'?",
    );
  });
});
