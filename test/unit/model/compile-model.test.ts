import { describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { bindSql, compileModel, type CompileOptions } from '../../../src/model/compile-model.js';
import type { ModelFile } from '../../../src/model/model-file.js';
import type { ParamSpec } from '../../../src/model/param-spec.js';
import { quoteIdentifierParts } from '../../../src/model/placeholders.js';
import type { Dialect } from '../../../src/warehouse/warehouse-adapter.js';

const FILE = 'models/m.sql';

/** A model in memory: the body's first line is file line 10, as if a 9-line front matter came first. */
function model(
  params: Record<string, Omit<ParamSpec, 'required' | 'line'> & { required?: boolean }>,
  sql: string,
): ModelFile {
  let line = 3;
  const specs: Record<string, ParamSpec> = {};
  for (const [name, p] of Object.entries(params)) specs[name] = { required: false, line: line++, ...p };
  return {
    name: 'm',
    description: '',
    key: 'id',
    params: specs,
    path: FILE,
    frontMatterPath: FILE,
    body: '\n'.repeat(9) + sql,
    bodyPath: FILE,
    hash: '000000000000',
  };
}

/** The error `fn` throws (fails the test when it does not throw). */
function failure(fn: () => unknown): PqlsyncError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PqlsyncError);
    return err as PqlsyncError;
  }
  throw new Error('expected an error, got none');
}

const compile = (m: ModelFile, dialect: Dialect, rest: Omit<CompileOptions, 'dialect'> = {}) =>
  compileModel(m, { dialect, ...rest });

describe('compileModel placeholders', () => {
  const m = model(
    { days: { type: 'integer', default: 7 }, tier: { type: 'string', default: 'hot' } },
    'select * from t where a > :days and b = {{ tier }} and c < :days;',
  );

  it('numbers positional placeholders by first appearance and reuses them', () => {
    expect(compile(m, 'postgres')).toMatchObject({
      sql: `${'\n'.repeat(9)}select * from t where a > $1::integer and b = $2::text and c < $1::integer`,
      params: [
        { name: 'days', type: 'integer', value: 7 },
        { name: 'tier', type: 'string', value: 'hot' },
      ],
    });
    expect(compile(m, 'snowflake').sql.trim()).toBe(
      'select * from t where a > :1::INTEGER and b = :2::VARCHAR and c < :1::INTEGER',
    );
    expect(compile(m, 'redshift').sql.trim()).toBe(
      'select * from t where a > $1::integer and b = $2 and c < $1::integer',
    );
  });

  it('binds each name once on named dialects', () => {
    const duck = compile(m, 'duckdb');
    expect(duck.sql.trim()).toBe(
      'select * from t where a > $days::INTEGER and b = $tier::VARCHAR and c < $days::INTEGER',
    );
    expect(duck.params).toHaveLength(2);
    expect(compile(m, 'bigquery').sql.trim()).toBe(
      'select * from t where a > @days and b = @tier and c < @days',
    );
  });

  it('resolves values from defaults, then the sync params, then --vars', () => {
    const out = compile(m, 'duckdb', { configParams: { days: 30, tier: 'warm' }, vars: { days: 90 } });
    expect(out.values).toEqual({ days: 90, tier: 'warm' });
    expect(out.params).toEqual([
      { name: 'days', type: 'integer', value: 90 },
      { name: 'tier', type: 'string', value: 'warm' },
    ]);
  });

  it('drops a trailing semicolon and ends a trailing line comment, so the SQL can be wrapped', () => {
    expect(compile(model({}, 'select 1;  \n\n'), 'duckdb').sql).toBe(`${'\n'.repeat(9)}select 1`);
    // A ";" inside the comment is comment text; the comment still ends its line.
    expect(compile(model({}, 'select 1 -- last; \n'), 'duckdb').sql).toBe(
      `${'\n'.repeat(9)}select 1 -- last;\n`,
    );
    // A terminator before a final comment is dropped too.
    expect(compile(model({}, 'select 1; -- done\n'), 'duckdb').sql).toBe(
      `${'\n'.repeat(9)}select 1  -- done\n`,
    );
  });

  it('refuses a ";" that more SQL follows, at its line and column, and allows ";" in strings and comments', () => {
    const smuggler = model({}, "select ';' as a, 1 /* ; */ as b;\n  delete from t; -- gone\n");
    expect(() => compile(smuggler, 'duckdb')).toThrowError(
      expect.objectContaining({
        code: 'MODEL_INVALID',
        message:
          'a ";" ends the statement here and more SQL follows; a model is exactly one query (a ";" may only end it)',
        location: { file: 'models/m.sql', line: 10, column: 32 },
      }),
    );
    expect(compile(model({}, "select ';' as a -- ;\n;;\n"), 'duckdb').sql).toBe(
      `${'\n'.repeat(9)}select ';' as a -- ;\n`,
    );
  });

  it('binds an unset optional param as null', () => {
    const opt = model({ as_of: { type: 'date' } }, 'select :as_of');
    expect(compile(opt, 'postgres').params).toEqual([{ name: 'as_of', type: 'date', value: null }]);
  });
});

