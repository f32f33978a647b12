/**
 * One Bulk API 2.0 query job, for `pqlsync pull`'s large reads: jsforce's QueryJobV2 creates it and checks its
 * state (polling with backoff is ours, as for ingest jobs), then the results are read one result set at a time
 * (`GET .../results?maxRecords=N[&locator=L]`, the next locator in the `Sforce-Locator` header until it reads
 * `null`), each set parsed by jsforce's CSV parser and handed on before the next is asked for.
 *
 * Why not `conn.bulk2.query(soql)`: jsforce 3.10.16 pipes every result set into one stream that the first set's
 * end closes, so results of more than one set crash the process with ERR_STREAM_WRITE_AFTER_END, an error no
 * caller can catch (jsforce#1546; reproduced against the sandbox). It also holds every set before it returns.
 *
 * Glossary:
 * - result set: one results answer, at most `maxRecords` records, with its own CSV header row;
 *   `Sforce-NumberOfRecords` says how many (checked, so a cut-off answer is an error, not a short read).
 * - CSV values: strings; a null arrives as an empty field (the reader maps `''` back to null).
 */
import type { Connection, HttpRequest, HttpRequestOptions, Schema } from 'jsforce';
import { QueryJobV2 } from 'jsforce/lib/api/bulk2.js';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { waitForJob, type JobPolling } from './salesforce-bulk.js';

export interface BulkQueryOptions extends JobPolling {
  /** The object read (for messages). */
  object: string;
  /** Records per result set (`maxRecords`). (Default: 50,000) */
  pageSize?: number;
  /** Wraps each request: token, error mapping. */
  call: <T>(fn: () => PromiseLike<T>) => Promise<T>;
}

export const BULK_QUERY_PAGE_SIZE = 50_000;

/** The records of `soql`, one result set at a time, as CSV strings per column. */
export async function* bulkQuery(
  conn: Connection,
  soql: string,
  options: BulkQueryOptions,
): AsyncGenerator<Array<Record<string, string>>> {
  // `<Schema>` named, not inferred from `conn` (that made tsc compute the variance of jsforce's Connection class).
  const job = new QueryJobV2<Schema>(conn, {
    bodyParams: { query: soql, operation: 'query', columnDelimiter: 'COMMA', lineEnding: 'LF' },
    pollingOptions: conn.bulk2,
  });
  const name = (): string => `Bulk API 2.0 query job ${job.id} (${options.object})`;
  await options.call(() => job.open());
  const info = await waitForJob(
    () => options.call(() => job.check()),
    () => job.abort(),
    options,
    (state) =>
      new PqlsyncError(
        'DESTINATION_REQUEST_FAILED',
        `${name()} did not finish within ${Math.round(options.pollTimeoutMs / 1000)}s (state ${state}); pqlsync aborted it`,
        {
          kind: 'system',
          hint: 'the watermark did not move, so the next pull reads these records again; raise bulk_poll_timeout_ms if Salesforce is slow today',
          details: { jobId: job.id },
        },
      ),
  );
  if (info.state !== 'JobComplete') {
    const reason = (info as { errorMessage?: unknown }).errorMessage;
    throw new PqlsyncError(
      'DESTINATION_REQUEST_FAILED',
      `${name()} ended ${info.state}${typeof reason === 'string' && reason ? `: ${reason}` : ''}`,
      {
        kind: 'system',
        hint: 'the watermark did not move, so the next pull reads these records again; raise pull_bulk_threshold to read them with SOQL and queryMore instead',
        details: { jobId: job.id },
      },
    );
  }
  let locator: string | undefined;
  for (;;) {
    const set = await options.call(() =>
      resultSet(conn, job.id, locator, options.pageSize ?? BULK_QUERY_PAGE_SIZE),
    );
    if (set.count !== undefined && set.count !== set.rows.length) {
      throw new PqlsyncError(
        'DESTINATION_REQUEST_FAILED',
        `${name()}: a result set announced ${set.count} records (Sforce-NumberOfRecords) but held ${set.rows.length}`,
        { kind: 'transient', details: { jobId: job.id } },
      );
    }
    yield set.rows;
    if (!set.next || set.next === 'null') return;
    locator = set.next;
  }
}

/** One result set: its records (parsed by jsforce), the next locator and the announced record count. */
async function resultSet(
  conn: Connection,
  jobId: string,
  locator: string | undefined,
  maxRecords: number,
): Promise<{ rows: Array<Record<string, string>>; next?: string; count?: number }> {
  let headers: Record<string, string | undefined> = {};
  // conn.request does not show the response headers; a transport that notes them on the way does (the last
  // answer wins, so a replay after a token refresh is what counts).
  const transport = {
    httpRequest: (req: HttpRequest, opts?: HttpRequestOptions) => {
      const sent = conn._transport.httpRequest(req, opts);
      sent.then(
        (res) => {
          headers = res.headers as Record<string, string | undefined>;
        },
        () => undefined,
      );
      return sent;
    },
  };
  const query = new URLSearchParams({ maxRecords: String(maxRecords), ...(locator ? { locator } : {}) });
  const rows = await conn.request<Array<Record<string, string>> | string>(
    {
      method: 'GET',
      url: `/jobs/query/${jobId}/results?${query.toString()}`,
      headers: { Accept: 'text/csv' },
    },
    { transport, responseType: 'text/csv' },
  );
  const count = headers['sforce-numberofrecords'];
  return {
    // An empty answer (no records, no header row) parses to an empty string.
    rows: Array.isArray(rows) ? rows : [],
    ...(headers['sforce-locator'] ? { next: headers['sforce-locator'] } : {}),
    ...(count !== undefined && /^\d+$/.test(count) ? { count: Number(count) } : {}),
  };
}
