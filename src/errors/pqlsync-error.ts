/**
 * One error type for everything pqlsync reports to a person.
 *
 * Glossary:
 * - code: a stable machine name (`CONFIG_INVALID`, `MODEL_PARAM_INVALID`, ...). Tests and users match on it.
 * - kind: decides what happens next. `config` = fix your input (exit 2, never retried);
 *   `transient` = worth retrying (network, 429, lock timeouts); `system` = a bug or an outage (exit 1).
 * - location: where the problem is (file and line for models and config, sync name, record key).
 * - hint: what to do about it.
 *
 * Leaf functions throw PqlsyncError; orchestrating functions (run-sync) catch it and return it in a result.
 * Messages are scrubbed of registered secrets in the constructor, so an error can never carry a token.
 */
import { scrubSecrets } from './secrets.js';

export const ERROR_KINDS = ['config', 'transient', 'system'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const ERROR_CODES = [
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'CONFIG_ENV_UNSET',
  'ARGS_INVALID',
  'VARS_INVALID',
  'MODEL_NOT_FOUND',
  'MODEL_INVALID',
  'MODEL_PARAM_INVALID',
  'MODEL_KEY_MISSING',
  'WAREHOUSE_CONNECT_FAILED',
  'WAREHOUSE_QUERY_FAILED',
  'DESTINATION_CONFIG_INVALID',
  'DESTINATION_AUTH_FAILED',
  'DESTINATION_PREFLIGHT_FAILED',
  'DESTINATION_RATE_LIMITED',
  'DESTINATION_DAILY_LIMIT',
  'DESTINATION_REQUEST_FAILED',
  'DESTINATION_UNREACHABLE',
  'STATE_LOCK_HELD',
  'STATE_INVALID',
  'MIRROR_GUARD',
  'MAPPING_CHANGED',
  'RUN_ABORTED',
  'DBT_UPSTREAM_FAILED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Where a problem is. Every field is optional; fill what you know. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** A dotted path into a config or front-matter document, e.g. `syncs.users.mode`. */
  path?: string;
  sync?: string;
  model?: string;
  param?: string;
  field?: string;
  recordKey?: string;
}

export interface PqlsyncErrorOptions {
  kind?: ErrorKind;
  location?: ErrorLocation;
  hint?: string;
  cause?: unknown;
  /** Extra structured detail for `--json` output (never secrets; scrubbed anyway). */
  details?: Record<string, unknown>;
}

const DEFAULT_KIND: Partial<Record<ErrorCode, ErrorKind>> = {
  WAREHOUSE_CONNECT_FAILED: 'transient',
  DESTINATION_RATE_LIMITED: 'transient',
  DESTINATION_REQUEST_FAILED: 'transient',
  DESTINATION_UNREACHABLE: 'transient',
  WAREHOUSE_QUERY_FAILED: 'system',
  DESTINATION_DAILY_LIMIT: 'system',
  DESTINATION_AUTH_FAILED: 'system',
  STATE_LOCK_HELD: 'system',
  STATE_INVALID: 'system',
  RUN_ABORTED: 'system',
  DBT_UPSTREAM_FAILED: 'system',
  MIRROR_GUARD: 'system',
  INTERNAL: 'system',
};

export class PqlsyncError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly location: ErrorLocation;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: PqlsyncErrorOptions = {}) {
    super(scrubSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PqlsyncError';
    this.code = code;
    this.kind = options.kind ?? DEFAULT_KIND[code] ?? 'config';
    this.location = options.location ?? {};
    this.hint = options.hint === undefined ? undefined : scrubSecrets(options.hint);
    this.details = options.details;
  }

  /** `file:line` (or the sync / path) prefix used when printing, empty when nothing is known. */
  get where(): string {
    return formatLocation(this.location);
  }

  /** Location and message without the hint: the `message` of `--json` output, whose hint has its own field. */
  headline(): string {
    const where = this.where;
    return where ? `${where}: ${this.message}` : this.message;
  }

  /** The full human message: location, message, hint. This is what the CLI prints. */
  format(): string {
    return formatWithHint(this.headline(), this.hint);
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      kind: this.kind,
      message: this.message,
      ...(Object.keys(this.location).length > 0 ? { location: this.location } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** A message and its hint as the CLI prints them: the hint on its own indented line. */
export function formatWithHint(message: string, hint: string | undefined): string {
  return hint ? `${message}\n  hint: ${hint}` : message;
}

/** Renders a location as `file:line:column (sync s, path p, record k)`. */
export function formatLocation(loc: ErrorLocation): string {
  const parts: string[] = [];
  if (loc.file) {
    let f = loc.file;
    if (loc.line !== undefined) f += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) f += `:${loc.column}`;
    parts.push(f);
  }
  const extra: string[] = [];
  if (loc.sync) extra.push(`sync ${loc.sync}`);
  if (loc.model && !loc.file) extra.push(`model ${loc.model}`);
  if (loc.path) extra.push(loc.path);
  if (loc.param) extra.push(`param ${loc.param}`);
  if (loc.field) extra.push(`field ${loc.field}`);
  if (loc.recordKey) extra.push(`record ${loc.recordKey}`);
  if (extra.length > 0) parts.push(parts.length > 0 ? `(${extra.join(', ')})` : extra.join(', '));
  return parts.join(' ');
}

/** Wraps anything thrown into a PqlsyncError, keeping PqlsyncErrors as they are. */
export function toPqlsyncError(err: unknown, fallback: ErrorCode = 'INTERNAL'): PqlsyncError {
  if (err instanceof PqlsyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PqlsyncError(fallback, message, { cause: err });
}

export function isPqlsyncError(err: unknown): err is PqlsyncError {
  return err instanceof PqlsyncError;
}
