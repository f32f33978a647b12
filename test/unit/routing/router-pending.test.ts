/**
 * The pending task_log rows the router writes before a task reaches the CRM (router-pending.ts): a new task's row
 * is logged now with no CRM id or reason; a resent row keeps its key, task and logged time (the cooldown still
 * counts from the first routing) and is relabelled only where asked.
 */
import { describe, expect, it } from 'vitest';
import type { TaskLogEntry } from '../../../src/routing/route-store.js';
import { pendingEntry, resentEntry } from '../../../src/routing/router-pending.js';
import type { TaskSpec } from '../../../src/routing/task-writer.js';

const at = new Date('2025-01-06T15:00:00Z');
const task: TaskSpec = {
  taskKey: 'pqlsync:Lead:u1:hot:2025-01-06',
  entityKey: 'u1',
  subject: 'hot PQL: u1',
  body: '',
  ownerId: '005A',
  dueAt: at,
  dueDate: '2025-01-06',
  reminderAt: at,
  priority: 'high',
  record: { id: '00Q1', ownerId: null, object: 'Lead' },
};

describe('pendingEntry', () => {
  it("is the task's pending row, logged and updated now, with no CRM id or reason yet", () => {
    const about = {
      entityKey: 'u1',
      recordKey: 'crm:Lead:u1',
      tier: 'hot',
      previousTier: null,
      rule: 'sales',
    };
    expect(pendingEntry(task, { sync: 'users', runId: 'r2', now: at }, about)).toEqual({
      sync: 'users',
      entityKey: 'u1',
      recordKey: 'crm:Lead:u1',
      tier: 'hot',
      previousTier: null,
      taskKey: 'pqlsync:Lead:u1:hot:2025-01-06',
      status: 'pending',
      rule: 'sales',
      task,
      taskId: null,
      reason: null,
      runId: 'r2',
      loggedAt: at,
      updatedAt: at,
    });
  });
});

describe('resentEntry', () => {
  const first = new Date('2025-01-03T15:00:00Z');
  const failed: TaskLogEntry = {
    ...pendingEntry(
      task,
      { sync: 'old_users', runId: 'r1', now: first },
      { entityKey: 'u1', recordKey: 'crm:Lead:u1', tier: 'hot', previousTier: 'pql', rule: 'sales' },
    ),
    status: 'failed',
    reason: 'REQUEST_LIMIT_EXCEEDED',
  };

  it("makes an earlier run's row pending under this run, its key, task, reason and logged time kept", () => {
    expect(resentEntry(failed, { runId: 'r2', now: at })).toEqual({
      ...failed,
      status: 'pending',
      runId: 'r2',
      updatedAt: at,
    });
  });

  it('relabels the row where asked (a renamed sync takes the history over)', () => {
    const moved = resentEntry(failed, { runId: 'r2', now: at }, { sync: 'users', entityKey: 'U1' });
    expect([moved.sync, moved.entityKey, moved.recordKey, moved.loggedAt]).toEqual([
      'users',
      'U1',
      'crm:Lead:u1',
      first,
    ]);
  });
});
