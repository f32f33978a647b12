/**
 * Bulk API 2.0 ingest jobs of the local Salesforce (`/services/data/vXX.X/jobs/ingest`), as jsforce's
 * `bulk2.loadAndWaitForResults` drives them: create (Open) → one CSV upload → UploadComplete → InProgress over
 * polls → JobComplete (or Failed / Aborted), then the successful, failed and unprocessed results as CSV.
 *
 * Glossary:
 * - row: one CSV data line; `#N/A` sets a field to null and an empty value leaves it unchanged, as in Salesforce.
 * - pollsBeforeComplete: how many `GET /jobs/ingest/{id}` calls see InProgress before the job completes; the
 *   rows are written at that moment, through the same rules as sObject Collections.
 */
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { RecordFault, SandboxContext, SandboxRequest, SandboxResponse } from '../sandbox-types.js';
import { KEY_PREFIXES } from './salesforce-ids.js';
import { asObject, methodNotAllowed, notFound, sfError, sfJson } from './salesforce-http.js';
import { findField, findObject, type ObjectDef } from './salesforce-schema.js';
import { formatDateTime, type SalesforceStore, type WriteOutcome } from './salesforce-store.js';

const OPERATIONS = ['insert', 'update', 'upsert', 'delete', 'hardDelete'] as const;
type Operation = (typeof OPERATIONS)[number];
const DELIMITERS: Record<string, string> = {
  COMMA: ',',
  TAB: '\t',
  PIPE: '|',
  SEMICOLON: ';',
  CARET: '^',
  BACKQUOTE: '`',
};
export const CLOSED_STATES = ['JobComplete', 'Failed', 'Aborted'];

interface BulkJob {
  info: Record<string, unknown> & { id: string; state: string; object: string; operation: Operation };
  columns: string[];
  rows: string[][];
  rowFaults: Record<number, RecordFault>;
  polls: number;
  successful: string[][];
  failed: string[][];
  unprocessed: string[][];
}

export interface BulkState {
  jobs: BulkJob[];
}

/** What the sandbox counted since it started (or was reset): for tests and the bench. */
export interface BulkStats {
  /** Ingest jobs created (`POST /jobs/ingest` answered 200). */
  jobsCreated: number;
  /** CSV data rows accepted by uploads. */
  recordsUploaded: number;
}

export class BulkIngest {
  private jobs = new Map<string, BulkJob>();
  private counted: BulkStats = { jobsCreated: 0, recordsUploaded: 0 };

  constructor(
    private readonly ctx: SandboxContext,
    private readonly store: SalesforceStore,
    private readonly pollsBeforeComplete: number,
  ) {}

  reset(): void {
    this.jobs.clear();
    this.counted = { jobsCreated: 0, recordsUploaded: 0 };
  }

  stats(): BulkStats {
    return { ...this.counted };
  }

  exportState(): BulkState {
    return { jobs: [...this.jobs.values()] };
  }

  importState(state: BulkState | undefined): void {
    this.jobs = new Map((state?.jobs ?? []).map((j) => [j.info.id, j]));
  }

  /** Serves `/jobs/ingest[/...]`; `rest` is the path after `/jobs/ingest`. */
  handle(req: SandboxRequest, version: string, rest: string, userId: string): SandboxResponse {
    const parts = rest.split('/').filter(Boolean);
    if (parts.length === 0) {
      if (req.method === 'POST') return this.create(req, version, userId);
      if (req.method === 'GET') return jobList(this.jobs.values());
      return methodNotAllowed(req.method, ['GET', 'POST']);
    }
    const job = this.jobs.get(parts[0] ?? '');
    if (!job) return notFound();
    const sub = parts[1];
    if (sub === undefined) {
      if (req.method === 'GET') return sfJson(200, this.advance(job));
      if (req.method === 'PATCH') return this.changeState(req, job);
      if (req.method === 'DELETE') {
        if (job.info.state === 'Open')
          return sfError(400, 'INVALIDJOB', 'Job cannot be deleted while it is Open; abort it first');
        this.jobs.delete(job.info.id);
        return { status: 204 };
      }
    }
    if (sub === 'batches' && req.method === 'PUT') return this.upload(req, job);
    if (
      req.method === 'GET' &&
      (sub === 'successfulResults' || sub === 'failedResults' || sub === 'unprocessedrecords')
    ) {
      return this.results(job, sub);
    }
    return notFound();
  }

