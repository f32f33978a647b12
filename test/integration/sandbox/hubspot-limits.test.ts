import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubspotApi } from '../../../src/sandbox/hubspot/hubspot-api.js';
import type { SandboxContext } from '../../../src/sandbox/sandbox-types.js';
import {
  apiError,
  correlationId,
  startHubspotFixture,
  type HubspotFixture,
} from '../../helpers/hubspot-sandbox-fixture.js';

let hs: HubspotFixture | undefined;
afterEach(async () => {
  await hs?.server.close();
  hs = undefined;
});

function rateHeaders(headers: Record<string, string> | Headers): Record<string, string | null> {
  const get = (name: string): string | null =>
    headers instanceof Headers ? headers.get(name) : (headers[name.toLowerCase()] ?? null);
  return {
    max: get('X-HubSpot-RateLimit-Max'),
    remaining: get('X-HubSpot-RateLimit-Remaining'),
    interval: get('X-HubSpot-RateLimit-Interval-Milliseconds'),
    daily: get('X-HubSpot-RateLimit-Daily'),
    dailyRemaining: get('X-HubSpot-RateLimit-Daily-Remaining'),
  };
}

describe('HubSpot sandbox: authentication', () => {
  it('answers a wrong or missing bearer token with the real 401 body and JSON content type', async () => {
    hs = await startHubspotFixture();
    const wrong = new Client({
      accessToken: 'pat-na1-wrong',
      basePath: hs.server.url,
      numberOfApiCallRetries: 0,
    });
    const error = await apiError(wrong.crm.contacts.basicApi.getPage());
    expect(error.code).toBe(401);
    expect(error.body).toEqual({
      status: 'error',
      message:
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more ' +
        'details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      correlationId: correlationId(1),
      category: 'INVALID_AUTHENTICATION',
    });
    const missing = await fetch(`${hs.server.url}/crm/v3/owners/`);
    expect([missing.status, missing.headers.get('content-type')]).toEqual([
      401,
      'application/json;charset=utf-8',
    ]);
  });
});

describe('HubSpot sandbox: rate limits', () => {
  it('sends the limit headers on every response and refuses the 4th request in 10 s with TEN_SECONDLY_ROLLING', async () => {
    hs = await startHubspotFixture({ tenSecondlyLimit: 3, dailyLimit: 1000 });
    const seen: Array<Record<string, string | null>> = [];
    for (let i = 0; i < 3; i++) {
      const res = await hs.client.crm.owners.ownersApi.getPageWithHttpInfo();
      expect(res.httpStatusCode).toBe(200);
      seen.push(rateHeaders(res.headers));
      hs.server.advance(1_000);
    }
    expect(seen).toEqual([
      { max: '3', remaining: '2', interval: '10000', daily: '1000', dailyRemaining: '999' },
      { max: '3', remaining: '1', interval: '10000', daily: '1000', dailyRemaining: '998' },
      { max: '3', remaining: '0', interval: '10000', daily: '1000', dailyRemaining: '997' },
    ]);

    const refused = await apiError(hs.client.crm.owners.ownersApi.getPage());
    expect(refused.code).toBe(429);
    expect(refused.body).toEqual({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      correlationId: correlationId(1),
      policyName: 'TEN_SECONDLY_ROLLING',
      requestId: correlationId(1),
    });
    expect(rateHeaders(refused.headers)).toEqual({
      max: '3',
      remaining: '0',
      interval: '10000',
      daily: '1000',
      dailyRemaining: '997',
    });

    // The window rolls: 10 s after the first request, one slot is free again.
    hs.server.advance(7_000);
    const again = await hs.client.crm.owners.ownersApi.getPageWithHttpInfo();
    expect(rateHeaders(again.headers)).toMatchObject({ remaining: '0', dailyRemaining: '996' });
  });

  it('stops at the daily limit with the DAILY policy until the next UTC day', async () => {
    hs = await startHubspotFixture({ dailyLimit: 2 });
    await hs.client.crm.owners.ownersApi.getPage();
    await hs.client.crm.owners.ownersApi.getPage();
    const refused = await apiError(hs.client.crm.owners.ownersApi.getPage());
    expect([refused.code, refused.body]).toEqual([
      429,
      {
        status: 'error',
        message: 'You have reached your daily limit.',
        errorType: 'RATE_LIMIT',
        correlationId: correlationId(1),
        policyName: 'DAILY',
        requestId: correlationId(1),
      },
    ]);
    expect(rateHeaders(refused.headers)).toMatchObject({ daily: '2', dailyRemaining: '0' });
    hs.server.setNow(new Date('2025-01-07T00:00:00.000Z'));
    const nextDay = await hs.client.crm.owners.ownersApi.getPageWithHttpInfo();
    expect(rateHeaders(nextDay.headers)).toMatchObject({ dailyRemaining: '1' });
  });

  it('uses 190 / 10 s and 625,000 / day for the pro tier, and admin can change limits and usage', async () => {
    hs = await startHubspotFixture({ tier: 'pro' });
    const res = await hs.raw('GET', '/crm/v3/owners/');
    expect(rateHeaders(res.headers)).toEqual({
      max: '190',
      remaining: '189',
      interval: '10000',
      daily: '625000',
      dailyRemaining: '624999',
    });
    const set = await hs.admin('POST', 'limits', { max: 1, dailyUsed: 624_999, resetWindow: true });
    expect(set).toEqual({
      status: 200,
      body: {
        limits: { max: 1, intervalMs: 10_000, daily: 625_000 },
        usage: { window: 0, day: '2025-01-06', dailyUsed: 624_999 },
      },
    });
    const last = await hs.raw('GET', '/crm/v3/owners/');
    expect(rateHeaders(last.headers)).toMatchObject({ max: '1', remaining: '0', dailyRemaining: '0' });
    const bad = await hs.admin('POST', 'limits', { max: -1 });
    expect(bad).toEqual({ status: 400, body: { error: 'max must be a non-negative integer' } });
  });
});

