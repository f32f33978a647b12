/**
 * The demo-data README section's SQL examples, run as printed on generated data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../../src/demo/generate-demo-data.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';

const README = readFileSync(path.resolve(import.meta.dirname, '../../docs/readme/demo-data.md'), 'utf8');
const SQL_BLOCKS = [...README.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

describe('docs/readme/demo-data.md', () => {
  let wh: DuckdbAdapter;
  beforeAll(async () => {
    wh = new DuckdbAdapter({ path: ':memory:', threads: 2 });
    await wh.connect();
    await generateDemoData((sql) => wh.query(sql), { users: 5000, seed: 42 });
  });
  afterAll(async () => {
    await wh.close();
  });

  it('has three SQL examples', () => {
    expect(SQL_BLOCKS).toHaveLength(3);
  });

  it('shows the clock and the dataset size', async () => {
    const { rows } = await wh.query(SQL_BLOCKS[0] ?? '');
    expect(rows).toEqual([{ as_of: '2026-11-01', users: 5000, events: expect.any(Number) }]);
    expect(Number(rows[0]?.events)).toBeGreaterThan(100_000);
  });

  it('shows onboarded workspaces upgrading more often within each propensity quartile', async () => {
    const { rows } = await wh.query(SQL_BLOCKS[1] ?? '');
    expect(rows.map((r) => [r.propensity_quartile, r.onboarded])).toEqual(
      [1, 2, 3, 4].flatMap((q) => [
        [q, false],
        [q, true],
      ]),
    );
    const rate = (q: number, onboarded: boolean): number =>
      Number(rows.find((r) => r.propensity_quartile === q && r.onboarded === onboarded)?.upgrade_rate);
    expect(rate(4, true)).toBeGreaterThan(0.1);
    for (const q of [3, 4]) expect(rate(q, true)).toBeGreaterThan(2 * rate(q, false));
  });

  it('finds replayed events', async () => {
    const { rows } = await wh.query(SQL_BLOCKS[2] ?? '');
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(Number(r.copies)).toBeGreaterThan(1);
  });
});
