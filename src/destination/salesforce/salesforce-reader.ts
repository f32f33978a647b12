/**
 * `pqlsync pull` on Salesforce: SOQL on SystemModstamp (changed by every write, system ones too; the field
 * Salesforce recommends for incremental reads) after the watermark, ordered by it, read page by page with
 * queryMore (2,000 records a page by default). Tasks are those with a pqlsync task key; people are the sync's
 * object with its match field set; opportunities are read whole (few, and a rep may open one on any account).
 * When the first page's `totalSize` is above `pull_bulk_threshold`, that page is dropped and the object is read
 * with one Bulk API 2.0 query job of the same SOQL instead (salesforce-bulk-query.ts); its CSV values go through
 * the same row mapping, so both paths write the same rows. A Bulk read moves the watermark only with its last
 * result set: the job's order is not relied on.
 */
import type { Connection } from 'jsforce';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type { CrmReader, PulledPage, PullObject, ScoredObject } from '../../pull/crm-reader.js';
import type { ReadbackRow } from '../../pull/readback-tables.js';
import {
  createSession,
  type SalesforceDestinationConfig,
  type SalesforceSession,
} from './salesforce-connection.js';
import { bulkQuery } from './salesforce-bulk-query.js';
import { requestError } from './salesforce-errors.js';
import { TASK_KEY_FIELD } from './salesforce-tasks.js';

const PEOPLE = ['Lead', 'Contact', 'Account'] as const;

export interface SalesforceReaderOptions {
  name: string;
  config: SalesforceDestinationConfig;
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  /** Waits between Bulk job status checks. (Default: setTimeout) */
  sleep?: (ms: number) => Promise<void>;
  /** (Default: Date.now) */
  now?: () => number;
  /** Records per Bulk query result set. (Default: 50,000) */
  bulkPageSize?: number;
}

export class SalesforceReader implements CrmReader {
  private readonly session: SalesforceSession;
  private readonly conn: Connection;

  constructor(private readonly options: SalesforceReaderOptions) {
    // createSession reads only the name, config, project directory and env of these options.
    this.session = createSession(options);
    this.conn = this.session.conn;
  }

  objects(scored: readonly ScoredObject[]): PullObject[] {
    const people = [...new Set(scored.map((s) => canonicalObject(s.object)))];
    return [
      { object: 'Task', table: 'crm_tasks' },
      ...people.map((object) => ({ object, table: 'crm_people' as const })),
      { object: 'Opportunity', table: 'crm_opportunities' },
    ];
  }

  async *read(
    object: PullObject,
    scored: readonly ScoredObject[],
    since: Date | null,
  ): AsyncIterable<PulledPage> {
    const after = since ? ` AND SystemModstamp > ${soqlDateTime(since)}` : '';
    const order = ' ORDER BY SystemModstamp, Id';
    let soql: string;
    let toRow: (r: Record<string, unknown>) => ReadbackRow;
    const destination = this.options.name;
    if (object.object === 'Task') {
      soql = `SELECT Id, ${TASK_KEY_FIELD}, Status, IsClosed, CompletedDateTime, OwnerId, WhoId, WhatId, AccountId, CallDisposition, ActivityDate, CreatedDate, SystemModstamp FROM Task WHERE ${TASK_KEY_FIELD} != null${after}${order}`;
      toRow = (r) => ({
        destination,
        task_id: text(r.Id),
        task_key: text(r[TASK_KEY_FIELD]),
        status: text(r.Status),
        is_closed: bool(r.IsClosed),
        completed_at: time(r.CompletedDateTime),
        owner_id: text(r.OwnerId),
        person_id: text(r.WhoId) ?? text(r.WhatId),
        account_id: text(r.AccountId),
        outcome: text(r.CallDisposition),
        due_date: text(r.ActivityDate),
        created_at: time(r.CreatedDate),
        modified_at: time(r.SystemModstamp),
      });
    } else if (object.object === 'Opportunity') {
      soql = `SELECT Id, AccountId, Name, StageName, Amount, IsClosed, IsWon, CreatedDate, CloseDate, OwnerId, SystemModstamp FROM Opportunity WHERE IsDeleted = false${after}${order}`;
      toRow = (r) => ({
        destination,
        opportunity_id: text(r.Id),
        account_id: text(r.AccountId),
        person_id: null,
        name: text(r.Name),
        stage: text(r.StageName),
        amount: r.Amount === null || r.Amount === undefined || r.Amount === '' ? null : Number(r.Amount),
        is_closed: bool(r.IsClosed),
        is_won: bool(r.IsWon),
        created_at: time(r.CreatedDate),
        close_date: text(r.CloseDate),
        owner_id: text(r.OwnerId),
        modified_at: time(r.SystemModstamp),
      });
    } else {
      const type = object.object;
      const fields = [
        ...new Set(scored.filter((s) => canonicalObject(s.object) === type).map((s) => s.matchField)),
      ];
      const match = fields[0] ?? 'Id';
      const lead = type === 'Lead';
      const extra =
        type === 'Lead'
          ? ', Status, IsConverted, ConvertedDate, ConvertedOpportunityId, ConvertedAccountId'
          : type === 'Contact'
            ? ', AccountId'
            : '';
      soql = `SELECT Id, ${match}, OwnerId${extra}, SystemModstamp FROM ${type} WHERE ${match} != null${after}${order}`;
      toRow = (r) => ({
        destination,
        record_id: text(r.Id),
        object: type,
        match_value: text(r[match]),
        status: lead ? text(r.Status) : null,
        is_converted: lead ? bool(r.IsConverted) : false,
        converted_at: lead ? time(r.ConvertedDate) : null,
        converted_opportunity_id: lead ? text(r.ConvertedOpportunityId) : null,
        account_id: type === 'Account' ? text(r.Id) : lead ? text(r.ConvertedAccountId) : text(r.AccountId),
        owner_id: text(r.OwnerId),
        modified_at: time(r.SystemModstamp),
      });
    }
    let page = await this.call(async () => this.conn.query<Record<string, unknown>>(soql));
    const threshold = this.options.config.pull_bulk_threshold ?? 10_000;
    if (!page.done && page.totalSize > threshold) {
      yield* this.readBulk(object.object, soql, toRow);
      return;
    }
    for (;;) {
      const rows = page.records.map(toRow);
      const last = rows[rows.length - 1]?.modified_at;
      yield { rows, ...(last instanceof Date ? { newest: last } : {}) };
      const next = page.nextRecordsUrl;
      if (page.done || !next) break;
      page = await this.call(async () => this.conn.queryMore<Record<string, unknown>>(next));
    }
  }

