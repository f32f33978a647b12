/**
 * The arithmetic of a backtest, on counts that came out of the warehouse: per-tier rates and lift, Wilson
 * intervals, threshold metrics, the gains curve and the health checks. Pure functions, so the numbers can be
 * checked by hand on small tables.
 *
 * Glossary:
 * - population: the entities the model scored as of the backtest date (its rows).
 * - converted: entities whose conversion happened in `[asOf, asOf + horizon)`.
 * - base rate: converted / population. Lift: a group's conversion rate / the base rate (random = 1.0).
 * - recall: the share of all conversions that fell in a group. Flag rate: the share of the population flagged.
 * - flagged: the rows the model qualifies (its `is_pql` column, else every tier above the lowest).
 * - Wilson interval: a 95 % confidence interval for a rate that stays sane for small n and rates near 0.
 *
 * Thresholds of the health checks follow MadKudu's targets (reference/pql-practice.md §5): 15-35 % flagged,
 * >= 60 % of conversions captured, top tier >= 10x the lowest; small-sample warnings below 100 entities or 20
 * conversions per tier and below Einstein's bar (1,000 entities, 120 conversions) overall.
 */

/** The counts of one tier (or any group) as read from the warehouse. */
export interface GroupCounts {
  n: number;
  converted: number;
}

export interface TierCounts extends GroupCounts {
  tier: string;
  /** Mean score in the tier (orders the tiers), when the model has a score. */
  meanScore?: number | null;
  /** Rows of the tier that the flag column marks, when the model has one. */
  flagged?: number;
}

export interface RateInterval {
  low: number;
  high: number;
}

export interface TierMetrics {
  tier: string;
  n: number;
  /** Share of the population in this tier. */
  share: number;
  converted: number;
  rate: number;
  lift: number;
  recall: number;
  wilson: RateInterval;
  meanScore: number | null;
}

export interface ThresholdMetrics {
  /** Entities flagged. */
  flagged: number;
  /** Flagged entities that converted. */
  converted: number;
  precision: number;
  recall: number;
  flagRate: number;
  lift: number;
}

export interface GainsPoint {
  /** 1 = the top-scored tenth. */
  decile: number;
  n: number;
  converted: number;
  /** Share of the population in deciles 1..this one. */
  populationShare: number;
  /** Share of all conversions in deciles 1..this one. */
  capturedShare: number;
  /** This decile's own conversion rate / base rate. */
  lift: number;
  minScore: number | null;
  maxScore: number | null;
}

