/**
 * The local HubSpot portal's state: records per object type, property definitions and groups, owners, and
 * association edges. Everything is plain data so it can be exported to and imported from a state file.
 *
 * Glossary:
 * - record: one CRM object; `properties` holds strings only, as HubSpot stores them.
 * - edge: one association between two records, stored once (from the side that created it) and read from
 *   both sides with the matching type id.
 */
import {
  OBJECT_TYPES,
  type ObjectType,
  type Owner,
  type PropertyDefinition,
  type PropertyGroup,
  isObjectType,
  SYSTEM_PROPERTIES,
  seededOwners,
  standardGroups,
  standardProperties,
} from './hubspot-schema.js';

export interface HubspotRecord {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface AssociationEdge {
  fromType: ObjectType;
  fromId: string;
  toType: ObjectType;
  toId: string;
  typeId: number;
}

/** The JSON form of the whole portal (`exportState`). */
export interface HubspotStateFile {
  version: 1;
  nextId: number;
  records: Record<ObjectType, HubspotRecord[]>;
  properties: Record<ObjectType, PropertyDefinition[]>;
  groups: Record<ObjectType, PropertyGroup[]>;
  owners: Owner[];
  associations: AssociationEdge[];
}

/** First record id handed out in a fresh portal; ids grow by one per created record, across all types. */
const FIRST_RECORD_ID = 100001;

function perType<T>(make: (type: ObjectType) => T): Record<ObjectType, T> {
  return {
    contacts: make('contacts'),
    companies: make('companies'),
    deals: make('deals'),
    tasks: make('tasks'),
  };
}

export class HubspotStore {
  private nextId = FIRST_RECORD_ID;
  records: Record<ObjectType, Map<string, HubspotRecord>> = perType(() => new Map());
  properties: Record<ObjectType, PropertyDefinition[]> = perType(standardProperties);
  groups: Record<ObjectType, PropertyGroup[]> = perType(standardGroups);
  owners: Owner[] = seededOwners();
  associations: AssociationEdge[] = [];
  /**
   * type → property → normalised value → id of the record that held it, or ids when several did. One string, not
   * a Set, in the usual case (a unique property, an email): a Set per value cost about 100 bytes per record.
   */
  private indexes = new Map<ObjectType, Map<string, Map<string, IndexEntry>>>();
  /**
   * Definitions by name, per type, for the list they were read from: a batch of 100 inputs looks up each of its
   * properties a few times, and the custom ones sit at the end of a list of about 70.
   */
  private byName = new Map<
    ObjectType,
    { list: PropertyDefinition[]; size: number; map: Map<string, number> }
  >();

  takeId(): string {
    return String(this.nextId++);
  }

  property(type: ObjectType, name: string): PropertyDefinition | undefined {
    const list = this.properties[type];
    let cached = this.byName.get(type);
    // Definitions are only ever appended, or the lists replaced (import): either shows here.
    if (cached?.list !== list || cached.size !== list.length) {
      const map = new Map<string, number>();
      list.forEach((p, i) => {
        if (!map.has(p.name)) map.set(p.name, i);
      });
      cached = { list, size: list.length, map };
      this.byName.set(type, cached);
    }
    const i = cached.map.get(name);
    const found = i === undefined ? undefined : list[i];
    return found?.name === name ? found : list.find((p) => p.name === name);
  }

  /** Live (not archived) record by id. */
  get(type: ObjectType, id: string): HubspotRecord | undefined {
    const record = this.records[type].get(id);
    return record && !record.archived ? record : undefined;
  }

  /**
   * Live record whose `property` equals `value` (email compares case-insensitively, as HubSpot does).
   * Looks up through an index per (type, property), built on first use and fed by `insert` and `assign`;
   * an index entry is only a candidate, checked against the record, so stale entries do no harm.
   */
  findBy(type: ObjectType, property: string, value: string): HubspotRecord | undefined {
    if (property === 'hs_object_id') return this.get(type, value);
    const wanted = normalise(property, value);
    const entry = this.indexFor(type, property).get(wanted);
    for (const id of entry === undefined ? [] : typeof entry === 'string' ? [entry] : entry) {
      const record = this.get(type, id);
      const have = record?.properties[property];
      if (record && have !== undefined && normalise(property, have) === wanted) return record;
    }
    return undefined;
  }

  /** Stores a new record. */
  insert(type: ObjectType, record: HubspotRecord): void {
    this.records[type].set(record.id, record);
    this.indexRecord(type, record);
  }

  /** Sets property values on a stored record. */
  assign(type: ObjectType, record: HubspotRecord, values: Record<string, string>): void {
    Object.assign(record.properties, lifecycleDate(type, record.properties, values), values);
    this.indexRecord(type, record);
  }

  private indexFor(type: ObjectType, property: string): Map<string, IndexEntry> {
    let ofType = this.indexes.get(type);
    if (!ofType) {
      ofType = new Map();
      this.indexes.set(type, ofType);
    }
    let index = ofType.get(property);
    if (!index) {
      index = new Map();
      ofType.set(property, index);
      for (const record of this.records[type].values()) addToIndex(index, property, record);
    }
    return index;
  }

