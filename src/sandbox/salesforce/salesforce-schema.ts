/**
 * The sandbox's Salesforce schema registry: which sObjects exist, their fields with the describe metadata
 * jsforce and pqlsync's preflight read, and the conventional PQL custom fields it starts with.
 *
 * Glossary:
 * - FieldDef: one field as `GET /sobjects/{T}/describe` reports it (type, createable, updateable, externalId...).
 * - required on create: not nillable, createable and not defaulted on create (Lead LastName + Company, ...).
 * - CustomFieldSpec: how a test or the CLI configures custom fields (a smaller shape than FieldDef).
 */
import { KEY_PREFIXES } from './salesforce-ids.js';

export const SOBJECT_NAMES = ['Lead', 'Contact', 'Account', 'Opportunity', 'Task', 'User'] as const;
export type SObjectName = (typeof SOBJECT_NAMES)[number];

export const FIELD_TYPES = [
  'id',
  'reference',
  'string',
  'email',
  'textarea',
  'combobox',
  'picklist',
  'double',
  'boolean',
  'date',
  'datetime',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  custom: boolean;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  defaultedOnCreate: boolean;
  externalId: boolean;
  idLookup: boolean;
  unique: boolean;
  length: number;
  precision: number;
  scale: number;
  picklistValues: string[];
  restrictedPicklist: boolean;
  defaultValue?: string | boolean;
  referenceTo: string[];
  relationshipName: string | null;
}

export interface ObjectDef {
  name: SObjectName;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  fields: FieldDef[];
}

/** A custom field as configured through `SalesforceSandboxOptions.customFields`. */
export interface CustomFieldSpec {
  /** API name, ending in `__c`. */
  name: string;
  type: 'string' | 'textarea' | 'picklist' | 'double' | 'boolean' | 'date' | 'datetime';
  label?: string;
  /** Maximum characters for text fields. (Default: 255, textarea 32,768) */
  length?: number;
  /** Digits for numbers. (Default: 18) */
  precision?: number;
  scale?: number;
  externalId?: boolean;
  unique?: boolean;
  picklistValues?: string[];
  /** Reject values outside `picklistValues`. (Default: true for picklists) */
  restrictedPicklist?: boolean;
  updateable?: boolean;
}

type FieldInit = Partial<FieldDef> & Pick<FieldDef, 'name' | 'type'>;

function field(init: FieldInit): FieldDef {
  const isText = ['string', 'email', 'textarea', 'combobox', 'picklist'].includes(init.type);
  return {
    label: init.name.replace(/__c$/, '').replace(/_/g, ' ').replace(/Id$/, ' ID'),
    custom: init.name.endsWith('__c'),
    createable: true,
    updateable: true,
    nillable: true,
    defaultedOnCreate: false,
    externalId: false,
    idLookup: false,
    unique: false,
    length: isText ? 255 : 0,
    precision: 0,
    scale: 0,
    picklistValues: [],
    restrictedPicklist: false,
    referenceTo: [],
    relationshipName: null,
    ...init,
  };
}

const readOnly = { createable: false, updateable: false } as const;

/** `AccountId`: the reference to an Account (Contact; derived and read-only on Task). */
function accountIdField(extra: Partial<FieldInit> = {}): FieldDef {
  return field({
    name: 'AccountId',
    label: 'Account ID',
    type: 'reference',
    referenceTo: ['Account'],
    relationshipName: 'Account',
    length: 18,
    ...extra,
  });
}
/** A default org's opportunity stages; the last two are closed (OpportunityStage.IsClosed), the first of them won. */
export const OPPORTUNITY_STAGES = [
  'Prospecting',
  'Qualification',
  'Needs Analysis',
  'Proposal/Price Quote',
  'Negotiation/Review',
  'Closed Won',
  'Closed Lost',
] as const;
/** Task statuses that close a task in a default org (TaskStatus.IsClosed). */
export const CLOSED_TASK_STATUSES = ['Completed'] as const;

