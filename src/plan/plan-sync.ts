/**
 * Plans a sync inside the warehouse: materialises the model into `<sync>__current` with a row hash over the
 * mapped fields only, counts invalid rows (null or duplicate keys), diffs against the snapshot into
 * `<sync>__plan` (added / changed / removed, plus keys in failures), and streams the changes out in batches.
 * Only the diff crosses the wire.
 */
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { Change, ChangeKind, SyncTarget } from '../destination/destination.js';
import type { StateStore } from '../state/state-store.js';
import { SqlBuilder } from '../warehouse/sql-dialect.js';
import type { BoundSql, Row } from '../warehouse/warehouse-adapter.js';

/** Bump when the row-hash recipe changes (every row would otherwise look changed silently). */
export const HASH_VERSION = 'v1';
/** Where the match value of a row is kept inside the snapshot's values_json. */
export const MATCH_VALUE_KEY = '__match';

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
  /** Table names used (for streaming and cleanup). */
  currentTable: string;
  planTable: string;
  /** Working-table names (without schema) to drop after the run. */
  workTables: string[];
}

const KEY = '__pqlsync_key';
const HASH = '__pqlsync_hash';
const PK = '__pqlsync_pk';

/** The hash input: a mapping signature (so a mapping change is visible) then the mapped columns by field name. */
export function hashColumns(target: SyncTarget): { signature: string; columns: string[] } {
  const fields = [...target.fields].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  const parts = fields.map((f) => `${f.field}=${f.column}${f.skipNull ? '?' : ''}`);
  if (target.matchColumn) parts.push(`match=${target.matchColumn}`);
  return {
    signature: `${HASH_VERSION}:${parts.join(',')}`,
    columns: [...fields.map((f) => f.column), target.matchColumn],
  };
}

