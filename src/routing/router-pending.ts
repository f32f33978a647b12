/**
 * The task_log rows the router writes as `pending` before a task reaches the CRM (route-store.ts): a crash from
 * then on resends the same task keys. A new task gets a fresh row (`pendingEntry`); a pending or failed row of an
 * earlier run is taken up again by this run as it was (`resentEntry`).
 */
import type { TaskLogEntry } from './route-store.js';
import type { TaskSpec } from './task-writer.js';

/** The run writing the row. */
export interface PendingRun {
  sync: string;
  runId: string;
  now: Date;
}

/** What a new task is about: the entity (user or account), its CRM record and the transition. */
export interface PendingSubject {
  entityKey: string;
  recordKey: string;
  tier: string;
  previousTier: string | null;
  rule: string;
}

/** A new task's pending row, logged now (its cooldown counts from now). */
export function pendingEntry(task: TaskSpec, run: PendingRun, about: PendingSubject): TaskLogEntry {
  return {
    sync: run.sync,
    ...about,
    taskKey: task.taskKey,
    status: 'pending',
    task,
    taskId: null,
    reason: null,
    runId: run.runId,
    loggedAt: run.now,
    updatedAt: run.now,
  };
}

/**
 * An earlier run's pending or failed row, pending again under this run with its key, task and logged time kept;
 * `moves` relabels it (the history follows the record: a row another sync name wrote becomes this sync's).
 */
export function resentEntry(
  entry: TaskLogEntry,
  run: Omit<PendingRun, 'sync'>,
  moves: Partial<Pick<TaskLogEntry, 'sync' | 'entityKey' | 'recordKey'>> = {},
): TaskLogEntry {
  return { ...entry, ...moves, status: 'pending', runId: run.runId, updatedAt: run.now };
}
