/**
 * The local Salesforce relates Tasks to Accounts as Salesforce does (Task object reference): `WhatId` = an Account,
 * alone or with a Contact `WhoId`; never with a Lead `WhoId` (FIELD_INTEGRITY_EXCEPTION, pinned in
 * salesforce-collections.test.ts); the read-only `AccountId` derived from the Account in `WhatId`, else from the
 * Contact's Account; SOQL filters on `WhatId` and reads `What.Name`. Through the real jsforce.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { connect, start, type Connection } from './salesforce-helpers.js';

let sandbox: RunningSandbox;
let conn: Connection;
beforeEach(async () => {
  sandbox = await start({ now: () => new Date('2026-03-02T09:00:00Z') });
  conn = connect(sandbox);
});
afterEach(async () => {
  await sandbox.close();
});

describe('Salesforce sandbox: tasks related to accounts', () => {
  it('takes WhatId alone or with a Contact, derives AccountId, and answers SOQL on WhatId', async () => {
    const acme = await conn.sobject('Account').create({ Name: 'Acme', Product_Account_Id__c: 'a_1' });
    const beta = await conn.sobject('Account').create({ Name: 'Beta', Product_Account_Id__c: 'a_2' });
    const contact = await conn.sobject('Contact').create({ LastName: 'Lovelace', AccountId: beta.id });
    const base = { Subject: 'pql account', ActivityDate: '2026-03-02', Priority: 'High' };
    const results = await conn.sobject('Task').create([
      { ...base, WhatId: acme.id },
      { ...base, WhoId: contact.id },
      { ...base, WhoId: contact.id, WhatId: acme.id },
      { ...base, AccountId: acme.id },
    ]);
    expect(
      results.map((r) => (r.success ? 'ok' : (r.errors[0] as unknown as { statusCode: string }).statusCode)),
    ).toEqual(['ok', 'ok', 'ok', 'INVALID_FIELD_FOR_INSERT_UPDATE']);
    const rows = await conn.query<Record<string, unknown>>(
      `SELECT Id, WhoId, WhatId, AccountId, What.Name FROM Task WHERE WhatId = '${acme.id}' ORDER BY Id`,
    );
    expect(
      rows.records.map((r) => [r.WhoId, r.WhatId, r.AccountId, (r.What as { Name?: string })?.Name]),
    ).toEqual([
      [null, acme.id, acme.id, 'Acme'],
      [contact.id, acme.id, acme.id, 'Acme'],
    ]);
    const byContact = await conn.query<Record<string, unknown>>(
      `SELECT AccountId FROM Task WHERE WhoId = '${contact.id}' AND WhatId = null`,
    );
    expect(byContact.records.map((r) => r.AccountId)).toEqual([beta.id]);
  });
});
