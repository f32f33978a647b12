import {
  PropertyCreateFieldTypeEnum,
  PropertyCreateTypeEnum,
} from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import { describe, expect, it } from 'vitest';
import { apiError, correlationId, useHubspotFixture } from '../../helpers/hubspot-sandbox-fixture.js';

const hs = useHubspotFixture();

const pqlTier = {
  name: 'pql_tier',
  label: 'PQL tier',
  type: PropertyCreateTypeEnum.Enumeration,
  fieldType: PropertyCreateFieldTypeEnum.Select,
  groupName: 'pql',
  options: [
    { label: 'Hot', value: 'hot', displayOrder: 0, hidden: false },
    { label: 'Warm', value: 'warm', displayOrder: 1, hidden: false },
  ],
};

describe('HubSpot sandbox: properties and groups', () => {
  it('starts with the standard properties only', async () => {
    const all = await hs.client.crm.properties.coreApi.getAll('contacts', false);
    expect(all.results.map((p) => p.name)).toEqual([
      'email',
      'firstname',
      'lastname',
      'company',
      'jobtitle',
      'phone',
      'website',
      'lifecyclestage',
      'hs_lifecyclestage_opportunity_date',
      'hs_lifecyclestage_customer_date',
      'hs_lead_status',
      'hubspot_owner_id',
      'hubspotscore',
      'createdate',
      'lastmodifieddate',
      'hs_object_id',
    ]);
    const email = all.results.find((p) => p.name === 'email');
    expect([
      email?.type,
      email?.fieldType,
      email?.hasUniqueValue,
      email?.modificationMetadata?.readOnlyValue,
    ]).toEqual(['string', 'text', false, false]);
    const tasks = await hs.client.crm.properties.coreApi.getAll('tasks', false);
    expect(tasks.results.map((p) => p.name)).toContain('hs_timestamp');
  });

  it('creates a group and an enumeration property, answers 409 for an existing name, validates options on write', async () => {
    const group = await hs.client.crm.properties.groupsApi.create('contacts', {
      name: 'pql',
      label: 'PQL',
      displayOrder: -1,
    });
    expect(group).toEqual({ name: 'pql', label: 'PQL', displayOrder: -1, archived: false });
    const groupAgain = await apiError(
      hs.client.crm.properties.groupsApi.create('contacts', { name: 'pql', label: 'PQL', displayOrder: -1 }),
    );
    expect([groupAgain.code, groupAgain.body]).toEqual([
      409,
      {
        status: 'error',
        message: "Property group named 'pql' already exists.",
        correlationId: correlationId(1),
        category: 'OBJECT_ALREADY_EXISTS',
      },
    ]);

    const created = await hs.client.crm.properties.coreApi.create('contacts', pqlTier);
    expect([created.name, created.type, created.options.map((o) => o.value)]).toEqual([
      'pql_tier',
      'enumeration',
      ['hot', 'warm'],
    ]);
    const again = await apiError(hs.client.crm.properties.coreApi.create('contacts', pqlTier));
    expect([again.code, again.body]).toEqual([
      409,
      {
        status: 'error',
        message: "Property named 'pql_tier' already exists.",
        correlationId: correlationId(2),
        category: 'OBJECT_ALREADY_EXISTS',
      },
    ]);

    const groups = await hs.client.crm.properties.groupsApi.getAll('contacts');
    expect(groups.results.map((g) => g.name)).toEqual(['contactinformation', 'pql']);

    const ok = await hs.client.crm.contacts.batchApi.upsert({
      inputs: [{ idProperty: 'email', id: 'a@example.com', properties: { pql_tier: 'hot' } }],
    });
    expect(ok.results[0]?.properties.pql_tier).toBe('hot');
    const bad = await apiError(
      hs.client.crm.contacts.batchApi.upsert({
        inputs: [{ idProperty: 'email', id: 'a@example.com', properties: { pql_tier: 'lukewarm' } }],
      }),
    );
    expect(bad.code).toBe(400);
    expect((bad.body as { message: string }).message).toBe(
      'Property values were not valid: [{"isValid":false,"message":"lukewarm was not one of the allowed options: ' +
        '[hot, warm]","error":"INVALID_OPTION","name":"pql_tier","localizedErrorMessage":"lukewarm was not one of ' +
        'the allowed options: [hot, warm]","portalId":12345678}]',
    );
  });

  it('rejects a property in a group that does not exist', async () => {
    const error = await apiError(hs.client.crm.properties.coreApi.create('contacts', pqlTier));
    expect([error.code, error.body]).toEqual([
      400,
      {
        status: 'error',
        message: 'Property group pql does not exist for object contacts',
        correlationId: correlationId(1),
        category: 'VALIDATION_ERROR',
      },
    ]);
  });

  it('batch-creates properties (207 for an existing one) and batch-reads them', async () => {
    const created = await hs.client.crm.properties.batchApi.create('contacts', {
      inputs: [
        {
          name: 'pql_score',
          label: 'PQL score',
          type: PropertyCreateTypeEnum.Number,
          fieldType: PropertyCreateFieldTypeEnum.Number,
          groupName: 'contactinformation',
        },
        {
          name: 'email',
          label: 'Email',
          type: PropertyCreateTypeEnum.String,
          fieldType: PropertyCreateFieldTypeEnum.Text,
          groupName: 'contactinformation',
        },
      ],
    });
    expect(created.results.map((p) => p.name)).toEqual(['pql_score']);
    expect('errors' in created && created.errors).toEqual([
      {
        status: 'error',
        category: 'OBJECT_ALREADY_EXISTS',
        message: "Property named 'email' already exists.",
        context: { name: ['email'] },
      },
    ]);
    const read = await hs.client.crm.properties.batchApi.read('contacts', {
      archived: false,
      inputs: [{ name: 'pql_score' }, { name: 'email' }],
    });
    expect(read.results.map((p) => [p.name, p.type])).toEqual([
      ['pql_score', 'number'],
      ['email', 'string'],
    ]);
    const score = await apiError(
      hs.client.crm.contacts.batchApi.upsert({
        inputs: [{ idProperty: 'email', id: 'a@example.com', properties: { pql_score: 'high' } }],
      }),
    );
    expect((score.body as { message: string }).message).toBe(
      'Property values were not valid: [{"isValid":false,"message":"high was not a valid number.","error":' +
        '"INVALID_DECIMAL","name":"pql_score","localizedErrorMessage":"high was not a valid number.","portalId":12345678}]',
    );
  });
});

