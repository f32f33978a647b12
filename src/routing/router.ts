/**
 * Routes one run's applied changes: tier transitions → rules → owners → SLA → task text → task_log → CRM.
 * The runner calls `prepare` once per written batch, before that batch's commit, so the snapshot still holds the
 * previous tiers: it writes the batch's tasks to task_log as `pending`. After the commit it calls `send`, which
 * creates them in the CRM and marks each `created` or `failed` (with the CRM's reason): a task the CRM refuses
 * never blocks, undoes or delays the commit of the records it accepted. Pending and failed tasks of earlier runs
 * (a crash between commit and send, a refused task) are sent again by `resumeOutstanding` at the start of the
 * next run, under the same keys, so the CRM's unique task key turns a second send into a no-op (route-store.ts).
 * In a plan (`dryRun`) nothing is written anywhere; the CRM is only read (owners, records) and the tasks that
 * would be created are returned.
 *
 * Glossary:
 * - candidate: an applied row whose tier entered a task tier from a lower tier (or none).
 * - resumed: a candidate whose pending or failed task_log row (inside the cooldown) is sent again as it was.
 * - cooldown: a created task for the same record and tier inside `cooldown_days` stops a new one.
 */
import { createHash } from 'node:crypto';
import type { RoutingConfig } from '../config/config-schema.js';
import type { Change, RecordOutcome, SyncTarget } from '../destination/destination.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { StateStore } from '../state/state-store.js';
import type { Logger } from '../util/logger.js';
import { accountColumns, accountValue, listedUsers, snapshotRows, type ListedUser } from './account-users.js';
import { recordOwners } from '../report/owner-names.js';
import { BusinessCalendar } from './calendar.js';
import { assignOwner, OwnerDirectory } from './owners.js';
import { entryKey, recordKey, RouteStore, type AccountOwner, type TaskLogEntry } from './route-store.js';
import { matchRule, type MatchedRule } from './rules.js';
import { localDate, slaTimes } from './sla.js';
import { defaultBody, renderTemplate } from './task-template.js';
import { createsTask, tierOfRow, tierRank } from './tiers.js';
import type {
  AccountRecord,
  FieldChange,
  RoutedRecord,
  TaskOutcome,
  TaskSpec,
  TaskWriter,
} from './task-writer.js';

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

interface Candidate {
  change: Change;
  row: Record<string, unknown>;
  previous: string | null;
  tier: string;
  matched: MatchedRule;
}

export class Router {
  private readonly routes: RouteStore;
  private directory = new OwnerDirectory([]);
  private cursors = new Map<string, number>();
  private tablesReady = false;
  private readonly timeZone: string;
  private readonly calendar: BusinessCalendar | undefined;
  /** Per-account routing: CRM owners that never own an account (ids). */
  private ignoredOwners = new Set<string>();
  /** Per-account routing: owners kept for accounts (by record key), read or assigned in this run. */
  private readonly accountOwners = new Map<string, string>();
  /** Per-account routing: `account value + tier` whose task this run prepared (a later batch adds none). */
  private readonly accountTiers = new Set<string>();

  constructor(private readonly options: RouterOptions) {
    this.routes = new RouteStore(options.state);
    this.timeZone = options.timeZone ?? 'UTC';
    const cal = options.routing.calendar;
    this.calendar = cal ? new BusinessCalendar(cal, cal.time_zone ?? this.timeZone) : undefined;
  }

  /** The tier a change's row is in (stored in the snapshot). */
  tierOf(change: Change): string | null {
    return change.row ? tierOfRow(change.row, this.options.routing, this.options.sync) : null;
  }

