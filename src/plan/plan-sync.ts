/**
 * Plans a sync inside the warehouse: reads the model with its key as text and a row hash over the
 * mapped fields only, counts invalid rows (null or duplicate keys), diffs against the snapshot into
 * `<sync>__plan` (added / changed / removed, plus keys in failures), and streams the changes out in batches.
 * Only the diff crosses the wire.
 */
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { changeValue, INVALID_VALUE, invalidValuesReason } from './change-values.js';
import type { Change, ChangeKind, SyncTarget } from '../destination/destination.js';
import type { StateStore } from '../state/state-store.js';
import { MATCH_VALUE_KEY, PLAN_COLUMN } from './plan-table.js';
import { cell } from './resolve-columns.js';
import { streamingHeap, trimHeap } from '../util/heap.js';
import { logger } from '../util/logger.js';
import { SqlBuilder, tempTableName, type SqlDialect } from '../warehouse/sql-dialect.js';
import type { BoundSql, ColumnKind, QueryResult, Row } from '../warehouse/warehouse-adapter.js';

/**
 * The row-hash recipe (SqlDialect.rowHash). Bump when it changes: the plan then carries the snapshot's hashes
 * over from the old recipe (`carryOverHashes`), so an upgrade resends nothing. 2: length-prefixed texts, dates and
 * timestamps as ISO 8601 in UTC written out in SQL; 1: `|`-joined with `\N` for NULL.
 */
export const HASH_RECIPE = 2;
export const HASH_VERSION = `v${HASH_RECIPE}`;
export { MATCH_VALUE_KEY, PLAN_COLUMN, snapshotValues } from './plan-table.js';

export interface PlanOptions {
  store: StateStore;
  target: SyncTarget;
  /** The compiled model. */
  model: BoundSql;
  /** The model's key column. */
  keyColumn: string;
  /** Model file (for messages). */
  modelFile: string;
  /** Config file (for messages about the sync's mapping). */
  configFile?: string;
  /** Skip rows that failed this many times until their values change. (Default: retry forever) */
  maxAttempts?: number;
  /** Plan only: use temporary tables and never touch state tables. (Default: false) */
  dryRun?: boolean;
  /** Plan as if the sync had no snapshot or failures yet (`plan --rematch`). (Default: false) */
  fresh?: boolean;
  /** The model's output columns, when the caller already probed them (see `probeModel`). (Default: probed here) */
  probe?: ModelProbe;
  /**
   * The sync as its config names columns, for the hash's mapping signature (so resolving a column's case does not
   * change every hash). (Default: `target`)
   */
  hashTarget?: SyncTarget;
  /**
   * Columns were read under names the rows did not carry before (sent as null), so the snapshot's hashes are not
   * carried over to a new recipe: every row is sent again. (Default: false)
   */
  resendAll?: boolean;
}

/** The model's output columns as the warehouse names them, with their kinds. */
export interface ModelProbe {
  columns: string[];
  kinds: ColumnKind[];
}

export interface InvalidRows {
  nullKeys: number;
  duplicateKeyRows: number;
  sampleDuplicateKeys: string[];
}

export interface PlanSummary {
  modelRows: number;
  validRows: number;
  invalid: InvalidRows;
  snapshotRows: number;
  added: number;
  changed: number;
  removed: number;
  /** Planned changes whose key is in failures (a retry). */
  retried: number;
  /** The plan table: one row per planned change (and, in the one-pass plan, the counts), streamed out. */
  planTable: string;
  /** Working-table names (without schema) to drop after the run. */
  workTables: string[];
}

const KEY = '__pqlsync_key';
const { key: PK, op: OP, hash: HASH } = PLAN_COLUMN;
const PREV = '__pqlsync_prev';
const PREV_HASH = '__pqlsync_prev_hash';
const HASH_V1 = '__pqlsync_hash_v1';
const ATTEMPTS = '__pqlsync_attempts';
/** Plan-table columns of the one-pass plan's `__stats` and `__dup` rows. */
const N = '__pqlsync_n';
const VALID = '__pqlsync_valid';

/**
 * The hash input: a mapping signature (so a mapping change is visible) then the mapped columns by field name.
 * `legacySignature`: the same under recipe 1.
 */
export function hashColumns(target: SyncTarget): {
  signature: string;
  legacySignature: string;
  columns: string[];
} {
  const fields = [...target.fields].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  const parts = fields.map((f) => `${f.field}=${f.column}${f.skipNull ? '?' : ''}`);
  if (target.matchColumn) parts.push(`match=${target.matchColumn}`);
  return {
    signature: `${HASH_VERSION}:${parts.join(',')}`,
    legacySignature: `v1:${parts.join(',')}`,
    columns: [...fields.map((f) => f.column), target.matchColumn],
  };
}

