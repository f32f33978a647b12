/**
 * HubSpot counts an app's requests in one window, so the destination and the routing task writer of one portal
 * draw from one limiter (`hubspot-limiter.ts`) instead of two that together could send twice `rate_limit`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  HubspotDestination,
  type HubspotDestinationConfig,
} from '../../../src/destination/hubspot/hubspot-destination.js';
import {
  acquireHubspotLimiter,
  type LimiterLease,
} from '../../../src/destination/hubspot/hubspot-limiter.js';
import { HubspotTaskWriter } from '../../../src/destination/hubspot/hubspot-tasks.js';
import { startHubspotFixture, type HubspotFixture } from '../../helpers/hubspot-sandbox-fixture.js';

let hs: HubspotFixture | undefined;
afterEach(async () => {
  await hs?.server.close();
  hs = undefined;
});

const LIMIT = { requests: 50, per_ms: 600_000 };

describe('HubSpot request budget', () => {
  it('is one per app: the task writer spends from the limiter the destination holds, until both release it', async () => {
    hs = await startHubspotFixture();
    const config = {
      type: 'hubspot',
      access_token: hs.server.token,
      base_url: hs.server.url,
      rate_limit: LIMIT,
    } as HubspotDestinationConfig;
    const destination = new HubspotDestination({ name: 'hs', config });
    const writer = new HubspotTaskWriter({ name: 'hs', config });
    const probe = acquireHubspotLimiter(hs.server.url, hs.server.token, LIMIT);
    const held = (destination as unknown as { limiter: LimiterLease }).limiter.limiter;
    expect(held).toBe(probe.limiter);

    // Owners are read in two pages (active, then archived): two requests from the shared budget.
    await writer.listOwners();
    expect(writer.apiCalls()).toBe(2);
    expect(probe.limiter.inWindow()).toBe(2);

    // Another app (token) has a budget of its own.
    const other = acquireHubspotLimiter(hs.server.url, 'pat-na1-another-app', LIMIT);
    expect(other.limiter).not.toBe(probe.limiter);
    await other.release();

    // The limiter outlives any one holder, and the last release stops it; the next holder starts afresh.
    await writer.close();
    await destination.close();
    expect(await probe.limiter.schedule(async () => 'still open')).toBe('still open');
    await probe.release();
    await probe.release(); // idempotent: a second release does not count again
    const next = acquireHubspotLimiter(hs.server.url, hs.server.token, LIMIT);
    expect(next.limiter).not.toBe(probe.limiter);
    expect(next.limiter.inWindow()).toBe(0);
    await next.release();
  });
});