describe('HubSpot sandbox: state', () => {
  it('exports and imports the whole portal, continuing ids, and resets to the standard portal', async () => {
    hs = await startHubspotFixture();
    await hs.client.crm.contacts.batchApi.upsert({
      inputs: [{ idProperty: 'email', id: 'a@example.com', properties: { firstname: 'A' } }],
    });
    await hs.client.crm.properties.groupsApi.create('contacts', {
      name: 'pql',
      label: 'PQL',
      displayOrder: -1,
    });
    const state = JSON.parse(JSON.stringify(hs.server.api.exportState())) as unknown;

    const restored = await startHubspotFixture();
    try {
      restored.server.api.importState(state);
      const read = await restored.client.crm.contacts.basicApi.getById(
        'a@example.com',
        ['firstname'],
        undefined,
        undefined,
        false,
        'email',
      );
      expect(read.properties.firstname).toBe('A');
      const next = await restored.client.crm.contacts.basicApi.create({
        properties: { email: 'b@example.com' },
        associations: [],
      });
      expect(next.id).toBe('100002');
      const groups = await restored.client.crm.properties.groupsApi.getAll('contacts');
      expect(groups.results.map((g) => g.name)).toEqual(['contactinformation', 'pql']);

      restored.server.api.reset();
      expect((await restored.admin('GET', 'contacts')).body).toEqual({ results: [] });
      const afterReset = await restored.client.crm.properties.groupsApi.getAll('contacts');
      expect(afterReset.results.map((g) => g.name)).toEqual(['contactinformation']);
    } finally {
      await restored.server.close();
    }
  });

  it('refuses a state that was not written by exportState, naming the expected shape', () => {
    const ctx: SandboxContext = {
      now: () => new Date(0),
      random: () => 0,
      faults: { takeRecordFault: () => undefined, takeOmittedResults: () => new Set() },
      token: 't',
      baseUrl: () => 'http://127.0.0.1:1',
    };
    expect(() => createHubspotApi(ctx).importState({ version: 2 })).toThrow(
      'HubSpot sandbox state is not valid: expected {"version":1, "nextId", "records", "properties", "groups", ' +
        '"owners", "associations"} as written by exportState()',
    );
  });

  it('answers unknown admin routes and object types with a message naming what exists', async () => {
    hs = await startHubspotFixture();
    expect(await hs.admin('GET', 'tickets')).toEqual({
      status: 404,
      body: {
        error:
          'No HubSpot admin route GET /_sandbox/hubspot/tickets; use {contacts|companies|deals|tasks}, owners, limits, tasks/{id}/complete, contacts/{id}/deal or deals/{id}/stage',
      },
    });
    const res = await hs.raw('POST', '/crm/v3/objects/tickets/batch/create', { inputs: [] });
    expect([res.status, await res.json()]).toEqual([
      400,
      {
        status: 'error',
        message:
          'Unable to infer object type from: tickets (the sandbox serves contacts, companies, deals and tasks)',
        correlationId: correlationId(1),
        category: 'VALIDATION_ERROR',
      },
    ]);
  });
});
