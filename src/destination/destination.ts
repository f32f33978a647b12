/**
 * The boundary between pqlsync and a CRM (or any place changes go).
 *
 * Glossary:
 * - SyncTarget: what one sync writes: the destination object (Lead, contacts...), the match field (an external
 *   id) and the mapped fields.
 * - Change: one row that differs from the snapshot: `added`, `changed` (with the fields that differ) or
 *   `removed`. `values` holds destination field → value for every mapped field (removed: the cleared values).
 * - RecordOutcome: what the destination did with one change: `applied`; `rejected` (the CRM refused the record;
 *   it goes to failures and is retried next run); `retryable` (a passing problem; the batch writer retries it, and
 *   if it still fails it is recorded like a rejection).
 * - DestinationCapabilities: what the destination can do, as data; the shared batch writer
 *   (`batch-writer.ts`) does batching, rate limiting, retries and splitting from it.
 *
 * A destination's `write` returns one outcome per change (in any order, matched by key). A whole-batch failure
 * is thrown as a PqlsyncError: kind `transient` → the writer retries the batch; `details.splittable` → the writer
 * splits the batch in halves to isolate the bad records; anything else stops the run after committing what was
 * applied (auth failures, daily limits).
 */
import type { SyncMode } from '../config/config-schema.js';
import type { Row } from '../warehouse/warehouse-adapter.js';

export const CHANGE_KINDS = ['added', 'changed', 'removed'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface FieldSpec {
  /** Destination field (API name). */
  field: string;
  /** Model column. */
  column: string;
  /** Leave the field out when the model's value is null. */
  skipNull: boolean;
  /** Value written when the row is removed in mirror mode. (Default: null) */
  clearedValue: string | number | boolean | null;
}

export interface SyncTarget {
  sync: string;
  object: string;
  /** Destination field that identifies the record (an external id). */
  matchField: string;
  /** Model column holding the match value. */
  matchColumn: string;
  mode: SyncMode;
  fields: FieldSpec[];
  /** Extra fields set when a row is removed in mirror mode (e.g. `Is_PQL__c: false`). */
  onRemove: Record<string, string | number | boolean | null>;
}

export interface Change {
  /** The model's key, as text. */
  key: string;
  kind: ChangeKind;
  /** The match field's value (the external id). */
  matchValue: string;
  /** destination field → value to write. */
  values: Record<string, unknown>;
  /** Destination fields whose values differ from the snapshot (all mapped fields for `added`). */
  changedFields: string[];
  /** The model row (all columns), for routing and task text; undefined for `removed`. */
  row: Row | undefined;
  /** The row hash to store in the snapshot once applied (null for removed). */
  rowHash: string | null;
  /** Earlier failed attempts (0 when the key is not in failures). */
  attempts: number;
  /**
   * Set when a mapped value cannot be sent faithfully (NaN, ±Infinity, a date outside years 1-9999; see
   * plan/change-values.ts): the batch writer rejects the change with this reason and never sends it.
   */
  invalid?: { reason: string; code: string };
}

export type RecordOutcome =
  | { key: string; status: 'applied'; destinationId?: string; created?: boolean }
  | { key: string; status: 'rejected'; reason: string; code?: string }
  | { key: string; status: 'retryable'; reason: string; code?: string }
  /**
   * The CRM record can never take the change (a converted Salesforce Lead: CANNOT_UPDATE_CONVERTED_LEAD). Not a
   * failure: the key enters the snapshot with its values as an applied one would (so it is not sent again until
   * they change), leaves failures, and gets no routing task.
   */
  | { key: string; status: 'skipped'; reason: string; code: string; destinationId?: string };

export interface DestinationCapabilities {
  /** Records per API call. */
  batchSize: number;
  /** Requests allowed per window, enforced by the batch writer. (Default: none) */
  rateLimit?: { requests: number; perMs: number };
  /** Batches in flight at once. (Default: 1) */
  concurrency?: number;
  modes: readonly SyncMode[];
}

export interface WriteBatch {
  target: SyncTarget;
  changes: Change[];
}

export interface Destination {
  /** `salesforce`, `hubspot`, `file`, ... */
  readonly type: string;
  /** How to batch a sync's changes; `plannedChanges` lets a destination switch to a bulk API above a size. */
  capabilities(target: SyncTarget, plannedChanges: number): DestinationCapabilities;
  /**
   * Checks auth and the target (objects and fields exist with compatible types) before anything is written.
   * Throws DESTINATION_PREFLIGHT_FAILED (config) listing every problem, or DESTINATION_AUTH_FAILED. With
   * `readOnly` (`plan`) it only reads: what a run would create (HubSpot properties) is allowed, not created.
   */
  preflight(target: SyncTarget, options?: { readOnly?: boolean }): Promise<void>;
  /**
   * Checks one change against what preflight read (field types, lengths, options, email syntax) before it is
   * batched: a `rejected` outcome here costs no API call, and the batches sent hold only changes that passed.
   * Undefined when the change may be sent. (Default: every change is sent)
   */
  checkChange?(target: SyncTarget, change: Change): RecordOutcome | undefined;
  /** Writes one batch; returns one outcome per change. */
  write(batch: WriteBatch): Promise<RecordOutcome[]>;
  /** API calls made so far by this destination instance. */
  apiCalls(): number;
  close(): Promise<void>;
}
