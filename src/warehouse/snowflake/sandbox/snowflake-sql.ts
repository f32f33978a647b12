/**
 * Translates the Snowflake SQL that pqlsync itself sends into DuckDB SQL, for the local Snowflake sandbox.
 *
 * Only what our own statements need: `'...'` strings with backslash escapes, `"..."` identifiers (DuckDB matches
 * them case-insensitively, Snowflake does not), `:N` and `?` binds (bound as text and cast to the bind's type), a
 * few type names (NUMBER, FLOAT, TIMESTAMP_TZ/LTZ/NTZ, VARIANT) and `current_timestamp()`. It proves the driver
 * wiring and our SQL's shape, never Snowflake's semantics.
 */
import { duckLiteral, readQuoted, text } from '../../sandbox/sql-text.js';
import type { EngineParams } from '../../sandbox/duckdb-engine.js';

/** A bind as the driver sends it: `{"1": {type: 'FIXED', value: '50'}}`. */
export interface SnowflakeBind {
  type: string;
  value: unknown;
}

const BIND_CASTS: Record<string, string> = {
  FIXED: 'DECIMAL(38,0)',
  REAL: 'DOUBLE',
  TEXT: 'VARCHAR',
  BOOLEAN: 'BOOLEAN',
  DATE: 'DATE',
  TIMESTAMP_LTZ: 'TIMESTAMPTZ',
  TIMESTAMP_TZ: 'TIMESTAMPTZ',
  TIMESTAMP_NTZ: 'TIMESTAMP',
  VARIANT: 'VARCHAR',
};

const PART = '("[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)';
const IDENTIFIER_TEXT = new RegExp(`^${PART}(\\.${PART}){0,2}$`);

const WORDS: Record<string, string> = {
  FLOAT: 'DOUBLE',
  TIMESTAMP_TZ: 'TIMESTAMPTZ',
  TIMESTAMP_LTZ: 'TIMESTAMPTZ',
  TIMESTAMP_NTZ: 'TIMESTAMP',
  VARIANT: 'JSON',
  NUMBER: 'DECIMAL',
};

/** Snowflake's limit on the expressions of one list (`x IN (...)`). */
const MAX_LIST_ITEMS = 16_384;

/** How far a token or its lookahead is read (identifiers are at most 255 characters); not the rest of the text, which made translating a statement with 20,000 binds quadratic. */
const WINDOW = 512;

export function translateSnowflakeSql(
  sql: string,
  bindings: Record<string, SnowflakeBind> = {},
): { sql: string; values: EngineParams } {
  // Refused as Snowflake refuses it (one bind per key, as our IN lists are).
  for (const m of sql.matchAll(/\bin\s*\(((?:\s*:\d+\s*,)*\s*:\d+\s*)\)/gi)) {
    const items = m[1]!.split(',').length;
    if (items > MAX_LIST_ITEMS)
      throw new Error(
        `SQL compilation error: maximum number of expressions in a list exceeded, expected at most ${MAX_LIST_ITEMS}, got ${items}`,
      );
  }
  const values: EngineParams = {};
  let out = '';
  let i = 0;
  let question = 0;
  const bind = (n: number) => {
    const b = bindings[String(n)];
    if (!b) throw new Error(`SQL compilation error: Bind variable :${n} not set.`);
    const key = `b${n}`;
    values[key] = text(b.value);
    return `CAST($${key} AS ${BIND_CASTS[b.type.toUpperCase()] ?? 'VARCHAR'})`;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'") {
      const [value, end] = readQuoted(sql, i, c);
      out += duckLiteral(value);
      i = end;
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      out += sql.slice(i, end + 1);
      i = end + 1;
    } else if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (c === ':' && next === ':') {
      out += '::';
      i += 2;
    } else if (c === ':' && next !== undefined && /[0-9]/.test(next)) {
      const m = /^:([0-9]+)/.exec(sql.slice(i, i + WINDOW))!;
      out += bind(Number(m[1]));
      i += m[0].length;
    } else if (c === '?') {
      out += bind(++question);
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i, i + WINDOW))!;
      const word = m[0];
      const upper = word.toUpperCase();
      const rest = sql.slice(i + word.length, i + word.length + WINDOW);
      const call = /^\s*\(\s*\)/.exec(rest);
      if (upper === 'CURRENT_TIMESTAMP' && call) {
        out += 'current_timestamp';
        i += word.length + call[0].length;
        continue;
      }
      // IDENTIFIER(:N) names an object through a bind: the bind's text is the (already quoted) name.
      const ident = /^\s*\(\s*:([0-9]+)\s*\)/.exec(rest);
      if (upper === 'IDENTIFIER' && ident) {
        const name = String(bindings[ident[1]!]?.value ?? '');
        if (!IDENTIFIER_TEXT.test(name)) throw new Error(`invalid identifier '${name}'`);
        out += name;
        i += word.length + ident[0].length;
        continue;
      }
      // CREATE TRANSIENT TABLE: a table without Fail-safe; DuckDB has no such storage tier.
      if (upper === 'TRANSIENT' && /\bcreate(\s+or\s+replace)?\s*$/i.test(out)) {
        i += word.length;
        continue;
      }
      // A temporary table named in a schema: DuckDB keeps temporary tables in its own catalog only, so the
      // sandbox (one session per test) makes it a plain table of that schema.
      if (
        (upper === 'TEMPORARY' || upper === 'TEMP') &&
        /\bcreate(\s+or\s+replace)?\s*$/i.test(out) &&
        /^\s+table\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*\./i.test(rest)
      ) {
        i += word.length;
        continue;
      }
      // NUMBER(38,0) holds integers: DuckDB's BIGINT keeps them exact and fast.
      const numberScale0 = /^\s*\(\s*\d+\s*,\s*0\s*\)/.exec(rest);
      if (upper === 'NUMBER' && numberScale0) {
        out += 'BIGINT';
        i += word.length + numberScale0[0].length;
        continue;
      }
      out += out.trimEnd().endsWith('.') ? word : (WORDS[upper] ?? word);
      i += word.length;
    } else {
      out += c;
      i++;
    }
  }
  return { sql: out, values };
}
