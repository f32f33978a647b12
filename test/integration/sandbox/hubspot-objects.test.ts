import { describe, expect, it } from 'vitest';
import { apiError, correlationId, useHubspotFixture } from '../../helpers/hubspot-sandbox-fixture.js';

const hs = useHubspotFixture();

function contactInputs(
  n: number,
  prefix = 'user',
): Array<{
  idProperty: string;
  id: string;
  objectWriteTraceId: string;
  properties: Record<string, string>;
}> {
  return Array.from({ length: n }, (_, i) => ({
    idProperty: 'email',
    id: `${prefix}${i + 1}@example.com`,
    objectWriteTraceId: `row-${i + 1}`,
    properties: { firstname: `User${i + 1}`, lifecyclestage: 'lead' },
  }));
}

describe('HubSpot sandbox: contact batch upsert', () => {
  it('creates contacts by email, then a rerun updates the same records with new:false', async () => {
    const first = await hs.client.crm.contacts.batchApi.upsert({ inputs: contactInputs(2) });
    expect(first.status).toBe('COMPLETE');
    expect(first.results.map((r) => [r.id, r._new, r.properties.email, r.properties.firstname])).toEqual([
      ['100001', true, 'user1@example.com', 'User1'],
      ['100002', true, 'user2@example.com', 'User2'],
    ]);
    expect(first.results[0]?.createdAt.toISOString()).toBe('2025-01-06T09:00:00.000Z');

    hs.server.advance(60_000);
    const inputs = contactInputs(2).map((i) => ({
      ...i,
      properties: { ...i.properties, firstname: 'Again' },
    }));
    const rerun = await hs.client.crm.contacts.batchApi.upsert({ inputs });
    expect(rerun.results.map((r) => [r.id, r._new, r.properties.firstname])).toEqual([
      ['100001', false, 'Again'],
      ['100002', false, 'Again'],
    ]);
    expect(rerun.results[0]?.createdAt.toISOString()).toBe('2025-01-06T09:00:00.000Z');
    expect(rerun.results[0]?.updatedAt.toISOString()).toBe('2025-01-06T09:01:00.000Z');

    const stored = await hs.admin('GET', 'contacts');
    expect(stored.body).toEqual({
      results: [
        {
          id: '100001',
          properties: {
            firstname: 'Again',
            lifecyclestage: 'lead',
            email: 'user1@example.com',
            createdate: '2025-01-06T09:00:00.000Z',
            lastmodifieddate: '2025-01-06T09:01:00.000Z',
            hs_object_id: '100001',
          },
          associations: [],
        },
        {
          id: '100002',
          properties: {
            firstname: 'Again',
            lifecyclestage: 'lead',
            email: 'user2@example.com',
            createdate: '2025-01-06T09:00:00.000Z',
            lastmodifieddate: '2025-01-06T09:01:00.000Z',
            hs_object_id: '100002',
          },
          associations: [],
        },
      ],
    });
  });

  it('stores every value as a string', async () => {
    await hs.raw('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [
        { idProperty: 'email', id: 'n@example.com', properties: { hs_lead_status: 'NEW', firstname: 42 } },
      ],
    });
    const stored = (await hs.admin('GET', 'contacts')).body as { results: Array<{ properties: unknown }> };
    expect(stored.results[0]?.properties).toMatchObject({ firstname: '42', hs_lead_status: 'NEW' });
  });

  it('accepts exactly 100 inputs and rejects 101 with a whole-batch 400', async () => {
    const ok = await hs.client.crm.contacts.batchApi.upsert({ inputs: contactInputs(100) });
    expect(ok.results).toHaveLength(100);

    const error = await apiError(
      hs.client.crm.contacts.batchApi.upsert({ inputs: contactInputs(101, 'more') }),
    );
    expect(error.code).toBe(400);
    expect(error.body).toEqual({
      status: 'error',
      message:
        'The maximum number of inputs supported in a batch request is 100. Please reduce the number of items and try again',
      correlationId: correlationId(1),
      category: 'VALIDATION_ERROR',
    });
    expect((await hs.admin('GET', 'contacts')).body).toMatchObject({ results: { length: 100 } });
  });

  it('rejects duplicate ids in one batch with the real body and writes nothing', async () => {
    const inputs = [...contactInputs(2), contactInputs(1)[0]!];
    const error = await apiError(hs.client.crm.contacts.batchApi.upsert({ inputs }));
    expect(error.code).toBe(400);
    expect(error.body).toEqual({
      status: 'error',
      message: 'Duplicate IDs found in batch input: [user1@example.com]. IDs must be unique',
      correlationId: correlationId(1),
      context: { ids: ['user1@example.com'] },
      category: 'VALIDATION_ERROR',
    });
    expect((await hs.admin('GET', 'contacts')).body).toEqual({ results: [] });
  });

  it('answers 207 with a per-record error for an injected reject on an input with objectWriteTraceId; the rest are applied', async () => {
    const fault = await hs.core('POST', 'faults', {
      route: 'POST /crm/v3/objects/contacts/batch/upsert',
      rejectRecord: { nth: 3, code: 'VALIDATION_ERROR', message: 'Property value is invalid' },
      times: 1,
    });
    expect(fault.status).toBe(201);
    const result = await hs.client.crm.contacts.batchApi.upsert({ inputs: contactInputs(3) });
    expect(result.status).toBe('COMPLETE');
    expect(result.results.map((r) => r.properties.email)).toEqual(['user1@example.com', 'user2@example.com']);
    expect('numErrors' in result && result.numErrors).toBe(1);
    const errors = 'errors' in result ? result.errors : [];
    expect(errors).toEqual([
      {
        category: 'VALIDATION_ERROR',
        message: 'Property value is invalid',
        context: { objectWriteTraceId: ['row-3'], ids: ['user3@example.com'] },
        errors: [{ message: 'Property value is invalid', code: 'VALIDATION_ERROR' }],
        status: 'error',
      },
    ]);
    const log = (await hs.core('GET', 'requests')).body as Array<Record<string, unknown>>;
    expect(log.map((e) => [e.method, e.path, e.status, e.records])).toEqual([
      ['POST', '/crm/v3/objects/contacts/batch/upsert', 207, 3],
    ]);
  });

  it('rejects the whole batch when a property does not exist or is read only', async () => {
    const inputs = contactInputs(2);
    inputs[1] = { ...inputs[1]!, properties: { pql_score: '91', createdate: '2020-01-01' } };
    const error = await apiError(hs.client.crm.contacts.batchApi.upsert({ inputs }));
    expect(error.code).toBe(400);
    expect(error.body).toEqual({
      status: 'error',
      message:
        'Property values were not valid: [{"isValid":false,"message":"Property \\"pql_score\\" does not exist",' +
        '"error":"PROPERTY_DOESNT_EXIST","name":"pql_score","localizedErrorMessage":"Property \\"pql_score\\" does not exist",' +
        '"portalId":12345678},{"isValid":false,"message":"\\"createdate\\" is a read only property; its value cannot be set.",' +
        '"error":"READ_ONLY_VALUE","name":"createdate","localizedErrorMessage":"\\"createdate\\" is a read only property; ' +
        'its value cannot be set.","portalId":12345678}]',
      correlationId: correlationId(1),
      category: 'VALIDATION_ERROR',
    });
  });

  it('rejects an enumeration value that is not an option', async () => {
    const inputs = contactInputs(1);
    inputs[0] = { ...inputs[0]!, properties: { lifecyclestage: 'pql' } };
    const error = await apiError(hs.client.crm.contacts.batchApi.upsert({ inputs }));
    expect(error.code).toBe(400);
    expect((error.body as { message: string }).message).toBe(
      'Property values were not valid: [{"isValid":false,"message":"pql was not one of the allowed options: ' +
        '[subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, other]",' +
        '"error":"INVALID_OPTION","name":"lifecyclestage","localizedErrorMessage":"pql was not one of the allowed ' +
        'options: [subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer, evangelist, ' +
        'other]","portalId":12345678}]',
    );
  });
});

