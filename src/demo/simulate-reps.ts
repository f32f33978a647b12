/**
 * `pqlsync demo --advance-days N` with a CRM: after the syncs, reps "work" the open tasks pqlsync created, in the
 * sandbox, through its admin routes: most complete them before the due time, some late, a few never; people whose
 * task was done convert to an opportunity (an account task naming no person, a Salesforce task about Leads
 * with only WhatId: an opportunity on its Account), hot PQLs more often than the lower tier; some opportunities are won
 * or lost; a few people pqlsync never flagged convert too (the base rate). Every draw comes from a hash of the
 * seed and the record, so the same demo plays out the same way, whatever the order of the records.
 *
 * Times follow each task's own clock (when pqlsync logged it, when it was due), so a simulated completion can lie
 * ahead of the wall clock: the demo plays out days of work at once.
 *
 * Glossary:
 * - RepSandbox: the few sandbox admin calls the simulation needs, per CRM (salesforce-reps, hubspot-reps).
 * - open task: a task with a pqlsync task key that is not closed.
 */
import { createHash } from 'node:crypto';

export interface OpenTask {
  taskId: string;
  taskKey: string;
  /** The Lead/Contact (contact) the task is about. */
  personId: string | null;
  /** The account it is on (Salesforce Task.AccountId), for an account task that names no person. */
  accountId?: string | null;
}

export interface RepSandbox {
  /** Open tasks with a pqlsync key. */
  openTasks(): Promise<OpenTask[]>;
  /** People pqlsync scored who have not converted (and are not customers). */
  unconvertedPeople(): Promise<string[]>;
  completeTask(taskId: string, at: Date, outcome: string): Promise<void>;
  /** Converts the person and opens an opportunity/deal; returns its id. */
  convert(personId: string, at: Date, amount: number): Promise<string>;
  closeOpportunity(opportunityId: string, won: boolean): Promise<void>;
  /** Opens an opportunity on an account (for an account task without a person); returns its id. */
  openAccountOpportunity?(accountId: string, at: Date, amount: number): Promise<string>;
}

/** What pqlsync logged about a task: its tier and when it was logged and due. */
export interface LoggedTask {
  tier: string;
  loggedAt: Date;
  dueAt: Date;
}

export interface SimulationOptions {
  seed: number;
  /** task key → what task_log says about it. */
  logged: Map<string, LoggedTask>;
  /** The tiers that get tasks, hottest first: the first converts most often. */
  tiers: readonly string[];
  now: Date;
}

export interface SimulationResult {
  completed: number;
  late: number;
  converted: number;
  baseConverted: number;
  won: number;
  lost: number;
}

/** A draw in [0, 1) from the seed, a record and what it decides. */
export function draw(seed: number, key: string, what: string): number {
  const digest = createHash('sha256').update(`${seed}:${key}:${what}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

const HOUR = 3_600_000;
/** Share of tasks reps complete, of those late, and conversion after a done task, for the hottest tier and the rest. */
const DONE_RATE = 0.9;
const LATE_RATE = { top: 0.15, rest: 0.3 };
const CONVERT_RATE = { top: 0.4, rest: 0.15 };
/** People never flagged who convert on their own: the base rate. */
const BASE_CONVERT_RATE = 0.02;

export async function simulateReps(
  sandbox: RepSandbox,
  options: SimulationOptions,
): Promise<SimulationResult> {
  const { seed, logged } = options;
  const result: SimulationResult = { completed: 0, late: 0, converted: 0, baseConverted: 0, won: 0, lost: 0 };
  const worked = new Set<string>();
  const openOpportunity = async (
    recordId: string,
    at: Date,
    open: (id: string, at: Date, amount: number) => Promise<string> = (id, when, amount) =>
      sandbox.convert(id, when, amount),
  ): Promise<void> => {
    const amount = 5000 + Math.round(draw(seed, recordId, 'amount') * 450) * 100;
    const opportunity = await open(recordId, at, amount);
    const outcome = draw(seed, recordId, 'outcome');
    if (outcome < 0.35) {
      await sandbox.closeOpportunity(opportunity, true);
      result.won += 1;
    } else if (outcome < 0.55) {
      await sandbox.closeOpportunity(opportunity, false);
      result.lost += 1;
    }
  };
  for (const task of await sandbox.openTasks()) {
    const log = logged.get(task.taskKey);
    if (!log) continue;
    if (task.personId) worked.add(task.personId);
    if (draw(seed, task.taskKey, 'done') >= DONE_RATE) continue;
    const top = log.tier === options.tiers[0];
    const late = draw(seed, task.taskKey, 'late') < (top ? LATE_RATE.top : LATE_RATE.rest);
    const span = Math.max(log.dueAt.getTime() - log.loggedAt.getTime(), HOUR / 4);
    const at = late
      ? new Date(log.dueAt.getTime() + HOUR + draw(seed, task.taskKey, 'delay') * 47 * HOUR)
      : new Date(log.loggedAt.getTime() + (0.05 + 0.9 * draw(seed, task.taskKey, 'delay')) * span);
    await sandbox.completeTask(task.taskId, at, late ? 'Left voicemail' : 'Connected');
    result.completed += 1;
    if (late) result.late += 1;
    const rate = top ? CONVERT_RATE.top : CONVERT_RATE.rest;
    const later = new Date(at.getTime() + 2 * HOUR);
    if (task.personId && draw(seed, task.personId, 'convert') < rate) {
      await openOpportunity(task.personId, later);
      result.converted += 1;
    } else if (
      !task.personId &&
      task.accountId &&
      sandbox.openAccountOpportunity &&
      draw(seed, task.accountId, 'convert') < rate
    ) {
      // An account task about Leads (Salesforce: WhatId, no WhoId): the rep opens the opportunity on the Account.
      const open = sandbox.openAccountOpportunity.bind(sandbox);
      await openOpportunity(task.accountId, later, open);
      result.converted += 1;
    }
  }
  for (const personId of await sandbox.unconvertedPeople()) {
    if (worked.has(personId) || draw(seed, personId, 'base') >= BASE_CONVERT_RATE) continue;
    await openOpportunity(personId, options.now);
    result.baseConverted += 1;
  }
  return result;
}
