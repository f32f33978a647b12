/**
 * Model values → the values a Change carries, and the values no destination can be sent faithfully.
 *
 * Glossary:
 * - change value: a Row value (see warehouse-adapter.ts) as text where JSON and the CRMs need text: integers
 *   beyond 2^53 as their digits, timestamps as ISO-8601, bytes as base64.
 * - invalid value: NaN, ±Infinity, or a date or timestamp outside years 1-9999 in a mapped column or the match
 *   column. No CRM field holds one (a JSON body would carry NaN as null and erase the field), so the row is
 *   rejected before anything is sent, with a reason naming each such field and column; the other rows go.
 */
import type { SyncTarget } from '../destination/destination.js';
import { bytesText, OutOfRangeValue } from '../warehouse/row-values.js';
import type { Row } from '../warehouse/warehouse-adapter.js';

/** The failure code of a row rejected for an invalid value (the HubSpot destination uses it for its own). */
export const INVALID_VALUE = 'INVALID_VALUE';

/** A Row value as a Change carries it. */
export function changeValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return bytesText(v);
  if (Array.isArray(v)) return v.map(changeValue);
  return v;
}

/** What is wrong with a value no destination can hold, or undefined. */
function invalidValue(v: unknown): string | undefined {
  if (typeof v === 'number' && !Number.isFinite(v)) return `${v}, not a finite number`;
  if (v instanceof OutOfRangeValue) return `${v.text}, a ${v.kind} outside years 1-9999`;
  if (Array.isArray(v)) {
    for (const item of v) {
      const why = invalidValue(item);
      if (why) return `a list holding ${why}`;
    }
  }
  return undefined;
}

/**
 * Why a row cannot be sent (each mapped field or match column holding an invalid value), or undefined. Fields the
 * row leaves out (null with skip_null) are never invalid.
 */
export function invalidValuesReason(row: Row, target: SyncTarget): string | undefined {
  const problems: string[] = [];
  const check = (label: string, column: string) => {
    const why = invalidValue(row[column]);
    if (why) problems.push(`${label}: column ${column} is ${why}`);
  };
  check(`${target.matchField} (the match field)`, target.matchColumn);
  for (const f of target.fields) if (f.column !== target.matchColumn) check(f.field, f.column);
  return problems.length > 0
    ? `${problems.join('; ')}; the row is not sent (fix ${problems.length > 1 ? 'these values' : 'the value'} in the model)`
    : undefined;
}
