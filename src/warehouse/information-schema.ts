/**
 * `tableExists` and `ensureSchema` for the warehouses that answer them in SQL (DuckDB, Postgres, Redshift,
 * Snowflake): one `information_schema.tables` lookup and one `create schema if not exists`, written once with the
 * dialect's placeholders and quoting. BigQuery keeps its own (a dataset is created through the datasets API).
 *
 * Glossary:
 * - stored name: how the catalog spells an identifier that pqlsync quotes. Where quoting keeps the name as given
 *   (DuckDB, Postgres) it is the name itself; Snowflake folds a plain name to upper case (`snowflakeQuote`), so
 *   its adapter passes that fold.
 */
import { SqlBuilder, sqlDialect } from './sql-dialect.js';
import type { WarehouseAdapter } from './warehouse-adapter.js';

/**
 * True when `schema.table` is listed in `information_schema.tables`. `storedName` turns an identifier into the
 * catalog's spelling of it. (Default: the name as given)
 */
export async function informationSchemaTableExists(
  wh: WarehouseAdapter,
  schema: string,
  table: string,
  storedName: (identifier: string) => string = (identifier) => identifier,
): Promise<boolean> {
  const b = new SqlBuilder(sqlDialect(wh.dialect));
  const sql =
    'select count(*) as n from information_schema.tables ' +
    `where table_schema = ${b.param(storedName(schema), 'string', 'schema')} ` +
    `and table_name = ${b.param(storedName(table), 'string', 'table')}`;
  const { rows } = await wh.query(b.build(sql));
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Creates `schema` when missing (`create schema if not exists`, quoted by the adapter). */
export async function createSchemaIfMissing(wh: WarehouseAdapter, schema: string): Promise<void> {
  await wh.query(`create schema if not exists ${wh.quoteIdentifier(schema)}`);
}
