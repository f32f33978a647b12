/**
 * The Salesforce destination: writes a sync's changes to Leads, Contacts, Accounts (any object) through the REST
 * API with jsforce, the way the established reverse-ETL tools do.
 *
 * Glossary:
 * - collections path: sObject Collections, 200 records per call, `allOrNone: false`, one result per record, for
 *   change sets up to `bulk_threshold`.
 * - bulk path: Bulk API 2.0 ingest jobs with a CSV built by us, for change sets above `bulk_threshold`.
 * - upsert group: added/changed rows in upsert and mirror mode, upserted by the External ID match field.
 * - update group: rows that must never create a record (every row in update mode; removed rows in mirror mode):
 *   their record Ids are looked up by the match field (SOQL `IN`, in chunks), then updated by Id.
 *
 * Per-record errors come back as outcomes; whole-request errors are thrown as PqlsyncErrors (see
 * salesforce-errors.ts) for the shared batch writer, which retries with backoff and jitter (jsforce never
 * retries POST/PATCH), splits, or stops the run.
 */
import type { Connection, QueryResult } from 'jsforce';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type {
  Change,
  Destination,
  DestinationCapabilities,
  RecordOutcome,
  SyncTarget,
  WriteBatch,
} from '../destination.js';
import { BULK_RECORDS_PER_DAY, BULK_UPLOAD_MAX_BYTES, runBulkJob, uploadParts } from './salesforce-bulk.js';
import {
  createSession,
  type SalesforceDestinationConfig,
  type SalesforceLogin,
  type SalesforceSession,
} from './salesforce-connection.js';
import { authHint, recordFailure, requestError, unreachable, type RecordError } from './salesforce-errors.js';
import { fieldProblems } from './salesforce-field-checks.js';
import { isTransportFailure } from '../transport.js';
import { checkTarget, type DescribedField } from './salesforce-preflight.js';
import { buildCsv, formatRecord, inexactNumber, soqlString } from './salesforce-values.js';

/** sObject Collections accept at most 200 records per call. */
export const COLLECTION_SIZE = 200;
/** Match values per SOQL `IN (...)`: the query travels in the URL, so keep it to a few hundred values. */
const SOQL_IN_CHUNK = 200;
/** Collections calls in flight at once (Salesforce limits long-running concurrent calls, not short ones). */
const COLLECTION_CONCURRENCY = 4;
const MODES = ['update', 'upsert', 'mirror'] as const;

export interface SalesforceDestinationOptions {
  /** The destination's name in the config. */
  name: string;
  config: SalesforceDestinationConfig;
  /** Project directory (for `private_key_path`). */
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  /** The run's login of this destination, shared with its task writer. (Default: one of its own) */
  login?: SalesforceLogin;
  /** Waits between Bulk status checks (tests inject a fake clock). (Default: setTimeout) */
  sleep?: (ms: number) => Promise<void>;
  /** (Default: Date.now) */
  now?: () => number;
  /** First wait between Bulk status checks, doubling up to 10 s. (Default: 1,000) */
  bulkPollIntervalMs?: number;
  /** CSV bytes per Bulk job; tests lower it to see a split. (Default: BULK_UPLOAD_MAX_BYTES, 100 MB) */
  bulkUploadMaxBytes?: number;
}

interface DescribedObject {
  name: string;
  fields: DescribedField[];
  /** lower-case field name → describe type. */
  types: Map<string, string>;
  /** lower-case field name → field. */
  byName: Map<string, DescribedField>;
}

/**
 * sObject Collections answer one result per record, in request order, and are matched by position. A response with
 * another count cannot be matched (a result could be given to the wrong record), so every record of the call stays
 * retryable: it is sent again, and upserts by external id and updates by Id repeat safely.
 */
function unmatchedResults(sent: Change[], results: number): RecordOutcome[] {
  return sent.map((c) => ({
    key: c.key,
    status: 'retryable',
    reason: `Salesforce returned ${results} results for the ${sent.length} records of a Collections call, so none can be matched to its record`,
    code: 'RESULT_COUNT_MISMATCH',
  }));
}