export async function planSync(options: PlanOptions): Promise<PlanSummary> {
  const { store, target, model, keyColumn } = options;
  const d = store.d;
  const wh = store.wh;
  const dry = options.dryRun ?? false;
  const prefix = dry ? `pqlsync_plan_${target.sync}` : target.sync;
  const work = (suffix: string) =>
    dry && !d.scratchTable ? d.quote(`${prefix}__${suffix}`) : store.workTable(`${prefix}__${suffix}`);
  const currentTable = work('current');
  const planTable = work('plan');
  const dupsTable = work('dups');
  const temporary = dry && !d.scratchTable;
  const stateReady = await store.syncTablesExist(target.sync);

  // 1. Materialise the model with its key as text and the row hash over the mapped fields.
  const { signature, columns } = hashColumns(target);
  const hashExpr = d.rowHash([
    `'${signature.replace(/'/g, "''")}'`,
    ...columns.map((c) => `m.${d.quote(c)}`),
  ]);
  const body = stripTrailingSemicolons(model.sql);
  // One line before the body, so the warehouse's line numbers are the model file's line numbers.
  const select = `select m.*, ${d.castText(`m.${d.quote(keyColumn)}`)} as ${KEY}, ${hashExpr} as ${HASH} from (${body}\n) m`;
  try {
    for (const stmt of d.beforeCreateTableAs(currentTable, { temporary })) await wh.query(stmt);
    await wh.query({ ...model, sql: d.createTableAs(currentTable, select, { temporary }) });
  } catch (err) {
    throw await explainModelFailure(options, err);
  }

  // 2. Invalid rows: null keys and duplicate keys are counted, sampled and never sent.
  for (const stmt of d.beforeCreateTableAs(dupsTable, { temporary })) await wh.query(stmt);
  await wh.query(
    d.createTableAs(
      dupsTable,
      `select ${KEY}, count(*) as n from ${currentTable} where ${KEY} is not null group by ${KEY} having count(*) > 1`,
      { temporary },
    ),
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
  const snapshot = stateReady ? store.snapshotTable(target.sync) : emptySnapshot(store);
  const failures = stateReady ? store.failuresTable(target.sync) : emptyFailures(store);
  // max_attempts: a row that failed that many times waits (is "parked") until its values change.
  const parked =
    options.maxAttempts !== undefined
      ? `\n        and not (f.attempts >= ${Math.trunc(options.maxAttempts)} and coalesce(f.row_hash, '') = coalesce(c.${HASH}, ''))`
      : '';
  const diff = `select coalesce(c.${KEY}, s.key) as ${PK},
        case when s.key is null then 'added' when c.${KEY} is null then 'removed' else 'changed' end as __pqlsync_op,
        s.values_json as __pqlsync_prev, s.row_hash as __pqlsync_prev_hash,
        f.attempts as __pqlsync_attempts, c.*
      from (select * from ${currentTable} where ${KEY} is not null) c
      full outer join ${snapshot} s on c.${KEY} = s.key
      left join ${failures} f on f.key = coalesce(c.${KEY}, s.key)
      left join ${dupsTable} dup on dup.${KEY} = coalesce(c.${KEY}, s.key)
      where dup.${KEY} is null
        and (s.key is null or c.${KEY} is null or c.${HASH} <> s.row_hash or f.key is not null)${parked}`;
  for (const stmt of d.beforeCreateTableAs(planTable, { temporary })) await wh.query(stmt);
  await wh.query(d.createTableAs(planTable, diff, { temporary }));

  const { rows: opRows } = await wh.query(
    `select __pqlsync_op as op, count(*) as n,
       sum(case when __pqlsync_attempts is not null then 1 else 0 end) as retried
     from ${planTable} group by __pqlsync_op`,
  );
  const byOp = new Map(opRows.map((r) => [String(r.op), r]));
  const snapshotRows = stateReady
    ? Number((await wh.query(`select count(*) as n from ${snapshot}`)).rows[0]?.n ?? 0)
    : 0;
  return {
    modelRows,
    validRows: modelRows - nullKeys - dupRows,
    invalid: { nullKeys, duplicateKeyRows: dupRows, sampleDuplicateKeys },
    snapshotRows,
    added: Number(byOp.get('added')?.n ?? 0),
    changed: Number(byOp.get('changed')?.n ?? 0),
    removed: Number(byOp.get('removed')?.n ?? 0),
    retried: opRows.reduce((s, r) => s + Number(r.retried ?? 0), 0),
    currentTable,
    planTable,
    workTables: ['current', 'plan', 'dups'].map((suffix) => `${prefix}__${suffix}`),
  };
}

/**
 * Streams planned changes of the given kinds out of the plan table, as Change objects, in chunks.
 */
export async function* streamChanges(
  store: StateStore,
  target: SyncTarget,
  planTable: string,
  kinds: readonly ChangeKind[],
  chunkSize = 2048,
): AsyncIterable<Change[]> {
  if (kinds.length === 0) return;
  const b = new SqlBuilder(store.d);
  const sql = b.build(`select * from ${planTable} where ${store.d.inList('__pqlsync_op', b, kinds)}`);
  for await (const rows of store.wh.stream(sql, { chunkSize })) {
    yield rows.map((r) => toChange(r, target));
  }
}

/** Turns one plan row into a Change (values per destination field, changed fields vs the snapshot). */
export function toChange(r: Row, target: SyncTarget): Change {
  const kind = String(r.__pqlsync_op) as ChangeKind;
  const key = String(r[PK]);
  const prev = parsePrev(r.__pqlsync_prev);
  const attempts =
    r.__pqlsync_attempts === null || r.__pqlsync_attempts === undefined ? 0 : Number(r.__pqlsync_attempts);
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
  for (const [k, v] of Object.entries(r)) if (!k.startsWith('__pqlsync_')) row[k] = plainValue(v);
  const values: Record<string, unknown> = {};
  for (const f of target.fields) {
    const v = row[f.column];
    if ((v === null || v === undefined) && f.skipNull) continue;
    values[f.field] = v ?? null;
  }
  const changedFields =
    kind === 'added'
      ? Object.keys(values)
      : Object.keys(values).filter(
          (field) => JSON.stringify(prev[field] ?? null) !== JSON.stringify(values[field]),
        );
  const matchValue = row[target.matchColumn];
  return {
    key,
    kind,
    matchValue: matchValue === null || matchValue === undefined ? '' : String(matchValue),
    values,
    changedFields,
    row,
    rowHash: String(r[HASH]),
    attempts,
  };
}

/** The values_json stored in the snapshot for an applied change. */
export function snapshotValues(change: Change): Record<string, unknown> {
  return { ...change.values, [MATCH_VALUE_KEY]: change.matchValue };
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

function plainValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

function stripTrailingSemicolons(sql: string): string {
  return sql.replace(/[\s;]+$/u, '');
}

function emptySnapshot(store: StateStore): string {
  const t = store.d.types;
  return `(select cast(null as ${t.text}) as key, cast(null as ${t.text}) as row_hash, cast(null as ${t.text}) as values_json where 1 = 0)`;
}

function emptyFailures(store: StateStore): string {
  const t = store.d.types;
  return `(select cast(null as ${t.text}) as key, cast(null as ${t.bigint}) as attempts, cast(null as ${t.text}) as row_hash where 1 = 0)`;
}

/**
 * A model that failed to materialise: say which model, and when the key or a mapped column is missing, say
 * exactly that (with the columns the model does return).
 */
async function explainModelFailure(options: PlanOptions, err: unknown): Promise<PqlsyncError> {
  const { store, model, keyColumn, target, modelFile } = options;
  const message = err instanceof Error ? err.message : String(err);
  let columns: string[] | undefined;
  try {
    const probe = await store.wh.query({
      ...model,
      sql: `select * from (${stripTrailingSemicolons(model.sql)}\n) m limit 0`,
    });
    columns = probe.columns;
  } catch {
    columns = undefined;
  }
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
