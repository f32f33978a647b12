/**
 * Values as Salesforce wants them, by the field's describe type: dates `YYYY-MM-DD`, datetimes ISO-8601 in
 * UTC, numbers, booleans, multi-select picklists joined by `;`. In REST JSON a null clears the field; in a
 * Bulk API 2.0 CSV the same is written `#N/A` (an empty cell leaves the field unchanged).
 */
import { stringify } from 'csv-stringify/sync';
import { canonicalDecimal, numberDecimal } from '../../warehouse/row-values.js';

/** Bulk API 2.0 CSV: this cell value sets the field to null. */
export const CSV_NULL = '#N/A';

const NUMERIC = new Set(['double', 'int', 'long', 'currency', 'percent']);

/** Formats one value for a field of the given describe type (undefined type: left as it is). */
export function formatValue(value: unknown, type: string | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') value = Number(value);
  if (value instanceof Date) value = value.toISOString();
  switch (type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number') return value !== 0;
      if (typeof value === 'string' && /^(true|false|1|0)$/i.test(value)) return /^(true|1)$/i.test(value);
      return value;
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : value;
    case 'datetime': {
      if (typeof value !== 'string' && typeof value !== 'number') return value;
      const text =
        typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
      const t = new Date(text);
      return Number.isNaN(t.getTime()) ? value : t.toISOString();
    }
    case 'multipicklist':
      return Array.isArray(value) ? value.map(String).join(';') : String(value);
    default:
      if (type && NUMERIC.has(type)) {
        const n = typeof value === 'number' ? value : Number(value);
        return Number.isFinite(n) ? n : value;
      }
      if (type === undefined) return value;
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

/**
 * Why a value cannot go to a number field exactly, or undefined: a decimal (exact text from the warehouse) with
 * more significant digits than the JSON number jsforce sends carries (about 15), which would arrive rounded.
 */
export function inexactNumber(value: unknown, type: string | undefined): string | undefined {
  if (!type || !NUMERIC.has(type) || (typeof value !== 'string' && typeof value !== 'bigint'))
    return undefined;
  const decimal = canonicalDecimal(String(value));
  const n = Number(decimal);
  if (decimal === undefined || !Number.isFinite(n) || numberDecimal(n) === decimal) return undefined;
  return `${String(value)} has more digits than a number sent to Salesforce carries (it would arrive as ${n})`;
}

/** Formats every value of a record with the field types from describe. */
export function formatRecord(
  values: Record<string, unknown>,
  types: ReadonlyMap<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(values)) {
    const formatted = formatValue(v, types.get(field.toLowerCase()));
    // An empty text is no value in Salesforce; say so explicitly (null clears the field).
    out[field] = formatted === '' ? null : formatted;
  }
  return out;
}

/**
 * A Bulk API 2.0 CSV built by us (jsforce's writer adds an `Id` column to every upsert): one column per field
 * any record sets, `#N/A` for null, an empty cell where a record leaves the field out.
 */
export function buildCsv(records: Array<Record<string, unknown>>, firstColumns: string[]): string {
  const columns = [...firstColumns];
  const seen = new Set(columns);
  for (const r of records) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  const rows = records.map((r) =>
    columns.map((c) => {
      if (!(c in r)) return '';
      const v = r[c];
      if (v === null || v === undefined || v === '') return CSV_NULL;
      return typeof v === 'boolean'
        ? String(v)
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v as string | number);
    }),
  );
  return stringify([columns, ...rows], { record_delimiter: 'unix' });
}

/** Escapes a value for a SOQL string literal. */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
