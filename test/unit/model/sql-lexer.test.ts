import { describe, expect, it } from 'vitest';
import { lexSql } from '../../../src/model/sql-lexer.js';
import type { Dialect } from '../../../src/warehouse/warehouse-adapter.js';

/** The references as `kind:text@line:column`, compact enough to read in an assertion. */
function refs(sql: string, dialect: Dialect): string[] {
  const { references, issues } = lexSql(sql, dialect);
  expect(issues).toEqual([]);
  return references.map((r) => `${r.kind}:${r.text}@${r.line}:${r.column}`);
}

describe('lexSql', () => {
  it('finds :name and {{ }} with line and column, and offsets that cover the reference', () => {
    const sql = 'select :a,\n  {{ b }}, {{ days_ago( n ) }}';
    expect(refs(sql, 'duckdb')).toEqual(['param:a@1:8', 'template:b@2:3', 'template:days_ago( n )@2:12']);
    const [first, second] = lexSql(sql, 'duckdb').references;
    expect(sql.slice(first?.start, first?.end)).toBe(':a');
    expect(sql.slice(second?.start, second?.end)).toBe('{{ b }}');
  });

  it('leaves :: casts, paths and slices alone', () => {
    expect(refs("select x::int, y::text[], '1'::date, :a::int from t", 'postgres')).toEqual(['param:a@1:38']);
    expect(refs('select payload:user_id, arr[1:n], (:n), =:m, f(:o)', 'snowflake')).toEqual([
      'param:n@1:36',
      'param:m@1:42',
      'param:o@1:48',
    ]);
  });

  it("skips '...' strings with '' escapes in every dialect", () => {
    for (const dialect of ['duckdb', 'postgres', 'redshift', 'snowflake', 'bigquery'] as const) {
      expect(refs("select 'it''s :a {{ b }}', :c", dialect), dialect).toEqual(['param:c@1:28']);
    }
  });

  it('skips -- and /* */ comments everywhere, nested /* */ on postgres and duckdb only', () => {
    expect(refs('select 1 -- :a {{ b }}\n, :c /* :d */', 'postgres')).toEqual(['param:c@2:3']);
    expect(refs('/* outer /* inner */ :a */ :b', 'postgres')).toEqual(['param:b@1:28']);
    expect(refs('/* outer /* inner */ :a */ :b', 'duckdb')).toEqual(['param:b@1:28']);
    expect(refs('/* outer /* inner */ :a */ :b', 'snowflake')).toEqual(['param:a@1:22', 'param:b@1:28']);
  });

  it("skips postgres E'..' strings with backslash escapes, and $tag$ strings", () => {
    expect(refs("select E'it\\'s :a', :b", 'postgres')).toEqual(['param:b@1:21']);
    expect(refs('select $$ :a $$, $body$ :b $$ :c $body$, :d', 'postgres')).toEqual(['param:d@1:42']);
    expect(refs('select $t$ {{ a }} $t$, $1, :b', 'duckdb')).toEqual(['param:b@1:29']);
  });

  it('skips double-quoted identifiers outside BigQuery, with "" escapes', () => {
    expect(refs('select "a "" :b", :c from "{{ t }}"', 'postgres')).toEqual(['param:c@1:19']);
    expect(refs('select "A:b" from t where x = :c', 'snowflake')).toEqual(['param:c@1:31']);
  });

  it('skips snowflake // comments, $$ strings and backslash escapes', () => {
    expect(refs("select 'a\\' :x', $$ :y $$, :z // :w", 'snowflake')).toEqual(['param:z@1:28']);
  });

  it('skips BigQuery "..." and triple-quoted strings, r/b prefixes, backticks and # comments', () => {
    const sql = [
      'select "a \\" :x", r\'\\d :y\', b"\\x00 :z", rb\'\\\' :v\',',
      "  '''multi ' :a",
      'line\'\'\', """ :b """, `proj.ds.:c`, :d # :e',
      '  , :f',
    ].join('\n');
    expect(refs(sql, 'bigquery')).toEqual(['param:d@3:36', 'param:f@4:5']);
  });

  it('treats # as an operator and backticks as ordinary characters outside BigQuery', () => {
    expect(refs('select 1 # :a', 'postgres')).toEqual(['param:a@1:12']);
  });

  it('reports unterminated strings, comments and {{ with where they start', () => {
    expect(lexSql("select 1,\n  'open :a", 'duckdb').issues).toEqual([
      { message: 'unterminated string', line: 2, column: 3 },
    ]);
    expect(lexSql('select /* :a', 'snowflake').issues).toEqual([
      { message: 'unterminated /* comment', line: 1, column: 8 },
    ]);
    expect(lexSql('select $x$ :a', 'postgres').issues).toEqual([
      { message: 'unterminated $x$ string', line: 1, column: 8 },
    ]);
    expect(lexSql('select "a', 'postgres').issues).toEqual([
      { message: 'unterminated quoted identifier', line: 1, column: 8 },
    ]);
    expect(lexSql('select {{ a ', 'duckdb').issues).toEqual([
      { message: 'unterminated {{ (no closing }})', line: 1, column: 8 },
    ]);
  });
});
