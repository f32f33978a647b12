/**
 * Persistence of the sandbox's vendor state to one JSON file (`pqlsync sandbox --state FILE`): loaded on start,
 * written atomically (temp file + rename) before a request that changes records is answered (`flush`), shortly
 * after a read changes only counters (`schedule`), and on close.
 *
 * One sandbox at a time owns a state file: `FILE.lock` names its pid, host and URL. A second sandbox started on
 * the same file is refused (each would overwrite the other's records with its own on every save); a lock whose
 * process no longer runs on this host is taken over.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { processAlive } from '../util/process-alive.js';

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

/** The content of `FILE.lock`. */
export interface StateLockHolder {
  pid: number;
  host: string;
  /** The holder's URL, once it listens. */
  url?: string;
  startedAt: string;
  /** Tells this holder's lock from a later one written by the same pid (a sandbox restarted in process). */
  nonce: string;
}

export interface StateLock {
  /** The lock file (`<state file>.lock`). */
  path: string;
  /** Records where the holder listens, for the message a second sandbox gets. */
  listening(url: string): void;
  /** Removes the lock if it is still this holder's. Never throws. */
  release(): void;
}

/**
 * Takes `<statePath>.lock` for this process, or throws STATE_LOCK_HELD naming the sandbox that holds it. A lock
 * left by a process that no longer runs on this host (killed, crashed) is taken over.
 */
export function lockStateFile(statePath: string, now: () => Date): StateLock {
  const lockPath = `${statePath}.lock`;
  const holder: StateLockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: now().toISOString(),
    nonce: randomBytes(8).toString('hex'),
  };
  const write = (flag: 'wx' | 'w') => writeFileSync(lockPath, JSON.stringify(holder) + '\n', { flag });
  for (let attempt = 0; ; attempt++) {
    try {
      write('wx');
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new PqlsyncError(
          'ARGS_INVALID',
          `cannot create the state file's lock ${lockPath}: ${(err as Error).message}`,
          {
            location: { file: statePath },
            hint: 'point --state at a file in a directory that exists and that you can write',
            cause: err,
          },
        );
      }
      if (attempt >= 3) throw lockHeld(statePath, readLockHolder(lockPath) ?? holder);
    }
    const current = readLockHolder(lockPath);
    if (current && (current.host !== hostname() || processAlive(current.pid))) {
      throw lockHeld(statePath, current);
    }
    takeOverStale(lockPath, current);
  }
  return {
    path: lockPath,
    listening(url) {
      holder.url = url;
      write('w');
    },
    release() {
      try {
        if (readLockHolder(lockPath)?.nonce === holder.nonce) unlinkSync(lockPath);
      } catch {
        // Already gone, or unreadable: the next sandbox takes it over as stale.
      }
    },
  };
}

/**
 * Moves a stale lock aside so that `wx` can create ours. Two sandboxes taking over at once: only one rename
 * finds the file; if what was moved is not the stale lock that was read (another sandbox's fresh one), it is put
 * back (link fails if a third already wrote one) and the loop reads it again.
 */
function takeOverStale(lockPath: string, stale: StateLockHolder | undefined): void {
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return;
  }
  const moved = readLockHolder(aside);
  if (moved && moved.nonce !== stale?.nonce) {
    try {
      linkSync(aside, lockPath);
    } catch {
      // Someone wrote a lock in the meantime; the loop reads it.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Nothing to clean.
  }
}

/** The lock's holder, or undefined when the file is missing or not a lock we wrote (taken over as stale). */
function readLockHolder(lockPath: string): StateLockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<StateLockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return parsed as StateLockHolder;
  } catch {
    return undefined;
  }
}

function lockHeld(statePath: string, holder: StateLockHolder): PqlsyncError {
  const where = holder.url ? `at ${holder.url}` : 'still starting';
  const host = holder.host === hostname() ? '' : ` on ${holder.host}`;
  return new PqlsyncError(
    'STATE_LOCK_HELD',
    `sandbox state file is in use by the sandbox ${where} (pid ${holder.pid}${host}, since ${holder.startedAt}); two sandboxes on one state file would overwrite each other's records`,
    {
      location: { file: statePath },
      hint: holder.url
        ? `use that sandbox (it serves these records: PQLSYNC_SANDBOX_URL=${holder.url}), stop it first, or pass --state another file`
        : 'stop that sandbox first, or pass --state another file',
    },
  );
}
