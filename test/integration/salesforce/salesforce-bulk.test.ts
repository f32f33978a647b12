/**
 * The Salesforce destination's Bulk API 2.0 path (change sets above bulk_threshold), through the sandbox with the
 * real jsforce: our CSV, polling with backoff on an injected clock, failed results mapped back, the poll timeout.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import {
  expectedLead,
  lastSeq,
  leadFields,
  salesforceFixture,
  type SalesforceFixture,
} from './salesforce-fixture.js';

setLogger(createLogger({ level: 'silent' }));

const V = '/services/data/v62.0';

describe('Salesforce destination: Bulk API 2.0', () => {
  let f: SalesforceFixture | undefined;

  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('writes 5,000 records in one Bulk job, maps failed results back to their rows, and small follow-ups use Collections', async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.seedUsers(5000);
    // Rows 10 and 4000 of the upload are refused by Salesforce (a validation rule no describe shows).
    await f.admin(
      'POST',
      '/_sandbox/faults',
      [10, 4000].map((nth) => ({
        route: 'PUT /jobs/ingest',
        rejectRecord: { nth, code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Email domain is blocked' },
        times: 1,
      })),
    );
    const summary = await f.run({ destination: f.destinationWithFakeClock() });
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ added: 5000, applied: 4998, rejected: 2 });
    expect(exitCodeFor([summary])).toBe(3);
    const sent = await f.requests();
    const jobId = /jobs\/ingest\/([^/]+)\/batches/.exec(
      sent.find((r) => r.method === 'PUT')?.path ?? '',
    )?.[1];
    expect(sent.map((r) => `${r.method} ${r.path} ${r.status} ${r.records}`)).toEqual([
      `GET ${V}/sobjects/Lead/describe 200 0`,
      `POST ${V}/jobs/ingest 200 0`,
      `PUT ${V}/jobs/ingest/${jobId}/batches 201 5000`,
      `PATCH ${V}/jobs/ingest/${jobId} 200 0`,
      `GET ${V}/jobs/ingest/${jobId} 200 0`,
      `GET ${V}/jobs/ingest/${jobId} 200 0`,
      `GET ${V}/jobs/ingest/${jobId}/successfulResults 200 0`,
      `GET ${V}/jobs/ingest/${jobId}/failedResults 200 0`,
      `GET ${V}/jobs/ingest/${jobId}/unprocessedrecords 200 0`,
    ]);
    expect(summary.apiCalls).toBe(9);
    // The upload's row order follows the plan, not the keys: which two rows were refused is found in failures.
    const failed = await f.failures();
    expect(failed.map((r) => r.reason)).toEqual([
      'FIELD_CUSTOM_VALIDATION_EXCEPTION: Email domain is blocked',
      'FIELD_CUSTOM_VALIDATION_EXCEPTION: Email domain is blocked',
    ]);
    const failedKeys = new Set(failed.map((r) => String(r.key)));
    const leads = await f.leads();
    expect(leads).toHaveLength(4998);
    expect(leads.some((l) => failedKeys.has(String(l.Product_User_Id__c)))).toBe(false);
    const byKey = new Map(leads.map((l) => [String(l.Product_User_Id__c), l]));
    for (const i of [1, 2, 7, 1234, 4999, 5000].filter((n) => !failedKeys.has(`u${n}`)))
      expect(leadFields(byKey.get(`u${i}`)!)).toEqual(expectedLead(i));

    // The two failed rows are retried next run, a small change set: Collections, not another Bulk job.
    const seq = await lastSeq(f);
    const next = await f.run({ destination: f.destinationWithFakeClock() });
    expect(next.status).toBe('success');
    expect((await f.requests(seq)).map((r) => `${r.method} ${r.path} ${r.records}`)).toEqual([
      `GET ${V}/sobjects/Lead/describe 0`,
      `PATCH ${V}/composite/sobjects/Lead/Product_User_Id__c 2`,
    ]);
    expect(await f.leads()).toHaveLength(5000);
    expect(await f.failures()).toEqual([]);
  });

  it('sends exactly bulk_threshold records through Collections and one more through Bulk', async () => {
    f = await salesforceFixture();
    f.writeConfig({ bulkThreshold: 400 });
    await f.seedUsers(400);
    await f.run({ destination: f.destinationWithFakeClock() });
    let sent = await f.requests();
    expect(sent.filter((r) => r.path.includes('/jobs/ingest'))).toEqual([]);
    expect(sent.filter((r) => r.method === 'PATCH').map((r) => r.records)).toEqual([200, 200]);

    await f.seedUsers(401, 1001);
    const seq = await lastSeq(f);
    const summary = await f.run({ destination: f.destinationWithFakeClock() });
    expect(summary.counts).toMatchObject({ added: 401, applied: 401 });
    sent = await f.requests(seq);
    expect(sent.filter((r) => r.method === 'PUT').map((r) => r.records)).toEqual([401]);
    expect(sent.filter((r) => r.path.includes('/composite/'))).toEqual([]);
    expect(await f.leads()).toHaveLength(801);
  });

  it('aborts a job that does not finish within bulk_poll_timeout_ms and stops the run without committing it', async () => {
    f = await salesforceFixture({ salesforce: { bulkPollsBeforeComplete: 1000 } });
    f.writeConfig({ bulkThreshold: 10, destinationExtra: '    bulk_poll_timeout_ms: 5000' });
    await f.seedUsers(30);
    const summary = await f.run({ destination: f.destinationWithFakeClock() });
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(1);
    expect(summary.counts).toMatchObject({ added: 30, applied: 0 });
    const sent = await f.requests();
    const jobId = /jobs\/ingest\/([^/]+)\/batches/.exec(
      sent.find((r) => r.method === 'PUT')?.path ?? '',
    )?.[1];
    expect(summary.error?.message).toBe(
      `sync leads: Bulk API 2.0 job ${jobId} (upsert Lead) did not finish within 5s (state InProgress); pqlsync aborted it\n` +
        '  hint: nothing of this batch was committed, so the next run sends it again (upserts are idempotent); raise bulk_poll_timeout_ms if Salesforce is slow today',
    );
    // status checks after 0, 1, 3 and 5 fake seconds (backoff 1 s, 2 s, then what is left), then the abort
    expect(
      sent.slice(4).map((r) => `${r.method} ${r.path.replace(`${V}/jobs/ingest/${jobId}`, 'job')}`),
    ).toEqual(['GET job', 'GET job', 'GET job', 'GET job', 'PATCH job']);
    const jobs = (await f.admin('GET', `${V}/jobs/ingest`)).body as { records: Array<{ state: string }> };
    expect(jobs.records.map((j) => j.state)).toEqual(['Aborted']);
  });
});
