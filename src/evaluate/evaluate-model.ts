/**
 * Backtests a scoring model inside the warehouse: scores it as of a past date (only data before that date),
 * labels each scored entity with whether it converted within the horizon, and reads back small aggregates
 * (per tier, per score decile, per baseline). Only counts cross the wire; the metrics are computed by
 * `evaluation-metrics.ts`.
 *
 * Glossary:
 * - as-of date: the model's declared `as_of` param; the compiler makes `now()` / `days_ago()` count from it.
 * - horizon: conversions in `[asOf, asOf + horizonDays)` count.
 * - data through: the day after the newest row in the conversions (and activity) tables; the default as-of date
 *   is `dataThrough - horizonDays`, the latest date whose whole horizon is in the data.
 * - conversion rule: account models match conversions by `account_id`; user models by `user_id` (the buyer) or,
 *   when both sides have `account_id`, by the user's account: everyone on a team that buys counts as converted,
 *   because a PQL is worth routing when it leads to the account's purchase, whoever pays.
 *
 * Called by `pqlsync evaluate` and by `pqlsync demo` (for the demo's report). Throws PqlsyncError: ARGS_INVALID
 * for options and tables that do not fit (exit 2), model errors from the loader and compiler, and
 * WAREHOUSE_QUERY_FAILED from the engine.
 */
