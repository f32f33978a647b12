/**
 * Model values as a change carries them, and the reason a row cannot be sent (src/plan/change-values.ts), on their
 * own: written for StrykerJS (no unit test reached this module before; the reliability tests that do run the CLI).
 * Checked by hand: each of 8 mutants (a conversion dropped, `!Number.isFinite` negated, the list prefix, the match
 * column checked twice, `> 1` / `> 0` → `>=`, the `; ` separator emptied) fails a test here.
 */
import { describe, expect, it } from 'vitest';
import type { SyncTarget } from '../../../src/destination/destination.js';
import { changeValue, invalidValuesReason } from '../../../src/plan/change-values.js';
import { OutOfRangeValue } from '../../../src/warehouse/row-values.js';

const target: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'user_id',
  mode: 'upsert',
  fields: [
    { field: 'Ext__c', column: 'user_id', skipNull: false, clearedValue: null },
    { field: 'Score__c', column: 'score', skipNull: false, clearedValue: null },
    { field: 'Seen__c', column: 'seen', skipNull: false, clearedValue: null },
  ],
  onRemove: {},
};

describe('changeValue', () => {
  it('big integers as digits, dates as ISO-8601, bytes as base64, lists item by item, the rest as is', () => {
    expect(changeValue(2n ** 64n)).toBe('18446744073709551616');
    expect(changeValue(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05.678Z');
    expect(changeValue(new Uint8Array([0xfb, 0xff, 0x00]))).toBe('+/8A');
    expect(changeValue([1n, new Date(0), ['x', new Uint8Array([65])]])).toEqual([
      '1',
      '1970-01-01T00:00:00.000Z',
      ['x', 'QQ=='],
    ]);
    const obj = { a: 1n };
    expect(changeValue(obj)).toBe(obj);
    expect(changeValue(1.5)).toBe(1.5);
    expect(changeValue(null)).toBe(null);
  });
});

describe('invalidValuesReason', () => {
  it('undefined for a row whose values any destination can hold', () => {
    expect(invalidValuesReason({ user_id: 1, score: 0.5, seen: null }, target)).toBeUndefined();
    expect(invalidValuesReason({ user_id: 1, score: [1, 2], seen: 'x' }, target)).toBeUndefined();
  });

  it('names the one field and column, the match column once, and says to fix the value', () => {
    expect(invalidValuesReason({ user_id: Number.NaN, score: 1, seen: null }, target)).toBe(
      'Ext__c (the match field): column user_id is NaN, not a finite number; the row is not sent (fix the value in the model)',
    );
    expect(
      invalidValuesReason(
        { user_id: 1, score: 1, seen: new OutOfRangeValue('date', '5000000-01-01') },
        target,
      ),
    ).toBe(
      'Seen__c: column seen is 5000000-01-01, a date outside years 1-9999; the row is not sent (fix the value in the model)',
    );
  });

  it('names every invalid field, lists holding one included', () => {
    expect(
      invalidValuesReason(
        {
          user_id: 1,
          score: [1, Number.NEGATIVE_INFINITY],
          seen: new OutOfRangeValue('timestamp', 'infinity'),
        },
        target,
      ),
    ).toBe(
      'Score__c: column score is a list holding -Infinity, not a finite number; Seen__c: column seen is infinity, a timestamp outside years 1-9999; the row is not sent (fix these values in the model)',
    );
  });
});