export class SalesforceDestination implements Destination {
  readonly type = 'salesforce';
  private readonly session: SalesforceSession;
  private readonly conn: Connection;
  private readonly described = new Map<string, Promise<DescribedObject>>();
  /** The describes that have arrived, for checks that cannot wait (checkChange). */
  private readonly ready = new Map<string, DescribedObject>();
  private readonly bulkSyncs = new Set<string>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: SalesforceDestinationOptions) {
    // createSession reads only the name, config, project directory, env and login of these options.
    this.session = createSession(options);
    this.conn = this.session.conn;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = options.now ?? Date.now;
  }

  capabilities(target: SyncTarget, plannedChanges: number): DestinationCapabilities {
    const bulk = plannedChanges > this.options.config.bulk_threshold;
    if (bulk) this.bulkSyncs.add(target.sync);
    else this.bulkSyncs.delete(target.sync);
    // A Bulk run is one batch, so one job per run and object: Salesforce splits it into its own internal batches
    // of 10,000; pqlsync splits only where a job's upload would pass 100 MB (BULK_UPLOAD_MAX_BYTES).
    return bulk
      ? { batchSize: Math.min(plannedChanges, BULK_RECORDS_PER_DAY), concurrency: 1, modes: MODES }
      : { batchSize: COLLECTION_SIZE, concurrency: COLLECTION_CONCURRENCY, modes: MODES };
  }

  async preflight(target: SyncTarget): Promise<void> {
    const described = await this.describe(target);
    checkTarget(target, described.fields);
  }

  checkChange(target: SyncTarget, change: Change): RecordOutcome | undefined {
    const described = this.ready.get(target.object.toLowerCase());
    if (!described || change.matchValue === '') return undefined;
    const inexact = this.inexactOutcome(change, described);
    if (inexact) return inexact;
    const problems = fieldProblems(this.recordValues(target, described, change), described.byName);
    return problems.length > 0
      ? { key: change.key, status: 'rejected', reason: problems.join('; '), code: 'INVALID_VALUE' }
      : undefined;
  }

  /** A rounded number is a wrong value in the CRM: the record is refused instead (exact values or none). */
  private inexactOutcome(c: Change, described: DescribedObject): RecordOutcome | undefined {
    const inexact = Object.entries(c.values).flatMap(([field, v]) => {
      const why = inexactNumber(v, described.types.get(field.toLowerCase()));
      return why ? [`${field}: ${why}`] : [];
    });
    if (inexact.length === 0) return undefined;
    return {
      key: c.key,
      status: 'rejected',
      code: 'INVALID_VALUE',
      reason: `${inexact.join('; ')}; the row is not sent (round it in the model, or map it to a text field)`,
    };
  }

  async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    const { target, changes } = batch;
    const described = await this.describe(target);
    const outcomes: RecordOutcome[] = [];
    const sendable: Change[] = [];
    // A match value on two rows would make Salesforce answer DUPLICATE_EXTERNAL_ID for both; say why here.
    const byMatch = new Map<string, Change[]>();
    for (const c of changes) {
      if (c.matchValue === '') {
        outcomes.push({
          key: c.key,
          status: 'rejected',
          reason: `the match column '${target.matchColumn}' is empty, so no ${target.object} can be matched on ${target.matchField}`,
        });
        continue;
      }
      const inexact = this.inexactOutcome(c, described);
      if (inexact) {
        outcomes.push(inexact);
        continue;
      }
      const lower = c.matchValue.toLowerCase();
      byMatch.set(lower, [...(byMatch.get(lower) ?? []), c]);
    }
    for (const group of byMatch.values()) {
      if (group.length === 1) sendable.push(...group);
      else {
        const keys = group.map((c) => c.key).join(', ');
        for (const c of group) {
          outcomes.push({
            key: c.key,
            status: 'rejected',
            reason: `${target.matchField} = ${c.matchValue} is the match value of several rows (keys ${keys}); Salesforce would refuse them as DUPLICATE_EXTERNAL_ID`,
          });
        }
      }
    }
    const neverCreate = (c: Change) => target.mode === 'update' || c.kind === 'removed';
    const upserts = sendable.filter((c) => !neverCreate(c));
    const updates = sendable.filter(neverCreate);
    const bulk = this.bulkSyncs.has(target.sync);
    if (upserts.length > 0) outcomes.push(...(await this.upsert(target, described, upserts, bulk)));
    if (updates.length > 0) outcomes.push(...(await this.update(target, described, updates, bulk)));
    return outcomes;
  }

  apiCalls(): number {
    return this.session.requests();
  }

  async close(): Promise<void> {}

  /** The values to send for a change: formatted by field type; removed rows leave out what cannot be cleared. */
  private recordValues(
    target: SyncTarget,
    described: DescribedObject,
    change: Change,
  ): Record<string, unknown> {
    let values = change.values;
    if (change.kind === 'removed') {
      const nillable = new Map(described.fields.map((f) => [f.name.toLowerCase(), f.nillable]));
      const skipNull = new Set(target.fields.filter((f) => f.skipNull).map((f) => f.field.toLowerCase()));
      // Mirror clears PQL fields; it never blanks a required field or one marked "don't overwrite with null".
      values = Object.fromEntries(
        Object.entries(values).filter(
          ([field, v]) =>
            v !== null || (!skipNull.has(field.toLowerCase()) && nillable.get(field.toLowerCase()) !== false),
        ),
      );
    }
    const placeholder = this.options.config.required_placeholder;
    if (change.kind === 'added' && placeholder !== null) {
      // A new row without a value for a field Salesforce requires on create would be refused
      // (REQUIRED_FIELD_MISSING); fill it as Web-to-Lead does. Only rows new to the sync get it.
      const required = described.fields.filter(
        (f) => f.createable && !f.nillable && f.defaultedOnCreate !== true,
      );
      for (const spec of target.fields) {
        const f = required.find((r) => r.name.toLowerCase() === spec.field.toLowerCase());
        const v = values[spec.field];
        if (f && (v === null || v === undefined || v === ''))
          values = { ...values, [spec.field]: placeholder };
      }
    }
    return formatRecord(values, described.types);
  }

  private async upsert(
    target: SyncTarget,
    described: DescribedObject,
    changes: Change[],
    bulk: boolean,
  ): Promise<RecordOutcome[]> {
    const records = changes.map((c) => ({
      ...this.recordValues(target, described, c),
      [target.matchField]: c.matchValue,
    }));
    if (bulk && changes.length > this.smallestBulkJob()) {
      const rows = changes.map((change, i) => ({ change, record: records[i] ?? {}, key: change.matchValue }));
      return this.bulk(target, rows, [target.matchField], {
        operation: 'upsert',
        externalIdField: target.matchField,
        keyColumn: target.matchField,
      });
    }
    const outcomes: RecordOutcome[] = [];
    for (let i = 0; i < records.length; i += COLLECTION_SIZE) {
      const part = records.slice(i, i + COLLECTION_SIZE);
      const results = await this.call(target, () =>
        this.conn
          .sobject(target.object)
          .upsert(part, target.matchField, { allOrNone: false, headers: this.headers() }),
      );
      if (results.length !== part.length) {
        outcomes.push(...unmatchedResults(changes.slice(i, i + part.length), results.length));
        continue;
      }
      results.forEach((r, j) => {
        const change = changes[i + j];
        if (!change) return;
        outcomes.push(
          r.success
            ? { key: change.key, status: 'applied', destinationId: r.id, created: r.created }
            : recordFailure(change.key, r.errors as RecordError[]),
        );
      });
    }
    return outcomes;
  }

  /** Updates records found by the match field; never creates one. */
  private async update(
    target: SyncTarget,
    described: DescribedObject,
    changes: Change[],
    bulk: boolean,
  ): Promise<RecordOutcome[]> {
    const ids = await this.lookupIds(
      target,
      changes.map((c) => c.matchValue),
    );
    const outcomes: RecordOutcome[] = [];
    const found: Array<{ change: Change; id: string }> = [];
    for (const c of changes) {
      const matches = ids.get(c.matchValue.toLowerCase()) ?? [];
      if (matches.length === 1 && matches[0]) found.push({ change: c, id: matches[0] });
      else if (matches.length > 1) {
        outcomes.push({
          key: c.key,
          status: 'rejected',
          code: 'DUPLICATE_EXTERNAL_ID',
          reason: `${matches.length} ${target.object} records have ${target.matchField} = ${c.matchValue} (${matches.join(', ')}); make the field Unique`,
        });
      } else if (c.kind === 'removed') {
        // Mirror mode clears fields of records that left the model; a record that is gone needs nothing.
        outcomes.push({ key: c.key, status: 'applied' });
      } else {
        outcomes.push({
          key: c.key,
          status: 'rejected',
          reason: `no ${target.object} with ${target.matchField} = ${c.matchValue} (update mode never creates records)`,
        });
      }
    }
    if (found.length === 0) return outcomes;
    const records = found.map(({ change, id }) => ({
      Id: id,
      ...this.recordValues(target, described, change),
    }));
    if (bulk && found.length > this.smallestBulkJob()) {
      const rows = found.map(({ change, id }, i) => ({ change, record: records[i] ?? {}, key: id }));
      const result = await this.bulk(target, rows, ['Id'], { operation: 'update', keyColumn: 'Id' });
      return [...outcomes, ...result];
    }
    for (let i = 0; i < records.length; i += COLLECTION_SIZE) {
      const part = records.slice(i, i + COLLECTION_SIZE);
      const results = await this.call(target, () =>
        this.conn.sobject(target.object).update(part, { allOrNone: false, headers: this.headers() }),
      );
      if (results.length !== part.length) {
        const sent = found.slice(i, i + part.length).map(({ change }) => change);
        outcomes.push(...unmatchedResults(sent, results.length));
        continue;
      }
      results.forEach((r, j) => {
        const item = found[i + j];
        if (!item) return;
        outcomes.push(
          r.success
            ? { key: item.change.key, status: 'applied', destinationId: r.id, created: false }
            : recordFailure(item.change.key, r.errors as RecordError[]),
        );
      });
    }
    return outcomes;
  }

  /** Record Ids by lower-cased match value, via SOQL `IN` in chunks (following query pages). */
  private async lookupIds(target: SyncTarget, values: string[]): Promise<Map<string, string[]>> {
    const ids = new Map<string, string[]>();
    const unique = [...new Set(values)];
    for (let i = 0; i < unique.length; i += SOQL_IN_CHUNK) {
      const chunk = unique.slice(i, i + SOQL_IN_CHUNK);
      const soql = `SELECT Id, ${target.matchField} FROM ${target.object} WHERE ${target.matchField} IN (${chunk.map(soqlString).join(', ')})`;
      let page: QueryResult<Record<string, unknown>> = await this.call(target, async () =>
        this.conn.query<Record<string, unknown>>(soql),
      );
      // Bounded: every page holds at least one record, and a chunk matches at most a few records per value.
      for (let pages = 0; pages < 1000; pages++) {
        for (const r of page.records) {
          const key = String(r[target.matchField] ?? '').toLowerCase();
          ids.set(key, [...(ids.get(key) ?? []), String(r.Id)]);
        }
        const next = page.nextRecordsUrl;
        if (page.done || !next) break;
        page = await this.call(target, async () => this.conn.queryMore<Record<string, unknown>>(next));
      }
    }
    return ids;
  }

  /** Writes through Bulk API 2.0: one job, or one per part where the CSV would pass a job's upload limit. */
  private async bulk(
    target: SyncTarget,
    rows: Array<{ change: Change; record: Record<string, unknown>; key: string }>,
    firstColumns: string[],
    job: { operation: 'upsert' | 'update'; keyColumn: string; externalIdField?: string },
  ): Promise<RecordOutcome[]> {
    const outcomes: RecordOutcome[] = [];
    const parts = uploadParts(
      rows,
      (part) =>
        buildCsv(
          part.map((r) => r.record),
          firstColumns,
        ),
      this.options.bulkUploadMaxBytes ?? BULK_UPLOAD_MAX_BYTES,
    );
    for (const part of parts) {
      const written = await this.call(target, () =>
        runBulkJob(this.conn, {
          sync: target.sync,
          object: target.object,
          ...job,
          csv: part.csv,
          keys: new Map(part.items.map((r) => [r.key.toLowerCase(), r.change.key])),
          ...this.bulkOptions(),
        }),
      );
      outcomes.push(...written);
    }
    return outcomes;
  }

  /**
   * In a Bulk sync, a part this small still goes through Collections (one call instead of a job's five or more):
   * the record retries of a job, and the rows an update finds.
   */
  private smallestBulkJob(): number {
    return Math.min(COLLECTION_SIZE, this.options.config.bulk_threshold);
  }

  private headers(): Record<string, string> {
    // Salesforce runs Lead/Account assignment rules on API writes unless told not to (the header defaults to TRUE).
    return { 'Sforce-Auto-Assign': this.options.config.assignment_rules ? 'TRUE' : 'FALSE' };
  }

  private bulkOptions() {
    return {
      pollTimeoutMs: this.options.config.bulk_poll_timeout_ms,
      ...(this.options.bulkPollIntervalMs !== undefined
        ? { pollIntervalMs: this.options.bulkPollIntervalMs }
        : {}),
      sleep: this.sleep,
      now: this.now,
    };
  }

  /** Runs one API operation: first token if needed, errors mapped for the batch writer. */
  private async call<T>(target: SyncTarget | undefined, fn: () => Promise<T>): Promise<T> {
    const ctx = () => ({
      destination: this.options.name,
      ...(target ? { sync: target.sync } : {}),
      apiUsage: this.conn.limitInfo.apiUsage,
      authType: this.options.config.auth.type,
      instanceUrl: this.options.config.instance_url,
      timeoutMs: this.options.config.request_timeout_ms,
    });
    try {
      await this.session.ensureToken();
    } catch (err) {
      if (isTransportFailure(err)) throw unreachable(err, ctx());
      // jsforce names OAuth errors after the grant error (`invalid_client`, `invalid_grant`).
      const e = err as { name?: string; message?: string };
      const name = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
      throw new PqlsyncError(
        'DESTINATION_AUTH_FAILED',
        `could not get a Salesforce access token for destination '${this.options.name}' (auth ${this.options.config.auth.type}): ${name}${e.message ?? String(err)}`,
        {
          kind: 'system',
          ...(target ? { location: { sync: target.sync } } : {}),
          hint: authHint(this.options.config.auth.type),
          cause: err,
        },
      );
    }
    try {
      const result = await fn();
      this.session.succeeded();
      return result;
    } catch (err) {
      throw requestError(err, ctx());
    }
  }

  /** The object's fields from describe (once per object and destination instance). */
  private describe(target: SyncTarget): Promise<DescribedObject> {
    const name = target.object;
    let d = this.described.get(name.toLowerCase());
    if (!d) {
      d = this.call(target, () => this.conn.sobject(name).describe())
        .then((res) => {
          const fields: DescribedField[] = res.fields.map((f) => ({
            name: f.name,
            type: String(f.type),
            createable: f.createable,
            updateable: f.updateable,
            nillable: f.nillable,
            defaultedOnCreate: f.defaultedOnCreate,
            externalId: f.externalId === true,
            length: f.length,
            precision: f.precision,
            scale: f.scale,
            calculated: f.calculated === true,
            picklistValues: (f.picklistValues ?? []).filter((p) => p.active).map((p) => p.value),
            restrictedPicklist: f.restrictedPicklist === true,
          }));
          const described: DescribedObject = {
            name: res.name,
            fields,
            types: new Map(fields.map((f) => [f.name.toLowerCase(), f.type])),
            byName: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
          };
          this.ready.set(name.toLowerCase(), described);
          return described;
        })
        .catch((err: unknown) => {
          this.described.delete(name.toLowerCase());
          if (err instanceof PqlsyncError && err.details?.code === 'NOT_FOUND') {
            throw new PqlsyncError(
              'DESTINATION_PREFLIGHT_FAILED',
              `Salesforce has no object '${name}' that the integration user can see (sync ${target.sync} writes to it)`,
              {
                location: { sync: target.sync },
                hint: "check `object` in the sync (API name, e.g. Lead, Contact, Account) and the user's object permissions",
              },
            );
          }
          throw err;
        });
      this.described.set(name.toLowerCase(), d);
    }
    return d;
  }
}
