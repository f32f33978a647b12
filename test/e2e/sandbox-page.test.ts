import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import { admin, connect, start, userIds } from '../integration/sandbox/salesforce-helpers.js';

function chromiumPath(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || '/usr/bin/chromium';
  } catch {
    return '/usr/bin/chromium';
  }
}

let sandbox: RunningSandbox;
let browser: Browser;

beforeAll(async () => {
  sandbox = await start();
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
});

describe('sandbox page', () => {
  it('shows a lead synced through jsforce with its PQL fields, its task, and new records as they arrive', async () => {
    const conn = connect(sandbox);
    const users = await userIds(sandbox);
    const [lead] = await conn.sobject('Lead').upsert(
      [
        {
          Product_User_Id__c: 'u_1',
          FirstName: 'Maya',
          LastName: 'Chen',
          Company: 'Acme',
          Email: 'maya@acme.test',
          PQL_Score__c: 93,
          PQL_Tier__c: 'hot',
        },
      ],
      'Product_User_Id__c',
    );
    await conn.sobject('Task').create([
      {
        WhoId: lead?.id,
        OwnerId: users['ava.patel@example.com'],
        Subject: 'Hot PQL: Maya Chen',
        ActivityDate: '2026-03-02',
        Priority: 'High',
        Description: 'Invited 6 teammates; 41 reports this week',
      },
    ]);
    await admin(sandbox, 'POST', '/_sandbox/hubspot/contacts', {
      records: [{ properties: { email: 'leo@beta.test', firstname: 'Leo', lastname: 'Park' } }],
    });

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${sandbox.url}/`);
    const people = page.locator('#salesforce [data-table="Leads and contacts"]');
    await people.getByText('maya@acme.test').waitFor({ timeout: 15_000 });
    const row = people.locator('tr', { hasText: 'maya@acme.test' });
    expect(await row.locator('td').allInnerTexts()).toEqual([
      'Maya Chen\nLead',
      'maya@acme.test',
      '93',
      'hot',
      'Integration User',
      expect.any(String),
    ]);
    const task = page.locator('#salesforce [data-table="Tasks"] tr', { hasText: 'Hot PQL: Maya Chen' });
    expect(await task.locator('td').allInnerTexts()).toEqual([
      '2026-03-02',
      'Ava Patel',
      'Maya Chen',
      'Hot PQL: Maya Chen\nHigh · Not Started',
      'Invited 6 teammates; 41 reports this week',
    ]);
    await page
      .locator('#hubspot [data-table="Contacts"]')
      .getByText('leo@beta.test')
      .waitFor({ timeout: 15_000 });

    await conn.sobject('Lead').upsert(
      [
        {
          Product_User_Id__c: 'u_2',
          LastName: 'Roe',
          Company: 'Beta',
          Email: 'roe@beta.test',
          PQL_Score__c: 71,
          PQL_Tier__c: 'pql',
        },
      ],
      'Product_User_Id__c',
    );
    await people.getByText('roe@beta.test').waitFor({ timeout: 15_000 });
    expect(errors).toEqual([]);
    await page.close();
  });
});
