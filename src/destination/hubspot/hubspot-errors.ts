/**
 * HubSpot failures → PqlsyncError, decided by status and category, so the batch writer knows what to do:
 * 401/403 stop the run (config); 429 `DAILY` stops the run; other 429s and 5xx are transient (backed off and
 * retried); a 400 or a 409 CONFLICT on a batch write is splittable (the writer bisects it to isolate the bad
 * records: HubSpot refuses a whole batch when one input's email or unique value belongs to another record).
 *
 * Glossary:
 * - ApiException: what `@hubspot/api-client` throws for any status outside 2xx: `{code, body, headers}` with
 *   the parsed JSON body and lower-case header names.
 * - request: `METHOD /path` of the call, named in every message so a failure says where it happened.
 */
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { DailyBudgetSpent, type DailyBudget } from './hubspot-limiter.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, isTransportFailure, unreachableError } from '../transport.js';

/** What the client's ApiException carries; anything else thrown is a network failure. */
export interface HubspotHttpError {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

export function asHubspotHttpError(err: unknown): HubspotHttpError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; body?: unknown; headers?: unknown };
  if (typeof e.code !== 'number' || e.code < 100) return undefined;
  const headers: Record<string, string> = {};
  if (typeof e.headers === 'object' && e.headers !== null) {
    for (const [k, v] of Object.entries(e.headers)) headers[k.toLowerCase()] = String(v);
  }
  return { code: e.code, body: e.body, headers };
}

export interface HubspotErrorContext {
  /** The destination's name in the config. */
  destination: string;
  /** `POST /crm/v3/objects/contacts/batch/upsert` */
  request: string;
  sync?: string;
  baseUrl: string;
  /** True for batch writes: a 400 or 409 there is split to isolate bad records. */
  splittable?: boolean;
  /** The destination's `request_timeout_ms`. (Default: DEFAULT_REQUEST_TIMEOUT_MS) */
  timeoutMs?: number;
}

/** The readable parts of a HubSpot error body. */
export function errorBodyParts(body: unknown): { message: string; category: string; policyName?: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const raw =
    typeof b.message === 'string' ? b.message : typeof body === 'string' ? body : JSON.stringify(body);
  const category =
    typeof b.category === 'string' ? b.category : typeof b.errorType === 'string' ? b.errorType : 'UNKNOWN';
  return {
    message: readableMessage(raw ?? ''),
    category,
    ...(typeof b.policyName === 'string' ? { policyName: b.policyName } : {}),
  };
}

/**
 * HubSpot packs property problems as JSON inside the message ("Property values were not valid: [{...}]");
 * this turns them into `name: message (ERROR)` parts.
 */
export function readableMessage(message: string): string {
  const prefix = 'Property values were not valid: ';
  if (!message.startsWith(prefix)) return message;
  try {
    const issues: unknown = JSON.parse(message.slice(prefix.length));
    if (!Array.isArray(issues)) return message;
    const parts = issues.map((i: unknown) => {
      const issue = (typeof i === 'object' && i !== null ? i : {}) as Record<string, unknown>;
      const name = typeof issue.name === 'string' ? issue.name : '?';
      const text = typeof issue.message === 'string' ? issue.message : JSON.stringify(issue);
      return typeof issue.error === 'string' ? `${name}: ${text} (${issue.error})` : `${name}: ${text}`;
    });
    return `Property values were not valid: ${parts.join('; ')}`;
  } catch {
    return message;
  }
}

