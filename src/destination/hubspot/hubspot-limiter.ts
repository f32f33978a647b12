/**
 * One request budget per HubSpot app in this process, kept as HubSpot keeps it: a rolling window. HubSpot counts
 * a private app's requests in the last 10 seconds whatever they are for, so the destination (record writes) and
 * the routing task writer (owners, tasks) of the same portal draw from one limiter instead of two, which together
 * could send twice the `rate_limit`.
 *
 * Why not Bottleneck's reservoir (which this file used before): it refills on a fixed interval, so the first
 * requests after a refill meet the previous burst still inside HubSpot's rolling window and draw 429s. Here a
 * request may start only while fewer than `requests` requests are in the last `per_ms` milliseconds, counting each
 * from when its answer arrived (HubSpot counted it at some moment before that, so the slot is free on HubSpot's
 * side by the time it is free here) and counting requests still in flight.
 *
 * Glossary:
 * - window: `{max, ms}`, at most `max` requests in any `ms` milliseconds. Two apply: the config's `rate_limit`,
 *   and HubSpot's own from the last `X-HubSpot-RateLimit-Max` / `-Interval-Milliseconds` headers.
 * - stamp: when a request's answer (or failure) arrived; kept while inside the longest window.
 * - foreign stamp: a request HubSpot counted that this process did not send (another process with the same
 *   token), learnt when `X-HubSpot-RateLimit-Remaining` is lower than this process can explain; stamped when seen.
 *
 * Holders are counted: the limiter stops when the last one releases it, and the next holder gets a new one. The
 * first holder's `rate_limit` and clock set the budget (holders of one token share its destination config).
 */
import { createHash } from 'node:crypto';

export interface RateLimit {
  requests: number;
  per_ms: number;
}

/** HubSpot's limit for a Free or Starter app: 100 requests per rolling 10 s. */
const DEFAULT_RATE_LIMIT: RateLimit = { requests: 100, per_ms: 10_000 };

export interface LimiterClock {
  /** Milliseconds. (Default: Date.now) */
  now: () => number;
  /** Waits out a pause; tests move a sandbox clock instead. (Default: setTimeout) */
  sleep: (ms: number) => Promise<void>;
}

