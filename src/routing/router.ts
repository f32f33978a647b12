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
 *
 * Files: this one routes users one by one and sends; router-accounts.ts routes per account; router-tasks.ts
 * builds the task text, keys and plan rows; router-pending.ts the pending task_log rows; router-types.ts the types
 * they share.
 */
import type { RoutingConfig } from '../config/config-schema.js';
import type { Change, RecordOutcome } from '../destination/destination.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { StateStore } from '../state/state-store.js';
import { accountValue, snapshotRows } from './account-users.js';
import { recordOwners } from '../report/owner-names.js';
import { assignOwner, OwnerDirectory } from './owners.js';
import { entryKey, RouteStore, type AccountOwner, type TaskLogEntry } from './route-store.js';
import { AccountRouter } from './router-accounts.js';
import { pendingEntry, resentEntry } from './router-pending.js';
import { RouteTasks } from './router-tasks.js';
import {
  emptyRouteResult,
  type Candidate,
  type PreparedRoute,
  type RouteResult,
  type RouterOptions,
  type RouterRun,
} from './router-types.js';
import { matchRule } from './rules.js';
import { createsTask, tierOfRow } from './tiers.js';
import type { AccountRecord, FieldChange, RoutedRecord, TaskOutcome } from './task-writer.js';

export { taskKey } from './router-tasks.js';
export type { PlannedTask, PreparedRoute, RouteResult, RouterOptions } from './router-types.js';

export class Router {
  private readonly routes: RouteStore;
  private readonly run: RouterRun = {
    directory: new OwnerDirectory([]),
    cursors: new Map(),
    tablesReady: false,
  };
  private readonly tasks: RouteTasks;
  private readonly accounts: AccountRouter;

  constructor(private readonly options: RouterOptions) {
    this.routes = new RouteStore(options.state);
    this.tasks = new RouteTasks(options, this.run);
    this.accounts = new AccountRouter(options, this.routes, this.run, this.tasks);
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
    this.run.tablesReady = dryRun ? await this.routes.tablesExist() : true;
    if (this.run.tablesReady) this.run.cursors = await this.routes.cursors(sync);
    if (writer) {
      this.run.directory = new OwnerDirectory(await writer.listOwners());
      // The names the loop report shows by owner.
      if (!dryRun)
        await recordOwners(
          this.options.state,
          this.options.destination,
          this.run.directory.owners,
          this.options.now(),
        );
      this.run.directory.resolveConfig(routing, sync);
      this.accounts.resolveIgnoredOwners();
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
    const empty = emptyRouteResult();
    if (dryRun || !writer || !this.run.tablesReady) return empty;
    const now = this.options.now();
    const since = new Date(now.getTime() - routing.cooldown_days * 86_400_000);
    const entries = (await this.routes.outstanding(sync, since)).map((e) =>
      resentEntry(e, { runId: this.options.runId, now }),
    );
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
    const result = emptyRouteResult();
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
    const recent = this.run.tablesReady
      ? await this.routes.recentEntries(
          sync,
          perUser.map((c) => ({ entityKey: c.change.key, recordKey: this.tasks.recordKeyOf(c) })),
          since,
        )
      : new Map<string, TaskLogEntry>();

    const fresh: Candidate[] = [];
    const resumed: Array<{ candidate: Candidate; entry: TaskLogEntry }> = [];
    const ownerOnly: Candidate[] = [];
    /** Rules with `set` but neither a task nor `set_owner`: their fields only (a self-serve marker). */
    const fieldsOnly: Candidate[] = [];
    const fieldChanges = new Map<string, FieldChange['fields']>();
    for (const c of perUser) {
      if (!c.matched.rule.task) {
        result.noTask++;
        if (c.matched.rule.set_owner) ownerOnly.push(c);
        else if (c.matched.rule.set) fieldsOnly.push(c);
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
      writer && lookups.length + fieldsOnly.length > 0
        ? await writer.findRecords(
            target,
            [...lookups, ...fieldsOnly].map((c) => c.change.matchValue),
          )
        : new Map<string, RoutedRecord>();
    const accounts = await this.accountsOf(lookups);
    for (const c of fieldsOnly) {
      const record = records.get(c.change.matchValue);
      if (record && c.matched.rule.set) fieldChanges.set(record.id, c.matched.rule.set);
    }

    const moved = new Map<string, number>();
    const entries: TaskLogEntry[] = resumed.map(({ candidate, entry }) =>
      resentEntry(
        entry,
        { runId: this.options.runId, now },
        { sync, entityKey: candidate.change.key, recordKey: this.tasks.recordKeyOf(candidate) },
      ),
    );
    for (const { candidate, entry } of resumed) {
      if (candidate.matched.rule.set_owner && entry.task.ownerId) {
        ownerChanges.set(entry.task.record.id, entry.task.ownerId);
      }
      result.planned.push(this.tasks.plannedOf(candidate, entry.task, true));
    }
    for (const c of [...fresh, ...ownerOnly]) {
      const record = records.get(c.change.matchValue);
      const account = this.accountOf(c, accounts);
      const cursorName = c.matched.name;
      const assignment = assignOwner(c.matched.rule.assign, {
        record,
        account,
        directory: this.run.directory,
        cursor: this.run.cursors.get(cursorName) ?? 0,
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
        this.run.cursors.set(cursorName, assignment.cursor);
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
      const task = this.tasks.taskOf(c, now, assignment.ownerId, record, account, assignment.via);
      entries.push(
        pendingEntry(
          task,
          { sync, runId: this.options.runId, now },
          {
            entityKey: c.change.key,
            recordKey: this.tasks.recordKeyOf(c),
            tier: c.tier,
            previousTier: c.previous,
            rule: c.matched.name,
          },
        ),
      );
      const planned = this.tasks.plannedOf(c, task, false, record ? undefined : assignment.via);
      result.planned.push(planned);
      if (c.matched.rule.alert) result.alerts.push(planned);
    }
    const owners: AccountOwner[] = [];
    if (byAccount.length > 0) {
      await this.accounts.prepare(byAccount, now, since, {
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
