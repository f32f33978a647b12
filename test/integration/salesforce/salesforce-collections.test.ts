/**
 * The Salesforce destination over sObject Collections, through the sandbox with the real jsforce: batch sizes
 * (1, 200, 201), idempotent reruns, per-record errors, row-lock retries, passing server errors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

const UPSERT_PATH = '/services/data/v62.0/composite/sobjects/Lead/Product_User_Id__c';

describe('Salesforce destination: sObject Collections', () => {
  let f: SalesforceFixture;

  beforeEach(async () => {
    f = await salesforceFixture();
    f.writeConfig();
  });

  afterEach(async () => {
    await f.close();
  });

  it('upserts 1 record with every mapped field formatted, without assignment rules, and a rerun sends nothing', async () => {
    await f.seedUsers(1, 8);
    const summary = await f.run();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ added: 1, applied: 1, rejected: 0 });
    const leads = await f.leads();
    expect(leads.map(leadFields)).toEqual([expectedLead(8)]);
    expect(leads[0]?.PQL_Qualified_At__c).toBe('2026-10-09T00:00:00.000+0000');
    const sent = await f.requests();
    expect(sent.map((r) => `${r.method} ${r.path} ${r.status} ${r.records}`)).toEqual([
      'GET /services/data/v62.0/sobjects/Lead/describe 200 0',
      `PATCH ${UPSERT_PATH} 200 1`,
    ]);
    expect(sent[1]?.headers['sforce-auto-assign']).toBe('FALSE');
    expect(sent[1]?.headers['sforce-call-options']).toBe('client=pqlsync');
    expect(summary.apiCalls).toBe(2);

    const seq = await lastSeq(f);
    const again = await f.run();
    expect(again.status).toBe('success');
    expect(again.apiCalls).toBe(0);
    expect(await f.requests(seq)).toEqual([]);
  });

  it('sends 200 records in one call and 201 in two (200 + 1)', async () => {
    await f.seedUsers(200);
    const first = await f.run();
    expect(first.counts).toMatchObject({ added: 200, applied: 200 });
    let sent = (await f.requests()).filter((r) => r.method === 'PATCH');
    expect(sent.map((r) => r.records)).toEqual([200]);

    await f.seedUsers(201, 1001);
    const seq = await lastSeq(f);
    const second = await f.run();
    expect(second.counts).toMatchObject({ added: 201, applied: 201 });
    sent = (await f.requests(seq)).filter((r) => r.method === 'PATCH');
    expect(sent.map((r) => r.records).sort((a, b) => b - a)).toEqual([200, 1]);
    // upsert mode forgets removed rows: the first 200 Leads stay as they were
    const leads = await f.leads();
    expect(leads).toHaveLength(401);
    const byKey = new Map(leads.map((l) => [String(l.Product_User_Id__c), l]));
    expect(leadFields(byKey.get('u1201')!)).toEqual(expectedLead(1201));
    expect(leadFields(byKey.get('u17')!)).toEqual(expectedLead(17));
  });

  it('updates only what changed, keeping the record Ids', async () => {
    await f.seedUsers(10);
    await f.run();
    const before = new Map((await f.leads()).map((l) => [l.Product_User_Id__c, l.Id]));
    await f.wh.query(`update src.users set score = 99, tier = 'hot' where user_id in ('u3', 'u4')`);
    const seq = await lastSeq(f);
    const summary = await f.run();
    expect(summary.counts).toMatchObject({ added: 0, changed: 2, applied: 2 });
    expect((await f.requests(seq)).filter((r) => r.method === 'PATCH').map((r) => r.records)).toEqual([2]);
    const after = await f.leads();
    expect(after).toHaveLength(10);
    expect(new Map(after.map((l) => [l.Product_User_Id__c, l.Id]))).toEqual(before);
    expect(after.find((l) => l.Product_User_Id__c === 'u3')).toMatchObject({
      PQL_Score__c: 99,
      PQL_Tier__c: 'hot',
    });
  });

  it('keeps per-record rejections with their reasons in failures and applies the rest (exit 3)', async () => {
    await f.seedUsers(5);
    // Refused before sending (checked against the describe): an invalid email, a value outside the picklist.
    await f.wh.query(`update src.users set email = 'not-an-email' where user_id = 'u2'`);
    await f.wh.query(`update src.users set tier = 'lukewarm' where user_id = 'u4'`);
    // Refused by Salesforce (a validation rule, which no describe shows): the first record sent.
    await f.admin('POST', '/_sandbox/faults', {
      route: 'PATCH /composite/sobjects/Lead',
      rejectRecord: {
        nth: 1,
        code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
        message: 'Score must be set for PQLs',
      },
      times: 1,
    });
    const summary = await f.run();
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ added: 5, applied: 2, rejected: 3 });
    expect(exitCodeFor([summary])).toBe(3);
    expect((await f.requests()).filter((r) => r.method === 'PATCH').map((r) => r.records)).toEqual([3]);
    const failures = await f.failures();
    const refused = failures.find((r) => !['u2', 'u4'].includes(String(r.key)));
    expect(['u1', 'u3', 'u5']).toContain(refused?.key);
    expect(failures.map((r) => [r.key, r.reason])).toEqual(
      [
        [refused?.key, 'FIELD_CUSTOM_VALIDATION_EXCEPTION: Score must be set for PQLs'],
        ['u2', 'Email: "not-an-email" is not a valid email address'],
        [
          'u4',
          'PQL_Tier__c: "lukewarm" is not a value of the restricted picklist (values: hot, pql, nurture)',
        ],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect((await f.leads()).map((l) => l.Product_User_Id__c).sort()).toEqual(
      ['u1', 'u3', 'u5'].filter((k) => k !== refused?.key),
    );

    // Fixed in the model: the next run sends exactly the three failed rows again.
    await f.wh.query(`update src.users set email = 'u2@example.com' where user_id = 'u2'`);
    await f.wh.query(`update src.users set tier = 'pql' where user_id = 'u4'`);
    const seq = await lastSeq(f);
    const next = await f.run();
    expect(next.status).toBe('success');
    expect(next.counts).toMatchObject({ added: 3, retried: 3, applied: 3, rejected: 0 });
    expect((await f.requests(seq)).filter((r) => r.method === 'PATCH').map((r) => r.records)).toEqual([3]);
    expect(await f.failures()).toEqual([]);
  });

  it('retries UNABLE_TO_LOCK_ROW records in a smaller batch in the same run', async () => {
    await f.seedUsers(6);
    await f.admin('POST', '/_sandbox/faults', {
      route: 'PATCH /composite/sobjects/Lead',
      rejectRecord: { nth: 2, code: 'UNABLE_TO_LOCK_ROW' },
      times: 1,
    });
    const summary = await f.run();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ added: 6, applied: 6, rejected: 0 });
    const patches = (await f.requests()).filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => r.records)).toEqual([6, 1]);
    expect((await f.leads()).map((l) => l.Product_User_Id__c).sort()).toEqual([
      'u1',
      'u2',
      'u3',
      'u4',
      'u5',
      'u6',
    ]);
  });

  it('records a row that stays locked as a failure with the Salesforce reason', async () => {
    await f.seedUsers(3);
    await f.admin('POST', '/_sandbox/faults', {
      route: 'PATCH /composite/sobjects/Lead',
      rejectRecord: {
        nth: 1,
        code: 'UNABLE_TO_LOCK_ROW',
        message: 'unable to obtain exclusive access to this record',
      },
    });
    const summary = await f.run();
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ applied: 2, rejected: 1 });
    expect((await f.failures()).map((r) => [r.key, r.reason])).toEqual([
      ['u1', 'UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record'],
    ]);
    // tries: the batch of 3, then u1 alone up to max_attempts (4) in all
    expect((await f.requests()).filter((r) => r.method === 'PATCH').map((r) => r.records)).toEqual([
      3, 1, 1, 1,
    ]);
  });

  it('retries a whole batch after a 503 and a reset connection (jsforce never retries PATCH)', async () => {
    await f.seedUsers(4);
    await f.admin('POST', '/_sandbox/faults', [
      {
        route: 'PATCH /composite/sobjects/Lead',
        status: 503,
        body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'try later' }],
        times: 1,
      },
      { route: 'PATCH /composite/sobjects/Lead', resetConnection: true, times: 1 },
    ]);
    const summary = await f.run();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ applied: 4 });
    expect((await f.requests()).filter((r) => r.method === 'PATCH').map((r) => r.status)).toEqual([
      503, 0, 200,
    ]);
    expect(await f.leads()).toHaveLength(4);
  });
});
