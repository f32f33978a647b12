/**
 * Rejections as people read them (src/state/failure-report.ts): reason codes, the fields a reason names, groups
 * and their order, the lines a partial run ends with, and text cut to one line.
 *
 * Written for the mutation run (issue 24): each test names the mutants it was checked against by hand (the
 * mutant applied to src, the test seen failing, the mutant reverted).
 */
import { describe, expect, it } from 'vitest';
import {
  fieldsOf,
  formatRejections,
  groupLabel,
  groupRejections,
  oneLine,
  reasonCode,
} from '../../../src/state/failure-report.js';
import type { FailureRecord } from '../../../src/state/state-store.js';

const T = new Date('2026-01-01T00:00:00.000Z');
const failure = (key: string, reason: string, code: string | null = null): FailureRecord => ({
  sync: 'users',
  key,
  code,
  reason,
  attempts: 1,
  firstSeen: T,
  lastSeen: T,
  runId: 'r1',
});

describe('reasonCode', () => {
  // Checked by hand against `if (f.code)` → `if (true)` (an empty code kept), the pattern's `^` dropped, its
  // `+` → `*` (one letter taken as a code) and `?? 'UNKNOWN'` emptied.
  it.each([
    [{ code: 'INVALID_EMAIL_ADDRESS', reason: 'whatever: x' }, 'INVALID_EMAIL_ADDRESS'],
    [{ code: '', reason: 'DUPLICATE_VALUE: seen' }, 'DUPLICATE_VALUE'],
    [{ code: null, reason: 'E2_X: digits and underscores' }, 'E2_X'],
    [{ code: null, reason: 'Invalid value: not a code' }, 'UNKNOWN'],
    [{ code: null, reason: 'A: one letter' }, 'UNKNOWN'],
    [{ code: null, reason: 'see CONFLICT: not at the start' }, 'UNKNOWN'],
    [{ code: null, reason: 'NO_COLON here' }, 'UNKNOWN'],
  ])('%j → %s', (f, code) => {
    expect(reasonCode(f)).toBe(code);
  });
});

describe('fieldsOf', () => {
  // Checked by hand against the split on '; ' → ';', the lead pattern's `^` dropped and its `: ` dropped, the
  // code test `!/^[A-Z][A-Z0-9_]*$/` negation dropped, the `(fields: …)` trim and empty-name check dropped, and
  // the `propert(?:y|ies)` pattern emptied.
  it.each([
    ['Email: not an email; Phone: too long', ['Email', 'Phone']],
    ['INVALID_EMAIL_ADDRESS: bad address (fields: Email, Phone__c)', ['Email', 'Phone__c']],
    ['REQUIRED_FIELD_MISSING: missing (fields: )', []],
    ["Property values were not valid: property 'email' and properties 'phone'", ['email', 'phone']],
    ['X: a one-letter code; Owner.Name: a dotted field; no field here', ['Owner.Name']],
    ['Email: twice; Email: again (fields: Email)', ['Email']],
    ['the value of Email: refused', []],
    ['Email:no space', []],
    // Killed after the first Stryker run: the code test without its `^` (a field ending in capitals and digits
    // taken for a code), and the `(fields: …)` name checked untrimmed (a blank name added).
    ['Phone_E164: not a phone number', ['Phone_E164']],
    ['INVALID_VALUE: bad (fields: Email, )', ['Email']],
  ])('%s → %j', (reason, fields) => {
    expect(fieldsOf(reason)).toEqual(fields);
  });
});

describe('groupRejections', () => {
  // Checked by hand against the group id without its fields (Email and Phone merged), `count += 1` → `-= 1`,
  // `sampleKeys.length < SAMPLE_KEYS` → `<=`, the group's message emptied, the count order reversed, and
  // the code and fields tie-breaks dropped.
  it('groups by code and fields, largest first, then by code and fields; three sample keys; the first message', () => {
    const failures = [
      failure('k1', 'INVALID_VALUE: bad (fields: Email)'),
      failure('k2', 'INVALID_VALUE: worse (fields: Email)'),
      failure('k3', 'INVALID_VALUE: bad (fields: Phone)'),
      failure('k4', 'INVALID_VALUE: bad (fields: Email)'),
      failure('k5', 'INVALID_VALUE: bad (fields: Email)'),
      failure('k6', 'timeout', 'TIMEOUT'),
      failure('k7', 'INVALID_VALUE: bad (fields: Fax)'),
      failure('k8', 'CONFLICT: taken'),
    ];
    expect(groupRejections(failures)).toEqual([
      {
        code: 'INVALID_VALUE',
        fields: ['Email'],
        count: 4,
        sampleKeys: ['k1', 'k2', 'k4'],
        message: 'INVALID_VALUE: bad (fields: Email)',
      },
      { code: 'CONFLICT', fields: [], count: 1, sampleKeys: ['k8'], message: 'CONFLICT: taken' },
      {
        code: 'INVALID_VALUE',
        fields: ['Fax'],
        count: 1,
        sampleKeys: ['k7'],
        message: 'INVALID_VALUE: bad (fields: Fax)',
      },
      {
        code: 'INVALID_VALUE',
        fields: ['Phone'],
        count: 1,
        sampleKeys: ['k3'],
        message: 'INVALID_VALUE: bad (fields: Phone)',
      },
      { code: 'TIMEOUT', fields: [], count: 1, sampleKeys: ['k6'], message: 'timeout' },
    ]);
    expect(groupRejections([])).toEqual([]);
  });
});

describe('formatRejections', () => {
  // Checked by hand against `groups.length === 0` → `false`, the total's `n + g.count` → `n - g.count`,
  // `g.count > g.sampleKeys.length` → `>=` (an ellipsis with every key shown), the `on` part's `> 0` → `>= 0`,
  // and the last line dropped.
  it('ends a partial run with each reason, its count, sample keys and message, and the command listing them all', () => {
    const groups = groupRejections([
      ...Array.from({ length: 1234 }, (_, i) => failure(`e${i}`, 'Email: not\n   an email')),
      failure('t1', 'timeout', 'TIMEOUT'),
    ]);
    expect(formatRejections('users', groups)).toBe(
      [
        'users: 1,235 not applied, by reason:',
        '  UNKNOWN on Email × 1,234 (keys e0, e1, e2, …): Email: not an email',
        '  TIMEOUT × 1 (keys t1): timeout',
        '  list them all: pqlsync failures users',
        '',
      ].join('\n'),
    );
    expect(formatRejections('users', [])).toBe('');
  });

  it('labels a group with its fields only when it names some', () => {
    expect(
      groupLabel({
        code: 'INVALID_VALUE',
        fields: ['Email', 'Phone'],
        count: 3,
        sampleKeys: [],
        message: '',
      }),
    ).toBe('INVALID_VALUE on Email, Phone × 3');
    expect(groupLabel({ code: 'TIMEOUT', fields: [], count: 1200, sampleKeys: [], message: '' })).toBe(
      'TIMEOUT × 1,200',
    );
  });
});

describe('oneLine', () => {
  // Checked by hand against the whitespace pattern's `+` dropped and `\s` → `\S`, `.trim()` dropped,
  // `flat.length > max` → `>=` (a text of exactly `max` characters cut), and `max - 1` → `max + 1`.
  it('puts text on one line and cuts it at max characters, the last one an ellipsis', () => {
    expect(oneLine('  a\n\t b   c  ')).toBe('a b c');
    expect(oneLine('abcde', 5)).toBe('abcde');
    expect(oneLine('abcdef', 5)).toBe('abcd…');
    expect(oneLine('x'.repeat(300))).toBe(`${'x'.repeat(199)}…`);
  });
});