  /** Creates the routing tables (not in a plan), reads owners and cursors, checks the owners the config names. */
  async start(): Promise<void> {
    const { writer, dryRun, sync, routing } = this.options;
    if (!dryRun && !writer) {
      throw new PqlsyncError(
        'CONFIG_INVALID',
        `sync ${sync} has routing, but its destination '${this.options.destination}' cannot hold tasks (routing needs a salesforce or hubspot destination)`,
        {
          location: { sync, path: `syncs.${sync}.routing` },
          hint: 'remove routing from the sync, or point it at a CRM destination',
        },
      );
    }
    if (!dryRun) await this.routes.ensureTables();
    this.tablesReady = dryRun ? await this.routes.tablesExist() : true;
    if (this.tablesReady) this.cursors = await this.routes.cursors(sync);
    if (writer) {
      this.directory = new OwnerDirectory(await writer.listOwners());
      // The names the loop report shows by owner.
      if (!dryRun)
        await recordOwners(
          this.options.state,
          this.options.destination,
          this.directory.owners,
          this.options.now(),
        );
      this.directory.resolveConfig(routing, sync);
      for (const ref of routing.account?.ignore_owners ?? []) {
        const owner = this.directory.find(ref);
        if (owner) this.ignoredOwners.add(owner.id);
      }
    }
  }

  /** Prepares and sends a batch's tasks at once (plans, and callers without a commit in between). */
  async route(changes: readonly Change[], outcomes: readonly RecordOutcome[]): Promise<RouteResult> {
    const prepared = await this.prepare(changes, outcomes);
    return this.options.dryRun || !this.options.writer ? prepared.result : this.send(prepared);
  }

  /**
   * Pending and failed tasks of earlier runs inside the cooldown, sent again under their keys (called once at
   * the start of a run, before any batch).
   */
  async resumeOutstanding(): Promise<RouteResult> {
    const { sync, routing, dryRun, writer } = this.options;
    const empty: RouteResult = { created: 0, failed: 0, cooldown: 0, noTask: 0, planned: [], alerts: [] };
    if (dryRun || !writer || !this.tablesReady) return empty;
    const now = this.options.now();
    const since = new Date(now.getTime() - routing.cooldown_days * 86_400_000);
    const entries = (await this.routes.outstanding(sync, since)).map((e) => ({
      ...e,
      status: 'pending' as const,
      runId: this.options.runId,
      updatedAt: now,
    }));
    if (entries.length === 0) return empty;
    this.options.log.info({ tasks: entries.length }, 'sending tasks not created by earlier runs again');
    await this.routes.write(entries);
    return this.send({ result: empty, entries, ownerChanges: new Map() });
  }