  private create(req: SandboxRequest, version: string, userId: string): SandboxResponse {
    const body = asObject(req.body) ?? {};
    const def = typeof body.object === 'string' ? findObject(this.store.schema, body.object) : undefined;
    if (!def || def.name === 'User')
      return sfError(400, 'INVALIDJOB', `sObject type '${String(body.object)}' is not supported.`);
    const operation = OPERATIONS.find((o) => o === body.operation);
    if (!operation) return sfError(400, 'INVALIDJOB', `Invalid operation: ${String(body.operation)}`);
    let externalIdFieldName: string | undefined;
    if (operation === 'upsert') {
      const key =
        typeof body.externalIdFieldName === 'string' ? findField(def, body.externalIdFieldName) : undefined;
      if (!key || !(key.externalId || key.idLookup)) {
        return sfError(
          400,
          'INVALIDJOB',
          `Field name provided, ${String(body.externalIdFieldName)} does not match an External ID, Salesforce Id, or indexed field for ${def.name}`,
        );
      }
      externalIdFieldName = key.name;
    }
    const delimiter = typeof body.columnDelimiter === 'string' ? body.columnDelimiter : 'COMMA';
    if (!(delimiter in DELIMITERS))
      return sfError(400, 'INVALIDJOB', `Invalid column delimiter: ${delimiter}`);
    const id = this.store.nextId(KEY_PREFIXES.BulkJob);
    const stamp = formatDateTime(this.ctx.now());
    const job: BulkJob = {
      info: {
        id,
        operation,
        object: def.name,
        createdById: userId,
        createdDate: stamp,
        systemModstamp: stamp,
        state: 'Open',
        ...(externalIdFieldName ? { externalIdFieldName } : {}),
        ...(typeof body.assignmentRuleId === 'string' ? { assignmentRuleId: body.assignmentRuleId } : {}),
        concurrencyMode: 'Parallel',
        contentType: 'CSV',
        apiVersion: Number(version),
        jobType: 'V2Ingest',
        contentUrl: `services/data/v${version}/jobs/ingest/${id}/batches`,
        lineEnding: body.lineEnding === 'CRLF' ? 'CRLF' : 'LF',
        columnDelimiter: delimiter,
        numberRecordsProcessed: 0,
        numberRecordsFailed: 0,
        retries: 0,
        totalProcessingTime: 0,
        apiActiveProcessingTime: 0,
        apexProcessingTime: 0,
      },
      columns: [],
      rows: [],
      rowFaults: {},
      polls: 0,
      successful: [],
      failed: [],
      unprocessed: [],
    };
    this.jobs.set(id, job);
    this.counted.jobsCreated += 1;
    return sfJson(200, job.info);
  }

  private upload(req: SandboxRequest, job: BulkJob): SandboxResponse {
    if (job.info.state !== 'Open') {
      return sfError(
        409,
        'INVALIDJOB',
        `Job ${job.info.id} is not Open (state ${job.info.state}); data can only be uploaded to an Open job`,
      );
    }
    if (job.columns.length > 0)
      return sfError(409, 'INVALIDJOB', `Job ${job.info.id} already has data; upload the data of a job once`);
    let table: string[][];
    try {
      table = parse(req.rawBody.toString('utf8'), {
        delimiter: DELIMITERS[String(job.info.columnDelimiter)] ?? ',',
        skip_empty_lines: true,
        bom: true,
      });
    } catch (e) {
      return sfError(400, 'INVALIDJOB', `Unable to parse the CSV data: ${(e as Error).message}`);
    }
    const [header, ...rows] = table;
    if (!header || header.length === 0) return sfError(400, 'INVALIDJOB', 'The CSV data has no header row');
    job.columns = header;
    job.rows = rows;
    this.counted.recordsUploaded += rows.length;
    // Record faults are decided at upload, the request the rows arrived in.
    rows.forEach((_row, i) => {
      const fault = this.ctx.faults.takeRecordFault(req, i + 1);
      if (fault) job.rowFaults[i + 1] = fault;
    });
    return {
      status: 201,
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body: '',
      records: rows.length,
    };
  }

  private changeState(req: SandboxRequest, job: BulkJob): SandboxResponse {
    const wanted = asObject(req.body)?.state;
    const state = job.info.state;
    if (wanted === 'UploadComplete' && state === 'Open') {
      job.info.state = 'UploadComplete';
    } else if (wanted === 'Aborted' && !CLOSED_STATES.includes(state)) {
      job.info.state = 'Aborted';
      job.unprocessed = job.rows;
    } else {
      return sfError(400, 'INVALIDJOB', `Invalid state transition from ${state} to ${String(wanted)}`);
    }
    job.info.systemModstamp = formatDateTime(this.ctx.now());
    return sfJson(200, job.info);
  }

  private advance(job: BulkJob): Record<string, unknown> {
    advanceJob(job, this.pollsBeforeComplete, () => this.process(job));
    return job.info;
  }

