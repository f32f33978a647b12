/**
 * Tiers and transitions. A row's tier comes from the model's tier column, or from the score bands (highest
 * first: the first tier whose `min_score` the score reaches; the lowest tier takes the rest). A transition
 * creates a task when the row enters a task tier from a lower tier or from no tier; moving down never does,
 * and a row that stays in its tier never does again (so reruns are quiet).
 */
import type { RoutingConfig } from '../config/config-schema.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { Row } from '../warehouse/warehouse-adapter.js';

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
  for (const t of routing.tiers) if (t.min_score === undefined || score >= t.min_score) return t.name;
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
