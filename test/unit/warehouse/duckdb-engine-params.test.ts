/**
 * The sandboxes' DuckDB engine binds params by position (DuckDB looks a named param up by a linear search, so
 * 20,000 named binds were quadratic): `$name` placeholders are numbered in order of first use, quoted text and
 * names containing `$` are left alone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DuckdbEngine, numberPlaceholders } from '../../../src/warehouse/sandbox/duckdb-engine.js';

let engine: DuckdbEngine;
beforeAll(async () => {
  engine = await DuckdbEngine.create();
});
afterAll(() => engine.close());

it('numbers each named placeholder once, in order of first use, and leaves quoted text and other $ alone', () => {
  const sql = `select $b, 'it''s $a', "col$a", $a, x$a, $b, $unknown, "q""$a"`;
  expect(numberPlaceholders(sql, { a: '1', b: '2', c: '3' })).toEqual({
    sql: `select $1, 'it''s $a', "col$a", $2, x$a, $1, $unknown, "q""$a"`,
    order: ['b', 'a'],
  });
  expect(numberPlaceholders('select 1', {})).toEqual({ sql: 'select 1', order: [] });
});

it('runs statements with repeated, list and many params', async () => {
  const one = await engine.run(
    `select cast($n as integer) + cast($n as integer) as twice, $s as s, len($l) as l`,
    {
      n: '21',
      s: "it's",
      l: ['a', 'b', null],
    },
  );
  expect(one.rows).toEqual([['42', "it's", '3']]);
  const N = 20_000;
  const params = Object.fromEntries(Array.from({ length: N }, (_, i) => [`k${i}`, String(i)]));
  const list = Object.keys(params)
    .map((k) => `cast($${k} as integer)`)
    .join(', ');
  const many = await engine.run(`select count(*) as n, sum(v) as total from unnest([${list}]) t(v)`, params);
  expect(many.rows).toEqual([[String(N), String((N * (N - 1)) / 2)]]);
}, 120_000);
