/**
 * Preflight of a Salesforce sync target, from the object's describe: every mapped field exists, can be written
 * (updateable, and createable when the mode creates records) and has a type pqlsync can write, the conventional
 * PQL fields have their expected types, `on_remove` values fit their fields, and the match field is an External
 * ID. Every problem is listed with the exact field definition to create or fix, so one admin visit fixes all.
 */
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type { SyncTarget } from '../destination.js';

/** The part of a describe result preflight reads. */
export interface DescribedField {
  name: string;
  type: string;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  /** Salesforce fills the field when a create leaves it out (Status, OwnerId, checkboxes...). */
  defaultedOnCreate?: boolean;
  externalId: boolean;
  length?: number;
  precision?: number;
  scale?: number;
  calculated?: boolean;
  /** Active picklist values (picklists only). */
  picklistValues?: string[];
  /** Salesforce refuses values outside `picklistValues`. */
  restrictedPicklist?: boolean;
}

/** A field definition to create in Setup, and the describe types that satisfy it. */
interface FieldDefinition {
  text: string;
  types: readonly string[];
}

const NUMBER: readonly string[] = ['double', 'int', 'long', 'currency', 'percent'];
const TEXT: readonly string[] = ['string', 'textarea', 'picklist', 'combobox', 'email', 'phone', 'url'];

/** The conventional PQL fields (DESIGN.md; reference salesforce-api.md §11) and how to create them. */
const CONVENTIONAL: Record<string, FieldDefinition> = {
  product_user_id__c: { text: 'Text(255), External ID, Unique', types: ['string'] },
  product_account_id__c: { text: 'Text(255), External ID, Unique', types: ['string'] },
  pql_score__c: { text: 'Number(3, 0)', types: NUMBER },
  pqa_score__c: { text: 'Number(3, 0)', types: NUMBER },
  pql_tier__c: { text: 'Picklist (values: hot, pql, nurture)', types: ['picklist', 'string', 'combobox'] },
  pqa_tier__c: { text: 'Picklist (values: hot, pqa, nurture)', types: ['picklist', 'string', 'combobox'] },
  is_pql__c: { text: 'Checkbox (default unchecked)', types: ['boolean'] },
  is_pqa__c: { text: 'Checkbox (default unchecked)', types: ['boolean'] },
  pql_reasons__c: { text: 'Long Text Area(32768)', types: ['textarea', 'string'] },
  pql_qualified_at__c: { text: 'Date/Time', types: ['datetime', 'date'] },
  pqa_qualified_at__c: { text: 'Date/Time', types: ['datetime', 'date'] },
};

/** Describe types pqlsync can write from a model column. */
const WRITABLE_TYPES = new Set([
  ...NUMBER,
  ...TEXT,
  'multipicklist',
  'encryptedstring',
  'boolean',
  'date',
  'datetime',
  'time',
  'reference',
]);