  /**
   * Everything up to the CRM: candidates, rules, owners, task text; writes the tasks to task_log as pending
   * (with the round-robin cursors they moved). Called before the batch's commit.
   */
  async prepare(changes: readonly Change[], outcomes: readonly RecordOutcome[]): Promise<PreparedRoute> {
    const { routing, sync, dryRun, writer, target } = this.options;
    const result: RouteResult = { created: 0, failed: 0, cooldown: 0, noTask: 0, planned: [], alerts: [] };
    const ownerChanges = new Map<string, string>();
    const none: PreparedRoute = { result, entries: [], ownerChanges };
    const applied = new Set(outcomes.filter((o) => o.status === 'applied').map((o) => o.key));
    // A plan routes every row the run would send; a row with an invalid value is never sent.
    const rows = changes.filter(
      (c) => c.kind !== 'removed' && c.row && (dryRun ? !c.invalid : applied.has(c.key)),
    );
    if (rows.length === 0) return none;

    const previous = await this.previousTiers(rows.map((c) => c.key));
    const candidates: Candidate[] = [];
    for (const change of rows) {
      const row = change.row ?? {};
      const tier = tierOfRow(row, routing, sync);
      const prev = previous.get(change.key) ?? null;
      if (tier === null || !createsTask(prev, tier, routing)) continue;
      candidates.push({ change, row, previous: prev, tier, matched: matchRule(row, routing.rules) });
    }
    if (candidates.length === 0) return none;

    const now = this.options.now();
    const since = new Date(now.getTime() - routing.cooldown_days * 86_400_000);
    // Per-account routing takes the users with an account; the rest are routed one by one.
    const accountColumn = routing.account?.tasks === 'per_account' ? routing.account.column : undefined;
    const byAccount = accountColumn
      ? candidates.filter((c) => accountValue(c.row, accountColumn) !== '')
      : [];
    const perUser = accountColumn
      ? candidates.filter((c) => accountValue(c.row, accountColumn) === '')
      : candidates;
    const recent = this.tablesReady
      ? await this.routes.recentEntries(
          sync,
          perUser.map((c) => ({ entityKey: c.change.key, recordKey: this.recordKeyOf(c) })),
          since,
        )
      : new Map<string, TaskLogEntry>();

    const fresh: Candidate[] = [];
    const resumed: Array<{ candidate: Candidate; entry: TaskLogEntry }> = [];
    const ownerOnly: Candidate[] = [];
    const fieldChanges = new Map<string, FieldChange['fields']>();
    for (const c of perUser) {
      if (!c.matched.rule.task) {
        result.noTask++;
        if (c.matched.rule.set_owner) ownerOnly.push(c);
        continue;
      }
      const entry = recent.get(entryKey(c.change.key, c.tier));
      if (entry?.status === 'created') result.cooldown++;
      else if (entry) resumed.push({ candidate: c, entry });
      else fresh.push(c);
    }

    // The CRM side of new tasks: the records (ids, owners) and their accounts.
    const lookups = [...fresh, ...ownerOnly];
    const records =
      writer && lookups.length > 0
        ? await writer.findRecords(
            target,
            lookups.map((c) => c.change.matchValue),
          )
        : new Map<string, RoutedRecord>();
    const accounts = await this.accountsOf(lookups);

    const moved = new Map<string, number>();
    const entries: TaskLogEntry[] = resumed.map(({ candidate, entry }) => ({
      ...entry,
      // The history follows the record: a row another sync name wrote (a renamed sync) becomes this sync's.
      sync,
      entityKey: candidate.change.key,
      recordKey: this.recordKeyOf(candidate),
      status: 'pending',
      runId: this.options.runId,
      updatedAt: now,
    }));
    for (const { candidate, entry } of resumed) {
      if (candidate.matched.rule.set_owner && entry.task.ownerId) {
        ownerChanges.set(entry.task.record.id, entry.task.ownerId);
      }
      result.planned.push(this.plannedOf(candidate, entry.task, true));
    }
    for (const c of [...fresh, ...ownerOnly]) {
      const record = records.get(c.change.matchValue);
      const account = this.accountOf(c, accounts);
      const cursorName = c.matched.name;
      const assignment = assignOwner(c.matched.rule.assign, {
        record,
        account,
        directory: this.directory,
        cursor: this.cursors.get(cursorName) ?? 0,
      });
      if ('error' in assignment) {
        result.failed++;
        this.options.log.warn(
          { recordKey: c.change.key, rule: c.matched.name, tier: c.tier },
          `no task for record ${c.change.key}: ${assignment.error}`,
        );
        continue;
      }
      if (assignment.cursor !== undefined) {
        this.cursors.set(cursorName, assignment.cursor);
        moved.set(cursorName, assignment.cursor);
      }
      if (c.matched.rule.set_owner && record && assignment.ownerId && assignment.ownerId !== record.ownerId) {
        ownerChanges.set(record.id, assignment.ownerId);
      }
      if (c.matched.rule.set && record) fieldChanges.set(record.id, c.matched.rule.set);
      if (!c.matched.rule.task) continue;
      if (!record && !dryRun) {
        result.failed++;
        this.options.log.warn(
          { recordKey: c.change.key },
          `no task for record ${c.change.key}: no ${target.object} with ${target.matchField} = ${c.change.matchValue} was found after the write`,
        );
        continue;
      }
      const task = this.taskOf(c, now, assignment.ownerId, record, account, assignment.via);
      entries.push({
        sync,
        entityKey: c.change.key,
        recordKey: this.recordKeyOf(c),
        tier: c.tier,
        previousTier: c.previous,
        taskKey: task.taskKey,
        status: 'pending',
        rule: c.matched.name,
        task,
        taskId: null,
        reason: null,
        runId: this.options.runId,
        loggedAt: now,
        updatedAt: now,
      });
      const planned = this.plannedOf(c, task, false, record ? undefined : assignment.via);
      result.planned.push(planned);
      if (c.matched.rule.alert) result.alerts.push(planned);
    }
    const owners: AccountOwner[] = [];
    if (byAccount.length > 0) {
      await this.prepareAccounts(byAccount, now, since, {
        result,
        entries,
        ownerChanges,
        fieldChanges,
        moved,
        owners,
      });
    }
    if (dryRun || !writer) return { result, entries, ownerChanges, fieldChanges };

    // Pending BEFORE sending: a crash from here on resends these same keys.
    await this.routes.write(entries, { sync, moved, at: now }, owners);
    return { result, entries, ownerChanges, fieldChanges };
  }

