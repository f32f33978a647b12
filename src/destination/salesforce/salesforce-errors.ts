/**
 * What Salesforce's errors mean for a run. Per-record codes become `rejected` (kept in failures with the reason)
 * or `retryable` (row locks: retried in smaller batches). Whole-request errors become PqlsyncErrors whose kind
 * tells the batch writer what to do: `transient` → retry with backoff; `splittable` → bisect the batch; auth and
 * the daily API limit → stop the run after committing what was applied.
 */
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import type { RecordOutcome } from '../destination.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, isTransportFailure, unreachableError } from '../transport.js';
import { FAILED_REQUEST } from './salesforce-connection.js';

/** Per-record codes worth retrying in the same run: lock contention and passing server trouble. */
export const RETRYABLE_RECORD_CODES = [
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'REQUEST_RUNNING_TOO_LONG',
  'ALL_OR_NONE_OPERATION_ROLLED_BACK',
] as const;

/** Whole-request codes that pass: jsforce does not retry POST/PATCH, so the batch writer retries them. */
const TRANSIENT_CODES = new Set([
  'SERVER_UNAVAILABLE',
  'REQUEST_RUNNING_TOO_LONG',
  'UNABLE_TO_LOCK_ROW',
  'ERROR_HTTP_408',
  'ERROR_HTTP_420',
  'ERROR_HTTP_429',
  'ERROR_HTTP_500',
  'ERROR_HTTP_502',
  'ERROR_HTTP_503',
  'ERROR_HTTP_504',
]);

/** One per-record error as it comes back: the wire says `statusCode`, jsforce's type says `errorCode`. */
export interface RecordError {
  statusCode?: string;
  errorCode?: string;
  message?: string;
  fields?: string[];
}

/**
 * The outcome for a record Salesforce refused. A converted Lead (CANNOT_UPDATE_CONVERTED_LEAD: Salesforce refuses
 * every update of it, for good) is `skipped`, not rejected: retrying it can never succeed.
 */
export function recordFailure(key: string, errors: readonly RecordError[]): RecordOutcome {
  const first = errors.find((e) => codeOf(e) !== 'ALL_OR_NONE_OPERATION_ROLLED_BACK') ?? errors[0];
  const code = first ? codeOf(first) : 'UNKNOWN_EXCEPTION';
  const reason = describeRecordErrors(errors);
  if (code === 'CANNOT_UPDATE_CONVERTED_LEAD') return { key, status: 'skipped', reason, code };
  return (RETRYABLE_RECORD_CODES as readonly string[]).includes(code)
    ? { key, status: 'retryable', reason, code }
    : { key, status: 'rejected', reason, code };
}

function codeOf(e: RecordError): string {
  return e.statusCode ?? e.errorCode ?? 'UNKNOWN_EXCEPTION';
}

/** A record's errors as one line: `CODE: message (fields: a, b)`, joined by `; `. */
export function describeRecordErrors(errors: readonly RecordError[] | undefined): string {
  if (!errors || errors.length === 0) return 'UNKNOWN_EXCEPTION: no error given';
  return errors.map(describeRecordError).join('; ');
}

function describeRecordError(e: RecordError): string {
  const fields = e.fields && e.fields.length > 0 ? ` (fields: ${e.fields.join(', ')})` : '';
  return `${codeOf(e)}: ${e.message ?? ''}${fields}`;
}

/**
 * Parses a Bulk API 2.0 `sf__Error` cell into a record error. Cells usually read `CODE:message:fields --`, but
 * forms without the trailing ` --` (and without fields) occur too: the code is what precedes the first colon.
 */
