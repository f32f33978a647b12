/**
 * Placeholders and identifier quoting per dialect (warehouses.md §5).
 *
 * Glossary:
 * - positional dialects (postgres/redshift `$N`, snowflake `:N`): numbered by first appearance; a repeated name
 *   reuses its number, so `params[i]` is placeholder i+1.
 * - named dialects (duckdb `$name`, bigquery `@name`): each name bound once.
 *
 * Used by the model compiler and `bindSql`; nothing here ever puts a value into SQL text.
 */
import type { BindType, BoundParam, Dialect } from '../warehouse/warehouse-adapter.js';

/** True when the dialect numbers its placeholders. */
export function isPositional(dialect: Dialect): boolean {
  return dialect === 'postgres' || dialect === 'redshift' || dialect === 'snowflake';
}

/** Collects bind parameters in order and hands out each one's placeholder text. */
export class Binder {
  readonly params: BoundParam[] = [];
  private readonly numbers = new Map<string, number>();

  constructor(readonly dialect: Dialect) {}

  /** The placeholder for `name` (e.g. `$2`, `:2`, `$name`, `@name`), binding `value` the first time. */
  placeholder(name: string, type: BindType, value: unknown): string {
    let n = this.numbers.get(name);
    if (n === undefined) {
      this.params.push({ name, type, value });
      n = this.params.length;
      this.numbers.set(name, n);
    }
    switch (this.dialect) {
      case 'postgres':
      case 'redshift':
        return `$${n}`;
      case 'snowflake':
        return `:${n}`;
      case 'duckdb':
        return `$${name}`;
      case 'bigquery':
        return `@${name}`;
    }
  }

  /**
   * One placeholder per element (`:3, :4, :5`) for dialects without array binds (Snowflake's Node driver,
   * Redshift); elements are named `name[0]`, `name[1]`, ... Returns an empty list for an empty array.
   */
  elements(name: string, type: 'string[]' | 'integer[]', values: readonly unknown[]): string[] {
    const elementType: BindType = type === 'string[]' ? 'string' : 'integer';
    return values.map((v, i) => this.placeholder(`${name}[${i}]`, elementType, v));
  }
}

/** The SQL type a model's typed placeholder is cast to, so engines never have to guess a bind's type. */
const CASTS: Record<Exclude<Dialect, 'bigquery'>, Partial<Record<BindType, string>>> = {
  duckdb: {
    integer: 'INTEGER',
    number: 'DOUBLE',
    string: 'VARCHAR',
    boolean: 'BOOLEAN',
    date: 'DATE',
    'string[]': 'VARCHAR[]',
  },
  postgres: {
    integer: 'integer',
    number: 'double precision',
    string: 'text',
    boolean: 'boolean',
    date: 'date',
    'string[]': 'text[]',
  },
  // Redshift: a bare VARCHAR cast is VARCHAR(256) and would truncate, so strings stay uncast.
  redshift: { integer: 'integer', number: 'float8', boolean: 'boolean', date: 'date' },
  snowflake: { integer: 'INTEGER', number: 'FLOAT', string: 'VARCHAR', boolean: 'BOOLEAN', date: 'DATE' },
};

/**
 * A placeholder with an explicit cast (`$1::integer`, `$lookback_days::INTEGER`, `:1::DATE`). BigQuery gets none:
 * its parameter types travel with the request (`types`).
 */
export function typedPlaceholder(binder: Binder, name: string, type: BindType, value: unknown): string {
  const text = binder.placeholder(name, type, value);
  const cast = binder.dialect === 'bigquery' ? undefined : CASTS[binder.dialect][type];
  return cast ? `${text}::${cast}` : text;
}

/**
 * Quotes identifier parts for the dialect: duckdb/postgres/redshift `"x"` (`"` doubled), bigquery backticks
 * (`` ` `` and `\` backslash-escaped), snowflake unquoted when plain (quoting would make it case-sensitive).
 */
export function quoteIdentifierParts(parts: readonly string[], dialect: Dialect): string {
  return parts
    .map((p) => {
      if (dialect === 'bigquery') return `\`${p.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
      if (dialect === 'snowflake' && /^[A-Za-z_][A-Za-z0-9_$]*$/.test(p)) return p;
      return `"${p.replace(/"/g, '""')}"`;
    })
    .join('.');
}
