/**
 * A local BigQuery REST endpoint backed by in-memory DuckDB, for driving the real @google-cloud/bigquery client in
 * tests (warehouses.md §1.2). It answers the calls pqlsync makes: jobs.insert (with dry runs and sessions),
 * jobs.query, jobs.getQueryResults (paged), jobs.get, datasets.get/insert and tables.get. Paths work with and
 * without the `/bigquery/v2` prefix.
 *
 * It proves the client wiring and the shape of the SQL we send, not BigQuery's SQL semantics: statements are
 * translated by `translateBigquerySql` and run on DuckDB.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DuckdbEngine,
  type EngineCell,
  type EngineColumn,
  type EngineResult,
} from '../../sandbox/duckdb-engine.js';
import { EngineSandbox } from '../../sandbox/engine-sandbox.js';
import { readJsonBody } from '../../sandbox/local-server.js';
import { translateBigquerySql, type BigqueryParam } from './bigquery-sql.js';

export interface BigquerySandboxOptions {
  /** The bearer token requests must carry. (Default: `sandbox-token`) */
  token?: string;
  /** Port on 127.0.0.1. (Default: a free one) */
  port?: number;
  /**
   * Also answer as the GCE metadata server (`GCE_METADATA_HOST`), handing out `token` as the default service
   * account's access token: Application Default Credentials as on GKE Workload Identity, Cloud Run or a VM.
   * (Default: false)
   */
  metadataServer?: boolean;
}

/** One logged request: what the client sent, including each statement's SQL as received. */
export interface BigqueryRequestLog {
  method: string;
  path: string;
  query?: string;
  dryRun?: boolean;
  /** A job's location, or a created dataset's (US when the client names none, as BigQuery defaults). */
  location?: string;
  status: number;
}

interface StoredJob {
  jobId: string;
  projectId: string;
  location: string;
  result: EngineResult | undefined;
  sessionId: string | undefined;
  bytes: number;
}

const BQ_TYPES: Record<EngineColumn['kind'], string> = {
  integer: 'INTEGER',
  float: 'FLOAT',
  decimal: 'NUMERIC',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  text: 'STRING',
  list: 'STRING',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** GoogleSQL's FORMAT_* functions (the translator spells `%E6S` as DuckDB's `%S.%f` in string literals). */
const BIGQUERY_MACROS = [
  `create macro format_date(f, x) as strftime(x, f)`,
  `create macro format_datetime(f, x) as strftime(x, f)`,
  `create macro format_timestamp(f, x, tz) as strftime(timezone(tz, cast(x as timestamptz)), f)`,
];

export class BigquerySandbox extends EngineSandbox {
  readonly requests: BigqueryRequestLog[] = [];
  private readonly jobs = new Map<string, StoredJob>();
  private readonly token: string;
  constructor(private readonly options: BigquerySandboxOptions = {}) {
    super(options.port);
    this.token = options.token ?? 'sandbox-token';
  }

  /** The SQL statements received, in order (without the session's opening `select 1`). */
  statements(): string[] {
    return this.requests.filter((r) => r.query !== undefined && r.query !== 'select 1').map((r) => r.query!);
  }

