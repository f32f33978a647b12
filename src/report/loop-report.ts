/**
 * `pqlsync report <sync>`: the closed loop in numbers, computed in the warehouse over the state schema: the
 * sync's task_log (what pqlsync routed), the read-back tables (what reps and deals did, from `pqlsync pull`) and
 * the sync's snapshot (the scored population).
 *
 * Glossary:
 * - flagged entity: a model key that got a task logged in the period (its tier, route and owner are the task's).
 * - not-flagged base: the snapshot's keys without a task in the period; their rates are the base rates.
 * - time to completion: CompletedDateTime (hs_task_completion_date) minus the time pqlsync logged the task, in
 *   business hours of the sync's routing calendar (routing.calendar, as the SLAs count them) when it has one, else
 *   in clock hours; the percentiles interpolate as SQL's percentile_cont does.
 * - SLA met: a task completed at or before its due time; an open task counts as not met.
 * - reached opportunity: the entity's record converted into an opportunity, or an opportunity/deal on its account
 *   (or associated with it), or on the account of its task (Task.AccountId / the task's company: an account task),
 *   was created at or after the entity was flagged (for the base: within the period).
 * - won: such an opportunity is closed won; pipeline and won amount sum the distinct opportunities' amounts.
 * - week's population: the rows the model scored at the newest run started before the week ended (the flag-rate
 *   guard's per-tier counts in runs.tier_shares); a week before any such run uses the snapshot's size today.
 */
import type { LoadedConfig } from '../config/load-config.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { BusinessCalendar } from '../routing/calendar.js';
import { ownerNames } from './owner-names.js';
import { StateStore, toDate } from '../state/state-store.js';
import { SqlBuilder } from '../warehouse/sql-dialect.js';
import type { Row, WarehouseAdapter } from '../warehouse/warehouse-adapter.js';

export const REPORT_GROUPINGS = ['tier', 'route', 'owner'] as const;
export type ReportGrouping = (typeof REPORT_GROUPINGS)[number];

export interface LoopMetrics {
  /** The tier, route (routing rule) or owner id; `not flagged` for the base row. */
  group: string;
  /** By owner: the owner's name in the CRM (crm_owners), when known; the tables show it instead of the id. */
  name?: string;
  entities: number;
  tasksCreated: number;
  tasksDone: number;
  medianHoursToDone: number | null;
  p90HoursToDone: number | null;
  /** Percent of created tasks completed by their due time; null without tasks. */
  slaMetPct: number | null;
  opportunities: number;
  /** Percent of entities that reached an opportunity. */
  pqlToOppPct: number | null;
  won: number;
  /** Percent of entities with an opportunity whose opportunity was won. */
  oppToWonPct: number | null;
  pipelineAmount: number;
  wonAmount: number;
  /** pqlToOppPct over the base's (null when the base rate is 0 or unknown). */
  oppLiftVsBase: number | null;
}

export interface WeeklyTrend {
  /** Monday of the week, `YYYY-MM-DD`. */
  week: string;
  flagged: number;
  /** The scored population of the week (see the glossary). */
  population: number;
  /** Flagged this week over the week's population, percent. */
  flagRatePct: number | null;
  opportunities: number;
  pqlToOppPct: number | null;
}

export interface LoopReport {
  sync: string;
  destination: string;
  since: string;
  until: string;
  /** `business`: times to completion count the routing calendar's working hours; `clock` without a calendar. */
  hours: 'business' | 'clock';
  population: number;
  base: LoopMetrics;
  byTier: LoopMetrics[];
  byRoute: LoopMetrics[];
  byOwner: LoopMetrics[];
  weekly: WeeklyTrend[];
  /** When the destination was last read back (the newest pull of its tasks), ISO-8601; null if never. */
  pulledAt: string | null;
}

export interface ReportOptions {
  loaded: LoadedConfig;
  warehouse: WarehouseAdapter;
  sync: string;
  since: Date;
  until: Date;
}