describe('compileModel identifiers and enums', () => {
  const m = model(
    {
      tbl: { type: 'identifier', default: 'analytics.events' },
      dir: { type: 'enum', values: ['asc', 'desc'], default: 'desc' },
    },
    'select * from {{ tbl }} join :tbl using (id) order by id {{ dir }}',
  );

  it('quotes identifiers per dialect and emits the enum value', () => {
    expect(compile(m, 'duckdb').sql.trim()).toBe(
      'select * from "analytics"."events" join "analytics"."events" using (id) order by id desc',
    );
    expect(compile(m, 'bigquery', { vars: { tbl: 'proj.ds.events' } }).sql.trim()).toBe(
      'select * from `proj`.`ds`.`events` join `proj`.`ds`.`events` using (id) order by id desc',
    );
    expect(compile(m, 'snowflake', { vars: { tbl: 'raw.my-events', dir: 'asc' } }).sql.trim()).toBe(
      'select * from raw."my-events" join raw."my-events" using (id) order by id asc',
    );
    expect(compile(m, 'postgres').params).toEqual([]);
  });

  it('quotes parts safely even when given characters the validator would refuse', () => {
    expect(quoteIdentifierParts(['a"b'], 'postgres')).toBe('"a""b"');
    expect(quoteIdentifierParts(['a`b\\c'], 'bigquery')).toBe('`a\\`b\\\\c`');
    expect(quoteIdentifierParts(['A$1', 'x y'], 'snowflake')).toBe('A$1."x y"');
  });

  it('rejects an injected identifier and an undeclared enum value, located at their declarations', () => {
    const err = failure(() =>
      compile(m, 'duckdb', { vars: { tbl: 'events; drop table x', dir: 'sideways' } }),
    );
    expect(err.code).toBe('MODEL_PARAM_INVALID');
    expect(err.format()).toBe(
      [
        'models/m.sql: 2 problems in model m:',
        '  models/m.sql:3 (param tbl): expected an identifier like schema.table (1 to 3 dot-separated parts, each a letter or _ then letters, digits, _, $ or -, at most 128 characters), found string "events; drop table x" (from --vars)',
        '  models/m.sql:4 (param dir): expected one of "asc", "desc", found string "sideways" (from --vars)',
        "  hint: declare params in the front matter; set values in the sync's params or with --vars '{\"name\": value}'",
      ].join('\n'),
    );
  });

  it('enforces allowed_schemas', () => {
    const scoped = model(
      { tbl: { type: 'identifier', allowedSchemas: ['analytics'], required: true } },
      'from :tbl',
    );
    expect(compile(scoped, 'postgres', { vars: { tbl: 'Analytics.events' } }).sql.trim()).toBe(
      'from "Analytics"."events"',
    );
    expect(
      failure(() => compile(scoped, 'postgres', { configParams: { tbl: 'events' } })).format(),
    ).toContain(
      'models/m.sql:3 (param tbl): expected a table in schema analytics (allowed_schemas), found string "events" (from the sync\'s params)',
    );
  });

  it("refuses null from --vars and the sync's params instead of letting it replace the default unchecked", () => {
    const m = model(
      {
        i: { type: 'integer', default: 5, min: 1, max: 10 },
        since: { type: 'date' },
        tbl: { type: 'identifier', required: true },
      },
      'select :i, :since from {{ tbl }}',
    );
    const err = failure(() =>
      compile(m, 'duckdb', { vars: { i: null, tbl: null }, configParams: { since: null, tbl: 'a.b' } }),
    );
    expect(err.code).toBe('MODEL_PARAM_INVALID');
    expect(err.format()).toBe(
      [
        'models/m.sql: 3 problems in model m:',
        '  models/m.sql:3 (param i): --vars sets "i" to null; give an integer value, or leave it out to use the default (number 5)',
        '  models/m.sql:4 (param since): the sync\'s params set "since" to null; give a date value, or leave it out to leave it unset',
        '  models/m.sql:5 (param tbl): --vars sets "tbl" to null; give an identifier value',
        "  hint: declare params in the front matter; set values in the sync's params or with --vars '{\"name\": value}'",
      ].join('\n'),
    );
  });

  it('matches allowed_schemas against the whole qualifier, not its last part', () => {
    const scoped = model(
      { tbl: { type: 'identifier', allowedSchemas: ['app', 'warehouse.analytics'], required: true } },
      'from :tbl',
    );
    expect(failure(() => compile(scoped, 'postgres', { vars: { tbl: 'evil.app.events' } })).format()).toBe(
      'models/m.sql:3 (param tbl): expected a table in schema app or warehouse.analytics (allowed_schemas), found string "evil.app.events" (from --vars)\n' +
        "  hint: declare params in the front matter; set values in the sync's params or with --vars '{\"name\": value}'",
    );
    expect(failure(() => compile(scoped, 'postgres', { vars: { tbl: 'analytics.events' } })).message).toBe(
      'expected a table in schema app or warehouse.analytics (allowed_schemas), found string "analytics.events" (from --vars)',
    );
    expect(compile(scoped, 'postgres', { vars: { tbl: 'warehouse.analytics.events' } }).sql.trim()).toBe(
      'from "warehouse"."analytics"."events"',
    );
    expect(compile(scoped, 'postgres', { vars: { tbl: 'APP.events' } }).sql.trim()).toBe(
      'from "APP"."events"',
    );
  });
});

