/**
 * The local HubSpot answers as HubSpot does where a kind sandbox would hide a failure (issue 17; the fidelity
 * table in docs/readme/sandbox-hubspot.md names the vendor document behind each): a conflict is a whole-request
 * 409, an invalid value a whole-batch 400, and a 207 only names inputs that carry `objectWriteTraceId`.
 */
import { describe, expect, it } from 'vitest';
import { apiError, correlationId, useHubspotFixture } from '../../helpers/hubspot-sandbox-fixture.js';

const hs = useHubspotFixture();

const inputs = (emails: string[], trace = true) =>
  emails.map((email, i) => ({
    idProperty: 'email',
    id: email,
    ...(trace ? { objectWriteTraceId: `row-${i + 1}` } : {}),
    properties: { firstname: `User${i + 1}` },
  }));

async function contactCount(): Promise<number> {
  return ((await hs.admin('GET', 'contacts')).body as { results: unknown[] }).results.length;
}

describe('HubSpot sandbox fidelity: whole-request answers', () => {
  it('refuses a whole upsert batch with 409 CONFLICT when one email belongs to another contact; nothing is written', async () => {
    await hs.client.crm.contacts.basicApi.create({
      properties: { email: 'taken@example.com' },
      associations: [],
    });
    // product_user_id is unique; the second input's email is held by contact 100001
    await hs.client.crm.properties.coreApi.create('contacts', {
      name: 'product_user_id',
      label: 'Product user id',
      type: 'string' as never,
      fieldType: 'text' as never,
      groupName: 'contactinformation',
      hasUniqueValue: true,
    });
    const error = await apiError(
      hs.client.crm.contacts.batchApi.upsert({
        inputs: [
          {
            idProperty: 'product_user_id',
            id: 'p1',
            objectWriteTraceId: '1',
            properties: { email: 'a@example.com' },
          },
          {
            idProperty: 'product_user_id',
            id: 'p2',
            objectWriteTraceId: '2',
            properties: { email: 'taken@example.com' },
          },
        ],
      }),
    );
    expect(error.code).toBe(409);
    expect(error.body).toEqual({
      status: 'error',
      message: 'Contact already exists. Existing ID: 100001',
      correlationId: correlationId(1),
      category: 'CONFLICT',
    });
    expect(await contactCount()).toBe(1);
  });

  it('refuses a whole batch create with 409 when two of its inputs claim the same email', async () => {
    const error = await apiError(
      hs.client.crm.contacts.batchApi.create({
        inputs: [
          { properties: { email: 'same@example.com' }, associations: [] },
          { properties: { email: 'same@example.com' }, associations: [] },
        ],
      }),
    );
    expect(error.code).toBe(409);
    expect((error.body as { category: string }).category).toBe('CONFLICT');
    expect(await contactCount()).toBe(0);
  });

  it('refuses a whole upsert batch with 400 INVALID_EMAIL, trace ids or not; nothing is written', async () => {
    const error = await apiError(
      hs.client.crm.contacts.batchApi.upsert({
        inputs: [
          ...inputs(['ok@example.com']),
          {
            idProperty: 'product_user_id',
            id: 'x',
            objectWriteTraceId: 'row-2',
            properties: { email: 'not-an-email' },
          },
        ],
      }),
    );
    expect(error.code).toBe(400);
    expect(error.body).toEqual({
      status: 'error',
      message:
        'Property values were not valid: [{"isValid":false,"message":"Email address not-an-email is invalid",' +
        '"error":"INVALID_EMAIL","name":"email","localizedErrorMessage":"Email address not-an-email is invalid",' +
        '"portalId":12345678}]',
      correlationId: correlationId(1),
      category: 'VALIDATION_ERROR',
    });
    expect(await contactCount()).toBe(0);
  });

  it('fails a whole batch create (400) for one bad input without objectWriteTraceId, and answers 207 with it', async () => {
    const task = (i: number, contactId: string, trace: boolean) => ({
      properties: { hs_timestamp: '2025-01-07T09:00:00Z', hs_task_subject: `Task ${i}` },
      associations: [
        {
          to: { id: contactId },
          types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: 204 }],
        },
      ],
      ...(trace ? { objectWriteTraceId: `task-${i}` } : {}),
    });
    const contact = await hs.client.crm.contacts.basicApi.create({
      properties: { email: 'c@example.com' },
      associations: [],
    });
    // contact 999 does not exist (deleted or merged)
    const whole = await apiError(
      hs.client.crm.objects.batchApi.create('tasks', {
        inputs: [task(1, contact.id, false), task(2, '999', false), task(3, contact.id, false)],
      }),
    );
    expect(whole.code).toBe(400);
    expect(whole.body).toEqual({
      status: 'error',
      message:
        'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
      correlationId: correlationId(1),
      context: { ids: ['999'] },
      category: 'OBJECT_NOT_FOUND',
    });
    expect(((await hs.admin('GET', 'tasks')).body as { results: unknown[] }).results).toHaveLength(0);

    const partial = await hs.client.crm.objects.batchApi.create('tasks', {
      inputs: [task(1, contact.id, true), task(2, '999', true), task(3, contact.id, true)],
    });
    expect(partial.results.map((r) => r.properties.hs_task_subject)).toEqual(['Task 1', 'Task 3']);
    expect('errors' in partial ? partial.errors : []).toEqual([
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message:
          'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
        context: { ids: ['999'], objectWriteTraceId: ['task-2'] },
      },
    ]);
  });
});