/** Builds the report. Throws ARGS_INVALID for an unknown sync, STATE_INVALID when it never ran or was never pulled. */
export async function buildLoopReport(options: ReportOptions): Promise<LoopReport> {
  const { loaded, warehouse, sync, since, until } = options;
  const config = loaded.config.syncs[sync];
  if (!config)
    throw new PqlsyncError(
      'ARGS_INVALID',
      `no sync named '${sync}' in ${loaded.configPath} (syncs: ${Object.keys(loaded.config.syncs).join(', ') || 'none'})`,
    );
  if (since >= until)
    throw new PqlsyncError(
      'ARGS_INVALID',
      `--since (${since.toISOString()}) must be before --until (${until.toISOString()})`,
    );
  const state = new StateStore(warehouse, loaded.config.state.schema);
  const missing: string[] = [];
  for (const t of [
    `${sync}__snapshot`,
    'task_log',
    'crm_tasks',
    'crm_people',
    'crm_opportunities',
    'crm_watermarks',
  ])
    if (!(await warehouse.tableExists(state.schema, t))) missing.push(t);
  if (missing.length > 0)
    throw new PqlsyncError(
      'STATE_INVALID',
      `sync ${sync} has nothing to report yet: ${missing.map((t) => `${state.schema}.${t}`).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`,
      {
        location: { sync },
        hint: `run the sync with routing (pqlsync run ${sync}), then read the CRM back (pqlsync pull ${sync})`,
      },
    );
  const destination = config.destination;
  const cal = config.routing?.calendar;
  const calendar = cal
    ? new BusinessCalendar(
        cal,
        cal.time_zone ?? config.timezone ?? loaded.config.scheduler?.timezone ?? 'UTC',
      )
    : undefined;
  const groups = async (by: ReportGrouping | 'base'): Promise<LoopMetrics[]> => {
    const rows = (await warehouse.query(metricsSql(state, by, sync, destination, since, until))).rows;
    if (by === 'base') return rows.map(toMetrics);
    const times = await completionHours(state, by, sync, destination, since, until, calendar);
    return rows.map((r) => {
      const hours = times.get(String(r.grp)) ?? [];
      return {
        ...toMetrics(r),
        medianHoursToDone: percentile(hours, 0.5),
        p90HoursToDone: percentile(hours, 0.9),
      };
    });
  };
  const [base = emptyBase()] = await groups('base');
  const withLift = (rows: LoopMetrics[]): LoopMetrics[] =>
    rows.map((r) => ({
      ...r,
      oppLiftVsBase:
        r.pqlToOppPct !== null && base.pqlToOppPct ? round(r.pqlToOppPct / base.pqlToOppPct, 2) : null,
    }));
  const population = Number(
    (await warehouse.query(`select count(*) as n from ${state.snapshotTable(sync)}`)).rows[0]?.n ?? 0,
  );
  const b = new SqlBuilder(state.d);
  const pulled = await warehouse.query(
    b.build(
      `select max(pulled_at) as at from ${state.table('crm_watermarks')} where destination = ${b.param(destination, 'string')}`,
    ),
  );
  const at = pulled.rows[0]?.at;
  return {
    sync,
    destination,
    since: since.toISOString(),
    until: until.toISOString(),
    hours: calendar ? 'business' : 'clock',
    population,
    base,
    byTier: withLift(await groups('tier')),
    byRoute: withLift(await groups('route')),
    byOwner: withNames(withLift(await groups('owner')), await ownerNames(state, destination)),
    weekly: await weeklyTrend(state, sync, destination, since, until, population),
    pulledAt: at === null || at === undefined ? null : toDate(at).toISOString(),
  };
}

function withNames(rows: LoopMetrics[], names: ReadonlyMap<string, string>): LoopMetrics[] {
  return rows.map((r) => {
    const name = names.get(r.group);
    return name === undefined ? r : { ...r, name };
  });
}

/**
 * The entities of the period with their group and the time from which an opportunity counts, and for each its
 * tasks and opportunities. One statement per grouping; `base` is the snapshot's keys without a task.
 */