const SYSTEM_CLOCK: LimiterClock = {
  now: Date.now,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

interface Window {
  max: number;
  ms: number;
}

/** What the limiter knows of HubSpot's daily budget, from `X-HubSpot-RateLimit-Daily[-Remaining]`. */
export interface DailyBudget {
  daily: number;
  remaining: number;
}

/** Thrown instead of sending a request once HubSpot said the day's budget is spent (hubspot-errors translates it). */
export class DailyBudgetSpent extends Error {
  constructor(readonly budget: DailyBudget) {
    super(`HubSpot's daily API limit is used up (${budget.daily} requests)`);
  }
}

export class RollingWindowLimiter {
  private readonly configured: Window;
  private announced: Window | undefined;
  /** Stamps in ascending order; `stamps[head]` is the oldest still kept. */
  private stamps: number[] = [];
  private head = 0;
  private inFlight = 0;
  private pausedUntil = 0;
  private daily: DailyBudget | undefined;
  private readonly queue: Array<{ start: () => void; fail: (err: unknown) => void }> = [];
  private pumping = false;
  private stopped = false;
  /** Where the last pause ended: a `sleep` that returns early (a test's) still counts as having waited. */
  private sleptUntil = 0;
  private idle: Array<() => void> = [];

  constructor(
    limit: RateLimit,
    private readonly clock: LimiterClock = SYSTEM_CLOCK,
  ) {
    this.configured = { max: Math.max(1, limit.requests), ms: Math.max(1, limit.per_ms) };
  }

  /** Runs `fn` (one HTTP request) once the windows have room, in arrival order. */
  async schedule<T>(fn: () => Promise<T>): Promise<T> {
    if (this.stopped) throw new Error('the HubSpot limiter was stopped');
    await new Promise<void>((start, fail) => {
      this.queue.push({ start, fail });
      void this.pump();
    });
    try {
      return await fn();
    } finally {
      this.inFlight--;
      this.stamp(1);
      void this.pump();
      this.notifyIdle();
    }
  }

  /**
   * Reads HubSpot's rate-limit headers of one answer (lower-case names), called by the transport before the
   * request's `schedule` settles. A ten-secondly 429 pauses every request for its `Retry-After`, else until the
   * oldest request in the window leaves it (the earliest a rolling window frees a slot), never a flat interval.
   */
  observe(status: number, headers: Record<string, string>): void {
    const now = this.now();
    const max = Number(headers['x-hubspot-ratelimit-max']);
    const ms = Number(headers['x-hubspot-ratelimit-interval-milliseconds']);
    if (Number.isInteger(max) && max > 0 && Number.isInteger(ms) && ms > 0) this.announced = { max, ms };
    const daily = Number(headers['x-hubspot-ratelimit-daily']);
    const dailyRemaining = Number(headers['x-hubspot-ratelimit-daily-remaining']);
    if (headers['x-hubspot-ratelimit-daily-remaining'] !== undefined && Number.isFinite(dailyRemaining)) {
      this.daily = { daily: Number.isFinite(daily) ? daily : dailyRemaining, remaining: dailyRemaining };
    }
    if (status === 429) {
      if (this.daily?.remaining === 0) return;
      const retryAfter = Number(headers['retry-after']);
      const until =
        Number.isFinite(retryAfter) && retryAfter > 0
          ? now + retryAfter * 1000
          : (this.oldestIn(this.announced ?? this.configured, now) ?? now) +
            (this.announced ?? this.configured).ms;
      this.pausedUntil = Math.max(this.pausedUntil, until);
      return;
    }
    const remaining = Number(headers['x-hubspot-ratelimit-remaining']);
    if (
      this.announced &&
      headers['x-hubspot-ratelimit-remaining'] !== undefined &&
      Number.isFinite(remaining)
    ) {
      // HubSpot's window holds `max - remaining`; ours holds at least every request of ours HubSpot has counted
      // (this one included, still in flight). More on HubSpot's side was sent by someone else.
      const foreign = this.announced.max - remaining - this.used(this.announced, now);
      if (foreign > 0) this.stamp(Math.min(foreign, this.announced.max));
    }
  }

  /** Requests counted in the config's window now, in flight included (for tests and the bench). */
  inWindow(): number {
    return this.used(this.configured, this.now());
  }

  /** Stops taking requests and resolves once those queued and in flight have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private now(): number {
    return Math.max(this.clock.now(), this.sleptUntil);
  }

  private windows(): Window[] {
    return this.announced ? [this.configured, this.announced] : [this.configured];
  }

  /** Starts queued requests while there is room; sleeps until the next slot frees when there is none. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        // Requests in flight may not be counted in `remaining` yet: leave room for them.
        if (this.daily && this.daily.remaining - this.inFlight <= 0) {
          const spent = new DailyBudgetSpent({ daily: this.daily.daily, remaining: 0 });
          for (const waiting of this.queue.splice(0)) waiting.fail(spent);
          break;
        }
        const now = this.now();
        const wait = this.waitMs(now);
        // Every slot is held by a request in flight: the next answer starts the pump again.
        if (wait === Infinity) break;
        if (wait > 0) {
          await this.clock.sleep(wait);
          this.sleptUntil = Math.max(this.sleptUntil, now + wait);
          continue;
        }
        this.inFlight++;
        this.queue.shift()?.start();
      }
    } finally {
      this.pumping = false;
      this.notifyIdle();
    }
  }

  /** Milliseconds until one more request fits every window (0: now; Infinity: when a request in flight ends). */
  private waitMs(now: number): number {
    let wait = Math.max(0, this.pausedUntil - now);
    for (const window of this.windows()) {
      const first = this.firstIn(window, now);
      const used = this.stamps.length - first + this.inFlight;
      if (used < window.max) continue;
      // The window must lose `used - max + 1` stamps; in-flight requests leave only after they end.
      const leaving = first + (used - window.max);
      if (leaving >= this.stamps.length) return Infinity;
      wait = Math.max(wait, (this.stamps[leaving] ?? now) + window.ms - now);
    }
    return wait;
  }

  private used(window: Window, now: number): number {
    return this.stamps.length - this.firstIn(window, now) + this.inFlight;
  }

  private oldestIn(window: Window, now: number): number | undefined {
    return this.stamps[this.firstIn(window, now)];
  }

  /** Index of the first stamp inside `window` (a stamp leaves it `window.ms` after it was made). */
  private firstIn(window: Window, now: number): number {
    let lo = this.head;
    let hi = this.stamps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.stamps[mid] ?? 0) + window.ms <= now) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private stamp(count: number): void {
    const now = this.now();
    // A clock moved backwards (a test resetting it) must not break the ascending order.
    const at = Math.max(now, this.stamps[this.stamps.length - 1] ?? now);
    for (let i = 0; i < count; i++) this.stamps.push(at);
    const longest = Math.max(...this.windows().map((w) => w.ms));
    this.head = this.firstIn({ max: 0, ms: longest }, now);
    if (this.head > 1024 && this.head * 2 > this.stamps.length) {
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.inFlight > 0 || this.pumping) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}

export interface LimiterLease {
  readonly limiter: RollingWindowLimiter;
  /** Gives the lease back; the last one stops the limiter, letting queued requests finish. Idempotent. */
  release(): Promise<void>;
}

const shared = new Map<string, { limiter: RollingWindowLimiter; holders: number }>();

export function acquireHubspotLimiter(
  baseUrl: string,
  accessToken: string,
  limit: RateLimit = DEFAULT_RATE_LIMIT,
  clock?: LimiterClock,
): LimiterLease {
  // The token is hashed so the registry never holds it as a key.
  const key = `${baseUrl} ${createHash('sha256').update(accessToken).digest('hex')}`;
  let entry = shared.get(key);
  if (!entry) {
    entry = { limiter: new RollingWindowLimiter(limit, clock), holders: 0 };
    shared.set(key, entry);
  }
  entry.holders++;
  const held = entry;
  let released = false;
  return {
    limiter: held.limiter,
    async release() {
      if (released) return;
      released = true;
      if (--held.holders > 0) return;
      if (shared.get(key) === held) shared.delete(key);
      await held.limiter.stop();
    },
  };
}