  apiCalls(): number {
    return this.session.requests();
  }

  async close(): Promise<void> {
    // jsforce holds no sockets of its own between requests.
  }

  /** The records of `soql` through one Bulk API 2.0 query job; the watermark moves with the last result set. */
  private async *readBulk(
    object: string,
    soql: string,
    toRow: (r: Record<string, unknown>) => ReadbackRow,
  ): AsyncIterable<PulledPage> {
    let newest: Date | undefined;
    let held: ReadbackRow[] | undefined;
    const sets = bulkQuery(this.conn, soql, {
      object,
      pollTimeoutMs: this.options.config.bulk_poll_timeout_ms ?? 600_000,
      sleep: this.options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      now: this.options.now ?? Date.now,
      ...(this.options.bulkPageSize ? { pageSize: this.options.bulkPageSize } : {}),
      call: (fn) => this.call(fn),
    });
    for await (const records of sets) {
      if (held) yield { rows: held };
      held = records.map(toRow);
      for (const row of held)
        if (row.modified_at instanceof Date && (!newest || row.modified_at > newest))
          newest = row.modified_at;
    }
    if (held) yield { rows: held, ...(newest ? { newest } : {}) };
  }

  private async call<T>(fn: () => PromiseLike<T>): Promise<T> {
    try {
      await this.session.ensureToken();
      const result = await fn();
      this.session.succeeded();
      return result;
    } catch (err) {
      throw requestError(err, {
        destination: this.options.name,
        authType: this.options.config.auth.type,
        instanceUrl: this.options.config.instance_url,
        timeoutMs: this.options.config.request_timeout_ms,
      });
    }
  }
}

function canonicalObject(object: string): string {
  const found = PEOPLE.find((p) => p.toLowerCase() === object.toLowerCase());
  if (!found)
    throw new PqlsyncError(
      'CONFIG_INVALID',
      `pull reads back Lead, Contact and Account syncs; '${object}' is none of them`,
      { hint: 'leave this sync out of pull, or sync to Lead, Contact or Account' },
    );
  return found;
}

/** A SOQL datetime literal (whole seconds: Salesforce stores datetimes to the second). */
export function soqlDateTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** A checkbox: `true` from REST's JSON, `'true'` from a Bulk CSV. */
function bool(v: unknown): boolean {
  return v === true || v === 'true';
}

function text(v: unknown): string | null {
  return v === null || v === undefined || v === '' ? null : String(v);
}

function time(v: unknown): Date | null {
  if (v === null || v === undefined || v === '') return null;
  const t = Date.parse(String(v).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(t) ? null : new Date(t);
}