export async function planSync(options: PlanOptions): Promise<PlanSummary> {
  const { store, target, model, keyColumn } = options;
  const d = store.d;
  const dry = options.dryRun ?? false;
  const prefix = dry ? `pqlsync_plan_${target.sync}` : target.sync;
  const work = (suffix: string) =>
    dry && !d.scratchTable
      ? tempTableName(d, `${prefix}__${suffix}`, store.wh.tempSchema)
      : store.workTable(`${prefix}__${suffix}`);
  const stateReady = !options.fresh && (await store.syncTablesExist(target.sync));
  const column = (name: string) => `m.${quoteColumn(d, name)}`;
  const { columns } = hashColumns(target);
  const { signature, legacySignature } = hashColumns(options.hashTarget ?? target);
  const probe = options.probe ?? (await probeModel(options));
  const kindOf = (name: string) => probe.kinds[probe.columns.indexOf(name)] ?? 'other';
  const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const hashExpr = d.rowHash([literal(signature), ...columns.map((c) => d.hashText(column(c), kindOf(c)))]);
  const keyExpr = d.hashText(column(keyColumn), kindOf(keyColumn));
  const legacy = {
    hash: d.legacyRowHash([literal(legacySignature), ...columns.map(column)]),
    key: d.castText(column(keyColumn)),
  };
  // Hashes of an older recipe: a run carries them over first; a plan (which writes nothing) also compares rows by
  // the old recipe, so it shows what the run will send.
  const recipe = stateReady ? await store.hashRecipe(target.sync) : HASH_RECIPE;
  if (recipe < HASH_RECIPE && !dry) {
    if (!options.resendAll)
      await carryOverHashes({ ...options, probe }, legacy, { key: keyExpr, hash: hashExpr });
    await store.setHashRecipe(target.sync, HASH_RECIPE);
  }
  const ctx: PlanContext = {
    options,
    prefix,
    work,
    temporary: dry && !d.scratchTable,
    stateReady,
    snapshot: stateReady ? store.snapshotTable(target.sync) : emptySnapshot(store),
    failures: stateReady ? store.failuresTable(target.sync) : emptyFailures(store),
    hashExpr,
    keyExpr,
    ...(recipe < HASH_RECIPE && dry && !options.resendAll ? { legacyHashExpr: legacy.hash } : {}),
    probe,
    body: stripTrailingSemicolons(model.sql),
  };
  if (d.onePassPlan === 'marked-rows') return planMarkedRows(ctx);
  return d.onePassPlan === 'materialized-cte' ? planOnePass(ctx) : planInSteps(ctx);
}

interface PlanContext {
  options: PlanOptions;
  prefix: string;
  work: (suffix: string) => string;
  temporary: boolean;
  stateReady: boolean;
  snapshot: string;
  failures: string;
  /** Row hash over the mapped columns of `m`, the model's rows. */
  hashExpr: string;
  /** The key of `m` as text. */
  keyExpr: string;
  /** Set while the snapshot's hashes are of recipe 1 in a plan: a row equal by that recipe is unchanged too. */
  legacyHashExpr?: string;
  probe: ModelProbe;
  /** The model's SQL without trailing semicolons. */
  body: string;
}

/** The columns the plan adds to the model's: key as text and row hash (and the recipe-1 hash, see legacyHashExpr). */
function workColumns(ctx: PlanContext): string {
  return `${ctx.keyExpr} as ${KEY}, ${ctx.hashExpr} as ${HASH}${ctx.legacyHashExpr ? `, ${ctx.legacyHashExpr} as ${HASH_V1}` : ''}`;
}

/** A matched row differs from the snapshot (by either recipe while the snapshot still holds recipe-1 hashes). */
function differs(ctx: PlanContext): string {
  return ctx.legacyHashExpr
    ? `(c.${HASH} <> s.row_hash and c.${HASH_V1} <> s.row_hash)`
    : `c.${HASH} <> s.row_hash`;
}

/**
 * Carries the snapshot's keys and hashes over from recipe 1 to the current one, in the warehouse: a snapshot row
 * whose key and hash equal the model row's by recipe 1 (so its values are what the CRM has) gets the model row's
 * key and hash by the current recipe. Rows that differ keep their old hash and are sent as changes, as before.
 * Keys the model repeats are left alone (they are never sent). Safe to repeat: a carried-over row no longer
 * matches by recipe 1.
 */
async function carryOverHashes(
  options: PlanOptions,
  legacy: { key: string; hash: string },
  current: { key: string; hash: string },
): Promise<void> {
  const { store, model, target } = options;
  const snapshot = store.snapshotTable(target.sync);
  if ((await countTableRows(store, snapshot)) === 0) return;
  // The body starts on line 2, so the warehouse's line numbers are the model file's line numbers.
  const rows = `select ${legacy.key} as old_key, ${current.key} as new_key, ${legacy.hash} as old_hash, ${current.hash} as new_hash from (${stripTrailingSemicolons(model.sql)}\n) m`;
  try {
    await store.wh.query({
      ...model,
      sql: `update ${snapshot} as s set key = n.new_key, row_hash = n.new_hash
from (select old_key, min(new_key) as new_key, min(old_hash) as old_hash, min(new_hash) as new_hash
  from (${rows}) x where old_key is not null group by old_key having count(*) = 1) n
where s.key = n.old_key and s.row_hash = n.old_hash`,
    });
  } catch (err) {
    throw await explainModelFailure(options, err, options.probe?.columns);
  }
}

/** max_attempts: a row that failed that many times waits (is "parked") until its values change. */
function parkedCondition(options: PlanOptions): string | undefined {
  return options.maxAttempts !== undefined
    ? `f.attempts >= ${Math.trunc(options.maxAttempts)} and coalesce(f.row_hash, '') = coalesce(c.${HASH}, '')`
    : undefined;
}

/** A column name as the dialect quotes result columns. */
function quoteColumn(d: SqlDialect, name: string): string {
  return d.quoteColumn ? d.quoteColumn(name) : d.quote(name);
}

