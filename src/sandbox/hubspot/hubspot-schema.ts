/**
 * What the local HubSpot portal knows before anyone writes to it: the object types it serves, HubSpot's
 * standard properties and groups for each, the association types tasks may carry, and the seeded owners.
 *
 * Glossary:
 * - object type: the path segment the client sends (`contacts`, `companies`, `tasks`); each has an object
 *   type id (`0-1`, `0-2`, `0-27`) and a singular name (`CONTACT`) that HubSpot uses in error messages.
 * - property definition: one entry of `GET /crm/v3/properties/{type}`; values are always strings on the wire.
 * - association type id: HubSpot-defined edge kind, e.g. 204 = task→contact. The reverse edge has its own id.
 */

export const OBJECT_TYPES = ['contacts', 'companies', 'deals', 'tasks'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export function isObjectType(value: string): value is ObjectType {
  return (OBJECT_TYPES as readonly string[]).includes(value);
}

/** Object type ids and singular names, as HubSpot writes them in error messages. */
export const OBJECT_TYPE_INFO: Record<ObjectType, { typeId: string; singular: string }> = {
  contacts: { typeId: '0-1', singular: 'CONTACT' },
  companies: { typeId: '0-2', singular: 'COMPANY' },
  deals: { typeId: '0-3', singular: 'DEAL' },
  tasks: { typeId: '0-27', singular: 'TASK' },
};

export const PROPERTY_TYPES = ['string', 'number', 'date', 'datetime', 'enumeration', 'bool'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

export const FIELD_TYPES = [
  'text',
  'textarea',
  'number',
  'select',
  'radio',
  'checkbox',
  'booleancheckbox',
  'date',
  'file',
  'calculation_equation',
  'phonenumber',
  'html',
] as const;

export interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

/** One property as `GET /crm/v3/properties/{type}` returns it. */
export interface PropertyDefinition {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
  description: string;
  options: PropertyOption[];
  displayOrder: number;
  hasUniqueValue: boolean;
  hidden: boolean;
  formField: boolean;
  calculated: boolean;
  externalOptions: boolean;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean };
  /** True for `hubspot_owner_id`: its allowed values are the portal's owner ids, not `options`. */
  ownerReference?: boolean;
}

export interface PropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

/** Moment the standard schema claims to have been created (fixed so exports are reproducible). */
const SCHEMA_EPOCH = '2020-01-01T00:00:00.000Z';

interface StandardProperty {
  name: string;
  label: string;
  type: PropertyType;
  fieldType?: string;
  options?: string[];
  readOnly?: boolean;
  unique?: boolean;
  ownerReference?: boolean;
}

function option(value: string, index: number): PropertyOption {
  const label = value
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())
    .join(' ');
  return { label, value, displayOrder: index, hidden: false };
}

function defaultFieldType(type: PropertyType): string {
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

/** Builds a full property definition from the short form used for standard and seeded properties. */
export function definePropertyFromSpec(spec: StandardProperty, groupName: string): PropertyDefinition {
  const readOnly = spec.readOnly === true;
  return {
    name: spec.name,
    label: spec.label,
    type: spec.type,
    fieldType: spec.fieldType ?? defaultFieldType(spec.type),
    groupName,
    description: '',
    options: (spec.options ?? (spec.type === 'bool' ? ['true', 'false'] : [])).map(option),
    displayOrder: -1,
    hasUniqueValue: spec.unique === true,
    hidden: false,
    formField: !readOnly,
    calculated: false,
    externalOptions: spec.ownerReference === true,
    createdAt: SCHEMA_EPOCH,
    updatedAt: SCHEMA_EPOCH,
    archived: false,
    modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: readOnly },
    ...(spec.ownerReference ? { ownerReference: true } : {}),
  };
}

const LIFECYCLE_STAGES = [
  'subscriber',
  'lead',
  'marketingqualifiedlead',
  'salesqualifiedlead',
  'opportunity',
  'customer',
  'evangelist',
  'other',
];

/** The default sales pipeline's stages; the last two close a deal, the first of them won. */
export const DEAL_STAGES = [
  'appointmentscheduled',
  'qualifiedtobuy',
  'presentationscheduled',
  'decisionmakerboughtin',
  'contractsent',
  'closedwon',
  'closedlost',
] as const;

/** The dates HubSpot stamps when a record first enters a lifecycle stage (read-only; hubspot-store.ts sets them). */
const LIFECYCLE_DATES: StandardProperty[] = [
  {
    name: 'hs_lifecyclestage_opportunity_date',
    label: 'Became an Opportunity Date',
    type: 'datetime',
    readOnly: true,
  },
  {
    name: 'hs_lifecyclestage_customer_date',
    label: 'Became a Customer Date',
    type: 'datetime',
    readOnly: true,
  },
];

