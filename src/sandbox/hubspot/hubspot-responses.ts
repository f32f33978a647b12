/**
 * The response bodies the local HubSpot API sends, in HubSpot's own wording, so code tested against the
 * sandbox meets the same shapes as against api.hubapi.com.
 *
 * Glossary:
 * - error body: `{status:'error', message, correlationId, category, context?, errors?}` — what the client
 *   throws as `ApiException.body` (it keeps message, category, context, errors, correlationId).
 * - batch error: one entry of a 207 body's `errors[]`, naming the failed inputs in `context`.
 * - property issue: one element of the JSON list inside "Property values were not valid: [...]".
 */
import type { SandboxResponse } from '../sandbox-types.js';

export const JSON_CONTENT_TYPE = 'application/json;charset=utf-8';

export function json(status: number, body: unknown, records?: number): SandboxResponse {
  return {
    status,
    headers: { 'content-type': JSON_CONTENT_TYPE },
    body,
    ...(records === undefined ? {} : { records }),
  };
}

export function noContent(records?: number): SandboxResponse {
  return { status: 204, headers: {}, ...(records === undefined ? {} : { records }) };
}

/** Makes correlation ids: uuid-shaped, from a counter, so runs are reproducible. */
export class CorrelationIds {
  private next = 1;

  take(): string {
    const n = this.next++;
    return `5e1f0c1d-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  }
}

export interface ErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  context?: Record<string, string[]>;
  errors?: Array<{ message: string; code?: string; context?: Record<string, string[]> }>;
}

export function errorBody(
  correlationId: string,
  category: string,
  message: string,
  extra: Pick<ErrorBody, 'context' | 'errors'> = {},
): ErrorBody {
  return { status: 'error', message, correlationId, ...extra, category };
}

export function unauthorized(correlationId: string): SandboxResponse {
  return json(
    401,
    errorBody(
      correlationId,
      'INVALID_AUTHENTICATION',
      'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find ' +
        'more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
    ),
  );
}

export function validationError(
  correlationId: string,
  message: string,
  extra: Pick<ErrorBody, 'context' | 'errors'> = {},
): SandboxResponse {
  return json(400, errorBody(correlationId, 'VALIDATION_ERROR', message, extra));
}

export function notFound(correlationId: string, message: string): SandboxResponse {
  return json(404, errorBody(correlationId, 'OBJECT_NOT_FOUND', message));
}

export function conflict(correlationId: string, category: string, message: string): SandboxResponse {
  return json(409, errorBody(correlationId, category, message));
}

/** One element of the list in "Property values were not valid: [...]". */
export interface PropertyIssue {
  isValid: false;
  message: string;
  error: string;
  name: string;
  localizedErrorMessage: string;
  portalId: number;
}

export function propertyIssue(portalId: number, name: string, error: string, message: string): PropertyIssue {
  return { isValid: false, message, error, name, localizedErrorMessage: message, portalId };
}

export function propertyValuesMessage(issues: PropertyIssue[]): string {
  return `Property values were not valid: ${JSON.stringify(issues)}`;
}

/** A 207 body's error entry. */
export interface BatchError {
  status: 'error';
  category: string;
  message: string;
  context: Record<string, string[]>;
  errors?: Array<{ message: string; code?: string }>;
}

export type RateLimitPolicy = 'TEN_SECONDLY_ROLLING' | 'DAILY';

export function rateLimited(correlationId: string, policy: RateLimitPolicy): SandboxResponse {
  const message =
    policy === 'DAILY'
      ? 'You have reached your daily limit.'
      : 'You have reached your ten_secondly_rolling limit.';
  return json(429, {
    status: 'error',
    message,
    errorType: 'RATE_LIMIT',
    correlationId,
    policyName: policy,
    requestId: correlationId,
  });
}
