import { describe, expect, it } from 'vitest';
import { routingSchema } from '../../../src/config/config-schema.js';
import type { SyncTarget } from '../../../src/destination/destination.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { resolveSyncColumns } from '../../../src/plan/resolve-columns.js';

const target: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'user_id',
  mode: 'upsert',
  fields: [{ field: 'Score__c', column: 'leadscore', skipNull: false, clearedValue: null }],
  onRemove: {},
};
const ctx = { sync: 'users', modelFile: 'models/scores.sql', configFile: 'config/pqlsync.yml' };

function errorOf(fn: () => unknown): PqlsyncError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PqlsyncError) return e;
    throw e;
  }
  throw new Error('expected a PqlsyncError');
}

describe('resolveSyncColumns', () => {
  it('takes the exact name first, then the one name equal ignoring case, and says when a name was misread', () => {
    const r = resolveSyncColumns({
      target: {
        ...target,
        fields: [...target.fields, { field: 'S2', column: 'Score', skipNull: false, clearedValue: null }],
      },
      keyColumn: 'user_id',
      routing: undefined,
      columns: ['USER_ID', 'leadScore', 'Score', 'score'],
      ctx,
      rowKeysLowerCase: false,
    });
    expect(r.keyColumn).toBe('USER_ID');
    expect(r.target.matchColumn).toBe('USER_ID');
    expect(r.target.fields.map((f) => f.column)).toEqual(['leadScore', 'Score']);
    expect(r.misread).toBe(true);
    // Where rows are keyed by lower-cased names, a lower-case config name always read right.
    const lower = resolveSyncColumns({
      target: { ...target, fields: [{ ...target.fields[0]!, column: 'score' }] },
      keyColumn: 'user_id',
      routing: undefined,
      columns: ['USER_ID', 'SCORE'],
      ctx,
      rowKeysLowerCase: true,
    });
    expect([lower.target.fields[0]!.column, lower.misread]).toEqual(['SCORE', false]);
  });

  it('refuses a name that matches several columns only by case (exit 2)', () => {
    const e = errorOf(() =>
      resolveSyncColumns({
        target,
        keyColumn: 'user_id',
        routing: undefined,
        columns: ['user_id', 'LeadScore', 'LEADSCORE'],
        ctx,
        rowKeysLowerCase: false,
      }),
    );
    expect([e.code, e.kind]).toEqual(['CONFIG_INVALID', 'config']);
    expect(e.format()).toBe(
      "config/pqlsync.yml (sync users, syncs.users.fields): the sync maps column 'leadscore', which matches 'LeadScore' and 'LEADSCORE' of models/scores.sql only by case (it returns: user_id, LeadScore, LEADSCORE)\n  hint: name the column exactly as the model returns it, or rename one of them in the model",
    );
  });

  it('resolves routing columns and template placeholders, and names a missing one with its config path', () => {
    const routing = routingSchema.parse({
      score_column: 'PQL_score',
      rules: [{ when: { Plan: 'pro' } }],
      account: { column: 'accountid', field: 'Product_Account_Id__c' },
      task: { subject: '{{ tier }}: {{ EMAIL }} on {{ plan }}' },
    });
    const r = resolveSyncColumns({
      target,
      keyColumn: 'user_id',
      routing,
      columns: ['user_id', 'leadscore', 'pql_score', 'plan', 'email', 'accountId'],
      ctx,
      rowKeysLowerCase: false,
    });
    expect(r.routing).toMatchObject({
      score_column: 'pql_score',
      rules: [{ when: { plan: 'pro' } }],
      account: { column: 'accountId' },
      task: { subject: '{{ tier }}: {{ email }} on {{ plan }}' },
    });
    const e = errorOf(() =>
      resolveSyncColumns({
        target,
        keyColumn: 'user_id',
        routing: { ...routing, task: { subject: '{{ seats }}' } },
        columns: ['user_id', 'leadscore', 'pql_score', 'plan', 'email', 'accountId'],
        ctx,
        rowKeysLowerCase: false,
      }),
    );
    expect(e.format()).toBe(
      "config/pqlsync.yml (sync users, syncs.users.routing.task.subject): the task template uses 'seats', which models/scores.sql does not return (it returns: user_id, leadscore, pql_score, plan, email, accountId)\n  hint: fix `routing.task.subject` in the sync config, or return the column from the model",
    );
  });

  it('refuses a missing key with MODEL_KEY_MISSING', () => {
    const e = errorOf(() =>
      resolveSyncColumns({
        target,
        keyColumn: 'user_id',
        routing: undefined,
        columns: ['email', 'leadscore'],
        ctx,
        rowKeysLowerCase: false,
      }),
    );
    expect(e.format()).toBe(
      "models/scores.sql (sync users): the model does not return its key column 'user_id' (it returns: email, leadscore)\n  hint: select the key column in the model, or fix `key` in its front matter",
    );
  });
});