import { createHash } from 'node:crypto';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { compileModel } from '../model/compile-model.js';
import { loadModel, type ModelEntity, type ModelFile } from '../model/model-file.js';
import { SqlBuilder, sqlDialect, tempTableName, type SqlDialect } from '../warehouse/sql-dialect.js';
import type { BoundParam, Row, WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import {
  gainsCurve,
  healthChecks,
  orderTiers,
  thresholdMetrics,
  tierMetrics,
  totalsOf,
  type HealthInput,
} from './evaluation-metrics.js';
import type { Baseline, EvaluationReport, ScoredVariant } from './evaluation-report.js';

export interface EvaluateOptions {
  wh: WarehouseAdapter;
  modelsDir: string;
  /** The model's name (`models/<name>.sql`). */
  model: string;
  /** Backtest date `YYYY-MM-DD`. (Default: `horizonDays` before the data's end) */
  asOf?: string;
  /** Days after the as-of date in which a conversion counts. */
  horizonDays: number;
  /** Table of conversions: the key column(s) and `converted_at`. (Default: app.conversions) */
  conversionsTable?: string;
  /**
   * Table of product events (`ts` and the model's key column) for the "any activity in 30 days" baseline and the
   * data's end. Missing table: the baseline is left out. (Default: app.events)
   */
  activityTable?: string;
  /** `--vars` (win over everything but the as-of date). (Default: none) */
  vars?: Record<string, unknown>;
  /** The params a sync of this model sets in the project config. (Default: none) */
  configParams?: Record<string, unknown>;
  /** A second parameter set (`vars`) and/or another model to put side by side. (Default: none) */
  vs?: { model?: string; vars?: Record<string, unknown> };
  /** Model columns to read instead of the detected ones. (Default: `*_tier`, `*_score`, `is_pq*`) */
  columns?: { tier?: string; score?: string; flag?: string };
  /** Clock for `generatedAt`. (Default: the system clock) */
  now?: () => Date;
}

/** Days in which "any activity" counts for the activity baseline. */
const ACTIVITY_DAYS = 30;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const QUALIFIED = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$/;
const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` plus `days` (may be negative). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day of a warehouse value (Date, `YYYY-MM-DD...` text), or undefined for null. */
function dayOf(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  const text = String(value);
  return DATE.test(text.slice(0, 10)) ? text.slice(0, 10) : undefined;
}

function checkDate(value: string, flag: string): string {
  const ok = DATE.test(value) && new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) === value;
  if (!ok) {
    throw new PqlsyncError('ARGS_INVALID', `${flag} must be a date like 2026-10-02, got '${value}'`);
  }
  return value;
}

function checkTableName(name: string, flag: string): string {
  if (!QUALIFIED.test(name)) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `${flag} must be a table name like app.conversions (letters, digits, _ and $, up to 3 dotted parts), got '${name}'`,
    );
  }
  return name;
}

/** The columns of a table (lower case), or undefined when the table does not exist. */
async function columnsOf(wh: WarehouseAdapter, table: string): Promise<string[] | undefined> {
  try {
    const result = await wh.query(`select * from ${wh.quoteQualified(table)} where 1 = 0`);
    return (result.columns ?? []).map((c) => c.toLowerCase());
  } catch (err) {
    if (err instanceof PqlsyncError && err.code === 'WAREHOUSE_QUERY_FAILED') return undefined;
    throw err;
  }
}

/** A per-evaluation working table: DuckDB's in-memory scratch database, else a session temp table. */
function workTable(
  d: SqlDialect,
  name: string,
  tempSchema: string | undefined,
): { table: string; temporary: boolean } {
  return d.scratchTable
    ? { table: d.scratchTable(name), temporary: false }
    : { table: tempTableName(d, name, tempSchema), temporary: true };
}

async function createTable(
  wh: WarehouseAdapter,
  d: SqlDialect,
  target: { table: string; temporary: boolean },
  select: string,
  bound?: { params: BoundParam[] },
): Promise<void> {
  for (const stmt of d.beforeCreateTableAs(target.table, { temporary: target.temporary }))
    await wh.query(stmt);
  const sql = d.createTableAs(target.table, select, { temporary: target.temporary });
  await wh.query(bound ? { dialect: d.name, sql, params: bound.params } : sql);
}

function pickColumn(
  columns: readonly string[],
  explicit: string | undefined,
  flag: string,
  pattern: RegExp,
  model: ModelFile,
): string | null {
  if (explicit) {
    const found = columns.find((c) => c === explicit.toLowerCase());
    if (!found) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `${flag} ${explicit}: model ${model.name} has no such column; its columns: ${columns.join(', ')}`,
        { location: { file: model.bodyPath, model: model.name } },
      );
    }
    return found;
  }
  return columns.find((c) => pattern.test(c)) ?? null;
}

interface Inputs {
  wh: WarehouseAdapter;
  d: SqlDialect;
  asOf: string;
  horizonEnd: string;
  conversionsTable: string;
  conversionColumns: string[];
  activity?: { table: string; columns: string[] };
}

interface Scored {
  variant: ScoredVariant;
  entity: ModelEntity;
  key: string;
  conversionRule: string;
  labelled: { table: string; temporary: boolean };
  hasAccount: boolean;
}

/** Scores one model/param set as of the date into a labelled table and reads its tier and decile counts. */
async function scoreVariant(
  inputs: Inputs,
  model: ModelFile,
  role: string,
  label: string,
  compileVars: Record<string, unknown>,
  configParams: Record<string, unknown> | undefined,
  explicitColumns: EvaluateOptions['columns'],
  made: { table: string; temporary: boolean }[],
): Promise<Scored> {
  const { wh, d } = inputs;
  const asOfParam = model.asOf;
  if (!asOfParam) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `model ${model.name} declares no as_of param, so it cannot be scored as of a past date`,
      {
        location: { file: model.frontMatterPath, model: model.name },
        hint: 'add a date param and name it in the front matter, e.g. `as_of: as_of` with `params: { as_of: { type: date } }`, and count days from it in the SQL',
      },
    );
  }
  const compiled = compileModel(model, {
    dialect: wh.dialect,
    vars: { ...compileVars, [asOfParam]: inputs.asOf },
    ...(configParams ? { configParams } : {}),
  });
  const scored = workTable(d, `pqlsync_eval_${role}_scored`, wh.tempSchema);
  const labelled = workTable(d, `pqlsync_eval_${role}_labelled`, wh.tempSchema);
  made.push(scored, labelled);
  try {
    await createTable(wh, d, scored, `select * from (${compiled.sql}\n) m`, compiled);
  } catch (err) {
    if (err instanceof PqlsyncError && err.code === 'WAREHOUSE_QUERY_FAILED') {
      throw new PqlsyncError(
        'WAREHOUSE_QUERY_FAILED',
        `model ${model.name} failed as of ${inputs.asOf}: ${err.message}`,
        {
          location: { file: model.bodyPath, model: model.name },
          cause: err,
          hint: `run \`pqlsync compile ${model.name} --vars '{"${asOfParam}": "${inputs.asOf}"}'\` and try the SQL in your warehouse`,
        },
      );
    }
    throw err;
  }

  const columns = ((await wh.query(`select * from ${scored.table} where 1 = 0`)).columns ?? []).map((c) =>
    c.toLowerCase(),
  );
  const key = model.key.toLowerCase();
  if (!columns.includes(key)) {
    throw new PqlsyncError(
      'MODEL_KEY_MISSING',
      `model ${model.name} has no key column ${model.key}; its columns: ${columns.join(', ')}`,
      {
        location: { file: model.frontMatterPath, model: model.name },
      },
    );
  }
  const tier = pickColumn(columns, explicitColumns?.tier, '--tier-column', /(^|_)tier$/, model);
  const score = pickColumn(columns, explicitColumns?.score, '--score-column', /(^|_)score$/, model);
  const flag = pickColumn(
    columns,
    explicitColumns?.flag,
    '--flag-column',
    /^is_(pq[la]|qualified|flagged)$/,
    model,
  );
  if (!tier) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `model ${model.name} has no tier column (a column named tier or ending in _tier); its columns: ${columns.join(', ')}`,
      { location: { file: model.bodyPath, model: model.name }, hint: 'name it with --tier-column' },
    );
  }

  const entity: ModelEntity = model.entity ?? (key === 'account_id' ? 'account' : 'user');
  const conv = inputs.conversionColumns;
  const hasAccount = columns.includes('account_id');
  const byKey = conv.includes(key);
  const byAccount = entity === 'user' && key !== 'account_id' && hasAccount && conv.includes('account_id');
  if (!byKey && !byAccount) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `conversions table ${inputs.conversionsTable} has no ${key} column to match model ${model.name}'s key${
        entity === 'user' ? " (nor account_id to match the user's account)" : ''
      }; its columns: ${conv.join(', ')}`,
      { hint: 'pass --conversions with a table of one row per conversion: the key column and converted_at' },
    );
  }
  const q = (c: string) => d.quote(c);
  const match = [
    byKey ? `c.${q(key)} = m.${q(key)}` : '',
    byAccount ? `c.${q('account_id')} = m.${q('account_id')}` : '',
  ]
    .filter(Boolean)
    .join(' or ');
  const conversionRule = [byKey ? key : '', byAccount ? `its account's account_id` : '']
    .filter(Boolean)
    .join(' or ');

  const b = new SqlBuilder(d);
  const start = `cast(${b.param(inputs.asOf, 'date', 'as_of')} as timestamp)`;
  const end = `cast(${b.param(inputs.horizonEnd, 'date', 'horizon_end')} as timestamp)`;
  const activity = inputs.activity && inputs.activity.columns.includes(key) ? inputs.activity : undefined;
  const activityExpr = activity
    ? `case when exists (select 1 from ${wh.quoteQualified(activity.table)} e where e.${q(key)} = m.${q(key)}
         and e.${q('ts')} >= cast(${b.param(addDays(inputs.asOf, -ACTIVITY_DAYS), 'date', 'activity_start')} as timestamp)
         and e.${q('ts')} < ${start}) then 1 else 0 end`
    : '0';
  const select = `select ${d.castText(`m.${q(key)}`)} as k,
      ${d.castText(`m.${q(tier)}`)} as tier,
      ${score ? `cast(m.${q(score)} as ${d.types.double})` : 'cast(null as ' + d.types.double + ')'} as score,
      ${flag ? `case when m.${q(flag)} then 1 else 0 end` : '0'} as flagged,
      ${hasAccount ? d.castText(`m.${q('account_id')}`) : `cast(null as ${d.types.text})`} as account,
      case when exists (select 1 from ${wh.quoteQualified(inputs.conversionsTable)} c where (${match})
         and c.${q('converted_at')} >= ${start} and c.${q('converted_at')} < ${end}) then 1 else 0 end as converted,
      ${activityExpr} as active
    from ${scored.table} m`;
  await createTable(wh, d, labelled, select, b);

  // Tiers, best first.
  const { rows: tierRows } = await wh.query(
    `select tier, count(*) as n, sum(converted) as converted, avg(score) as mean_score, sum(flagged) as flagged,
       sum(flagged * converted) as flagged_converted
     from ${labelled.table} group by tier`,
  );
  const counts = orderTiers(
    tierRows.map((r) => ({
      tier: r.tier === null || r.tier === undefined ? '(none)' : String(r.tier),
      n: num(r.n),
      converted: num(r.converted),
      meanScore: r.mean_score === null || r.mean_score === undefined ? null : Number(r.mean_score),
      flagged: num(r.flagged),
      flaggedConverted: num(r.flagged_converted),
    })),
  );
  const tiers = tierMetrics(counts);
  const totals = totalsOf(counts);
  const lowest = counts[counts.length - 1];
  const flaggedTiers = counts.filter((t) => t !== lowest);
  const flagged = flag
    ? {
        n: counts.reduce((s, t) => s + t.flagged, 0),
        converted: counts.reduce((s, t) => s + t.flaggedConverted, 0),
      }
    : {
        n: flaggedTiers.reduce((s, t) => s + t.n, 0),
        converted: flaggedTiers.reduce((s, t) => s + t.converted, 0),
      };
  const threshold = thresholdMetrics(flagged, totals);
  const flagRule = flag
    ? `${flag} is true`
    : `${tier} in (${flaggedTiers.map((t) => t.tier).join(', ')}) (every tier above ${lowest?.tier ?? 'the lowest'})`;

  // Deciles by score (by tier rank when the model has no score), ties broken by key so reruns agree.
  const g = new SqlBuilder(d);
  const rank = score
    ? 'score desc'
    : `case ${counts.map((t, i) => `when tier = ${g.param(t.tier, 'string', `tier_${i}`)} then ${i}`).join(' ')} else ${counts.length} end`;
  const { rows: decileRows } = await wh.query(
    g.build(`select decile, count(*) as n, sum(converted) as converted, min(score) as min_score, max(score) as max_score
     from (select ntile(10) over (order by ${rank}${score ? '' : ' asc'}, k) as decile, converted, score from ${labelled.table}) t
     group by decile`),
  );
  const gains = gainsCurve(
    decileRows.map((r) => ({
      decile: num(r.decile),
      n: num(r.n),
      converted: num(r.converted),
      minScore: r.min_score === null || r.min_score === undefined ? null : Number(r.min_score),
      maxScore: r.max_score === null || r.max_score === undefined ? null : Number(r.max_score),
    })),
    totals,
  );

  return {
    variant: {
      label,
      model: model.name,
      version: `${model.hash}+${paramsHash(compiled.values)}`,
      params: compiled.values,
      population: totals.population,
      converted: totals.converted,
      baseRate: totals.baseRate,
      tiers,
      threshold,
      gains,
      columns: { tier, score, flag },
      flagRule,
    },
    entity,
    key,
    conversionRule: `a ${entity} counts as converted when a row of ${inputs.conversionsTable} names its ${conversionRule} with converted_at from the as-of date to the horizon's end`,
    labelled,
    hasAccount,
  };
}

