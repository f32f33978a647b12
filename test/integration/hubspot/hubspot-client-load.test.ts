/**
 * What the HubSpot records writer makes the client load before a run's first request (issue 22: each part of the
 * client's generated code costs 50-400 ms to load on the busy 2-core machine, before the preflight's first
 * request): the properties APIs only; the records' batch API at the first write; never the owners, v4
 * associations or search code, which only the routing task writer and the pull reader call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HubspotDestination } from '../../../src/destination/hubspot/hubspot-destination.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { syncTarget } from '../../../src/runner/run-sync.js';

const TOKEN = 'pat-na1-client-load-test';

/** The client's lazily made API groups (its private getters' fields) that exist so far. */
function loaded(destination: HubspotDestination): string[] {
  const crm = (destination as unknown as { client: { crm: Record<string, unknown> } }).client.crm;
  return ['_objects', '_properties', '_owners', '_associations'].filter((k) => crm[k] !== undefined);
}

describe('HubSpot records writer: the client code it loads', () => {
  let sandbox: RunningSandbox | undefined;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  it('loads only the properties APIs for the preflight, the objects API at the first write, never owners or associations', async () => {
    sandbox = await startSandbox({ token: TOKEN, seed: 11 });
    const destination = new HubspotDestination({
      name: 'hubspot',
      config: {
        type: 'hubspot',
        access_token: TOKEN,
        base_url: sandbox.url,
        create_properties: true,
        property_group: 'pqlsync',
        rate_limit: { requests: 100, per_ms: 10_000 },
        request_timeout_ms: 30_000,
      } as ConstructorParameters<typeof HubspotDestination>[0]['config'],
    });
    try {
      expect(loaded(destination)).toEqual(['_properties']);
      const target = syncTarget(
        'users',
        {
          model: 'pql_contacts',
          destination: 'hubspot',
          object: 'contacts',
          match: { field: 'product_user_id', column: 'user_id' },
          mode: 'upsert',
          fields: { pql_score: 'pql_score' },
        } as unknown as Parameters<typeof syncTarget>[1],
        'user_id',
      );
      await destination.preflight(target);
      expect(loaded(destination)).toEqual(['_properties']);
      const outcomes = await destination.write({
        target,
        changes: [
          {
            key: '1',
            kind: 'added',
            matchValue: '1',
            values: { pql_score: 42 },
            changedFields: ['pql_score'],
            row: undefined,
            rowHash: null,
            attempts: 0,
          },
        ],
      });
      expect(outcomes.map((o) => o.status)).toEqual(['applied']);
      expect(loaded(destination)).toEqual(['_objects', '_properties']);
      // preflight: list properties, list groups, create the group, create the properties; then one write.
      expect(destination.apiCalls()).toBe(5);
    } finally {
      await destination.close();
    }
  });
});