describe('compileModel arrays and macros', () => {
  const m = model(
    { tiers: { type: 'string[]', default: ['hot', 'warm'] }, days: { type: 'integer', default: 14 } },
    'where tier {{ in_list(tiers) }} and ts >= {{ days_ago(days) }} and ts < {{ days_ago(1) }} and x < {{ now() }}',
  );

  it('renders in_list, days_ago and now per dialect', () => {
    expect(compile(m, 'duckdb').sql.trim()).toBe(
      'where tier = ANY($tiers::VARCHAR[]) and ts >= (CURRENT_TIMESTAMP - to_days($days::INTEGER)) and ts < (CURRENT_TIMESTAMP - to_days(1)) and x < CURRENT_TIMESTAMP',
    );
    expect(compile(m, 'postgres').sql.trim()).toBe(
      'where tier = ANY($1::text[]) and ts >= (CURRENT_TIMESTAMP - make_interval(days => $2::integer)) and ts < (CURRENT_TIMESTAMP - make_interval(days => 1)) and x < CURRENT_TIMESTAMP',
    );
    expect(compile(m, 'bigquery').sql.trim()).toBe(
      'where tier IN UNNEST(@tiers) and ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL @days DAY) and ts < TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY) and x < CURRENT_TIMESTAMP()',
    );
    const snow = compile(m, 'snowflake', { vars: { tiers: ['a', 'b', 'c'] } });
    expect(snow.sql.trim()).toBe(
      'where tier IN (:1, :2, :3) and ts >= DATEADD(day, -(:4::INTEGER), CURRENT_TIMESTAMP()) and ts < DATEADD(day, -(1), CURRENT_TIMESTAMP()) and x < CURRENT_TIMESTAMP()',
    );
    expect(snow.params).toEqual([
      { name: 'tiers[0]', type: 'string', value: 'a' },
      { name: 'tiers[1]', type: 'string', value: 'b' },
      { name: 'tiers[2]', type: 'string', value: 'c' },
      { name: 'days', type: 'integer', value: 14 },
    ]);
    expect(compile(m, 'snowflake', { vars: { tiers: [] } }).sql).toContain(
      'tier IN (SELECT NULL WHERE 1 = 0)',
    );
  });

  it('counts now() and days_ago() from the as_of date when the model declares one and it is set', () => {
    const dated = {
      ...model(
        { as_of: { type: 'date' }, days: { type: 'integer', default: 14 } },
        '{{ now() }} {{ days_ago(days) }}',
      ),
      asOf: 'as_of',
    };
    expect(compile(dated, 'postgres').sql.trim()).toBe(
      'CURRENT_TIMESTAMP (CURRENT_TIMESTAMP - make_interval(days => $1::integer))',
    );
    const back = compile(dated, 'postgres', { vars: { as_of: '2025-03-01' } });
    expect(back.sql.trim()).toBe(
      'CAST($1::date AS TIMESTAMP) (CAST($1::date AS TIMESTAMP) - make_interval(days => $2::integer))',
    );
    expect(back.params).toEqual([
      { name: 'as_of', type: 'date', value: '2025-03-01' },
      { name: 'days', type: 'integer', value: 14 },
    ]);
    expect(compile(dated, 'bigquery', { vars: { as_of: '2025-03-01' } }).sql.trim()).toBe(
      'CAST(@as_of AS TIMESTAMP) TIMESTAMP_SUB(CAST(@as_of AS TIMESTAMP), INTERVAL @days DAY)',
    );
  });

  it('renders hash_row with a NULL sentinel per dialect', () => {
    const h = model({}, '{{ hash_row(score, c.tier) }}');
    expect(compile(h, 'duckdb').sql.trim()).toBe(
      "md5(concat_ws('|', coalesce(CAST(score AS VARCHAR), '\\N'), coalesce(CAST(c.tier AS VARCHAR), '\\N')))",
    );
    expect(compile(h, 'bigquery').sql.trim()).toBe(
      "TO_HEX(MD5(ARRAY_TO_STRING([COALESCE(CAST(score AS STRING), '\\\\N'), COALESCE(CAST(c.tier AS STRING), '\\\\N')], '|')))",
    );
    expect(compile(h, 'redshift').sql.trim()).toBe(
      "MD5(NVL(CAST(score AS VARCHAR(65535)), '\\\\N') || '|' || NVL(CAST(c.tier AS VARCHAR(65535)), '\\\\N'))",
    );
  });

  it('refuses a bare array param where the driver has no array binds', () => {
    const bare = model({ tiers: { type: 'string[]', default: ['a'] } }, 'where tier in (:tiers)');
    expect(compile(bare, 'postgres').sql.trim()).toBe('where tier in ($1::text[])');
    expect(failure(() => compile(bare, 'snowflake')).format()).toBe(
      'models/m.sql:10:16 (param tiers): string[] param :tiers cannot be bound on snowflake (no array binds); expected {{ in_list(tiers) }}\n' +
        "  hint: declare params in the front matter; set values in the sync's params or with --vars '{\"name\": value}'",
    );
  });

  it('reports every unknown, missing and invalid name and value together', () => {
    const bad = model(
      {
        lookback_days: { type: 'integer', default: 14, min: 1, max: 365 },
        tbl: { type: 'identifier', required: true },
        label: { type: 'string', default: 'x' },
      },
      'select :lookbak_days, {{ lookback_days }}\nfrom {{ tbl }}\nwhere {{ in_list(label) }} and {{ days_ago(label) }}',
    );
    const err = failure(() =>
      compile(bad, 'duckdb', { vars: { lookback_days: 400, colour: 'red' }, configParams: { label: 5 } }),
    );
    expect(err.code).toBe('MODEL_PARAM_INVALID');
    expect(err.kind).toBe('config');
    expect(err.message).toBe(
      [
        '7 problems in model m:',
        '  models/m.sql (param colour): --vars sets "colour", which the model does not declare; declared params: lookback_days, tbl, label',
        '  models/m.sql:3 (param lookback_days): expected an integer between 1 and 365, found number 400 (from --vars)',
        "  models/m.sql:4 (param tbl): no value for required identifier param; set it in the sync's params or with --vars",
        "  models/m.sql:5 (param label): expected a string, found number 5 (from the sync's params)",
        '  models/m.sql:10:8 (param lookbak_days): :lookbak_days is not declared in the front matter (did you mean "lookback_days"?); declared params: lookback_days, tbl, label',
        '  models/m.sql:12:7 (param label): in_list() expects a string[] param, found label of type string',
        '  models/m.sql:12:32 (param label): days_ago() expects an integer param, found label of type string',
      ].join('\n'),
    );
  });

  it('rejects anything in {{ }} that is not a param or a vetted macro', () => {
    const bad = model(
      { n: { type: 'integer', default: 1 } },
      "{{ n | upper }} {{ if x }} {{ evil() }} {{ now(1) }} {{ hash_row(lower(x)) }} {{ days_ago('1') }} 'ok' {{ hash_row(a + b) }}",
    );
    expect(failure(() => compile(bad, 'postgres')).format()).toBe(
      [
        'models/m.sql: 7 problems in model m:',
        '  models/m.sql:10:1: {{ n | upper }} is not a param name or a macro call; expected {{ name }} or one of now(), days_ago(n), hash_row(col, ...), in_list(param)',
        '  models/m.sql:10:17: {{ if x }} is not a param name or a macro call; expected {{ name }} or one of now(), days_ago(n), hash_row(col, ...), in_list(param)',
        '  models/m.sql:10:28: unknown macro evil(); expected one of now(), days_ago(n), hash_row(col, ...), in_list(param)',
        '  models/m.sql:10:41: now() takes 0 arguments, found 1; expected {{ now() }}',
        '  models/m.sql:10:54: {{ hash_row(lower(x)) }} is not a param name or a macro call; expected {{ name }} or one of now(), days_ago(n), hash_row(col, ...), in_list(param)',
        `  models/m.sql:10:79: days_ago() expects an integer literal or an integer param, found "'1'"`,
        '  models/m.sql:10:104: hash_row() takes column names like score or c.score, found "a + b"',
        '  hint: fix the SQL at the lines shown',
      ].join('\n'),
    );
  });

  it('reports an unterminated string as an invalid model', () => {
    const err = failure(() => compile(model({}, "select 'open"), 'duckdb'));
    expect(err.code).toBe('MODEL_INVALID');
    expect(err.format()).toBe(
      'models/m.sql:10:8: unterminated string\n  hint: fix the SQL at the lines shown',
    );
  });
});

