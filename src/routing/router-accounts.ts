/**
 * Per-account routing (`routing.account.tasks: per_account`): a batch's candidates that have an account are routed
 * as one per account, with one owner per account and at most one task per account per tier entry.
 *
 * Glossary:
 * - account value: the candidate's value in `routing.account.column` (the CRM account's `routing.account.field`).
 * - kept owner: the owner chosen for an account without a CRM owner, stored (account_owners) so every later task
 *   of the account goes to the same rep.
 * - ignored owner: a CRM owner listed in `routing.account.ignore_owners`, never taken as an account's owner.
 */
import type { RoutingConfig } from '../config/config-schema.js';
import { accountColumns, accountValue, listedUsers } from './account-users.js';
import { assignOwner } from './owners.js';
import { entryKey, type AccountOwner, type RouteStore, type TaskLogEntry } from './route-store.js';
import { pendingEntry, resentEntry } from './router-pending.js';
import type { RouteTasks } from './router-tasks.js';
import type { Candidate, RouteResult, RouterOptions, RouterRun } from './router-types.js';
import { matchRule, type MatchedRule } from './rules.js';
import type { AccountRecord, FieldChange, RoutedRecord } from './task-writer.js';
import { tierRank } from './tiers.js';

/** What per-account routing adds to a batch's prepared route. */
export interface AccountBatch {
  result: RouteResult;
  entries: TaskLogEntry[];
  ownerChanges: Map<string, string>;
  fieldChanges: Map<string, FieldChange['fields']>;
  /** Round-robin cursors moved in the batch, by rule name. */
  moved: Map<string, number>;
  /** Owners chosen (and kept) for accounts in the batch. */
  owners: AccountOwner[];
}

export class AccountRouter {
  /** CRM owners that never own an account (ids). */
  private readonly ignored = new Set<string>();
  /** Owners kept for accounts (by record key), read or assigned in this run. */
  private readonly owners = new Map<string, string>();
  /** `account value + tier` whose task this run prepared (a later batch adds none). */
  private readonly prepared = new Set<string>();

  constructor(
    private readonly options: RouterOptions,
    private readonly routes: RouteStore,
    private readonly run: RouterRun,
    private readonly tasks: RouteTasks,
  ) {}

  /** Resolves `routing.account.ignore_owners` against the CRM's owners (called once the directory is read). */
  resolveIgnoredOwners(): void {
    for (const ref of this.options.routing.account?.ignore_owners ?? []) {
      const owner = this.run.directory.find(ref);
      if (owner) this.ignored.add(owner.id);
    }
  }

  /**
   * Per-account routing of a batch's candidates that have an account: one route per account (the first rule any of
   * its users matches, with the account's columns), one owner per account (its CRM owner, else the owner kept for
   * it, else one chosen by that rule and kept), and at most one task per account per tier entry: none when a task
   * of the same or a higher tier was created inside the cooldown or prepared earlier in this run. The task lists
   * the account's top qualified users and is linked to the account and its top user.
   */
  async prepare(candidates: Candidate[], now: Date, since: Date, out: AccountBatch): Promise<void> {
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
    const recent = this.run.tablesReady
      ? await this.routes.recentEntries(
          sync,
          values.map((v) => ({ entityKey: v, recordKey: this.tasks.accountKey(v) })),
          since,
        )
      : new Map<string, TaskLogEntry>();
    const stored = this.run.tablesReady
      ? await this.routes.accountOwners(
          values.map((v) => this.tasks.accountKey(v)).filter((k) => !this.owners.has(k)),
        )
      : new Map<string, string>();
    for (const [k, v] of stored) this.owners.set(k, v);

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
        this.prepared.has(seen) ||
        earlier.some((e) => e.status === 'created' || e.runId === this.options.runId)
      ) {
        result.cooldown += group.length;
        continue;
      }
      this.prepared.add(seen);
      const resumed = recent.get(entryKey(value, tier));
      if (resumed) {
        // A pending or failed task of an earlier run: sent again as it was.
        out.entries.push(resentEntry(resumed, { runId: this.options.runId, now }, { sync }));
        result.planned.push(this.tasks.plannedOf(c, resumed.task, true, undefined, value));
        continue;
      }
      const crmAccount = accounts.get(value);
      const users = listed.get(value) ?? [];
      const topRecord = users[0] ? records.get(users[0].matchValue) : records.get(c.change.matchValue);
      const owner = this.ownerOf(value, crmAccount, c, topRecord, out);
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
      const task = this.tasks.taskOf(c, now, owner.ownerId, topRecord, crmAccount, owner.via, {
        value,
        vars: { ...this.tasks.accountVars(value, users), ...(users[0]?.row ?? {}), ...columns.get(value) },
      });
      out.entries.push(
        pendingEntry(
          task,
          { sync, runId: this.options.runId, now },
          {
            entityKey: value,
            recordKey: this.tasks.accountKey(value),
            tier,
            previousTier: c.previous,
            rule: c.matched.name,
          },
        ),
      );
      const planned = this.tasks.plannedOf(
        c,
        task,
        false,
        topRecord || crmAccount ? undefined : owner.via,
        value,
      );
      result.planned.push(planned);
      if (rule.alert) result.alerts.push(planned);
    }
  }

  /** The account's owner: its CRM owner (unless ignored), else the one kept for it, else one its rule chooses (kept). */
  private ownerOf(
    value: string,
    crmAccount: AccountRecord | undefined,
    c: Candidate,
    record: RoutedRecord | undefined,
    out: { moved: Map<string, number>; owners: AccountOwner[] },
  ): { ownerId: string | null; via: string } | { error: string } {
    const crmOwner = this.run.directory.get(crmAccount?.ownerId);
    if (crmOwner?.active && !this.ignored.has(crmOwner.id))
      return { ownerId: crmOwner.id, via: 'account owner' };
    const key = this.tasks.accountKey(value);
    const kept = this.run.directory.get(this.owners.get(key));
    if (kept?.active) return { ownerId: kept.id, via: 'account owner (kept)' };
    const cursorName = c.matched.name;
    const assignment = assignOwner(c.matched.rule.assign, {
      record,
      account: crmOwner && !this.ignored.has(crmOwner.id) ? crmAccount : undefined,
      directory: this.run.directory,
      cursor: this.run.cursors.get(cursorName) ?? 0,
    });
    if ('error' in assignment) return assignment;
    if (assignment.cursor !== undefined) {
      this.run.cursors.set(cursorName, assignment.cursor);
      out.moved.set(cursorName, assignment.cursor);
    }
    if (assignment.ownerId) {
      this.owners.set(key, assignment.ownerId);
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
}

/** Rule position for choosing an account's route: the implicit default comes last. */
function ruleOrder(m: MatchedRule, routing: RoutingConfig): number {
  return m.index < 0 ? routing.rules.length : m.index;
}
