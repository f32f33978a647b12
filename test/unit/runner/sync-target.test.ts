/**
 * syncTarget (src/runner/plan-step.ts): the destination-side view of a sync's config. Killed, each checked by
 * hand: the match column's `?? keyColumn` → `&&`, the field-form test `typeof m === 'string'` → `true`/`false`,
 * either field object emptied, `cleared_value ?? null` → `&&`, and `on_remove ?? {}` → `&&`.
 */
import { describe, expect, it } from 'vitest';
import { syncSchema } from '../../../src/config/config-schema.js';
import { syncTarget } from '../../../src/runner/run-sync.js';

const sync = (extra: Record<string, unknown>) =>
  syncSchema.parse({
    model: 'scores',
    destination: 'crm',
    object: 'Lead',
    match: { field: 'Ext__c' },
    mode: 'mirror',
    fields: { Email: 'email' },
    ...extra,
  });

describe('syncTarget', () => {
  it('maps every field form, the match and what a removal writes', () => {
    const target = syncTarget(
      'users',
      sync({
        match: { field: 'Ext__c', column: 'account_ref' },
        fields: {
          Email: 'email',
          Score__c: { column: 'score', skip_null: true, cleared_value: 0 },
          Tier__c: { column: 'tier' },
        },
        on_remove: { Status: 'Gone' },
      }),
      'user_id',
    );
    expect(target).toEqual({
      sync: 'users',
      object: 'Lead',
      matchField: 'Ext__c',
      matchColumn: 'account_ref',
      mode: 'mirror',
      fields: [
        { field: 'Email', column: 'email', skipNull: false, clearedValue: null },
        { field: 'Score__c', column: 'score', skipNull: true, clearedValue: 0 },
        { field: 'Tier__c', column: 'tier', skipNull: false, clearedValue: null },
      ],
      onRemove: { Status: 'Gone' },
    });
  });

  it("matches on the model's key and writes nothing on removal unless told", () => {
    expect(syncTarget('users', sync({}), 'user_id')).toMatchObject({
      matchColumn: 'user_id',
      fields: [{ field: 'Email', column: 'email', skipNull: false, clearedValue: null }],
      onRemove: {},
    });
  });
});