/** Checks the target against the object's fields; throws DESTINATION_PREFLIGHT_FAILED listing every problem. */
export function checkTarget(target: SyncTarget, fields: readonly DescribedField[]): void {
  const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  const creates = target.mode !== 'update';
  const problems: string[] = [];
  const definition = (name: string, column?: string): string =>
    CONVENTIONAL[name.toLowerCase()]?.text ??
    (column
      ? `a custom field whose type holds model column '${column}'`
      : 'a custom field of a matching type');

  // The match field: an External ID (Salesforce matches upserts only on those).
  const match = byName.get(target.matchField.toLowerCase());
  if (!match) {
    problems.push(
      `${target.matchField} (match field) does not exist or is hidden from the integration user; create it: ${target.matchField}, Text(255), External ID, Unique`,
    );
  } else if (!match.externalId) {
    problems.push(
      `${match.name} (match field) is not an External ID; edit it and tick External ID (and Unique): ${match.name}, ${describeType(match)}, External ID, Unique`,
    );
  }

  const mapped = target.fields
    .filter((f) => f.field.toLowerCase() !== target.matchField.toLowerCase())
    .map((f) => ({
      field: f.field,
      column: f.column as string | undefined,
      values: [f.clearedValue] as Array<string | number | boolean | null>,
    }));
  for (const [field, value] of Object.entries(target.onRemove)) {
    const known = mapped.find((m) => m.field.toLowerCase() === field.toLowerCase());
    if (known) known.values.push(value);
    else mapped.push({ field, column: undefined, values: [value] });
  }

  for (const m of mapped) {
    const f = byName.get(m.field.toLowerCase());
    const usedBy = m.column ? ` (from column '${m.column}')` : ' (from on_remove)';
    if (!f) {
      problems.push(
        `${m.field}${usedBy} does not exist or is hidden from the integration user; create it: ${m.field}, ${definition(m.field, m.column)}`,
      );
      continue;
    }
    const access: string[] = [];
    if (!f.updateable) access.push('updateable');
    if (creates && !f.createable) access.push('createable');
    if (access.length > 0 || f.calculated) {
      problems.push(
        f.calculated
          ? `${f.name}${usedBy} is a formula field and cannot be written; map a plain ${describeType(f)} field instead`
          : `${f.name}${usedBy} is not ${access.join(' or ')} for the integration user; give its permission set Edit access to ${f.name} (field-level security)`,
      );
      continue;
    }
    const convention = CONVENTIONAL[f.name.toLowerCase()];
    if (!WRITABLE_TYPES.has(f.type) || (convention && !convention.types.includes(f.type))) {
      problems.push(
        `${f.name}${usedBy} is ${describeType(f)}, which cannot hold it; expected ${convention?.text ?? 'a text, number, checkbox, date or picklist field'}`,
      );
      continue;
    }
    for (const v of m.values) {
      if (!valueFits(v, f.type)) {
        problems.push(
          `${f.name} is ${describeType(f)}, but on_remove/cleared_value sets it to ${JSON.stringify(v)}`,
        );
      }
    }
  }

  if (problems.length > 0) {
    throw new PqlsyncError(
      'DESTINATION_PREFLIGHT_FAILED',
      `Salesforce ${target.object} is not ready for sync ${target.sync} (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        location: { sync: target.sync },
        hint: `create or fix these fields in Setup > Object Manager > ${target.object} > Fields & Relationships, give the integration user Edit access to them, then rerun`,
      },
    );
  }
}

function valueFits(v: string | number | boolean | null, type: string): boolean {
  if (v === null) return true;
  if (type === 'boolean') return typeof v === 'boolean';
  if (NUMBER.includes(type)) return typeof v === 'number';
  if (type === 'date' || type === 'datetime') return typeof v === 'string' && !Number.isNaN(Date.parse(v));
  return typeof v === 'string' || typeof v === 'number';
}

/** A field's type as Setup shows it: `Text(255)`, `Number(3, 0)`, `Checkbox`... */
export function describeType(f: DescribedField): string {
  switch (f.type) {
    case 'string':
      return `Text(${f.length ?? 255})`;
    case 'textarea':
      return (f.length ?? 0) > 255 ? `Long Text Area(${f.length})` : 'Text Area(255)';
    case 'double':
    case 'int':
    case 'long':
      return `Number(${f.precision ?? 18}, ${f.scale ?? 0})`;
    case 'currency':
      return `Currency(${f.precision ?? 18}, ${f.scale ?? 0})`;
    case 'percent':
      return `Percent(${f.precision ?? 18}, ${f.scale ?? 0})`;
    case 'boolean':
      return 'Checkbox';
    case 'datetime':
      return 'Date/Time';
    case 'date':
      return 'Date';
    case 'picklist':
      return 'Picklist';
    case 'multipicklist':
      return 'Picklist (Multi-Select)';
    case 'reference':
      return 'Lookup';
    case 'id':
      return 'Record ID';
    default:
      return f.type.charAt(0).toUpperCase() + f.type.slice(1);
  }
}
