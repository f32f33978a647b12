/**
 * Typed model parameters: what a model declares in its front matter and the checks a value must pass.
 *
 * Glossary:
 * - value param (integer, number, string, boolean, date, string[]): always bound, never spliced into SQL.
 * - compile-time param (identifier, enum): validated here, then quoted (identifier) or emitted as one of the
 *   declared values (enum) by the compiler. Nothing else is ever spliced.
 *
 * Used by the front-matter loader (to check defaults) and the compiler (to check resolved values).
 */
import type { BindType } from '../warehouse/warehouse-adapter.js';
import { describeValue } from './model-issues.js';

export const PARAM_TYPES = [
  'integer',
  'number',
  'string',
  'boolean',
  'date',
  'string[]',
  'identifier',
  'enum',
] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

/** Param types that are bound as values, with the bind type each one uses. */
export const BIND_TYPE_OF: Partial<Record<ParamType, BindType>> = {
  integer: 'integer',
  number: 'number',
  string: 'string',
  boolean: 'boolean',
  date: 'date',
  'string[]': 'string[]',
};

/** One declared parameter, as read from `params:` in the front matter. */
export interface ParamSpec {
  type: ParamType;
  default?: unknown;
  /** Inclusive bounds for integer and number. */
  min?: number;
  max?: number;
  /** The allowed values: required for enum, optional for string and string[] (checked per item). */
  values?: string[];
  /** For identifier: the schemas (or `project.dataset`) a table may live in. Compared case-insensitively. */
  allowedSchemas?: string[];
  description?: string;
  /** A required param has no default and must be set by the sync's config or `--vars`. (Default: false) */
  required: boolean;
  /** The front-matter line declaring the param, for messages. */
  line: number;
}

/** One part of an identifier: a letter or `_`, then letters, digits, `_`, `$` or `-` (warehouses.md §5). */
export const IDENTIFIER_PART = /^[A-Za-z_][A-Za-z0-9_$-]*$/;
const MAX_PART_LENGTH = 128;
/** `project.dataset.table` is the longest name any supported warehouse takes. */
const MAX_PARTS = 3;
/** Enum values are emitted into SQL, so they must be keyword-like words (`desc`, `nulls last`, `day`). */
export const ENUM_VALUE = /^[A-Za-z0-9_]+( [A-Za-z0-9_]+)*$/;

const quoteList = (values: readonly string[]): string => values.map((v) => JSON.stringify(v)).join(', ');

function rangeText(spec: ParamSpec, noun: string): string {
  if (spec.min !== undefined && spec.max !== undefined) return `${noun} between ${spec.min} and ${spec.max}`;
  if (spec.min !== undefined) return `${noun} >= ${spec.min}`;
  if (spec.max !== undefined) return `${noun} <= ${spec.max}`;
  return noun;
}

function isValidDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/**
 * Checks an identifier value: 1 to 3 dot-separated parts, each matching IDENTIFIER_PART, and when the param
 * declares allowed schemas, a qualifier among them. Returns the parts, or the problem.
 */
export function checkIdentifier(spec: ParamSpec, value: string): { parts: string[] } | { problem: string } {
  const parts = value.split('.');
  const bad = parts.find((p) => !IDENTIFIER_PART.test(p) || p.length > MAX_PART_LENGTH);
  if (bad !== undefined || parts.length > MAX_PARTS) {
    return {
      problem:
        `expected an identifier like schema.table (1 to ${MAX_PARTS} dot-separated parts, each a letter or _ ` +
        `then letters, digits, _, $ or -, at most ${MAX_PART_LENGTH} characters), found ${describeValue(value)}`,
    };
  }
  const allowed = spec.allowedSchemas;
  if (allowed && allowed.length > 0) {
    // The whole qualifier must be an allowed entry: `app` allows `app.events`, never `evil.app.events` (another
    // database's `app` schema); list `analytics.app` to allow that database-qualified schema.
    const qualifier = parts.slice(0, -1).join('.').toLowerCase();
    const ok = parts.length >= 2 && allowed.some((a) => a.toLowerCase() === qualifier);
    if (!ok) {
      return {
        problem: `expected a table in schema ${allowed.join(' or ')} (allowed_schemas), found ${describeValue(value)}`,
      };
    }
  }
  return { parts };
}

/** Returns what is wrong with `value` for `spec`, or undefined when it is acceptable. `null` is never acceptable. */
export function checkParamValue(spec: ParamSpec, value: unknown): string | undefined {
  const found = describeValue(value);
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const noun = spec.type === 'integer' ? 'an integer' : 'a number';
      const ok =
        typeof value === 'number' &&
        (spec.type === 'integer' ? Number.isSafeInteger(value) : Number.isFinite(value));
      if (
        !ok ||
        (spec.min !== undefined && value < spec.min) ||
        (spec.max !== undefined && value > spec.max)
      ) {
        return `expected ${rangeText(spec, noun)}, found ${found}`;
      }
      return undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected true or false, found ${found}`;
    case 'date':
      return typeof value === 'string' && isValidDate(value)
        ? undefined
        : `expected a date YYYY-MM-DD, found ${found}`;
    case 'string':
      if (typeof value !== 'string') return `expected a string, found ${found}`;
      if (spec.values && !spec.values.includes(value))
        return `expected one of ${quoteList(spec.values)}, found ${found}`;
      return undefined;
    case 'enum':
      return typeof value === 'string' && (spec.values ?? []).includes(value)
        ? undefined
        : `expected one of ${quoteList(spec.values ?? [])}, found ${found}`;
    case 'string[]': {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        return `expected an array of strings, found ${found}`;
      }
      const values = spec.values;
      const badIndex = values ? value.findIndex((v: string) => !values.includes(v)) : -1;
      if (values && badIndex >= 0) {
        return `expected items among ${quoteList(values)}, found ${describeValue(value[badIndex])} at [${badIndex}]`;
      }
      return undefined;
    }
    case 'identifier': {
      if (typeof value !== 'string') return `expected an identifier like schema.table, found ${found}`;
      const checked = checkIdentifier(spec, value);
      return 'problem' in checked ? checked.problem : undefined;
    }
  }
}
