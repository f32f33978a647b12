/**
 * The sandbox page in headless Chromium at 1,280 px (issue 21, item 8): tabs for leads, accounts and tasks; no
 * clipped column; hot rows first; the pqa badge styled; HubSpot task bodies as text lines (no literal `<br>`); a
 * CRM without records takes no room; the view is fetched again only after a change (ETag, 304 otherwise).
 * Writes a screenshot to test-output/sandbox-page.png (or $PQLSYNC_SCREENSHOT) and prints its path.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import { REPO_DIR } from '../helpers/cli.js';
import { admin, connect, start, userIds } from '../integration/sandbox/salesforce-helpers.js';

const SCREENSHOT = process.env.PQLSYNC_SCREENSHOT ?? path.join(REPO_DIR, 'test-output', 'sandbox-page.png');
const VIEWPORT = { width: 1280, height: 900 };

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

/*
 * The checks below run in the page: the test project compiles without the DOM library, so they are written as
 * script text.
 */

/** Elements of the page wider than their box (scrollWidth > clientWidth): a clipped or scrolling column. */
const CLIPPED = `(() => {
  const out = [];
  for (const node of [document.documentElement, ...document.querySelectorAll('.card, table, th, td')]) {
    if (node.scrollWidth > node.clientWidth)
      out.push(node.tagName.toLowerCase() + (node.id ? '#' + node.id : '') + ' "' + (node.textContent || '').slice(0, 40) + '": ' + node.scrollWidth + ' > ' + node.clientWidth);
  }
  return out;
})()`;

function clipped(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(CLIPPED);
}

