/**
 * The sandbox: one local HTTP server (bound to 127.0.0.1) that speaks the Salesforce REST API under
 * `/services/` and the HubSpot CRM API under `/crm/`, serves a page at `/` showing what was synced, and offers
 * admin routes under `/_sandbox/` (same bearer token) for tests and the demo: the request log, faults, reset.
 *
 * Glossary:
 * - vendor API: a VendorApi (sandbox-types.ts) that owns one vendor's routes, state, auth and limits.
 * - route fault: latency, a status + body, or a connection reset applied before the vendor sees a request.
 * - request log: every vendor request with its status and record count (`GET /_sandbox/requests`).
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { registerSecret } from '../errors/secrets.js';
import { FaultRegistry, validateFaultSpec } from './fault-injector.js';
import { createHubspotApi, type HubspotSandboxOptions } from './hubspot/hubspot-api.js';
import { RequestHolds } from './request-holds.js';
import { createSalesforceApi, type SalesforceSandboxOptions } from './salesforce/salesforce-api.js';
import { renderSandboxPage } from './sandbox-page.js';
import type {
  FaultSpec,
  SandboxContext,
  SandboxRequest,
  SandboxRequestHead,
  SandboxResponse,
  VendorApi,
} from './sandbox-types.js';
import { createSeededRandom } from './seeded-random.js';
import { lockStateFile, readStateFile, StateFileWriter, type StateLock } from './state-file.js';

export interface SandboxOptions {
  /** Port on 127.0.0.1; 0 picks a free one. (Default: 0) */
  port?: number;
  /** Bearer token for the vendor APIs and the admin routes. (Default: random, shown by formatSandboxBanner) */
  token?: string;
  /**
   * JSON file the vendor state is loaded from on start and written to (atomically) before any request that changes
   * records is answered. Locked by this sandbox (`FILE.lock`) while it runs: a second sandbox on the same file is
   * refused with STATE_LOCK_HELD. (Default: in memory only)
   */
  statePath?: string;
  /** Seed for ids and probabilistic faults. (Default: random) */
  seed?: number;
  /** Clock for timestamps, token expiry and limits; tests move it. (Default: the system clock) */
  now?: () => Date;
  salesforce?: SalesforceSandboxOptions;
  hubspot?: HubspotSandboxOptions;
  /** Faults active from the start, as `POST /_sandbox/faults` would add them. */
  faults?: FaultSpec[];
}

/** One entry of `GET /_sandbox/requests`. */
export interface RecordedRequest {
  /** 1-based position in the log; `?since=N` returns entries after N. */
  seq: number;
  method: string;
  path: string;
  query: string;
  /** HTTP status answered; 0 when the connection was reset by a fault. */
  status: number;
  records: number;
  /** The `Sforce-*` and `Content-Type` request headers (e.g. `sforce-auto-assign`). */
  headers: Record<string, string>;
  at: string;
}

export interface RunningSandbox {
  /** `http://127.0.0.1:<port>`: jsforce's `instanceUrl` and the HubSpot client's `basePath`. */
  url: string;
  token: string;
  port: number;
  statePath: string | undefined;
  context: SandboxContext;
  apis: { salesforce: VendorApi; hubspot: VendorApi };
  /**
   * Closes the kept-alive connections no request is using, as the server does once their idle time passes
   * SANDBOX_IDLE_CLOSE_MS; tests call it to have that close cross a client's next request.
   */
  closeIdleConnections(): void;
  /** Stops accepting requests, writes the state file, releases its lock, and resolves when the port is free. */
  close(): Promise<void>;
}

/**
 * Body caps where no vendor limit applies: admin routes (fault specs, seeded records) and anything no vendor serves
 * (the page, unknown paths). Vendor routes use their vendor's documented limit (VendorApi.maxBodyBytes).
 */