/** Writes a working table of the plan from `select`, with the model's binds when `select` reads the model. */
async function writeWorkTable(
  ctx: PlanContext,
  table: string,
  select: string,
  readsModel: boolean,
): Promise<void> {
  const { store, model } = ctx.options;
  const d = store.d;
  for (const stmt of d.beforeCreateTableAs(table, { temporary: ctx.temporary })) await store.wh.query(stmt);
  const sql = d.createTableAs(table, select, { temporary: ctx.temporary, working: true });
  await store.wh.query(readsModel ? { ...model, sql } : sql);
}

/** Drops the three-step plan's working tables that versions before the one-pass plan left in the state schema. */
async function dropThreeStepLeftovers(ctx: PlanContext): Promise<void> {
  if (ctx.temporary || ctx.options.store.d.scratchTable) return;
  for (const old of ['current', 'dups'])
    await ctx.options.store.wh.query(`drop table if exists ${ctx.work(old)}`);
}

/**
 * Whether a key repeats, by counting (the one-pass plans): every model row either matches one snapshot row or is
 * unmatched (added), every snapshot row either matches or is removed, so `valid rows - unmatched rows = snapshot
 * rows - removed rows` holds exactly when no key repeats among the matched rows; repeats among the unmatched rows
 * show as more unmatched rows than keys.
 */
function keysRepeat(
  s: { valid: number; unmatchedRows: number; unmatchedKeys: number; unmatchedSnapshot: number },
  snapshotRows: number,
): boolean {
  return (
    s.unmatchedRows > s.unmatchedKeys || s.valid - s.unmatchedRows !== snapshotRows - s.unmatchedSnapshot
  );
}

/**
 * The plan as three statements (warehouses without materialised CTEs): the model into `<sync>__current`, its
 * duplicate keys into `<sync>__dups`, then the diff into `<sync>__plan`.
 */
async function planInSteps(ctx: PlanContext): Promise<PlanSummary> {
  const { options, work, stateReady, snapshot, failures } = ctx;
  const { store } = options;
  const wh = store.wh;
  const currentTable = work('current');
  const planTable = work('plan');
  const dupsTable = work('dups');

  // 1. Materialise the model with its key as text and the row hash over the mapped fields.
  // One line before the body, so the warehouse's line numbers are the model file's line numbers.
  const select = `select m.*, ${workColumns(ctx)} from (${ctx.body}\n) m`;
  try {
    await writeWorkTable(ctx, currentTable, select, true);
  } catch (err) {
    throw await explainModelFailure(options, err);
  }

  // 2. Invalid rows: null keys and duplicate keys are counted, sampled and never sent.
  await writeWorkTable(
    ctx,
    dupsTable,
    `select ${KEY}, count(*) as n from ${currentTable} where ${KEY} is not null group by ${KEY} having count(*) > 1`,
    false,
  );
  const { rows: countRows } = await wh.query(
    `select count(*) as total, sum(case when ${KEY} is null then 1 else 0 end) as null_keys,
       (select sum(n) from ${dupsTable}) as dup_rows
     from ${currentTable}`,
  );
  const c0 = countRows[0] ?? {};
  const modelRows = Number(c0.total ?? 0);
  const nullKeys = Number(c0.null_keys ?? 0);
  const dupRows = Number(c0.dup_rows ?? 0);
  const sampleDuplicateKeys =
    dupRows > 0
      ? (await wh.query(`select ${KEY} as k from ${dupsTable} order by ${KEY} limit 5`)).rows.map((r) =>
          String(r.k),
        )
      : [];

  // 3. Diff against the snapshot (+ failures) into the plan table.
  const parked = parkedCondition(options);
  const diff = `select coalesce(c.${KEY}, s.key) as ${PK},
        case ${parked ? `when ${parked} then 'parked' ` : ''}when s.key is null then 'added' when c.${KEY} is null then 'removed' else 'changed' end as ${OP},
        s.values_json as ${PREV}, s.row_hash as ${PREV_HASH},
        f.attempts as ${ATTEMPTS}, c.*
      from (select * from ${currentTable} where ${KEY} is not null) c
      full outer join ${snapshot} s on c.${KEY} = s.key
      left join ${failures} f on f.key = coalesce(c.${KEY}, s.key)
      left join ${dupsTable} dup on dup.${KEY} = coalesce(c.${KEY}, s.key)
      where dup.${KEY} is null
        and (s.key is null or c.${KEY} is null or ${differs(ctx)} or f.key is not null)`;
  await writeWorkTable(ctx, planTable, diff, false);

  const byOp = await countByOp(store, planTable);
  return {
    modelRows,
    validRows: modelRows - nullKeys - dupRows,
    invalid: { nullKeys, duplicateKeyRows: dupRows, sampleDuplicateKeys },
    snapshotRows: stateReady ? await countTableRows(store, snapshot) : 0,
    ...byOp,
    planTable,
    workTables: ['current', 'plan', 'dups'].map((suffix) => `${ctx.prefix}__${suffix}`),
  };
}

/**
 * The plan as one statement (Postgres): the model is materialised once inside it, joined on key and hash against
 * the snapshot (whose values ride along for the changed rows), and the row counts are appended to the plan table as
 * a `__stats` row, so the model's rows are read once and never stored. Duplicate keys need a group-by over all
 * rows, so the first pass skips it and checks by counting instead (keysRepeat). Only when a key repeats does a
 * second pass run with the group-by, to leave those keys out and name them.
 */