function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  return Number(v);
}

/** A short, stable label for a parameter set: the vars that differ, as JSON. */
function varsLabel(model: string, vars: Record<string, unknown> | undefined): string {
  return vars && Object.keys(vars).length > 0 ? `${model} ${JSON.stringify(vars)}` : model;
}

/** Runs the backtest and returns the report. Working tables are dropped afterwards, also on failure. */
export async function evaluateModel(options: EvaluateOptions): Promise<EvaluationReport> {
  const { wh } = options;
  const d = sqlDialect(wh.dialect);
  if (!Number.isInteger(options.horizonDays) || options.horizonDays < 1 || options.horizonDays > 3650) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `--horizon must be a whole number of days from 1 to 3650, got '${String(options.horizonDays)}'`,
    );
  }
  const conversionsTable = checkTableName(options.conversionsTable ?? 'app.conversions', '--conversions');
  const activityTable = checkTableName(options.activityTable ?? 'app.events', '--activity');
  if (options.asOf !== undefined) checkDate(options.asOf, '--as-of');

  const model = await loadModel(options.modelsDir, options.model, wh.dialect);
  const vsModel = options.vs?.model
    ? await loadModel(options.modelsDir, options.vs.model, wh.dialect)
    : undefined;

  const conversionColumns = await columnsOf(wh, conversionsTable);
  if (!conversionColumns) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `conversions table ${conversionsTable} does not exist in the ${wh.dialect} warehouse`,
      {
        hint: 'pass --conversions <schema.table>: one row per conversion, with the key column and converted_at',
      },
    );
  }
  if (!conversionColumns.includes('converted_at')) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `conversions table ${conversionsTable} has no converted_at column; its columns: ${conversionColumns.join(', ')}`,
      { hint: 'create a view with the conversion time as converted_at and pass it with --conversions' },
    );
  }
  const activityColumns = await columnsOf(wh, activityTable);
  const activity = activityColumns?.includes('ts')
    ? { table: activityTable, columns: activityColumns }
    : undefined;

  // The data's end: the newest conversion or activity row. The default as-of date leaves a whole horizon after it.
  const newest = [
    dayOf(
      (
        await wh.query(
          `select max(${d.quote('converted_at')}) as t from ${wh.quoteQualified(conversionsTable)}`,
        )
      ).rows[0]?.t,
    ),
    activity
      ? dayOf(
          (await wh.query(`select max(${d.quote('ts')}) as t from ${wh.quoteQualified(activity.table)}`))
            .rows[0]?.t,
        )
      : undefined,
  ].filter((x): x is string => x !== undefined);
  const newestDay = newest.sort().at(-1);
  if (!newestDay && options.asOf === undefined) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `conversions table ${conversionsTable} is empty, so there is no default --as-of`,
      {
        hint: 'pass --as-of YYYY-MM-DD',
      },
    );
  }
  const dataThrough = newestDay ? addDays(newestDay, 1) : addDays(options.asOf ?? '1970-01-01', 0);
  const asOf = options.asOf ?? addDays(dataThrough, -options.horizonDays);
  const horizonEnd = addDays(asOf, options.horizonDays);
  const inputs: Inputs = {
    wh,
    d,
    asOf,
    horizonEnd,
    conversionsTable,
    conversionColumns,
    ...(activity ? { activity } : {}),
  };

  const made: { table: string; temporary: boolean }[] = [];
  try {
    const main = await scoreVariant(
      inputs,
      model,
      'main',
      model.name,
      options.vars ?? {},
      options.configParams,
      options.columns,
      made,
    );
    let comparison: ScoredVariant | undefined;
    if (options.vs && (options.vs.model || options.vs.vars)) {
      const other = vsModel ?? model;
      const vars = { ...(vsModel ? {} : (options.vars ?? {})), ...(options.vs.vars ?? {}) };
      const vs = await scoreVariant(
        inputs,
        other,
        'vs',
        varsLabel(other.name, options.vs.vars),
        vars,
        vsModel ? undefined : options.configParams,
        options.columns,
        made,
      );
      comparison = vs.variant;
    }

    const v = main.variant;
    const totals = { population: v.population, converted: v.converted, baseRate: v.baseRate };
    const baselines: Baseline[] = [
      {
        name: 'random',
        description: `${v.threshold.flagged} entities picked at random (as many as the model flags)`,
        ...thresholdMetrics({ n: v.threshold.flagged, converted: v.threshold.flagged * v.baseRate }, totals),
      },
    ];
    if (activity?.columns.includes(main.key)) {
      const { rows } = await wh.query(
        `select sum(active) as n, sum(active * converted) as converted from ${main.labelled.table}`,
      );
      baselines.push({
        name: 'any_activity_30d',
        description: `every entity with any event in ${activity.table} in the ${ACTIVITY_DAYS} days before the as-of date`,
        ...thresholdMetrics({ n: num(rows[0]?.n), converted: num(rows[0]?.converted) }, totals),
      });
    }

    let topTierConcentration: HealthInput['topTierConcentration'];
    const top = v.tiers[0];
    if (main.entity === 'user' && main.hasAccount && top && v.tiers.length > 1) {
      const b = new SqlBuilder(d);
      const { rows } = await wh.query(
        b.build(`select account, count(*) as n from ${main.labelled.table}
          where tier = ${b.param(top.tier, 'string', 'tier')} and account is not null
          group by account order by count(*) desc, account limit 1`),
      );
      const row: Row | undefined = rows[0];
      if (row && top.n > 0) {
        topTierConcentration = { account: String(row.account), rows: num(row.n), share: num(row.n) / top.n };
      }
    }

    const health = healthChecks({
      tiers: v.tiers,
      threshold: v.threshold,
      totals,
      horizonComplete: horizonEnd <= dataThrough,
      dataThrough,
      horizonEnd,
      ...(topTierConcentration ? { topTierConcentration } : {}),
    });

    return {
      model: model.name,
      asOf,
      horizonDays: options.horizonDays,
      population: v.population,
      baseRate: v.baseRate,
      tiers: v.tiers,
      threshold: v.threshold,
      health,
      version: v.version,
      entity: main.entity,
      key: main.key,
      dialect: wh.dialect,
      params: v.params,
      converted: v.converted,
      horizonEnd,
      dataThrough,
      conversionsTable,
      conversionRule: main.conversionRule,
      columns: v.columns,
      flagRule: v.flagRule,
      gains: v.gains,
      baselines,
      ...(comparison ? { comparison } : {}),
      generatedAt: (options.now ?? (() => new Date()))().toISOString(),
    };
  } finally {
    for (const t of made.reverse()) {
      await wh.query(`drop table if exists ${t.table}`).catch(() => undefined);
    }
  }
}

/** The first 8 hex of sha256 over the resolved params, so the version names the model file and its values. */
export function paramsHash(params: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 8);
}