/** The text of one column of a table, top to bottom. */
function column(page: Page, tableId: string, label: string): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const table = document.querySelector(${JSON.stringify(`#${tableId} table`)});
    if (!table) return [];
    const i = [...table.querySelectorAll('th')].map((th) => th.textContent).indexOf(${JSON.stringify(label)});
    return [...table.querySelectorAll('tr')].slice(1).map((tr) => (tr.children[i] || {}).textContent || '');
  })()`);
}

/** The computed background colour of the first element matching `selector` (a bare `.tier` when none). */
function background(page: Page, selector: string): Promise<string> {
  return page.evaluate<string>(`(() => {
    let node = document.querySelector(${JSON.stringify(selector)});
    const probe = !node;
    if (probe) { node = document.createElement('span'); node.className = 'tier'; document.body.append(node); }
    const color = getComputedStyle(node).backgroundColor;
    if (probe) node.remove();
    return color;
  })()`);
}

async function tab(page: Page, id: string): Promise<void> {
  await page.locator(`nav.tabs [data-tab="${id}"]`).click();
  await page.locator(`nav.tabs [data-tab="${id}"][aria-selected="true"]`).waitFor();
}

describe('sandbox page', () => {
  it('at 1,280 px: tabs, hot rows first, no clipped column, styled pqa badge, HubSpot bodies as text, 304 when idle', async () => {
    const conn = connect(sandbox);
    const users = await userIds(sandbox);
    const tiers = (score: number) => (score >= 70 ? 'hot' : score >= 40 ? 'pql' : 'nurture');
    // 40 leads, scores interleaved so that creation order is not score order, with long names and emails.
    const leads = Array.from({ length: 40 }, (_, i) => {
      const score = (i * 37) % 100;
      return {
        Product_User_Id__c: `u_${i}`,
        FirstName: i === 7 ? 'Maximiliana-Alexandra' : `First${i}`,
        LastName: i === 7 ? 'Vanderbilt-Montgomery-Fitzgerald' : `Last${i}`,
        Company: `Company ${i}`,
        Email:
          i === 7
            ? 'maximiliana.vanderbilt-montgomery@a-very-long-company-domain.example.com'
            : `user${i}@acme.test`,
        PQL_Score__c: score,
        PQL_Tier__c: tiers(score),
      };
    });
    const results = await conn.sobject('Lead').upsert(leads, 'Product_User_Id__c');
    expect(results.filter((r) => !r.success)).toEqual([]);
    await conn.sobject('Account').create([
      { Name: 'Acme Corporation International Holdings', PQA_Score__c: 55, PQA_Tier__c: 'pqa' },
      { Name: 'Beta', PQA_Score__c: 91, PQA_Tier__c: 'hot' },
      { Name: 'Gamma', PQA_Score__c: 12, PQA_Tier__c: 'nurture' },
    ]);
    await conn.sobject('Task').create([
      {
        WhoId: results[7]?.id,
        OwnerId: users['ava.patel@example.com'],
        Subject: 'hot PQL: Maximiliana-Alexandra Vanderbilt-Montgomery-Fitzgerald at Company 7 (score 59)',
        ActivityDate: '2026-03-02',
        Priority: 'High',
        Description:
          'Maximiliana used the product on 27 of the last 30 days (1,204 events), invited 14 teammates and viewed pricing 9 times.\nSignals: invited teammates; viewed pricing; connected the warehouse; ran 41 reports this week.\nDue 2026-03-02.',
      },
      {
        WhoId: results[1]?.id,
        Subject: 'pql PQL: First1 Last1',
        ActivityDate: '2026-03-01',
        Priority: 'Normal',
      },
    ]);

    const page = await browser.newPage({ viewport: VIEWPORT });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const views: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/_sandbox/view')) views.push(r.status());
    });
    await page.goto(`${sandbox.url}/`);
    await page.locator('#salesforce-people').getByText('user1@acme.test').waitFor({ timeout: 15_000 });

    // Tabs, with counts; the HubSpot column is left out while HubSpot has no records.
    expect(await page.locator('nav.tabs [role="tab"]').allInnerTexts()).toEqual([
      'Leads & contacts40',
      'Accounts & companies3',
      'Tasks2',
    ]);
    expect(await page.locator('#hubspot').count()).toBe(0);
    expect(await page.locator('p.note').innerText()).toBe('HubSpot: no records yet (not shown)');
    const salesforceWidth = await page
      .locator('#salesforce')
      .evaluate((n) => n.getBoundingClientRect().width);
    expect(salesforceWidth).toBeGreaterThan(VIEWPORT.width * 0.9);

    // Hot first: scores in descending order.
    const scores = (await column(page, 'salesforce-people', 'PQL score')).map(Number);
    expect(scores).toHaveLength(40);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect((await column(page, 'salesforce-people', 'Tier')).slice(0, 2)).toEqual(['hot', 'hot']);
    expect(await clipped(page)).toEqual([]);

    await tab(page, 'accounts');
    expect(await column(page, 'salesforce-accounts', 'Name')).toEqual([
      'Beta',
      'Acme Corporation International Holdings',
      'Gamma',
    ]);
    const badge = (tier: string) => background(page, `#salesforce-accounts .tier-${tier}`);
    const unstyled = await background(page, '#no-such-element');
    expect(await badge('pqa')).not.toBe(unstyled);
    expect(new Set([await badge('pqa'), await badge('hot'), await badge('nurture')]).size).toBe(3);
    expect(await clipped(page)).toEqual([]);

    await tab(page, 'tasks');
    expect(await column(page, 'salesforce-tasks', 'Due')).toEqual(['2026-03-02', '2026-03-01']);
    expect(await clipped(page)).toEqual([]);

    // Idle: the next poll is answered 304, no body.
    const idle = await page.waitForResponse((r) => r.url().endsWith('/_sandbox/view'), { timeout: 15_000 });
    expect(idle.status()).toBe(304);
    expect(views[0]).toBe(200);

    // HubSpot gets records: its column appears (the change moved the view's ETag), tasks as text lines.
    await admin(sandbox, 'POST', '/_sandbox/hubspot/tasks', {
      records: [
        {
          properties: {
            hs_task_subject: 'hot PQL: Leo Park',
            hs_task_body:
              'Leo invited 6 teammates &amp; viewed pricing.<br>Signals: invited teammates<br>Due 2026-03-02.',
            hs_task_priority: 'HIGH',
            hs_timestamp: '2026-03-02T10:00:00.000Z',
          },
        },
      ],
    });
    const body = page.locator('#hubspot-tasks td.text').first();
    await body.waitFor({ timeout: 15_000 });
    expect(await body.innerText()).toBe(
      'Leo invited 6 teammates & viewed pricing.\nSignals: invited teammates\nDue 2026-03-02.',
    );
    expect(await page.locator('p.note').count()).toBe(0);
    expect(await clipped(page)).toEqual([]);

    await tab(page, 'people');
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    console.log(`sandbox page screenshot (1280 px): ${SCREENSHOT}`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a lead synced through jsforce with its PQL fields, its task, and new records as they arrive', async () => {
    await admin(sandbox, 'POST', '/_sandbox/reset');
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

    const page = await browser.newPage({ viewport: VIEWPORT });
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
    await page
      .locator('#hubspot [data-table="Contacts"]')
      .getByText('leo@beta.test')
      .waitFor({ timeout: 15_000 });
    await tab(page, 'tasks');
    const task = page.locator('#salesforce [data-table="Tasks"] tr', { hasText: 'Hot PQL: Maya Chen' });
    expect(await task.locator('td').allInnerTexts()).toEqual([
      '2026-03-02',
      'Ava Patel',
      'Maya Chen',
      'Hot PQL: Maya Chen\nHigh · Not Started',
      'Invited 6 teammates; 41 reports this week',
    ]);

    await tab(page, 'people');
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