async function planOnePass(ctx: PlanContext): Promise<PlanSummary> {
  const { options, work, stateReady, snapshot, failures } = ctx;
  const { store } = options;
  const d = store.d;
  const wh = store.wh;
  const planTable = work('plan');
  const parked = parkedCondition(options);
  const C = '__pqlsync_c';
  const DUPS = '__pqlsync_dups';
  const body = `(${ctx.body}\n) m`;
  // The model's columns, so the count rows can be appended by position (not every warehouse unions by name).
  const probed = ctx.probe.columns;
  const modelColumns = probed;
  const bigint = (e: string) => `cast(${e} as ${d.types.bigint})`;
  /** A row of the plan table that carries counts: null in every column but the op, key and the two counts. */
  const countRow = (op: string, key: string, n: string, valid: string) =>
    [
      key,
      `'${op}'`,
      'null',
      'null',
      ...modelColumns.map(() => 'null'),
      'null',
      'null',
      ...(ctx.legacyHashExpr ? ['null'] : []),
      'null',
      n,
      valid,
    ].join(', ');

  const write = async (withDups: boolean) => {
    // The body starts on line 2, so the warehouse's line numbers are the model file's line numbers.
    const sql = `with ${C} as materialized (select m.*, ${workColumns(ctx)} from ${body})${
      withDups
        ? `,\n  ${DUPS} as (select ${KEY}, count(*) as n from ${C} where ${KEY} is not null group by ${KEY} having count(*) > 1)`
        : ''
    },
  __pqlsync_j as (
    select coalesce(c.${KEY}, s.key) as ${PK},
      case ${parked ? `when ${parked} then 'parked' ` : ''}when s.key is null then 'added' when c.${KEY} is null then 'removed' else 'changed' end as ${OP},
      s.row_hash as ${PREV_HASH}, f.attempts as ${ATTEMPTS}, c.*, s.values_json as ${PREV}
    from (select * from ${C} where ${KEY} is not null) c
    full outer join (select key, row_hash, values_json from ${snapshot} s0) s on c.${KEY} = s.key
    left join ${failures} f on f.key = coalesce(c.${KEY}, s.key)${withDups ? `\n    left join ${DUPS} dup on dup.${KEY} = coalesce(c.${KEY}, s.key)` : ''}
    where ${withDups ? `dup.${KEY} is null and ` : ''}(s.key is null or c.${KEY} is null or ${differs(ctx)} or f.key is not null))
select j.*, ${bigint('null')} as ${N}, ${bigint('null')} as ${VALID}
  from __pqlsync_j j
union all select ${countRow('__stats', 'null', 'count(*)', `count(${KEY})`)} from ${C}${
      withDups ? `\nunion all select ${countRow('__dup', KEY, 'n', 'null')} from ${DUPS}` : ''
    }`;
    try {
      await writeWorkTable(ctx, planTable, sql, true);
    } catch (err) {
      throw await explainModelFailure(options, err, probed);
    }
  };

  await write(false);
  await dropThreeStepLeftovers(ctx);
  const snapshotRows = stateReady ? await countTableRows(store, snapshot) : 0;
  const stats = async () => {
    const { rows } = await wh.query(
      `select sum(case when ${OP} = '__stats' then ${N} else 0 end) as total,
         sum(case when ${OP} = '__stats' then ${VALID} else 0 end) as valid,
         sum(case when ${OP} = '__dup' then ${N} else 0 end) as dup_rows,
         sum(case when ${OP} <> '__stats' and ${OP} <> '__dup' and ${PREV_HASH} is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when ${OP} <> '__stats' and ${OP} <> '__dup' and ${PREV_HASH} is null then ${PK} end) as unmatched_keys,
         sum(case when ${OP} <> '__stats' and ${OP} <> '__dup' and ${KEY} is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when ${OP} = 'added' then 1 else 0 end) as added,
         sum(case when ${OP} = 'changed' then 1 else 0 end) as changed,
         sum(case when ${OP} = 'removed' then 1 else 0 end) as removed,
         sum(case when ${OP} in ('added', 'changed', 'removed') and ${ATTEMPTS} is not null then 1 else 0 end) as retried
       from ${planTable}`,
    );
    const r = rows[0] ?? {};
    return {
      total: Number(r.total ?? 0),
      valid: Number(r.valid ?? 0),
      dupRows: Number(r.dup_rows ?? 0),
      unmatchedRows: Number(r.unmatched_rows ?? 0),
      unmatchedKeys: Number(r.unmatched_keys ?? 0),
      unmatchedSnapshot: Number(r.unmatched_snapshot ?? 0),
      added: Number(r.added ?? 0),
      changed: Number(r.changed ?? 0),
      removed: Number(r.removed ?? 0),
      retried: Number(r.retried ?? 0),
    };
  };
  let s = await stats();
  if (keysRepeat(s, snapshotRows)) {
    await write(true);
    s = await stats();
  }
  const sampleDuplicateKeys =
    s.dupRows > 0
      ? (
          await wh.query(`select ${PK} as k from ${planTable} where ${OP} = '__dup' order by ${PK} limit 5`)
        ).rows.map((r) => String(r.k))
      : [];
  const nullKeys = s.total - s.valid;
  return {
    modelRows: s.total,
    validRows: s.valid - s.dupRows,
    invalid: { nullKeys, duplicateKeyRows: s.dupRows, sampleDuplicateKeys },
    snapshotRows,
    added: s.added,
    changed: s.changed,
    removed: s.removed,
    retried: s.retried,
    planTable,
    workTables: [`${ctx.prefix}__plan`],
  };
}