function systemFields(): FieldDef[] {
  return [
    field({
      name: 'Id',
      label: 'Record ID',
      type: 'id',
      ...readOnly,
      nillable: false,
      idLookup: true,
      length: 18,
    }),
    field({
      name: 'IsDeleted',
      label: 'Deleted',
      type: 'boolean',
      ...readOnly,
      nillable: false,
      defaultedOnCreate: true,
    }),
    field({
      name: 'CreatedDate',
      label: 'Created Date',
      type: 'datetime',
      ...readOnly,
      nillable: false,
      defaultedOnCreate: true,
    }),
    field({
      name: 'LastModifiedDate',
      label: 'Last Modified Date',
      type: 'datetime',
      ...readOnly,
      nillable: false,
      defaultedOnCreate: true,
    }),
    // Changed by any write, including system ones; the field incremental readers filter on.
    field({
      name: 'SystemModstamp',
      label: 'System Modstamp',
      type: 'datetime',
      ...readOnly,
      nillable: false,
      defaultedOnCreate: true,
    }),
  ];
}

/** A read-only checkbox Salesforce computes (IsClosed, IsWon), false until it says otherwise. */
function derivedFlag(name: string, label: string): FieldDef {
  return field({
    name,
    label,
    type: 'boolean',
    ...readOnly,
    nillable: false,
    defaultedOnCreate: true,
    defaultValue: false,
  });
}

function owner(): FieldDef {
  return field({
    name: 'OwnerId',
    label: 'Owner ID',
    type: 'reference',
    nillable: false,
    defaultedOnCreate: true,
    referenceTo: ['User'],
    relationshipName: 'Owner',
    length: 18,
  });
}

/** The conventional PQL custom fields the sandbox starts with (DESIGN.md, "Demo and sandbox contract"). */
export const DEFAULT_CUSTOM_FIELDS: Record<SObjectName, CustomFieldSpec[]> = {
  Lead: pqlPersonFields(),
  Contact: pqlPersonFields(),
  Account: [
    {
      name: 'Product_Account_Id__c',
      type: 'string',
      label: 'Product Account Id',
      externalId: true,
      unique: true,
    },
    { name: 'PQA_Score__c', type: 'double', label: 'PQA Score', precision: 3, scale: 0 },
    { name: 'PQA_Tier__c', type: 'picklist', label: 'PQA Tier', picklistValues: ['hot', 'pqa', 'nurture'] },
  ],
  Opportunity: [],
  Task: [{ name: 'PQLSync_Key__c', type: 'string', label: 'PQLSync Key', externalId: true, unique: true }],
  User: [],
};

function pqlPersonFields(): CustomFieldSpec[] {
  return [
    { name: 'Product_User_Id__c', type: 'string', label: 'Product User Id', externalId: true, unique: true },
    { name: 'PQL_Score__c', type: 'double', label: 'PQL Score', precision: 3, scale: 0 },
    { name: 'PQL_Tier__c', type: 'picklist', label: 'PQL Tier', picklistValues: ['hot', 'pql', 'nurture'] },
    { name: 'Is_PQL__c', type: 'boolean', label: 'Is PQL' },
    { name: 'PQL_Reasons__c', type: 'textarea', label: 'PQL Reasons', length: 32_768 },
    { name: 'PQL_Qualified_At__c', type: 'datetime', label: 'PQL Qualified At' },
    // The route per-account routing gives a user without a rep task (the demo's self-serve rule sets it).
    { name: 'PQL_Route__c', type: 'string', label: 'PQL Route', length: 40 },
  ];
}

function customField(spec: CustomFieldSpec): FieldDef {
  const picklist = spec.type === 'picklist';
  return field({
    name: spec.name,
    type: spec.type,
    ...(spec.label ? { label: spec.label } : {}),
    length:
      spec.type === 'textarea'
        ? (spec.length ?? 32_768)
        : ['string', 'picklist'].includes(spec.type)
          ? (spec.length ?? 255)
          : 0,
    precision: spec.type === 'double' ? (spec.precision ?? 18) : 0,
    scale: spec.type === 'double' ? (spec.scale ?? 0) : 0,
    externalId: spec.externalId === true,
    idLookup: spec.externalId === true,
    unique: spec.unique === true,
    updateable: spec.updateable ?? true,
    picklistValues: spec.picklistValues ?? [],
    restrictedPicklist: picklist && spec.restrictedPicklist !== false,
    nillable: spec.type !== 'boolean',
    defaultedOnCreate: spec.type === 'boolean',
    ...(spec.type === 'boolean' ? { defaultValue: false } : {}),
  });
}

