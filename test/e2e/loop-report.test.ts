/**
 * The closed-loop HTML report in headless Chromium: `pqlsync demo --crm salesforce --advance-days 7` writes it; it
 * renders without errors or outside requests, and every row of its tier, route and owner tables shows the numbers
 * of the JSON it embeds (cell by cell, formatted as the terminal report formats them), with the trend chart drawn.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/commands/demo.js';
import type { LoopReport } from '../../src/report/loop-report.js';
import { groupLabel, metricCells } from '../../src/report/render-loop-report.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import { launchChromium } from '../helpers/chromium.js';
import { createLogger, setLogger } from '../../src/util/logger.js';

setLogger(createLogger({ level: 'silent' }));

let browser: Browser;
let sandbox: RunningSandbox;
let dir: string;
let reportPath = '';
const savedToken = process.env.PQLSYNC_SANDBOX_TOKEN;

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 9 });
  process.env.PQLSYNC_SANDBOX_TOKEN = sandbox.token;
  dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-loop-html-'));
  const demo = { dir, users: 1000, seed: 42, crm: 'salesforce' as const, sandbox: sandbox.url, run: true };
  await runDemo(demo);
  reportPath = (await runDemo({ ...demo, advanceDays: 7 })).loop?.reportPath ?? '';
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await sandbox?.close();
  if (savedToken === undefined) delete process.env.PQLSYNC_SANDBOX_TOKEN;
  else process.env.PQLSYNC_SANDBOX_TOKEN = savedToken;
  rmSync(dir, { recursive: true, force: true });
});

describe('the loop report in Chromium', () => {
  it('renders on its own and shows the JSON numbers in every table', async () => {
    expect(reportPath).toBe(path.join(dir, 'reports', 'loop-pql_users.html'));
    expect(readFileSync(reportPath, 'utf8')).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(reportPath).href);
    const report = JSON.parse((await page.locator('#loop-data').textContent()) ?? 'null') as LoopReport;
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(reportPath).href]);
    expect(report.byTier.map((t) => t.group)).toEqual(['hot', 'pql']);
    expect(report.byTier.every((t) => t.tasksDone > 0)).toBe(true);
    // Owners by their CRM names (the sandbox's Users), their ids in the JSON.
    expect(report.byOwner.every((o) => o.name && /^[A-Z][a-z]+ [A-Z][a-z]+$/.test(o.name))).toBe(true);
    for (const [id, rows] of [
      ['#by-tier', report.byTier],
      ['#by-route', report.byRoute],
      ['#by-owner', report.byOwner],
    ] as const) {
      const shown = await page.locator(`${id} tbody tr`).all();
      const expected = [...rows, report.base];
      expect(shown.length).toBe(expected.length);
      for (const [i, row] of shown.entries()) {
        expect(await row.locator('th').textContent()).toBe(groupLabel(expected[i]!));
        expect(await row.locator('td').allTextContents()).toEqual(metricCells(expected[i]!));
      }
    }
    expect(await page.locator('#trend-chart polyline').count()).toBe(2);
    expect(await page.locator('#trend-chart circle.flag').count()).toBe(report.weekly.length);
    await page.close();
  });
});