  private indexRecord(type: ObjectType, record: HubspotRecord): void {
    for (const [property, index] of this.indexes.get(type) ?? []) addToIndex(index, property, record);
  }

  live(type: ObjectType): HubspotRecord[] {
    return [...this.records[type].values()].filter((r) => !r.archived);
  }

  /** Edges touching a record, seen from that record: the other side and the type id from this side. */
  edgesOf(
    type: ObjectType,
    id: string,
    toType: ObjectType,
    inverseOf: (typeId: number) => number,
  ): Array<{ toId: string; typeId: number }> {
    const out: Array<{ toId: string; typeId: number }> = [];
    for (const edge of this.associations) {
      if (edge.fromType === type && edge.fromId === id && edge.toType === toType) {
        out.push({ toId: edge.toId, typeId: edge.typeId });
      } else if (edge.toType === type && edge.toId === id && edge.fromType === toType) {
        out.push({ toId: edge.fromId, typeId: inverseOf(edge.typeId) });
      }
    }
    return out;
  }

  addEdge(edge: AssociationEdge): void {
    const exists = this.associations.some(
      (e) =>
        e.fromType === edge.fromType &&
        e.fromId === edge.fromId &&
        e.toType === edge.toType &&
        e.toId === edge.toId &&
        e.typeId === edge.typeId,
    );
    if (!exists) this.associations.push(edge);
  }

  export(): HubspotStateFile {
    return structuredClone({
      version: 1 as const,
      nextId: this.nextId,
      records: perType((type) => [...this.records[type].values()]),
      properties: this.properties,
      groups: this.groups,
      owners: this.owners,
      associations: this.associations,
    });
  }

  /** Replaces the state with an exported one; throws a readable Error when the file is not one. */
  import(given: unknown): void {
    const state = withDeals(given);
    if (!isStateFile(state)) {
      throw new Error(
        'HubSpot sandbox state is not valid: expected {"version":1, "nextId", "records", "properties", ' +
          '"groups", "owners", "associations"} as written by exportState()',
      );
    }
    const copy = structuredClone(state);
    this.nextId = copy.nextId;
    this.records = perType((type) => new Map(copy.records[type].map((r) => [r.id, r])));
    this.indexes.clear();
    this.properties = copy.properties;
    this.groups = copy.groups;
    this.owners = copy.owners;
    this.associations = copy.associations.filter((e) => isObjectType(e.fromType) && isObjectType(e.toType));
  }
}

/** A state file written before the sandbox had deals: deals start empty, with their standard properties. */
function withDeals(state: unknown): unknown {
  if (typeof state !== 'object' || state === null) return state;
  const v = { ...(state as Record<string, unknown>) };
  const fill = (key: string, make: () => unknown[]): void => {
    const field = v[key];
    if (typeof field === 'object' && field !== null && !('deals' in field))
      v[key] = { ...field, deals: make() };
  };
  fill('records', () => []);
  fill('properties', () => standardProperties('deals'));
  fill('groups', () => standardGroups('deals'));
  return v;
}

function normalise(property: string, value: string): string {
  return property === 'email' ? value.toLowerCase() : value;
}

/** The id of the one record that held a value, or the ids of all that did. */
type IndexEntry = string | string[];

function addToIndex(index: Map<string, IndexEntry>, property: string, record: HubspotRecord): void {
  const value = record.properties[property];
  if (value === undefined || value === '') return;
  const key = normalise(property, value);
  const ids = index.get(key);
  if (ids === undefined) index.set(key, record.id);
  else if (typeof ids === 'string') {
    if (ids !== record.id) index.set(key, [ids, record.id]);
  } else if (!ids.includes(record.id)) ids.push(record.id);
}

function isStateFile(value: unknown): value is HubspotStateFile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const perTypeArrays = (key: string): boolean => {
    const field = v[key];
    if (typeof field !== 'object' || field === null) return false;
    return OBJECT_TYPES.every((t) => Array.isArray((field as Record<string, unknown>)[t]));
  };
  return (
    v.version === 1 &&
    typeof v.nextId === 'number' &&
    perTypeArrays('records') &&
    perTypeArrays('properties') &&
    perTypeArrays('groups') &&
    Array.isArray(v.owners) &&
    Array.isArray(v.associations)
  );
}

/** The stages whose dates the sandbox keeps (HubSpot keeps one per stage; the read-back needs these two). */
const STAGES_DATED: ReadonlySet<string> = new Set(['opportunity', 'customer']);

/**
 * The date property HubSpot stamps the first time a contact or company enters a lifecycle stage
 * (`hs_lifecyclestage_{stage}_date`, e.g. "Became an Opportunity Date"), when `values` move it into a stage whose
 * date is still empty: the write's modification time, unless `values` set the date themselves.
 */
export function lifecycleDate(
  type: ObjectType,
  current: Readonly<Record<string, string | null | undefined>>,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const stage = values.lifecyclestage;
  if ((type !== 'contacts' && type !== 'companies') || !STAGES_DATED.has(stage ?? '')) return {};
  if (!stage || stage === current.lifecyclestage) return {};
  const name = `hs_lifecyclestage_${stage}_date`;
  const at = values[SYSTEM_PROPERTIES[type].modified];
  return current[name] || values[name] !== undefined || !at ? {} : { [name]: at };
}