const OWNER: StandardProperty = {
  name: 'hubspot_owner_id',
  label: 'Owner',
  type: 'enumeration',
  fieldType: 'select',
  ownerReference: true,
};

const STANDARD: Record<ObjectType, { group: PropertyGroup; properties: StandardProperty[] }> = {
  contacts: {
    group: { name: 'contactinformation', label: 'Contact information', displayOrder: -1, archived: false },
    properties: [
      // Email identifies a contact for upsert, but HubSpot does not flag it `hasUniqueValue`.
      { name: 'email', label: 'Email', type: 'string' },
      { name: 'firstname', label: 'First Name', type: 'string' },
      { name: 'lastname', label: 'Last Name', type: 'string' },
      { name: 'company', label: 'Company Name', type: 'string' },
      { name: 'jobtitle', label: 'Job Title', type: 'string' },
      { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber' },
      { name: 'website', label: 'Website URL', type: 'string' },
      { name: 'lifecyclestage', label: 'Lifecycle Stage', type: 'enumeration', options: LIFECYCLE_STAGES },
      ...LIFECYCLE_DATES,
      {
        name: 'hs_lead_status',
        label: 'Lead Status',
        type: 'enumeration',
        options: [
          'NEW',
          'OPEN',
          'IN_PROGRESS',
          'OPEN_DEAL',
          'UNQUALIFIED',
          'ATTEMPTED_TO_CONTACT',
          'CONNECTED',
          'BAD_TIMING',
        ],
      },
      OWNER,
      { name: 'hubspotscore', label: 'HubSpot Score', type: 'number', readOnly: true },
      { name: 'createdate', label: 'Create Date', type: 'datetime', readOnly: true },
      { name: 'lastmodifieddate', label: 'Last Modified Date', type: 'datetime', readOnly: true },
      { name: 'hs_object_id', label: 'Record ID', type: 'number', readOnly: true, unique: true },
    ],
  },
  companies: {
    group: { name: 'companyinformation', label: 'Company information', displayOrder: -1, archived: false },
    properties: [
      { name: 'name', label: 'Company name', type: 'string' },
      { name: 'domain', label: 'Company Domain Name', type: 'string' },
      { name: 'website', label: 'Website URL', type: 'string' },
      { name: 'industry', label: 'Industry', type: 'string' },
      { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber' },
      { name: 'city', label: 'City', type: 'string' },
      { name: 'country', label: 'Country/Region', type: 'string' },
      { name: 'numberofemployees', label: 'Number of Employees', type: 'number' },
      { name: 'annualrevenue', label: 'Annual Revenue', type: 'number' },
      { name: 'lifecyclestage', label: 'Lifecycle Stage', type: 'enumeration', options: LIFECYCLE_STAGES },
      ...LIFECYCLE_DATES,
      OWNER,
      { name: 'createdate', label: 'Create Date', type: 'datetime', readOnly: true },
      { name: 'hs_lastmodifieddate', label: 'Last Modified Date', type: 'datetime', readOnly: true },
      { name: 'hs_object_id', label: 'Record ID', type: 'number', readOnly: true, unique: true },
    ],
  },
  deals: {
    group: { name: 'dealinformation', label: 'Deal information', displayOrder: -1, archived: false },
    properties: [
      { name: 'dealname', label: 'Deal Name', type: 'string' },
      { name: 'amount', label: 'Amount', type: 'number' },
      { name: 'dealstage', label: 'Deal Stage', type: 'enumeration', options: [...DEAL_STAGES] },
      { name: 'pipeline', label: 'Pipeline', type: 'enumeration', options: ['default'] },
      { name: 'closedate', label: 'Close Date', type: 'datetime' },
      { name: 'hs_is_closed', label: 'Is Deal Closed?', type: 'bool', readOnly: true },
      { name: 'hs_is_closed_won', label: 'Is Closed Won', type: 'bool', readOnly: true },
      OWNER,
      { name: 'createdate', label: 'Create Date', type: 'datetime', readOnly: true },
      { name: 'hs_lastmodifieddate', label: 'Last Modified Date', type: 'datetime', readOnly: true },
      { name: 'hs_object_id', label: 'Record ID', type: 'number', readOnly: true, unique: true },
    ],
  },
  tasks: {
    group: { name: 'taskinformation', label: 'Task information', displayOrder: -1, archived: false },
    properties: [
      { name: 'hs_timestamp', label: 'Due date', type: 'datetime' },
      { name: 'hs_task_subject', label: 'Task Title', type: 'string' },
      { name: 'hs_task_body', label: 'Task notes', type: 'string', fieldType: 'html' },
      {
        name: 'hs_task_status',
        label: 'Task Status',
        type: 'enumeration',
        options: ['NOT_STARTED', 'IN_PROGRESS', 'WAITING', 'COMPLETED', 'DEFERRED'],
      },
      {
        name: 'hs_task_priority',
        label: 'Priority',
        type: 'enumeration',
        options: ['NONE', 'LOW', 'MEDIUM', 'HIGH'],
      },
      { name: 'hs_task_type', label: 'Task Type', type: 'enumeration', options: ['TODO', 'CALL', 'EMAIL'] },
      { name: 'hs_task_reminders', label: 'Reminder', type: 'string' },
      { name: 'hs_task_completion_date', label: 'Completed at', type: 'datetime', readOnly: true },
      OWNER,
      { name: 'hs_createdate', label: 'Create Date', type: 'datetime', readOnly: true },
      { name: 'hs_lastmodifieddate', label: 'Last Modified Date', type: 'datetime', readOnly: true },
      { name: 'hs_object_id', label: 'Record ID', type: 'number', readOnly: true, unique: true },
    ],
  },
};

export function standardProperties(type: ObjectType): PropertyDefinition[] {
  const { group, properties } = STANDARD[type];
  return properties.map((spec) => definePropertyFromSpec(spec, group.name));
}

export function standardGroups(type: ObjectType): PropertyGroup[] {
  return [{ ...STANDARD[type].group }];
}

/** Properties HubSpot sets itself on every write, per type. */
export const SYSTEM_PROPERTIES: Record<ObjectType, { created: string; modified: string }> = {
  contacts: { created: 'createdate', modified: 'lastmodifieddate' },
  companies: { created: 'createdate', modified: 'hs_lastmodifieddate' },
  deals: { created: 'createdate', modified: 'hs_lastmodifieddate' },
  tasks: { created: 'hs_createdate', modified: 'hs_lastmodifieddate' },
};

/** Properties returned by read, get and search when the request names none (HubSpot's defaults). */
export const DEFAULT_READ_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  deals: [
    'amount',
    'closedate',
    'createdate',
    'dealname',
    'dealstage',
    'hs_lastmodifieddate',
    'hs_object_id',
    'pipeline',
  ],
  tasks: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id', 'hs_task_subject', 'hs_timestamp'],
};

/** One HubSpot-defined association type: the edge from one object type to another, and its reverse. */
export interface AssociationTypeInfo {
  typeId: number;
  from: ObjectType;
  to: ObjectType;
  /** The type id of the same edge seen from the other side. */
  inverseTypeId: number;
}

/**
 * Association types the sandbox accepts inline on task writes, with their reverse ids
 * (task→contact 204 / contact→task 203, task→company 192 / company→task 191).
 */
export const ASSOCIATION_TYPES: AssociationTypeInfo[] = [
  { typeId: 204, from: 'tasks', to: 'contacts', inverseTypeId: 203 },
  { typeId: 192, from: 'tasks', to: 'companies', inverseTypeId: 191 },
  // Written by the admin rep actions only (a deal opened for a contact and its company).
  { typeId: 3, from: 'deals', to: 'contacts', inverseTypeId: 4 },
  { typeId: 341, from: 'deals', to: 'companies', inverseTypeId: 342 },
];

/** An owner as `GET /crm/v3/owners/` returns it. */
export interface Owner {
  id: string;
  email: string;
  type: 'PERSON';
  firstName: string;
  lastName: string;
  userId: number;
  userIdIncludingInactive: number;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  teams: Array<{ id: string; name: string; primary: boolean }>;
}

/** The owners a fresh portal starts with: three active sales reps and one deactivated user. */
export function seededOwners(): Owner[] {
  const people: Array<[string, string, string, boolean]> = [
    ['41629779', 'ada.lovelace@example.com', 'Ada Lovelace', false],
    ['41629780', 'grace.hopper@example.com', 'Grace Hopper', false],
    ['41629781', 'alan.turing@example.com', 'Alan Turing', false],
    ['41629782', 'former.rep@example.com', 'Former Rep', true],
  ];
  return people.map(([id, email, name, archived], index) => {
    const [firstName = '', lastName = ''] = name.split(' ');
    return {
      id,
      email,
      type: 'PERSON',
      firstName,
      lastName,
      userId: 9586504 + index,
      userIdIncludingInactive: 9586504 + index,
      createdAt: SCHEMA_EPOCH,
      updatedAt: SCHEMA_EPOCH,
      archived,
      teams: archived ? [] : [{ id: '368389', name: 'Sales', primary: true }],
    };
  });
}
