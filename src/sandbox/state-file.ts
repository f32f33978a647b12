/**
 * Persistence of the sandbox's vendor state to one JSON file (`pqlsync sandbox --state FILE`): loaded on start,
 * written atomically (temp file + rename) before a request that changes records is answered (`flush`), shortly
 * after a read changes only counters (`schedule`), and on close.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { PqlsyncError } from '../errors/pqlsync-error.js';

/** Writes at most once per this many milliseconds while requests keep arriving. */
const DEBOUNCE_MS = 50;

export interface SandboxStateDocument {
  version: 1;
  savedAt: string;
  vendors: Record<string, unknown>;
}

/** Reads a state file; undefined when it does not exist yet. Throws STATE_INVALID when it is not ours. */
export function readStateFile(path: string): SandboxStateDocument | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PqlsyncError('STATE_INVALID', `sandbox state file is not valid JSON: ${(e as Error).message}`, {
      location: { file: path },
      hint: 'delete the file to start the sandbox empty, or point --state at another file',
    });
  }
  const doc = parsed as Partial<SandboxStateDocument> | null;
  if (!doc || doc.version !== 1 || !doc.vendors || typeof doc.vendors !== 'object') {
    throw new PqlsyncError('STATE_INVALID', 'sandbox state file has no "version": 1 and "vendors" object', {
      location: { file: path },
      hint: 'delete the file to start the sandbox empty, or point --state at another file',
    });
  }
  return doc as SandboxStateDocument;
}

export class StateFileWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** A write queued behind the one in progress, not started yet: later flushes join it. */
  private queued: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => Record<string, unknown>,
    private readonly now: () => Date,
  ) {}

  /** Asks for a write soon; many calls within the debounce window make one write. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((e: unknown) => {
        console.error(`pqlsync sandbox: could not write state file ${this.path}: ${(e as Error).message}`);
      });
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  /**
   * Writes the state as it is now (after any write in progress) and resolves when the file is in place. Flushes
   * that arrive while a write is in progress share the next one: it takes its snapshot when it starts, so it holds
   * every change made before any of them was called.
   */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.queued ??= this.writing
      .catch(() => undefined)
      .then(async () => {
        this.queued = undefined;
        const doc: SandboxStateDocument = {
          version: 1,
          savedAt: this.now().toISOString(),
          vendors: this.snapshot(),
        };
        const tmp = `${this.path}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(doc), 'utf8');
        await rename(tmp, this.path);
      });
    this.writing = this.queued;
    return this.queued;
  }
}
