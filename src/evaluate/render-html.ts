/**
 * The evaluation report as one self-contained HTML page: inline CSS and SVG charts, no scripts to run and no
 * external assets, so it can be mailed, attached to a ticket or opened offline. The report's JSON is embedded
 * (`<script type="application/json" id="evaluation-data">`) so a reader or a test can check the numbers.
 *
 * Charts: conversion rate by tier with 95 % Wilson intervals and the base rate; cumulative gains (share of
 * conversions captured by the top-scored share of the population) against random and the compared variant;
 * lift by score decile.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pct, times, type GainsPoint, type HealthStatus, type TierMetrics } from './evaluation-metrics.js';
import type { EvaluationReport } from './evaluation-report.js';
import { count, entities, scoreRange, tierRows } from './render-text.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const e = escapeHtml;
const COLORS = {
  model: '#2563eb',
  vs: '#d97706',
  random: '#9ca3af',
  base: '#dc2626',
  bar: '#93c5fd',
} as const;
const STATUS_LABEL: Record<HealthStatus, string> = { pass: 'Pass', warn: 'Check', fail: 'Fail' };

/** A number for SVG coordinates (two decimals are plenty). */
function n2(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}

/** A round axis maximum at or above `x` (1, 2, 2.5, 5 × 10^k). */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Conversion rate by tier: bars with Wilson whiskers and a dashed base-rate line. */
export function tierChart(tiers: readonly TierMetrics[], baseRate: number): string {
  const w = 400;
  const h = 250;
  const m = { top: 20, right: 16, bottom: 48, left: 52 };
  const iw = w - m.left - m.right;
  const ih = h - m.top - m.bottom;
  const max = niceMax(Math.max(baseRate, ...tiers.map((t) => t.wilson.high)));
  const y = (v: number) => m.top + ih - (v / max) * ih;
  const band = iw / Math.max(1, tiers.length);
  const bw = Math.min(90, band * 0.55);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(
      `<line x1="${m.left}" x2="${w - m.right}" y1="${n2(y(t))}" y2="${n2(y(t))}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${n2(y(t) + 4)}" text-anchor="end" class="tick">${pct(t, max < 0.05 ? 1 : 0)}</text>`,
    );
  }
  tiers.forEach((t, i) => {
    const cx = m.left + band * i + band / 2;
    const top = y(t.rate);
    parts.push(
      `<rect data-tier="${e(t.tier)}" x="${n2(cx - bw / 2)}" y="${n2(top)}" width="${n2(bw)}" height="${n2(m.top + ih - top)}" rx="3" fill="${i === 0 ? COLORS.model : COLORS.bar}"><title>${e(t.tier)}: ${pct(t.rate)} (${count(t.converted)} of ${count(t.n)}), 95% interval ${pct(t.wilson.low)}-${pct(t.wilson.high)}</title></rect>`,
      `<line x1="${n2(cx)}" x2="${n2(cx)}" y1="${n2(y(t.wilson.low))}" y2="${n2(y(t.wilson.high))}" class="whisker"/>`,
      `<line x1="${n2(cx - 8)}" x2="${n2(cx + 8)}" y1="${n2(y(t.wilson.high))}" y2="${n2(y(t.wilson.high))}" class="whisker"/>`,
      `<line x1="${n2(cx - 8)}" x2="${n2(cx + 8)}" y1="${n2(y(t.wilson.low))}" y2="${n2(y(t.wilson.low))}" class="whisker"/>`,
      `<text x="${n2(cx)}" y="${h - m.bottom + 18}" text-anchor="middle" class="label">${e(t.tier)}</text>`,
      `<text x="${n2(cx)}" y="${h - m.bottom + 34}" text-anchor="middle" class="sub">${pct(t.rate)} · ${times(t.lift)}</text>`,
    );
  });
  parts.push(
    `<line x1="${m.left}" x2="${w - m.right}" y1="${n2(y(baseRate))}" y2="${n2(y(baseRate))}" stroke="${COLORS.base}" stroke-dasharray="5 4" stroke-width="1.5"/>`,
    `<text x="${w - m.right}" y="${n2(y(baseRate) - 5)}" text-anchor="end" class="sub" fill="${COLORS.base}">base rate ${pct(baseRate)}</text>`,
  );
  return `<svg id="chart-tiers" role="img" aria-label="Conversion rate by tier" viewBox="0 0 ${w} ${h}" width="100%">${parts.join('')}</svg>`;
}