/** The plan ops of rows that are not changes (marked-rows plan): counted, never streamed. */
const MARK = { same: '__same', nullKey: '__null', duplicate: '__dup_row' } as const;
const PLANNED_OPS = `('added', 'changed', 'removed', 'parked')`;

/**
 * The plan as DuckDB runs it, without a stored copy of the model (a materialised copy held every row: 1.5-1.6x the
 * raw diff at 1M rows under the default 128MB memory_limit, and out of memory once at 10M). One statement reads
 * the model and joins it on key and hash against the snapshot into `<sync>__diff`. The counts of model rows and of
 * null keys come from one of two places:
 * - a model that only scans tables (a dbt-built scores table; see onlyReadsTables) is read again for them, its key
 *   column alone, which DuckDB answers from the table in milliseconds; the diff keeps the planned rows alone;
 * - any other model is read once: every model row and every snapshot row leaves one row in the diff, a change with
 *   its values and any other row only its op (`__same`, `__null`, `__dup_row`), and the counts come from the diff.
 * With snapshot rows, `<sync>__plan` is then the planned rows with the snapshot's previous values, read by a scan of
 * the snapshot filtered by the planned keys (carrying them through the diff's join would hash every snapshot row's
 * values); without (a first sync), the diff is the plan. Duplicate keys are found by counting, as in planOnePass;
 * only when a key repeats does a second pass group the model by key first.
 */
