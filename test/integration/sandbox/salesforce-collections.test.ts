import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import {
  admin,
  adminRecords,
  connect,
  rejectionOf,
  start,
  userIds,
  type Connection,
} from './salesforce-helpers.js';

let sandbox: RunningSandbox;
let conn: Connection;

beforeEach(async () => {
  sandbox = await start({ now: () => new Date('2026-03-02T09:00:00Z') });
  conn = connect(sandbox);
});
afterEach(async () => {
  await sandbox.close();
});

const lead = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Product_User_Id__c: `u_${n}`,
  LastName: `Person ${n}`,
  Company: `Company ${n}`,
  Email: `p${n}@example.com`,
  ...extra,
});

describe('sObject Collections upsert by external id', () => {
  it('creates, then updates on the rerun (created false), storing typed values', async () => {
    const first = await conn
      .sobject('Lead')
      .upsert(
        [lead(1, { PQL_Score__c: 91, PQL_Tier__c: 'hot', Is_PQL__c: true }), lead(2)],
        'Product_User_Id__c',
      );
    expect(first).toEqual([
      { id: '00QSb0000000001MAA', success: true, errors: [], created: true },
      { id: '00QSb0000000002MAA', success: true, errors: [], created: true },
    ]);
    const again = await conn
      .sobject('Lead')
      .upsert([{ Product_User_Id__c: 'U_1', PQL_Score__c: 55, PQL_Tier__c: 'pql' }], 'Product_User_Id__c');
    expect(again).toEqual([{ id: '00QSb0000000001MAA', success: true, errors: [], created: false }]);
    const stored = (await adminRecords(sandbox, 'Lead')).find((r) => r.Id === '00QSb0000000001MAA');
    // External ids match case-insensitively; the update writes the value as sent.
    expect(stored).toMatchObject({
      Product_User_Id__c: 'U_1',
      PQL_Score__c: 55,
      PQL_Tier__c: 'pql',
      Is_PQL__c: true,
      Status: 'Open - Not Contacted',
      CreatedDate: '2026-03-02T09:00:00.000+0000',
    });
  });

  it('answers 201 records with the whole-request EXCEEDED_ID_LIMIT, and splits with allowRecursive', async () => {
    const records = Array.from({ length: 201 }, (_, i) => lead(i));
    const err = await rejectionOf(conn.sobject('Lead').upsert(records, 'Product_User_Id__c'));
    expect(err.name).toBe('EXCEEDED_ID_LIMIT');
    expect(err.message).toBe('record limit reached. cannot submit more than 200 records into this call');
    expect(await adminRecords(sandbox, 'Lead')).toHaveLength(0);

    const split = await conn.sobject('Lead').upsert(records, 'Product_User_Id__c', { allowRecursive: true });
    expect(split).toHaveLength(201);
    expect(split.every((r) => r.success)).toBe(true);
    const log = (await admin(sandbox, 'GET', '/_sandbox/requests')).body as Array<{
      status: number;
      records: number;
    }>;
    expect(log.map((e) => [e.status, e.records])).toEqual([
      [400, 201],
      [200, 200],
      [200, 1],
    ]);
  });

  it('reports each invalid record with statusCode, message and fields, and writes the valid ones', async () => {
    const results = await conn
      .sobject('Lead')
      .upsert(
        [
          lead(1, { Favorite_Color__c: 'blue' }),
          lead(2, { PQL_Tier__c: 'warm' }),
          lead(4, { PQL_Score__c: 1000 }),
          lead(5, { Company: 'x'.repeat(256) }),
          { Product_User_Id__c: 'u_6', LastName: 'No Company' },
          lead(7, { IsConverted: true }),
          lead(8, { Email: 'not-an-email' }),
          lead(9),
        ],
        'Product_User_Id__c',
      );
    expect(results.map((r) => (r.success ? 'ok' : r.errors))).toEqual([
      [
        {
          statusCode: 'INVALID_FIELD',
          message: "No such column 'Favorite_Color__c' on sobject of type Lead",
          fields: [],
        },
      ],
      [
        {
          statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          message: 'PQL Tier: bad value for restricted picklist field: warm',
          fields: ['PQL_Tier__c'],
        },
      ],
      [
        {
          statusCode: 'NUMBER_OUTSIDE_VALID_RANGE',
          message: 'PQL Score: value outside of valid range on numeric field: 1000',
          fields: ['PQL_Score__c'],
        },
      ],
      [
        {
          statusCode: 'STRING_TOO_LONG',
          message: `Company: data value too large: ${'x'.repeat(256)} (max length=255)`,
          fields: ['Company'],
        },
      ],
      [
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [Company]',
          fields: ['Company'],
        },
      ],
      [
        {
          statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE',
          message:
            'Unable to create/update fields: IsConverted. Please check the security settings of this field and verify that it is read/write for your profile or permission set.',
          fields: ['IsConverted'],
        },
      ],
      [
        {
          statusCode: 'INVALID_EMAIL_ADDRESS',
          message: 'Email: invalid email address: not-an-email',
          fields: ['Email'],
        },
      ],
      'ok',
    ]);
    expect((await adminRecords(sandbox, 'Lead')).map((r) => r.Product_User_Id__c)).toEqual(['u_9']);
  });

  it('refuses the whole request with 400 JSON_PARSER_ERROR for text in a number field, and writes nothing', async () => {
    const err = await rejectionOf(
      conn.sobject('Lead').upsert([lead(1), lead(3, { PQL_Score__c: 'very high' })], 'Product_User_Id__c'),
    );
    expect(err.name).toBe('JSON_PARSER_ERROR');
    expect(err.message).toMatch(
      /^Cannot deserialize instance of double from VALUE_STRING value very high or request may be missing a required field at \[line:1, column:\d+\]$/,
    );
    expect(await adminRecords(sandbox, 'Lead')).toHaveLength(0);
  });

  it('rolls every record back with allOrNone when one fails', async () => {
    const results = await conn
      .sobject('Lead')
      .upsert([lead(1), lead(2, { PQL_Tier__c: 'warm' }), lead(3)], 'Product_User_Id__c', {
        allOrNone: true,
      });
    const rolledBack = {
      statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      message:
        'Record rolled back because not all records were valid and the request was using AllOrNone header',
      fields: [],
    };
    expect(results).toEqual([
      { success: false, errors: [rolledBack] },
      {
        success: false,
        errors: [
          {
            statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
            message: 'PQL Tier: bad value for restricted picklist field: warm',
            fields: ['PQL_Tier__c'],
          },
        ],
      },
      { success: false, errors: [rolledBack] },
    ]);
    expect(await adminRecords(sandbox, 'Lead')).toEqual([]);
    const retry = await conn
      .sobject('Lead')
      .upsert([lead(1), lead(3)], 'Product_User_Id__c', { allOrNone: true });
    expect(retry.map((r) => [r.success, 'created' in r ? r.created : undefined])).toEqual([
      [true, true],
      [true, true],
    ]);
  });

  it('refuses a converted Lead, duplicate keys in one call, and a key matching two records', async () => {
    await admin(sandbox, 'POST', '/_sandbox/salesforce/Lead', {
      records: [
        { ...lead(1), IsConverted: true, Status: 'Closed - Converted' },
        { LastName: 'Twin A', Company: 'T', Product_User_Id__c: 'twin' },
        { LastName: 'Twin B', Company: 'T', Product_User_Id__c: 'twin' },
      ],
    });
    const [a, b] = (await adminRecords(sandbox, 'Lead')).filter((r) => r.Product_User_Id__c === 'twin');
    const results = await conn
      .sobject('Lead')
      .upsert(
        [
          { Product_User_Id__c: 'u_1', PQL_Score__c: 80 },
          lead(5),
          lead(5),
          { Product_User_Id__c: 'twin', PQL_Score__c: 1 },
        ],
        'Product_User_Id__c',
      );
    expect(results.map((r) => (r.success ? 'ok' : r.errors[0]))).toEqual([
      { statusCode: 'CANNOT_UPDATE_CONVERTED_LEAD', message: 'cannot reference converted lead', fields: [] },
      {
        statusCode: 'DUPLICATE_EXTERNAL_ID',
        message: 'Duplicate external id specified: u_5',
        fields: ['Product_User_Id__c'],
      },
      {
        statusCode: 'DUPLICATE_EXTERNAL_ID',
        message: 'Duplicate external id specified: u_5',
        fields: ['Product_User_Id__c'],
      },
      {
        statusCode: 'DUPLICATE_EXTERNAL_ID',
        message: `Product User Id: more than one record found for external id field: [${String(a?.Id)}, ${String(b?.Id)}]`,
        fields: ['Product_User_Id__c'],
      },
    ]);
    expect(results[0]).toMatchObject({ id: '00QSb0000000001MAA' });
  });

  it('answers 400 for a record without attributes.type and 404 for an unknown external id field', async () => {
    const res = await fetch(`${sandbox.url}/services/data/v62.0/composite/sobjects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sandbox.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ allOrNone: false, records: [{ LastName: 'X' }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual([
      {
        message: 'When using sObject Collections, the type attribute is required for each record.',
        errorCode: 'INVALID_INPUT',
      },
    ]);
    const err = await rejectionOf(conn.sobject('Lead').upsert([lead(1, { Email__c: 'a@b.co' })], 'Email__c'));
    expect(err.name).toBe('NOT_FOUND');
    expect(err.message).toBe('Provided external ID field does not exist or is not accessible: Email__c');
  });

  it('records the Sforce-Auto-Assign header of each request', async () => {
    await conn
      .sobject('Lead')
      .upsert([lead(1)], 'Product_User_Id__c', { headers: { 'Sforce-Auto-Assign': 'FALSE' } });
    const log = (await admin(sandbox, 'GET', '/_sandbox/requests')).body as Array<Record<string, unknown>>;
    expect(log).toEqual([
      {
        seq: 1,
        method: 'PATCH',
        path: '/services/data/v62.0/composite/sobjects/Lead/Product_User_Id__c',
        query: '',
        status: 200,
        records: 1,
        headers: { 'sforce-auto-assign': 'FALSE', 'content-type': 'application/json' },
        at: '2026-03-02T09:00:00.000Z',
      },
    ]);
  });
});

describe('create, update, delete and the single-record routes', () => {
  it('creates Tasks with the owner and Who/What rules', async () => {
    const users = await userIds(sandbox);
    const [leadResult] = await conn.sobject('Lead').upsert([lead(1)], 'Product_User_Id__c');
    const account = await conn.sobject('Account').create({ Name: 'Acme', Product_Account_Id__c: 'a_1' });
    const leadId = String(leadResult?.id);
    const task = {
      Subject: 'Call: hot PQL',
      ActivityDate: '2026-03-02',
      Priority: 'High',
      Description: 'Invited 4 teammates',
    };
    const results = await conn.sobject('Task').create([
      { ...task, WhoId: leadId, OwnerId: users['ava.patel@example.com'] },
      { ...task, WhoId: leadId, WhatId: account.id },
      { ...task, WhoId: leadId, OwnerId: users['dev.inactive@example.com'] },
      { ...task, WhoId: leadId, OwnerId: '005000000000000AAA' },
      { ...task, OwnerId: 'not-an-id' },
    ]);
    expect(results.map((r) => (r.success ? 'ok' : r.errors[0]))).toEqual([
      'ok',
      {
        statusCode: 'FIELD_INTEGRITY_EXCEPTION',
        message: `Related To ID: id value of incorrect type: ${account.id}`,
        fields: ['WhatId'],
      },
      {
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: `operation performed with inactive user [${users['dev.inactive@example.com']}] as owner of task`,
        fields: [],
      },
      {
        statusCode: 'INVALID_CROSS_REFERENCE_KEY',
        message: 'Owner ID: id value of incorrect type: 005000000000000AAA',
        fields: ['OwnerId'],
      },
      {
        statusCode: 'MALFORMED_ID',
        message: 'Owner ID: id value of incorrect type: not-an-id',
        fields: ['OwnerId'],
      },
    ]);
    const [stored] = await adminRecords(sandbox, 'Task');
    expect(stored).toMatchObject({
      Id: '00TSb0000000001MAA',
      WhoId: leadId,
      OwnerId: users['ava.patel@example.com'],
      Status: 'Not Started',
      Priority: 'High',
      IsReminderSet: false,
    });
  });

  it('updates by id, deletes, and reports a deleted record', async () => {
    const [created] = await conn.sobject('Contact').create([{ LastName: 'Kim', Email: 'kim@example.com' }]);
    const id = String(created?.id);
    expect(await conn.sobject('Contact').update([{ Id: id, Title: 'CTO' }])).toEqual([
      { id, success: true, errors: [] },
    ]);
    expect(await conn.sobject('Contact').destroy([id])).toEqual([{ id, success: true, errors: [] }]);
    expect(await conn.sobject('Contact').update([{ Id: id, Title: 'CEO' }])).toEqual([
      {
        id,
        success: false,
        errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
      },
    ]);
    expect(await adminRecords(sandbox, 'Contact')).toEqual([]);
  });

  it('upserts one record by external id (201 created, 200 updated) and refuses required fields on create', async () => {
    expect(
      await conn
        .sobject('Account')
        .upsert({ Product_Account_Id__c: 'a_1', Name: 'Acme', PQA_Score__c: 70 }, 'Product_Account_Id__c'),
    ).toEqual({
      id: '001Sb0000000001IAA',
      success: true,
      errors: [],
      created: true,
    });
    expect(
      await conn
        .sobject('Account')
        .upsert({ Product_Account_Id__c: 'a_1', PQA_Tier__c: 'hot' }, 'Product_Account_Id__c'),
    ).toEqual({
      id: '001Sb0000000001IAA',
      success: true,
      errors: [],
      created: false,
    });
    const err = await rejectionOf(
      conn.sobject('Account').upsert({ Product_Account_Id__c: 'a_2' }, 'Product_Account_Id__c'),
    );
    expect([err.name, err.message]).toEqual([
      'REQUIRED_FIELD_MISSING',
      'Required fields are missing: [Name]',
    ]);
    const retrieved = await conn.sobject('Account').retrieve('001Sb0000000001IAA');
    expect(retrieved).toMatchObject({ Name: 'Acme', PQA_Score__c: 70, PQA_Tier__c: 'hot' });
  });
});
