/**
 * Records of the local Salesforce and the write rules every write path shares (sObject Collections, the
 * single-record routes and Bulk API 2.0): field validation, required fields, references, the Task and converted
 * Lead rules, unique and external-id matching, and an undo log for `allOrNone` rollback.
 *
 * Glossary:
 * - SfRecord: a stored record keyed by canonical field names; datetimes as `2024-05-01T12:00:00.000+0000`.
 * - SaveError: one per-record error as it appears on the wire (`statusCode`, `message`, `fields`).
 * - WriteOutcome: `{ok: true, id, created}` or `{ok: false, errors}` for one record.
 */
import { KEY_PREFIXES, makeId, normalizeId } from './salesforce-ids.js';
import {
  CLOSED_TASK_STATUSES,
  findField,
  findObject,
  SOBJECT_NAMES,
  type FieldDef,
  type ObjectDef,
  type SObjectName,
} from './salesforce-schema.js';

export type SfRecord = Record<string, unknown> & { Id: string };

export interface SaveError {
  statusCode: string;
  message: string;
  fields: string[];
}

export type WriteOutcome =
  { ok: true; id: string; created: boolean } | { ok: false; id?: string; errors: SaveError[] };

/** A user the sandbox starts with (the owner pool); the first active one is the API's running user. */
export interface SeedUser {
  FirstName: string;
  LastName: string;
  Email: string;
  IsActive: boolean;
}

export const DEFAULT_USERS: SeedUser[] = [
  { FirstName: 'Integration', LastName: 'User', Email: 'integration@pqlsync.sandbox', IsActive: true },
  { FirstName: 'Ava', LastName: 'Patel', Email: 'ava.patel@example.com', IsActive: true },
  { FirstName: 'Ben', LastName: 'Okafor', Email: 'ben.okafor@example.com', IsActive: true },
  { FirstName: 'Chloe', LastName: 'Martin', Email: 'chloe.martin@example.com', IsActive: true },
  { FirstName: 'Dev', LastName: 'Inactive', Email: 'dev.inactive@example.com', IsActive: false },
];

export interface StoreState {
  records: Record<string, SfRecord[]>;
  counters: Record<string, number>;
}

interface UndoEntry {
  type: SObjectName;
  id: string;
  previous: SfRecord | undefined;
}