interface GainsSeries {
  name: string;
  color: string;
  points: readonly GainsPoint[];
}

/** Cumulative gains: % of conversions captured by the top x % of the population, with the random diagonal. */
export function gainsChart(series: readonly GainsSeries[]): string {
  const w = 520;
  const h = 300;
  const m = { top: 16, right: 16, bottom: 44, left: 52 };
  const iw = w - m.left - m.right;
  const ih = h - m.top - m.bottom;
  const x = (v: number) => m.left + v * iw;
  const y = (v: number) => m.top + ih - v * ih;
  const parts: string[] = [];
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    parts.push(
      `<line x1="${m.left}" x2="${w - m.right}" y1="${n2(y(t))}" y2="${n2(y(t))}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${n2(y(t) + 4)}" text-anchor="end" class="tick">${pct(t, 0)}</text>`,
      `<text x="${n2(x(t))}" y="${h - m.bottom + 16}" text-anchor="middle" class="tick">${pct(t, 0)}</text>`,
    );
  }
  parts.push(
    `<text x="${n2(m.left + iw / 2)}" y="${h - 6}" text-anchor="middle" class="sub">share of the population, highest scores first</text>`,
    `<text transform="translate(14 ${n2(m.top + ih / 2)}) rotate(-90)" text-anchor="middle" class="sub">share of conversions captured</text>`,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="${COLORS.random}" stroke-dasharray="5 4" stroke-width="1.5" data-series="random"/>`,
  );
  const legend: string[] = [];
  // The first series (the model) is drawn last, so it stays visible where a compared variant overlaps it.
  [...series].reverse().forEach((s, r) => {
    const pts = [{ populationShare: 0, capturedShare: 0 }, ...s.points];
    const d = pts
      .map((p, j) => `${j === 0 ? 'M' : 'L'}${n2(x(p.populationShare))} ${n2(y(p.capturedShare))}`)
      .join(' ');
    const dash = r === series.length - 1 ? '' : ' stroke-dasharray="7 4"';
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${dash} data-series="${e(s.name)}"/>`,
    );
    for (const p of s.points) {
      parts.push(
        `<circle cx="${n2(x(p.populationShare))}" cy="${n2(y(p.capturedShare))}" r="3.5" fill="${s.color}"><title>${e(s.name)}: top ${pct(p.populationShare, 0)} captures ${pct(p.capturedShare)} of conversions</title></circle>`,
      );
    }
  });
  series.forEach((s, i) => {
    legend.push(
      `<rect x="${m.left + 12}" y="${m.top + 8 + i * 18}" width="14" height="4" fill="${s.color}"/><text x="${m.left + 32}" y="${m.top + 13 + i * 18}" class="sub">${e(s.name)}</text>`,
    );
  });
  legend.push(
    `<rect x="${m.left + 12}" y="${m.top + 8 + series.length * 18}" width="14" height="4" fill="${COLORS.random}"/><text x="${m.left + 32}" y="${m.top + 13 + series.length * 18}" class="sub">random</text>`,
  );
  return `<svg id="chart-gains" role="img" aria-label="Cumulative gains" viewBox="0 0 ${w} ${h}" width="100%">${parts.join('')}${legend.join('')}</svg>`;
}