describe('bindSql', () => {
  const sql = "select * from s where run_id = :run_id and k in (:keys) and note <> ':run_id' and r = :run_id";
  const values = {
    run_id: { type: 'string', value: 'r1' },
    keys: { type: 'string[]', value: ['a', 'b'] },
  } as const;

  it('binds our own SQL per dialect with the same lexer', () => {
    expect(bindSql(sql, values, 'postgres')).toEqual({
      dialect: 'postgres',
      sql: "select * from s where run_id = $1 and k in ($2) and note <> ':run_id' and r = $1",
      params: [
        { name: 'run_id', type: 'string', value: 'r1' },
        { name: 'keys', type: 'string[]', value: ['a', 'b'] },
      ],
    });
    expect(bindSql(sql, values, 'snowflake').sql).toBe(
      "select * from s where run_id = :1 and k in (:2, :3) and note <> ':run_id' and r = :1",
    );
    expect(bindSql(sql, values, 'duckdb').sql).toBe(
      "select * from s where run_id = $run_id and k in ($keys) and note <> ':run_id' and r = $run_id",
    );
    expect(bindSql(sql, values, 'bigquery').params).toHaveLength(2);
    expect(bindSql('k in (:keys)', { keys: { type: 'integer[]', value: [] } }, 'redshift').sql).toBe(
      'k in (NULL)',
    );
  });

  it('refuses missing values, unused values and templates', () => {
    const err = failure(() =>
      bindSql('select :a,\n {{ b }}', { c: { type: 'integer', value: 1 } }, 'duckdb'),
    );
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toBe(
      'cannot bind SQL for duckdb: line 1:8: :a has no value; line 2:2: {{ }} is only for model files; use :name; :c is given a value but never used',
    );
  });
});
