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
import type { Socket } from 'node:net';
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

/** How long a kept-alive connection may sit idle when the server announces no keep-alive timeout (undici's default). */
export const DEFAULT_KEEP_ALIVE_IDLE_MS = 4_000;
/** Taken off a server's announced keep-alive timeout: its close and our next request must not cross. */
const KEEP_ALIVE_MARGIN_MS = 1_000;
/** The longest a connection is kept idle, whatever the server announces (undici's `keepAliveMaxTimeout`). */
const KEEP_ALIVE_MAX_IDLE_MS = 600_000;

/**
 * How long a connection whose last answer carried this `Keep-Alive` header may sit idle before a request is sent
 * on it: the announced `timeout=N` seconds less a second (as undici and node's agent read it), else
 * DEFAULT_KEEP_ALIVE_IDLE_MS; 0 when it must not be reused at all.
 */
export function keepAliveIdleMs(header: string | string[] | undefined): number {
  const announced = /(?:^|[\s,])timeout=(\d+)/i.exec(String(header ?? ''))?.[1];
  if (announced === undefined) return DEFAULT_KEEP_ALIVE_IDLE_MS;
  return Math.max(0, Math.min(Number(announced) * 1000 - KEEP_ALIVE_MARGIN_MS, KEEP_ALIVE_MAX_IDLE_MS));
}

export interface RequestAgentOptions {
  /** Clock in milliseconds for connections' idle time. (Default: Date.now) */
  now?: () => number;
}

/**
 * An http(s) agent (by the URL's protocol) that fails a request whose answer has not started after `timeoutMs`:
 * the socket is destroyed with a REQUEST_TIMEOUT error, which the client library reports as a network error.
 * `@hubspot/api-client` takes it as `httpAgent` (it has no timeout option of its own).
 *
 * It keeps connections alive between requests, but never sends on one that has sat idle past the server's
 * announced keep-alive timeout (`keepAliveIdleMs`): the server closes such a connection on its own schedule, and a
 * request sent as it closes is lost unread (ECONNRESET, "socket hang up"), a failure the batch writer retries and
 * counts as a second API call that the CRM never saw. Node's agent ignores the announcement unless it has a
 * `timeout` of its own, and reuses a socket whose close it has not processed yet, which on a busy machine (a late
 * event loop) is any socket the server closed a moment ago. Idle time is checked when a request takes a socket,
 * so a late timer cannot let an expired one through.
 */
export function requestTimeoutAgent(
  baseUrl: string,
  timeoutMs: number,
  options: RequestAgentOptions = {},
): http.Agent {
  const now = options.now ?? Date.now;
  const Base = baseUrl.startsWith('https:') ? https.Agent : http.Agent;
  const base = Base.prototype as unknown as {
    addRequest: (r: unknown, o: unknown) => void;
    keepSocketAlive: (s: Socket) => boolean;
  };
  /** Idle limit of a socket, from the `Keep-Alive` header of its last answer. */
  const idleLimit = new WeakMap<Socket, number>();
  /** When a free socket becomes too old to send on. */
  const staleAt = new WeakMap<Socket, number>();
  class TimeoutAgent extends Base {
    // `addRequest` is how every ClientRequest reaches its agent (the hook proxy agents use too).
    addRequest(req: http.ClientRequest, reqOptions: unknown): void {
      // A stale socket is destroyed here, so the agent passes over it (see `fifo` below).
      const at = now();
      for (const sockets of Object.values(this.freeSockets)) {
        for (const socket of sockets ?? []) if (at >= (staleAt.get(socket) ?? Infinity)) socket.destroy();
      }
      const timer = setTimeout(() => {
        const err = Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: TIMEOUT_CODE });
        req.destroy(err);
      }, timeoutMs);
      timer.unref();
      const clear = () => clearTimeout(timer);
      req.once('response', (res: http.IncomingMessage) => {
        clear();
        idleLimit.set(res.socket, keepAliveIdleMs(res.headers['keep-alive']));
      });
      req.once('close', clear);
      base.addRequest.call(this, req, reqOptions);
    }

    // Called when a request is done with its socket: kept (free) only while the server will keep it too.
    override keepSocketAlive(socket: Socket): boolean {
      const limit = idleLimit.get(socket) ?? DEFAULT_KEEP_ALIVE_IDLE_MS;
      if (limit <= 0 || !base.keepSocketAlive.call(this, socket)) return false;
      staleAt.set(socket, now() + limit);
      return true;
    }
  }
  // Node's agent passes over destroyed free sockets only at the head of the list, and `fifo` takes the head: a
  // destroyed socket is never taken, wherever it sits.
  return new TimeoutAgent({ keepAlive: true, scheduling: 'fifo' });
}
