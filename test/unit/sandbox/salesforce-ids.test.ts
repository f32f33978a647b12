import { describe, expect, it } from 'vitest';
import { caseSafeSuffix, makeId, normalizeId } from '../../../src/sandbox/salesforce/salesforce-ids.js';
import { evaluate, parseSoql, SoqlError } from '../../../src/sandbox/salesforce/soql.js';

describe('Salesforce ids', () => {
  it('computes the case-safe suffix Salesforce documents (001A0000006Vm9r → IAC)', () => {
    expect(caseSafeSuffix('001A0000006Vm9r')).toBe('IAC');
    expect(normalizeId('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
    expect(normalizeId('001A0000006Vm9rIAC')).toBe('001A0000006Vm9rIAC');
    expect(normalizeId('001a0000006vm9rIAC')).toBeUndefined();
    expect(normalizeId('001A0000006Vm9')).toBeUndefined();
  });

  it('makes 18-character ids with the key prefix that normalize to themselves', () => {
    const ids = [1, 61, 62, 3_844, 1_000_000].map((n) => makeId('00Q', n));
    expect(ids[0]).toBe('00QSb0000000001MAA');
    for (const id of ids) {
      expect(id).toHaveLength(18);
      expect(normalizeId(id)).toBe(id);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('SOQL subset', () => {
  const read = (r: Record<string, unknown>, path: string[]): unknown => r[path[0] ?? ''];

  it('binds AND tighter than OR and unescapes quotes in strings', () => {
    const q = parseSoql("SELECT Id FROM Lead WHERE A = 'x' OR B = 'it\\'s' AND C = 1");
    expect(evaluate(q.where!, { A: 'X', B: 'no', C: 2 }, read)).toBe(true);
    expect(evaluate(q.where!, { A: 'y', B: "it's", C: 1 }, read)).toBe(true);
    expect(evaluate(q.where!, { A: 'y', B: "it's", C: 2 }, read)).toBe(false);
  });

  it('reads ORDER BY with NULLS LAST, LIMIT and OFFSET, and rejects trailing tokens', () => {
    expect(parseSoql('select Id from Lead order by Score desc nulls last, Email limit 5 offset 10')).toEqual({
      count: false,
      fields: [['Id']],
      from: 'Lead',
      orderBy: [
        { field: ['Score'], descending: true, nullsLast: true },
        { field: ['Email'], descending: false, nullsLast: false },
      ],
      limit: 5,
      offset: 10,
    });
    expect(() => parseSoql('SELECT Id FROM Lead LIMIT 5 Email')).toThrow(
      new SoqlError('MALFORMED_QUERY', "unexpected token: 'Email'"),
    );
  });
});
