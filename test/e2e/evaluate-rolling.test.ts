/**
 * `pqlsync evaluate --rolling` on the default demo data through the real CLI: the hot tier's median lift and
 * range over 6 as-of dates, in --json and in the table, and the figures docs/readme/evaluate.md quotes are the
 * ones the defaults give.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RollingReport } from '../../src/evaluate/rolling.js';
import { median } from '../../src/evaluate/rolling.js';
import { runCli } from '../helpers/cli.js';

const README = readFileSync(path.resolve(import.meta.dirname, '../../docs/readme/evaluate.md'), 'utf8');

describe('evaluate --rolling', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'pqlsync-rolling-'));
  const dir = path.join(root, 'demo');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("reports the hot tier's median lift and range over 6 as-of dates, as the README quotes it", async () => {
    const made = await runCli(['demo', '--dir', dir, '--crm', 'file', '--no-run'], { cwd: root });
    expect(made.code).toBe(0);

    const json = await runCli(['evaluate', 'pql_users', '--horizon', '30', '--rolling', '--json'], {
      cwd: dir,
    });
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout) as RollingReport;
    expect(r.asOfDates).toEqual([
      '2026-07-24',
      '2026-08-07',
      '2026-08-21',
      '2026-09-04',
      '2026-09-18',
      '2026-10-02',
    ]);
    expect(r.points).toHaveLength(6);
    const hot = r.tiers.find((t) => t.tier === 'hot')!;
    const lifts = r.points.map((p) => p.tiers.find((t) => t.tier === 'hot')!.lift);
    expect(hot).toEqual({
      tier: 'hot',
      dates: 6,
      median: median(lifts),
      min: Math.min(...lifts),
      max: Math.max(...lifts),
    });
    expect(hot.min).toBeLessThan(hot.max);
    expect(hot.median).toBeGreaterThan(1);

    const text = await runCli(['evaluate', 'pql_users', '--horizon', '30', '--rolling'], { cwd: dir });
    expect(text.code).toBe(0);
    const fmt = (x: number) => `${x.toFixed(1)}x`;
    const hotLine = text.stdout.split('\n').find((l) => l.startsWith('hot '));
    expect(hotLine?.split(/\s+/)).toEqual(['hot', fmt(hot.median), `${fmt(hot.min)}-${fmt(hot.max)}`, '6']);
    expect(text.stdout.split('\n')[0]).toBe(
      `pql_users (version ${r.version}) over 6 as-of dates, 14 days apart: 2026-07-24 to 2026-10-02; conversions within 30 days of each`,
    );

    // The README's rolling example is what the defaults print.
    const quoted = /^hot\s+(\S+)\s+(\S+)\s+6$/m.exec(README);
    expect(quoted?.slice(1)).toEqual([fmt(hot.median), `${fmt(hot.min)}-${fmt(hot.max)}`]);

    const bad = await runCli(['evaluate', 'pql_users', '--horizon', '30', '--rolling', '1'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--rolling must be a whole number of as-of dates from 2 to 60, got '1'");
  }, 300_000);
});