export function parseBulkError(cell: string): RecordError {
  const trimmed = cell.trim();
  const full = /^([A-Z][A-Z0-9_]*):(.*?)(?::([^:]*))?\s*--$/s.exec(trimmed);
  if (full) {
    const fields = (full[3] ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
    return { statusCode: full[1] ?? 'UNKNOWN_EXCEPTION', message: (full[2] ?? '').trim(), fields };
  }
  // Without the trailing ` --` the fields part cannot be told from the message: keep it all as the message.
  const bare = /^([A-Z][A-Z0-9_]*):(.*)$/s.exec(trimmed);
  if (!bare) return { statusCode: 'UNKNOWN_EXCEPTION', message: trimmed };
  return { statusCode: bare[1] ?? 'UNKNOWN_EXCEPTION', message: (bare[2] ?? '').trim(), fields: [] };
}

export interface ErrorContext {
  /** Destination name (for messages and hints). */
  destination: string;
  sync?: string;
  /** `Sforce-Limit-Info` api usage as jsforce parsed it, when known. */
  apiUsage?: { used: number; limit: number } | undefined;
  authType: string;
  /** The destination's `instance_url`, named when the failed request is not known. */
  instanceUrl?: string;
  /** The destination's `request_timeout_ms`. (Default: DEFAULT_REQUEST_TIMEOUT_MS) */
  timeoutMs?: number;
}

/** A request that got no answer (refused, reset, timed out) as DESTINATION_UNREACHABLE, naming its URL. */
export function unreachable(err: unknown, ctx: ErrorContext): PqlsyncError {
  const failed = (err as { [FAILED_REQUEST]?: unknown })[FAILED_REQUEST];
  const request = typeof failed === 'string' ? failed : (ctx.instanceUrl ?? 'the instance URL');
  return unreachableError(err, {
    crm: 'Salesforce',
    destination: ctx.destination,
    urlField: request.includes('/services/oauth2/') ? 'auth.login_url' : 'instance_url',
    request,
    timeoutMs: ctx.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(ctx.sync ? { sync: ctx.sync } : {}),
  });
}

/** Turns anything jsforce (or the network) threw for a whole request into a PqlsyncError. */
export function requestError(err: unknown, ctx: ErrorContext): PqlsyncError {
  if (err instanceof PqlsyncError) return err;
  const e = err as { errorCode?: unknown; name?: unknown; code?: unknown; message?: unknown; data?: unknown };
  const code =
    typeof e.errorCode === 'string' ? e.errorCode : typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const location = ctx.sync ? { sync: ctx.sync } : {};
  if (code === 'INVALID_SESSION_ID' || message.startsWith('Unable to refresh session')) {
    const refreshed = message.startsWith('Unable to refresh session');
    return new PqlsyncError(
      'DESTINATION_AUTH_FAILED',
      refreshed
        ? `Salesforce refused the access token of destination '${ctx.destination}', and getting a new one failed: ${message.replace(/^Unable to refresh session due to: /, '')}`
        : `Salesforce refused the access token of destination '${ctx.destination}' (INVALID_SESSION_ID: ${message})`,
      { kind: 'system', location, hint: authHint(ctx.authType), cause: err },
    );
  }
  if (code === 'REQUEST_LIMIT_EXCEEDED' && message.includes('ConcurrentPerOrgLongTxn')) {
    // Too many long-running requests of the org at once, not the daily allocation: back off and retry.
    return new PqlsyncError(
      'DESTINATION_RATE_LIMITED',
      `Salesforce's limit on concurrent long-running requests of the org was reached (REQUEST_LIMIT_EXCEEDED: ${firstLine(message)})`,
      { kind: 'transient', location, cause: err },
    );
  }
  if (code === 'REQUEST_LIMIT_EXCEEDED') {
    const u = ctx.apiUsage;
    const usage = u
      ? u.used >= u.limit
        ? ` (api-usage ${u.used}/${u.limit})`
        : ` (Sforce-Limit-Info last read api-usage ${u.used}/${u.limit})`
      : '';
    return new PqlsyncError(
      'DESTINATION_DAILY_LIMIT',
      `Salesforce's API request limit for the last 24 hours is used up${usage}: REQUEST_LIMIT_EXCEEDED: ${message}`,
      {
        kind: 'system',
        location,
        hint: 'records applied before the limit are committed; the next run sends the rest once the rolling 24-hour allocation recovers (Setup > System Overview shows API usage)',
        details: u ? { apiUsage: u } : undefined,
        cause: err,
      },
    );
  }
  if (isTransportFailure(err)) return unreachable(err, ctx);
  if ((code && TRANSIENT_CODES.has(code)) || e.name === 'FetchError') {
    return new PqlsyncError(
      'DESTINATION_REQUEST_FAILED',
      `Salesforce request failed (${code ?? 'network error'}): ${firstLine(message)}`,
      {
        kind: 'transient',
        location,
        cause: err,
      },
    );
  }
  return new PqlsyncError(
    'DESTINATION_REQUEST_FAILED',
    `Salesforce refused the request (${code ?? 'error'}: ${firstLine(message)})`,
    {
      kind: 'config',
      location,
      details: { splittable: true, code },
      cause: err,
    },
  );
}

/** What to check when Salesforce refuses the credentials of an auth type. */
export function authHint(authType: string): string {
  switch (authType) {
    case 'access_token':
      return 'access tokens expire; get a new one, or configure auth type refresh_token, jwt or client_credentials so pqlsync can renew it';
    case 'refresh_token':
      return 'the refresh token may be revoked or the connected app policy changed; authorize the app again and update the refresh token';
    case 'jwt':
      return 'check the consumer key (client_id), the username, that the user is pre-authorized for the connected app, and that the certificate matches the private key';
    default:
      return 'check the connected app: client credentials flow enabled, a run-as user set, and client_id/client_secret current';
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