const ADMIN_MAX_BODY_BYTES = 50 * 1024 * 1024;
const OTHER_MAX_BODY_BYTES = 64 * 1024;
const MAX_LOGGED_REQUESTS = 10_000;
/** The keep-alive timeout every answer announces (`Keep-Alive: timeout=5`, node's default), in seconds. */
const ANNOUNCED_KEEP_ALIVE_S = 5;
/**
 * How long an idle connection is really kept: far past the announcement, so a client that honours it (pqlsync's
 * agent stops sending on a connection a second before it) never sends on one the sandbox closed, however late a
 * loaded machine runs either side's timers. A request sent as its connection closes is lost unread, and would
 * show as a call the client counted and the request log never saw.
 */
export const SANDBOX_IDLE_CLOSE_MS = 60_000;

/** A body over the route's cap: answered 413 and the connection closed, without reading the rest. */
class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes, the most this route accepts`);
  }
}

/** Starts the sandbox on 127.0.0.1 and resolves once it listens. */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  registerSecret(token);
  const faults = new FaultRegistry(createSeededRandom(options.seed ?? randomInt(2 ** 31)));
  let baseUrl = '';
  const random = createSeededRandom((options.seed ?? randomInt(2 ** 31)) ^ 0x5eed);
  const context: SandboxContext = {
    now: options.now ?? (() => new Date()),
    random,
    faults,
    token,
    baseUrl: () => baseUrl,
  };
  const apis = {
    salesforce: createSalesforceApi(context, options.salesforce),
    hubspot: createHubspotApi(context, options.hubspot),
  };
  const vendors: VendorApi[] = [apis.salesforce, apis.hubspot];
  for (const f of options.faults ?? []) faults.add(f);

  // One sandbox per state file: taken before reading it, released on close (or if starting fails).
  const lock: StateLock | undefined = options.statePath
    ? lockStateFile(options.statePath, context.now)
    : undefined;
  try {
    const loaded = options.statePath ? readStateFile(options.statePath) : undefined;
    for (const api of vendors)
      if (loaded?.vendors[api.name] !== undefined) api.importState(loaded.vendors[api.name]);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const writer = options.statePath
    ? new StateFileWriter(
        options.statePath,
        () => Object.fromEntries(vendors.map((a) => [a.name, a.exportState()])),
        context.now,
      )
    : undefined;

  const holds = new RequestHolds(context.now);
  /**
   * The view's version (`ETag` of `GET /_sandbox/view`): bumped by every vendor call and every admin change, and
   * unique to this sandbox process, so the page refetches the view only after something may have changed.
   */
  const viewBoot = randomBytes(6).toString('hex');
  let viewVersion = 0;
  const viewTag = (): string => `"${viewBoot}-${viewVersion}"`;
  const log: RecordedRequest[] = [];
  let seq = 0;
  const record = (req: SandboxRequestHead, status: number, records: number): void => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if ((name.startsWith('sforce-') || name === 'content-type') && typeof value === 'string')
        headers[name] = value;
    }
    seq += 1;
    log.push({
      seq,
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      status,
      records,
      headers,
      at: context.now().toISOString(),
    });
    if (log.length > MAX_LOGGED_REQUESTS) log.shift();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof BodyTooLarge) return refuse(req, res, { status: 413, body: { error: e.message } });
      console.error(`pqlsync sandbox: ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent)
        send(res, { status: 500, body: { error: 'sandbox internal error', message: (e as Error).message } });
      else res.destroy();
    });
  });

  /**
   * Credentials first, then the body: a request the route's credentials check refuses is answered before any of
   * its body is read, and a body is read only up to the route's cap (so a caller without the token cannot make
   * the sandbox hold 150 MB).
   */
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = requestHead(req);
    const { method, path } = head;
    const api = vendors.find((v) => v.handles(path));
    let limit = OTHER_MAX_BODY_BYTES;
    if (path.startsWith('/_sandbox/') && path !== '/_sandbox/view') {
      if (!sameSecret(req.headers.authorization, `Bearer ${token}`)) {
        return refuse(req, res, {
          status: 401,
          body: {
            error: 'unauthorized',
            message:
              'sandbox admin routes need the header Authorization: Bearer <the token pqlsync sandbox printed>',
          },
        });
      }
      limit = ADMIN_MAX_BODY_BYTES;
    } else if (api) {
      const refused = api.authorize(head);
      if (refused) {
        record(head, refused.status, 0);
        return refuse(req, res, refused);
      }
      limit = api.maxBodyBytes(head);
    }
    const sreq = await readRequest(req, head, limit);
    if (path === '/' || path === '/_sandbox/view') {
      if (!isLoopbackHost(req.headers.host, port()))
        return send(res, {
          status: 403,
          body: { error: 'the sandbox page is served to 127.0.0.1 and localhost only' },
        });
      if (method !== 'GET') return send(res, { status: 405, body: { error: 'use GET' } });
      if (path === '/')
        return send(res, {
          status: 200,
          headers: { 'Content-Type': 'text/html; charset=utf-8' },
          body: renderSandboxPage(),
        });
      const tag = viewTag();
      const cache = { ETag: tag, 'Cache-Control': 'no-cache' };
      if (req.headers['if-none-match'] === tag) return send(res, { status: 304, headers: cache });
      return send(res, { status: 200, headers: cache, body: await buildView(apis) });
    }
    if (path.startsWith('/_sandbox/')) {
      const response = await admin(sreq);
      if (method !== 'GET') viewVersion += 1;
      await persist(method);
      send(res, response);
      return;
    }
    if (!api)
      return send(res, {
        status: 404,
        body: { error: `no sandbox API serves ${path}; Salesforce is under /services/, HubSpot under /crm/` },
      });
    const fault = faults.takeRouteFault(method, path);
    // A held request is answered (or its client found gone) before its release is reported done.
    const held = fault?.hold ? holds.hold(method, path, fault.hold) : undefined;
    try {
      if (fault) {
        if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
        if (fault.hold === 'before') await held?.released;
        if (fault.resetConnection) {
          record(sreq, 0, 0);
          req.socket.destroy();
          return;
        }
        if (fault.hang) {
          // Logged as unanswered (status 0); the socket is closed by the client's timeout or by close().
          record(sreq, 0, 0);
          return;
        }
        if (fault.status !== undefined) {
          const body = fault.body ?? { error: 'injected fault', status: fault.status };
          record(sreq, fault.status, 0);
          return send(res, { status: fault.status, body });
        }
      }
      const response = await api.handle(sreq);
      // Any vendor call may change what the page shows (a Bulk API job is applied on a status GET).
      viewVersion += 1;
      record(sreq, response.status, response.records ?? 0);
      await persist(method);
      if (fault?.hold === 'after') await held?.released;
      send(res, response);
    } finally {
      held?.finish();
    }
  }

  /**
   * Write-through: a request that can change records (any method but GET) is answered only once the state file
   * holds its change, so a sandbox killed right after acknowledging a write still has it on restart. A GET changes
   * only counters (API usage, rate-limit windows); those are saved shortly after, or with the next write.
   */
  async function persist(method: string): Promise<void> {
    if (!writer) return;
    if (method === 'GET') writer.schedule();
    else await writer.flush();
  }

  async function admin(sreq: SandboxRequest): Promise<SandboxResponse> {
    const { method, path } = sreq;
    if (path === '/_sandbox/requests' && method === 'GET') {
      const since = Number(sreq.query.get('since') ?? 0);
      return { status: 200, body: log.filter((e) => e.seq > since) };
    }
    if (path === '/_sandbox/faults') {
      if (method === 'GET') return { status: 200, body: { faults: faults.list() } };
      if (method === 'DELETE') {
        const cleared = faults.list().length;
        faults.clear();
        return { status: 200, body: { cleared } };
      }
      if (method === 'POST') {
        const specs = Array.isArray(sreq.body) ? sreq.body : [sreq.body];
        const problems = specs.flatMap((s, i) =>
          validateFaultSpec(s, Array.isArray(sreq.body) ? `faults[${i}]` : 'fault'),
        );
        if (problems.length > 0) return { status: 400, body: { error: 'invalid fault', problems } };
        const ids = specs.map((s) => faults.add(s as FaultSpec));
        return { status: 201, body: { ids, faults: faults.list() } };
      }
    }
    if (path === '/_sandbox/holds' && method === 'GET') {
      const waitMs = Math.min(Math.max(Number(sreq.query.get('waitMs') ?? 0) || 0, 0), 600_000);
      return { status: 200, body: { held: await holds.waitForHeld(waitMs) } };
    }
    if (path === '/_sandbox/holds/release' && method === 'POST') {
      const id = (sreq.body as { id?: unknown } | undefined)?.id;
      if (id !== undefined && typeof id !== 'number')
        return {
          status: 400,
          body: { error: `release: "id" must be a held request's number, got ${JSON.stringify(id)}` },
        };
      return { status: 200, body: { released: await holds.release(id) } };
    }
    if (path === '/_sandbox/reset' && method === 'POST') {
      await holds.release();
      for (const api of vendors) api.reset();
      faults.clear();
      log.length = 0;
      return { status: 200, body: { reset: true } };
    }
    const m = /^\/_sandbox\/([^/]+)(\/.*)?$/.exec(path);
    const api = vendors.find((v) => v.name === m?.[1]);
    if (api) return api.handleAdmin(sreq, m?.[2] ?? '/');
    return {
      status: 404,
      body: {
        error: `unknown admin route ${method} ${path}; try GET /_sandbox/requests, POST|DELETE /_sandbox/faults, GET /_sandbox/holds, POST /_sandbox/holds/release, POST /_sandbox/reset, /_sandbox/salesforce/..., /_sandbox/hubspot/...`,
      },
    };
  }

  server.keepAliveTimeout = SANDBOX_IDLE_CLOSE_MS;
  const port = (): number => (server.address() as AddressInfo | null)?.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new PqlsyncError(
          'ARGS_INVALID',
          `sandbox could not listen on 127.0.0.1:${options.port ?? 0}: ${e.message}`,
          {
            kind: 'system',
            hint:
              e.code === 'EADDRINUSE'
                ? 'another process uses that port; pass --port 0 for a free one'
                : undefined,
            cause: e,
          },
        ),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  }).catch((err: unknown) => {
    lock?.release();
    throw err;
  });
  baseUrl = `http://127.0.0.1:${port()}`;
  lock?.listening(baseUrl);
  let closed: Promise<void> | undefined;

  return {
    url: baseUrl,
    token,
    port: port(),
    statePath: options.statePath,
    context,
    apis,
    closeIdleConnections: () => server.closeIdleConnections(),
    close: () => {
      closed ??= (async () => {
        await holds.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        try {
          await writer?.flush();
        } finally {
          lock?.release();
        }
      })();
      return closed;
    },
  };
}

