/**
 * The vetted macros a model may call inside `{{ }}`, rendered per dialect. There is no other templating: no
 * Jinja logic, no filters. Values reaching a macro are bound; only column names written in the model are
 * placed in the text.
 *
 * - `now()`: the current timestamp; in a model that declares `as_of`, the as_of date (bound) when it is set, so
 *   backtests see the past as "now".
 * - `days_ago(n)`: the timestamp n days before `now()`; n is an integer literal or an integer param (bound).
 * - `hash_row(col, ...)`: md5 hex over the columns cast to text, `\N` for NULL, joined with `|` (warehouses.md §6).
 *   Hashes are not comparable across warehouses.
 * - `in_list(param)`: membership in a string[] param: `= ANY(...)`, `IN UNNEST(...)`, or `IN (:3, :4)` where the
 *   driver has no array binds. Write `col {{ in_list(tiers) }}`; negate with `NOT (col {{ in_list(tiers) }})`.
 */
import type { Dialect } from '../warehouse/warehouse-adapter.js';

export const MACROS = ['now', 'days_ago', 'hash_row', 'in_list'] as const;
export type MacroName = (typeof MACROS)[number];

export function renderNow(dialect: Dialect): string {
  if (dialect === 'bigquery' || dialect === 'snowflake') return 'CURRENT_TIMESTAMP()';
  if (dialect === 'redshift') return 'GETDATE()';
  return 'CURRENT_TIMESTAMP';
}

/** `days` is an integer literal or a typed placeholder; `base` is the point in time (now, or the as_of date). */
export function renderDaysAgo(dialect: Dialect, days: string, base: string = renderNow(dialect)): string {
  switch (dialect) {
    case 'duckdb':
      return `(${base} - to_days(${days}))`;
    case 'postgres':
      return `(${base} - make_interval(days => ${days}))`;
    case 'redshift':
    case 'snowflake':
      return `DATEADD(day, -(${days}), ${base})`;
    case 'bigquery':
      return `TIMESTAMP_SUB(${base}, INTERVAL ${days} DAY)`;
  }
}

/** `columns` are column references already checked to be plain (optionally dotted) names. */
export function renderHashRow(dialect: Dialect, columns: readonly string[]): string {
  switch (dialect) {
    case 'duckdb':
      return `md5(concat_ws('|', ${columns.map((c) => `coalesce(CAST(${c} AS VARCHAR), '\\N')`).join(', ')}))`;
    case 'postgres':
      return `md5(concat_ws('|', ${columns.map((c) => `coalesce(CAST(${c} AS TEXT), '\\N')`).join(', ')}))`;
    case 'redshift':
      // No CONCAT_WS on Redshift; VARCHAR without a length is VARCHAR(256), so give the maximum.
      return `MD5(${columns.map((c) => `NVL(CAST(${c} AS VARCHAR(65535)), '\\\\N')`).join(` || '|' || `)})`;
    case 'bigquery':
      return `TO_HEX(MD5(ARRAY_TO_STRING([${columns.map((c) => `COALESCE(CAST(${c} AS STRING), '\\\\N')`).join(', ')}], '|')))`;
    case 'snowflake':
      return `MD5(CONCAT_WS('|', ${columns.map((c) => `COALESCE(CAST(${c} AS VARCHAR), '\\\\N')`).join(', ')}))`;
  }
}

/**
 * `list` is the array placeholder (duckdb, postgres, bigquery) or the element placeholders (snowflake,
 * redshift). An empty element list becomes an empty subquery, which is false for every value.
 */
export function renderInList(dialect: Dialect, list: string | readonly string[]): string {
  if (typeof list !== 'string')
    return list.length > 0 ? `IN (${list.join(', ')})` : 'IN (SELECT NULL WHERE 1 = 0)';
  return dialect === 'bigquery' ? `IN UNNEST(${list})` : `= ANY(${list})`;
}
