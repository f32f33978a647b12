/**
 * The Salesforce destination's preflight, modes (update never creates, mirror clears), auth (401 → one refresh)
 * and the daily API limit, through the sandbox with the real jsforce.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

describe('Salesforce destination: preflight, modes, auth and limits', () => {
  let f: SalesforceFixture | undefined;

  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('refuses to write when fields are missing or wrong, listing each with the definition to create (exit 2)', async () => {
    f = await salesforceFixture({
      salesforce: {
        customFields: {
          Lead: [
            { name: 'Product_User_Id__c', type: 'string' },
            { name: 'PQL_Tier__c', type: 'double', precision: 3, scale: 0 },
            { name: 'Is_PQL__c', type: 'boolean', updateable: false },
            { name: 'PQL_Reasons__c', type: 'textarea' },
            { name: 'PQL_Qualified_At__c', type: 'datetime' },
          ],
        },
      },
    });
    f.writeConfig();
    await f.seedUsers(3);
    const summary = await f.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(2);
    expect(summary.error?.code).toBe('DESTINATION_PREFLIGHT_FAILED');
    expect(summary.error?.message).toBe(
      [
        'sync leads: Salesforce Lead is not ready for sync leads (4 problems):',
        '  - Product_User_Id__c (match field) is not an External ID; edit it and tick External ID (and Unique): Product_User_Id__c, Text(255), External ID, Unique',
        "  - PQL_Score__c (from column 'score') does not exist or is hidden from the integration user; create it: PQL_Score__c, Number(3, 0)",
        "  - PQL_Tier__c (from column 'tier') is Number(3, 0), which cannot hold it; expected Picklist (values: hot, pql, nurture)",
        "  - Is_PQL__c (from column 'is_pql') is not updateable for the integration user; give its permission set Edit access to Is_PQL__c (field-level security)",
        '  hint: create or fix these fields in Setup > Object Manager > Lead > Fields & Relationships, give the integration user Edit access to them, then rerun',
      ].join('\n'),
    );
    // only the describe call: nothing was written
    expect((await f.requests()).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /services/data/v62.0/sobjects/Lead/describe',
    ]);
    expect(await f.leads()).toEqual([]);
  });

  it('update mode updates existing records by Id and never creates one', async () => {
    f = await salesforceFixture();
    f.writeConfig({ mode: 'update' });
    await f.admin('POST', '/_sandbox/salesforce/Lead', {
      records: [
        { Product_User_Id__c: 'u1', LastName: 'Old', Company: 'Old Co' },
        { Product_User_Id__c: 'u2', LastName: 'Old', Company: 'Old Co' },
      ],
    });
    await f.seedUsers(3);
    const summary = await f.run();
    expect(summary.status).toBe('partial');
    expect(summary.counts).toMatchObject({ added: 3, applied: 2, rejected: 1 });
    expect((await f.failures()).map((r) => [r.key, r.reason])).toEqual([
      ['u3', 'no Lead with Product_User_Id__c = u3 (update mode never creates records)'],
    ]);
    const leads = await f.leads();
    expect(leads).toHaveLength(2);
    expect(leads.map(leadFields)).toEqual([expectedLead(1), expectedLead(2)]);
    expect(
      (await f.requests()).map(
        (r) => `${r.method} ${r.path.replace('/services/data/v62.0', '')} ${r.records}`,
      ),
    ).toEqual(['GET /sobjects/Lead/describe 0', 'GET /query 0', 'PATCH /composite/sobjects 2']);
  });

  it('mirror mode clears the PQL fields of a row that left the model, sets Is_PQL__c false and deletes nothing', async () => {
    f = await salesforceFixture();
    f.writeConfig({ mode: 'mirror' });
    await f.seedUsers(5);
    expect((await f.run()).counts).toMatchObject({ added: 5, applied: 5 });
    await f.wh.query(`delete from src.users where user_id = 'u2'`);
    const seq = await lastSeq(f);
    const summary = await f.run();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ removed: 1, applied: 1 });
    const leads = await f.leads();
    expect(leads).toHaveLength(5);
    const u2 = leads.find((l) => l.Product_User_Id__c === 'u2');
    // identity fields are skip_null, so mirror leaves them; PQL fields are cleared
    expect(leadFields(u2!)).toEqual({
      ...expectedLead(2),
      PQL_Score__c: null,
      PQL_Tier__c: null,
      Is_PQL__c: false,
      PQL_Reasons__c: null,
      PQL_Qualified_At__c: null,
    });
    expect(leadFields(leads.find((l) => l.Product_User_Id__c === 'u3')!)).toEqual(expectedLead(3));
    expect(
      (await f.requests(seq)).map(
        (r) => `${r.method} ${r.path.replace('/services/data/v62.0', '')} ${r.records}`,
      ),
    ).toEqual(['GET /sobjects/Lead/describe 0', 'GET /query 0', 'PATCH /composite/sobjects 1']);
  });

  it('refreshes an expired token once with the refresh token and replays the call', async () => {
    f = await salesforceFixture();
    const tokens = (await f.admin('POST', '/_sandbox/salesforce/oauth/tokens', {})).body as Record<
      string,
      string
    >;
    await f.admin('POST', '/_sandbox/salesforce/oauth/expire', { accessToken: tokens.access_token });
    f.env.SF_ACCESS_TOKEN = tokens.access_token;
    f.env.SF_REFRESH_TOKEN = tokens.refresh_token;
    f.writeConfig({
      auth: `{ type: refresh_token, client_id: pqlsync-test, refresh_token: '\${SF_REFRESH_TOKEN}', access_token: '\${SF_ACCESS_TOKEN}', login_url: '\${SF_URL}' }`,
    });
    await f.seedUsers(2);
    const summary = await f.run();
    expect(summary.status).toBe('success');
    expect(summary.counts).toMatchObject({ applied: 2 });
    expect((await f.requests()).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /services/data/v62.0/sobjects/Lead/describe 401',
      'POST /services/oauth2/token 200',
      'GET /services/data/v62.0/sobjects/Lead/describe 200',
      'PATCH /services/data/v62.0/composite/sobjects/Lead/Product_User_Id__c 200',
    ]);
    expect(summary.apiCalls).toBe(4);
  });

  it('fails with a clear auth message when the refreshed token is refused too (no refresh loop)', async () => {
    f = await salesforceFixture();
    const tokens = (await f.admin('POST', '/_sandbox/salesforce/oauth/tokens', {})).body as Record<
      string,
      string
    >;
    f.env.SF_REFRESH_TOKEN = tokens.refresh_token;
    f.writeConfig({
      auth: `{ type: refresh_token, client_id: pqlsync-test, refresh_token: '\${SF_REFRESH_TOKEN}', login_url: '\${SF_URL}' }`,
    });
    await f.admin('POST', '/_sandbox/faults', {
      route: 'GET /sobjects/Lead/describe',
      status: 401,
      body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
    });
    await f.seedUsers(2);
    const summary = await f.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(1);
    expect(summary.error?.message).toBe(
      "sync leads: Salesforce refused the access token of destination 'sf', and getting a new one failed: the refreshed access token was refused as well\n" +
        '  hint: the refresh token may be revoked or the connected app policy changed; authorize the app again and update the refresh token',
    );
    // the first token, the call, one refresh, the replay, and no more
    expect((await f.requests()).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /services/oauth2/token 200',
      'GET /services/data/v62.0/sobjects/Lead/describe 401',
      'POST /services/oauth2/token 200',
      'GET /services/data/v62.0/sobjects/Lead/describe 401',
    ]);
    expect(JSON.stringify(summary)).not.toContain(tokens.refresh_token);
  });

  it('fails with a clear auth message when an access token without a refresh is expired', async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.admin('POST', '/_sandbox/salesforce/oauth/expire', {});
    await f.seedUsers(2);
    const summary = await f.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(1);
    expect(summary.error?.message).toBe(
      "sync leads: Salesforce refused the access token of destination 'sf' (INVALID_SESSION_ID: Session expired or invalid)\n" +
        '  hint: access tokens expire; get a new one, or configure auth type refresh_token, jwt or client_credentials so pqlsync can renew it',
    );
  });

  it('gets its token with a JWT bearer assertion signed by the key file, and with client credentials', async () => {
    f = await salesforceFixture({ salesforce: { oauth: { clientId: 'cc-id', clientSecret: 'cc-secret' } } });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    mkdirSync(path.join(f.project.dir, 'keys'));
    writeFileSync(
      path.join(f.project.dir, 'keys', 'sf.key'),
      privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    f.writeConfig({
      auth: `{ type: jwt, client_id: jwt-app, username: integration@pqlsync.sandbox, private_key_path: keys/sf.key, login_url: '\${SF_URL}' }`,
    });
    await f.seedUsers(2);
    const jwtRun = await f.run();
    expect(jwtRun.status).toBe('success');
    expect((await f.requests()).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /services/oauth2/token 200',
      'GET /services/data/v62.0/sobjects/Lead/describe 200',
      'PATCH /services/data/v62.0/composite/sobjects/Lead/Product_User_Id__c 200',
    ]);

    f.env.SF_CLIENT_SECRET = 'cc-secret';
    f.writeConfig({
      auth: `{ type: client_credentials, client_id: cc-id, client_secret: '\${SF_CLIENT_SECRET}' }`,
    });
    await f.seedUsers(3);
    const seq = await lastSeq(f);
    const ccRun = await f.run();
    expect(ccRun.counts).toMatchObject({ added: 1, changed: 0, applied: 1 });
    expect((await f.requests(seq)).map((r) => `${r.method} ${r.path} ${r.status}`)[0]).toBe(
      'POST /services/oauth2/token 200',
    );

    f.env.SF_CLIENT_SECRET = 'wrong-secret';
    await f.wh.query(`update src.users set score = 1 where user_id = 'u1'`);
    const refused = await f.run();
    expect(refused.status).toBe('failed');
    expect(refused.error?.message).toBe(
      "sync leads: could not get a Salesforce access token for destination 'sf' (auth client_credentials): invalid_client: invalid client credentials\n" +
        '  hint: check the connected app: client credentials flow enabled, a run-as user set, and client_id/client_secret current',
    );
    expect(JSON.stringify(refused)).not.toContain('wrong-secret');
  });

  it('stops at REQUEST_LIMIT_EXCEEDED with the usage figures, after committing what was applied (exit 1)', async () => {
    f = await salesforceFixture();
    f.writeConfig();
    await f.seedUsers(600);
    // describe + two Collections calls fit; the third call is refused
    await f.admin('POST', '/_sandbox/salesforce/limits', { dailyApiLimit: 3, used: 0 });
    const summary = await f.run();
    expect(summary.status).toBe('failed');
    expect(exitCodeFor([summary])).toBe(1);
    expect(summary.counts).toMatchObject({ added: 600, applied: 400 });
    expect(summary.error?.code).toBe('DESTINATION_DAILY_LIMIT');
    expect(summary.error?.message).toBe(
      "sync leads: Salesforce's API request limit for the last 24 hours is used up (api-usage 3/3): REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.\n" +
        '  hint: records applied before the limit are committed; the next run sends the rest once the rolling 24-hour allocation recovers (Setup > System Overview shows API usage)',
    );
    expect(await f.leads()).toHaveLength(400);

    await f.admin('POST', '/_sandbox/salesforce/limits', { dailyApiLimit: 15_000, used: 0 });
    const next = await f.run();
    expect(next.status).toBe('success');
    expect(next.counts).toMatchObject({ added: 200, applied: 200 });
    expect(await f.leads()).toHaveLength(600);
  });
});
