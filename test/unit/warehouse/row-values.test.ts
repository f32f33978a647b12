import { describe, expect, it } from 'vitest';
import { inexactNumber } from '../../../src/destination/salesforce/salesforce-values.js';
import {
  canonicalDecimal,
  exactDecimal,
  numberDecimal,
  OutOfRangeValue,
  timestampValue,
} from '../../../src/warehouse/row-values.js';

describe('exact decimals', () => {
  it('is a number when the number prints as the same decimal, else the digits', () => {
    expect(exactDecimal('12.30')).toBe(12.3);
    expect(exactDecimal('-0.00')).toBe(0);
    expect(exactDecimal('9007199254740993')).toBe('9007199254740993');
    expect(exactDecimal('12345678901234567890000')).toBe('12345678901234567890000');
    expect(exactDecimal('1234567890.1234567890')).toBe('1234567890.123456789');
    expect(exactDecimal('0.0000001')).toBe('0.0000001');
    expect(exactDecimal('NaN')).toBeNaN();
    expect(exactDecimal('-Infinity')).toBe(-Infinity);
  });

  it('writes canonical decimals and numbers without exponents', () => {
    expect(canonicalDecimal('007.500')).toBe('7.5');
    expect(canonicalDecimal('-0.0')).toBe('0');
    expect(canonicalDecimal('1e5')).toBeUndefined();
    expect(numberDecimal(1e22)).toBe('10000000000000000000000');
    expect(numberDecimal(-1.5e-7)).toBe('-0.00000015');
    expect(numberDecimal(1.25e21)).toBe('1250000000000000000000');
  });
});

describe('timestamps', () => {
  it('are Dates when whole milliseconds, exact ISO text when finer, out of range outside years 1-9999', () => {
    expect(timestampValue(1_000_123n, 1_000_000n, () => '')).toBe('1970-01-01T00:00:01.000123Z');
    expect(timestampValue(-1n, 1_000_000n, () => '')).toBe('1969-12-31T23:59:59.999999Z');
    expect(timestampValue(1_500n, 1000n, () => '')).toEqual(new Date(1500));
    expect(timestampValue(2n, 1n, () => '')).toEqual(new Date(2000));
    expect(timestampValue(253_402_300_800n, 1n, () => '10000-01-01 00:00:00')).toEqual(
      new OutOfRangeValue('timestamp', '10000-01-01 00:00:00'),
    );
  });
});

describe('Salesforce number fields', () => {
  it('refuse a decimal a JSON number would round, and nothing else', () => {
    expect(inexactNumber('12345678901234567.5', 'double')).toBe(
      '12345678901234567.5 has more digits than a number sent to Salesforce carries (it would arrive as 12345678901234568)',
    );
    expect(inexactNumber('10000000000000000000000', 'currency')).toBeUndefined();
    expect(inexactNumber('0.0000001', 'percent')).toBeUndefined();
    expect(inexactNumber('12345678901234567.5', 'string')).toBeUndefined();
    expect(inexactNumber('ninety', 'double')).toBeUndefined();
    expect(inexactNumber(12.5, 'double')).toBeUndefined();
  });
});
