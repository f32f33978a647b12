/**
 * One plan-table row → one Change (plan-sync.ts `toChange`, `parsePrev`), and the snapshot's values for an applied
 * change (plan-table.ts `snapshotValues`): pure functions, called directly. For `npm run mutation`: Stryker's run with
 * these tests is what shows they catch breaks (docs/audits/mutation-plan.md lists what survived them).
 */
import { describe, expect, it } from 'vitest';
import type { SyncTarget } from '../../../src/destination/destination.js';
import { MATCH_VALUE_KEY, snapshotValues, toChange } from '../../../src/plan/plan-sync.js';
import { INVALID_VALUE } from '../../../src/plan/change-values.js';
import { field } from './plan-fixture.js';

const target: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'ext_id',
  mode: 'mirror',
  fields: [field('Email', 'email'), field('Tier__c', 'tier', true, 'none'), field('Ext__c', 'ext_id')],
  onRemove: {},
};

/** A plan row as the plan table holds it: the plan's own columns, then the model's. */
const planRow = (op: string, prev: unknown, model: Record<string, unknown>, attempts: unknown = null) => ({
  __pqlsync_pk: '7',
  __pqlsync_op: op,
  __pqlsync_prev: prev,
  __pqlsync_prev_hash: 'h0',
  __pqlsync_attempts: attempts,
  __pqlsync_key: '7',
  __pqlsync_hash: 'h1',
  ...model,
});

describe('toChange', () => {
  it('a removed row without previous values is matched by its key, with no on_remove fields', () => {
    expect(toChange(planRow('removed', null, {}, 2n), target)).toEqual({
      key: '7',
      kind: 'removed',
      matchValue: '7',
      values: { Email: null, Tier__c: 'none' },
      changedFields: ['Email', 'Tier__c'],
      row: undefined,
      rowHash: null,
      attempts: 2,
    });
  });

  it('a removed row is matched by the match value it was synced with', () => {
    const prev = JSON.stringify({ Email: 'a@x.io', [MATCH_VALUE_KEY]: 'E-7' });
    expect(toChange(planRow('removed', prev, {}), target)).toMatchObject({ matchValue: 'E-7', attempts: 0 });
  });

  it('previous values that are not a JSON object count as none: every value differs', () => {
    const model = { email: 'a@x.io', tier: 'gold', ext_id: 'E-7' };
    for (const prev of ['', 'not json', 'null', '42', '"text"', 17, undefined]) {
      expect(toChange(planRow('changed', prev, model), target).changedFields, String(prev)).toEqual([
        'Email',
        'Tier__c',
        'Ext__c',
      ]);
    }
    const same = JSON.stringify({ Email: 'a@x.io', Tier__c: 'gold', Ext__c: 'E-7' });
    expect(toChange(planRow('changed', same, model), target).changedFields).toEqual([]);
    // A field the snapshot has no value for differs from a null one only when the new value is not null.
    expect(
      toChange(
        planRow('changed', JSON.stringify({ Email: 'a@x.io' }), {
          email: 'a@x.io',
          tier: 'gold',
          ext_id: null,
        }),
        target,
      ).changedFields,
    ).toEqual(['Tier__c']);
  });

  it('an added row carries every value, and the model row without the plan columns', () => {
    const c = toChange(
      planRow('added', null, { email: 'a@x.io', tier: null, ext_id: 12n, extra: 1 }),
      target,
    );
    expect(c).toEqual({
      key: '7',
      kind: 'added',
      matchValue: '12',
      values: { Email: 'a@x.io', Ext__c: '12' },
      changedFields: ['Email', 'Ext__c'],
      row: { email: 'a@x.io', tier: null, ext_id: '12', extra: 1 },
      rowHash: 'h1',
      attempts: 0,
    });
  });

  it('reads a column the warehouse returned in lower case, and sends a missing one as null', () => {
    const upper: SyncTarget = { ...target, fields: [field('Email', 'EMAIL'), field('Other', 'other')] };
    expect(toChange(planRow('added', null, { email: 'a@x.io', ext_id: 'E' }), upper).values).toEqual({
      Email: 'a@x.io',
      Other: null,
    });
  });

  it('leaves out a skip_null field whose column the row does not have, and gives a row without its match column an empty match value', () => {
    const c = toChange(planRow('added', null, { email: 'a@x.io' }), target);
    expect(c.values).toEqual({ Email: 'a@x.io', Ext__c: null });
    expect(c.matchValue).toBe('');
  });

  it('marks a row with a value no CRM can hold as invalid, and a row without a match value with an empty one', () => {
    const c = toChange(planRow('added', null, { email: 'a@x.io', tier: Number.NaN, ext_id: null }), target);
    expect(c.matchValue).toBe('');
    expect(c.invalid).toEqual({
      reason:
        'Tier__c: column tier is NaN, not a finite number; the row is not sent (fix the value in the model)',
      code: INVALID_VALUE,
    });
    expect(
      toChange(planRow('added', null, { email: 'a@x.io', tier: 1, ext_id: 'E' }), target),
    ).not.toHaveProperty('invalid');
  });
});

describe('snapshotValues', () => {
  it('stores the values sent and the match value', () => {
    const c = toChange(planRow('added', null, { email: 'a@x.io', tier: null, ext_id: 'E-7' }), target);
    expect(snapshotValues(c)).toEqual({ Email: 'a@x.io', Ext__c: 'E-7', __match: 'E-7' });
    expect(MATCH_VALUE_KEY).toBe('__match');
  });
});
