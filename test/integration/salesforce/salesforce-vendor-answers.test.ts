/**
 * Salesforce answers that a kind sandbox would hide (issue 17): the concurrent form of REQUEST_LIMIT_EXCEEDED is
 * backed off and retried, only the 24-hour form stops the run (quoting Sforce-Limit-Info), and Bulk 2.0
 * `sf__Error` cells without the trailing ` --` keep their code (a row lock in that form is retried in the run).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseBulkError } from '../../../src/destination/salesforce/salesforce-errors.js';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { salesforceFixture, type SalesforceFixture } from './salesforce-fixture.js';

setLogger(createLogger({ level: 'silent' }));

/** What Salesforce answers when too many long-running requests of the org are open at once. */
const CONCURRENT_LIMIT = {
  route: 'PATCH /composite/sobjects/Lead',
  status: 403,
  body: [{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
  times: 1,
};

describe('Salesforce vendor answers', () => {
  let f: SalesforceFixture | undefined;

  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('backs off and retries the concurrent-request form of REQUEST_LIMIT_EXCEEDED, then exits 0', async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.seedUsers(5);
    await f.admin('POST', '/_sandbox/faults', CONCURRENT_LIMIT);
    const summary = await f.run();
    expect(summary.error).toBeUndefined();
    expect(summary.status).toBe('success');
    expect(exitCodeFor([summary])).toBe(0);
    expect(summary.counts).toMatchObject({ added: 5, applied: 5, rejected: 0 });
    expect((await f.requests()).filter((r) => r.method === 'PATCH').map((r) => r.status)).toEqual([403, 200]);
    expect(await f.leads()).toHaveLength(5);
  });

  it('stops at the 24-hour form with a message quoting the usage Sforce-Limit-Info reported', async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.seedUsers(5);
    await f.admin('POST', '/_sandbox/faults', {
      ...CONCURRENT_LIMIT,
      body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
    });
    const summary = await f.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(1);
    expect(summary.error?.code).toBe('DESTINATION_DAILY_LIMIT');
    // The describe call before it read api-usage=1/15000: the message says where the figure comes from.
    expect(summary.error?.message).toBe(
      "sync leads: Salesforce's API request limit for the last 24 hours is used up (Sforce-Limit-Info last read api-usage 1/15000): REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.\n" +
        '  hint: records applied before the limit are committed; the next run sends the rest once the rolling 24-hour allocation recovers (Setup > System Overview shows API usage)',
    );
  });

  it('refuses text in a number field before sending, with a field-level reason: calls = ceil(valid / 200)', async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.seedUsers(1000);
    await f.wh.query('alter table src.users alter score type varchar');
    await f.wh.query(
      `update src.users set score = 'ninety' where cast(substr(user_id, 2) as integer) % 4 = 1`,
    );
    const summary = await f.run();
    const valid = 750;
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ added: 1000, applied: valid, rejected: 250 });
    const patches = (await f.requests()).filter((r) => r.method === 'PATCH');
    expect(patches.every((r) => r.status === 200)).toBe(true);
    expect(patches).toHaveLength(Math.ceil(valid / 200));
    expect(patches.reduce((n, r) => n + r.records, 0)).toBe(valid);
    const failures = await f.failures();
    expect(failures).toHaveLength(250);
    expect(failures.find((r) => r.key === 'u1')).toMatchObject({
      reason: 'PQL_Score__c: expected a number for a Number(3, 0) field, got "ninety"',
      code: 'INVALID_VALUE',
    });
    expect(await f.leads()).toHaveLength(valid);
  });

  it('parses sf__Error cells with and without the trailing " --"', () => {
    expect(parseBulkError('INVALID_FIELD:bad value:PQL_Score__c --')).toEqual({
      statusCode: 'INVALID_FIELD',
      message: 'bad value',
      fields: ['PQL_Score__c'],
    });
    expect(
      parseBulkError(
        'UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: 00Q1',
      ),
    ).toEqual({
      statusCode: 'UNABLE_TO_LOCK_ROW',
      message: 'unable to obtain exclusive access to this record or 1 records: 00Q1',
      fields: [],
    });
    expect(parseBulkError('something odd')).toEqual({
      statusCode: 'UNKNOWN_EXCEPTION',
      message: 'something odd',
    });
  });

  it('retries a Bulk row lock reported without the trailing " --" in the same run', async () => {
    f = await salesforceFixture();
    f.writeConfig({ bulkThreshold: 300 });
    await f.seedUsers(400);
    await f.admin('POST', '/_sandbox/faults', {
      route: 'PUT /jobs/ingest',
      rejectRecord: {
        nth: 7,
        code: 'UNABLE_TO_LOCK_ROW',
        message: 'unable to obtain exclusive access to this record',
      },
      times: 1,
    });
    const summary = await f.run({ destination: f.destinationWithFakeClock() });
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ added: 400, applied: 400, rejected: 0 });
    // the row came back as a failed result, then went alone through Collections
    expect(
      (await f.requests())
        .filter((r) => r.method === 'PATCH' && r.path.includes('/composite/'))
        .map((r) => r.records),
    ).toEqual([1]);
    expect(await f.leads()).toHaveLength(400);
  });
});
