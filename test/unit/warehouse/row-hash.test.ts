import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { duckdbDialect } from '../../../src/warehouse/sql-dialect.js';

/**
 * The row hash is stored in every snapshot, so its text must never change silently: md5 of the values' text
 * joined by `|`, NULL as `\N` (what the `||` recipe of earlier versions produced, and what the other warehouses
 * produce).
 */
describe('DuckDB row hash', () => {
  const wh = new DuckdbAdapter({ path: ':memory:' });
  beforeAll(() => wh.connect());
  afterAll(() => wh.close());

  it.each([
    [
      ["'v1:Email=email'", "'a@example.com'", 'null', '42'],
      ['v1:Email=email', 'a@example.com', '\\N', '42'],
    ],
    [
      ["''", "'x|y'", "'\\N'", 'cast(1.5 as double)'],
      ['', 'x|y', '\\N', '1.5'],
    ],
  ])('hashes %j as md5 of the joined text', async (exprs, parts) => {
    const { rows } = await wh.query(`select ${duckdbDialect.rowHash(exprs)} as h`);
    expect(rows[0]!.h).toBe(createHash('md5').update(parts.join('|')).digest('hex'));
  });
});
