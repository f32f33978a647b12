/**
 * The evaluation report: what `pqlsync evaluate` prints with `--json`, renders as a table and as HTML.
 * DESIGN.md "Evaluate contract" fixes `model, asOf, horizonDays, population, baseRate, tiers[{tier, n,
 * converted, rate, lift, recall}], threshold{precision, recall, flagRate, lift}, health[{check, status,
 * detail}]`; everything else here is added on top and may grow.
 */
import type { ModelEntity } from '../model/model-file.js';
import type { GainsPoint, HealthCheck, ThresholdMetrics, TierMetrics } from './evaluation-metrics.js';

/** One model (or parameter set) scored and labelled as of the backtest date. */
export interface ScoredVariant {
  /** How the report names it: `pql_users`, or `pql_users {"hot_threshold": 80}` for a second parameter set. */
  label: string;
  model: string;
  /** The model file's version (sha256 of its contents, first 12 hex). */
  version: string;
  /** Every declared param's resolved value, as the model was compiled (the as-of param included). */
  params: Record<string, unknown>;
  population: number;
  converted: number;
  baseRate: number;
  tiers: TierMetrics[];
  threshold: ThresholdMetrics;
  /** Cumulative gains by score decile (decile 1 = the top tenth). */
  gains: GainsPoint[];
  /** The model columns read: tier, score and flag (null when the model has none). */
  columns: { tier: string; score: string | null; flag: string | null };
  /** How "flagged" is decided: `is_pql = true`, or `pql_tier in (hot, pql)`. */
  flagRule: string;
}

/** A simple rule scored over the same population, to show what the model adds. */
export interface Baseline extends ThresholdMetrics {
  name: string;
  description: string;
}

export interface EvaluationReport {
  model: string;
  asOf: string;
  horizonDays: number;
  population: number;
  baseRate: number;
  tiers: TierMetrics[];
  threshold: ThresholdMetrics;
  health: HealthCheck[];

  version: string;
  entity: ModelEntity;
  key: string;
  dialect: string;
  params: Record<string, unknown>;
  converted: number;
  /** The first day after the horizon (conversions in `[asOf, horizonEnd)` count). */
  horizonEnd: string;
  /** The day after the newest row of the conversions (and activity) tables. */
  dataThrough: string;
  conversionsTable: string;
  /** How an entity is matched to a conversion, in words. */
  conversionRule: string;
  columns: ScoredVariant['columns'];
  flagRule: string;
  gains: GainsPoint[];
  baselines: Baseline[];
  /** The second parameter set or model, side by side (`--vs-vars`, `--vs-model`). */
  comparison?: ScoredVariant;
  generatedAt: string;
}