function standardFields(name: SObjectName): FieldDef[] {
  switch (name) {
    case 'Lead':
      return [
        field({ name: 'FirstName', label: 'First Name', type: 'string', length: 40 }),
        field({ name: 'LastName', label: 'Last Name', type: 'string', length: 80, nillable: false }),
        field({ name: 'Company', type: 'string', nillable: false }),
        field({ name: 'Email', type: 'email', length: 80, idLookup: true }),
        field({ name: 'Title', type: 'string', length: 128 }),
        field({
          name: 'Status',
          type: 'picklist',
          nillable: false,
          defaultedOnCreate: true,
          defaultValue: 'Open - Not Contacted',
          restrictedPicklist: true,
          picklistValues: [
            'Open - Not Contacted',
            'Working - Contacted',
            'Closed - Converted',
            'Closed - Not Converted',
          ],
        }),
        owner(),
        field({
          name: 'IsConverted',
          label: 'Converted',
          type: 'boolean',
          ...readOnly,
          nillable: false,
          defaultedOnCreate: true,
          defaultValue: false,
        }),
        field({
          name: 'ConvertedContactId',
          label: 'Converted Contact ID',
          type: 'reference',
          ...readOnly,
          referenceTo: ['Contact'],
          relationshipName: 'ConvertedContact',
          length: 18,
        }),
        field({
          name: 'ConvertedAccountId',
          label: 'Converted Account ID',
          type: 'reference',
          ...readOnly,
          referenceTo: ['Account'],
          relationshipName: 'ConvertedAccount',
          length: 18,
        }),
        field({
          name: 'ConvertedOpportunityId',
          label: 'Converted Opportunity ID',
          type: 'reference',
          ...readOnly,
          referenceTo: ['Opportunity'],
          relationshipName: 'ConvertedOpportunity',
          length: 18,
        }),
        field({ name: 'ConvertedDate', label: 'Converted Date', type: 'date', ...readOnly }),
      ];
    case 'Contact':
      return [
        field({ name: 'FirstName', label: 'First Name', type: 'string', length: 40 }),
        field({ name: 'LastName', label: 'Last Name', type: 'string', length: 80, nillable: false }),
        field({ name: 'Email', type: 'email', length: 80, idLookup: true }),
        field({ name: 'Title', type: 'string', length: 128 }),
        accountIdField(),
        owner(),
      ];
    case 'Account':
      return [
        field({ name: 'Name', label: 'Account Name', type: 'string', nillable: false, idLookup: true }),
        field({ name: 'Website', type: 'string' }),
        owner(),
      ];
    case 'Opportunity':
      return [
        field({ name: 'Name', type: 'string', length: 120, nillable: false }),
        field({
          name: 'AccountId',
          label: 'Account ID',
          type: 'reference',
          referenceTo: ['Account'],
          relationshipName: 'Account',
          length: 18,
        }),
        field({
          name: 'StageName',
          label: 'Stage',
          type: 'picklist',
          nillable: false,
          picklistValues: [...OPPORTUNITY_STAGES],
        }),
        field({ name: 'Amount', type: 'double', precision: 18, scale: 2 }),
        field({ name: 'CloseDate', label: 'Close Date', type: 'date', nillable: false }),
        // Derived from the stage (OpportunityStage.IsClosed / IsWon), never written.
        derivedFlag('IsClosed', 'Closed'),
        derivedFlag('IsWon', 'Won'),
        owner(),
      ];
    case 'Task':
      return [
        field({
          name: 'WhoId',
          label: 'Name ID',
          type: 'reference',
          referenceTo: ['Lead', 'Contact'],
          relationshipName: 'Who',
          length: 18,
        }),
        field({
          name: 'WhatId',
          label: 'Related To ID',
          type: 'reference',
          referenceTo: ['Account', 'Opportunity'],
          relationshipName: 'What',
          length: 18,
        }),
        // Read-only: Salesforce derives it from WhatId (an Account) or from the Contact in WhoId.
        accountIdField(readOnly),
        owner(),
        field({ name: 'Subject', type: 'combobox' }),
        field({ name: 'Description', type: 'textarea', length: 32_000 }),
        field({ name: 'ActivityDate', label: 'Due Date Only', type: 'date' }),
        field({ name: 'ReminderDateTime', label: 'Reminder Date/Time', type: 'datetime' }),
        field({
          name: 'IsReminderSet',
          label: 'Reminder Set',
          type: 'boolean',
          nillable: false,
          defaultedOnCreate: true,
          defaultValue: false,
        }),
        field({
          name: 'Priority',
          type: 'picklist',
          nillable: false,
          defaultedOnCreate: true,
          defaultValue: 'Normal',
          picklistValues: ['High', 'Normal', 'Low'],
        }),
        field({
          name: 'Status',
          type: 'picklist',
          nillable: false,
          defaultedOnCreate: true,
          defaultValue: 'Not Started',
          picklistValues: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'],
        }),
        // Derived from Status (TaskStatus.IsClosed: Completed in a default org), never written.
        derivedFlag('IsClosed', 'Closed'),
        field({ name: 'CompletedDateTime', label: 'Completed Date/Time', type: 'datetime', ...readOnly }),
        field({ name: 'CallDisposition', label: 'Call Result', type: 'string' }),
      ];
    case 'User':
      return [
        field({ name: 'Username', type: 'string', length: 80, ...readOnly, nillable: false, unique: true }),
        field({ name: 'Email', type: 'email', length: 128, ...readOnly, nillable: false }),
        field({ name: 'FirstName', label: 'First Name', type: 'string', length: 40, ...readOnly }),
        field({
          name: 'LastName',
          label: 'Last Name',
          type: 'string',
          length: 80,
          ...readOnly,
          nillable: false,
        }),
        field({ name: 'Name', label: 'Full Name', type: 'string', length: 121, ...readOnly }),
        field({
          name: 'IsActive',
          label: 'Active',
          type: 'boolean',
          ...readOnly,
          nillable: false,
          defaultedOnCreate: true,
          defaultValue: true,
        }),
      ];
  }
}