function metricsSql(
  state: StateStore,
  by: ReportGrouping | 'base',
  sync: string,
  destination: string,
  since: Date,
  until: Date,
) {
  const b = new SqlBuilder(state.d);
  const p = {
    sync: () => b.param(sync, 'string'),
    dest: () => b.param(destination, 'string'),
    since: () => b.param(since, 'timestamp'),
    until: () => b.param(until, 'timestamp'),
  };
  const t = (name: string): string => state.table(name);
  const tasks = tasksSql(state, b, by, sync, destination, since, until);
  const entities =
    by === 'base'
      ? `select s.key as entity_key, 'not flagged' as grp, s.destination_id,
           cast(null as ${state.d.types.text}) as account_id, cast(${p.since()} as ${state.d.types.timestamp}) as flagged_at
         from ${t(`${sync}__snapshot`)} s
         where s.key not in (select entity_key from (${tasks}) x)`
      : // The record: the snapshot's, else the task's (a key that left the model keeps its record in the CRM).
        `select f.entity_key, f.grp, coalesce(max(s.destination_id), max(f.person_id)) as destination_id,
           max(f.account_id) as account_id, min(f.logged_at) as flagged_at
         from (${tasks}) f left join ${t(`${sync}__snapshot`)} s on s.key = f.entity_key
         group by f.entity_key, f.grp`;
  const opps = `select e.entity_key, e.grp, o.opportunity_id, o.amount, o.is_won
      from (${entities}) e
      left join ${t('crm_people')} pp on pp.destination = ${p.dest()} and pp.record_id = e.destination_id
      join ${t('crm_opportunities')} o on o.destination = ${p.dest()} and ${reachedOpportunity('e', 'pp', 'o')}
      where o.created_at >= e.flagged_at and o.created_at < ${p.until()}`;
  const taskStats =
    by === 'base'
      ? `select 'not flagged' as grp, 0 as created, 0 as done, 0 as sla_met`
      : `select grp, count(*) as created, count(*) filter (where is_closed) as done,
           count(*) filter (where is_closed and completed_at <= due_at) as sla_met
         from (${tasks}) x group by grp`;
  return b.build(
    `with ent as (select grp, count(distinct entity_key) as entities from (${entities}) e group by grp),
     opp_ent as (select grp, count(distinct entity_key) as opportunities,
                   count(distinct case when is_won then entity_key end) as won from (${opps}) x group by grp),
     opp_amt as (select grp, sum(amount) as pipeline, sum(case when is_won then amount else 0 end) as won_amount
                 from (select distinct grp, opportunity_id, amount, is_won from (${opps}) y) z group by grp),
     ts as (${taskStats})
     select ent.grp, ent.entities, coalesce(ts.created, 0) as created, coalesce(ts.done, 0) as done,
       coalesce(ts.sla_met, 0) as sla_met,
       coalesce(opp_ent.opportunities, 0) as opportunities, coalesce(opp_ent.won, 0) as won,
       coalesce(opp_amt.pipeline, 0) as pipeline, coalesce(opp_amt.won_amount, 0) as won_amount
     from ent left join ts on ts.grp = ent.grp left join opp_ent on opp_ent.grp = ent.grp
       left join opp_amt on opp_amt.grp = ent.grp
     order by ent.grp`,
  );
}

/** The tasks pqlsync created in the period, each with its group (`grp`) and what was read back of it. */
function tasksSql(
  state: StateStore,
  b: SqlBuilder,
  by: ReportGrouping | 'base',
  sync: string,
  destination: string,
  since: Date,
  until: Date,
): string {
  const groupExpr =
    by === 'tier'
      ? 'l.tier'
      : by === 'route'
        ? "coalesce(l.rule, '(none)')"
        : "coalesce(ct.owner_id, l.owner_id, '(none)')";
  return `select l.entity_key, ${by === 'base' ? "'not flagged'" : groupExpr} as grp, l.task_key, l.logged_at, l.due_at,
        ct.is_closed, ct.completed_at, ct.person_id, ct.account_id
      from ${state.table('task_log')} l
      left join ${state.table('crm_tasks')} ct on ct.destination = ${b.param(destination, 'string')} and ct.task_key = l.task_key
      where l.sync = ${b.param(sync, 'string')} and l.status = 'created'
        and l.logged_at >= ${b.param(since, 'timestamp')} and l.logged_at < ${b.param(until, 'timestamp')}`;
}

/**
 * The hours from logging to completion of each group's completed tasks: working hours of the calendar when there
 * is one (computed here, as the warehouse has no calendar), else clock hours.
 */
async function completionHours(
  state: StateStore,
  by: ReportGrouping,
  sync: string,
  destination: string,
  since: Date,
  until: Date,
  calendar: BusinessCalendar | undefined,
): Promise<Map<string, number[]>> {
  const b = new SqlBuilder(state.d);
  const { rows } = await state.wh.query(
    b.build(
      `select grp, logged_at, completed_at from (${tasksSql(state, b, by, sync, destination, since, until)}) x
       where is_closed and completed_at is not null`,
    ),
  );
  const byGroup = new Map<string, number[]>();
  for (const r of rows) {
    const from = toDate(r.logged_at);
    const to = toDate(r.completed_at);
    const ms = calendar ? calendar.workingMs(from, to) : to.getTime() - from.getTime();
    const list = byGroup.get(String(r.grp)) ?? [];
    list.push(ms / 3_600_000);
    byGroup.set(String(r.grp), list);
  }
  return byGroup;
}

