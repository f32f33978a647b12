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
import { createSalesforceApi, type SalesforceSandboxOptions } from './salesforce/salesforce-api.js';
import { renderSandboxPage } from './sandbox-page.js';
import type {
  FaultSpec,
  SandboxContext,
  SandboxRequest,
  SandboxResponse,
  VendorApi,
} from './sandbox-types.js';
import { createSeededRandom } from './seeded-random.js';
import { readStateFile, StateFileWriter } from './state-file.js';

export interface SandboxOptions {
  /** Port on 127.0.0.1; 0 picks a free one. (Default: 0) */
  port?: number;
  /** Bearer token for the vendor APIs and the admin routes. (Default: random, shown by formatSandboxBanner) */
  token?: string;
  /** JSON file the vendor state is loaded from on start and saved to after changes. (Default: in memory only) */
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
  /** Stops accepting requests, writes the state file, and resolves when the port is free. */
  close(): Promise<void>;
}

/** Bulk API 2.0 uploads may be up to 150 MB; refuse anything larger. */
const MAX_BODY_BYTES = 160 * 1024 * 1024;
const MAX_LOGGED_REQUESTS = 10_000;

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

  const loaded = options.statePath ? readStateFile(options.statePath) : undefined;
  for (const api of vendors)
    if (loaded?.vendors[api.name] !== undefined) api.importState(loaded.vendors[api.name]);
  const writer = options.statePath
    ? new StateFileWriter(
        options.statePath,
        () => Object.fromEntries(vendors.map((a) => [a.name, a.exportState()])),
        context.now,
      )
    : undefined;

  const log: RecordedRequest[] = [];
  let seq = 0;
  const record = (req: SandboxRequest, status: number, records: number): void => {
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
      console.error(`pqlsync sandbox: ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent)
        send(res, { status: 500, body: { error: 'sandbox internal error', message: (e as Error).message } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sreq = await readRequest(req);
    const { method, path } = sreq;
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
      return send(res, { status: 200, body: await buildView(apis) });
    }
    if (path.startsWith('/_sandbox/')) {
      if (!sameSecret(req.headers.authorization, `Bearer ${token}`)) {
        return send(res, {
          status: 401,
          body: {
            error: 'unauthorized',
            message:
              'sandbox admin routes need the header Authorization: Bearer <the token pqlsync sandbox printed>',
          },
        });
      }
      const response = await admin(sreq);
      send(res, response);
      if (method !== 'GET') writer?.schedule();
      return;
    }
    const api = vendors.find((v) => v.handles(path));
    if (!api)
      return send(res, {
        status: 404,
        body: { error: `no sandbox API serves ${path}; Salesforce is under /services/, HubSpot under /crm/` },
      });
    const fault = faults.takeRouteFault(method, path);
    if (fault) {
      if (fault.latencyMs > 0) await new Promise((r) => setTimeout(r, fault.latencyMs));
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
    record(sreq, response.status, response.records ?? 0);
    send(res, response);
    writer?.schedule();
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
    if (path === '/_sandbox/reset' && method === 'POST') {
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
        error: `unknown admin route ${method} ${path}; try GET /_sandbox/requests, POST|DELETE /_sandbox/faults, POST /_sandbox/reset, /_sandbox/salesforce/..., /_sandbox/hubspot/...`,
      },
    };
  }

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
  });
  baseUrl = `http://127.0.0.1:${port()}`;
  let closed: Promise<void> | undefined;

  return {
    url: baseUrl,
    token,
    port: port(),
    statePath: options.statePath,
    context,
    apis,
    close: () => {
      closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await writer?.flush();
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

async function readRequest(req: IncomingMessage): Promise<SandboxRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  const rawBody = Buffer.concat(chunks);
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
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
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    rawBody,
    body,
  };
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
