/**
 * Bulk API 2.0 query jobs of the local Salesforce (`/services/data/vXX.X/jobs/query`), per the Bulk API 2.0
 * developer guide ("Bulk API 2.0 Query"): create (the job starts UploadComplete) → InProgress over status checks
 * → JobComplete (or Failed with an `errorMessage`, or Aborted), then the results as CSV, one set of results per
 * request, each with its own header row.
 *
 * Glossary:
 * - result set: one `GET .../results` answer, at most `maxRecords` records (the service's default page when the
 *   client sends none). `Sforce-NumberOfRecords` says how many it holds and `Sforce-Locator` names the next set,
 *   or is the string `null` on the last one. A locator is the base64 of the next offset, like Salesforce's
 *   (`MTAwMDA` = "10000"), and stays valid as long as the job exists.
 * - snapshot: the rows are selected when the job completes, so later writes do not change its results.
 * - CSV values: every value quoted; a null is an empty field (a query result cannot tell null from empty text);
 *   checkboxes `true`/`false`; date-times `2026-03-02T09:00:00.000Z`.
 * - failing jobs: `failNext(n, message)` (admin route) makes the next n jobs end Failed at completion.
 */
import { stringify } from 'csv-stringify/sync';
import type { SandboxContext, SandboxRequest, SandboxResponse } from '../sandbox-types.js';
import { advanceJob, CLOSED_STATES, jobList } from './bulk-ingest.js';
import { KEY_PREFIXES } from './salesforce-ids.js';
import { asObject, methodNotAllowed, notFound, sfError, sfJson } from './salesforce-http.js';
import { findField, type ObjectDef } from './salesforce-schema.js';
import { formatDateTime, type SalesforceStore, type SfRecord } from './salesforce-store.js';
import { SoqlError, type FieldReader, type SoqlQuery } from './soql.js';

/** The query's rows as the REST query selects them (filtered, ordered, limited). */
export interface Selected {
  def: ObjectDef;
  query: SoqlQuery;
  rows: SfRecord[];
  read: FieldReader;
}

export type Select = (soql: string, includeDeleted: boolean) => Selected;

interface QueryJob {
  info: Record<string, unknown> & { id: string; state: string; operation: string; apiVersion: number };
  soql: string;
  polls: number;
  header: string[];
  rows: Array<Array<string | null>>;
}

export interface BulkQueryState {
  jobs: QueryJob[];
  failNext?: { count: number; message: string };
}

export interface BulkQueryStats {
  /** Query jobs created (`POST /jobs/query` answered 200). */
  queryJobsCreated: number;
  /** Records in the result sets served. */
  queryRecordsServed: number;
}

export class BulkQuery {
  private jobs = new Map<string, QueryJob>();
  private failNext = { count: 0, message: '' };
  private counted: BulkQueryStats = { queryJobsCreated: 0, queryRecordsServed: 0 };

  constructor(
    private readonly ctx: SandboxContext,
    private readonly store: SalesforceStore,
    private readonly select: Select,
    private readonly pollsBeforeComplete: number,
    /** Records per result set when the client sends no `maxRecords`. */
    private readonly defaultPageSize: number,
  ) {}

  reset(): void {
    this.jobs.clear();
    this.failNext = { count: 0, message: '' };
    this.counted = { queryJobsCreated: 0, queryRecordsServed: 0 };
  }

  stats(): BulkQueryStats {
    return { ...this.counted };
  }

  /** The next `count` jobs end Failed with this `errorMessage` when they would complete. */
  failNextJobs(count: number, message: string): void {
    this.failNext = { count, message };
  }

  exportState(): BulkQueryState {
    return { jobs: [...this.jobs.values()], failNext: { ...this.failNext } };
  }

  importState(state: BulkQueryState | undefined): void {
    this.jobs = new Map((state?.jobs ?? []).map((j) => [j.info.id, j]));
    this.failNext = state?.failNext ?? { count: 0, message: '' };
  }

  /** Serves `/jobs/query[/...]`; `rest` is the path after `/jobs/query`. */
  handle(req: SandboxRequest, version: string, rest: string, userId: string): SandboxResponse {
    const [id, sub, ...more] = rest.split('/').filter(Boolean);
    if (id === undefined) {
      if (req.method === 'POST') return this.create(req, version, userId);
      if (req.method === 'GET') return jobList(this.jobs.values());
      return methodNotAllowed(req.method, ['GET', 'POST']);
    }
    const job = this.jobs.get(id);
    if (!job || more.length > 0) return notFound();
    if (sub === undefined) {
      if (req.method === 'GET') return sfJson(200, this.advance(job));
      if (req.method === 'PATCH') return this.abort(req, job);
      if (req.method === 'DELETE') {
        if (!CLOSED_STATES.includes(job.info.state))
          return sfError(400, 'API_ERROR', `Job ${job.info.id} is not finished; abort it before deleting it`);
        this.jobs.delete(job.info.id);
        return { status: 204 };
      }
      return methodNotAllowed(req.method, ['GET', 'PATCH', 'DELETE']);
    }
    if (sub === 'results' && req.method === 'GET') return this.results(req, version, job);
    return notFound();
  }

