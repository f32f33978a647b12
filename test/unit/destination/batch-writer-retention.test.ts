/**
 * The batch writer keeps nothing of a batch once it is committed (issue 22, whole-process peak RSS): with a cancel
 * signal (the CLI always passes one), each batch was raced against a promise pending for the whole run, which kept
 * every batch's outcomes reachable (about 100 MB of heap by the end of a 1M-row first sync). Counted with weak
 * references after a full collection, while the signal is still alive, as it is during a run.
 */
import { describe, expect, it } from 'vitest';
import { writeChanges } from '../../../src/destination/batch-writer.js';
import type { Change, RecordOutcome, SyncTarget, WriteBatch } from '../../../src/destination/destination.js';
import { collectGarbage } from '../../../src/util/heap.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';

const TARGET: SyncTarget = {
  sync: 'users',
  object: 'Lead',
  matchField: 'Ext__c',
  matchColumn: 'user_id',
  mode: 'upsert',
  fields: [],
  onRemove: {},
};

const change = (i: number): Change => ({
  key: String(i),
  kind: 'added',
  matchValue: String(i),
  values: { Score__c: i },
  changedFields: ['Score__c'],
  row: { user_id: i },
  rowHash: `h${i}`,
  attempts: 0,
});

/** A destination whose outcome objects are watched through weak references. */
class WatchedDestination extends MemoryDestination {
  readonly outcomes: WeakRef<RecordOutcome>[] = [];
  override async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    const out = await super.write(batch);
    for (const o of out) this.outcomes.push(new WeakRef(o));
    return out;
  }
}

async function* batches(n: number, size: number): AsyncIterable<Change[]> {
  for (let b = 0; b < n; b++) yield Array.from({ length: size }, (_, i) => change(b * size + i));
}

describe('batch writer memory', () => {
  it("keeps no committed batch's outcomes while the run's cancel signal lives", async () => {
    const cancel = new AbortController();
    const destination = new WatchedDestination();
    const result = await writeChanges(batches(20, 50), {
      destination,
      target: TARGET,
      capabilities: { batchSize: 50, modes: ['upsert'] },
      commit: async () => {},
      cancel: cancel.signal,
    });
    expect(result.applied).toBe(1000);
    expect(destination.outcomes).toHaveLength(1000);
    // Let the writer's last promise reactions run, then collect.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(destination.outcomes.filter((w) => w.deref() !== undefined)).toHaveLength(0);
    expect(cancel.signal.aborted).toBe(false);
  });
});
