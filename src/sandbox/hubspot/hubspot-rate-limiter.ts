/**
 * HubSpot's two request limits for a private app: a rolling 10-second window per app and a daily budget per
 * account, with the `X-HubSpot-RateLimit-*` headers HubSpot sends on every response.
 *
 * Glossary:
 * - window: the last `intervalMs` milliseconds; a request is refused when `max` requests were accepted in it.
 * - day: the UTC calendar day of the sandbox clock (HubSpot resets at midnight in the account's time zone;
 *   the sandbox's account lives in UTC).
 */
import type { RateLimitPolicy } from './hubspot-responses.js';

export interface RateLimits {
  /** Requests accepted per rolling window. (Default: 100, HubSpot Free/Starter; 190 with `tier: 'pro'`) */
  max: number;
  /** Length of the rolling window in milliseconds. (Default: 10000) */
  intervalMs: number;
  /** Requests accepted per day. (Default: 250000; 625000 with `tier: 'pro'`) */
  daily: number;
}

export const RATE_LIMIT_TIERS = {
  starter: { max: 100, intervalMs: 10_000, daily: 250_000 },
  pro: { max: 190, intervalMs: 10_000, daily: 625_000 },
} as const satisfies Record<string, RateLimits>;
export type RateLimitTier = keyof typeof RATE_LIMIT_TIERS;

export interface RateLimitUsage {
  /** Epoch ms of the requests accepted in the current window, oldest first. */
  window: number[];
  /** `YYYY-MM-DD` (UTC) the daily counter belongs to. */
  day: string;
  dailyUsed: number;
}

export interface RateLimitDecision {
  refused?: RateLimitPolicy;
  headers: Record<string, string>;
}

export class RateLimiter {
  limits: RateLimits;
  usage: RateLimitUsage = { window: [], day: '', dailyUsed: 0 };

  constructor(limits: RateLimits) {
    this.limits = { ...limits };
  }

  /** Counts one request at `now` unless a limit refuses it; returns the headers for its response. */
  take(now: Date): RateLimitDecision {
    const at = now.getTime();
    const day = now.toISOString().slice(0, 10);
    if (day !== this.usage.day) {
      this.usage.day = day;
      this.usage.dailyUsed = 0;
    }
    const windowStart = at - this.limits.intervalMs;
    while (this.usage.window.length > 0 && (this.usage.window[0] ?? 0) <= windowStart) {
      this.usage.window.shift();
    }
    let refused: RateLimitPolicy | undefined;
    if (this.usage.dailyUsed >= this.limits.daily) {
      refused = 'DAILY';
    } else if (this.usage.window.length >= this.limits.max) {
      refused = 'TEN_SECONDLY_ROLLING';
    } else {
      this.usage.window.push(at);
      this.usage.dailyUsed += 1;
    }
    return { ...(refused ? { refused } : {}), headers: this.headers() };
  }

  headers(): Record<string, string> {
    return {
      'X-HubSpot-RateLimit-Max': String(this.limits.max),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, this.limits.max - this.usage.window.length)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': String(this.limits.intervalMs),
      'X-HubSpot-RateLimit-Daily': String(this.limits.daily),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, this.limits.daily - this.usage.dailyUsed)),
    };
  }
}
