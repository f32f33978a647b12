/**
 * A Bulk sync sends one Bulk API 2.0 ingest job per run and object: Salesforce splits a job into its own internal
 * batches of 10,000, and a job may hold up to 100 MB of CSV ("Upload Job Data": 150 MB once base64-encoded), so
 * pqlsync splits only where an upload would pass that. The sandbox counts the jobs it was asked to create.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { expectedLead, leadFields, salesforceFixture, type SalesforceFixture } from './salesforce-fixture.js';

setLogger(createLogger({ level: 'silent' }));

const V = '/services/data/v62.0';
// Above the 10,000 records per job pqlsync used to send.
const ROWS = 12_000;

describe('Salesforce destination: one Bulk job per run', () => {
  let f: SalesforceFixture | undefined;

  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it(`writes ${ROWS.toLocaleString('en-US')} Leads in one ingest job: 9 requests, one upload`, async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.seedUsers(ROWS);
    const summary = await f.run({ destination: f.destinationWithFakeClock() });
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ added: ROWS, applied: ROWS, rejected: 0 });
    expect((await f.admin('GET', '/_sandbox/salesforce/bulk')).body).toEqual({
      jobsCreated: 1,
      recordsUploaded: ROWS,
    });
    const sent = await f.requests();
    // Exact whatever the machine's load: the sandbox completes a job after a number of status checks (not after a
    // time) and the polling waits on the fake clock, so there are 2 checks; a request sent again after a failed
    // answer shows here and in apiCalls alike (salesforce-request-count.test.ts).
    expect(
      // With each answer's status: a request sent again after a failed answer, or one that was not pqlsync's,
      // shows in the difference.
      sent.map((r) => `${r.method} ${r.path.replace(/ingest\/[^/]+/, 'ingest/ID')} ${r.status} ${r.records}`),
    ).toEqual([
      `GET ${V}/sobjects/Lead/describe 200 0`,
      `POST ${V}/jobs/ingest 200 0`,
      `PUT ${V}/jobs/ingest/ID/batches 201 ${ROWS}`,
      `PATCH ${V}/jobs/ingest/ID 200 0`,
      `GET ${V}/jobs/ingest/ID 200 0`,
      `GET ${V}/jobs/ingest/ID 200 0`,
      `GET ${V}/jobs/ingest/ID/successfulResults 200 0`,
      `GET ${V}/jobs/ingest/ID/failedResults 200 0`,
      `GET ${V}/jobs/ingest/ID/unprocessedrecords 200 0`,
    ]);
    expect(summary.apiCalls).toBe(sent.length);
    const leads = await f.leads();
    expect(leads).toHaveLength(ROWS);
    const last = leads.find((l) => l.Product_User_Id__c === `u${ROWS}`);
    expect(leadFields(last!)).toEqual(expectedLead(ROWS));
  }, 180_000);

  it('splits a run into more jobs only where one upload would pass the upload limit (lowered here to 1 MB)', async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.seedUsers(ROWS);
    const summary = await f.run({
      destination: f.destinationWithFakeClock({ bulkUploadMaxBytes: 1024 * 1024 }),
    });
    expect(summary.counts).toMatchObject({ added: ROWS, applied: ROWS, rejected: 0 });
    const uploads = (await f.requests()).filter((r) => r.method === 'PUT').map((r) => r.records);
    // The CSV of 12,000 Leads is about 1.5 MB: two halves of under 1 MB each.
    expect(uploads).toEqual([ROWS / 2, ROWS / 2]);
    expect((await f.admin('GET', '/_sandbox/salesforce/bulk')).body).toEqual({
      jobsCreated: 2,
      recordsUploaded: ROWS,
    });
  }, 180_000);
});