/** The lines `pqlsync sandbox` prints: where it listens, the token, and how to point clients at it. */
export function formatSandboxBanner(running: Pick<RunningSandbox, 'url' | 'token' | 'statePath'>): string {
  return [
    `pqlsync sandbox listening on ${running.url}`,
    `  page:       ${running.url}/`,
    `  token:      ${running.token}`,
    `  Salesforce: instanceUrl ${running.url} (REST under /services/data/v62.0, OAuth at /services/oauth2/token)`,
    `  HubSpot:    basePath ${running.url} (CRM under /crm/v3)`,
    `  state:      ${running.statePath ?? 'in memory (pass --state FILE to keep it)'}`,
    `  admin:      ${running.url}/_sandbox/requests, /_sandbox/faults, /_sandbox/reset (same token)`,
    '',
    `export PQLSYNC_SANDBOX_TOKEN=${running.token}`,
  ].join('\n');
}

function requestHead(req: IncomingMessage): SandboxRequestHead {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
  };
}

/** Reads the body up to `limit` bytes (a larger Content-Length is refused before reading any). */
async function readRequest(
  req: IncomingMessage,
  head: SandboxRequestHead,
  limit: number,
): Promise<SandboxRequest> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLarge(limit);
  const rawBody = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (buf: Buffer): void => {
      size += buf.length;
      if (size <= limit) {
        chunks.push(buf);
        return;
      }
      // Stop reading, drop what was read, and let the caller answer 413 on the still-open connection.
      req.off('data', onData);
      req.pause();
      chunks.length = 0;
      reject(new BodyTooLarge(limit));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
  let body: unknown;
  if (rawBody.length > 0) {
    if (contentType.includes('json')) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        body = undefined;
      }
    } else if (contentType.startsWith('application/x-www-form-urlencoded')) {
      body = Object.fromEntries(new URLSearchParams(rawBody.toString('utf8')));
    } else if (contentType.startsWith('text/')) {
      body = rawBody.toString('utf8');
    }
  }
  return { ...head, rawBody, body };
}

