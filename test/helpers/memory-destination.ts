/**
 * An in-memory destination for tests: keeps records by match value, and can reject or fail chosen keys, and
 * answer like a misbehaving API (`outcomeFaults`): records written but their outcomes left out, repeated or
 * out of order.
 */
import type {
  Destination,
  DestinationCapabilities,
  RecordOutcome,
  SyncTarget,
  WriteBatch,
} from '../../src/destination/destination.js';
import { PqlsyncError } from '../../src/errors/pqlsync-error.js';

export class MemoryDestination implements Destination {
  readonly type = 'memory';
  /** object → match value → fields. */
  readonly records = new Map<string, Map<string, Record<string, unknown>>>();
  /** Keys to reject (per-record), with the reason. */
  readonly rejectKeys = new Map<string, string>();
  /** Keys that answer `retryable` this many more times. */
  readonly flakyKeys = new Map<string, number>();
  /** Whole batches to fail with a transient error this many more times. */
  failBatches = 0;
  /** Throw this (stopping the run) once this many batches were written. */
  stopAfterBatches: { after: number; error: PqlsyncError } | undefined;
  /**
   * How `write` bends the outcomes it returns (the records themselves are written as usual):
   * - drop: keys whose outcomes are left out (written, never confirmed);
   * - duplicate: every outcome is returned twice;
   * - reverse: the outcomes come back in reverse order.
   */
  readonly outcomeFaults = { drop: new Set<string>(), duplicate: false, reverse: false };
  batchSize = 50;
  calls = 0;
  batches = 0;
  readonly written: { key: string; kind: string }[] = [];

  capabilities(_t: SyncTarget, _n: number): DestinationCapabilities {
    return { batchSize: this.batchSize, modes: ['update', 'upsert', 'mirror'] };
  }

  async preflight(_t?: SyncTarget, _options?: { readOnly?: boolean }): Promise<void> {}

  async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    this.calls++;
    if (this.stopAfterBatches && this.batches >= this.stopAfterBatches.after)
      throw this.stopAfterBatches.error;
    if (this.failBatches > 0) {
      this.failBatches--;
      throw new PqlsyncError('DESTINATION_REQUEST_FAILED', 'HTTP 503 from the test destination', {
        kind: 'transient',
      });
    }
    this.batches++;
    const table = this.records.get(batch.target.object) ?? new Map<string, Record<string, unknown>>();
    this.records.set(batch.target.object, table);
    const outcomes = batch.changes.map((c): RecordOutcome => {
      const reason = this.rejectKeys.get(c.key);
      if (reason) return { key: c.key, status: 'rejected', reason, code: 'TEST_REJECT' };
      const flaky = this.flakyKeys.get(c.key) ?? 0;
      if (flaky > 0) {
        this.flakyKeys.set(c.key, flaky - 1);
        return { key: c.key, status: 'retryable', reason: 'UNABLE_TO_LOCK_ROW', code: 'UNABLE_TO_LOCK_ROW' };
      }
      if (batch.target.mode === 'update' && !table.has(c.matchValue)) {
        return { key: c.key, status: 'rejected', reason: 'no record to update', code: 'NOT_FOUND' };
      }
      table.set(c.matchValue, { ...(table.get(c.matchValue) ?? {}), ...c.values });
      this.written.push({ key: c.key, kind: c.kind });
      return { key: c.key, status: 'applied' };
    });
    const { drop, duplicate, reverse } = this.outcomeFaults;
    const kept = outcomes.filter((o) => !drop.has(o.key));
    const repeated = duplicate ? kept.flatMap((o) => [o, { ...o }]) : kept;
    return reverse ? repeated.reverse() : repeated;
  }

  apiCalls(): number {
    return this.calls;
  }

  async close(): Promise<void> {}
}
