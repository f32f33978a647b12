/**
 * Response helpers for the local Salesforce: the JSON content type jsforce requires and the whole-request
 * error body Salesforce sends (`[{"message", "errorCode"}]`).
 */
import type { SandboxResponse } from '../sandbox-types.js';

/** Salesforce's JSON content type; jsforce parses a body as JSON only when it starts with `application/json`. */
export const JSON_TYPE = 'application/json;charset=UTF-8';

export function sfJson(status: number, body: unknown, records?: number): SandboxResponse {
  return {
    status,
    headers: { 'Content-Type': JSON_TYPE },
    body,
    ...(records !== undefined ? { records } : {}),
  };
}

/** A whole-request failure: `status [{"message": ..., "errorCode": ...}]`. */
export function sfError(
  status: number,
  errorCode: string,
  message: string,
  fields?: string[],
): SandboxResponse {
  return sfJson(status, [{ message, errorCode, ...(fields ? { fields } : {}) }]);
}

export function notFound(): SandboxResponse {
  return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
}

export function methodNotAllowed(method: string, allowed: string[]): SandboxResponse {
  return sfError(
    405,
    'METHOD_NOT_ALLOWED',
    `HTTP Method '${method}' not allowed. Allowed are ${allowed.join(',')}`,
  );
}

/** A plain object from a parsed JSON body, or undefined. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