/**
 * Answers without reading the body. A large or open-ended body (over OTHER_MAX_BODY_BYTES, chunked, or over the
 * cap) also closes the connection rather than have Node discard the rest; a small one is discarded as it arrives,
 * so the client's connection stays usable (jsforce retries on it after a 401).
 */
function refuse(req: IncomingMessage, res: ServerResponse, response: SandboxResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const large =
    response.status === 413 ||
    req.headers['transfer-encoding'] !== undefined ||
    Number(req.headers['content-length'] ?? 0) > OTHER_MAX_BODY_BYTES;
  send(res, large ? { ...response, headers: { ...response.headers, Connection: 'close' } } : response);
}

function send(res: ServerResponse, response: SandboxResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
  let payload: string | Buffer = '';
  if (response.status !== 204 && response.body !== undefined) {
    if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) payload = response.body;
    else {
      payload = JSON.stringify(response.body);
      if (!hasType) headers['Content-Type'] = 'application/json;charset=utf-8';
    }
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  // Node would announce its real idle close (SANDBOX_IDLE_CLOSE_MS); the shorter announcement is the margin.
  if (res.shouldKeepAlive && !Object.keys(headers).some((h) => h.toLowerCase() === 'connection')) {
    headers.Connection = 'keep-alive';
    headers['Keep-Alive'] = `timeout=${ANNOUNCED_KEEP_ALIVE_S}`;
  }
  res.writeHead(response.status, headers);
  res.end(payload);
}

