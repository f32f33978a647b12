/**
 * Test fixture for the HubSpot sandbox: a running server, the real `@hubspot/api-client` pointed at it, and
 * small helpers to call admin routes and capture the client's ApiException.
 */
import { Client } from '@hubspot/api-client';
import type { HubspotSandboxOptions } from '../../src/sandbox/hubspot/hubspot-api.js';
import { startHubspotOnlyServer, type HubspotOnlyServer } from './hubspot-only-server.js';

export interface HubspotFixture {
  server: HubspotOnlyServer;
  client: Client;
  /** Calls `/_sandbox/hubspot/<path>` with the sandbox token and returns status and JSON body. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Raw HTTP call (for headers and bodies the client hides). */
  raw(method: string, path: string, body?: unknown, token?: string): Promise<Response>;
}

export async function startHubspotFixture(options: HubspotSandboxOptions = {}): Promise<HubspotFixture> {
  const server = await startHubspotOnlyServer(options);
  const client = new Client({ accessToken: server.token, basePath: server.url, numberOfApiCallRetries: 0 });
  const raw = (method: string, path: string, body?: unknown, token = server.token): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    server,
    client,
    raw,
    admin: async (method, path, body) => {
      const res = await raw(method, `/_sandbox/hubspot/${path}`, body);
      return { status: res.status, body: (await res.json()) as unknown };
    },
  };
}

export interface CapturedApiError {
  code: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Awaits a client call that must fail and returns the ApiException's code, body and headers. */
export async function apiError(call: Promise<unknown>): Promise<CapturedApiError> {
  try {
    await call;
  } catch (error: unknown) {
    if (typeof error === 'object' && error !== null && 'code' in error && 'body' in error) {
      const e = error as { code: number; body: unknown; headers?: Record<string, string> };
      return { code: e.code, body: e.body, headers: e.headers ?? {} };
    }
    throw error;
  }
  throw new Error('expected the HubSpot client call to fail, but it succeeded');
}

/** The n-th correlation id the sandbox hands out (they come from a counter, starting at 1). */
export function correlationId(n: number): string {
  return `5e1f0c1d-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}
