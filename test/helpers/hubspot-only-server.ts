/**
 * Test-only: serves just the HubSpot VendorApi over node:http on 127.0.0.1, with a movable clock and the
 * sandbox's real fault registry. Used until (or where) the full sandbox core is not needed.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultRegistry } from '../../src/sandbox/fault-injector.js';
import type { SandboxContext, SandboxRequest, VendorApi } from '../../src/sandbox/sandbox-types.js';
import { createHubspotApi, type HubspotSandboxOptions } from '../../src/sandbox/hubspot/hubspot-api.js';

export interface HubspotOnlyServer {
  url: string;
  token: string;
  faults: FaultRegistry;
  api: VendorApi;
  /** Moves the sandbox clock forward. */
  advance(ms: number): void;
  setNow(date: Date): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startHubspotOnlyServer(
  options: HubspotSandboxOptions = {},
  start = new Date('2025-01-06T09:00:00.000Z'),
): Promise<HubspotOnlyServer> {
  let now = start.getTime();
  let baseUrl = '';
  const token = 'pat-na1-sandbox-test-token';
  const faults = new FaultRegistry(() => 0.5);
  const ctx: SandboxContext = {
    now: () => new Date(now),
    random: () => 0.5,
    faults,
    token,
    baseUrl: () => baseUrl,
  };
  const api = createHubspotApi(ctx, options);
  const server = createServer((req, res) => {
    void (async () => {
      const rawBody = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = rawBody.toString('utf8');
      const sandboxReq: SandboxRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        rawBody,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      };
      const admin = '/_sandbox/hubspot/';
      const response = url.pathname.startsWith(admin)
        ? req.headers.authorization === `Bearer ${token}`
          ? await api.handleAdmin(sandboxReq, url.pathname.slice(admin.length))
          : { status: 401, body: { error: 'unauthorized' } }
        : api.handles(url.pathname)
          ? await api.handle(sandboxReq)
          : { status: 404, body: { error: 'not found' } };
      const headers = { ...(response.headers ?? {}) };
      if (
        response.body !== undefined &&
        !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
      ) {
        headers['content-type'] = 'application/json;charset=utf-8';
      }
      res.writeHead(response.status, headers);
      res.end(response.body === undefined ? undefined : JSON.stringify(response.body));
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json;charset=utf-8' });
      res.end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    token,
    faults,
    api,
    advance: (ms) => {
      now += ms;
    },
    setNow: (date) => {
      now = date.getTime();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
