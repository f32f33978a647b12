import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/objects/tasks/index.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { apiError, correlationId, useHubspotFixture } from '../../helpers/hubspot-sandbox-fixture.js';

const HUBSPOT_DEFINED = AssociationSpecAssociationCategoryEnum.HubspotDefined;

const hs = useHubspotFixture();
beforeEach(async () => {
  await hs.client.crm.contacts.batchApi.create({
    inputs: [{ properties: { email: 'lead@example.com' }, associations: [] }],
  });
  await hs.client.crm.companies.batchApi.create({
    inputs: [{ properties: { name: 'Acme' }, associations: [] }],
  });
});

function task(properties: Record<string, string>, associations: Array<{ id: string; typeId: number }> = []) {
  return {
    properties,
    associations: associations.map((a) => ({
      to: { id: a.id },
      types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: a.typeId }],
    })),
  };
}

const DUE = '2025-01-06T13:00:00Z';

describe('HubSpot sandbox: tasks', () => {
  it('creates tasks with an owner and inline associations to a contact (204) and a company (192)', async () => {
    const created = await hs.client.crm.objects.tasks.batchApi.create({
      inputs: [
        task(
          {
            hs_timestamp: DUE,
            hs_task_subject: 'PQL: Acme (hot)',
            hs_task_priority: 'HIGH',
            hs_task_status: 'NOT_STARTED',
            hubspot_owner_id: '41629779',
          },
          [
            { id: '100001', typeId: 204 },
            { id: '100002', typeId: 192 },
          ],
        ),
      ],
    });
    expect(created.results.map((r) => [r.id, r.properties.hs_task_subject])).toEqual([
      ['100003', 'PQL: Acme (hot)'],
    ]);

    expect((await hs.admin('GET', 'tasks')).body).toEqual({
      results: [
        {
          id: '100003',
          properties: {
            hs_timestamp: DUE,
            hs_task_subject: 'PQL: Acme (hot)',
            hs_task_priority: 'HIGH',
            hs_task_status: 'NOT_STARTED',
            hubspot_owner_id: '41629779',
            hs_createdate: '2025-01-06T09:00:00.000Z',
            hs_lastmodifieddate: '2025-01-06T09:00:00.000Z',
            hs_object_id: '100003',
          },
          associations: [
            {
              to: { id: '100001' },
              toObjectType: 'contacts',
              types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 204 }],
              label: 'task_to_contact',
            },
            {
              to: { id: '100002' },
              toObjectType: 'companies',
              types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 192 }],
              label: 'task_to_company',
            },
          ],
        },
      ],
    });

    const fromTask = await hs.client.crm.associations.v4.basicApi.getPage('tasks', '100003', 'contacts');
    expect(fromTask.results.map((r) => [r.toObjectId, r.associationTypes.map((t) => t.typeId)])).toEqual([
      [100001, [204]],
    ]);
    const fromContact = await hs.client.crm.associations.v4.basicApi.getPage('contacts', '100001', 'tasks');
    expect(fromContact.results.map((r) => [r.toObjectId, r.associationTypes.map((t) => t.typeId)])).toEqual([
      [100003, [203]],
    ]);
    const labels = await hs.client.crm.associations.v4.schema.definitionsApi.getAll('tasks', 'contacts');
    expect(labels.results.map((l) => [l.category, l.typeId])).toEqual([['HUBSPOT_DEFINED', 204]]);

    const withAssociations = await hs.client.crm.objects.tasks.basicApi.getById(
      '100003',
      ['hs_task_subject'],
      undefined,
      ['companies'],
    );
    expect(withAssociations.associations?.companies?.results.map((a) => [a.id, a.type])).toEqual([
      ['100002', 'task_to_company'],
    ]);
  });

  it('rejects a task without hs_timestamp as a per-record error and creates the others', async () => {
    const result = await hs.client.crm.objects.tasks.batchApi.create({
      inputs: [
        { ...task({ hs_task_subject: 'no due date' }), objectWriteTraceId: 'k1' },
        { ...task({ hs_task_subject: 'ok', hs_timestamp: '1736168400000' }), objectWriteTraceId: 'k2' },
      ],
    });
    expect(result.results.map((r) => r.properties.hs_task_subject)).toEqual(['ok']);
    const message =
      'Property values were not valid: [{"isValid":false,"message":"Property \\"hs_timestamp\\" is required when ' +
      'creating a task","error":"REQUIRED_PROPERTY","name":"hs_timestamp","localizedErrorMessage":"Property ' +
      '\\"hs_timestamp\\" is required when creating a task","portalId":12345678}]';
    expect('errors' in result && result.errors).toEqual([
      {
        status: 'error',
        category: 'VALIDATION_ERROR',
        message,
        context: { objectWriteTraceId: ['k1'] },
        errors: [{ message, code: 'REQUIRED_PROPERTY' }],
      },
    ]);
  });

  it('rejects the batch when hubspot_owner_id is not an owner of the portal', async () => {
    const error = await apiError(
      hs.client.crm.objects.tasks.batchApi.create({
        inputs: [task({ hs_timestamp: DUE, hubspot_owner_id: '9586504' })],
      }),
    );
    expect(error.code).toBe(400);
    expect(error.body).toEqual({
      status: 'error',
      message:
        'Property values were not valid: [{"isValid":false,"message":"9586504 is not a valid owner id",' +
        '"error":"INVALID_OWNER_ID","name":"hubspot_owner_id","localizedErrorMessage":"9586504 is not a valid ' +
        'owner id","portalId":12345678}]',
      correlationId: correlationId(1),
      category: 'VALIDATION_ERROR',
    });
  });

  it('rejects association type ids other than 204 and 192', async () => {
    const error = await apiError(
      hs.client.crm.objects.tasks.batchApi.create({
        inputs: [task({ hs_timestamp: DUE }, [{ id: '100001', typeId: 202 }])],
      }),
    );
    expect(error.code).toBe(400);
    expect(error.body).toEqual({
      status: 'error',
      message:
        'Invalid association type HUBSPOT_DEFINED 202 from TASK: valid HUBSPOT_DEFINED type ids are ' +
        '[204 (task_to_contact), 192 (task_to_company)]',
      correlationId: correlationId(1),
      category: 'VALIDATION_ERROR',
    });
    expect((await hs.admin('GET', 'tasks')).body).toEqual({ results: [] });
  });

  it('reports an association to a missing contact as a per-record OBJECT_NOT_FOUND', async () => {
    const result = await hs.client.crm.objects.tasks.batchApi.create({
      inputs: [{ ...task({ hs_timestamp: DUE }, [{ id: '777', typeId: 204 }]), objectWriteTraceId: 'k9' }],
    });
    expect(result.results).toEqual([]);
    expect('errors' in result && result.errors).toEqual([
      {
        status: 'error',
        category: 'OBJECT_NOT_FOUND',
        message:
          'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.',
        context: { ids: ['777'], objectWriteTraceId: ['k9'] },
      },
    ]);
  });
});
