/**
 * The sandbox page's rep-action buttons in headless Chromium: with the token typed in, "complete task" closes a
 * Salesforce task and "convert lead" converts the lead with an opportunity of the amount given; without the token
 * the admin route refuses (401) and nothing changes.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import { launchChromium } from '../helpers/chromium.js';

let browser: Browser;
let sandbox: RunningSandbox;

const admin = async (method: string, route: string, body?: unknown) => {
  const res = await fetch(`${sandbox.url}${route}`, {
    method,
    headers: { Authorization: `Bearer ${sandbox.token}`, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await res.json()) as { records: Array<Record<string, unknown>> };
};

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 4 });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
});

describe('rep actions on the sandbox page', () => {
  it('completes a task and converts a lead through the admin routes, with the token only', async () => {
    const [lead] = (
      await admin('POST', '/_sandbox/salesforce/Lead', { records: [{ LastName: 'Lee', Company: 'Acme' }] })
    ).records;
    const [task] = (
      await admin('POST', '/_sandbox/salesforce/Task', {
        records: [{ Subject: 'call', WhoId: lead!.Id, PQLSync_Key__c: 'k1' }],
      })
    ).records;
    const page = await browser.newPage();
    await page.goto(`${sandbox.url}/`);
    await page.fill('#rep-record', String(task!.Id));
    await page.click('#rep-sf-complete');
    await expect.poll(() => page.locator('#rep-result').textContent()).toMatch(/^401 /);
    expect((await admin('GET', '/_sandbox/salesforce/Task')).records[0]?.IsClosed).toBe(false);

    await page.fill('#rep-token', sandbox.token);
    await page.click('#rep-sf-complete');
    await expect.poll(() => page.locator('#rep-result').textContent()).toMatch(/^200 /);
    const done = (await admin('GET', '/_sandbox/salesforce/Task')).records[0];
    expect([done?.Status, done?.IsClosed, typeof done?.CompletedDateTime]).toEqual([
      'Completed',
      true,
      'string',
    ]);

    await page.fill('#rep-record', String(lead!.Id));
    await page.fill('#rep-amount', '900');
    await page.click('#rep-sf-convert');
    await expect.poll(() => page.locator('#rep-result').textContent()).toMatch(/^200 /);
    const converted = (await admin('GET', '/_sandbox/salesforce/Lead')).records[0];
    const [opportunity] = (await admin('GET', '/_sandbox/salesforce/Opportunity')).records;
    expect([converted?.IsConverted, converted?.ConvertedOpportunityId]).toEqual([true, opportunity?.Id]);
    expect([opportunity?.Amount, opportunity?.StageName]).toEqual([900, 'Prospecting']);
    await page.close();
  });
});
