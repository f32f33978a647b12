/**
 * The HTML report in headless Chromium: `pqlsync demo` writes it, it renders without errors or outside
 * requests, its charts are there, and the numbers on the page are the numbers in its JSON.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/commands/demo.js';
import { pct, times } from '../../src/evaluate/evaluation-metrics.js';
import type { EvaluationReport } from '../../src/evaluate/evaluation-report.js';
import { writeHtmlReport } from '../../src/evaluate/render-html.js';
import { count } from '../../src/evaluate/render-text.js';
import { createLogger, setLogger } from '../../src/util/logger.js';

setLogger(createLogger({ level: 'silent' }));

function chromiumPath(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || '/usr/bin/chromium';
  } catch {
    return '/usr/bin/chromium';
  }
}

let browser: Browser;
let dir: string;
let reportPath: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-report-'));
  const result = await runDemo({ dir, users: 5000, seed: 42, crm: 'file', run: true });
  reportPath = result.reportPath ?? '';
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
}, 120_000);
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a report file and returns the page, its embedded JSON, and the requests and errors it caused. */
async function open(file: string) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  const json = await page.locator('#evaluation-data').textContent();
  const report = JSON.parse(json ?? 'null') as EvaluationReport;
  return { page, report, errors, requests };
}

async function cells(page: Page, table: string): Promise<string[][]> {
  const rows = await page.locator(`${table} tbody tr`).all();
  return Promise.all(rows.map((r) => r.locator('td').allTextContents()));
}

describe('the demo report in Chromium', () => {
  it('is written by the demo, renders on its own, its flagged users lift at least 5x and its top tier 4x', async () => {
    expect(reportPath).toBe(path.join(dir, 'reports', 'pql_users.html'));
    expect(existsSync(reportPath)).toBe(true);
    const html = readFileSync(reportPath, 'utf8');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);

    const { page, report, errors, requests } = await open(reportPath);
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(reportPath).href]);
    expect(report.model).toBe('pql_users');
    expect(report.tiers[0]?.tier).toBe('hot');
    // The hot tier is 3 users at 5,000 (one buyer) now that no planted ramp inflates converters' scores.
    expect(report.tiers[0]?.lift).toBeGreaterThanOrEqual(4);
    expect(report.threshold.lift).toBeGreaterThanOrEqual(5);

    await expect
      .poll(() => page.locator('[data-metric="top-lift"] .card-value').textContent())
      .toBe(times(report.tiers[0]?.lift ?? 0));
    expect(await page.locator('h1').textContent()).toBe(`pql_users: backtest as of ${report.asOf}`);
    expect(await page.locator('[data-metric="population"] .card-value').textContent()).toBe(
      count(report.population),
    );
    expect(await page.locator('[data-metric="base-rate"] .card-value').textContent()).toBe(
      pct(report.baseRate, 2),
    );
    expect(await page.locator('[data-metric="flag-rate"] .card-value').textContent()).toBe(
      pct(report.threshold.flagRate),
    );
    expect(await page.locator('[data-metric="recall"] .card-value').textContent()).toBe(
      pct(report.threshold.recall),
    );
    await page.close();
  });

  it('shows the tier table, the charts, the health checks and the gains exactly as in the JSON', async () => {
    const { page, report } = await open(reportPath);
    expect(await cells(page, '#tier-table')).toEqual(
      report.tiers.map((t) => [
        t.tier,
        count(t.n),
        pct(t.share),
        count(t.converted),
        pct(t.rate),
        `${pct(t.wilson.low)}-${pct(t.wilson.high)}`,
        times(t.lift),
        pct(t.recall),
      ]),
    );
    // One bar per tier, tallest for the best-converting tier; one bar per decile; the model's gains curve.
    const bars = page.locator('#chart-tiers rect[data-tier]');
    expect(await bars.evaluateAll((rs) => rs.map((r) => r.getAttribute('data-tier')))).toEqual(
      report.tiers.map((t) => t.tier),
    );
    const heights = await bars.evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))));
    const rates = report.tiers.map((t) => t.rate);
    expect(heights.indexOf(Math.max(...heights))).toBe(rates.indexOf(Math.max(...rates)));
    expect(await page.locator('#chart-deciles rect[data-decile]').count()).toBe(report.gains.length);
    expect(await page.locator('#chart-gains path[data-series="pql_users"]').count()).toBe(1);
    expect(await page.locator('#chart-gains circle').count()).toBe(report.gains.length);
    const box = await page.locator('#chart-gains').boundingBox();
    expect(box?.width).toBeGreaterThan(300);

    expect(
      await page
        .locator('#health li')
        .evaluateAll((lis) =>
          lis.map((li) => [li.getAttribute('data-check'), li.getAttribute('data-status')]),
        ),
    ).toEqual(report.health.map((h) => [h.check, h.status]));
    expect(await page.locator('#health li').first().locator('span').last().textContent()).toBe(
      report.health[0]?.detail,
    );

    const gains = await cells(page, '#gains-table');
    expect(gains.map((r) => [r[0], r[2], r[3], r[4], r[5]])).toEqual(
      report.gains.map((g) => [
        String(g.decile),
        count(g.n),
        count(g.converted),
        times(g.lift),
        pct(g.capturedShare),
      ]),
    );
    const baselines = await cells(page, '#baseline-table');
    expect(baselines.map((r) => r[5])).toEqual([
      times(report.threshold.lift),
      ...report.baselines.map((b) => times(b.lift)),
    ]);
    await page.close();
  });

  it('puts a second parameter set side by side, with its own gains curve', async () => {
    const { report: base, page: first } = await open(reportPath);
    await first.close();
    const vsTiers = base.tiers.map((t) => ({ ...t, n: t.n + 1 }));
    const withVs: EvaluationReport = {
      ...base,
      comparison: {
        label: 'pql_users {"hot_threshold":80}',
        model: 'pql_users',
        version: 'abc123def456+00000000',
        params: { ...base.params, hot_threshold: 80 },
        population: base.population,
        converted: base.converted,
        baseRate: base.baseRate,
        tiers: vsTiers,
        threshold: base.threshold,
        gains: base.gains,
        columns: base.columns,
        flagRule: base.flagRule,
      },
    };
    const file = writeHtmlReport(withVs, path.join(dir, 'reports', 'vs.html'));
    const { page, errors } = await open(file);
    expect(errors).toEqual([]);
    // The compared curve is drawn first (dashed), the model's last, on top.
    expect(
      await page
        .locator('#chart-gains path')
        .evaluateAll((ps) =>
          ps.map((p) => [p.getAttribute('data-series'), p.getAttribute('stroke-dasharray')]),
        ),
    ).toEqual([
      ['pql_users {"hot_threshold":80}', '7 4'],
      ['pql_users', null],
    ]);
    expect(await page.locator('#comparison h2').first().textContent()).toBe(
      'Side by side: pql_users vs pql_users {"hot_threshold":80}',
    );
    expect((await cells(page, '#comparison-tiers')).map((r) => r[1])).toEqual(vsTiers.map((t) => count(t.n)));
    await page.close();
  });
});