/** Translates anything a client call threw. */
export function hubspotError(err: unknown, ctx: HubspotErrorContext): PqlsyncError {
  const location = ctx.sync ? { sync: ctx.sync } : {};
  if (err instanceof DailyBudgetSpent) return dailyLimitError(err.budget, location);
  const http = asHubspotHttpError(err);
  if (!http && isTransportFailure(err)) {
    const [method, path] = ctx.request.split(' ');
    return unreachableError(err, {
      crm: 'HubSpot',
      destination: ctx.destination,
      urlField: 'base_url',
      request: `${method ?? ''} ${ctx.baseUrl}${path ?? ''}`,
      timeoutMs: ctx.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ...(ctx.sync ? { sync: ctx.sync } : {}),
    });
  }
  if (!http) {
    const message = err instanceof Error ? err.message : String(err);
    return new PqlsyncError(
      'DESTINATION_REQUEST_FAILED',
      `could not reach HubSpot at ${ctx.baseUrl} (${ctx.request}): ${message}`,
      { kind: 'transient', location, cause: err },
    );
  }
  const { message, category, policyName } = errorBodyParts(http.body);
  const said = `${http.code} ${category}: ${message}`;
  if (http.code === 401) {
    return new PqlsyncError(
      'DESTINATION_AUTH_FAILED',
      `HubSpot refused the access token of destination '${ctx.destination}' (${ctx.request} answered ${said})`,
      {
        location: { ...location, path: `destinations.${ctx.destination}.access_token` },
        hint: 'set access_token to a private app token (pat-...) from HubSpot Settings > Integrations > Private Apps; a 401 is not retried',
      },
    );
  }
  if (http.code === 403) {
    return new PqlsyncError(
      'DESTINATION_AUTH_FAILED',
      `HubSpot denied ${ctx.request} to destination '${ctx.destination}' (${said})`,
      {
        location: { ...location, path: `destinations.${ctx.destination}.access_token` },
        hint: 'give the private app the crm.objects.contacts/companies read and write scopes and crm.schemas read and write',
      },
    );
  }
  if (http.code === 429 && policyName === 'DAILY') {
    return dailyLimitError(
      {
        daily: Number(http.headers['x-hubspot-ratelimit-daily']),
        remaining: Number(http.headers['x-hubspot-ratelimit-daily-remaining']),
      },
      location,
    );
  }
  if (http.code === 429) {
    return new PqlsyncError(
      'DESTINATION_RATE_LIMITED',
      `HubSpot rate limit reached on ${ctx.request} (${said})`,
      {
        kind: 'transient',
        location,
        // The limiter read this answer's headers and holds the next requests until HubSpot's window has room.
        details: { policyName: policyName ?? null },
      },
    );
  }
  if (http.code >= 500) {
    return new PqlsyncError('DESTINATION_REQUEST_FAILED', `HubSpot answered ${ctx.request} with ${said}`, {
      kind: 'transient',
      location,
    });
  }
  if (http.code === 400 && message.startsWith('Unable to perform update/upsert by non-unique')) {
    return new PqlsyncError('DESTINATION_PREFLIGHT_FAILED', `HubSpot refused ${ctx.request}: ${message}`, {
      location,
      hint: 'match on a property created with hasUniqueValue: true (e.g. product_user_id), or on email for contacts',
    });
  }
  return new PqlsyncError('DESTINATION_REQUEST_FAILED', `HubSpot refused ${ctx.request} (${said})`, {
    kind: 'system',
    location,
    details: {
      status: http.code,
      ...(ctx.splittable && (http.code === 400 || http.code === 409) ? { splittable: true } : {}),
    },
  });
}

/**
 * HubSpot's daily budget is spent: from a 429 `DAILY`, or from the limiter once `X-HubSpot-RateLimit-Daily-Remaining`
 * reached 0 (then the request is not sent, sparing HubSpot an error response).
 */
function dailyLimitError(budget: DailyBudget, location: { sync?: string }): PqlsyncError {
  const { daily, remaining } = budget;
  const usage = Number.isFinite(daily)
    ? ` (${Number.isFinite(remaining) ? daily - remaining : daily} of ${daily} requests used today)`
    : '';
  return new PqlsyncError(
    'DESTINATION_DAILY_LIMIT',
    `HubSpot's daily API limit is used up${usage}; the run stopped after committing what was applied`,
    {
      location,
      hint: "the limit resets at midnight in the HubSpot account's time zone; the next run sends the rest",
      details: { daily, remaining },
    },
  );
}
