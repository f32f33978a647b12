import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { admin, adminRecords, connect, rejectionOf, start, type Connection } from './salesforce-helpers.js';

let sandbox: RunningSandbox;
let conn: Connection;

beforeEach(async () => {
  sandbox = await start({
    now: () => new Date('2026-03-02T09:00:00Z'),
    salesforce: { bulkPollsBeforeComplete: 2 },
  });
  conn = connect(sandbox);
});
afterEach(async () => {
  await sandbox.close();
});

describe('Bulk API 2.0 ingest', () => {
  it('upserts through conn.bulk2 and returns successful and failed results as CSV', async () => {
    await admin(sandbox, 'POST', '/_sandbox/salesforce/Lead', {
      records: [
        {
          LastName: 'Old',
          Company: 'Acme',
          Product_User_Id__c: 'u_1',
          PQL_Score__c: 10,
          PQL_Reasons__c: 'stale',
        },
      ],
    });
    const results = await conn.bulk2.loadAndWaitForResults({
      object: 'Lead',
      operation: 'upsert',
      externalIdFieldName: 'Product_User_Id__c',
      input: [
        {
          Product_User_Id__c: 'u_1',
          LastName: 'Old',
          Company: 'Acme',
          PQL_Score__c: 92,
          PQL_Tier__c: 'hot',
          Is_PQL__c: true,
          PQL_Reasons__c: null,
        },
        {
          Product_User_Id__c: 'u_2',
          LastName: 'New',
          Company: 'Beta',
          PQL_Score__c: 40,
          PQL_Tier__c: 'nurture',
          Is_PQL__c: false,
          PQL_Reasons__c: 'x',
        },
        {
          Product_User_Id__c: 'u_3',
          LastName: 'Bad',
          Company: 'Beta',
          PQL_Score__c: 50,
          PQL_Tier__c: 'warm',
          Is_PQL__c: false,
          PQL_Reasons__c: 'x',
        },
      ],
      pollInterval: 5,
      pollTimeout: 10_000,
    });
    expect(results.successfulResults).toEqual([
      expect.objectContaining({
        sf__Id: '00QSb0000000001MAA',
        sf__Created: 'false',
        Product_User_Id__c: 'u_1',
        PQL_Reasons__c: '#N/A',
      }),
      expect.objectContaining({
        sf__Id: '00QSb0000000002MAA',
        sf__Created: 'true',
        Product_User_Id__c: 'u_2',
      }),
    ]);
    expect(results.failedResults).toEqual([
      {
        sf__Id: '',
        sf__Error:
          'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:PQL Tier: bad value for restricted picklist field: warm:PQL_Tier__c --',
        Id: '',
        Product_User_Id__c: 'u_3',
        LastName: 'Bad',
        Company: 'Beta',
        PQL_Score__c: '50',
        PQL_Tier__c: 'warm',
        Is_PQL__c: 'false',
        PQL_Reasons__c: 'x',
      },
    ]);
    expect(results.unprocessedRecords).toEqual([]);
    const u1 = (await adminRecords(sandbox, 'Lead')).find((r) => r.Product_User_Id__c === 'u_1');
    expect(u1).toMatchObject({ PQL_Score__c: 92, PQL_Tier__c: 'hot', Is_PQL__c: true, PQL_Reasons__c: null });

    const log = (await admin(sandbox, 'GET', '/_sandbox/requests')).body as Array<{
      method: string;
      path: string;
      status: number;
      records: number;
    }>;
    const id = '750Sb0000000001IAA';
    expect(log.slice(0, 5).map((e) => `${e.method} ${e.path} ${e.status} ${e.records}`)).toEqual([
      'POST /services/data/v62.0/jobs/ingest 200 0',
      `PUT /services/data/v62.0/jobs/ingest/${id}/batches 201 3`,
      `PATCH /services/data/v62.0/jobs/ingest/${id} 200 0`,
      `GET /services/data/v62.0/jobs/ingest/${id} 200 0`,
      `GET /services/data/v62.0/jobs/ingest/${id} 200 0`,
    ]);
  });

  it('fails the job on an unknown column, listing every row as unprocessed', async () => {
    const job = conn.bulk2.createJob({ object: 'Contact', operation: 'insert' });
    await job.open();
    await job.uploadData('LastName,Shoe_Size__c\nKim,42\nLee,44\n');
    await job.close();
    const err = await rejectionOf(job.poll(5, 10_000));
    expect(err.message).toBe(
      'Ingest job failed to complete due to: InvalidBatch : Field name not found : Shoe_Size__c',
    );
    expect(await job.getUnprocessedRecords()).toEqual([
      { LastName: 'Kim', Shoe_Size__c: '42' },
      { LastName: 'Lee', Shoe_Size__c: '44' },
    ]);
  });

  it('answers out-of-order job steps with INVALIDJOB and refuses an upsert key that is no external id', async () => {
    const job = conn.bulk2.createJob({ object: 'Lead', operation: 'insert' });
    await job.open();
    await job.close();
    const err = await rejectionOf(job.close());
    expect([err.name, err.message]).toEqual([
      'INVALIDJOB',
      'Invalid state transition from UploadComplete to UploadComplete',
    ]);
    const upload = await rejectionOf(job.uploadData('LastName,Company\nA,B\n'));
    expect([upload.name, upload.message]).toEqual([
      'INVALIDJOB',
      `Job ${String(job.id)} is not Open (state UploadComplete); data can only be uploaded to an Open job`,
    ]);
    const bad = conn.bulk2.createJob({
      object: 'Lead',
      operation: 'upsert',
      externalIdFieldName: 'LastName',
    });
    const open = await rejectionOf(bad.open());
    expect([open.name, open.message]).toEqual([
      'INVALIDJOB',
      'Field name provided, LastName does not match an External ID, Salesforce Id, or indexed field for Lead',
    ]);
  });
});
