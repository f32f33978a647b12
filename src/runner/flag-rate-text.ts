/**
 * The flag-rate report's shape and wording (flag-rate.ts measures it; the CLI prints it without loading the
 * warehouse code).
 */

export interface TierShare {
  tier: string;
  n: number;
  /** n / rows, 0..1. */
  share: number;
}

/** What the run reports (summary `flagRate`, the runs table, the human output). */
export interface FlagRateReport {
  /** Model rows counted. */
  rows: number;
  /** Rows in each tier, highest first (the model's order), then rows without one. */
  tiers: TierShare[];
  /** Rows flagged (in a task tier, or the model's flag column true). */
  flagged: number;
  /** flagged / rows, 0..1 (0 for an empty model). */
  rate: number;
  /** How flagged was decided, e.g. `tier in (hot, pql)` or `is_pql is true`. */
  rule: string;
  max: number;
  exceeded: boolean;
}

/** `0.1234` → `12.3%`. */
export const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** One line for the run output and the log: `flag rate 10.9% (74 of 677: hot 2.2%, pql 8.7%, nurture 89.1%)`. */
export function describeFlagRate(sync: string, r: FlagRateReport): string {
  const shares = r.tiers.map((t) => `${t.tier} ${percent(t.share)}`).join(', ');
  const head = `${sync}: flag rate ${percent(r.rate)} (${r.flagged} of ${r.rows} rows, ${r.rule}${shares ? `; ${shares}` : ''})`;
  return r.exceeded
    ? `${head}, above max_flag_rate ${percent(r.max)}: check the model before reps get these tasks`
    : head;
}
