/**
 * Tiers and transitions. A row's tier comes from the model's tier column, or from the score bands (highest
 * first: the first tier whose `min_score` the score reaches; the lowest tier takes the rest). A transition
 * creates a task when the row enters a task tier from a lower tier or from no tier; moving down never does,
 * and a row that stays in its tier never does again (so reruns are quiet).
 */
import type { RoutingConfig } from '../config/config-schema.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { Row } from '../warehouse/warehouse-adapter.js';

/**
 * The routing with every `min_score` that names a model param replaced by that param's value for this run (`values`:
 * the compiled model's resolved params), so `--vars '{"hot_threshold": 41}'` moves the task tier with the model's
 * own tier. Throws CONFIG_INVALID when a name is not a declared param, its value is not a number, or the bands are
 * no longer highest first.
 */
export function modelScoreBands(
  routing: RoutingConfig,
  values: Record<string, unknown>,
  sync: string,
  model: string,
): RoutingConfig {
  if (routing.tiers.every((t) => typeof t.min_score !== 'string')) return routing;
  const tiers = routing.tiers.map((t, i) => {
    if (typeof t.min_score !== 'string') return t;
    const value = Object.hasOwn(values, t.min_score) ? values[t.min_score] : undefined;
    if (typeof value !== 'number') {
      const what =
        value === undefined
          ? `which model ${model} does not declare (params: ${Object.keys(values).join(', ') || 'none'})`
          : `whose value ${JSON.stringify(value)} is not a number`;
      throw new PqlsyncError(
        'CONFIG_INVALID',
        `tier '${t.name}' takes min_score from param ${t.min_score}, ${what}`,
        {
          location: { sync, path: `syncs.${sync}.routing.tiers.${i}.min_score` },
        },
      );
    }
    return { ...t, min_score: value };
  });
  tiers.forEach((t, i) => {
    const next = tiers[i + 1];
    if (
      typeof t.min_score === 'number' &&
      typeof next?.min_score === 'number' &&
      next.min_score >= t.min_score
    ) {
      throw new PqlsyncError(
        'CONFIG_INVALID',
        `tiers go from highest to lowest: '${next.name}' (${next.min_score}) must be below '${t.name}' (${t.min_score}) with this run's params`,
        { location: { sync, path: `syncs.${sync}.routing.tiers.${i + 1}.min_score` } },
      );
    }
  });
  return { ...routing, tiers };
}

/** The row's tier, or null when the score (or tier column) is null. Throws when the column is missing. */
export function tierOfRow(row: Row, routing: RoutingConfig, sync: string): string | null {
  if (routing.tier_column) {
    const v = columnValue(row, routing.tier_column, 'tier_column', sync);
    return v === null || v === undefined || v === '' ? null : String(v);
  }
  const raw = columnValue(row, routing.score_column, 'score_column', sync);
  if (raw === null || raw === undefined || raw === '') return null;
  const score = Number(raw);
  if (!Number.isFinite(score)) {
    throw new PqlsyncError(
      'CONFIG_INVALID',
      `the score column '${routing.score_column}' holds '${String(raw)}', which is not a number`,
      { location: { sync, path: `syncs.${sync}.routing.score_column` } },
    );
  }
  for (const t of routing.tiers) {
    if (typeof t.min_score === 'string') {
      throw new PqlsyncError(
        'INTERNAL',
        `tier '${t.name}': min_score ${t.min_score} was not resolved (modelScoreBands)`,
      );
    }
    if (t.min_score === undefined || score >= t.min_score) return t.name;
  }
  return null;
}

function columnValue(row: Row, column: string, option: string, sync: string): unknown {
  const key = column in row ? column : column.toLowerCase();
  if (!(key in row)) {
    throw new PqlsyncError(
      'CONFIG_INVALID',
      `routing.${option} '${column}' is not a column of the model (columns: ${Object.keys(row)
        .filter((c) => !c.startsWith('__pqlsync'))
        .join(', ')})`,
      { location: { sync, path: `syncs.${sync}.routing.${option}` } },
    );
  }
  return row[key];
}

/** Position of a tier from the top (0 = highest); unknown tiers (and null) rank below every tier. */
export function tierRank(tier: string | null, routing: RoutingConfig): number {
  const i = tier === null ? -1 : routing.tiers.findIndex((t) => t.name === tier);
  return i < 0 ? routing.tiers.length : i;
}

/** True when moving from `previous` to `current` should create a task. */
export function createsTask(
  previous: string | null,
  current: string | null,
  routing: RoutingConfig,
): boolean {
  if (current === null || current === previous) return false;
  if (!routing.task_tiers.includes(current)) return false;
  return tierRank(current, routing) < tierRank(previous, routing);
}