/** Lift of each score decile (its own conversion rate / base rate), with the 1.0 line. */
export function decileChart(points: readonly GainsPoint[]): string {
  const w = 520;
  const h = 220;
  const m = { top: 16, right: 16, bottom: 40, left: 44 };
  const iw = w - m.left - m.right;
  const ih = h - m.top - m.bottom;
  const max = niceMax(Math.max(1, ...points.map((p) => p.lift)));
  const y = (v: number) => m.top + ih - (v / max) * ih;
  const band = iw / Math.max(1, points.length);
  const parts: string[] = [];
  for (const t of [0, 0.5, 1].map((f) => f * max)) {
    parts.push(
      `<line x1="${m.left}" x2="${w - m.right}" y1="${n2(y(t))}" y2="${n2(y(t))}" class="grid"/>`,
      `<text x="${m.left - 6}" y="${n2(y(t) + 4)}" text-anchor="end" class="tick">${times(t)}</text>`,
    );
  }
  for (const p of points) {
    const cx = m.left + band * (p.decile - 1) + band / 2;
    const top = y(p.lift);
    parts.push(
      `<rect data-decile="${p.decile}" x="${n2(cx - band * 0.35)}" y="${n2(top)}" width="${n2(band * 0.7)}" height="${n2(m.top + ih - top)}" rx="2" fill="${p.lift >= 1 ? COLORS.model : COLORS.bar}"><title>decile ${p.decile}: ${count(p.converted)} of ${count(p.n)} converted, lift ${times(p.lift)}</title></rect>`,
      `<text x="${n2(cx)}" y="${h - m.bottom + 16}" text-anchor="middle" class="tick">${p.decile}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${w - m.right}" y1="${n2(y(1))}" y2="${n2(y(1))}" stroke="${COLORS.base}" stroke-dasharray="5 4" stroke-width="1.5"/>`,
    `<text x="${n2(m.left + iw / 2)}" y="${h - 6}" text-anchor="middle" class="sub">score decile (1 = the top-scored tenth)</text>`,
  );
  return `<svg id="chart-deciles" role="img" aria-label="Lift by score decile" viewBox="0 0 ${w} ${h}" width="100%">${parts.join('')}</svg>`;
}

function table(id: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map((h, i) => `<th${i === 0 ? '' : ' class="num"'}>${e(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${i === 0 ? '' : ' class="num"'}>${e(c)}</td>`).join('')}</tr>`)
    .join('');
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function tierTable(id: string, tiers: readonly TierMetrics[]): string {
  return table(
    id,
    ['Tier', 'Entities', 'Share', 'Converted', 'Conversion rate', '95% interval', 'Lift', 'Recall'],
    tierRows(tiers),
  );
}

function card(metric: string, label: string, value: string, note: string): string {
  return `<div class="card" data-metric="${metric}"><div class="card-label">${e(label)}</div><div class="card-value">${e(value)}</div><div class="card-note">${e(note)}</div></div>`;
}

/** The headline sentence a reader takes away. */
function headline(r: EvaluationReport): string {
  const top = r.tiers[0];
  if (!top || r.converted === 0)
    return `No conversions in the ${r.horizonDays} days after ${r.asOf}: nothing to measure yet.`;
  return `${top.tier} ${r.entity}s converted at ${pct(top.rate)}, ${times(top.lift)} the average ${r.entity}; the ${count(
    r.threshold.flagged,
  )} flagged (${pct(r.threshold.flagRate)} of ${r.entity}s) held ${pct(r.threshold.recall)} of conversions.`;
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f3f4f6}
main{max-width:1120px;margin:0 auto;padding:28px 24px 48px}
header h1{margin:0;font-size:26px}header .meta{color:#4b5563;margin-top:4px}
.headline{font-size:17px;margin:14px 0 20px;padding:12px 16px;background:#eff6ff;border-left:4px solid #2563eb;border-radius:4px}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin-bottom:20px}
.card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.card-label{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card-value{font-size:26px;font-weight:650;margin:2px 0}.card-note{color:#6b7280;font-size:12px}
section{background:#fff;border-radius:8px;padding:16px 18px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
section h2{margin:0 0 4px;font-size:17px}section p.note{margin:0 0 12px;color:#6b7280;font-size:13px}
.two{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px;align-items:start}.two.tiers{grid-template-columns:minmax(0,1.5fr) minmax(0,1fr)}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:6px 7px;border-bottom:1px solid #e5e7eb;text-align:left;white-space:nowrap}th{font-size:12px;color:#6b7280;font-weight:600}
td.num,th.num{text-align:right}
ul.health{list-style:none;margin:0;padding:0}ul.health li{display:flex;gap:10px;padding:7px 0;border-bottom:1px solid #f3f4f6}
.badge{flex:none;width:52px;text-align:center;border-radius:10px;font-size:12px;font-weight:600;padding:1px 0;height:20px}
.pass{background:#dcfce7;color:#166534}.warn{background:#fef3c7;color:#92400e}.fail{background:#fee2e2;color:#991b1b}
.check{font-weight:600;min-width:130px}
svg .grid{stroke:#e5e7eb}svg .tick{font-size:11px;fill:#6b7280}svg .label{font-size:13px;font-weight:600;fill:#111827}
svg .sub{font-size:11px;fill:#4b5563}svg .whisker{stroke:#111827;stroke-width:1.5}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}dt{color:#6b7280}dd{margin:0;font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
footer{color:#6b7280;font-size:12px;text-align:center}
@media (max-width:800px){.cards{grid-template-columns:repeat(2,1fr)}.two{grid-template-columns:1fr}}
`;

/** The report as a complete HTML document. */
export function renderHtml(r: EvaluationReport): string {
  const top = r.tiers[0];
  const c = r.comparison;
  const health = r.health
    .map(
      (h) =>
        `<li data-check="${e(h.check)}" data-status="${h.status}"><span class="badge ${h.status}">${STATUS_LABEL[h.status]}</span><span class="check">${e(h.check.replace(/_/g, ' '))}</span><span>${e(h.detail)}</span></li>`,
    )
    .join('');
  const baselineRows = [
    { name: `model: ${r.flagRule}`, m: r.threshold },
    ...r.baselines.map((b) => ({ name: `${b.name}: ${b.description}`, m: b })),
  ].map(({ name, m }) => [
    name,
    count(m.flagged),
    pct(m.flagRate),
    pct(m.precision),
    pct(m.recall),
    times(m.lift),
  ]);
  const series: GainsSeries[] = [{ name: r.model, color: COLORS.model, points: r.gains }];
  if (c) series.push({ name: c.label, color: COLORS.vs, points: c.gains });
  const comparison = c
    ? `<section id="comparison"><h2>Side by side: ${e(r.model)} vs ${e(c.label)}</h2>
<p class="note">Same as-of date, horizon and conversions; version ${e(c.version)}. The gains chart above shows both.</p>
${table(
  'comparison-table',
  ['', r.model, c.label],
  [
    ['Population', count(r.population), count(c.population)],
    ['Flagged', count(r.threshold.flagged), count(c.threshold.flagged)],
    ['Flag rate', pct(r.threshold.flagRate), pct(c.threshold.flagRate)],
    ['Precision', pct(r.threshold.precision), pct(c.threshold.precision)],
    ['Recall', pct(r.threshold.recall), pct(c.threshold.recall)],
    ['Lift of flagged', times(r.threshold.lift), times(c.threshold.lift)],
    [
      'Top tier lift',
      top ? `${times(top.lift)} (${top.tier})` : '-',
      c.tiers[0] ? `${times(c.tiers[0].lift)} (${c.tiers[0].tier})` : '-',
    ],
    ['Top decile captures', pct(r.gains[0]?.capturedShare ?? 0), pct(c.gains[0]?.capturedShare ?? 0)],
  ],
)}
<h2 style="margin-top:14px">${e(c.label)}: tiers</h2>${tierTable('comparison-tiers', c.tiers)}</section>`
    : '';
  const params = Object.entries(r.params)
    .map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(JSON.stringify(v))}</dd>`)
    .join('');
  const json = JSON.stringify(r).replace(/</g, '\\u003c');
  const failing = r.health.filter((h) => h.status !== 'pass').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(r.model)} backtest as of ${e(r.asOf)}</title><style>${CSS}</style></head>
<body><main>
<header><h1>${e(r.model)}: backtest as of ${e(r.asOf)}</h1>
<div class="meta">Scored with data before ${e(r.asOf)}; a conversion counts when it happened in the next ${r.horizonDays} days (before ${e(r.horizonEnd)}). Version ${e(r.version)} · ${e(r.dialect)} · ${e(r.conversionsTable)}</div></header>
<p class="headline" id="headline">${e(headline(r))}</p>
<div class="cards">
${card('population', `${r.entity}s scored`, count(r.population), `${count(r.converted)} converted`)}
${card('base-rate', 'Base rate', pct(r.baseRate, 2), `random pick: lift 1.0x`)}
${card('top-lift', 'Top tier lift', top ? times(top.lift) : '-', top ? `${top.tier}: ${pct(top.rate)} converted` : '')}
${card('flag-rate', 'Flagged', pct(r.threshold.flagRate), `${count(r.threshold.flagged)} ${r.entity}s; target 15-35%`)}
${card('recall', 'Conversions captured', pct(r.threshold.recall), `precision ${pct(r.threshold.precision)}; target 60%+`)}
</div>
<section id="health"><h2>Health checks</h2><p class="note">${failing === 0 ? 'Every check passes.' : `${failing} of ${r.health.length} checks need a look.`} Targets from MadKudu's guidance: 15-35% flagged, 60%+ of conversions captured, top tier 10x the lowest.</p><ul class="health">${health}</ul></section>
<section id="tiers"><h2>Conversion by tier</h2><p class="note">Rate = converted / ${r.entity}s in the tier; lift = rate / base rate; recall = the tier's share of all conversions. Whiskers: 95% Wilson interval.</p>
<div class="two tiers"><div>${tierTable('tier-table', r.tiers)}</div><div>${tierChart(r.tiers, r.baseRate)}</div></div></section>
<section id="threshold"><h2>Flagged vs baselines</h2><p class="note">Flagged means ${e(r.flagRule)}. A baseline is a simple rule on the same ${r.entity}s: the model should beat it.</p>
${table('baseline-table', ['Rule', 'Flagged', 'Flag rate', 'Precision', 'Recall', 'Lift'], baselineRows)}</section>
<section id="gains"><h2>Gains by score decile</h2><p class="note">Sorted by ${e(r.columns.score ?? r.columns.tier)}, highest first. The further the curve rises above the diagonal, the more conversions the top of the list holds.</p>
<div class="two"><div>${gainsChart(series)}</div><div>${decileChart(r.gains)}
${table(
  'gains-table',
  ['Decile', 'Scores', 'Entities', 'Converted', 'Lift', 'Captured'],
  r.gains.map((g) => [
    String(g.decile),
    scoreRange(g.minScore, g.maxScore),
    count(g.n),
    count(g.converted),
    times(g.lift),
    pct(g.capturedShare),
  ]),
)}</div></div></section>
${comparison}
<section id="method"><h2>How this was measured</h2><p class="note">${e(r.model)} was compiled with its as-of date set to ${e(r.asOf)}, so it read only data before that day. ${e(
    r.conversionRule.charAt(0).toUpperCase() + r.conversionRule.slice(1),
  )}. Data reaches ${e(r.dataThrough)}.</p><dl>${params}</dl></section>
<footer>pqlsync evaluate · ${entities(r.population, r.entity)} · generated ${e(r.generatedAt)}</footer>
</main><script type="application/json" id="evaluation-data">${json}</script></body></html>
`;
}

/** Writes `file` (folders created) with the report's HTML and returns its absolute path. */
export function writeHtmlReport(report: EvaluationReport, file: string): string {
  const abs = path.resolve(file);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, renderHtml(report));
  return abs;
}
