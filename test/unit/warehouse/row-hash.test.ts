import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { duckdbDialect, redshiftDialect } from '../../../src/warehouse/sql-dialect.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * The row hash is stored in every snapshot, so its text must never change silently. Recipe 2: md5 of each text as
 * `<length>:<text>`, NULL as `N`, concatenated. Recipe 1 (kept to carry old snapshots over): md5 of the texts
 * joined by `|`, NULL as `\N`.
 */
describe('DuckDB row hash', () => {
  const wh = new DuckdbAdapter({ path: ':memory:' });
  beforeAll(() => wh.connect());
  afterAll(() => wh.close());
  const hash = async (sql: string) => (await wh.query(`select ${sql} as h`)).rows[0]!.h;

  it.each([
    [
      ["'v2:Email=email'", "'a@example.com'", 'null', "'42'"],
      ['v2:Email=email', 'a@example.com', null, '42'],
    ],
    [
      ["''", "'x|y'", "'\\N'", "'Zoë 東京'"],
      ['', 'x|y', '\\N', 'Zoë 東京'],
    ],
  ])('recipe 2 hashes %j as md5 of the length-prefixed texts', async (exprs, parts) => {
    const expected = md5(parts.map((p) => (p === null ? 'N' : `${[...p].length}:${p}`)).join(''));
    expect(await hash(duckdbDialect.rowHash(exprs))).toBe(expected);
  });

  it('recipe 2 tells apart what recipe 1 joined the same (a|b + c vs a + b|c; text \\N vs NULL)', async () => {
    const pairs: [string[], string[]][] = [
      [
        ["'a|b'", "'c'"],
        ["'a'", "'b|c'"],
      ],
      [["'\\N'"], ['null']],
    ];
    for (const [x, y] of pairs) {
      expect(await hash(duckdbDialect.legacyRowHash(x))).toBe(await hash(duckdbDialect.legacyRowHash(y)));
      expect(await hash(duckdbDialect.rowHash(x))).not.toBe(await hash(duckdbDialect.rowHash(y)));
    }
  });

  it.each([
    [
      ["'v1:Email=email'", "'a@example.com'", 'null', '42'],
      ['v1:Email=email', 'a@example.com', '\\N', '42'],
    ],
    [
      ["''", "'x|y'", "'\\N'", 'cast(1.5 as double)'],
      ['', 'x|y', '\\N', '1.5'],
    ],
  ])('recipe 1 hashes %j as md5 of the joined text', async (exprs, parts) => {
    expect(await hash(duckdbDialect.legacyRowHash(exprs))).toBe(md5(parts.join('|')));
  });

  it("writes a Redshift boolean with CASE (Redshift cannot cast BOOLEAN to VARCHAR): 'true', 'false', NULL", async () => {
    const sql = redshiftDialect.hashText('b', 'boolean');
    expect(sql).not.toMatch(/cast\(\s*b\s+as/i);
    const { rows } = await wh.query(`select ${sql} as t from (values (true), (false), (null)) v(b)`);
    expect(rows.map((r) => r.t)).toEqual(['true', 'false', null]);
  });

  it('writes dates and timestamps out in ISO 8601, UTC, whatever the session TimeZone', async () => {
    await wh.query("set TimeZone = 'Asia/Kathmandu'");
    const text = (e: string, kind: 'date' | 'timestamp' | 'timestamptz' | 'boolean') =>
      hash(duckdbDialect.hashText(e, kind));
    expect([
      await text("timestamptz '2026-03-29 01:30:00.123+00'", 'timestamptz'),
      await text("timestamp '2026-03-29 01:30:00'", 'timestamp'),
      await text("date '2026-03-29'", 'date'),
      await text('true', 'boolean'),
    ]).toEqual(['2026-03-29T01:30:00.123000Z', '2026-03-29T01:30:00.000000', '2026-03-29', 'true']);
  });
});