/** The `q` quantile with linear interpolation between the closest ranks (SQL's percentile_cont); null when empty. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return round(sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo), 1);
}

function weeklySql(state: StateStore, sync: string, destination: string, since: Date, until: Date) {
  const b = new SqlBuilder(state.d);
  const t = (name: string): string => state.table(name);
  const dest = (): string => b.param(destination, 'string');
  return b.build(
    `with first_flag as (
       select entity_key, min(logged_at) as flagged_at from ${t('task_log')}
       where sync = ${b.param(sync, 'string')} and status = 'created'
         and logged_at >= ${b.param(since, 'timestamp')} and logged_at < ${b.param(until, 'timestamp')}
       group by entity_key),
     task_person as (select l.entity_key, max(ct.person_id) as person_id, max(ct.account_id) as account_id
       from ${t('task_log')} l
       join ${t('crm_tasks')} ct on ct.destination = ${dest()} and ct.task_key = l.task_key
       where l.sync = ${b.param(sync, 'string')} group by l.entity_key),
     flagged as (select f.entity_key, f.flagged_at, date_trunc('week', f.flagged_at) as week,
         coalesce(s.destination_id, tp.person_id) as destination_id, tp.account_id
       from first_flag f left join ${t(`${sync}__snapshot`)} s on s.key = f.entity_key
       left join task_person tp on tp.entity_key = f.entity_key),
     converted as (select distinct f.entity_key from flagged f
       left join ${t('crm_people')} pp on pp.destination = ${dest()} and pp.record_id = f.destination_id
       join ${t('crm_opportunities')} o on o.destination = ${dest()} and ${reachedOpportunity('f', 'pp', 'o')}
       where o.created_at >= f.flagged_at and o.created_at < ${b.param(until, 'timestamp')})
     select f.week, count(*) as flagged, count(c.entity_key) as opportunities
     from flagged f left join converted c on c.entity_key = f.entity_key
     group by f.week order by f.week`,
  );
}

/**
 * How an entity `e` (with its record `pp` in crm_people, if read back) reaches opportunity `o`: its record
 * converted into it, or it is on the record's account or associated with the record, or it is on the account of
 * the entity's task (Salesforce Task.AccountId, HubSpot's associated company): an account task about Leads has no
 * WhoId, only the Account in WhatId.
 */
function reachedOpportunity(e: string, pp: string, o: string): string {
  return `(${o}.opportunity_id = ${pp}.converted_opportunity_id or ${o}.account_id = ${pp}.account_id
    or ${o}.person_id = ${pp}.record_id or ${o}.account_id = ${e}.account_id)`;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
const pct = (part: number, whole: number): number | null =>
  whole > 0 ? round((100 * part) / whole, 1) : null;

function toMetrics(r: Row): LoopMetrics {
  const entities = num(r.entities);
  const created = num(r.created);
  const opportunities = num(r.opportunities);
  const won = num(r.won);
  return {
    group: String(r.grp),
    entities,
    tasksCreated: created,
    tasksDone: num(r.done),
    medianHoursToDone: null,
    p90HoursToDone: null,
    slaMetPct: pct(num(r.sla_met), created),
    opportunities,
    pqlToOppPct: pct(opportunities, entities),
    won,
    oppToWonPct: pct(won, opportunities),
    pipelineAmount: num(r.pipeline),
    wonAmount: num(r.won_amount),
    oppLiftVsBase: null,
  };
}

function emptyBase(): LoopMetrics {
  return toMetrics({ grp: 'not flagged' });
}

/**
 * The weekly trend: keys by the week they were first flagged, each week's flag rate over that week's population
 * (the model's rows at the newest run started before the week ended, from runs.tier_shares; else `current`).
 */
async function weeklyTrend(
  state: StateStore,
  sync: string,
  destination: string,
  since: Date,
  until: Date,
  current: number,
): Promise<WeeklyTrend[]> {
  const weeks = (await state.wh.query(weeklySql(state, sync, destination, since, until))).rows;
  const b = new SqlBuilder(state.d);
  const runs = (
    await state.wh.query(
      b.build(
        `select started_at, tier_shares from ${state.table('runs')}
         where sync = ${b.param(sync, 'string')} and tier_shares is not null and started_at < ${b.param(until, 'timestamp')}
         order by started_at`,
      ),
    )
  ).rows
    .map((r) => ({ at: toDate(r.started_at).getTime(), rows: modelRows(String(r.tier_shares)) }))
    .filter((r) => r.rows > 0);
  return weeks.map((r) => {
    const week = (r.week instanceof Date ? r.week.toISOString() : String(r.week)).slice(0, 10);
    const end = Date.parse(`${week}T00:00:00Z`) + 7 * 86_400_000;
    const population = runs.findLast((x) => x.at < end)?.rows ?? current;
    const flagged = num(r.flagged);
    const opportunities = num(r.opportunities);
    return {
      week,
      flagged,
      population,
      flagRatePct: pct(flagged, population),
      opportunities,
      pqlToOppPct: pct(opportunities, flagged),
    };
  });
}

/** The model's rows a run counted: the sum of its tier counts (`{"hot": 12, "pql": 40, "nurture": 600}`). */
function modelRows(tierShares: string): number {
  try {
    const counts = JSON.parse(tierShares) as Record<string, unknown>;
    return Object.values(counts).reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0);
  } catch {
    return 0;
  }
}