export const HEALTH_STATUSES = ['pass', 'warn', 'fail'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface HealthCheck {
  check: string;
  status: HealthStatus;
  detail: string;
}

/** z for a two-sided 95 % interval. */
const Z95 = 1.959963984540054;

/** Wilson score interval for `converted` of `n` (0..1). n = 0 gives the uninformative [0, 1]. */
export function wilsonInterval(converted: number, n: number, z = Z95): RateInterval {
  if (n <= 0) return { low: 0, high: 1 };
  const p = converted / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At 0 of n and n of n one end is exactly 0 or 1; rounding must not move it.
  return {
    low: converted <= 0 ? 0 : Math.max(0, centre - half),
    high: converted >= n ? 1 : Math.min(1, centre + half),
  };
}

/** a / b, or 0 when b is 0 (an empty group has no rate, and reports show 0 rather than NaN). */
export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

export interface Totals {
  population: number;
  converted: number;
  baseRate: number;
}

export function totalsOf(groups: readonly GroupCounts[]): Totals {
  const population = groups.reduce((s, g) => s + g.n, 0);
  const converted = groups.reduce((s, g) => s + g.converted, 0);
  return { population, converted, baseRate: ratio(converted, population) };
}

/** Per-tier metrics, in the order given (best tier first). */
export function tierMetrics(tiers: readonly TierCounts[]): TierMetrics[] {
  const t = totalsOf(tiers);
  return tiers.map((g) => {
    const rate = ratio(g.converted, g.n);
    return {
      tier: g.tier,
      n: g.n,
      share: ratio(g.n, t.population),
      converted: g.converted,
      rate,
      lift: ratio(rate, t.baseRate),
      recall: ratio(g.converted, t.converted),
      wilson: wilsonInterval(g.converted, g.n),
      meanScore: g.meanScore ?? null,
    };
  });
}

/**
 * Orders tiers best first: by mean score when the model has one, else by the share flagged, then by name.
 * Tiers without a score sort last.
 */
export function orderTiers<T extends TierCounts>(tiers: readonly T[]): T[] {
  return [...tiers].sort((a, b) => {
    const sa = a.meanScore ?? Number.NEGATIVE_INFINITY;
    const sb = b.meanScore ?? Number.NEGATIVE_INFINITY;
    if (sa !== sb) return sb - sa;
    const fa = ratio(a.flagged ?? 0, a.n);
    const fb = ratio(b.flagged ?? 0, b.n);
    if (fa !== fb) return fb - fa;
    return a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : 0;
  });
}

/** Precision, recall, flag rate and lift of one flagged group against the whole population. */
export function thresholdMetrics(flagged: GroupCounts, totals: Totals): ThresholdMetrics {
  const precision = ratio(flagged.converted, flagged.n);
  return {
    flagged: flagged.n,
    converted: flagged.converted,
    precision,
    recall: ratio(flagged.converted, totals.converted),
    flagRate: ratio(flagged.n, totals.population),
    lift: ratio(precision, totals.baseRate),
  };
}

/** The cumulative gains curve from per-decile counts (decile 1 = highest scores). */
export function gainsCurve(
  deciles: readonly (GroupCounts & { decile: number; minScore?: number | null; maxScore?: number | null })[],
  totals: Totals,
): GainsPoint[] {
  const sorted = [...deciles].sort((a, b) => a.decile - b.decile);
  let n = 0;
  let converted = 0;
  return sorted.map((d) => {
    n += d.n;
    converted += d.converted;
    return {
      decile: d.decile,
      n: d.n,
      converted: d.converted,
      populationShare: ratio(n, totals.population),
      capturedShare: ratio(converted, totals.converted),
      lift: ratio(ratio(d.converted, d.n), totals.baseRate),
      minScore: d.minScore ?? null,
      maxScore: d.maxScore ?? null,
    };
  });
}

/** `0.1234` → `12.3%`. */
export function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

/** `5.04` → `5.0x`. */
export function times(x: number): string {
  return `${x.toFixed(1)}x`;
}

export interface HealthInput {
  tiers: readonly TierMetrics[];
  threshold: ThresholdMetrics;
  totals: Totals;
  /** True when the data reaches the end of the horizon (no conversions can be missing for lack of data). */
  horizonComplete: boolean;
  /** The date the data reaches (the day after the newest row), for the horizon check's message. */
  dataThrough: string;
  horizonEnd: string;
  /** The largest share of the top tier held by one account, for user models with an account column. */
  topTierConcentration?: { account: string; rows: number; share: number };
}

/** Minimum n and conversions per tier before its rate is worth reading without its interval. */
export const SMALL_TIER_N = 100;
export const SMALL_TIER_CONVERSIONS = 20;
/** Einstein Lead Scoring's data bar: 1,000 leads with 120 conversions. */
export const MIN_POPULATION = 1000;
export const MIN_CONVERSIONS = 120;

const interval = (t: TierMetrics) => `${pct(t.wilson.low)}-${pct(t.wilson.high)}`;

/** The health checks of §5 of the practice notes, in a fixed order. */
export function healthChecks(input: HealthInput): HealthCheck[] {
  const { tiers, threshold, totals } = input;
  const checks: HealthCheck[] = [];

  const fr = threshold.flagRate;
  const frText = `${pct(fr)} of the population is flagged (${threshold.flagged} of ${totals.population})`;
  checks.push(
    fr > 0.4
      ? {
          check: 'flag_rate',
          status: 'fail',
          detail: `${frText}; above 40% the definition is too loose: raise the thresholds (target 15-35%)`,
        }
      : fr > 0.35
        ? {
            check: 'flag_rate',
            status: 'warn',
            detail: `${frText}; above the 15-35% target, close to too loose`,
          }
        : fr >= 0.15
          ? { check: 'flag_rate', status: 'pass', detail: `${frText}; within the 15-35% target` }
          : fr >= 0.02
            ? {
                check: 'flag_rate',
                status: 'warn',
                detail: `${frText}; below the 15-35% target: fine when reps have little capacity, else lower the thresholds`,
              }
            : {
                check: 'flag_rate',
                status: 'fail',
                detail: `${frText}; below 2% the definition is too tight: lower the thresholds (target 15-35%)`,
              },
  );

  const rc = threshold.recall;
  const rcText = `flagged entities hold ${pct(rc)} of conversions (${threshold.converted} of ${totals.converted})`;
  checks.push(
    totals.converted === 0
      ? { check: 'recall', status: 'warn', detail: 'no conversions in the horizon, so recall is unknown' }
      : rc >= 0.6
        ? { check: 'recall', status: 'pass', detail: `${rcText}; target at least 60%` }
        : rc >= 0.3
          ? { check: 'recall', status: 'warn', detail: `${rcText}; below the 60% target` }
          : {
              check: 'recall',
              status: 'fail',
              detail: `${rcText}; below 30% the model misses most buyers: look at what converters did`,
            },
  );

  const top = tiers[0];
  const low = tiers[tiers.length - 1];
  if (top && low && top !== low) {
    const sep = `top tier ${top.tier} converts at ${pct(top.rate)}, lowest tier ${low.tier} at ${pct(low.rate)}`;
    checks.push(
      low.rate === 0
        ? top.rate > 0
          ? { check: 'tier_separation', status: 'pass', detail: `${sep}; no conversions in the lowest tier` }
          : { check: 'tier_separation', status: 'fail', detail: `${sep}; neither tier converted` }
        : top.rate / low.rate >= 10
          ? {
              check: 'tier_separation',
              status: 'pass',
              detail: `${sep} (${times(top.rate / low.rate)}); target at least 10x`,
            }
          : top.rate > low.rate
            ? {
                check: 'tier_separation',
                status: 'warn',
                detail: `${sep} (${times(top.rate / low.rate)}); below the 10x target`,
              }
            : {
                check: 'tier_separation',
                status: 'fail',
                detail: `${sep}; the top tier does not convert better than the lowest`,
              },
    );
    const inversions = tiers.slice(1).filter((t, i) => t.rate > (tiers[i]?.rate ?? 0));
    checks.push(
      inversions.length === 0
        ? {
            check: 'rank_order',
            status: 'pass',
            detail: 'each tier converts at least as often as the next one down',
          }
        : {
            check: 'rank_order',
            status: 'warn',
            detail: `${inversions.map((t) => `${t.tier} (${pct(t.rate)})`).join(', ')} converts more often than the tier above it`,
          },
    );
  } else {
    checks.push({
      check: 'tier_separation',
      status: 'warn',
      detail: `the model put everyone in one tier${top ? ` (${top.tier})` : ''}; nothing to compare`,
    });
  }

  const small = tiers.filter((t) => t.n < SMALL_TIER_N || t.converted < SMALL_TIER_CONVERSIONS);
  checks.push(
    small.length === 0
      ? {
          check: 'tier_sample',
          status: 'pass',
          detail: `every tier has at least ${SMALL_TIER_N} entities and ${SMALL_TIER_CONVERSIONS} conversions`,
        }
      : {
          check: 'tier_sample',
          status: 'warn',
          detail: `small samples, read the rates with their 95% intervals: ${small
            .map((t) => `${t.tier} ${t.converted}/${t.n} converted (${interval(t)})`)
            .join('; ')}`,
        },
  );

  const bar = `${totals.population} entities with ${totals.converted} conversions`;
  checks.push(
    totals.population >= MIN_POPULATION && totals.converted >= MIN_CONVERSIONS
      ? {
          check: 'data_volume',
          status: 'pass',
          detail: `${bar}; at least ${MIN_POPULATION} entities and ${MIN_CONVERSIONS} conversions`,
        }
      : {
          check: 'data_volume',
          status: 'warn',
          detail: `${bar}; with fewer than ${MIN_POPULATION} entities or ${MIN_CONVERSIONS} conversions the lifts are noisy: use a longer horizon or compare several as-of dates`,
        },
  );

  checks.push(
    input.horizonComplete
      ? {
          check: 'horizon_complete',
          status: 'pass',
          detail: `the horizon ends ${input.horizonEnd} and the data reaches ${input.dataThrough}`,
        }
      : {
          check: 'horizon_complete',
          status: 'warn',
          detail: `the horizon ends ${input.horizonEnd} but the data stops at ${input.dataThrough}: later conversions are missing, so rates are understated; use an earlier --as-of`,
        },
  );

  const c = input.topTierConcentration;
  if (c && top) {
    checks.push(
      c.share > 0.3
        ? {
            check: 'concentration',
            status: 'warn',
            detail: `${pct(c.share)} of the ${top.tier} tier (${c.rows} of ${top.n}) belongs to one account, ${c.account}: its outcome decides the tier's rate`,
          }
        : {
            check: 'concentration',
            status: 'pass',
            detail: `no account holds more than 30% of the ${top.tier} tier (largest: ${pct(c.share)})`,
          },
    );
  }
  return checks;
}
