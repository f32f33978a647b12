/**
 * One Bulk API 2.0 ingest job, driven step by step through jsforce's IngestJobV2 so the polling is ours:
 * create → upload our CSV → UploadComplete → poll with backoff until JobComplete (or a timeout, which aborts
 * the job) → successful / failed / unprocessed results, mapped back to one outcome per change by the key column
 * (results come back in any order).
 */
import { parse } from 'csv-parse/sync';
import type { Connection } from 'jsforce';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type { RecordOutcome } from '../destination.js';
import { parseBulkError, recordFailure } from './salesforce-errors.js';

export interface BulkJobOptions {
  /** The sync writing (for error locations). */
  sync: string;
  object: string;
  operation: 'upsert' | 'update';
  /** Upsert: the External ID field; also the column results are matched on. */
  externalIdField?: string;
  /** The CSV to upload (header + rows). */
  csv: string;
  /** The column whose value identifies a row in the results (the external id, or `Id` for updates). */
  keyColumn: string;
  /** Lower-cased key column value → change key. */
  keys: ReadonlyMap<string, string>;
  /** Give up (and abort the job) after this long. */
  pollTimeoutMs: number;
  /** First wait between status checks; doubles up to `maxPollIntervalMs`. (Default: 1,000) */
  pollIntervalMs?: number;
  /** (Default: 10,000) */
  maxPollIntervalMs?: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** Assignment rule Id for created Leads/Accounts (Bulk jobs ignore the Sforce-Auto-Assign header). */
  assignmentRuleId?: string;
}

const FINAL_STATES = ['JobComplete', 'Failed', 'Aborted'];

/**
 * CSV bytes per Bulk API 2.0 job: one upload may carry at most 150 MB once Salesforce has base64-encoded it, which
 * adds about half again, so Salesforce says to upload at most 100 MB ("Upload Job Data", Bulk API 2.0 guide). A
 * job takes one upload, so this is also the most one job holds.
 */
export const BULK_UPLOAD_MAX_BYTES = 100 * 1024 * 1024;

/**
 * Records Bulk API 2.0 ingests per rolling 24 hours (150,000,000: Bulk API 2.0 limits); a bigger change set could
 * not finish today anyway, so no job is planned beyond it.
 */
export const BULK_RECORDS_PER_DAY = 150_000_000;

/**
 * Splits `items` into as few consecutive parts as fit one job upload each: the whole set when its CSV fits, else
 * halves, each split again until it fits. Returns each part with its CSV, so nothing is built twice.
 */
export function uploadParts<T>(
  items: T[],
  csvOf: (part: T[]) => string,
  maxBytes: number = BULK_UPLOAD_MAX_BYTES,
): Array<{ items: T[]; csv: string }> {
  const csv = csvOf(items);
  if (items.length <= 1 || Buffer.byteLength(csv) <= maxBytes) return [{ items, csv }];
  const mid = Math.ceil(items.length / 2);
  return [
    ...uploadParts(items.slice(0, mid), csvOf, maxBytes),
    ...uploadParts(items.slice(mid), csvOf, maxBytes),
  ];
}

/** How a Bulk API 2.0 job's state is checked until it is final. */
export interface JobPolling {
  /** Give up (and abort the job) after this long. */
  pollTimeoutMs: number;
  /** First wait between status checks; doubles up to `maxPollIntervalMs`. (Default: 1,000) */
  pollIntervalMs?: number;
  /** (Default: 10,000) */
  maxPollIntervalMs?: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/**
 * Checks a Bulk API 2.0 job (ingest or query) until it is JobComplete, Failed or Aborted, with backoff between
 * checks, and returns its last info; past the timeout it aborts the job and throws `timedOut(state)`.
 */
export async function waitForJob<I extends { state: string }>(
  check: () => Promise<I>,
  abort: () => Promise<unknown>,
  polling: JobPolling,
  timedOut: (state: string) => PqlsyncError,
): Promise<I> {
  const started = polling.now();
  let interval = polling.pollIntervalMs ?? 1000;
  const maxInterval = polling.maxPollIntervalMs ?? 10_000;
  let info = await check();
  while (!FINAL_STATES.includes(info.state)) {
    const left = started + polling.pollTimeoutMs - polling.now();
    if (left <= 0) {
      await abort().catch(() => undefined);
      throw timedOut(info.state);
    }
    await polling.sleep(Math.min(interval, left));
    interval = Math.min(maxInterval, interval * 2);
    info = await check();
  }
  return info;
}

export async function runBulkJob(conn: Connection, options: BulkJobOptions): Promise<RecordOutcome[]> {
  const job = conn.bulk2.createJob({
    object: options.object,
    operation: options.operation,
    lineEnding: 'LF',
    columnDelimiter: 'COMMA',
    ...(options.externalIdField ? { externalIdFieldName: options.externalIdField } : {}),
    ...(options.assignmentRuleId ? { assignmentRuleId: options.assignmentRuleId } : {}),
  });
  await job.open();
  await job.uploadData(options.csv);
  await job.close();

  const info = await waitForJob(
    () => job.check(),
    () => job.abort(),
    options,
    (state) =>
      new PqlsyncError(
        'DESTINATION_REQUEST_FAILED',
        `Bulk API 2.0 job ${job.id} (${options.operation} ${options.object}) did not finish within ${Math.round(options.pollTimeoutMs / 1000)}s (state ${state}); pqlsync aborted it`,
        {
          kind: 'system',
          location: { sync: options.sync },
          hint: 'nothing of this batch was committed, so the next run sends it again (upserts are idempotent); raise bulk_poll_timeout_ms if Salesforce is slow today',
          details: { jobId: job.id },
        },
      ),
  );
  if (info.state !== 'JobComplete') {
    throw new PqlsyncError(
      'DESTINATION_REQUEST_FAILED',
      `Bulk API 2.0 job ${job.id} (${options.operation} ${options.object}) ended ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''}`,
      { kind: 'config', location: { sync: options.sync }, details: { jobId: job.id } },
    );
  }

  const outcomes = new Map<string, RecordOutcome>();
  const keyOf = (row: Record<string, string>): string | undefined =>
    options.keys.get(String(row[options.keyColumn] ?? row.sf__Id ?? '').toLowerCase());
  for (const row of readCsv(await job.getSuccessfulResults(true))) {
    const key = keyOf(row);
    if (key)
      outcomes.set(key, {
        key,
        status: 'applied',
        destinationId: row.sf__Id ?? '',
        created: row.sf__Created === 'true',
      });
  }
  for (const row of readCsv(await job.getFailedResults(true))) {
    const key = keyOf(row);
    if (key) outcomes.set(key, recordFailure(key, [parseBulkError(row.sf__Error ?? '')]));
  }
  const unprocessed = await job.getUnprocessedRecords(true);
  for (const row of readCsv(typeof unprocessed === 'string' ? unprocessed : '')) {
    const key = keyOf(row);
    if (key)
      outcomes.set(key, { key, status: 'retryable', reason: `not processed by Bulk API 2.0 job ${job.id}` });
  }
  return [...options.keys.values()].map(
    (key) =>
      outcomes.get(key) ?? {
        key,
        status: 'retryable',
        reason: `Bulk API 2.0 job ${job.id} returned no result for this record`,
      },
  );
}

function readCsv(text: string): Array<Record<string, string>> {
  if (!text || !text.trim()) return [];
  return parse(text, { columns: true, skip_empty_lines: true, bom: true }) as Array<Record<string, string>>;
}