async function planMarkedRows(ctx: PlanContext): Promise<PlanSummary> {
  const { options, work, stateReady, snapshot, failures } = ctx;
  const { store, model } = options;
  const d = store.d;
  const wh = store.wh;
  const planTable = work('plan');
  const dupsTable = work('dups');
  // Without a snapshot nothing is changed or removed, so no previous values: the diff is the plan (a first sync).
  const diffTable = stateReady ? work('diff') : planTable;
  const parked = parkedCondition(options);
  const SKEY = '__pqlsync_snapshot_key';
  const PLANNED = '__pqlsync_planned';
  const IS_PARKED = '__pqlsync_parked';
  const DUP = '__pqlsync_dup';
  const ownColumns = [
    ...ctx.probe.columns.map((name) => quoteColumn(d, name)),
    KEY,
    HASH,
    ...(ctx.legacyHashExpr ? [HASH_V1] : []),
  ];
  // A table the plan is done with: dropped now to free its memory; should that fail, the plan stands and the
  // table goes with the scratch database (or the next plan's `create or replace`).
  const dropQuietly = async (table: string) => {
    try {
      await wh.query(`drop table if exists ${table}`);
    } catch (err) {
      logger().debug(
        { err: err instanceof Error ? err.message : String(err), table },
        'could not drop a plan table',
      );
    }
  };

  // A model that only reads tables is read again for its counts, by the stats query below (its key column alone:
  // DuckDB answers from the table in milliseconds); any other model is read once, its rows marked in the diff.
  const countApart = d.countTableModelsApart === true && (await onlyReadsTables(options, ctx.body));

  const write = async (withDups: boolean) => {
    const op = `case when ${IS_PARKED} then 'parked' when ${SKEY} is null then 'added' when ${KEY} is null then 'removed' else 'changed' end`;
    // Counted apart, the diff keeps the planned rows alone; else every row, marked (see above).
    const columns = countApart
      ? `coalesce(${KEY}, ${SKEY}) as ${PK}, ${op} as ${OP}, ${PREV_HASH}, ${ATTEMPTS}, ${ownColumns.map((col) => `j.${col}`).join(', ')}`
      : `case when ${PLANNED} then coalesce(${KEY}, ${SKEY}) end as ${PK},
      case when ${PLANNED} then (${op})
        when ${DUP} then '${MARK.duplicate}' when ${KEY} is null then '${MARK.nullKey}' else '${MARK.same}' end as ${OP},
      case when ${PLANNED} then ${PREV_HASH} end as ${PREV_HASH}, case when ${PLANNED} then ${ATTEMPTS} end as ${ATTEMPTS},
      ${ownColumns.map((col) => `case when ${PLANNED} then j.${col} end as ${col}`).join(', ')}`;
    // Nothing before the body breaks a line, so the warehouse's line numbers are the model file's line numbers.
    const head = `select ${columns}, cast(null as ${d.types.text}) as ${PREV}
    from (select c.*, s.key as ${SKEY}, s.row_hash as ${PREV_HASH}, f.attempts as ${ATTEMPTS},
      ${parked ? `coalesce(${parked}, false)` : 'false'} as ${IS_PARKED}, ${withDups ? `dup.${KEY} is not null` : 'false'} as ${DUP},
      coalesce(c.${KEY}, s.key) is not null${withDups ? ` and dup.${KEY} is null` : ''}
        and (s.key is null or c.${KEY} is null or ${differs(ctx)} or f.key is not null) as ${PLANNED}
    from (select m.*, ${workColumns(ctx)} from (`.replace(/\s*\n\s*/g, ' ');
    const sql = `${head}${ctx.body}
) m) c
    full outer join (select key, row_hash from ${snapshot} s0) s on c.${KEY} = s.key
    left join ${failures} f on f.key = coalesce(c.${KEY}, s.key)${withDups ? `\n    left join ${dupsTable} dup on dup.${KEY} = coalesce(c.${KEY}, s.key)` : ''}) j${countApart ? `\nwhere ${PLANNED}` : ''}`;
    try {
      await writeWorkTable(ctx, diffTable, sql, true);
    } catch (err) {
      throw await explainModelFailure(options, err, ctx.probe.columns);
    }
  };

  // The counts of one plan, in one statement: model rows (marked in the diff, or read apart), the snapshot's rows,
  // and the diff's changes by kind.
  const stats = async () => {
    const planned = `${OP} in ${PLANNED_OPS}`;
    const diffCounts = `select sum(case when ${OP} in ('${MARK.same}', '${MARK.nullKey}', '${MARK.duplicate}') or ${KEY} is not null then 1 else 0 end) as marked_total,
         sum(case when ${OP} = '${MARK.nullKey}' then 1 else 0 end) as null_keys,
         sum(case when ${planned} and ${PREV_HASH} is null then 1 else 0 end) as unmatched_rows,
         count(distinct case when ${planned} and ${PREV_HASH} is null then ${PK} end) as unmatched_keys,
         sum(case when ${planned} and ${KEY} is null then 1 else 0 end) as unmatched_snapshot,
         sum(case when ${OP} = 'added' then 1 else 0 end) as added,
         sum(case when ${OP} = 'changed' then 1 else 0 end) as changed,
         sum(case when ${OP} = 'removed' then 1 else 0 end) as removed,
         sum(case when ${OP} in ('added', 'changed', 'removed') and ${ATTEMPTS} is not null then 1 else 0 end) as retried
       from ${diffTable}`;
    const snapshotCount = `(select count(*) from ${snapshot} s0) as snapshot_rows`;
    // The model's key counts first, so nothing before its body breaks a line.
    const sql = countApart
      ? `select k.*, x.*, ${snapshotCount} from (select count(*) as total, count(${KEY}) as valid from (select ${ctx.keyExpr} as ${KEY} from (${ctx.body}\n) m) k0) k, (${diffCounts}) x`
      : `select x.*, ${snapshotCount} from (${diffCounts}) x`;
    let rows: Row[];
    try {
      ({ rows } = await wh.query(countApart ? { ...model, sql } : sql));
    } catch (err) {
      throw await explainModelFailure(options, err, ctx.probe.columns);
    }
    const r = rows[0] ?? {};
    const n = (v: unknown) => Number(v ?? 0);
    return {
      total: countApart ? n(r.total) : n(r.marked_total),
      valid: countApart ? n(r.valid) : n(r.marked_total) - n(r.null_keys),
      snapshotRows: n(r.snapshot_rows),
      unmatchedRows: n(r.unmatched_rows),
      unmatchedKeys: n(r.unmatched_keys),
      unmatchedSnapshot: n(r.unmatched_snapshot),
      added: n(r.added),
      changed: n(r.changed),
      removed: n(r.removed),
      retried: n(r.retried),
    };
  };

  await write(false);
  await dropThreeStepLeftovers(ctx);
  let s = await stats();
  let dupRows = 0;
  let sampleDuplicateKeys: string[] = [];
  if (keysRepeat(s, s.snapshotRows)) {
    // A key repeats: group the model by key (a second read of it, only here), then plan again without those keys.
    try {
      await writeWorkTable(
        ctx,
        dupsTable,
        `select ${KEY}, count(*) as n from (select ${ctx.keyExpr} as ${KEY} from (${ctx.body}\n) m) k where ${KEY} is not null group by ${KEY} having count(*) > 1`,
        true,
      );
    } catch (err) {
      throw await explainModelFailure(options, err, ctx.probe.columns);
    }
    const { rows } = await wh.query(`select sum(n) as n from ${dupsTable}`);
    dupRows = Number(rows[0]?.n ?? 0);
    sampleDuplicateKeys = (
      await wh.query(`select ${KEY} as k from ${dupsTable} order by ${KEY} limit 5`)
    ).rows.map((r) => String(r.k));
    await write(true);
    await dropQuietly(dupsTable);
    s = await stats();
  }
  if (diffTable !== planTable) {
    // The previous values of the planned keys (one scan of the snapshot, filtered by them), joined to the planned
    // rows alone: joining the snapshot itself took 4.6 s at 10M rows where this takes 1.3 s (0.1 s at 1M).
    const planned = `select * from ${diffTable} where ${PK} is not null`;
    await writeWorkTable(
      ctx,
      planTable,
      `select d.* exclude (${PREV}), p.values_json as ${PREV} from (${planned}) d
       left join (select s.key, s.values_json from ${snapshot} s where s.key in (select ${PK} from (${planned}) k)) p
       on p.key = d.${PK}`,
      false,
    );
    await dropQuietly(diffTable);
  }
  return {
    modelRows: s.total,
    validRows: s.valid - dupRows,
    invalid: { nullKeys: s.total - s.valid, duplicateKeyRows: dupRows, sampleDuplicateKeys },
    snapshotRows: s.snapshotRows,
    added: s.added,
    changed: s.changed,
    removed: s.removed,
    retried: s.retried,
    planTable,
    // The diff and the repeated keys are dropped as soon as they are read.
    workTables: [`${ctx.prefix}__plan`],
  };
}

