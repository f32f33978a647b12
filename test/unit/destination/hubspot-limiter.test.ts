/**
 * The HubSpot limiter keeps HubSpot's rolling window (hubspot-api.md §9, "The ten-second limit is a rolling
 * window"), learns the window and foreign usage from the `X-HubSpot-RateLimit-*` headers, and after a 429 waits
 * only until the window frees. A manual clock: every pause moves it, so start times are exact.
 */
import { describe, expect, it } from 'vitest';
import {
  DailyBudgetSpent,
  RollingWindowLimiter,
  type LimiterClock,
} from '../../../src/destination/hubspot/hubspot-limiter.js';

function manualClock(): LimiterClock & { t: number; sleeps: number[] } {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => clock.t,
    // Time moves after requests already started have run (as a real timer fires after them).
    sleep: (ms: number) =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          clock.sleeps.push(ms);
          clock.t += ms;
          resolve();
        }),
      ),
  };
  return clock;
}

function headers(values: {
  max: number;
  remaining: number;
  interval: number;
  daily?: number;
  dailyRemaining?: number;
  retryAfter?: number;
}): Record<string, string> {
  return {
    'x-hubspot-ratelimit-max': String(values.max),
    'x-hubspot-ratelimit-remaining': String(values.remaining),
    'x-hubspot-ratelimit-interval-milliseconds': String(values.interval),
    ...(values.daily !== undefined ? { 'x-hubspot-ratelimit-daily': String(values.daily) } : {}),
    ...(values.dailyRemaining !== undefined
      ? { 'x-hubspot-ratelimit-daily-remaining': String(values.dailyRemaining) }
      : {}),
    ...(values.retryAfter !== undefined ? { 'retry-after': String(values.retryAfter) } : {}),
  };
}

describe('HubSpot limiter', () => {
  it('lets a request start only when the rolling window has room, not when a fixed interval refills', async () => {
    const clock = manualClock();
    const limiter = new RollingWindowLimiter({ requests: 3, per_ms: 1_000 }, clock);
    const starts: number[] = [];
    const request = () => limiter.schedule(async () => void starts.push(clock.t));
    await request();
    clock.t = 900;
    await Promise.all([request(), request()]);
    // A fixed window would refill 3 at t=1000 while two of them are still inside HubSpot's window.
    await Promise.all([request(), request(), request()]);
    expect(starts).toEqual([0, 900, 900, 1_000, 1_900, 1_900]);
    expect(clock.sleeps).toEqual([100, 900]);
  });

  it("paces by HubSpot's announced window when it is smaller than rate_limit, and counts requests in flight", async () => {
    const clock = manualClock();
    const limiter = new RollingWindowLimiter({ requests: 100, per_ms: 10_000 }, clock);
    const starts: number[] = [];
    let used = 0;
    const request = () =>
      limiter.schedule(async () => {
        starts.push(clock.t);
        used++;
        limiter.observe(200, headers({ max: 2, remaining: Math.max(0, 2 - used), interval: 1_000 }));
      });
    await request();
    used = 0; // HubSpot's window is per second here; the test's counter follows it by hand
    await Promise.all([request(), request(), request()]);
    expect(starts).toEqual([0, 0, 1_000, 1_000]);
  });

  it('counts requests HubSpot saw from elsewhere (Remaining lower than this process explains)', async () => {
    const clock = manualClock();
    const limiter = new RollingWindowLimiter({ requests: 100, per_ms: 10_000 }, clock);
    // Another process with the same token has used 7 of 10; this request is the 8th.
    await limiter.schedule(async () =>
      limiter.observe(200, headers({ max: 10, remaining: 2, interval: 10_000 })),
    );
    expect(limiter.inWindow()).toBe(8);
  });

  it('after a 429 without Retry-After waits until the oldest request leaves the window, not a flat interval', async () => {
    const clock = manualClock();
    const limiter = new RollingWindowLimiter({ requests: 10, per_ms: 10_000 }, clock);
    await limiter.schedule(async () => undefined); // stamped at t=0
    clock.t = 6_000;
    await limiter
      .schedule(async () => {
        limiter.observe(429, headers({ max: 10, remaining: 0, interval: 10_000 }));
        throw new Error('429');
      })
      .catch(() => undefined);
    await limiter.schedule(async () => undefined);
    expect(clock.sleeps).toEqual([4_000]);
    expect(clock.t).toBe(10_000);
  });

  it('after a 429 with Retry-After waits that long', async () => {
    const clock = manualClock();
    const limiter = new RollingWindowLimiter({ requests: 10, per_ms: 10_000 }, clock);
    await limiter
      .schedule(async () => {
        limiter.observe(429, headers({ max: 10, remaining: 0, interval: 10_000, retryAfter: 2 }));
        throw new Error('429');
      })
      .catch(() => undefined);
    await limiter.schedule(async () => undefined);
    expect(clock.sleeps).toEqual([2_000]);
  });

  it('takes a sleep that returns at once (a clock that does not move) as having waited, once', async () => {
    const sleeps: number[] = [];
    const clock: LimiterClock = {
      now: () => 0,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    };
    const limiter = new RollingWindowLimiter({ requests: 2, per_ms: 1_000 }, clock);
    const starts: number[] = [];
    await Promise.all(
      [1, 2, 3, 4, 5].map(() => limiter.schedule(async () => void starts.push(starts.length))),
    );
    expect(starts).toHaveLength(5);
    expect(sleeps).toEqual([1_000, 1_000]);
  });

  it('sends nothing more once X-HubSpot-RateLimit-Daily-Remaining reaches 0', async () => {
    const clock = manualClock();
    const limiter = new RollingWindowLimiter({ requests: 10, per_ms: 10_000 }, clock);
    await limiter.schedule(async () =>
      limiter.observe(200, headers({ max: 10, remaining: 9, interval: 10_000, daily: 5, dailyRemaining: 0 })),
    );
    let sent = false;
    const refused = await limiter
      .schedule(async () => {
        sent = true;
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DailyBudgetSpent);
    expect((refused as DailyBudgetSpent).budget).toEqual({ daily: 5, remaining: 0 });
    expect(sent).toBe(false);
  });
});