/** Salesforce's datetime wire format: `2024-05-01T12:00:00.000+0000`. */
export function formatDateTime(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

const fail = (statusCode: string, message: string, fields: string[] = []): WriteOutcome => ({
  ok: false,
  errors: [{ statusCode, message, fields }],
});

export class SalesforceStore {
  private records = new Map<SObjectName, Map<string, SfRecord>>();
  private counters: Record<string, number> = {};
  private undo: UndoEntry[] | undefined;
  /** Lower-cased values of the unique / external id fields → record ids, so upserts stay linear. */
  private indexes = new Map<string, Map<string, Set<string>>>();

  constructor(
    readonly schema: Map<SObjectName, ObjectDef>,
    private readonly now: () => Date,
    private readonly seedUsers: SeedUser[] = DEFAULT_USERS,
  ) {
    this.reset();
  }

  reset(): void {
    this.records = new Map(SOBJECT_NAMES.map((n) => [n, new Map<string, SfRecord>()]));
    this.indexes.clear();
    this.counters = {};
    this.undo = undefined;
    for (const u of this.seedUsers) {
      this.insertRaw('User', {
        Username: u.Email,
        Email: u.Email,
        FirstName: u.FirstName,
        LastName: u.LastName,
        Name: `${u.FirstName} ${u.LastName}`,
        IsActive: u.IsActive,
      });
    }
  }

  exportState(): StoreState {
    const records: Record<string, SfRecord[]> = {};
    for (const [type, map] of this.records) records[type] = [...map.values()];
    return { records, counters: { ...this.counters } };
  }

  importState(state: StoreState): void {
    this.records = new Map(SOBJECT_NAMES.map((n) => [n, new Map<string, SfRecord>()]));
    this.indexes.clear();
    for (const name of SOBJECT_NAMES) {
      for (const r of state.records[name] ?? []) this.store(name, r.Id, r);
    }
    this.counters = { ...state.counters };
  }

  /** The next id for a key prefix (deterministic per sandbox). */
  nextId(prefix: string): string {
    const n = (this.counters[prefix] ?? 0) + 1;
    this.counters[prefix] = n;
    return makeId(prefix, n);
  }

  all(type: SObjectName, includeDeleted = false): SfRecord[] {
    const list = [...(this.records.get(type)?.values() ?? [])];
    return includeDeleted ? list : list.filter((r) => r.IsDeleted !== true);
  }

  /** Finds a record by id in any object; the type comes from the id's key prefix. */
  find(id: string): { type: SObjectName; record: SfRecord } | undefined {
    const full = normalizeId(id);
    if (!full) return undefined;
    const type = SOBJECT_NAMES.find((n) => KEY_PREFIXES[n] === full.slice(0, 3));
    const record = type ? this.records.get(type)?.get(full) : undefined;
    return type && record ? { type, record } : undefined;
  }

  /** The user the API acts as: the first active seeded user. */
  runningUserId(): string {
    const user = this.all('User').find((u) => u.IsActive === true) ?? this.all('User')[0];
    return user?.Id ?? makeId(KEY_PREFIXES.User, 1);
  }

  /** Inserts a record without validation (admin seeding); unknown fields are still refused. */
  insertRaw(type: SObjectName, input: Record<string, unknown>): SfRecord {
    const def = this.def(type);
    const stamp = formatDateTime(this.now());
    const record: SfRecord = { Id: this.nextId(def.keyPrefix) };
    for (const f of def.fields) if (f.defaultValue !== undefined) record[f.name] = f.defaultValue;
    if (def.fields.some((f) => f.name === 'OwnerId') && type !== 'User')
      record.OwnerId = this.runningUserId();
    Object.assign(record, { IsDeleted: false, CreatedDate: stamp, LastModifiedDate: stamp });
    for (const [key, value] of Object.entries(input)) {
      if (key === 'attributes' || key === 'Id') continue;
      const f = findField(def, key);
      if (!f) throw new Error(`No such column '${key}' on sobject of type ${type}`);
      record[f.name] = value;
    }
    this.put(type, record);
    return record;
  }

  /** Sets fields without validation (admin actions: what Salesforce itself writes, such as a lead conversion). */
  patchRaw(type: SObjectName, id: string, values: Record<string, unknown>): SfRecord {
    const existing = this.records.get(type)?.get(id);
    if (!existing) throw new Error(`no ${type} with id ${id}`);
    const record: SfRecord = { ...existing, ...values, LastModifiedDate: formatDateTime(this.now()) };
    this.put(type, record);
    return record;
  }

  begin(): void {
    this.undo = [];
  }

  commit(): void {
    this.undo = undefined;
  }

  rollback(): void {
    const log = this.undo ?? [];
    this.undo = undefined;
    for (const entry of log.reverse()) this.store(entry.type, entry.id, entry.previous);
  }

  create(type: SObjectName, input: Record<string, unknown>): WriteOutcome {
    const def = this.def(type);
    const checked = this.validate(def, input, undefined, []);
    if ('errors' in checked) return { ok: false, errors: checked.errors };
    const stamp = formatDateTime(this.now());
    const record: SfRecord = { Id: this.nextId(def.keyPrefix) };
    for (const f of def.fields) if (f.defaultValue !== undefined) record[f.name] = f.defaultValue;
    if (def.fields.some((f) => f.name === 'OwnerId')) record.OwnerId = this.runningUserId();
    Object.assign(record, { IsDeleted: false, CreatedDate: stamp, LastModifiedDate: stamp }, checked.values);
    if (type === 'Task') record.AccountId = this.taskAccountId(record);
    this.put(type, record);
    return { ok: true, id: record.Id, created: true };
  }

  update(
    type: SObjectName,
    id: unknown,
    input: Record<string, unknown>,
    allowedKeyField?: string,
  ): WriteOutcome {
    const def = this.def(type);
    const full = normalizeId(id);
    if (!full)
      return fail('MALFORMED_ID', `${def.label} ID: id value of incorrect type: ${String(id)}`, ['Id']);
    const existing = this.records.get(type)?.get(full);
    if (!existing) return fail('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    if (existing.IsDeleted === true) return { ...fail('ENTITY_IS_DELETED', 'entity is deleted'), id: full };
    if (type === 'Lead' && existing.IsConverted === true) {
      return { ...fail('CANNOT_UPDATE_CONVERTED_LEAD', 'cannot reference converted lead'), id: full };
    }
    const checked = this.validate(def, input, existing, allowedKeyField ? [allowedKeyField] : []);
    if ('errors' in checked) return { ok: false, id: full, errors: checked.errors };
    const record: SfRecord = { ...existing, ...checked.values, LastModifiedDate: formatDateTime(this.now()) };
    if (type === 'Task') record.AccountId = this.taskAccountId(record);
    this.put(type, record);
    return { ok: true, id: full, created: false };
  }

  /** A Task's AccountId as Salesforce derives it: the Account in WhatId, else the Account of the Contact in WhoId. */
  private taskAccountId(task: SfRecord): string | null {
    const what = typeof task.WhatId === 'string' ? task.WhatId : '';
    if (what.startsWith(KEY_PREFIXES.Account)) return what;
    const who = typeof task.WhoId === 'string' ? task.WhoId : '';
    if (!who.startsWith(KEY_PREFIXES.Contact)) return null;
    const contact = this.records.get('Contact')?.get(who);
    return typeof contact?.AccountId === 'string' ? contact.AccountId : null;
  }

  /** Upsert by an external id (or idLookup) field: creates, updates, or fails with DUPLICATE_EXTERNAL_ID. */
  upsert(type: SObjectName, keyField: FieldDef, input: Record<string, unknown>): WriteOutcome {
    const keyValue = input[keyField.name];
    if (keyValue === undefined || keyValue === null || keyValue === '') {
      return fail('MISSING_ARGUMENT', `${keyField.name} not specified`, [keyField.name]);
    }
    const matches = this.matchExternalId(type, keyField, keyValue);
    if (matches.length > 1) {
      return fail(
        'DUPLICATE_EXTERNAL_ID',
        `${keyField.label}: more than one record found for external id field: [${matches.map((m) => m.Id).join(', ')}]`,
        [keyField.name],
      );
    }
    const match = matches[0];
    if (!match) return this.create(type, input);
    return this.update(type, match.Id, input, keyField.name);
  }

  /** Records whose `field` equals `value` (text compares case-insensitively, as Salesforce matches external ids). */
  matchExternalId(type: SObjectName, keyField: FieldDef, value: unknown): SfRecord[] {
    const wanted = String(value).toLowerCase();
    const index = this.indexes.get(`${type}.${keyField.name}`);
    if (index) {
      const ids = [...(index.get(wanted) ?? [])];
      return ids
        .map((id) => this.records.get(type)?.get(id))
        .filter((r): r is SfRecord => r !== undefined && r.IsDeleted !== true);
    }
    return this.all(type).filter(
      (r) =>
        r[keyField.name] !== undefined &&
        r[keyField.name] !== null &&
        String(r[keyField.name]).toLowerCase() === wanted,
    );
  }

  delete(id: unknown): WriteOutcome {
    const full = normalizeId(id);
    if (!full) return fail('MALFORMED_ID', `malformed id ${String(id)}`);
    const found = this.find(full);
    if (!found) return fail('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id');
    if (found.record.IsDeleted === true)
      return { ...fail('ENTITY_IS_DELETED', 'entity is deleted'), id: full };
    this.put(found.type, { ...found.record, IsDeleted: true, LastModifiedDate: formatDateTime(this.now()) });
    return { ok: true, id: full, created: false };
  }

  private def(type: SObjectName): ObjectDef {
    const def = findObject(this.schema, type);
    if (!def) throw new Error(`unknown sObject ${type}`);
    return def;
  }

  private put(type: SObjectName, record: SfRecord): void {
    derive(type, record, formatDateTime(this.now()));
    if (this.undo) this.undo.push({ type, id: record.Id, previous: this.records.get(type)?.get(record.Id) });
    this.store(type, record.Id, record);
  }

  /** Sets (or removes, when `record` is undefined) one record and keeps the indexes in step. */
  private store(type: SObjectName, id: string, record: SfRecord | undefined): void {
    const map = this.records.get(type);
    if (!map) return;
    const fields = this.def(type).fields.filter(
      (f) => f.name !== 'Id' && (f.unique || f.externalId || f.idLookup),
    );
    const previous = map.get(id);
    for (const f of fields) {
      let index = this.indexes.get(`${type}.${f.name}`);
      if (!index) {
        index = new Map();
        this.indexes.set(`${type}.${f.name}`, index);
      }
      const before = previous?.[f.name];
      if (before !== undefined && before !== null) index.get(String(before).toLowerCase())?.delete(id);
      const after = record?.[f.name];
      if (after !== undefined && after !== null) {
        const key = String(after).toLowerCase();
        const ids = index.get(key) ?? new Set<string>();
        ids.add(id);
        index.set(key, ids);
      }
    }
    if (record) map.set(id, record);
    else map.delete(id);
  }

  /**
   * Checks one write against the schema and the domain rules and returns the values to store (canonical
   * names, coerced types) or the first error, in the order Salesforce reports them.
   */
  private validate(
    def: ObjectDef,
    input: Record<string, unknown>,
    existing: SfRecord | undefined,
    keyFields: string[],
  ): { values: Record<string, unknown> } | { errors: SaveError[] } {
    const values: Record<string, unknown> = {};
    const readOnlyFields: string[] = [];
    for (const [key, raw] of Object.entries(input)) {
      if (key === 'attributes' || (existing && (key === 'Id' || key === 'id'))) continue;
      const f = findField(def, key);
      if (!f) return errors('INVALID_FIELD', `No such column '${key}' on sobject of type ${def.name}`);
      const allowed = existing ? f.updateable || keyFields.includes(f.name) : f.createable;
      if (!allowed) {
        readOnlyFields.push(f.name);
        continue;
      }
      const coerced = coerceValue(f, raw);
      if ('error' in coerced) return { errors: [coerced.error] };
      values[f.name] = coerced.value;
    }
    if (readOnlyFields.length > 0) {
      return errors(
        'INVALID_FIELD_FOR_INSERT_UPDATE',
        `Unable to create/update fields: ${readOnlyFields.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        readOnlyFields,
      );
    }
    const merged: Record<string, unknown> = { ...(existing ?? {}), ...values };
    const missing = def.fields
      .filter((f) => !f.nillable && f.createable && !f.defaultedOnCreate)
      .filter((f) => (existing ? f.name in values : true) && isBlank(merged[f.name]))
      .map((f) => f.name);
    if (missing.length > 0)
      return errors(
        'REQUIRED_FIELD_MISSING',
        `Required fields are missing: [${missing.join(', ')}]`,
        missing,
      );
    const refError = this.checkReferences(def, values, merged);
    if (refError) return { errors: [refError] };
    for (const f of def.fields.filter(
      (x) => x.unique && values[x.name] !== undefined && values[x.name] !== null,
    )) {
      const clash = this.matchExternalId(def.name, f, values[f.name]).find((r) => r.Id !== existing?.Id);
      if (clash) {
        return errors(
          'DUPLICATE_VALUE',
          `duplicate value found: ${f.name} duplicates value on record with id: ${clash.Id}`,
          [f.name],
        );
      }
    }
    return { values };
  }

  private checkReferences(
    def: ObjectDef,
    values: Record<string, unknown>,
    merged: Record<string, unknown>,
  ): SaveError | undefined {
    for (const f of def.fields.filter(
      (x) => x.type === 'reference' && values[x.name] !== undefined && values[x.name] !== null,
    )) {
      const full = normalizeId(values[f.name]);
      if (!full)
        return err('MALFORMED_ID', `${f.label}: id value of incorrect type: ${String(values[f.name])}`, [
          f.name,
        ]);
      values[f.name] = full;
      merged[f.name] = full;
      const target = this.find(full);
      if (!target || target.record.IsDeleted === true || !f.referenceTo.includes(target.type)) {
        return err('INVALID_CROSS_REFERENCE_KEY', `${f.label}: id value of incorrect type: ${full}`, [
          f.name,
        ]);
      }
      if (f.name === 'OwnerId' && target.record.IsActive !== true) {
        return err(
          'INVALID_CROSS_REFERENCE_KEY',
          `operation performed with inactive user [${full}] as owner of ${def.name.toLowerCase()}`,
          [],
        );
      }
    }
    if (
      def.name === 'Task' &&
      typeof merged.WhoId === 'string' &&
      merged.WhoId.startsWith(KEY_PREFIXES.Lead) &&
      !isBlank(merged.WhatId)
    ) {
      // A Task about a Lead cannot also be related to an Account or Opportunity.
      return err(
        'FIELD_INTEGRITY_EXCEPTION',
        `Related To ID: id value of incorrect type: ${String(merged.WhatId)}`,
        ['WhatId'],
      );
    }
    return undefined;
  }
}

/**
 * What Salesforce computes on every write: SystemModstamp (any change, system ones too), a Task's IsClosed and
 * CompletedDateTime from its status, an Opportunity's IsClosed and IsWon from its stage.
 */
function derive(type: SObjectName, record: SfRecord, now: string): void {
  // Salesforce keeps datetimes to the second (`.000` on the wire).
  const stamp = now.replace(/\.\d{3}/, '.000');
  record.SystemModstamp = stamp;
  if (type === 'Task') {
    const closed = (CLOSED_TASK_STATUSES as readonly unknown[]).includes(record.Status);
    record.IsClosed = closed;
    if (!closed) record.CompletedDateTime = null;
    else if (isBlank(record.CompletedDateTime)) record.CompletedDateTime = stamp;
  }
  if (type === 'Opportunity') {
    record.IsClosed = record.StageName === 'Closed Won' || record.StageName === 'Closed Lost';
    record.IsWon = record.StageName === 'Closed Won';
  }
}

function err(statusCode: string, message: string, fields: string[]): SaveError {
  return { statusCode, message, fields };
}

function errors(statusCode: string, message: string, fields: string[] = []): { errors: SaveError[] } {
  return { errors: [err(statusCode, message, fields)] };
}

function isBlank(v: unknown): boolean {
  return v === undefined || v === null || v === '';
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Converts an input value (JSON or a CSV string) to the stored value for a field, or a per-record error. */
export function coerceValue(f: FieldDef, raw: unknown): { value: unknown } | { error: SaveError } {
  if (raw === null) return { value: null };
  const wrongType = (): { error: SaveError } => ({
    error: err('INVALID_TYPE_ON_FIELD_IN_RECORD', `${f.label}: value not of required type: ${String(raw)}`, [
      f.name,
    ]),
  });
  switch (f.type) {
    case 'double': {
      const n =
        typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) return wrongType();
      const intDigits = f.precision - f.scale;
      if (f.precision > 0 && Math.abs(Math.trunc(n)) >= 10 ** intDigits) {
        return {
          error: err(
            'NUMBER_OUTSIDE_VALID_RANGE',
            `${f.label}: value outside of valid range on numeric field: ${n}`,
            [f.name],
          ),
        };
      }
      return { value: f.scale === 0 && f.precision > 0 ? Math.round(n) : n };
    }
    case 'boolean':
      if (typeof raw === 'boolean') return { value: raw };
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw))
        return { value: raw.toLowerCase() === 'true' };
      return wrongType();
    case 'date': {
      const s = typeof raw === 'string' ? raw : '';
      if (!/^\d{4}-\d{2}-\d{2}$/.test(s) || Number.isNaN(Date.parse(s))) return wrongType();
      return { value: s };
    }
    case 'datetime': {
      const t = typeof raw === 'string' ? Date.parse(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN;
      if (Number.isNaN(t)) return wrongType();
      return { value: formatDateTime(new Date(t)) };
    }
    case 'id':
    case 'reference':
      if (typeof raw !== 'string') return wrongType();
      return { value: raw === '' ? null : raw };
    default: {
      if (typeof raw === 'object') return wrongType();
      const s = String(raw);
      if (f.length > 0 && s.length > f.length) {
        return {
          error: err('STRING_TOO_LONG', `${f.label}: data value too large: ${s} (max length=${f.length})`, [
            f.name,
          ]),
        };
      }
      if (f.type === 'email' && s !== '' && !EMAIL.test(s)) {
        return { error: err('INVALID_EMAIL_ADDRESS', `${f.label}: invalid email address: ${s}`, [f.name]) };
      }
      if (f.type === 'picklist' && f.restrictedPicklist && s !== '' && !f.picklistValues.includes(s)) {
        return {
          error: err(
            'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            `${f.label}: bad value for restricted picklist field: ${s}`,
            [f.name],
          ),
        };
      }
      return { value: s };
    }
  }
}