  /**
   * Sends prepared tasks (and owner changes) to the CRM and records each task as created or failed. A CRM's
   * refusal (a PqlsyncError, even one for the whole request) becomes the tasks' `failed` outcome with its reason,
   * retried by the next run; it never fails the run.
   */
  async send(prepared: PreparedRoute): Promise<RouteResult> {
    const { target, writer } = this.options;
    const { result, entries, ownerChanges } = prepared;
    if (!writer) return result;
    if (ownerChanges.size > 0) {
      let failures = new Map<string, string>();
      try {
        failures = await writer.setOwners(
          target,
          [...ownerChanges].map(([recordId, ownerId]) => ({ recordId, ownerId })),
        );
      } catch (err) {
        if (!(err instanceof PqlsyncError)) throw err;
        failures = new Map([...ownerChanges.keys()].map((id) => [id, err.message]));
      }
      for (const [id, reason] of failures) {
        this.options.log.warn(
          { recordId: id },
          `could not set the owner of ${target.object} ${id}: ${reason}`,
        );
      }
    }
    if (prepared.fieldChanges && prepared.fieldChanges.size > 0) {
      let failures = new Map<string, string>();
      try {
        failures = await writer.updateRecords(
          target,
          [...prepared.fieldChanges].map(([recordId, fields]) => ({ recordId, fields })),
        );
      } catch (err) {
        if (!(err instanceof PqlsyncError)) throw err;
        failures = new Map([...prepared.fieldChanges.keys()].map((id) => [id, err.message]));
      }
      for (const [id, reason] of failures) {
        this.options.log.warn(
          { recordId: id },
          `could not set the route's fields of ${target.object} ${id}: ${reason}`,
        );
      }
    }
    if (entries.length === 0) return result;
    let outcomes2: Map<string, TaskOutcome>;
    try {
      outcomes2 = new Map((await writer.writeTasks(entries.map((e) => e.task))).map((o) => [o.taskKey, o]));
    } catch (err) {
      // Anything but a PqlsyncError is a defect or a crash: it stops the run, and the pending rows are resent.
      if (!(err instanceof PqlsyncError)) throw err;
      outcomes2 = new Map(
        entries.map((e) => [e.taskKey, { taskKey: e.taskKey, status: 'failed', reason: err.message }]),
      );
    }
    const done = this.options.now();
    const final = entries.map((e): TaskLogEntry => {
      const o = outcomes2.get(e.taskKey);
      if (o?.status === 'created') {
        if (!o.existed) result.created++;
        return { ...e, status: 'created', taskId: o.taskId, reason: null, updatedAt: done };
      }
      result.failed++;
      const reason = o?.reason ?? 'the CRM returned no result for this task';
      this.options.log.warn(
        { recordKey: e.entityKey, taskKey: e.taskKey },
        `task not created (sent again by the next run): ${reason}`,
      );
      return { ...e, status: 'failed', reason, updatedAt: done };
    });
    await this.routes.write(final);
    // Alerts only for tasks this call created.
    const made = new Set(final.filter((e) => e.status === 'created').map((e) => e.taskKey));
    result.alerts = result.alerts.filter((a) => made.has(a.taskKey));
    return result;
  }

