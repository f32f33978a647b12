/**
 * Routing's Salesforce side: owners are active Users, records are found by the sync's External ID, and Tasks are
 * UPSERTED on the External ID `PQLSync_Key__c` (Task creation is not idempotent; an upsert by a unique key is),
 * so a task sent twice (a rerun after a crash between creation and commit) updates the one task.
 *
 * Task fields: WhoId = the Lead or Contact; WhatId = the Account (only when WhoId is not a Lead: Salesforce
 * refuses a Lead task related to an Account, so an account's task about Leads has the WhatId and no WhoId); OwnerId; ActivityDate (due date); ReminderDateTime with
 * IsReminderSet; Priority High/Normal/Low; Subject; Description. Status is left to its default on creation and
 * never sent, so a rerun does not reopen a task a rep already completed.
 */
import type { Connection, QueryResult } from 'jsforce';
import pRetry, { AbortError } from 'p-retry';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type {
  AccountRecord,
  CrmOwner,
  FieldChange,
  OwnerChange,
  RoutedRecord,
  TaskOutcome,
  TaskSpec,
  TaskWriter,
} from '../../routing/task-writer.js';
import type { SyncTarget } from '../destination.js';
import {
  createSession,
  type SalesforceDestinationConfig,
  type SalesforceLogin,
  type SalesforceSession,
} from './salesforce-connection.js';
import { describeRecordErrors, requestError, type RecordError } from './salesforce-errors.js';
import { soqlString } from './salesforce-values.js';

/** The unique External ID field on Task (Activity) that holds pqlsync's task key. */
export const TASK_KEY_FIELD = 'PQLSync_Key__c';
/** sObject Collections accept at most 200 records per call. */
const COLLECTION_SIZE = 200;
/** Values per SOQL `IN (...)`: the query travels in the URL. */
const SOQL_IN_CHUNK = 200;
const PRIORITY = { high: 'High', normal: 'Normal', low: 'Low' } as const;

export interface SalesforceTaskWriterOptions {
  name: string;
  config: SalesforceDestinationConfig;
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  /** The run's login of this destination, shared with the destination. (Default: one of its own) */
  login?: SalesforceLogin;
  /** Backoff of transient request failures. (Default: 3 attempts from 500 ms) */
  retry?: { attempts: number; minDelayMs: number };
}

export class SalesforceTaskWriter implements TaskWriter {
  private readonly session: SalesforceSession;
  private readonly conn: Connection;

  constructor(private readonly options: SalesforceTaskWriterOptions) {
    // createSession reads only the name, config, project directory, env and login of these options.
    this.session = createSession(options);
    this.conn = this.session.conn;
  }

  async listOwners(): Promise<CrmOwner[]> {
    const rows = await this.queryAll('SELECT Id, Email, Name, IsActive FROM User');
    return rows.map((r) => ({
      id: String(r.Id),
      email: String(r.Email ?? ''),
      name: String(r.Name ?? r.Email ?? r.Id),
      active: r.IsActive === true,
    }));
  }

  async findRecords(target: SyncTarget, matchValues: readonly string[]): Promise<Map<string, RoutedRecord>> {
    const found = await this.byField(target.object, target.matchField, matchValues, ['Id', 'OwnerId']);
    const out = new Map<string, RoutedRecord>();
    for (const v of matchValues) {
      const r = found.get(v.toLowerCase());
      if (r) out.set(v, { id: String(r.Id), ownerId: text(r.OwnerId), object: target.object });
    }
    return out;
  }

  async findAccounts(field: string, values: readonly string[]): Promise<Map<string, AccountRecord>> {
    const found = await this.byField('Account', field, values, ['Id', 'OwnerId']);
    const out = new Map<string, AccountRecord>();
    for (const v of values) {
      const r = found.get(v.toLowerCase());
      if (r) out.set(v, { id: String(r.Id), ownerId: text(r.OwnerId) });
    }
    return out;
  }

  readonly accountObject = 'Account';

  async setOwners(target: SyncTarget, changes: readonly OwnerChange[]): Promise<Map<string, string>> {
    return this.updateRecords(
      target,
      changes.map((c) => ({ recordId: c.recordId, fields: { OwnerId: c.ownerId } })),
    );
  }

  async updateRecords(target: SyncTarget, changes: readonly FieldChange[]): Promise<Map<string, string>> {
    const failures = new Map<string, string>();
    for (let i = 0; i < changes.length; i += COLLECTION_SIZE) {
      const part = changes.slice(i, i + COLLECTION_SIZE);
      const results = await this.call(target.sync, () =>
        this.conn.sobject(target.object).update(
          part.map((c) => ({ ...c.fields, Id: c.recordId })),
          { allOrNone: false, headers: { 'Sforce-Auto-Assign': 'FALSE' } },
        ),
      );
      results.forEach((r, j) => {
        const c = part[j];
        if (c && !r.success) failures.set(c.recordId, describeRecordErrors(r.errors as RecordError[]));
      });
    }
    return failures;
  }

