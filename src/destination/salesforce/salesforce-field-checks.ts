/**
 * Checks a record's values (already formatted by salesforce-values.ts) against the describe of their fields,
 * before anything is sent: Salesforce refuses text in a number, checkbox or date field for the WHOLE sObject
 * Collections request (400 JSON_PARSER_ERROR), and a value over a field's length or precision, outside a
 * restricted picklist or not an email address for the record. Found here, the record is rejected with a
 * field-level reason and costs no API call; the other records of its batch go through.
 */
import { isEmailAddress } from '../email-address.js';
import { describeType, type DescribedField } from './salesforce-preflight.js';

const NUMERIC = new Set(['double', 'int', 'long', 'currency', 'percent']);
const TEXT = new Set([
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
  'multipicklist',
  'combobox',
  'encryptedstring',
]);

/** Problems of one record's values, one `Field: what is wrong` line each (empty when it can be sent). */
export function fieldProblems(
  values: Record<string, unknown>,
  fields: ReadonlyMap<string, DescribedField>,
): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const f = fields.get(name.toLowerCase());
    if (!f || value === null || value === undefined) continue;
    const problem = valueProblem(value, f);
    if (problem) problems.push(`${name}: ${problem}`);
  }
  return problems;
}

function valueProblem(value: unknown, f: DescribedField): string | undefined {
  const type = `${describeType(f)} field`;
  if (NUMERIC.has(f.type)) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      return `expected a number for a ${type}, got ${show(value)}`;
    const digits = (f.precision ?? 0) - (f.scale ?? 0);
    if ((f.precision ?? 0) > 0 && Math.abs(Math.trunc(value)) >= 10 ** digits) {
      return `${value} has more than ${digits} digit${digits === 1 ? '' : 's'} before the decimal point, too many for a ${type}`;
    }
    return undefined;
  }
  if (f.type === 'boolean') {
    return typeof value === 'boolean'
      ? undefined
      : `expected true or false for a ${type}, got ${show(value)}`;
  }
  if (f.type === 'date') {
    return typeof value === 'string' && isDate(value)
      ? undefined
      : `expected a date (YYYY-MM-DD) for a ${type}, got ${show(value)}`;
  }
  if (f.type === 'datetime') {
    return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))
      ? undefined
      : `expected a date-time for a ${type}, got ${show(value)}`;
  }
  if (!TEXT.has(f.type) || typeof value !== 'string') return undefined;
  if ((f.length ?? 0) > 0 && value.length > (f.length ?? 0)) {
    return `${value.length} characters, more than the ${f.length} a ${type} holds`;
  }
  if (f.type === 'email' && !isEmailAddress(value)) return `${show(value)} is not a valid email address`;
  const allowed = f.restrictedPicklist ? (f.picklistValues ?? []) : [];
  if (allowed.length > 0 && (f.type === 'picklist' || f.type === 'multipicklist')) {
    const chosen = f.type === 'multipicklist' ? value.split(';') : [value];
    const bad = chosen.filter((v) => !allowed.includes(v));
    if (bad.length > 0) {
      return `${show(bad.join(';'))} is not a value of the restricted picklist (values: ${allowed.join(', ')})`;
    }
  }
  return undefined;
}

function isDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return new Date(Date.UTC(y, mo - 1, d)).getUTCDate() === d && mo >= 1 && mo <= 12;
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  // A failure reason is stored; keep a long value's quote short.
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