  /**
   * Per-account routing of a batch's candidates that have an account: one route per account (the first rule any of
   * its users matches, with the account's columns), one owner per account (its CRM owner, else the owner kept for
   * it, else one chosen by that rule and kept), and at most one task per account per tier entry: none when a task
   * of the same or a higher tier was created inside the cooldown or prepared earlier in this run. The task lists
   * the account's top qualified users and is linked to the account and its top user.
   */
  private async prepareAccounts(
    candidates: Candidate[],
    now: Date,
    since: Date,
    out: {
      result: RouteResult;
      entries: TaskLogEntry[];
      ownerChanges: Map<string, string>;
      fieldChanges: Map<string, FieldChange['fields']>;
      moved: Map<string, number>;
      owners: AccountOwner[];
    },
  ): Promise<void> {
    const { routing, sync, writer, target, dryRun } = this.options;
    const account = routing.account;
    if (!account) return;
    const { result } = out;
    const values = [...new Set(candidates.map((c) => accountValue(c.row, account.column)))];
    const columns = await accountColumns(this.options.state, routing.account?.sync, values);
    const groups = new Map<string, Candidate[]>();
    for (const c of candidates) {
      const value = accountValue(c.row, account.column);
      c.row = { ...c.row, ...columns.get(value) };
      c.matched = matchRule(c.row, routing.rules);
      groups.set(value, [...(groups.get(value) ?? []), c]);
    }
    const listed = await listedUsers(
      {
        state: this.options.state,
        routing,
        target,
        sync,
        ...(this.options.planTable ? { planTable: this.options.planTable } : {}),
      },
      [...groups].map(([value, cs]) => [value, cs.map((c) => ({ row: c.row, key: c.change.key }))]),
    );
    const recent = this.tablesReady
      ? await this.routes.recentEntries(
          sync,
          values.map((v) => ({ entityKey: v, recordKey: this.accountKey(v) })),
          since,
        )
      : new Map<string, TaskLogEntry>();
    const stored = this.tablesReady
      ? await this.routes.accountOwners(
          values.map((v) => this.accountKey(v)).filter((k) => !this.accountOwners.has(k)),
        )
      : new Map<string, string>();
    for (const [k, v] of stored) this.accountOwners.set(k, v);

    const matchValues = new Set(candidates.map((c) => c.change.matchValue));
    for (const users of listed.values()) {
      const top = users[0];
      if (top) matchValues.add(top.matchValue);
    }
    const records =
      writer && matchValues.size > 0
        ? await writer.findRecords(target, [...matchValues])
        : new Map<string, RoutedRecord>();
    const accounts =
      writer && values.length > 0
        ? await writer.findAccounts(account.field, values)
        : new Map<string, AccountRecord>();

    for (const [value, group] of groups) {
      // The account's tier: the highest its users entered; its rule: the first any of them matches.
      const tier = group.reduce(
        (a, c) => (tierRank(c.tier, routing) < tierRank(a, routing) ? c.tier : a),
        group[0]?.tier ?? '',
      );
      const lead = [...group].sort(
        (a, b) => ruleOrder(a.matched, routing) - ruleOrder(b.matched, routing),
      )[0];
      if (!lead) continue;
      const first = group.find((c) => c.tier === tier) ?? lead;
      const c: Candidate = { ...first, tier, matched: lead.matched };
      const rule = c.matched.rule;
      const setOn = (ids: Iterable<string>) => {
        if (rule.set) for (const id of ids) out.fieldChanges.set(id, rule.set);
      };
      const groupRecords = group.map((g) => records.get(g.change.matchValue)).filter((r) => r !== undefined);
      if (!rule.task) {
        // Self-serve: no rep task; the rule's fields mark the users instead.
        result.noTask += group.length;
        setOn(groupRecords.map((r) => r.id));
        continue;
      }
      const seen = `${value}\u0000${tier}`;
      const higherOrSame = routing.task_tiers.filter((t) => tierRank(t, routing) <= tierRank(tier, routing));
      const earlier = higherOrSame.map((t) => recent.get(entryKey(value, t))).filter((e) => e !== undefined);
      if (
        this.accountTiers.has(seen) ||
        earlier.some((e) => e.status === 'created' || e.runId === this.options.runId)
      ) {
        result.cooldown += group.length;
        continue;
      }
      this.accountTiers.add(seen);
      const resumed = recent.get(entryKey(value, tier));
      if (resumed) {
        // A pending or failed task of an earlier run: sent again as it was.
        out.entries.push({ ...resumed, sync, status: 'pending', runId: this.options.runId, updatedAt: now });
        result.planned.push(this.plannedOf(c, resumed.task, true, undefined, value));
        continue;
      }
      const crmAccount = accounts.get(value);
      const users = listed.get(value) ?? [];
      const topRecord = users[0] ? records.get(users[0].matchValue) : records.get(c.change.matchValue);
      const owner = this.accountOwner(value, crmAccount, c, topRecord, out);
      if ('error' in owner) {
        result.failed++;
        this.options.log.warn(
          { account: value, rule: c.matched.name, tier },
          `no task for account ${value}: ${owner.error}`,
        );
        continue;
      }
      if (rule.set_owner && owner.ownerId) {
        for (const r of groupRecords)
          if (r.ownerId !== owner.ownerId) out.ownerChanges.set(r.id, owner.ownerId);
      }
      setOn(groupRecords.map((r) => r.id));
      if (!topRecord && !crmAccount && !dryRun) {
        result.failed++;
        this.options.log.warn(
          { account: value },
          `no task for account ${value}: neither the account (${account.field} = ${value}) nor its users were found after the write`,
        );
        continue;
      }
      const task = this.taskOf(c, now, owner.ownerId, topRecord, crmAccount, owner.via, {
        value,
        vars: { ...this.accountVars(value, users), ...(users[0]?.row ?? {}), ...columns.get(value) },
      });
      out.entries.push({
        sync,
        entityKey: value,
        recordKey: this.accountKey(value),
        tier,
        previousTier: c.previous,
        taskKey: task.taskKey,
        status: 'pending',
        rule: c.matched.name,
        task,
        taskId: null,
        reason: null,
        runId: this.options.runId,
        loggedAt: now,
        updatedAt: now,
      });
      const planned = this.plannedOf(c, task, false, topRecord || crmAccount ? undefined : owner.via, value);
      result.planned.push(planned);
      if (rule.alert) result.alerts.push(planned);
    }
  }