/**
 * Whether DuckDB reads the model by scanning tables alone (projections and filters over table scans: a dbt-built
 * scores table, say), from the physical plan of a count over it. Such a model is cheap to read again; a join,
 * group-by, window or file read is not. Any doubt (a plan that does not parse, an operator not listed) says no.
 */
async function onlyReadsTables(options: PlanOptions, body: string): Promise<boolean> {
  const cheap = new Set(['SEQ_SCAN', 'TABLE_SCAN', 'PROJECTION', 'FILTER', 'UNGROUPED_AGGREGATE']);
  interface Node {
    name?: unknown;
    children?: unknown;
    extra_info?: { Table?: unknown };
  }
  const scansTablesOnly = (node: Node): boolean => {
    const name = String(node.name ?? '').trim();
    if (!cheap.has(name)) return false;
    if ((name === 'SEQ_SCAN' || name === 'TABLE_SCAN') && typeof node.extra_info?.Table !== 'string')
      return false;
    return Array.isArray(node.children) && (node.children as Node[]).every(scansTablesOnly);
  };
  try {
    const { rows } = await options.store.wh.query({
      ...options.model,
      sql: `explain (format json) select count(*) from (${body}\n) m`,
    });
    const plan: unknown = JSON.parse(String(rows[0]?.explain_value ?? ''));
    return Array.isArray(plan) && plan.length > 0 && (plan as Node[]).every(scansTablesOnly);
  } catch {
    return false;
  }
}

/** Planned changes by kind, and how many of them are retries (their key is in failures). */
async function countByOp(
  store: StateStore,
  planTable: string,
): Promise<Pick<PlanSummary, 'added' | 'changed' | 'removed' | 'retried'>> {
  const { rows } = await store.wh.query(
    `select ${OP} as op, count(*) as n, sum(case when ${ATTEMPTS} is not null then 1 else 0 end) as retried
     from ${planTable} where ${OP} in ('added', 'changed', 'removed') group by ${OP}`,
  );
  const byOp = new Map(rows.map((r) => [String(r.op), r]));
  return {
    added: Number(byOp.get('added')?.n ?? 0),
    changed: Number(byOp.get('changed')?.n ?? 0),
    removed: Number(byOp.get('removed')?.n ?? 0),
    retried: rows.reduce((sum, r) => sum + Number(r.retried ?? 0), 0),
  };
}

async function countTableRows(store: StateStore, table: string): Promise<number> {
  return Number((await store.wh.query(`select count(*) as n from ${table}`)).rows[0]?.n ?? 0);
}

/**
 * Streams planned changes of the given kinds out of the plan table, as Change objects, in chunks.
 *
 * `expected` is how many rows the plan counted for those kinds. A stream that ends short of it fails instead of
 * ending quietly: DuckDB's Node client reports a result that fails mid-way (out of memory, for one) exactly like
 * one that is exhausted, and a run that took that for the end would report success with changes unsent.
 */
export async function* streamChanges(
  store: StateStore,
  target: SyncTarget,
  planTable: string,
  kinds: readonly ChangeKind[],
  expected: number,
  chunkSize = 2048,
): AsyncIterable<Change[]> {
  if (kinds.length === 0) return;
  const b = new SqlBuilder(store.d);
  const sql = b.build(`select * from ${planTable} where ${store.d.inList(OP, b, kinds)}`);
  let streamed = 0;
  const endStreamingHeap = streamingHeap();
  try {
    for await (const rows of store.wh.stream(sql, { chunkSize })) {
      trimHeap();
      streamed += rows.length;
      yield rows.map((r) => toChange(r, target));
    }
  } finally {
    endStreamingHeap();
  }
  if (streamed !== expected) {
    throw new PqlsyncError(
      'WAREHOUSE_QUERY_FAILED',
      `the warehouse ended the stream of planned changes after ${streamed} of ${expected} rows without an error; ` +
        'what was sent is committed, the rest is planned again by the next run',
      {
        location: { sync: target.sync },
        hint:
          store.d.name === 'duckdb'
            ? "DuckDB's Node client ends a result this way when DuckDB runs out of memory mid-result: raise warehouse.stream_memory_limit (memory_limit, if that is none)"
            : 'check the warehouse for errors or a dropped connection at that time',
      },
    );
  }
}

