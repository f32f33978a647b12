import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { admin, connect, rejectionOf, start, type Connection } from './salesforce-helpers.js';

let sandbox: RunningSandbox;
let conn: Connection;

beforeEach(async () => {
  sandbox = await start({
    now: () => new Date('2026-03-02T09:00:00Z'),
    salesforce: { queryPageSize: 3 },
  });
  conn = connect(sandbox);
  const records = Array.from({ length: 8 }, (_, i) => ({
    attributes: { type: 'Lead' },
    Product_User_Id__c: `u_${i + 1}`,
    LastName: `Person ${i + 1}`,
    Company: i < 4 ? 'Acme' : "O'Brien & Co",
    Email: `p${i + 1}@example.com`,
    PQL_Score__c: (i + 1) * 10,
    PQL_Tier__c: i >= 6 ? 'hot' : i >= 3 ? 'pql' : 'nurture',
    Is_PQL__c: i >= 3,
  }));
  await conn.sobject('Lead').upsert(records, 'Product_User_Id__c');
});
afterEach(async () => {
  await sandbox.close();
});

describe('SOQL', () => {
  it('pages with nextRecordsUrl and queryMore, and autoFetch reads every page', async () => {
    const first = await conn.query<{ Product_User_Id__c: string }>(
      'SELECT Product_User_Id__c FROM Lead ORDER BY PQL_Score__c DESC',
    );
    expect(first.totalSize).toBe(8);
    expect(first.done).toBe(false);
    expect(first.records.map((r) => r.Product_User_Id__c)).toEqual(['u_8', 'u_7', 'u_6']);
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01gSb\w+-3$/);
    const second = await conn.queryMore<{ Product_User_Id__c: string }>(String(first.nextRecordsUrl));
    expect(second.records.map((r) => r.Product_User_Id__c)).toEqual(['u_5', 'u_4', 'u_3']);

    const all = await conn.query<{ Id: string }>('SELECT Id FROM Lead', { autoFetch: true, maxFetch: 100 });
    expect(all.records).toHaveLength(8);
    expect(all.done).toBe(true);
  });

  it('filters with =, IN, NOT IN, LIKE, booleans, ranges, AND/OR and parentheses, and follows Owner', async () => {
    const ids = async (soql: string): Promise<string[]> =>
      (await conn.query<{ Product_User_Id__c: string }>(soql, { autoFetch: true })).records.map(
        (r) => r.Product_User_Id__c,
      );
    expect(
      await ids("SELECT Product_User_Id__c FROM Lead WHERE Email IN ('P2@example.com', 'p5@example.com')"),
    ).toEqual(['u_2', 'u_5']);
    expect(
      await ids(
        "SELECT Product_User_Id__c FROM Lead WHERE Company = 'O\\'Brien & Co' AND Is_PQL__c = true LIMIT 2",
      ),
    ).toEqual(['u_5', 'u_6']);
    expect(
      await ids(
        "SELECT Product_User_Id__c FROM Lead WHERE (PQL_Score__c >= 70 OR PQL_Tier__c = 'nurture') AND NOT Email LIKE 'p1%'",
      ),
    ).toEqual(['u_2', 'u_3', 'u_7', 'u_8']);
    expect(
      await ids(
        "SELECT Product_User_Id__c FROM Lead WHERE PQL_Tier__c NOT IN ('pql', 'hot') AND IsConverted = false",
      ),
    ).toEqual(['u_1', 'u_2', 'u_3']);
    const owned = await conn.query<{ Owner: { Email: string } }>(
      "SELECT Id, Owner.Email, Owner.Name FROM Lead WHERE Product_User_Id__c = 'u_1'",
    );
    expect(owned.records[0]?.Owner).toEqual({
      attributes: { type: 'User', url: '/services/data/v62.0/sobjects/User/005Sb0000000001IAA' },
      Email: 'integration@pqlsync.sandbox',
      Name: 'Integration User',
    });
    const users = await conn.query<{ Email: string }>(
      'SELECT Id, Email FROM User WHERE IsActive = true ORDER BY Email',
      {
        autoFetch: true,
      },
    );
    expect(users.records.map((u) => u.Email)).toEqual([
      'ava.patel@example.com',
      'ben.okafor@example.com',
      'chloe.martin@example.com',
      'integration@pqlsync.sandbox',
    ]);
    expect((await conn.query("SELECT COUNT() FROM Lead WHERE PQL_Tier__c = 'hot'")).totalSize).toBe(2);
  });

  it('answers malformed SOQL, unknown fields and unknown objects with the 400 error codes', async () => {
    const e1 = await rejectionOf(conn.query('SELECT Id FROM Lead WHERE'));
    expect([e1.name, e1.message]).toEqual(['MALFORMED_QUERY', 'unexpected end of query']);
    const e2 = await rejectionOf(conn.query('SELECT Id, Score__c FROM Lead'));
    expect([e2.name, e2.message]).toEqual([
      'INVALID_FIELD',
      "No such column 'Score__c' on entity 'Lead'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
    ]);
    const e3 = await rejectionOf(conn.query('SELECT Id FROM Campaign'));
    expect([e3.name, e3.message]).toEqual([
      'INVALID_TYPE',
      "sObject type 'Campaign' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
    ]);
  });

  it('excludes deleted records from query and includes them in queryAll', async () => {
    const [first] = (await conn.query<{ Id: string }>("SELECT Id FROM Lead WHERE Product_User_Id__c = 'u_1'"))
      .records;
    await conn.sobject('Lead').destroy([String(first?.Id)]);
    expect((await conn.query('SELECT COUNT() FROM Lead')).totalSize).toBe(7);
    expect((await conn.query('SELECT COUNT() FROM Lead', { scanAll: true })).totalSize).toBe(8);
  });
});

