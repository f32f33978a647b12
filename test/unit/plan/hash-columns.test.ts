/**
 * The row hash's input (plan-sync.ts `hashColumns`). Every existing snapshot stores hashes made from it, so a
 * change to its text (field order, the `?` of skip_null, the match part) would make every synced row look changed
 * after an upgrade: the exact signature is pinned here, and a change to it must bump HASH_VERSION (recipe 2 did, and
 * carries recipe-1 snapshots over by their legacy signature).
 */
import { describe, expect, it } from 'vitest';
import type { FieldSpec, SyncTarget } from '../../../src/destination/destination.js';
import { hashColumns, HASH_VERSION } from '../../../src/plan/plan-sync.js';

const field = (f: string, column: string, skipNull = false): FieldSpec => ({
  field: f,
  column,
  skipNull,
  clearedValue: null,
});

const target = (fields: FieldSpec[], matchColumn = 'user_id'): SyncTarget => ({
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn,
  mode: 'upsert',
  fields,
  onRemove: {},
});

describe('hashColumns', () => {
  it('signs the mapping by field name, marks skip_null fields, and hashes the mapped columns then the match column', () => {
    expect(HASH_VERSION).toBe('v2');
    const fields = [field('Score__c', 'score'), field('Email', 'email', true), field('Tier__c', 'tier')];
    expect(hashColumns(target(fields))).toEqual({
      signature: 'v2:Email=email?,Score__c=score,Tier__c=tier,match=user_id',
      // Recipe 1's signature, for carrying older snapshots over (plan-sync.ts carryOverHashes).
      legacySignature: 'v1:Email=email?,Score__c=score,Tier__c=tier,match=user_id',
      columns: ['email', 'score', 'tier', 'user_id'],
    });
  });

  it('is the same whatever order the fields are declared in', () => {
    const a = [field('B', 'b'), field('A', 'a'), field('C', 'c')];
    const b = [field('C', 'c'), field('B', 'b'), field('A', 'a')];
    expect(hashColumns(target(a))).toEqual(hashColumns(target(b)));
    expect(hashColumns(target(a)).columns).toEqual(['a', 'b', 'c', 'user_id']);
  });

  it('leaves the match part out of the signature when the target has no match column', () => {
    expect(hashColumns(target([field('A', 'a')], '')).signature).toBe('v2:A=a');
    expect(hashColumns(target([field('A', 'a')], '')).legacySignature).toBe('v1:A=a');
  });
});