  /** The account's owner: its CRM owner (unless ignored), else the one kept for it, else one its rule chooses (kept). */
  private accountOwner(
    value: string,
    crmAccount: AccountRecord | undefined,
    c: Candidate,
    record: RoutedRecord | undefined,
    out: { moved: Map<string, number>; owners: AccountOwner[] },
  ): { ownerId: string | null; via: string } | { error: string } {
    const crmOwner = this.directory.get(crmAccount?.ownerId);
    if (crmOwner?.active && !this.ignoredOwners.has(crmOwner.id))
      return { ownerId: crmOwner.id, via: 'account owner' };
    const key = this.accountKey(value);
    const kept = this.directory.get(this.accountOwners.get(key));
    if (kept?.active) return { ownerId: kept.id, via: 'account owner (kept)' };
    const cursorName = c.matched.name;
    const assignment = assignOwner(c.matched.rule.assign, {
      record,
      account: crmOwner && !this.ignoredOwners.has(crmOwner.id) ? crmAccount : undefined,
      directory: this.directory,
      cursor: this.cursors.get(cursorName) ?? 0,
    });
    if ('error' in assignment) return assignment;
    if (assignment.cursor !== undefined) {
      this.cursors.set(cursorName, assignment.cursor);
      out.moved.set(cursorName, assignment.cursor);
    }
    if (assignment.ownerId) {
      this.accountOwners.set(key, assignment.ownerId);
      out.owners.push({
        recordKey: key,
        ownerId: assignment.ownerId,
        sync: this.options.sync,
        rule: c.matched.name,
        assignedAt: this.options.now(),
      });
    }
    return { ownerId: assignment.ownerId, via: assignment.via };
  }

