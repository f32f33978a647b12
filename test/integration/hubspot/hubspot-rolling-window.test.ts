/**
 * HubSpot counts requests in a rolling 10-second window (hubspot-api.md §9); the sandbox does too, here shrunk to
 * 10 requests per second so a 2,000-contact sync (20 batch upserts after the preflight) meets it several times
 * in a couple of seconds. Both sides keep real time. A limiter refilling a fixed 10 per second sends the first
 * requests after each refill while the previous burst is still inside the window, and draws 429s; the rolling
 * limiter draws none. Counts only: how long it took is the bench's business.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './hubspot-harness.js';

const UPSERT = '/crm/v3/objects/contacts/batch/upsert';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("HubSpot destination against the sandbox's rolling window", () => {
  it('syncs 2,000 contacts at 10 requests / 1 s with no 429: 20 upserts of 100, each sent once', async () => {
    h = await startHarness({
      rows: 2_000,
      realClock: true,
      rateLimitRequests: 10,
      rateLimitPerMs: 1_000,
      sandbox: { tenSecondlyLimit: 10, intervalMs: 1_000 },
    });
    const summary = await h.run({ retry: { maxAttempts: 8 } });
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ added: 2_000, applied: 2_000, rejected: 0 });
    const log = await h.requests();
    expect(log.filter((r) => r.status === 429)).toEqual([]);
    const upserts = log.filter((r) => r.path === UPSERT);
    expect(upserts.map((r) => [r.status, r.records])).toEqual(Array.from({ length: 20 }, () => [200, 100]));
    expect(summary.apiCalls).toBe(log.length);
  }, 120_000);
});