describe('HubSpot sandbox: company upsert keys', () => {
  it('refuses to upsert companies by domain, which is not unique', async () => {
    const error = await apiError(
      hs.client.crm.companies.batchApi.upsert({
        inputs: [{ idProperty: 'domain', id: 'acme.com', properties: { name: 'Acme' } }],
      }),
    );
    expect(error.code).toBe(400);
    expect(error.body).toEqual({
      status: 'error',
      message: 'Unable to perform update/upsert by non-unique 0-2 property domain in portal ID 12345678',
      correlationId: correlationId(1),
      category: 'VALIDATION_ERROR',
    });
  });

  it('upserts companies by a property created with hasUniqueValue', async () => {
    await hs.client.crm.properties.coreApi.create('companies', {
      name: 'product_account_id',
      label: 'Product account id',
      type: 'string' as never,
      fieldType: 'text' as never,
      groupName: 'companyinformation',
      hasUniqueValue: true,
    });
    const inputs = [{ idProperty: 'product_account_id', id: 'acct-1', properties: { name: 'Acme' } }];
    const first = await hs.client.crm.companies.batchApi.upsert({ inputs });
    const again = await hs.client.crm.companies.batchApi.upsert({ inputs });
    expect(first.results.map((r) => [r.id, r._new, r.properties.product_account_id])).toEqual([
      ['100001', true, 'acct-1'],
    ]);
    expect(again.results.map((r) => [r.id, r._new])).toEqual([['100001', false]]);
  });
});