  /** The account task's own template values: the listed users' lines, their count and the account. */
  private accountVars(value: string, users: readonly ListedUser[]): Record<string, unknown> {
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
  private accountKey(value: string): string {
    return recordKey(this.options.destination, this.options.writer?.accountObject ?? 'Account', value);
  }

  /** The CRM record a candidate is about: destination, object and match value. */
  private recordKeyOf(c: Candidate): string {
    return recordKey(this.options.destination, this.options.target.object, c.change.matchValue);
  }

  /** Tiers stored in the snapshot (the tiers the CRM holds) for these keys. */
  private async previousTiers(keys: readonly string[]): Promise<Map<string, string | null>> {
    const rows = await snapshotRows(this.options.state, this.options.sync, keys, 'key, tier');
    return new Map(
      rows.map((r) => [String(r.key), r.tier === null || r.tier === undefined ? null : String(r.tier)]),
    );
  }

  private async accountsOf(candidates: readonly Candidate[]): Promise<Map<string, AccountRecord>> {
    const { routing, writer } = this.options;
    if (!routing.account || !writer || candidates.length === 0) return new Map();
    const values = [
      ...new Set(
        candidates.map((c) => accountValue(c.row, routing.account?.column ?? '')).filter((v) => v !== ''),
      ),
    ];
    return values.length > 0 ? writer.findAccounts(routing.account.field, values) : new Map();
  }

  private accountOf(c: Candidate, accounts: Map<string, AccountRecord>): AccountRecord | undefined {
    const column = this.options.routing.account?.column;
    return column ? accounts.get(accountValue(c.row, column)) : undefined;
  }

  private taskOf(
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
    const owner = this.directory.get(ownerId);
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

  private plannedOf(
    c: Candidate,
    task: TaskSpec,
    resumed: boolean,
    pendingOwner?: string,
    account?: string,
  ): PlannedTask {
    const owner = this.directory.get(task.ownerId);
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

/** True when task_log holds pending or failed tasks of `sync` inside the cooldown (to send again). */
export async function hasOutstandingTasks(
  state: StateStore,
  sync: string,
  routing: RoutingConfig,
  now: Date,
): Promise<boolean> {
  const since = new Date(now.getTime() - routing.cooldown_days * 86_400_000);
  return (await new RouteStore(state).outstanding(sync, since)).length > 0;
}

/** Rule position for choosing an account's route: the implicit default comes last. */
function ruleOrder(m: MatchedRule, routing: RoutingConfig): number {
  return m.index < 0 ? routing.rules.length : m.index;
}

/** `account_<field>: null` for each such name the task templates use, when routing reads an account sync. */
function accountPlaceholders(routing: RoutingConfig): Record<string, null> {
  if (routing.account?.tasks !== 'per_account' || routing.account.sync === undefined) return {};
  const text = [routing.task.subject, routing.task.body, routing.task.user_line].join('\n');
  return Object.fromEntries([...text.matchAll(/\baccount_[A-Za-z0-9_]+/g)].map((m) => [m[0], null]));
}
