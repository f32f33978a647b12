/**
 * The evaluation report as terminal text: header, tier table, threshold line, gains by decile, baselines, the
 * side-by-side comparison and the health checks. Printed by `pqlsync evaluate` without `--json`.
 */
import { formatTable } from '../cli/cli-context.js';
import { pct, times, type ThresholdMetrics, type TierMetrics } from './evaluation-metrics.js';
import type { EvaluationReport } from './evaluation-report.js';

/** `1234` → `1,234`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** How many entities of the report's kind: `1,136 users`. */
export function entities(n: number, entity: string): string {
  return `${count(n)} ${entity}${n === 1 ? '' : 's'}`;
}

/** `62-89`, one value when both ends agree, `-` without a score. */
export function scoreRange(min: number | null, max: number | null): string {
  if (min === null || max === null) return '-';
  const lo = Number(min.toFixed(2));
  const hi = Number(max.toFixed(2));
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

/** One row of cells per tier, the same in the text and HTML reports. */
export function tierRows(tiers: readonly TierMetrics[]): string[][] {
  return tiers.map((t) => [
    t.tier,
    count(t.n),
    pct(t.share),
    count(t.converted),
    pct(t.rate),
    `${pct(t.wilson.low)}-${pct(t.wilson.high)}`,
    times(t.lift),
    pct(t.recall),
  ]);
}

const TIER_HEADER = ['tier', 'n', 'share', 'converted', 'rate', '95% interval', 'lift', 'recall'];

function thresholdLine(flagRule: string, th: ThresholdMetrics): string {
  return `flagged (${flagRule}): ${count(th.flagged)} (${pct(th.flagRate)})  precision ${pct(th.precision)}  recall ${pct(
    th.recall,
  )}  lift ${times(th.lift)}`;
}

/** The whole report as text, lines ending in `\n`. */
export function renderText(r: EvaluationReport): string {
  const out: string[] = [];
  out.push(
    `${r.model} (version ${r.version}) as of ${r.asOf}; conversions within ${r.horizonDays} days (before ${r.horizonEnd})`,
  );
  out.push(
    `${entities(r.population, r.entity)} scored, ${count(r.converted)} converted: base rate ${pct(r.baseRate, 2)}  (${r.conversionsTable})`,
  );
  out.push('', formatTable(TIER_HEADER, tierRows(r.tiers)), '');
  out.push(thresholdLine(r.flagRule, r.threshold));

  out.push('', `gains by ${r.columns.score ? `${r.columns.score} ` : 'tier '}decile`);
  out.push(
    formatTable(
      ['decile', 'scores', 'n', 'converted', 'lift', 'captured so far'],
      r.gains.map((g) => [
        String(g.decile),
        scoreRange(g.minScore, g.maxScore),
        count(g.n),
        count(g.converted),
        times(g.lift),
        `${pct(g.capturedShare)} of conversions in the top ${pct(g.populationShare, 0)}`,
      ]),
    ),
  );

  out.push('', 'baselines');
  out.push(
    formatTable(
      ['rule', 'flagged', 'flag rate', 'precision', 'recall', 'lift'],
      [[`model (${r.flagRule})`, r.threshold] as const, ...r.baselines.map((b) => [b.name, b] as const)].map(
        ([name, m]) => [
          name,
          count(m.flagged),
          pct(m.flagRate),
          pct(m.precision),
          pct(m.recall),
          times(m.lift),
        ],
      ),
    ),
  );

  const c = r.comparison;
  if (c) {
    out.push('', `side by side: ${r.model} vs ${c.label} (version ${c.version})`);
    out.push(
      formatTable(
        ['', r.model, c.label],
        [
          ['population', count(r.population), count(c.population)],
          ['flagged', count(r.threshold.flagged), count(c.threshold.flagged)],
          ['flag rate', pct(r.threshold.flagRate), pct(c.threshold.flagRate)],
          ['precision', pct(r.threshold.precision), pct(c.threshold.precision)],
          ['recall', pct(r.threshold.recall), pct(c.threshold.recall)],
          ['lift', times(r.threshold.lift), times(c.threshold.lift)],
          ['top tier lift', topLift(r.tiers), topLift(c.tiers)],
          ['top decile captures', pct(r.gains[0]?.capturedShare ?? 0), pct(c.gains[0]?.capturedShare ?? 0)],
        ],
      ),
    );
    out.push('', `${c.label} tiers`, formatTable(TIER_HEADER, tierRows(c.tiers)));
  }

  out.push('', 'health');
  for (const h of r.health) out.push(`  ${h.status.toUpperCase().padEnd(4)}  ${h.check}: ${h.detail}`);
  return out.join('\n') + '\n';
}

function topLift(tiers: readonly TierMetrics[]): string {
  const top = tiers[0];
  return top ? `${times(top.lift)} (${top.tier})` : '-';
}
