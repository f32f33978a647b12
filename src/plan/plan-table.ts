/**
 * What the plan and the state share, kept apart from both so neither imports the other: the plan table's columns
 * that state upkeep reads, and the values the snapshot stores for an applied change.
 */
import type { Change } from '../destination/destination.js';

/** Where the match value of a row is kept inside the snapshot's values_json. */
export const MATCH_VALUE_KEY = '__match';

/** The plan table's columns that state upkeep reads (`StateStore.forgetRemoved`, `pruneResolvedFailures`). */
export const PLAN_COLUMN = { key: '__pqlsync_pk', op: '__pqlsync_op', hash: '__pqlsync_hash' } as const;

/** The values_json stored in the snapshot (and the outcome journal) for an applied change. */
export function snapshotValues(change: Change): Record<string, unknown> {
  return { ...change.values, [MATCH_VALUE_KEY]: change.matchValue };
}
