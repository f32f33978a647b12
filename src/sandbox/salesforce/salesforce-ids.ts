/**
 * Salesforce record ids: 15 case-sensitive characters (3-character key prefix, then a unique part) plus the
 * 3-character case-safe suffix that makes the 18-character form.
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** Key prefixes of the objects the sandbox serves, as Salesforce assigns them. */
export const KEY_PREFIXES = {
  Lead: '00Q',
  Contact: '003',
  Account: '001',
  Opportunity: '006',
  Task: '00T',
  User: '005',
  Organization: '00D',
  BulkJob: '750',
  QueryLocator: '01g',
} as const;

/** The case-safe suffix of a 15-character id: one letter per 5 characters, from which of them are upper case. */
export function caseSafeSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charAt(chunk * 5 + i);
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET.charAt(bits);
  }
  return suffix;
}

/** Builds the 18-character id for `prefix` and a sequence number (deterministic: same n, same id). */
export function makeId(prefix: string, n: number): string {
  let unique = '';
  let rest = n;
  for (let i = 0; i < 9; i++) {
    unique = BASE62.charAt(rest % 62) + unique;
    rest = Math.floor(rest / 62);
  }
  // The two characters after the prefix name the pod on real orgs; "Sb" marks sandbox-made ids.
  const id15 = `${prefix}Sb0${unique}`;
  return id15 + caseSafeSuffix(id15);
}

/** Returns the 18-character form of a well-formed 15- or 18-character id, or undefined when malformed. */
export function normalizeId(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(value)) return undefined;
  const id15 = value.slice(0, 15);
  const full = id15 + caseSafeSuffix(id15);
  if (value.length === 18 && value.slice(15).toUpperCase() !== full.slice(15)) return undefined;
  return full;
}