  protected override setupSql(): string[] {
    return BIGQUERY_MACROS;
  }

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/^\/bigquery\/v2/, '');
    const entry: BigqueryRequestLog = { method: req.method ?? 'GET', path, status: 200 };
    this.requests.push(entry);
    const send = (status: number, body: unknown) => {
      entry.status = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.options.metadataServer && url.pathname.startsWith('/computeMetadata/v1/')) {
      return this.metadata(url.pathname, req, send, res);
    }
    try {
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        throw new HttpError(401, 'Request is missing required authentication credential.', 'unauthorized');
      }
      const body = req.method === 'POST' ? await readJsonBody(req) : {};
      send(200, await this.route(req.method ?? 'GET', path, url.searchParams, body, entry));
    } catch (err) {
      const e =
        err instanceof HttpError
          ? err
          : new HttpError(400, err instanceof Error ? err.message : String(err), 'invalidQuery');
      send(e.status, {
        error: { code: e.status, message: e.message, errors: [{ reason: e.reason, message: e.message }] },
      });
    }
  }

  /** The metadata server's answers ADC needs: its presence, and the default service account's token. */
  private metadata(
    pathname: string,
    req: IncomingMessage,
    send: (status: number, body: unknown) => void,
    res: ServerResponse,
  ): void {
    res.setHeader('Metadata-Flavor', 'Google');
    // The metadata server refuses requests without this header (a guard against forwarded requests).
    if (req.headers['metadata-flavor'] !== 'Google')
      return send(403, { error: 'Missing Metadata-Flavor header' });
    if (pathname === '/computeMetadata/v1/instance' || pathname === '/computeMetadata/v1/instance/')
      return send(200, {});
    if (pathname === '/computeMetadata/v1/instance/service-accounts/default/token')
      return send(200, { access_token: this.token, expires_in: 3599, token_type: 'Bearer' });
    send(404, { error: `the BigQuery sandbox's metadata server does not serve ${pathname}` });
  }

  private async route(
    method: string,
    path: string,
    search: URLSearchParams,
    body: Record<string, unknown>,
    entry: BigqueryRequestLog,
  ): Promise<unknown> {
    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/projects\/([^/]+)\/jobs$/.exec(path))) {
      return this.insertJob(m[1]!, body, entry);
    }
    if (method === 'POST' && (m = /^\/projects\/([^/]+)\/queries$/.exec(path))) {
      entry.location = String(body.location ?? 'US');
      const job = await this.runJob(m[1]!, entry.location, body, entry);
      return this.queryResults(job, search, true);
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/queries\/([^/]+)$/.exec(path))) {
      return this.queryResults(this.job(m[2]!), search, false);
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/jobs\/([^/]+)$/.exec(path))) {
      return this.jobResource(this.job(m[2]!), false);
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/datasets\/([^/]+)$/.exec(path))) {
      const ds = decodeURIComponent(m[2]!);
      if (!(await this.schemaExists(ds)))
        throw new HttpError(404, `Not found: Dataset ${m[1]}:${ds}`, 'notFound');
      return {
        kind: 'bigquery#dataset',
        id: `${m[1]}:${ds}`,
        datasetReference: { projectId: m[1], datasetId: ds },
      };
    }
    if (method === 'POST' && (m = /^\/projects\/([^/]+)\/datasets$/.exec(path))) {
      const ref = body.datasetReference as { datasetId?: string } | undefined;
      const ds = String(ref?.datasetId ?? '');
      entry.location = String(body.location ?? 'US');
      if (await this.schemaExists(ds))
        throw new HttpError(409, `Already Exists: Dataset ${m[1]}:${ds}`, 'duplicate');
      await this.db().run(`create schema "${ds.replace(/"/g, '""')}"`);
      return {
        kind: 'bigquery#dataset',
        id: `${m[1]}:${ds}`,
        datasetReference: { projectId: m[1], datasetId: ds },
      };
    }
    if (method === 'GET' && (m = /^\/projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(path))) {
      return this.tableResource(m[1]!, decodeURIComponent(m[2]!), decodeURIComponent(m[3]!));
    }
    throw new HttpError(404, `the BigQuery sandbox does not serve ${method} ${path}`, 'notFound');
  }

  private db(): DuckdbEngine {
    if (!this.engine) throw new HttpError(503, 'sandbox stopped', 'backendError');
    return this.engine;
  }

  private job(jobId: string): StoredJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new HttpError(404, `Not found: Job ${jobId}`, 'notFound');
    return job;
  }

  private async insertJob(
    projectId: string,
    body: Record<string, unknown>,
    entry: BigqueryRequestLog,
  ): Promise<unknown> {
    const config = (body.configuration ?? {}) as { query?: Record<string, unknown>; dryRun?: boolean };
    const ref = (body.jobReference ?? {}) as { jobId?: string; location?: string };
    entry.location = ref.location ?? 'US';
    const job = await this.runJob(
      projectId,
      entry.location,
      { ...config.query, dryRun: config.dryRun, jobId: ref.jobId },
      entry,
    );
    return this.jobResource(job, config.dryRun === true);
  }

  private async runJob(
    projectId: string,
    location: string,
    q: Record<string, unknown>,
    entry: BigqueryRequestLog,
  ): Promise<StoredJob> {
    const query = String(q.query ?? '');
    const dryRun = q.dryRun === true;
    entry.query = query;
    if (dryRun) entry.dryRun = true;
    const props = (q.connectionProperties ?? []) as { key: string; value: string }[];
    const sessionId =
      q.createSession === true ? randomUUID() : props.find((p) => p.key === 'session_id')?.value;
    const params = (q.queryParameters ?? []) as BigqueryParam[];
    const job: StoredJob = {
      jobId: String(q.jobId ?? randomUUID()),
      projectId,
      location,
      result: undefined,
      sessionId,
      bytes: 0,
    };
    if (/^\s*call\s+bq\.abort_session\s*\(\s*\)\s*;?\s*$/i.test(query)) {
      job.result = { columns: [], rows: [], rowsChanged: 0 };
    } else {
      const t = translateBigquerySql(query, params);
      if (dryRun) {
        await this.db().run(`explain ${t.sql}`, t.values);
        job.bytes = await this.estimateBytes(t.sql);
      } else {
        job.result = await this.db().run(t.sql, t.values);
      }
    }
    this.jobs.set(job.jobId, job);
    return job;
  }

  /**
   * What a dry run reports as `totalBytesProcessed`, estimated from the tables' sizes: each table the statement
   * names is counted whole (every column), by BigQuery's data sizes (STRING 2 bytes + its UTF-8 bytes, INT64,
   * FLOAT64, DATE and TIMESTAMP 8, BOOL 1, NUMERIC 16, NULL 0). An UPDATE, DELETE or MERGE bills its target table
   * whole, so that part is what BigQuery says; a read bills only the columns it references, so that part is an
   * upper bound. An INSERT's target is written, not scanned: it is not counted (`insert ... values` scans nothing).
   */
  private async estimateBytes(sql: string): Promise<number> {
    const { rows } = await this.db().run('select schema_name, table_name from duckdb_tables()');
    let bytes = 0;
    // An INSERT's target (and its column list) is not scanned.
    const text = sql.toLowerCase().replace(/^\s*insert\s+into\s+("[^"]*"|[\w.])+(\s*\([^)]*\))?/, '');
    for (const [schema, table] of rows) {
      const names = [`"${String(schema)}"."${String(table)}"`, `${String(schema)}.${String(table)}`].map(
        (s) => s.toLowerCase(),
      );
      if (names.some((n) => text.includes(n))) bytes += await this.tableBytes(String(schema), String(table));
    }
    return bytes;
  }

  /** A table's size by BigQuery's data sizes per type (see estimateBytes). */
  private async tableBytes(schema: string, table: string): Promise<number> {
    const { rows: columns } = await this.db().run(
      `select column_name, data_type from information_schema.columns
       where table_schema = $s and table_name = $t order by ordinal_position`,
      { s: schema, t: table },
    );
    if (columns.length === 0) return 0;
    const q = (id: string) => `"${id.replace(/"/g, '""')}"`;
    const sizes = columns.map(([name, type]) => {
      const c = q(String(name));
      const bq = bqTypeOf(String(type));
      const each =
        bq === 'STRING'
          ? `2 + strlen(cast(${c} as varchar))`
          : bq === 'BOOLEAN'
            ? '1'
            : bq === 'NUMERIC'
              ? '16'
              : '8';
      return `coalesce(sum(case when ${c} is null then 0 else ${each} end), 0)`;
    });
    const { rows } = await this.db().run(`select ${sizes.join(' + ')} from ${q(schema)}.${q(table)}`);
    return Number(rows[0]?.[0] ?? 0);
  }

  private jobResource(job: StoredJob, dryRun: boolean): unknown {
    const now = String(Date.now());
    return {
      kind: 'bigquery#job',
      id: `${job.projectId}:${job.location}.${job.jobId}`,
      jobReference: { projectId: job.projectId, jobId: job.jobId, location: job.location },
      configuration: { dryRun, jobType: 'QUERY' },
      status: { state: 'DONE' },
      statistics: {
        creationTime: now,
        startTime: now,
        endTime: now,
        totalBytesProcessed: String(job.bytes),
        query: {
          totalBytesProcessed: String(job.bytes),
          ...(job.result && job.result.columns.length === 0
            ? { numDmlAffectedRows: String(job.result.rowsChanged) }
            : {}),
        },
        ...(job.sessionId ? { sessionInfo: { sessionId: job.sessionId } } : {}),
      },
    };
  }

  private queryResults(job: StoredJob, search: URLSearchParams, fastPath: boolean): unknown {
    const result = job.result ?? { columns: [], rows: [], rowsChanged: 0 };
    const start = Number(search.get('pageToken') ?? 0);
    const max = search.get('maxResults');
    const end = max ? Math.min(result.rows.length, start + Number(max)) : result.rows.length;
    const fields = result.columns.map((c) => ({
      name: c.name,
      type: BQ_TYPES[c.kind],
      mode: c.kind === 'list' ? 'REPEATED' : 'NULLABLE',
    }));
    return {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: { projectId: job.projectId, jobId: job.jobId, location: job.location },
      ...(fields.length > 0 ? { schema: { fields } } : {}),
      rows: result.rows.slice(start, end).map((r) => ({ f: r.map(toF) })),
      totalRows: String(result.rows.length),
      ...(end < result.rows.length ? { pageToken: String(end) } : {}),
      jobComplete: true,
      ...(fields.length === 0 ? { numDmlAffectedRows: String(result.rowsChanged) } : {}),
      ...(fastPath && job.sessionId ? { sessionInfo: { sessionId: job.sessionId } } : {}),
    };
  }

  private async schemaExists(schema: string): Promise<boolean> {
    const { rows } = await this.db().run(
      'select count(*) from information_schema.schemata where schema_name = $s',
      { s: schema },
    );
    return Number(rows[0]?.[0] ?? 0) > 0;
  }

  private async tableResource(projectId: string, dataset: string, table: string): Promise<unknown> {
    const { rows } = await this.db().run(
      `select column_name, data_type from information_schema.columns
       where table_schema = $s and table_name = $t order by ordinal_position`,
      { s: dataset, t: table },
    );
    if (rows.length === 0)
      throw new HttpError(404, `Not found: Table ${projectId}:${dataset}.${table}`, 'notFound');
    return {
      kind: 'bigquery#table',
      id: `${projectId}:${dataset}.${table}`,
      tableReference: { projectId, datasetId: dataset, tableId: table },
      schema: {
        fields: rows.map(([name, type]) => ({
          name: String(name),
          type: bqTypeOf(String(type)),
          mode: 'NULLABLE',
        })),
      },
    };
  }
}

function toF(v: EngineCell): { v: unknown } {
  return { v: Array.isArray(v) ? v.map(toF) : v };
}

/** information_schema data types → BigQuery's legacy type names (what tables.get returns). */
function bqTypeOf(duck: string): string {
  const t = duck.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UBIGINT|UINTEGER)$/.test(t)) return 'INTEGER';
  if (/^(DOUBLE|FLOAT|REAL)$/.test(t)) return 'FLOAT';
  if (t.startsWith('DECIMAL')) return 'NUMERIC';
  if (t === 'BOOLEAN') return 'BOOLEAN';
  if (t === 'DATE') return 'DATE';
  if (t.startsWith('TIMESTAMP')) return 'TIMESTAMP';
  return 'STRING';
}
