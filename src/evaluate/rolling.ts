/**
 * `evaluate --rolling`: the same backtest over a series of as-of dates (the latest first, each `stepDays` before
 * the next), so a lift is judged by its median and range rather than by one date. One lift from one date can be
 * luck; the practice (reference/pql-practice.md §5) asks for out-of-time validation over about three months, and
 * a lift that holds across them is robust.
 */
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { pct, times } from './evaluation-metrics.js';
import { addDays, evaluateModel, type EvaluateOptions } from './evaluate-model.js';
import type { EvaluationReport } from './evaluation-report.js';
import { formatTable } from '../cli/cli-context.js';
import { ROLLING_DEFAULTS } from './rolling-defaults.js';

export { ROLLING_DEFAULTS };

/** One as-of date of the series. */
export interface RollingPoint {
  asOf: string;
  population: number;
  converted: number;
  baseRate: number;
  flagRate: number;
  /** Each tier's n, conversions and lift on this date. */
  tiers: { tier: string; n: number; converted: number; lift: number }[];
}

/** A tier's lift across the dates. */
export interface RollingTier {
  tier: string;
  /** Dates on which the tier had rows. */
  dates: number;
  median: number;
  min: number;
  max: number;
}

export interface RollingReport {
  model: string;
  version: string;
  horizonDays: number;
  stepDays: number;
  /** The as-of dates, oldest first. */
  asOfDates: string[];
  points: RollingPoint[];
  tiers: RollingTier[];
  flagRate: { median: number; min: number; max: number };
  generatedAt: string;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const spread = (xs: readonly number[]) => ({
  median: median(xs),
  min: Math.min(...xs),
  max: Math.max(...xs),
});

/**
 * Backtests `options` as of `dates` dates, `stepDays` apart, ending at `options.asOf` (default: the latest date
 * whose horizon is in the data). Each date is one evaluateModel call.
 */
export async function evaluateRolling(
  options: EvaluateOptions,
  series: { dates?: number; stepDays?: number } = {},
): Promise<RollingReport> {
  const dates = series.dates ?? ROLLING_DEFAULTS.dates;
  const stepDays = series.stepDays ?? ROLLING_DEFAULTS.stepDays;
  if (!Number.isInteger(dates) || dates < 2 || dates > 60) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `--rolling must be a whole number of as-of dates from 2 to 60, got '${String(dates)}'`,
      { hint: 'e.g. --rolling 6: six as-of dates, --step days apart' },
    );
  }
  if (!Number.isInteger(stepDays) || stepDays < 1 || stepDays > 365) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `--step must be a whole number of days from 1 to 365, got '${String(stepDays)}'`,
    );
  }
  // The latest date settles the default as-of date (from the data); the others step back from it.
  const reports: EvaluationReport[] = [await evaluateModel(options)];
  const latest = reports[0]!.asOf;
  for (let i = 1; i < dates; i++) {
    reports.push(await evaluateModel({ ...options, asOf: addDays(latest, -i * stepDays) }));
  }
  reports.reverse();
  const points: RollingPoint[] = reports.map((r) => ({
    asOf: r.asOf,
    population: r.population,
    converted: r.converted,
    baseRate: r.baseRate,
    flagRate: r.threshold.flagRate,
    tiers: r.tiers.map((t) => ({ tier: t.tier, n: t.n, converted: t.converted, lift: t.lift })),
  }));
  // Tiers in the order the latest date ranks them, then any seen only earlier.
  const names = [
    ...new Set([...reports.at(-1)!.tiers, ...reports.flatMap((r) => r.tiers)].map((t) => t.tier)),
  ];
  const tiers: RollingTier[] = names.map((tier) => {
    const lifts = points.flatMap((p) => p.tiers.filter((t) => t.tier === tier && t.n > 0).map((t) => t.lift));
    return { tier, dates: lifts.length, ...spread(lifts) };
  });
  return {
    model: reports[0]!.model,
    version: reports[0]!.version.split('+')[0]!,
    horizonDays: options.horizonDays,
    stepDays,
    asOfDates: points.map((p) => p.asOf),
    points,
    tiers,
    flagRate: spread(points.map((p) => p.flagRate)),
    generatedAt: (options.now ?? (() => new Date()))().toISOString(),
  };
}

/** The rolling report as terminal text: each tier's median lift and range, then the lift on each date. */
export function renderRollingText(r: RollingReport): string {
  const lines: string[] = [];
  lines.push(
    `${r.model} (version ${r.version}) over ${r.asOfDates.length} as-of dates, ${r.stepDays} days apart: ` +
      `${r.asOfDates[0]} to ${r.asOfDates.at(-1)}; conversions within ${r.horizonDays} days of each`,
  );
  lines.push('');
  lines.push(
    formatTable(
      ['tier', 'median lift', 'range', 'dates'],
      r.tiers.map((t) => [t.tier, times(t.median), `${times(t.min)}-${times(t.max)}`, String(t.dates)]),
    ),
  );
  lines.push('');
  lines.push(
    `flag rate: median ${pct(r.flagRate.median)}, range ${pct(r.flagRate.min)}-${pct(r.flagRate.max)}`,
  );
  lines.push('');
  const tierNames = r.tiers.map((t) => t.tier);
  lines.push(
    formatTable(
      ['as of', 'scored', 'converted', 'base rate', 'flag rate', ...tierNames.map((t) => `${t} lift`)],
      r.points.map((p) => [
        p.asOf,
        p.population.toLocaleString('en-US'),
        p.converted.toLocaleString('en-US'),
        pct(p.baseRate),
        pct(p.flagRate),
        ...tierNames.map((name) => {
          const t = p.tiers.find((x) => x.tier === name);
          return t && t.n > 0 ? times(t.lift) : '-';
        }),
      ]),
    ),
  );
  return lines.join('\n') + '\n';
}
