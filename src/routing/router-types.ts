/**
 * What the router's files share: its options, results and the per-run state they read and move.
 *
 * Glossary:
 * - candidate: an applied row whose tier entered a task tier from a lower tier (or none).
 * - RouterRun: what routing knows for one run, read by `Router.start`: the CRM's owners, the round-robin
 *   cursors (moved as owners are assigned) and whether the routing tables exist yet.
 */
import type { RoutingConfig } from '../config/config-schema.js';
import type { Change, SyncTarget } from '../destination/destination.js';
import type { StateStore } from '../state/state-store.js';
import type { Logger } from '../util/logger.js';
import type { OwnerDirectory } from './owners.js';
import type { TaskLogEntry } from './route-store.js';
import type { MatchedRule } from './rules.js';
import type { FieldChange, TaskWriter } from './task-writer.js';

/** A task a plan would create (or a run created), as listed in the plan summary. */
export interface PlannedTask {
  key: string;
  tier: string;
  previousTier: string | null;
  rule: string;
  ownerId: string | null;
  /** `Name <email>` of the owner, or how it will be chosen when the record does not exist yet. */
  owner: string;
  dueAt: string;
  dueDate: string;
  priority: string;
  subject: string;
  taskKey: string;
  /** Sent again under its earlier key (a pending or failed task_log row). */
  resumed: boolean;
}

export interface RouteResult {
  /** Tasks the CRM created in this call (existing ones found by key are not counted). */
  created: number;
  /** Tasks that could not be created (logged; resent when the transition is routed again). */
  failed: number;
  /** Transitions skipped: a task inside the cooldown, or a rule without tasks. */
  cooldown: number;
  noTask: number;
  planned: PlannedTask[];
  /** New tasks of rules with `alert: true` (posted to the alerts webhook by the caller). */
  alerts: PlannedTask[];
}

export interface RouterOptions {
  sync: string;
  /** The destination's name in the config (for messages). */
  destination: string;
  routing: RoutingConfig;
  target: SyncTarget;
  state: StateStore;
  /** The CRM side; undefined for destinations without tasks (only a plan can route then). */
  writer: TaskWriter | undefined;
  runId: string;
  now: () => Date;
  /** IANA zone of due dates. (Default: UTC) */
  timeZone?: string;
  /**
   * The run's plan table (plan-sync.ts): per-account routing lists an account's qualified users from it, across
   * batches. (Default: only the batch's own users are listed)
   */
  planTable?: string;
  dryRun: boolean;
  log: Logger;
}

/** A batch's routing between `prepare` (before the commit) and `send` (after it). */
export interface PreparedRoute {
  result: RouteResult;
  /** The task_log rows written as pending, to send. */
  entries: TaskLogEntry[];
  /** Record id → owner id to set. */
  ownerChanges: Map<string, string>;
  /** Record id → field values a rule's `set` writes. */
  fieldChanges?: Map<string, FieldChange['fields']>;
}

export interface Candidate {
  change: Change;
  row: Record<string, unknown>;
  previous: string | null;
  tier: string;
  matched: MatchedRule;
}

export interface RouterRun {
  directory: OwnerDirectory;
  /** Round-robin cursors by rule name. */
  cursors: Map<string, number>;
  tablesReady: boolean;
}

/** A result with nothing routed yet. */
export function emptyRouteResult(): RouteResult {
  return { created: 0, failed: 0, cooldown: 0, noTask: 0, planned: [], alerts: [] };
}
