/**
 * Transport failures of CRM requests: no answer came back (connection refused or reset, a name that does not
 * resolve, a request timeout). They say nothing about the records of a batch, so they are never a record's
 * rejection: the batch writer retries the whole batch and stops the run when the CRM keeps not answering
 * (`batch-writer.ts`, the circuit breaker). Both CRM folders turn such failures into one error,
 * DESTINATION_UNREACHABLE, with the URL and a hint.
 *
 * Glossary:
 * - request timeout: how long one request may wait for the CRM's answer to start (`request_timeout_ms` of the
 *   destination). jsforce takes it as its `timeout` option; `@hubspot/api-client` through the http agent below.
 */
import http from 'node:http';
import https from 'node:https';
import { PqlsyncError } from '../errors/pqlsync-error.js';

/** How long a request waits for the CRM's answer when the destination sets no `request_timeout_ms`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/** Socket error codes that mean the request got no answer (node's, undici's). */
export const TRANSPORT_ERROR_CODES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'REQUEST_TIMEOUT',
] as const;

/** The code of a timeout raised by `requestTimeoutAgent` (and reported for jsforce's timeout). */
const TIMEOUT_CODE = 'REQUEST_TIMEOUT';

/** True for an error that means no answer came back; node-fetch wraps socket errors as FetchError `system`. */
export function isTransportFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; code?: unknown; type?: unknown; errno?: unknown };
  if (typeof e.code === 'string' && (TRANSPORT_ERROR_CODES as readonly string[]).includes(e.code))
    return true;
  // jsforce aborts a request that outlived its `timeout` through node-fetch's AbortError.
  if (e.name === 'AbortError') return true;
  return e.name === 'FetchError' && e.type === 'system';
}

export interface UnreachableContext {
  /** `Salesforce`, `HubSpot`. */
  crm: string;
  /** The destination's name in the config. */
  destination: string;
  /** The config field holding the URL (`instance_url`, `base_url`). */
  urlField: string;
  /** `METHOD https://host/path` of the request, or the base URL when the request is unknown. */
  request: string;
  timeoutMs: number;
  sync?: string;
}

/** The DESTINATION_UNREACHABLE error (kind transient) for a request that got no answer. */
export function unreachableError(err: unknown, ctx: UnreachableContext): PqlsyncError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; code?: unknown };
  const raw = err instanceof Error ? err.message : String(err);
  const timedOut = e.name === 'AbortError' || e.code === TIMEOUT_CODE;
  // node-fetch repeats the URL: "request to <url> failed, reason: <why>".
  const reason = timedOut
    ? `no answer within ${ctx.timeoutMs} ms`
    : raw.replace(/^request to \S+ failed, reason: /, '').split('\n')[0] || 'connection failed';
  const field = `destinations.${ctx.destination}.${ctx.urlField}`;
  const code = typeof e.code === 'string' ? e.code : '';
  const hint = timedOut
    ? `the CRM did not answer in time; check its status page, or raise ${`destinations.${ctx.destination}.request_timeout_ms`} (now ${ctx.timeoutMs}) if its answers are slow`
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? `the host name does not resolve: check ${field} and this host's DNS`
      : code === 'ECONNREFUSED'
        ? `nothing accepts connections there: check ${field} (host and port) and that this host can reach it (firewall, VPN, HTTPS_PROXY / NO_PROXY)`
        : `the connection failed (a CRM outage, a proxy or a firewall dropped it): check that this host can reach ${field}; the next run retries`;
  return new PqlsyncError(
    'DESTINATION_UNREACHABLE',
    `could not reach ${ctx.crm} (${ctx.request}): ${reason}`,
    {
      kind: 'transient',
      ...(ctx.sync ? { location: { sync: ctx.sync } } : {}),
      hint,
      details: { transport: true, ...(code ? { errorCode: code } : {}) },
      cause: err,
    },
  );
}

/**
 * An http(s) agent (by the URL's protocol) that fails a request whose answer has not started after `timeoutMs`:
 * the socket is destroyed with a REQUEST_TIMEOUT error, which the client library reports as a network error.
 * `@hubspot/api-client` takes it as `httpAgent` (it has no timeout option of its own).
 */
export function requestTimeoutAgent(baseUrl: string, timeoutMs: number): http.Agent {
  const Base = baseUrl.startsWith('https:') ? https.Agent : http.Agent;
  class TimeoutAgent extends Base {
    // `addRequest` is how every ClientRequest reaches its agent (the hook proxy agents use too).
    addRequest(req: http.ClientRequest, options: unknown): void {
      const timer = setTimeout(() => {
        const err = Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: TIMEOUT_CODE });
        req.destroy(err);
      }, timeoutMs);
      timer.unref();
      const clear = () => clearTimeout(timer);
      req.once('response', clear);
      req.once('close', clear);
      (Base.prototype as unknown as { addRequest: (r: unknown, o: unknown) => void }).addRequest.call(
        this,
        req,
        options,
      );
    }
  }
  return new TimeoutAgent({ keepAlive: true });
}