/** Turns one plan row into a Change (values per destination field, changed fields vs the snapshot). */
export function toChange(r: Row, target: SyncTarget): Change {
  const kind = String(r[OP]) as ChangeKind;
  const key = String(r[PK]);
  const prev = parsePrev(r[PREV]);
  const attempts = r[ATTEMPTS] === null || r[ATTEMPTS] === undefined ? 0 : Number(r[ATTEMPTS]);
  if (kind === 'removed') {
    const values: Record<string, unknown> = {};
    for (const f of target.fields) {
      if (f.field === target.matchField) continue;
      values[f.field] = f.clearedValue;
    }
    Object.assign(values, target.onRemove);
    const matchValue = prev[MATCH_VALUE_KEY] ?? key;
    return {
      key,
      kind,
      matchValue: String(matchValue),
      values,
      changedFields: Object.keys(values),
      row: undefined,
      rowHash: null,
      attempts,
    };
  }
  const row: Row = {};
  for (const [k, v] of Object.entries(r)) if (!k.startsWith('__pqlsync_')) row[k] = changeValue(v);
  const values: Record<string, unknown> = {};
  for (const f of target.fields) {
    const v = cell(row, f.column);
    if ((v === null || v === undefined) && f.skipNull) continue;
    values[f.field] = v ?? null;
  }
  const changedFields =
    kind === 'added'
      ? Object.keys(values)
      : Object.keys(values).filter(
          (field) => JSON.stringify(prev[field] ?? null) !== JSON.stringify(values[field]),
        );
  const matchValue = cell(row, target.matchColumn);
  const invalid = invalidValuesReason(row, target);
  return {
    key,
    kind,
    matchValue: matchValue === null || matchValue === undefined ? '' : String(matchValue),
    values,
    changedFields,
    row,
    rowHash: String(r[HASH]),
    attempts,
    ...(invalid ? { invalid: { reason: invalid, code: INVALID_VALUE } } : {}),
  };
}

function parsePrev(v: unknown): Record<string, unknown> {
  if (typeof v !== 'string' || v === '') return {};
  try {
    const parsed: unknown = JSON.parse(v);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function stripTrailingSemicolons(sql: string): string {
  return sql.replace(/[\s;]+$/u, '');
}

/**
 * The snapshot and failures of a sync that never ran, as empty subqueries. Each has a FROM (GoogleSQL refuses a
 * WHERE without one) and every use gives it an alias (Postgres before 16 refuses a subquery in FROM without one).
 */
function emptySnapshot(store: StateStore): string {
  const t = store.d.types;
  return `(select cast(null as ${t.text}) as key, cast(null as ${t.text}) as row_hash, cast(null as ${t.text}) as values_json from (select 1 as one) e where 1 = 0)`;
}

function emptyFailures(store: StateStore): string {
  const t = store.d.types;
  return `(select cast(null as ${t.text}) as key, cast(null as ${t.bigint}) as attempts, cast(null as ${t.text}) as row_hash from (select 1 as one) e where 1 = 0)`;
}

/** The model's columns, from a `limit 0` read of it (throws what the model throws). */
async function readModelColumns({
  store,
  model,
}: Pick<PlanOptions, 'store' | 'model'>): Promise<string[] | undefined> {
  return (await readModelProbe({ store, model })).columns;
}

async function readModelProbe({ store, model }: Pick<PlanOptions, 'store' | 'model'>): Promise<QueryResult> {
  return store.wh.query({
    ...model,
    sql: `select * from (${stripTrailingSemicolons(model.sql)}\n) m limit 0`,
  });
}

/**
 * The model's output columns as the warehouse names them, with their kinds, from a `limit 0` read; a model that
 * fails is explained (PqlsyncError naming the model).
 */
export async function probeModel(options: PlanOptions): Promise<ModelProbe> {
  try {
    const { columns, columnKinds } = await readModelProbe(options);
    if (!columns)
      throw new PqlsyncError(
        'INTERNAL',
        `the ${options.store.d.name} adapter did not report the model's columns`,
      );
    return { columns, kinds: columnKinds ?? columns.map(() => 'other') };
  } catch (err) {
    if (err instanceof PqlsyncError && err.code === 'INTERNAL') throw err;
    throw await explainModelFailure(options, err, undefined);
  }
}

/**
 * A model that failed to materialise: say which model, and when the key or a mapped column is missing, say
 * exactly that (with the columns the model does return).
 */
async function explainModelFailure(
  options: PlanOptions,
  err: unknown,
  knownColumns?: string[],
): Promise<PqlsyncError> {
  const { keyColumn, target, modelFile } = options;
  const message = err instanceof Error ? err.message : String(err);
  const columns = knownColumns ?? (await readModelColumns(options).catch(() => undefined));
  if (columns) {
    const lower = new Set(columns);
    if (!lower.has(keyColumn)) {
      return new PqlsyncError(
        'MODEL_KEY_MISSING',
        `the model does not return its key column '${keyColumn}' (it returns: ${columns.join(', ')})`,
        {
          location: { file: modelFile, sync: target.sync },
          hint: 'select the key column in the model, or fix `key` in its front matter',
        },
      );
    }
    const missing = [...target.fields.map((f) => f.column), target.matchColumn].filter((c) => !lower.has(c));
    if (missing.length > 0) {
      const unique = [...new Set(missing)];
      return new PqlsyncError(
        'CONFIG_INVALID',
        `the sync maps column${unique.length > 1 ? 's' : ''} ${unique.map((c) => `'${c}'`).join(', ')}, which ${modelFile} does not return (it returns: ${columns.join(', ')})`,
        {
          location: {
            ...(options.configFile ? { file: options.configFile } : {}),
            sync: target.sync,
            path: `syncs.${target.sync}.fields`,
          },
          hint: 'fix `fields` in the sync config, or return the column from the model',
        },
      );
    }
  }
  return new PqlsyncError(
    'WAREHOUSE_QUERY_FAILED',
    `the model failed in the warehouse: ${message.replace(/^DuckDB: /, '')}`,
    {
      kind: 'config',
      location: { file: modelFile, sync: target.sync },
      hint: 'run `pqlsync compile <model>` to see the SQL that was sent',
      cause: err,
    },
  );
}