const LABELS: Record<SObjectName, [string, string]> = {
  Lead: ['Lead', 'Leads'],
  Contact: ['Contact', 'Contacts'],
  Account: ['Account', 'Accounts'],
  Opportunity: ['Opportunity', 'Opportunities'],
  Task: ['Task', 'Tasks'],
  User: ['User', 'Users'],
};

/** Builds the schema: standard fields plus `customFields` per object (DEFAULT_CUSTOM_FIELDS where not given). */
export function buildSchema(
  customFields: Partial<Record<SObjectName, CustomFieldSpec[]>> = {},
): Map<SObjectName, ObjectDef> {
  const schema = new Map<SObjectName, ObjectDef>();
  for (const name of SOBJECT_NAMES) {
    const custom = customFields[name] ?? DEFAULT_CUSTOM_FIELDS[name];
    const [label, labelPlural] = LABELS[name];
    schema.set(name, {
      name,
      label,
      labelPlural,
      keyPrefix: KEY_PREFIXES[name],
      fields: [...systemFields(), ...standardFields(name), ...custom.map(customField)],
    });
  }
  return schema;
}

/** Finds an object by name, case-insensitively as Salesforce does. */
export function findObject(schema: Map<SObjectName, ObjectDef>, name: string): ObjectDef | undefined {
  const lower = name.toLowerCase();
  for (const def of schema.values()) if (def.name.toLowerCase() === lower) return def;
  return undefined;
}

/** Finds a field by name, case-insensitively. */
export function findField(def: ObjectDef, name: string): FieldDef | undefined {
  const lower = name.toLowerCase();
  return def.fields.find((f) => f.name.toLowerCase() === lower);
}

/** The describe JSON for one field. */
export function describeField(f: FieldDef): Record<string, unknown> {
  return {
    name: f.name,
    label: f.label,
    type: f.type,
    soapType: soapType(f.type),
    custom: f.custom,
    createable: f.createable,
    updateable: f.updateable,
    nillable: f.nillable,
    defaultedOnCreate: f.defaultedOnCreate,
    defaultValue: f.defaultValue ?? null,
    externalId: f.externalId,
    idLookup: f.idLookup,
    unique: f.unique,
    length: f.length,
    precision: f.precision,
    scale: f.scale,
    filterable: true,
    sortable: f.type !== 'textarea',
    calculated: false,
    picklistValues: f.picklistValues.map((value, i) => ({
      active: true,
      defaultValue: f.defaultValue === value || (f.defaultValue === undefined && i < 0),
      label: value,
      validFor: null,
      value,
    })),
    restrictedPicklist: f.restrictedPicklist,
    referenceTo: f.referenceTo,
    relationshipName: f.relationshipName,
  };
}

function soapType(type: FieldType): string {
  switch (type) {
    case 'id':
    case 'reference':
      return 'tns:ID';
    case 'double':
      return 'xsd:double';
    case 'boolean':
      return 'xsd:boolean';
    case 'date':
      return 'xsd:date';
    case 'datetime':
      return 'xsd:dateTime';
    default:
      return 'xsd:string';
  }
}
