/**
 * Shared setup for the Salesforce sandbox tests: the real jsforce 3.10.16 (imported only after the proxy
 * variables are removed, because jsforce reads them at load and ignores NO_PROXY), a connection factory, and
 * a small client for the sandbox's admin routes.
 */
import type { Connection as JsforceConnection, Schema } from 'jsforce';
import {
  startSandbox,
  type RunningSandbox,
  type SandboxOptions,
} from '../../../src/sandbox/sandbox-server.js';

for (const name of ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY']) delete process.env[name];
const jsforce = (await import('jsforce')).default;

export { jsforce };
export type Connection = JsforceConnection;

/** A jsforce connection to the sandbox with its token, API 62.0, as pqlsync's destination makes one. */
export function connect(sandbox: RunningSandbox, accessToken: string = sandbox.token): Connection {
  // `<Schema>` named, not inferred (that made tsc compute the variance of jsforce's Connection class).
  return new jsforce.Connection<Schema>({ instanceUrl: sandbox.url, accessToken, version: '62.0' });
}

/** Starts a sandbox with a fixed seed and clock unless the test gives others. */
export function start(options: SandboxOptions = {}): Promise<RunningSandbox> {
  return startSandbox({ seed: 7, ...options });
}

/** Calls an admin route with the sandbox token and returns status and parsed JSON. */
export async function admin(
  sandbox: RunningSandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${sandbox.token}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** The records of one sObject as the admin route returns them. */
export async function adminRecords(
  sandbox: RunningSandbox,
  type: string,
): Promise<Array<Record<string, unknown>>> {
  const res = await admin(sandbox, 'GET', `/_sandbox/salesforce/${type}`);
  return (res.body as { records: Array<Record<string, unknown>> }).records;
}

/** Ids of the seeded users by email. */
export async function userIds(sandbox: RunningSandbox): Promise<Record<string, string>> {
  const users = await adminRecords(sandbox, 'User');
  return Object.fromEntries(users.map((u) => [String(u.Email), String(u.Id)]));
}

/** Catches the error a promise rejects with (fails the test when it resolves). */
export async function rejectionOf(
  promise: PromiseLike<unknown>,
): Promise<Error & { errorCode?: string; data?: unknown }> {
  try {
    await promise;
  } catch (e) {
    return e as Error & { errorCode?: string; data?: unknown };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