describe('describe', () => {
  it('describes the conventional PQL fields with the metadata a preflight reads', async () => {
    const lead = await conn.sobject('Lead').describe();
    expect(lead.name).toBe('Lead');
    expect(lead.keyPrefix).toBe('00Q');
    const field = (name: string): Record<string, unknown> | undefined =>
      lead.fields.find((f) => f.name === name) as unknown as Record<string, unknown> | undefined;
    expect(field('Product_User_Id__c')).toMatchObject({
      type: 'string',
      externalId: true,
      idLookup: true,
      unique: true,
      custom: true,
    });
    expect(field('PQL_Score__c')).toMatchObject({
      type: 'double',
      precision: 3,
      scale: 0,
      createable: true,
      updateable: true,
    });
    expect(field('PQL_Tier__c')).toMatchObject({ type: 'picklist', restrictedPicklist: true });
    expect((field('PQL_Tier__c')?.picklistValues as Array<{ value: string }>).map((p) => p.value)).toEqual([
      'hot',
      'pql',
      'nurture',
    ]);
    expect(field('IsConverted')).toMatchObject({ type: 'boolean', createable: false, updateable: false });
    expect(lead.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining([
        'Email',
        'LastName',
        'Company',
        'Status',
        'OwnerId',
        'Is_PQL__c',
        'PQL_Reasons__c',
        'PQL_Qualified_At__c',
      ]),
    );
    const task = await conn.sobject('Task').describe();
    expect(task.fields.find((f) => f.name === 'PQLSync_Key__c')).toMatchObject({ externalId: true });
    const account = await conn.sobject('Account').describe();
    expect(account.fields.filter((f) => f.custom).map((f) => f.name)).toEqual([
      'Product_Account_Id__c',
      'PQA_Score__c',
      'PQA_Tier__c',
    ]);

    const global = await conn.describeGlobal();
    expect(global.maxBatchSize).toBe(200);
    expect(global.sobjects.map((s) => [s.name, s.keyPrefix])).toEqual([
      ['Lead', '00Q'],
      ['Contact', '003'],
      ['Account', '001'],
      ['Opportunity', '006'],
      ['Task', '00T'],
      ['User', '005'],
    ]);
  });

  it('serves configured custom fields instead of the default set', async () => {
    const custom = await start({
      salesforce: { customFields: { Lead: [{ name: 'Score__c', type: 'double' }] } },
    });
    try {
      const lead = await connect(custom).sobject('Lead').describe();
      expect(lead.fields.filter((f) => f.custom).map((f) => f.name)).toEqual(['Score__c']);
      const res = await admin(custom, 'GET', '/_sandbox/salesforce/Nope');
      expect(res).toEqual({
        status: 404,
        body: {
          error:
            'unknown admin route GET /_sandbox/salesforce/Nope; try GET /_sandbox/salesforce/Lead, POST /_sandbox/salesforce/Lead {"records": [...]}, POST /_sandbox/salesforce/Task/{id}/complete, POST /_sandbox/salesforce/Lead/{id}/convert, POST /_sandbox/salesforce/Opportunity/{id}/stage, POST /_sandbox/salesforce/limits, POST /_sandbox/salesforce/oauth/tokens|expire|revoke',
        },
      });
    } finally {
      await custom.close();
    }
  });
});