/** Compares a presented credential with the expected one in constant time. */
function sameSecret(presented: string | undefined, expected: string): boolean {
  const a = Buffer.from(presented ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isLoopbackHost(host: string | undefined, port: number): boolean {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(String(host).toLowerCase());
}

/** GETs an admin route of a vendor API in process and returns its body when it answered 200. */
async function adminGet(api: VendorApi, subPath: string): Promise<unknown> {
  const path = `/_sandbox/${api.name}${subPath}`;
  const req: SandboxRequest = {
    method: 'GET',
    path,
    query: new URLSearchParams(),
    headers: {},
    rawBody: Buffer.alloc(0),
    body: undefined,
  };
  try {
    const res = await api.handleAdmin(req, subPath);
    return res.status === 200 ? res.body : undefined;
  } catch {
    return undefined;
  }
}

/** The read-only data the page shows (`GET /_sandbox/view`). */
async function buildView(apis: {
  salesforce: VendorApi;
  hubspot: VendorApi;
}): Promise<Record<string, unknown>> {
  const sf = async (type: string): Promise<unknown[]> => {
    const body = (await adminGet(apis.salesforce, `/${type}`)) as { records?: unknown[] } | undefined;
    return body?.records ?? [];
  };
  const hs = async (type: string): Promise<unknown[]> => {
    const body = (await adminGet(apis.hubspot, `/${type}`)) as { results?: unknown[] } | undefined;
    return body?.results ?? [];
  };
  return {
    generatedAt: new Date().toISOString(),
    salesforce: {
      leads: await sf('Lead'),
      contacts: await sf('Contact'),
      accounts: await sf('Account'),
      tasks: await sf('Task'),
      users: await sf('User'),
    },
    hubspot: {
      contacts: await hs('contacts'),
      companies: await hs('companies'),
      tasks: await hs('tasks'),
      owners: await hs('owners'),
    },
  };
}
