/**
 * The closed-loop report as text (terminal) and as one self-contained HTML page (inline CSS and SVG, no scripts to
 * run, no external assets; the report's JSON embedded as `<script type="application/json" id="loop-data">` so a
 * reader or a test can check the numbers).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { escapeHtml as e, niceMax } from '../evaluate/render-html.js';
import type { LoopMetrics, LoopReport, WeeklyTrend } from './loop-report.js';

const HEADER = [
  'entities',
  'tasks',
  'done',
  'median h',
  'p90 h',
  'SLA met',
  'opps',
  'PQL→opp',
  'vs base',
  'won',
  'opp→won',
  'pipeline',
  'won amount',
];

/** A percentage, or `-` when there is nothing to divide. */
export function showPct(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(1)}%`;
}

function showNum(v: number | null): string {
  return v === null ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** What a row is called: the owner's name when known, else the group (tier, route, owner id). */
export function groupLabel(m: LoopMetrics): string {
  return m.name ?? m.group;
}

/** The cells of one metrics row, in HEADER's order. */
export function metricCells(m: LoopMetrics): string[] {
  return [
    showNum(m.entities),
    showNum(m.tasksCreated),
    showNum(m.tasksDone),
    showNum(m.medianHoursToDone),
    showNum(m.p90HoursToDone),
    showPct(m.slaMetPct),
    showNum(m.opportunities),
    showPct(m.pqlToOppPct),
    m.oppLiftVsBase === null ? '-' : `${m.oppLiftVsBase.toFixed(2)}x`,
    showNum(m.won),
    showPct(m.oppToWonPct),
    showNum(m.pipelineAmount),
    showNum(m.wonAmount),
  ];
}

function table(title: string, rows: readonly LoopMetrics[], base: LoopMetrics): string {
  const all = [...rows, base];
  const cells = all.map((m) => [groupLabel(m), ...metricCells(m)]);
  const header = [title, ...HEADER];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** What the hour columns count. */
function hoursLabel(r: LoopReport): string {
  return r.hours === 'business'
    ? "business hours (the routing calendar's working time)"
    : 'clock hours (the sync has no routing calendar)';
}

/** The report for a terminal. */
export function renderLoopText(r: LoopReport): string {
  const weekly = r.weekly.map(
    (w) =>
      `  ${w.week}  flagged ${w.flagged} (${showPct(w.flagRatePct)} of ${w.population})  opportunities ${w.opportunities} (${showPct(w.pqlToOppPct)})`,
  );
  return [
    `closed loop of ${r.sync} (${r.destination}), ${r.since.slice(0, 10)} to ${r.until.slice(0, 10)}; scored population ${r.population}`,
    `times to completion in ${hoursLabel(r)}; read back from the CRM ${r.pulledAt ? `at ${r.pulledAt}` : 'never: run pqlsync pull first'}`,
    '',
    table('tier', r.byTier, r.base),
    '',
    table('route', r.byRoute, r.base),
    '',
    table('owner', r.byOwner, r.base),
    '',
    'weekly trend (by the week a key was first flagged):',
    ...(weekly.length > 0 ? weekly : ['  (no tasks in the period)']),
    '',
  ].join('\n');
}

function htmlTable(title: string, rows: readonly LoopMetrics[], base: LoopMetrics, id: string): string {
  const tr = (m: LoopMetrics, cls: string) =>
    `<tr class="${cls}" data-group="${e(m.group)}"><th scope="row">${e(groupLabel(m))}</th>${metricCells(m)
      .map((c) => `<td>${e(c)}</td>`)
      .join('')}</tr>`;
  return `<section><h2>By ${e(title)}</h2><table id="${id}"><thead><tr><th>${e(title)}</th>${HEADER.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((m) => tr(m, 'group'))
    .join('')}${tr(base, 'base')}</tbody></table></section>`;
}

/** Weekly flag rate and PQL→opportunity rate as two polylines. */
function trendChart(weekly: readonly WeeklyTrend[]): string {
  const w = 560;
  const h = 220;
  const m = { top: 16, right: 16, bottom: 40, left: 48 };
  const iw = w - m.left - m.right;
  const ih = h - m.top - m.bottom;
  const max = niceMax(Math.max(1, ...weekly.flatMap((x) => [x.flagRatePct ?? 0, x.pqlToOppPct ?? 0])));
  const x = (i: number) => m.left + (weekly.length <= 1 ? iw / 2 : (i / (weekly.length - 1)) * iw);
  const y = (v: number) => m.top + ih - (v / max) * ih;
  const line = (pick: (t: WeeklyTrend) => number | null, cls: string) =>
    `<polyline class="${cls}" fill="none" points="${weekly.map((t, i) => `${x(i).toFixed(1)},${y(pick(t) ?? 0).toFixed(1)}`).join(' ')}"/>` +
    weekly
      .map(
        (t, i) => `<circle class="${cls}" cx="${x(i).toFixed(1)}" cy="${y(pick(t) ?? 0).toFixed(1)}" r="3"/>`,
      )
      .join('');
  const labels = weekly
    .map(
      (t, i) =>
        `<text class="tick" x="${x(i).toFixed(1)}" y="${h - m.bottom + 16}" text-anchor="middle">${e(t.week)}</text>`,
    )
    .join('');
  const ticks = [0, 0.5, 1]
    .map(
      (f) =>
        `<text class="tick" x="${m.left - 6}" y="${(y(f * max) + 4).toFixed(1)}" text-anchor="end">${f * max}%</text>`,
    )
    .join('');
  return `<svg id="trend-chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="weekly flag rate and conversion">${ticks}${labels}${line((t) => t.flagRatePct, 'flag')}${line((t) => t.pqlToOppPct, 'conv')}</svg>
<p class="legend"><span class="flag">■</span> flag rate (flagged that week / that week's scored population) <span class="conv">■</span> PQL → opportunity</p>`;
}

/** The report as a self-contained HTML page. */
export function renderLoopHtml(r: LoopReport): string {
  const json = JSON.stringify(r).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pqlsync closed loop: ${e(r.sync)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#111827}
table{border-collapse:collapse;margin:8px 0 20px}th,td{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f3f4f6}tr.base{color:#6b7280;font-style:italic}
.tick{font-size:10px;fill:#6b7280}polyline.flag{stroke:#2563eb;stroke-width:2}circle.flag{fill:#2563eb}
polyline.conv{stroke:#d97706;stroke-width:2}circle.conv{fill:#d97706}span.flag{color:#2563eb}span.conv{color:#d97706}
</style></head><body>
<h1>Closed loop: ${e(r.sync)}</h1>
<p id="period">${e(r.destination)}, ${e(r.since.slice(0, 10))} to ${e(r.until.slice(0, 10))}; scored population ${r.population}. Times to completion in ${e(hoursLabel(r))}. Read back ${r.pulledAt ? `at ${e(r.pulledAt)}` : 'never'}.</p>
${htmlTable('tier', r.byTier, r.base, 'by-tier')}
${htmlTable('route', r.byRoute, r.base, 'by-route')}
${htmlTable('owner', r.byOwner, r.base, 'by-owner')}
<section><h2>Weekly trend</h2>${trendChart(r.weekly)}</section>
<script type="application/json" id="loop-data">${json}</script>
</body></html>
`;
}

/** Writes the HTML report to `file` (creating its directory) and returns the path. */
export function writeLoopHtml(r: LoopReport, file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderLoopHtml(r));
  return file;
}
