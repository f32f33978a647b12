/**
 * Held requests: the `hold` fault keeps a matching vendor request open, before the vendor API sees it
 * (`hold: "before"`) or after the vendor applied it with its answer not yet sent (`hold: "after"`), until it is
 * released through `POST /_sandbox/holds/release`. A test waits on `GET /_sandbox/holds?waitMs=N` to learn that a
 * request is being held, and then kills or signals the client at that exact point: no wall-clock guessing.
 *
 * Glossary:
 * - hold: one request kept open; it has an id, the request's method and path, and its stage.
 * - release: lets held requests go on (the vendor applies a `before` request then; an `after` request's answer is
 *   sent), and resolves once each has been answered (or its client was found gone).
 */

/** Where a `hold` fault keeps a request. */
export const HOLD_STAGES = ['before', 'after'] as const;
export type HoldStage = (typeof HOLD_STAGES)[number];

/** One entry of `GET /_sandbox/holds`. */
export interface HeldRequest {
  id: number;
  method: string;
  path: string;
  stage: HoldStage;
  heldAt: string;
}

interface Hold {
  info: HeldRequest;
  release: () => void;
  /** Resolves when the request has been answered after its release. */
  finished: Promise<void>;
}

/** The requests held open by `hold` faults. */
export class RequestHolds {
  private holds: Hold[] = [];
  private nextId = 1;
  private waiters: Array<() => void> = [];

  constructor(private readonly now: () => Date) {}

  /**
   * Holds one request: returns `released` (resolves on release) and `finish` (call once the request has been
   * answered after its release, so that the release can report it done).
   */
  hold(method: string, path: string, stage: HoldStage): { released: Promise<void>; finish: () => void } {
    let release = (): void => {};
    let finish = (): void => {};
    const released = new Promise<void>((r) => (release = r));
    const finished = new Promise<void>((r) => (finish = r));
    const info: HeldRequest = { id: this.nextId++, method, path, stage, heldAt: this.now().toISOString() };
    this.holds.push({ info, release, finished });
    for (const wake of this.waiters.splice(0)) wake();
    return { released, finish };
  }

  list(): HeldRequest[] {
    return this.holds.map((h) => h.info);
  }

  /** Resolves with the held requests once there is at least one, or after `timeoutMs` (then possibly none). */
  async waitForHeld(timeoutMs: number): Promise<HeldRequest[]> {
    if (this.holds.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(timer);
          const i = waiters.indexOf(done);
          if (i >= 0) waiters.splice(i, 1);
          resolve();
        }
        waiters.push(done);
      });
    }
    return this.list();
  }

  /** Releases the held requests (all, or the one with `id`); resolves with their ids once they were answered. */
  async release(id?: number): Promise<number[]> {
    const chosen = this.holds.filter((h) => id === undefined || h.info.id === id);
    this.holds = this.holds.filter((h) => !chosen.includes(h));
    for (const h of chosen) h.release();
    await Promise.all(chosen.map((h) => h.finished));
    return chosen.map((h) => h.info.id);
  }

  /** On sandbox close: releases every held request and answers every waiting `waitForHeld` now. */
  async stop(): Promise<void> {
    for (const wake of this.waiters.splice(0)) wake();
    await this.release();
  }
}
