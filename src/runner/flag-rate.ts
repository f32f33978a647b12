/**
 * The flag-rate guard of every run: the share of the model's rows in each tier, counted in the warehouse by one
 * aggregate query over the compiled model, next to the plan. "Flagged" means the routing's task tiers; a sync
 * without routing uses the model's qualified flag (`is_pql`, `is_pqa`, `is_qualified`, `is_flagged`) when it has
 * one, else every tier above the lowest (tiers ordered by their lowest score). Above `max_flag_rate` the run warns, alerts, and with `--fail-on-flag-rate` exits 3: the PQL practice
 * (reference/pql-practice.md §5) calls a model that flags 35-40% of users too loose ("if 60% of free users
 * become PQLs").
 *
 * The shares are written to the runs table (`flag_rate`, `tier_shares` as JSON; a runs table from before them
 * gains the columns in StateStore.ensureStateTables).
 */
import type { RoutingConfig } from '../config/config-schema.js';
import { PqlsyncError, toPqlsyncError } from '../errors/pqlsync-error.js';
import type { StateStore } from '../state/state-store.js';
import { SqlBuilder, type SqlDialect } from '../warehouse/sql-dialect.js';
import type { BoundSql, WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import { describeFlagRate, type FlagRateReport } from './flag-rate-text.js';

export type { FlagRateReport, TierShare } from './flag-rate-text.js';

/** The name a row without a tier (null score or tier) is counted under. */
export const NO_TIER = '(none)';

const FLAG_COLUMNS = ['is_pql', 'is_pqa', 'is_qualified', 'is_flagged'];
const TIER_COLUMNS = ['pql_tier', 'pqa_tier', 'tier'];
const SCORE_COLUMNS = ['pql_score', 'pqa_score', 'score'];

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A model column as `columns` spells it (the adapter's case), or undefined. */
function findColumn(columns: readonly string[], name: string): string | undefined {
  return columns.find((c) => c === name) ?? columns.find((c) => c.toLowerCase() === name.toLowerCase());
}

/** The tier expression and flagged tiers for a sync, or undefined when the model has no tier to count. */
function tierSql(
  routing: RoutingConfig | undefined,
  columns: readonly string[],
  col: (name: string) => string,
  d: SqlDialect,
): { expr: string; order: string[]; flaggedTiers?: string[] } | undefined {
  if (routing && !routing.tier_column) {
    const score = findColumn(columns, routing.score_column);
    if (!score) return undefined;
    const s = `cast(${col(score)} as ${d.types.double})`;
    const whens = routing.tiers.map((t) => {
      if (t.min_score === undefined) return `else ${literal(t.name)}`;
      if (typeof t.min_score !== 'number' || !Number.isFinite(t.min_score))
        throw new PqlsyncError('INTERNAL', `tier '${t.name}': min_score was not resolved to a number`);
      return `when ${s} >= ${t.min_score} then ${literal(t.name)}`;
    });
    const open = whens.some((w) => w.startsWith('else')) ? '' : ' else null';
    return {
      expr: `case when ${s} is null then null ${whens.join(' ')}${open} end`,
      order: routing.tiers.map((t) => t.name),
      flaggedTiers: routing.task_tiers,
    };
  }
  const tierColumn = routing?.tier_column ?? TIER_COLUMNS.find((c) => findColumn(columns, c));
  const found = tierColumn ? findColumn(columns, tierColumn) : undefined;
  if (!found) return undefined;
  return {
    expr: d.castText(col(found)),
    order: routing ? routing.tiers.map((t) => t.name) : [],
    ...(routing ? { flaggedTiers: routing.task_tiers } : {}),
  };
}

/**
 * Counts the model's rows per tier in one aggregate query and judges the flag rate against `max`. Returns
 * undefined when the model has neither a tier nor a flag column to count.
 */
export async function measureFlagRate(options: {
  wh: WarehouseAdapter;
  d: SqlDialect;
  model: BoundSql;
  columns: readonly string[];
  routing: RoutingConfig | undefined;
  max: number;
}): Promise<FlagRateReport | undefined> {
  const { wh, d, model, columns, routing, max } = options;
  const col = (name: string) => `m.${d.quoteColumn ? d.quoteColumn(name) : d.quote(name)}`;
  const tiers = tierSql(routing, columns, col, d);
  const flagColumn = tiers?.flaggedTiers
    ? undefined
    : FLAG_COLUMNS.map((c) => findColumn(columns, c)).find((c) => c !== undefined);
  if (!tiers && !flagColumn) return undefined;
  // Tiers without routing's order go best first: by lowest score (NaN-safe, unlike a mean), else by the share flagged.
  const score = SCORE_COLUMNS.map((c) => findColumn(columns, c)).find((c) => c !== undefined);
  const sql = `select ${tiers ? tiers.expr : 'null'} as tier, count(*) as n,
      sum(${flagColumn ? `case when ${col(flagColumn)} then 1 else 0 end` : '0'}) as flagged,
      min(${score ? `cast(${col(score)} as ${d.types.double})` : '0'}) as min_score
    from (${model.sql}
    ) m group by 1`;
  const { rows } = await wh.query({ ...model, sql });
  const counts = rows.map((r) => ({
    tier: r.tier === null || r.tier === undefined ? NO_TIER : String(r.tier),
    n: Number(r.n ?? 0),
    flagged: Number(r.flagged ?? 0),
    minScore: Number(r.min_score ?? 0),
  }));
  const total = counts.reduce((s, c) => s + c.n, 0);
  const order = tiers?.order ?? [];
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : t === NO_TIER ? 1e9 : 1e6);
  counts.sort(
    (a, b) =>
      rank(a.tier) - rank(b.tier) ||
      b.minScore - a.minScore ||
      b.flagged / Math.max(1, b.n) - a.flagged / Math.max(1, a.n) ||
      (a.tier < b.tier ? -1 : a.tier > b.tier ? 1 : 0),
  );
  // Without task tiers or a flag column: every tier above the lowest, as `evaluate` counts it.
  const named = counts.filter((c) => c.tier !== NO_TIER).map((c) => c.tier);
  const flaggedTiers = tiers?.flaggedTiers ?? (flagColumn ? undefined : named.slice(0, -1));
  const flagged = flaggedTiers
    ? counts.filter((c) => flaggedTiers.includes(c.tier)).reduce((s, c) => s + c.n, 0)
    : counts.reduce((s, c) => s + c.flagged, 0);
  const rate = total > 0 ? flagged / total : 0;
  const rule = flagColumn
    ? `${flagColumn} is true`
    : tiers?.flaggedTiers
      ? `tier in (${tiers.flaggedTiers.join(', ')})`
      : `every tier above ${named.at(-1) ?? 'the lowest'}`;
  return {
    rows: total,
    tiers: tiers ? counts.map((c) => ({ tier: c.tier, n: c.n, share: total > 0 ? c.n / total : 0 })) : [],
    flagged,
    rate,
    rule,
    max,
    exceeded: rate > max,
  };
}

/** Writes the run's flag rate and tier shares into its runs row (StateStore.ensureStateTables made the columns). */
export async function recordFlagRate(store: StateStore, runId: string, r: FlagRateReport): Promise<void> {
  const b = new SqlBuilder(store.d);
  const shares = JSON.stringify(Object.fromEntries(r.tiers.map((x) => [x.tier, x.n])));
  await store.wh.query(
    b.build(
      `update ${store.table('runs')} set flag_rate = ${b.param(r.rate, 'number')}, tier_shares = ${b.param(shares, 'string')}
       where run_id = ${b.param(runId, 'string')}`,
    ),
  );
}

/**
 * The runner's hook: measures the flag rate, logs it (a warning above the maximum) and, for a real run
 * (`runId`), writes it into the runs row.
 */
export async function guardFlagRate(options: {
  store: StateStore;
  model: BoundSql;
  columns: readonly string[];
  routing: RoutingConfig | undefined;
  max: number;
  sync: string;
  runId?: string;
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}): Promise<FlagRateReport | undefined> {
  const { store, sync, log } = options;
  let r: FlagRateReport | undefined;
  try {
    r = await measureFlagRate({ ...options, wh: store.wh, d: store.d });
  } catch (err) {
    // A value the count cannot read (text in the score column) is the batch writer's to refuse per row, with its key;
    // the guard is a report, so it never fails the run.
    log.warn({ error: toPqlsyncError(err).format() }, `${sync}: the flag rate could not be measured`);
    return undefined;
  }
  if (!r) return undefined;
  const fields = { flagRate: r.rate, flagged: r.flagged, rows: r.rows, maxFlagRate: r.max };
  if (r.exceeded) log.warn(fields, describeFlagRate(sync, r));
  else log.info(fields, describeFlagRate(sync, r));
  if (options.runId !== undefined) await recordFlagRate(store, options.runId, r);
  return r;
}