  private create(req: SandboxRequest, version: string, userId: string): SandboxResponse {
    const body = asObject(req.body) ?? {};
    const operation = body.operation === undefined ? 'query' : body.operation;
    if (operation !== 'query' && operation !== 'queryAll')
      return sfError(400, 'INVALIDJOB', `Invalid operation: ${String(operation)}`);
    if (typeof body.query !== 'string' || body.query.trim() === '')
      return sfError(400, 'INVALIDJOB', 'A query is required to create a query job');
    const delimiter = body.columnDelimiter ?? 'COMMA';
    if (delimiter !== 'COMMA')
      return sfError(400, 'INVALIDJOB', `The sandbox answers only COMMA, not ${String(delimiter)}`);
    let selected: Selected;
    try {
      // Checked at creation, as Salesforce does: an unknown object or field is a 400, not a Failed job.
      selected = this.select(body.query, operation === 'queryAll');
    } catch (e) {
      if (e instanceof SoqlError) return sfError(400, e.errorCode, e.message);
      throw e;
    }
    if (selected.query.count || selected.query.offset !== undefined) {
      // "Bulk API 2.0 doesn't support queries with ... OFFSET ... aggregate functions such as COUNT()".
      return sfError(
        400,
        'API_ERROR',
        'Bulk API 2.0 query does not support aggregate functions such as COUNT() or OFFSET; use the REST query',
      );
    }
    const id = this.store.nextId(KEY_PREFIXES.BulkJob);
    const stamp = formatDateTime(this.ctx.now());
    const job: QueryJob = {
      info: {
        id,
        operation,
        object: selected.def.name,
        createdById: userId,
        createdDate: stamp,
        systemModstamp: stamp,
        state: 'UploadComplete',
        concurrencyMode: 'Parallel',
        contentType: 'CSV',
        apiVersion: Number(version),
        lineEnding: body.lineEnding === 'CRLF' ? 'CRLF' : 'LF',
        columnDelimiter: 'COMMA',
      },
      soql: body.query,
      polls: 0,
      header: [],
      rows: [],
    };
    this.jobs.set(id, job);
    this.counted.queryJobsCreated += 1;
    return sfJson(200, job.info);
  }

  private abort(req: SandboxRequest, job: QueryJob): SandboxResponse {
    if (asObject(req.body)?.state !== 'Aborted' || CLOSED_STATES.includes(job.info.state)) {
      return sfError(
        400,
        'INVALIDJOB',
        `Invalid state transition from ${job.info.state} to ${String(asObject(req.body)?.state)}`,
      );
    }
    job.info.state = 'Aborted';
    job.info.systemModstamp = formatDateTime(this.ctx.now());
    return sfJson(200, job.info);
  }

  private advance(job: QueryJob): Record<string, unknown> {
    advanceJob(job, this.pollsBeforeComplete, () => this.complete(job));
    return job.info;
  }

  private complete(job: QueryJob): void {
    job.info.systemModstamp = formatDateTime(this.ctx.now());
    if (this.failNext.count > 0) {
      this.failNext.count -= 1;
      job.info.state = 'Failed';
      job.info.errorMessage = this.failNext.message;
      return;
    }
    const { def, query, rows, read } = this.select(job.soql, job.info.operation === 'queryAll');
    job.header = query.fields.map((path) => path.join('.'));
    job.rows = rows.map((record) => query.fields.map((path) => csvValue(def, path, read(record, path))));
    job.info.state = 'JobComplete';
    job.info.numberRecordsProcessed = job.rows.length;
    job.info.retries = 0;
    job.info.totalProcessingTime = 0;
  }

  private results(req: SandboxRequest, version: string, job: QueryJob): SandboxResponse {
    if (Number(version) !== job.info.apiVersion)
      return sfError(
        409,
        'INVALIDJOB',
        `Get the results with the API version the job was created with (${job.info.apiVersion.toFixed(1)})`,
      );
    if (job.info.state !== 'JobComplete')
      return sfError(400, 'INVALIDJOB', `Job ${job.info.id} is ${job.info.state}, not JobComplete`);
    const maxRaw = req.query.get('maxRecords');
    const max = maxRaw === null ? this.defaultPageSize : Number(maxRaw);
    if (!Number.isInteger(max) || max < 1)
      return sfError(400, 'INVALIDJOB', `maxRecords must be a positive integer, got ${String(maxRaw)}`);
    const locator = req.query.get('locator');
    const offset = locator === null ? 0 : decodeLocator(locator);
    if (offset === undefined || offset > job.rows.length)
      return sfError(400, 'INVALIDJOB', `Invalid locator: ${String(locator)}`);
    const page = job.rows.slice(offset, offset + max);
    const next = offset + page.length < job.rows.length ? encodeLocator(offset + page.length) : 'null';
    this.counted.queryRecordsServed += page.length;
    const lineEnding = job.info.lineEnding === 'CRLF' ? 'windows' : 'unix';
    const csv = stringify([job.header, ...page], {
      record_delimiter: lineEnding,
      // Quote every value but leave a null empty: `"a",,"c"`.
      quoted: true,
    });
    return {
      status: 200,
      headers: {
        'Content-Type': 'text/csv',
        'Sforce-Locator': next,
        'Sforce-NumberOfRecords': String(page.length),
      },
      body: csv,
      records: page.length,
    };
  }
}

/** A record's value as a Bulk CSV cell: null for a null (an empty field), else text. */
function csvValue(def: ObjectDef, path: string[], value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  const field = path.length === 1 ? findField(def, path[0] ?? '') : undefined;
  if (field?.type === 'datetime' && typeof value === 'string') {
    const t = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    return Number.isNaN(t) ? value : new Date(t).toISOString();
  }
  return String(value);
}

export function encodeLocator(offset: number): string {
  return Buffer.from(String(offset)).toString('base64').replace(/=+$/, '');
}

function decodeLocator(locator: string): number | undefined {
  const text = Buffer.from(locator, 'base64').toString('utf8');
  return /^\d+$/.test(text) ? Number(text) : undefined;
}
