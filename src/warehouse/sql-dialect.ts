/**
 * The few SQL differences pqlsync's own statements (state tables, plan, commit) need per warehouse.
 *
 * Glossary:
 * - SqlDialect: type names, quoting, the row-hash recipe and placeholders for one warehouse.
 * - SqlBuilder: collects bind parameters while a statement is written, so values are never spliced:
 *   `b.param(value, 'string')` returns the dialect's placeholder (`$name`, `$3`, `@p3`, `:3`).
 */
import type { BindType, BoundParam, BoundSql, Dialect } from './warehouse-adapter.js';

export interface SqlDialect {
  readonly name: Dialect;
  readonly types: { text: string; bigint: string; double: string; boolean: string; timestamp: string };
  quote(identifier: string): string;
  /** `schema.table`, quoted. */
  table(schema: string, table: string): string;
  /** Text form of any value, used by the row hash. */
  castText(expr: string): string;
  /**
   * The row hash over mapped columns: md5 of the columns' text joined by `|` with a NULL sentinel, so the same
   * values give the same hash run after run (hashes are compared only within one engine).
   */
  rowHash(exprs: string[]): string;
  /** `CREATE [TEMP] TABLE name AS select`, replacing an existing one. */
  createTableAs(name: string, select: string, options?: { temporary?: boolean }): string;
  /** Current timestamp expression. */
  now(): string;
  /** Placeholder for the parameter at 1-based `position` named `name`. */
  placeholder(name: string, position: number): string;
  /** True when a repeated name reuses one bind (named placeholders). */
  readonly namedParams: boolean;
  /** `expr` is one of `values` (bound as an array, or one bind per value where the engine has no array binds). */
  inList(expr: string, b: SqlBuilder, values: readonly string[]): string;
}

const standardHash = (castText: (e: string) => string) => (exprs: string[]) =>
  `md5(${exprs.map((e) => `coalesce(${castText(e)}, '\\N')`).join(` || '|' || `) || "''"})`;

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',
  types: { text: 'varchar', bigint: 'bigint', double: 'double', boolean: 'boolean', timestamp: 'timestamptz' },
  quote: (id) => `"${id.replace(/"/g, '""')}"`,
  table(schema, table) {
    return `${this.quote(schema)}.${this.quote(table)}`;
  },
  castText: (e) => `cast(${e} as varchar)`,
  rowHash: standardHash((e) => `cast(${e} as varchar)`),
  createTableAs: (name, select, options) =>
    `create or replace ${options?.temporary ? 'temp ' : ''}table ${name} as ${select}`,
  now: () => 'current_timestamp',
  placeholder: (name) => `$${name}`,
  namedParams: true,
  inList: (expr, b, values) => `${expr} = any(${b.param(values, 'string[]')})`,
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  types: { text: 'text', bigint: 'bigint', double: 'double precision', boolean: 'boolean', timestamp: 'timestamptz' },
  quote: (id) => `"${id.replace(/"/g, '""')}"`,
  table(schema, table) {
    return `${this.quote(schema)}.${this.quote(table)}`;
  },
  castText: (e) => `cast(${e} as text)`,
  rowHash: standardHash((e) => `cast(${e} as text)`),
  createTableAs: (name, select, options) =>
    options?.temporary ? `create temp table ${name} as ${select}` : `create table ${name} as ${select}`,
  now: () => 'now()',
  placeholder: (_name, position) => `$${position}`,
  namedParams: false,
  inList: (expr, b, values) => `${expr} = any(${b.param(values, 'string[]')}::text[])`,
};

const dialects = new Map<Dialect, SqlDialect>([
  ['duckdb', duckdbDialect],
  ['postgres', postgresDialect],
  ['redshift', { ...postgresDialect, name: 'redshift' }],
]);

/** Registers a dialect (warehouse adapters call this for theirs). */
export function registerSqlDialect(dialect: SqlDialect): void {
  dialects.set(dialect.name, dialect);
}

export function sqlDialect(name: Dialect): SqlDialect {
  const d = dialects.get(name);
  if (!d) throw new Error(`no SQL dialect registered for ${name}`);
  return d;
}

/** Collects bind parameters for one statement. */
export class SqlBuilder {
  readonly params: BoundParam[] = [];
  private readonly byName = new Map<string, string>();

  constructor(readonly dialect: SqlDialect) {}

  /** Adds a value and returns its placeholder. Named dialects reuse a name's placeholder. */
  param(value: unknown, type: BindType, name?: string): string {
    const n = name ?? `p${this.params.length + 1}`;
    if (this.dialect.namedParams) {
      const existing = this.byName.get(n);
      if (existing) return existing;
    }
    this.params.push({ name: n, type, value });
    const ph = this.dialect.placeholder(n, this.params.length);
    if (this.dialect.namedParams) this.byName.set(n, ph);
    return ph;
  }

  build(sql: string): BoundSql {
    return { dialect: this.dialect.name, sql, params: [...this.params] };
  }
}