  async writeTasks(tasks: readonly TaskSpec[]): Promise<TaskOutcome[]> {
    const outcomes: TaskOutcome[] = [];
    for (let i = 0; i < tasks.length; i += COLLECTION_SIZE) {
      const part = tasks.slice(i, i + COLLECTION_SIZE);
      const results = await this.call(undefined, () =>
        this.conn.sobject('Task').upsert(part.map(taskRecord), TASK_KEY_FIELD, { allOrNone: false }),
      );
      results.forEach((r, j) => {
        const t = part[j];
        if (!t) return;
        outcomes.push(
          r.success
            ? { taskKey: t.taskKey, status: 'created', taskId: String(r.id), existed: r.created !== true }
            : {
                taskKey: t.taskKey,
                status: 'failed',
                reason: describeRecordErrors(r.errors as RecordError[]),
              },
        );
      });
    }
    return outcomes;
  }

  apiCalls(): number {
    return this.session.requests();
  }

  async close(): Promise<void> {}

  /** Records of `object` whose `field` is one of `values`, by lower-cased value (Salesforce ignores case). */
  private async byField(
    object: string,
    field: string,
    values: readonly string[],
    columns: string[],
  ): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    const unique = [...new Set(values.filter((v) => v !== ''))];
    for (let i = 0; i < unique.length; i += SOQL_IN_CHUNK) {
      const chunk = unique.slice(i, i + SOQL_IN_CHUNK);
      const rows = await this.queryAll(
        `SELECT ${[...columns, field].join(', ')} FROM ${object} WHERE ${field} IN (${chunk.map(soqlString).join(', ')})`,
      );
      for (const r of rows) out.set(String(r[field] ?? '').toLowerCase(), r);
    }
    return out;
  }

  private async queryAll(soql: string): Promise<Array<Record<string, unknown>>> {
    const rows: Array<Record<string, unknown>> = [];
    let page: QueryResult<Record<string, unknown>> = await this.call(undefined, async () =>
      this.conn.query<Record<string, unknown>>(soql),
    );
    // Bounded: a page holds up to 2,000 records; 1,000 pages is far beyond any owner list or lookup chunk.
    for (let pages = 0; pages < 1000; pages++) {
      rows.push(...page.records);
      const next = page.nextRecordsUrl;
      if (page.done || !next) break;
      page = await this.call(undefined, async () => this.conn.queryMore<Record<string, unknown>>(next));
    }
    return rows;
  }

  /** First token when needed, Salesforce errors as PqlsyncErrors, transient ones retried with backoff. */
  private async call<T>(sync: string | undefined, fn: () => Promise<T>): Promise<T> {
    const retry = this.options.retry ?? { attempts: 3, minDelayMs: 500 };
    const ctx = {
      destination: this.options.name,
      ...(sync ? { sync } : {}),
      authType: this.options.config.auth.type,
      instanceUrl: this.options.config.instance_url,
      timeoutMs: this.options.config.request_timeout_ms,
    };
    return pRetry(
      async () => {
        try {
          await this.session.ensureToken();
          const result = await fn();
          this.session.succeeded();
          return result;
        } catch (err) {
          const e = requestError(err, ctx);
          if (e.kind !== 'transient') throw new AbortError(e);
          throw e;
        }
      },
      { retries: retry.attempts - 1, minTimeout: retry.minDelayMs, factor: 2, randomize: true },
    ).catch((err: unknown) => {
      throw err instanceof PqlsyncError ? err : requestError(err, ctx);
    });
  }
}

/** The Task record for a task spec (the upsert's key field included). */
export function taskRecord(t: TaskSpec): Record<string, unknown> {
  const who = t.record.object.toLowerCase();
  // An account's task is related to the Account; its Lead is then left out of WhoId (Salesforce refuses a Lead
  // WhoId with a WhatId) and named in the text.
  const accountTask = t.about === 'account' && t.account !== undefined;
  const isPerson = who === 'contact' || (who === 'lead' && !accountTask);
  // WhatId: the Account; never with a Lead WhoId (Salesforce refuses it); the record itself when it is an Account.
  const whatId =
    who === 'account' ? t.record.id : who === 'contact' || accountTask ? t.account?.id : undefined;
  return {
    [TASK_KEY_FIELD]: t.taskKey,
    Subject: t.subject.slice(0, 255),
    Description: t.body.slice(0, 32_000),
    ...(t.ownerId ? { OwnerId: t.ownerId } : {}),
    ...(isPerson && t.record.id ? { WhoId: t.record.id } : {}),
    ...(whatId ? { WhatId: whatId } : {}),
    ActivityDate: t.dueDate,
    ReminderDateTime: t.reminderAt.toISOString(),
    IsReminderSet: true,
    Priority: PRIORITY[t.priority],
  };
}

function text(v: unknown): string | null {
  return v === null || v === undefined || v === '' ? null : String(v);
}
