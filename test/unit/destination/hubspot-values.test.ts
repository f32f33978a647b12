import { describe, expect, it } from 'vitest';
import { readableMessage } from '../../../src/destination/hubspot/hubspot-errors.js';
import { formatHubspotValue, type PropertyInfo } from '../../../src/destination/hubspot/hubspot-values.js';

const prop = (type: string, extra: Partial<PropertyInfo> = {}): PropertyInfo => ({
  name: `p_${type}`,
  type,
  fieldType: 'text',
  groupName: 'pqlsync',
  options: [],
  hasUniqueValue: false,
  readOnly: false,
  externalOptions: false,
  ...extra,
});

const format = (value: unknown, p: PropertyInfo) => formatHubspotValue(value, p);

describe('HubSpot value formats', () => {
  it('writes dates as midnight UTC in milliseconds, from date strings, timestamps and Dates', () => {
    const date = prop('date');
    const jan2 = String(Date.UTC(2025, 0, 2));
    expect(format('2025-01-02', date)).toEqual({ ok: true, text: jan2 });
    expect(format('2025-01-02T23:59:59Z', date)).toEqual({ ok: true, text: jan2 });
    expect(format(new Date('2025-01-02T10:00:00Z'), date)).toEqual({ ok: true, text: jan2 });
    expect(format('2025-02-30', date)).toEqual({ ok: false, reason: 'expected a date, got "2025-02-30"' });
    expect(format('yesterday', date)).toEqual({ ok: false, reason: 'expected a date, got "yesterday"' });
  });

  it('writes datetimes in milliseconds; a timestamp without a zone is UTC', () => {
    const dt = prop('datetime');
    const at = Date.UTC(2025, 0, 2, 10, 30, 0);
    expect(format('2025-01-02 10:30:00', dt)).toEqual({ ok: true, text: String(at) });
    expect(format('2025-01-02T12:30:00+02:00', dt)).toEqual({ ok: true, text: String(at) });
    expect(format(new Date(at), dt)).toEqual({ ok: true, text: String(at) });
    expect(format(at, dt)).toEqual({ ok: true, text: String(at) });
    expect(format('2025-01-02', dt)).toEqual({ ok: true, text: String(Date.UTC(2025, 0, 2)) });
  });

  it('writes booleans as true/false and numbers as plain text; refuses what does not fit', () => {
    expect(format(true, prop('bool'))).toEqual({ ok: true, text: 'true' });
    expect(format('FALSE', prop('bool'))).toEqual({ ok: true, text: 'false' });
    expect(format(0, prop('bool'))).toEqual({ ok: true, text: 'false' });
    expect(format('yes', prop('bool'))).toEqual({ ok: false, reason: 'expected true or false, got "yes"' });
    expect(format(91, prop('number'))).toEqual({ ok: true, text: '91' });
    expect(format(12345678901234567890n, prop('number'))).toEqual({ ok: true, text: '12345678901234567890' });
    expect(format(' 4.5 ', prop('number'))).toEqual({ ok: true, text: '4.5' });
    expect(format('n/a', prop('number'))).toEqual({ ok: false, reason: 'expected a number, got "n/a"' });
    expect(format(true, prop('number'))).toEqual({ ok: false, reason: 'expected a number, got true' });
  });

  it('checks enumeration options unless they come from elsewhere (owners); multi-select joins with ;', () => {
    const tier = prop('enumeration', {
      name: 'pql_tier',
      options: ['hot', 'pql', 'nurture'],
      fieldType: 'select',
    });
    expect(format('hot', tier)).toEqual({ ok: true, text: 'hot' });
    expect(format('warm', tier)).toEqual({
      ok: false,
      reason: '"warm" is not an option of pql_tier (options: hot, pql, nurture)',
    });
    expect(format(['hot', 'pql'], tier)).toEqual({
      ok: false,
      reason: 'expected one of the options of pql_tier, got a list ["hot","pql"]',
    });
    const multi = prop('enumeration', { name: 'signals', options: ['a', 'b', 'c'], fieldType: 'checkbox' });
    expect(format(['a', 'c'], multi)).toEqual({ ok: true, text: 'a;c' });
    const owner = prop('enumeration', { name: 'hubspot_owner_id', externalOptions: true });
    expect(format('41629779', owner)).toEqual({ ok: true, text: '41629779' });
  });

  it('clears with an empty string and writes text for anything on a string property', () => {
    expect(format(null, prop('number'))).toEqual({ ok: true, text: '' });
    expect(format(['12 dashboards', 'invited 3'], prop('string'))).toEqual({
      ok: true,
      text: '12 dashboards; invited 3',
    });
    expect(format({ plan: 'pro' }, prop('string'))).toEqual({ ok: true, text: '{"plan":"pro"}' });
    expect(format(7, prop('string'))).toEqual({ ok: true, text: '7' });
  });
});

describe('HubSpot error helpers', () => {
  it('unpacks "Property values were not valid" into name: message (ERROR) parts', () => {
    const raw =
      'Property values were not valid: [{"isValid":false,"message":"999 is not a valid owner id","error":"INVALID_OWNER_ID","name":"hubspot_owner_id"},' +
      '{"isValid":false,"message":"x was not a valid number.","error":"INVALID_DECIMAL","name":"pql_score"}]';
    expect(readableMessage(raw)).toBe(
      'Property values were not valid: hubspot_owner_id: 999 is not a valid owner id (INVALID_OWNER_ID); ' +
        'pql_score: x was not a valid number. (INVALID_DECIMAL)',
    );
    expect(readableMessage('Property values were not valid: not json')).toBe(
      'Property values were not valid: not json',
    );
  });
});
