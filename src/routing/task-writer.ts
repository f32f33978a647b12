/**
 * The boundary between routing and a CRM's tasks and owners. A destination type that can hold tasks
 * (Salesforce, HubSpot) has a TaskWriter next to its destination (`salesforce-tasks.ts`, `hubspot-tasks.ts`).
 *
 * Glossary:
 * - owner: a CRM user who can own records and tasks (Salesforce User `005…`, HubSpot owner id); inactive
 *   (deactivated, archived) owners are never assigned.
 * - routed record: the CRM record a sync wrote, found by its match value: its id, owner and account.
 * - account: the record's company (Salesforce Account, HubSpot company), found by `routing.account`.
 * - task key: `pqlsync:<object>:<match value>:<tier>:<transition date>`, stored on the task (Salesforce
 *   `PQLSync_Key__c`, HubSpot `pqlsync_task_key`, both unique), so sending a task twice never makes two.
 *
 * Leaf methods throw PqlsyncErrors for whole-request failures (the runner fails the run; the next run resends
 * the same task keys); `writeTasks` returns one outcome per task for record-level refusals.
 */
import type { SyncTarget } from '../destination/destination.js';
import type { TaskPriority } from '../config/config-schema.js';

export interface CrmOwner {
  id: string;
  email: string;
  name: string;
  active: boolean;
}

export interface RoutedRecord {
  /** CRM id of the record (Lead/Contact/Account, contact/company). */
  id: string;
  ownerId: string | null;
  /** The Salesforce object the id belongs to (Lead, Contact, Account), or the HubSpot object type. */
  object: string;
}

export interface AccountRecord {
  id: string;
  ownerId: string | null;
}

/** One task to create, vendor-neutral. */
export interface TaskSpec {
  taskKey: string;
  /** The model key of the entity the task is about. */
  entityKey: string;
  subject: string;
  body: string;
  /** The assignee; null leaves it to the CRM (Salesforce: the integration user; HubSpot: unassigned). */
  ownerId: string | null;
  dueAt: Date;
  /** `YYYY-MM-DD` of the due time in the sync's time zone (Salesforce ActivityDate). */
  dueDate: string;
  reminderAt: Date;
  priority: TaskPriority;
  /** The record the task is about. */
  record: RoutedRecord;
  /** The record's account, when known (Salesforce WhatId for Contacts/Accounts, HubSpot company association). */
  account?: AccountRecord;
  /**
   * `account`: the task is the account's (per-account routing): linked to the account first (Salesforce WhatId even
   * when the person is a Lead, which then is named in the text only; HubSpot company and contact). (Default: record)
   */
  about?: 'record' | 'account';
}

export type TaskOutcome =
  | { taskKey: string; status: 'created'; taskId: string; existed: boolean }
  | { taskKey: string; status: 'failed'; reason: string };

export interface OwnerChange {
  recordId: string;
  ownerId: string;
}

/** Field values to write on one record (a routing rule's `set`). */
export interface FieldChange {
  recordId: string;
  fields: Record<string, string | number | boolean | null>;
}

export interface TaskWriter {
  /** Every owner the CRM knows, active or not. */
  listOwners(): Promise<CrmOwner[]>;
  /** Records of `target.object` by match value (as given, case kept), with their owners. */
  findRecords(target: SyncTarget, matchValues: readonly string[]): Promise<Map<string, RoutedRecord>>;
  /** Accounts by the value of their external-id `field`. */
  findAccounts(field: string, values: readonly string[]): Promise<Map<string, AccountRecord>>;
  /** The CRM object of accounts (Salesforce `Account`, HubSpot `companies`): account task keys name it. */
  readonly accountObject: string;
  /** Writes field values on records of `target.object`; returns failures by record id (reason). */
  updateRecords(target: SyncTarget, changes: readonly FieldChange[]): Promise<Map<string, string>>;
  /** Makes `ownerId` the owner of each record; returns failures by record id (reason). */
  setOwners(target: SyncTarget, changes: readonly OwnerChange[]): Promise<Map<string, string>>;
  /** Creates tasks idempotently by task key; an existing task with the key counts as created. */
  writeTasks(tasks: readonly TaskSpec[]): Promise<TaskOutcome[]>;
  apiCalls(): number;
  close(): Promise<void>;
}
