import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  apiError,
  correlationId,
  startHubspotFixture,
  useHubspotFixture,
} from '../../helpers/hubspot-sandbox-fixture.js';

const hs = useHubspotFixture();
beforeEach(async () => {
  // Five contacts created a minute apart: ids 100001..100005.
  const people: Array<[string, string, string]> = [
    ['ann@acme.com', 'lead', 'Acme'],
    ['bob@acme.com', 'customer', 'Acme'],
    ['cy@globex.com', 'lead', 'Globex'],
    ['di@globex.com', 'lead', ''],
    ['ed@initech.com', 'subscriber', 'Initech'],
  ];
  for (const [email, stage, company] of people) {
    await hs.client.crm.contacts.basicApi.create({
      properties: { email, lifecyclestage: stage, ...(company ? { company } : {}) },
      associations: [],
    });
    hs.server.advance(60_000);
  }
});

describe('HubSpot sandbox: search', () => {
  it('filters with EQ (case-insensitive), returns the asked properties and pages with after', async () => {
    const request = {
      filterGroups: [
        { filters: [{ propertyName: 'lifecyclestage', operator: FilterOperatorEnum.Eq, value: 'LEAD' }] },
      ],
      properties: ['email'],
      limit: 2,
    };
    const first = await hs.client.crm.contacts.searchApi.doSearch(request);
    expect(first.total).toBe(3);
    expect(first.results.map((r) => r.properties)).toEqual([
      { email: 'ann@acme.com', hs_object_id: '100001' },
      { email: 'cy@globex.com', hs_object_id: '100003' },
    ]);
    expect(first.paging?.next?.after).toBe('2');
    const second = await hs.client.crm.contacts.searchApi.doSearch({
      ...request,
      after: first.paging?.next?.after,
    });
    expect(second.results.map((r) => r.id)).toEqual(['100004']);
    expect(second.paging).toBeUndefined();
  });

  it('ORs filter groups, ANDs filters, supports IN, NEQ and HAS_PROPERTY, and sorts', async () => {
    const result = await hs.client.crm.contacts.searchApi.doSearch({
      filterGroups: [
        {
          filters: [
            { propertyName: 'company', operator: FilterOperatorEnum.HasProperty },
            { propertyName: 'lifecyclestage', operator: FilterOperatorEnum.Neq, value: 'customer' },
          ],
        },
        { filters: [{ propertyName: 'email', operator: FilterOperatorEnum.In, values: ['di@globex.com'] }] },
      ],
      sorts: ['-createdate'],
      properties: ['email', 'company'],
      limit: 10,
    });
    expect(result.results.map((r) => [r.properties.email, r.properties.company])).toEqual([
      ['ed@initech.com', 'Initech'],
      ['di@globex.com', null],
      ['cy@globex.com', 'Globex'],
      ['ann@acme.com', 'Acme'],
    ]);
  });

  it('rejects a limit above 200 and an operator the sandbox does not implement', async () => {
    const tooMany = await apiError(hs.client.crm.contacts.searchApi.doSearch({ limit: 201 }));
    expect([tooMany.code, tooMany.body]).toEqual([
      400,
      {
        status: 'error',
        message: 'Invalid input JSON: limit must be an integer between 1 and 200, got 201',
        correlationId: correlationId(1),
        category: 'VALIDATION_ERROR',
      },
    ]);
    const unknown = await apiError(
      hs.client.crm.contacts.searchApi.doSearch({
        filterGroups: [
          {
            filters: [
              { propertyName: 'email', operator: FilterOperatorEnum.ContainsToken, value: '*@acme.com' },
            ],
          },
        ],
      }),
    );
    expect((unknown.body as { message: string }).message).toBe(
      'Invalid input JSON: filter operator CONTAINS_TOKEN is not supported by the sandbox (supported: EQ, NEQ, IN, ' +
        'NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, GT, GTE, LT, LTE)',
    );
  });

  it('hides new records from search during the configured index lag', async () => {
    const lagged = await startHubspotFixture({ searchLagMs: 5_000 });
    try {
      await lagged.client.crm.contacts.basicApi.create({
        properties: { email: 'new@x.com' },
        associations: [],
      });
      const now = await lagged.client.crm.contacts.searchApi.doSearch({});
      expect(now.total).toBe(0);
      lagged.server.advance(5_000);
      const later = await lagged.client.crm.contacts.searchApi.doSearch({});
      expect(later.results.map((r) => r.properties.email)).toEqual(['new@x.com']);
    } finally {
      await lagged.server.close();
    }
  });
});
