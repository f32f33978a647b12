/**
 * Model values → HubSpot property values. HubSpot takes every value as a string on the wire, in a format set
 * by the property's type; a value that cannot take that format is refused here, for that record only, instead
 * of making HubSpot refuse the whole batch of 100.
 *
 * Glossary:
 * - property info: what pqlsync needs to know of one HubSpot property (type, field type, options, flags),
 *   read from `GET /crm/v3/properties/{objectType}` during preflight.
 * - cleared value: `null` becomes `''`, which HubSpot stores as "no value".
 */

import { isEmailAddress } from '../email-address.js';

export const HUBSPOT_PROPERTY_TYPES = [
  'string',
  'number',
  'date',
  'datetime',
  'enumeration',
  'bool',
] as const;
export type HubspotPropertyType = (typeof HUBSPOT_PROPERTY_TYPES)[number];

/** One HubSpot property as the destination sees it. */
export interface PropertyInfo {
  name: string;
  /** HubSpot's `type`; unknown types are treated like `string`. */
  type: string;
  fieldType: string;
  groupName: string;
  /** Allowed values of an enumeration (empty when anything goes). */
  options: string[];
  hasUniqueValue: boolean;
  /** `modificationMetadata.readOnlyValue`, or a calculated property: nobody can write it. */
  readOnly: boolean;
  /** Options come from elsewhere (owners, other objects), so `options` cannot be checked here. */
  externalOptions: boolean;
}

export type FormattedValue = { ok: true; text: string } | { ok: false; reason: string };

const DAY_MS = 86_400_000;

/** Formats one model value for a HubSpot property, or says why it cannot be written to it. */
export function formatHubspotValue(value: unknown, property: PropertyInfo): FormattedValue {
  if (value === null || value === undefined) return ok('');
  switch (property.type) {
    case 'number':
      return formatNumber(value);
    case 'bool':
      return formatBool(value);
    case 'date': {
      const ms = toEpochMs(value);
      // HubSpot date properties take midnight UTC of the day, in milliseconds.
      return ms === undefined
        ? fail(`expected a date, got ${show(value)}`)
        : ok(String(Math.floor(ms / DAY_MS) * DAY_MS));
    }
    case 'datetime': {
      const ms = toEpochMs(value);
      return ms === undefined ? fail(`expected a date-time, got ${show(value)}`) : ok(String(ms));
    }
    case 'enumeration':
      return formatEnumeration(value, property);
    default: {
      const text = plainText(value);
      if (property.name === 'email' && text !== '' && !isEmailAddress(text)) {
        return fail(`${show(value)} is not a valid email address (HubSpot refuses it as INVALID_EMAIL)`);
      }
      return ok(text);
    }
  }
}

function ok(text: string): FormattedValue {
  return { ok: true, text };
}

function fail(reason: string): FormattedValue {
  return { ok: false, reason };
}

function show(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? String(value);
}

function formatNumber(value: unknown): FormattedValue {
  if (typeof value === 'number')
    return Number.isFinite(value) ? ok(String(value)) : fail(`expected a number, got ${value}`);
  if (typeof value === 'bigint') return ok(value.toString());
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return ok(value.trim());
  return fail(`expected a number, got ${show(value)}`);
}

function formatBool(value: unknown): FormattedValue {
  if (typeof value === 'boolean') return ok(String(value));
  if (value === 1 || value === 0) return ok(String(value === 1));
  if (typeof value === 'string' && ['true', 'false'].includes(value.trim().toLowerCase())) {
    return ok(value.trim().toLowerCase());
  }
  return fail(`expected true or false, got ${show(value)}`);
}

function formatEnumeration(value: unknown, property: PropertyInfo): FormattedValue {
  // Multi-select (checkbox) enumerations take several values joined by ';'.
  const chosen = Array.isArray(value) ? value.map(plainText) : [plainText(value)];
  if (chosen.length > 1 && property.fieldType !== 'checkbox') {
    return fail(`expected one of the options of ${property.name}, got a list ${show(value)}`);
  }
  if (!property.externalOptions && property.options.length > 0) {
    const bad = chosen.filter((v) => v !== '' && !property.options.includes(v));
    if (bad.length > 0) {
      return fail(
        `${show(bad.length === 1 ? bad[0] : bad)} is not an option of ${property.name} (options: ${property.options.join(', ')})`,
      );
    }
  }
  return ok(chosen.join(';'));
}

/** Text for string properties: lists joined by '; ', dates as ISO-8601, objects as JSON. */
function plainText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plainText).join('; ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value as number | bigint | boolean);
}

/**
 * Milliseconds since the epoch for a Date, a number of milliseconds, or an ISO-8601 date or date-time
 * string (a date-time without a zone is read as UTC, like the warehouse's timestamps).
 */
function toEpochMs(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (date) {
    const [, y, m, d] = date.map(Number) as [number, number, number, number];
    const ms = Date.UTC(y, m - 1, d);
    return new Date(ms).getUTCDate() === d ? ms : undefined;
  }
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text)) return undefined;
  const zoned = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}
