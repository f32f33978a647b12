/**
 * Test fixture for the HubSpot sandbox: the real sandbox server (`startSandbox`) with a movable clock, the
 * real `@hubspot/api-client` pointed at it, and small helpers to call admin routes and capture the client's
 * ApiException.
 */
import { Client } from '@hubspot/api-client';
import { afterEach, beforeEach } from 'vitest';
import type { HubspotSandboxOptions } from '../../src/sandbox/hubspot/hubspot-api.js';
import { startSandbox } from '../../src/sandbox/sandbox-server.js';
import type { VendorApi } from '../../src/sandbox/sandbox-types.js';

export interface HubspotSandboxHandle {
  url: string;
  token: string;
  api: VendorApi;
  /** Moves the sandbox clock forward. */
  advance(ms: number): void;
  setNow(date: Date): void;
  close(): Promise<void>;
}

export interface HubspotFixture {
  server: HubspotSandboxHandle;
  client: Client;
  /** Calls `/_sandbox/hubspot/<path>` with the sandbox token and returns status and JSON body. */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Calls a core admin route `/_sandbox/<path>` (faults, requests, reset). */
  core(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Raw HTTP call with the sandbox token (for headers and bodies the client hides). */
  raw(method: string, path: string, body?: unknown): Promise<Response>;
}

/** The sandbox clock starts here in every test. */
export const FIXTURE_START = new Date('2025-01-06T09:00:00.000Z');

export async function startHubspotFixture(options: HubspotSandboxOptions = {}): Promise<HubspotFixture> {
  let now = FIXTURE_START.getTime();
  const sandbox = await startSandbox({
    token: 'pat-na1-sandbox-test-token',
    seed: 7,
    now: () => new Date(now),
    hubspot: options,
  });
  const server: HubspotSandboxHandle = {
    url: sandbox.url,
    token: sandbox.token,
    api: sandbox.apis.hubspot,
    advance: (ms) => {
      now += ms;
    },
    setNow: (date) => {
      now = date.getTime();
    },
    close: () => sandbox.close(),
  };
  const client = new Client({ accessToken: server.token, basePath: server.url, numberOfApiCallRetries: 0 });
  const raw = (method: string, path: string, body?: unknown): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown }> => {
    const res = await raw(method, path, body);
    return { status: res.status, body: (await res.json()) as unknown };
  };
  return {
    server,
    client,
    raw,
    admin: (method, path, body) => call(method, `/_sandbox/hubspot/${path}`, body),
    core: (method, path, body) => call(method, `/_sandbox/${path}`, body),
  };
}

/**
 * Registers beforeEach/afterEach hooks that give every test a fresh sandbox; the returned fixture always
 * points at the current test's sandbox.
 */
export function useHubspotFixture(options: HubspotSandboxOptions = {}): HubspotFixture {
  let current: HubspotFixture | undefined;
  beforeEach(async () => {
    current = await startHubspotFixture(options);
  });
  afterEach(async () => {
    await current?.server.close();
    current = undefined;
  });
  const now = (): HubspotFixture => {
    if (!current) throw new Error('the HubSpot fixture is only available inside a test');
    return current;
  };
  return {
    get server() {
      return now().server;
    },
    get client() {
      return now().client;
    },
    admin: (method, path, body) => now().admin(method, path, body),
    core: (method, path, body) => now().core(method, path, body),
    raw: (method, path, body) => now().raw(method, path, body),
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
