/**
 * Property preflight for a HubSpot sync: every mapped property (and the match property) must exist, be
 * writable and have a type the values fit; the match property must be unique so HubSpot can upsert by it.
 * Missing properties are listed with the definitions pqlsync would create (from the config's `properties`,
 * else the PQL conventions below, else a text property).
 *
 * Glossary:
 * - definition: what `POST /crm/v3/properties/{objectType}` needs: name, label, type, fieldType, options,
 *   hasUniqueValue, groupName.
 * - convention: the usual PQL properties (`pql_score`, `pql_tier`, `product_user_id`, ...), so a config that
 *   uses those names needs no definitions.
 */
import type { SyncTarget } from '../destination.js';
import type { HubspotPropertyType, PropertyInfo } from './hubspot-values.js';

/** A property definition as written in the config (`destinations.<name>.properties.<object>.<property>`). */
export interface HubspotPropertyConfig {
  type: HubspotPropertyType;
  field_type?: string | undefined;
  label?: string | undefined;
  options?: string[] | undefined;
  unique?: boolean | undefined;
  description?: string | undefined;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: HubspotPropertyType;
  fieldType: string;
  options: string[];
  unique: boolean;
  description: string;
}

/** The PQL properties pqlsync knows how to define (hubspot-api.md §10). */
export const CONVENTIONAL_PROPERTIES: Record<string, HubspotPropertyConfig> = {
  product_user_id: { type: 'string', label: 'Product user ID', unique: true },
  product_account_id: { type: 'string', label: 'Product account ID', unique: true },
  pql_score: { type: 'number', label: 'PQL score' },
  pql_tier: { type: 'enumeration', label: 'PQL tier', options: ['hot', 'pql', 'nurture'] },
  is_pql: { type: 'bool', label: 'Is PQL' },
  pql_reasons: { type: 'string', field_type: 'textarea', label: 'PQL reasons' },
  pql_qualified_at: { type: 'date', label: 'PQL qualified at' },
  pqa_score: { type: 'number', label: 'PQA score' },
  pqa_tier: { type: 'enumeration', label: 'PQA tier', options: ['hot', 'pqa', 'nurture'] },
  is_pqa: { type: 'bool', label: 'Is PQA' },
  pqa_reasons: { type: 'string', field_type: 'textarea', label: 'PQA reasons' },
};

function defaultFieldType(type: HubspotPropertyType): string {
  switch (type) {
    case 'number':
      return 'number';
    case 'date':
    case 'datetime':
      return 'date';
    case 'enumeration':
      return 'select';
    case 'bool':
      return 'booleancheckbox';
    default:
      return 'text';
  }
}

/** `pql_qualified_at` → `PQL qualified at`. */
function labelFor(name: string): string {
  const words = name.split('_').map((w) => (['pql', 'pqa', 'id'].includes(w) ? w.toUpperCase() : w));
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The definition pqlsync would create for a property; `declared` first, then the conventions, then text. */
export function definitionFor(
  name: string,
  declared: Record<string, HubspotPropertyConfig>,
  isMatch: boolean,
): { definition: PropertyDefinition; known: boolean } {
  const spec = declared[name] ?? CONVENTIONAL_PROPERTIES[name];
  const type = spec?.type ?? 'string';
  return {
    known: spec !== undefined,
    definition: {
      name,
      label: spec?.label ?? labelFor(name),
      type,
      fieldType: spec?.field_type ?? defaultFieldType(type),
      options: spec?.options ?? [],
      unique: isMatch || spec?.unique === true,
      description: spec?.description ?? 'Written by pqlsync',
    },
  };
}

/** `pql_tier: enumeration (select) "PQL tier", options hot, pql, nurture` */
export function describeDefinition(d: PropertyDefinition): string {
  const extra = [
    ...(d.options.length > 0 ? [`options ${d.options.join(', ')}`] : []),
    ...(d.unique ? ['unique'] : []),
  ];
  return `${d.name}: ${d.type} (${d.fieldType}) "${d.label}"${extra.length > 0 ? `, ${extra.join(', ')}` : ''}`;
}

export interface PropertyCheck {
  /** Problems creating properties cannot fix (read-only, wrong type, not unique). */
  problems: string[];
  /** Properties that do not exist, with the definitions to create. */
  missing: PropertyDefinition[];
}

function compatible(expected: HubspotPropertyType, actual: string): boolean {
  if (expected === actual) return true;
  // Both take milliseconds since the epoch.
  return (expected === 'date' || expected === 'datetime') && (actual === 'date' || actual === 'datetime');
}

/** Checks a sync's properties against what the portal has. */
export function checkProperties(
  target: SyncTarget,
  existing: ReadonlyMap<string, PropertyInfo>,
  declared: Record<string, HubspotPropertyConfig>,
): PropertyCheck {
  const names = [
    ...new Set([target.matchField, ...target.fields.map((f) => f.field), ...Object.keys(target.onRemove)]),
  ];
  const problems: string[] = [];
  const missing: PropertyDefinition[] = [];
  for (const name of names) {
    const isMatch = name === target.matchField;
    const have = existing.get(name);
    const { definition, known } = definitionFor(name, declared, isMatch);
    if (!have) {
      missing.push(definition);
      continue;
    }
    if (have.readOnly) {
      problems.push(`${name} is read-only in HubSpot (${have.type}), so pqlsync cannot write it`);
    } else if (known && !compatible(definition.type, have.type)) {
      problems.push(`${name} is ${have.type} (${have.fieldType}) in HubSpot, expected ${definition.type}`);
    }
    if (isMatch && !have.hasUniqueValue && !(target.object === 'contacts' && name === 'email')) {
      const why =
        name === 'domain'
          ? 'domain is never unique in HubSpot'
          : 'it was not created with hasUniqueValue, which cannot be changed later';
      problems.push(
        `match field ${name} is not unique in HubSpot (${why}), so ${target.object} cannot be upserted by it; ` +
          `match on a unique property such as ${target.object === 'companies' ? 'product_account_id' : 'product_user_id'}`,
      );
    }
  }
  return { problems, missing };
}