  private process(job: BulkJob): void {
    job.info.systemModstamp = formatDateTime(this.ctx.now());
    const def = findObject(this.store.schema, job.info.object) as ObjectDef;
    if (job.rows.length === 0 && job.columns.length === 0) {
      job.info.state = 'Failed';
      job.info.errorMessage = 'InvalidBatch : No data was uploaded for this job';
      return;
    }
    const unknown = job.columns.find((c) => !findField(def, c));
    if (unknown) {
      job.info.state = 'Failed';
      job.info.errorMessage = `InvalidBatch : Field name not found : ${unknown}`;
      job.unprocessed = job.rows;
      return;
    }
    const keyField = job.info.externalIdFieldName
      ? findField(def, String(job.info.externalIdFieldName))
      : undefined;
    job.rows.forEach((row, i) => {
      const outcome = job.rowFaults[i + 1]
        ? faultOutcome(job.rowFaults[i + 1] as RecordFault)
        : this.writeRow(job, def, keyField, row);
      if (outcome.ok) job.successful.push([outcome.id, String(outcome.created), ...row]);
      else {
        const e = outcome.errors[0];
        job.failed.push([outcome.id ?? '', e ? bulkErrorCell(e) : 'UNKNOWN_EXCEPTION', ...row]);
      }
    });
    job.info.state = 'JobComplete';
    job.info.numberRecordsProcessed = job.rows.length;
    job.info.numberRecordsFailed = job.failed.length;
  }

  private writeRow(
    job: BulkJob,
    def: ObjectDef,
    keyField: ReturnType<typeof findField>,
    row: string[],
  ): WriteOutcome {
    const input: Record<string, unknown> = {};
    let id: string | undefined;
    job.columns.forEach((column, c) => {
      const value = row[c] ?? '';
      const f = findField(def, column);
      if (f?.name === 'Id') {
        if (value !== '') id = value;
      } else if (value === '#N/A') input[column] = null;
      else if (value !== '') input[column] = value;
    });
    const missingId = (): WriteOutcome => ({
      ok: false,
      errors: [
        {
          statusCode: 'MISSING_ARGUMENT',
          message: `Id not specified in an ${job.info.operation} call`,
          fields: [],
        },
      ],
    });
    switch (job.info.operation) {
      case 'insert':
        return this.store.create(def.name, input);
      case 'update':
        return id ? this.store.update(def.name, id, input) : missingId();
      case 'upsert':
        return keyField ? this.store.upsert(def.name, keyField, input) : missingId();
      default:
        return id ? this.store.delete(id) : missingId();
    }
  }

  private results(
    job: BulkJob,
    kind: 'successfulResults' | 'failedResults' | 'unprocessedrecords',
  ): SandboxResponse {
    const header =
      kind === 'successfulResults'
        ? ['sf__Id', 'sf__Created', ...job.columns]
        : kind === 'failedResults'
          ? ['sf__Id', 'sf__Error', ...job.columns]
          : job.columns;
    const rows =
      kind === 'successfulResults' ? job.successful : kind === 'failedResults' ? job.failed : job.unprocessed;
    const csv =
      header.length === 0 ? '' : stringify([header, ...rows], { quoted: true, record_delimiter: 'unix' });
    return { status: 200, headers: { 'Content-Type': 'text/csv' }, body: csv };
  }
}

/**
 * A status check moves a Bulk 2.0 job (ingest or query) along: UploadComplete → InProgress → after
 * `pollsBeforeComplete` more checks, `finish` (which sets the final state).
 */
/** `GET /jobs/ingest` or `/jobs/query`: every job of the kind, on one page. */
export function jobList(jobs: Iterable<{ info: Record<string, unknown> }>): SandboxResponse {
  return sfJson(200, { done: true, records: [...jobs].map((j) => j.info), nextRecordsUrl: null });
}

export function advanceJob(
  job: { info: { state: string }; polls: number },
  pollsBeforeComplete: number,
  finish: () => void,
): void {
  if (job.info.state === 'UploadComplete') {
    job.info.state = 'InProgress';
    job.polls = 0;
  } else if (job.info.state === 'InProgress') {
    job.polls += 1;
    if (job.polls >= pollsBeforeComplete) finish();
  }
}

function faultOutcome(fault: RecordFault): WriteOutcome {
  return {
    ok: false,
    errors: [
      { statusCode: fault.code, message: fault.message ?? defaultFaultMessage(fault.code), fields: [] },
    ],
  };
}

/** The message an injected record fault carries when the fault gives none. */
/**
 * An `sf__Error` cell: `CODE:message:fields --` for errors on fields; without fields Salesforce also writes the
 * bare `CODE:message` form (reference salesforce-api.md, "answers that differ from a kind sandbox").
 */
function bulkErrorCell(e: { statusCode: string; message: string; fields: string[] }): string {
  return e.fields.length > 0
    ? `${e.statusCode}:${e.message}:${e.fields.join(',')} --`
    : `${e.statusCode}:${e.message}`;
}

export function defaultFaultMessage(code: string): string {
  return code === 'UNABLE_TO_LOCK_ROW'
    ? 'unable to obtain exclusive access to this record'
    : `injected fault: ${code}`;
}
