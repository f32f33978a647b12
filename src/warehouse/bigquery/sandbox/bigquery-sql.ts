/**
 * Translates the BigQuery SQL that pqlsync itself sends into DuckDB SQL, for the local BigQuery sandbox.
 *
 * Only what our own statements need: backtick identifiers, `'...'`/`"..."` strings with backslash escapes,
 * `@name` params (bound as text and cast to the declared type), a few type names (FLOAT64, TIMESTAMP, NUMERIC),
 * `current_timestamp()`, `x in unnest(@list)`. It proves the client wiring and our SQL's shape, never BigQuery's
 * semantics: anything else passes through to DuckDB unchanged.
 */

import { duckLiteral, readQuoted, text } from '../../sandbox/sql-text.js';

export interface BigqueryParam {
  name?: string;
  parameterType: { type: string; arrayType?: { type: string } };
  /** The client sends strings, but numbers and booleans as JSON values. */
  parameterValue: { value?: unknown; arrayValues?: { value?: unknown }[] };
}

export interface TranslatedSql {
  sql: string;
  /** Values bound as text (`$name`), or lists of text for arrays. */
  values: Record<string, string | null | (string | null)[]>;
  /** The DuckDB type each param is cast to. */
  types: Record<string, string>;
}

const DUCK_TYPES: Record<string, string> = {
  INT64: 'BIGINT',
  INTEGER: 'BIGINT',
  FLOAT64: 'DOUBLE',
  FLOAT: 'DOUBLE',
  NUMERIC: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,9)',
  STRING: 'VARCHAR',
  BOOL: 'BOOLEAN',
  BOOLEAN: 'BOOLEAN',
  DATE: 'DATE',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATETIME: 'TIMESTAMP',
  BYTES: 'BLOB',
  JSON: 'JSON',
};

/** Type names in BigQuery DDL and casts that DuckDB spells differently. */
const WORDS: Record<string, string> = {
  FLOAT64: 'DOUBLE',
  TIMESTAMP: 'TIMESTAMPTZ',
  NUMERIC: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,9)',
  DATETIME: 'TIMESTAMP',
};

/**
 * Refuses what GoogleSQL refuses and DuckDB would run: a SELECT with a WHERE but no FROM ("Query without FROM
 * clause cannot have a WHERE clause"). Each parenthesis level is a scope; strings, quoted names and comments are
 * skipped.
 */
/** How far a token or its lookahead is read (identifiers are at most 255 characters); not the rest of the text, which made translating a statement with 20,000 binds quadratic. */
const WINDOW = 512;

export function checkGoogleSql(sql: string): void {
  /** Per parenthesis depth: inside a SELECT, and whether it has had its FROM. */
  const scopes: { select: boolean; from: boolean }[] = [{ select: false, from: false }];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      i = readQuoted(sql, i, c)[1];
    } else if ((c === '-' && next === '-') || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (c === '(') {
      scopes.push({ select: false, from: false });
      i++;
    } else if (c === ')') {
      if (scopes.length > 1) scopes.pop();
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i, i + WINDOW))![0].toLowerCase();
      const scope = scopes[scopes.length - 1]!;
      if (word === 'select') Object.assign(scope, { select: true, from: false });
      else if (word === 'from' && scope.select) scope.from = true;
      else if (word === 'where' && scope.select && !scope.from) {
        throw new Error(
          `Query without FROM clause cannot have a WHERE clause at [${line}:${i - lineStart + 1}]`,
        );
      }
      i += word.length;
    } else i++;
  }
}

export function translateBigquerySql(sql: string, params: readonly BigqueryParam[] = []): TranslatedSql {
  checkGoogleSql(sql);
  const byName = new Map(params.map((p) => [(p.name ?? '').toLowerCase(), p]));
  const values: TranslatedSql['values'] = {};
  const types: Record<string, string> = {};
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"') {
      const [value, end] = readQuoted(sql, i, c);
      // %E6S (seconds with 6 decimals) in a FORMAT_* pattern is DuckDB's %S.%f.
      out += duckLiteral(value.replace(/%E6S/g, '%S.%f'));
      i = end;
    } else if (c === '`') {
      const [value, end] = readQuoted(sql, i, c);
      // `proj.ds.tbl` in one pair of backticks names three parts.
      out += value
        .split('.')
        .map((p) => `"${p.replace(/"/g, '""')}"`)
        .join('.');
      i = end;
    } else if ((c === '-' && next === '-') || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (c === '@' && next !== undefined && /[A-Za-z_]/.test(next)) {
      const m = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i, i + WINDOW))!;
      const name = m[1]!;
      const p = byName.get(name.toLowerCase());
      if (!p) throw new Error(`Query parameter '${name}' not found at [${i}]`);
      const key = `p_${name.toLowerCase()}`;
      const t = p.parameterType;
      if (t.type === 'ARRAY') {
        const el = DUCK_TYPES[t.arrayType?.type ?? 'STRING'] ?? 'VARCHAR';
        types[key] = `${el}[]`;
        values[key] = (p.parameterValue.arrayValues ?? []).map((v) => text(v.value));
      } else {
        types[key] = DUCK_TYPES[t.type] ?? 'VARCHAR';
        values[key] = text(p.parameterValue.value);
      }
      out += `CAST($${key} AS ${types[key]})`;
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i, i + WINDOW))!;
      const word = m[0];
      const upper = word.toUpperCase();
      const prevChar = out.trimEnd().slice(-1);
      if (
        upper === 'CURRENT_TIMESTAMP' &&
        /^\s*\(\s*\)/.test(sql.slice(i + word.length, i + word.length + WINDOW))
      ) {
        out += 'current_timestamp';
        i +=
          word.length + /^\s*\(\s*\)/.exec(sql.slice(i + word.length, i + word.length + WINDOW))![0].length;
        continue;
      }
      out += prevChar !== '.' && WORDS[upper] ? WORDS[upper] : word;
      i += word.length;
    } else {
      out += c;
      i++;
    }
  }
  // A table's clustering (`create table ... cluster by key`) changes how BigQuery stores it, not what it holds.
  out = out.replace(/\)\s*cluster\s+by\s+[\w\s,"]+$/i, ')');
  // `x IN UNNEST(list)` is BigQuery's array membership; DuckDB spells it as a subquery.
  out = out.replace(/\bin\s+unnest\s*\(\s*(CAST\(\$\w+ AS [A-Z0-9[\]]+\))\s*\)/gi, 'in (select unnest($1))');
  return { sql: out, values, types };
}
