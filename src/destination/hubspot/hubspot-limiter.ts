/**
 * One request budget per HubSpot app in this process. HubSpot counts a private app's requests in one rolling
 * window whatever they are for, so the destination (record writes) and the routing task writer (owners, tasks)
 * of the same portal draw from one limiter instead of two, which together could send twice the `rate_limit`.
 *
 * Holders are counted: the limiter stops when the last one releases it, and the next holder gets a new one. The
 * first holder's `rate_limit` sets the budget (holders of one token share its destination config).
 */
import { createHash } from 'node:crypto';
import Bottleneck from 'bottleneck';

export interface RateLimit {
  requests: number;
  per_ms: number;
}

/** HubSpot's limit for a Free or Starter app: 100 requests per rolling 10 s. */
const DEFAULT_RATE_LIMIT: RateLimit = { requests: 100, per_ms: 10_000 };

export interface LimiterLease {
  readonly bottleneck: Bottleneck;
  /** Gives the lease back; the last one stops the limiter, letting queued requests finish. Idempotent. */
  release(): Promise<void>;
}

const shared = new Map<string, { limiter: Bottleneck; holders: number }>();

export function acquireHubspotLimiter(
  baseUrl: string,
  accessToken: string,
  limit: RateLimit = DEFAULT_RATE_LIMIT,
): LimiterLease {
  // The token is hashed so the registry never holds it as a key.
  const key = `${baseUrl} ${createHash('sha256').update(accessToken).digest('hex')}`;
  let entry = shared.get(key);
  if (!entry) {
    entry = {
      limiter: new Bottleneck({
        reservoir: limit.requests,
        reservoirRefreshAmount: limit.requests,
        reservoirRefreshInterval: limit.per_ms,
      }),
      holders: 0,
    };
    shared.set(key, entry);
  }
  entry.holders++;
  const held = entry;
  let released = false;
  return {
    bottleneck: held.limiter,
    async release() {
      if (released) return;
      released = true;
      if (--held.holders > 0) return;
      if (shared.get(key) === held) shared.delete(key);
      await held.limiter.stop({ dropWaitingJobs: false });
    },
  };
}