describe('HubSpot sandbox: owners', () => {
  it('lists active owners by default, archived ones on request, filters by email and pages with after', async () => {
    const active = await hs.client.crm.owners.ownersApi.getPage(undefined, undefined, 100, false);
    expect(active.results.map((o) => [o.id, o.email, o.archived])).toEqual([
      ['41629779', 'ada.lovelace@example.com', false],
      ['41629780', 'grace.hopper@example.com', false],
      ['41629781', 'alan.turing@example.com', false],
    ]);
    expect(active.paging).toBeUndefined();

    const archived = await hs.client.crm.owners.ownersApi.getPage(undefined, undefined, 100, true);
    expect(archived.results.map((o) => o.email)).toEqual(['former.rep@example.com']);

    const byEmail = await hs.client.crm.owners.ownersApi.getPage('Grace.Hopper@example.com');
    expect(byEmail.results.map((o) => [o.id, o.userId, o.firstName, o.lastName])).toEqual([
      ['41629780', 9586505, 'Grace', 'Hopper'],
    ]);

    const first = await hs.client.crm.owners.ownersApi.getPage(undefined, undefined, 2);
    expect(first.results.map((o) => o.id)).toEqual(['41629779', '41629780']);
    expect(first.paging?.next?.after).toBe('2');
    const second = await hs.client.crm.owners.ownersApi.getPage(undefined, first.paging?.next?.after, 2);
    expect(second.results.map((o) => o.id)).toEqual(['41629781']);
    expect(second.paging).toBeUndefined();
  });

  it('seeds owners through the admin route and accepts them as hubspot_owner_id', async () => {
    const seeded = await hs.admin('POST', 'owners', {
      owners: [{ email: 'new.rep@example.com', firstName: 'New', lastName: 'Rep' }],
    });
    expect(seeded.status).toBe(201);
    expect(seeded.body).toMatchObject({
      results: [{ id: '41629783', email: 'new.rep@example.com', archived: false }],
    });
    const contact = await hs.client.crm.contacts.basicApi.create({
      properties: { email: 'a@example.com', hubspot_owner_id: '41629783' },
      associations: [],
    });
    expect(contact.properties.hubspot_owner_id).toBe('41629783');
  });
});