describe('HubSpot sandbox: batch create, read, update, archive', () => {
  it('creates with 201, reads by id and by email, reports unknown ids as OBJECT_NOT_FOUND', async () => {
    const created = await hs.client.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'a@example.com', firstname: 'A' }, associations: [] },
        { properties: { email: 'b@example.com', firstname: 'B' }, associations: [] },
      ],
    });
    expect(created.results.map((r) => r.id)).toEqual(['100001', '100002']);

    const byEmail = await hs.client.crm.contacts.batchApi.read(
      {
        idProperty: 'email',
        inputs: [{ id: 'b@example.com' }],
        properties: ['firstname'],
        propertiesWithHistory: [],
      },
      false,
    );
    expect(byEmail.results.map((r) => r.properties)).toEqual([{ firstname: 'B', hs_object_id: '100002' }]);

    const partial = await hs.client.crm.contacts.batchApi.read(
      {
        inputs: [{ id: '100001' }, { id: '999' }],
        properties: ['email', 'jobtitle'],
        propertiesWithHistory: [],
      },
      false,
    );
    expect(partial.results.map((r) => r.properties)).toEqual([
      { email: 'a@example.com', jobtitle: null, hs_object_id: '100001' },
    ]);
    expect('errors' in partial && partial.errors).toEqual([
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message:
          'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
        context: { ids: ['999'] },
      },
    ]);
  });

  it('updates by id (207 for a missing id), archives, and no longer reads archived records', async () => {
    await hs.client.crm.contacts.batchApi.create({
      inputs: [{ properties: { email: 'a@example.com' }, associations: [] }],
    });
    const updated = await hs.client.crm.contacts.batchApi.update({
      inputs: [
        { id: '100001', properties: { jobtitle: 'CTO' }, objectWriteTraceId: 't1' },
        { id: '424242', properties: { jobtitle: 'CEO' }, objectWriteTraceId: 't2' },
      ],
    });
    expect(updated.results.map((r) => r.properties.jobtitle)).toEqual(['CTO']);
    expect('errors' in updated && updated.errors).toEqual([
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message:
          'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
        context: { objectWriteTraceId: ['t2'], ids: ['424242'] },
      },
    ]);

    await hs.client.crm.contacts.batchApi.archive({ inputs: [{ id: '100001' }] });
    expect((await hs.admin('GET', 'contacts')).body).toEqual({ results: [] });
    const error = await apiError(hs.client.crm.contacts.basicApi.getById('100001'));
    expect(error.code).toBe(404);
    expect(error.body).toEqual({
      status: 'error',
      message: 'resource not found',
      correlationId: correlationId(1),
      category: 'OBJECT_NOT_FOUND',
    });
  });

  it('creates one contact, refuses a second with the same email (409), reads and patches it', async () => {
    const one = await hs.client.crm.contacts.basicApi.create({
      properties: { email: 'x@example.com' },
      associations: [],
    });
    expect(one.id).toBe('100001');
    const error = await apiError(
      hs.client.crm.contacts.basicApi.create({ properties: { email: 'X@example.com' }, associations: [] }),
    );
    expect(error.code).toBe(409);
    expect(error.body).toEqual({
      status: 'error',
      message: 'Contact already exists. Existing ID: 100001',
      correlationId: correlationId(1),
      category: 'CONFLICT',
    });
    const patched = await hs.client.crm.contacts.basicApi.update('100001', {
      properties: { lastname: 'Ng' },
    });
    expect(patched.properties.lastname).toBe('Ng');
    const got = await hs.client.crm.contacts.basicApi.getById(
      'x@example.com',
      ['lastname'],
      undefined,
      undefined,
      false,
      'email',
    );
    expect(got.properties).toEqual({ lastname: 'Ng', hs_object_id: '100001' });
  });
});
