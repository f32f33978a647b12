/**
 * The `file` destination: appends one JSON line per change to `<dir>/<sync>.jsonl`, for dry runs, pipelines and
 * the demo before a CRM is connected. Every record it writes is applied; replaying a batch after a crash only
 * appends the same change again, and folding the file by key gives the same result.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type {
  Destination,
  DestinationCapabilities,
  RecordOutcome,
  SyncTarget,
  WriteBatch,
} from '../destination.js';

export interface FileChangeRecord {
  sync: string;
  object: string;
  op: 'added' | 'changed' | 'removed';
  key: string;
  match: { field: string; value: string };
  values: Record<string, unknown>;
  changedFields: string[];
  at: string;
}

export class FileDestination implements Destination {
  readonly type = 'file';
  private calls = 0;

  constructor(
    private readonly dir: string,
    private readonly batchSize = 1000,
    private readonly now: () => Date = () => new Date(),
  ) {}

  capabilities(_target: SyncTarget, _planned: number): DestinationCapabilities {
    return { batchSize: this.batchSize, modes: ['update', 'upsert', 'mirror'] };
  }

  async preflight(_target: SyncTarget): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
  }

  /** The file a sync's change records go to. */
  fileFor(sync: string): string {
    return path.join(this.dir, `${sync}.jsonl`);
  }

  async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    this.calls++;
    const at = this.now().toISOString();
    const lines = batch.changes.map((c) => {
      const rec: FileChangeRecord = {
        sync: batch.target.sync,
        object: batch.target.object,
        op: c.kind,
        key: c.key,
        match: { field: batch.target.matchField, value: c.matchValue },
        values: c.values,
        changedFields: c.changedFields,
        at,
      };
      return JSON.stringify(rec);
    });
    appendFileSync(this.fileFor(batch.target.sync), lines.join('\n') + '\n');
    return batch.changes.map((c) => ({ key: c.key, status: 'applied' as const }));
  }

  apiCalls(): number {
    return this.calls;
  }

  async close(): Promise<void> {}
}
