/**
 * A routed candidate's task as the CRM gets it (key, text, due times) and as the plan lists it, and the record
 * keys task_log names its CRM records by.
 */
import { createHash } from 'node:crypto';
import type { RoutingConfig } from '../config/config-schema.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { ListedUser } from './account-users.js';
import { BusinessCalendar } from './calendar.js';
import { recordKey } from './route-store.js';
import type { Candidate, PlannedTask, RouterOptions, RouterRun } from './router-types.js';
import { localDate, slaTimes } from './sla.js';
import { defaultBody, renderTemplate } from './task-template.js';
import type { AccountRecord, RoutedRecord, TaskSpec } from './task-writer.js';

/** Salesforce text fields hold 255 characters; long entity keys are hashed to keep the key unique and short. */
const MAX_TASK_KEY = 255;

/**
 * `pqlsync:<object>:<match value>:<tier>:<transition date>`: the CRM record's, not the sync's, so a renamed sync
 * (or another sync writing the same record) sends the same key for the same transition on the same day. Keys
 * written before (`pqlsync:<sync>:<entity key>:…`) stay in task_log rows, which are resent under their own key.
 */
export function taskKey(object: string, matchValue: string, tier: string, date: string): string {
  const key = `pqlsync:${object}:${matchValue}:${tier}:${date}`;
  if (key.length <= MAX_TASK_KEY) return key;
  const hash = createHash('sha256').update(matchValue).digest('hex');
  return `pqlsync:${object}:sha256-${hash}:${tier}:${date}`;
}

/** Builds tasks and plan rows for one sync's router. */
export class RouteTasks {
  private readonly timeZone: string;
  private readonly calendar: BusinessCalendar | undefined;

  constructor(
    private readonly options: RouterOptions,
    private readonly run: RouterRun,
  ) {
    this.timeZone = options.timeZone ?? 'UTC';
    const cal = options.routing.calendar;
    this.calendar = cal ? new BusinessCalendar(cal, cal.time_zone ?? this.timeZone) : undefined;
  }

  /** The account task's own template values: the listed users' lines, their count and the account. */
  accountVars(value: string, users: readonly ListedUser[]): Record<string, unknown> {
    const { routing, sync } = this.options;
    const line = routing.task.user_line ?? '- {{ key }} ({{ tier }})';
    const at = { sync, path: `syncs.${sync}.routing.task.user_line` };
    return {
      account: value || null,
      user_count: users.length,
      users: users.map((u) => renderTemplate(line, { ...u.row, tier: u.tier, key: u.key }, at)).join('\n'),
    };
  }

  /** The CRM account a per-account task is about: destination, account object and the account's value. */
  accountKey(value: string): string {
    return recordKey(this.options.destination, this.options.writer?.accountObject ?? 'Account', value);
  }

  /** The CRM record a candidate is about: destination, object and match value. */
  recordKeyOf(c: Candidate): string {
    return recordKey(this.options.destination, this.options.target.object, c.change.matchValue);
  }

  taskOf(
    c: Candidate,
    now: Date,
    ownerId: string | null,
    record: RoutedRecord | undefined,
    account: AccountRecord | undefined,
    via: string,
    group?: { value: string; vars: Record<string, unknown> },
  ): TaskSpec {
    const { routing, sync } = this.options;
    const sla = c.matched.rule.sla?.[c.tier] ?? routing.sla[c.tier];
    if (!sla)
      throw new PqlsyncError('CONFIG_INVALID', `task tier '${c.tier}' has no sla`, {
        location: { sync, path: `syncs.${sync}.routing.sla` },
      });
    const times = slaTimes(now, sla, this.timeZone, this.calendar);
    const owner = this.run.directory.get(ownerId);
    const vars: Record<string, unknown> = {
      // An account the account sync has not written (yet) has no `account_<field>` values: empty, not unknown.
      ...accountPlaceholders(routing),
      ...Object.fromEntries(Object.entries(c.row).filter(([k]) => !k.startsWith('__pqlsync'))),
      tier: c.tier,
      previous_tier: c.previous,
      key: c.change.key,
      sync,
      rule: c.matched.name,
      due_date: times.dueDate,
      due_at: times.dueAt,
      owner: owner ? owner.name : via,
      // Per-account routing's template values; a user without an account is listed alone.
      ...(routing.account?.tasks === 'per_account' && !group
        ? this.accountVars('', [
            { row: c.row, tier: c.tier, key: c.change.key, matchValue: c.change.matchValue },
          ])
        : {}),
      ...group?.vars,
    };
    const at = (field: string) => ({ sync, path: `syncs.${sync}.routing.task.${field}` });
    const keyObject = group ? (this.options.writer?.accountObject ?? 'Account') : this.options.target.object;
    return {
      taskKey: taskKey(
        keyObject,
        group ? group.value : c.change.matchValue,
        c.tier,
        localDate(now, this.timeZone),
      ),
      entityKey: group ? group.value : c.change.key,
      subject: renderTemplate(routing.task.subject, vars, at('subject')),
      body: routing.task.body ? renderTemplate(routing.task.body, vars, at('body')) : defaultBody(c.row),
      ownerId,
      dueAt: times.dueAt,
      dueDate: times.dueDate,
      reminderAt: times.reminderAt,
      priority: times.priority,
      record: record ?? { id: '', ownerId: null, object: this.options.target.object },
      ...(account ? { account } : {}),
      ...(group ? { about: 'account' as const } : {}),
    };
  }

  plannedOf(
    c: Candidate,
    task: TaskSpec,
    resumed: boolean,
    pendingOwner?: string,
    account?: string,
  ): PlannedTask {
    const owner = this.run.directory.get(task.ownerId);
    return {
      key: account === undefined ? c.change.key : `account ${account}`,
      tier: c.tier,
      previousTier: c.previous,
      rule: c.matched.name,
      ownerId: task.ownerId,
      owner: owner
        ? `${owner.name} <${owner.email}>`
        : (task.ownerId ?? `(${pendingOwner ?? 'record owner'})`),
      dueAt: task.dueAt.toISOString(),
      dueDate: task.dueDate,
      priority: task.priority,
      subject: task.subject,
      taskKey: task.taskKey,
      resumed,
    };
  }
}

/** `account_<field>: null` for each such name the task templates use, when routing reads an account sync. */
function accountPlaceholders(routing: RoutingConfig): Record<string, null> {
  if (routing.account?.tasks !== 'per_account' || routing.account.sync === undefined) return {};
  const text = [routing.task.subject, routing.task.body, routing.task.user_line].join('\n');
  return Object.fromEntries([...text.matchAll(/\baccount_[A-Za-z0-9_]+/g)].map((m) => [m[0], null]));
}
