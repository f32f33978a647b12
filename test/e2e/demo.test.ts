/**
 * The demo end to end through the real CLI: it finishes and shows counts; an immediate rerun sends nothing; after
 * the data's clock moves a day, the next run's added / changed / removed equal a plain SQL comparison of the model
 * output with what was synced.
 */
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { compileModel } from '../../src/model/compile-model.js';
import { loadModel } from '../../src/model/model-file.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { runCli } from '../helpers/cli.js';

interface Summary {
  sync: string;
  status: string;
  counts: Record<string, number>;
  apiCalls: number;
}
const parse = (stdout: string): Summary[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Summary);

/** Plain SQL: the model's valid rows against the snapshot's synced values, field by field. */
async function expectedCounts(
  dir: string,
  sync: string,
): Promise<{ added: number; changed: number; removed: number }> {
  const loaded = loadConfig(path.join(dir, 'config', 'pqlsync.yml'));
  const cfg = loaded.config.syncs[sync]!;
  const model = await loadModel(loaded.modelsDir, cfg.model, 'duckdb');
  const compiled = compileModel(model, { dialect: 'duckdb', configParams: cfg.params });
  const wh = new DuckdbAdapter({ path: path.join(dir, 'pqlsync.duckdb') });
  await wh.connect();
  try {
    await wh.query({ ...compiled, sql: `create temp table model_out as ${compiled.sql}` });
    const key = model.key;
    const fields = Object.entries(cfg.fields).map(
      ([f, c]) => [f, typeof c === 'string' ? c : c.column] as const,
    );
    const differs = fields
      .map(
        ([f, c]) => `json_extract_string(s.values_json, '$.${f}') is distinct from cast(m.${c} as varchar)`,
      )
      .join(' or ');
    const valid = `(select * from model_out where ${key} is not null and ${key} in (select ${key} from model_out group by ${key} having count(*) = 1))`;
    const { rows } = await wh.query(`select
        (select count(*) from ${valid} m where cast(m.${key} as varchar) not in (select key from pqlsync_state.${sync}__snapshot)) as added,
        (select count(*) from ${valid} m join pqlsync_state.${sync}__snapshot s on s.key = cast(m.${key} as varchar) where ${differs}) as changed,
        (select count(*) from pqlsync_state.${sync}__snapshot s where s.key not in (select cast(${key} as varchar) from model_out where ${key} is not null)) as removed`);
    return {
      added: Number(rows[0]!.added),
      changed: Number(rows[0]!.changed),
      removed: Number(rows[0]!.removed),
    };
  } finally {
    await wh.close();
  }
}

describe('pqlsync demo', () => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'pqlsync-demo-e2e-')), 'demo');
  afterAll(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('runs, reruns with nothing to send, and plans exactly the changes a day later', async () => {
    const first = await runCli(['demo', '--dir', dir, '--users', '2000', '--crm', 'file', '--json'], {
      cwd: path.dirname(dir),
    });
    expect(first.code).toBe(0);
    const demo = parse(first.stdout);
    expect(demo.map((s) => [s.sync, s.status])).toEqual([
      ['pql_users', 'success'],
      ['pqa_accounts', 'success'],
    ]);
    for (const s of demo) expect(s.counts.added).toBeGreaterThan(100);

    const rerun = await runCli(['run', '--all', '--json'], { cwd: dir });
    expect(rerun.code).toBe(0);
    const reran = parse(rerun.stdout);
    expect(reran.map((s) => s.sync)).toEqual(['pql_users', 'pqa_accounts']);
    for (const s of reran) {
      expect(s.counts).toMatchObject({ added: 0, changed: 0, removed: 0 });
      expect(s.apiCalls).toBe(0);
    }

    const advance = await runCli(['demo', '--dir', dir, '--advance-days', '1', '--no-run'], { cwd: dir });
    expect(advance.code).toBe(0);
    const want = {
      pql_users: await expectedCounts(dir, 'pql_users'),
      pqa_accounts: await expectedCounts(dir, 'pqa_accounts'),
    };
    // A day of new events moves real rows in both directions.
    expect(want.pql_users.changed).toBeGreaterThan(0);
    expect(want.pql_users.removed).toBeGreaterThan(0);
    const next = await runCli(['run', '--all', '--json'], { cwd: dir });
    expect(next.code).toBe(0);
    const nextRuns = parse(next.stdout);
    expect(nextRuns.map((s) => s.sync)).toEqual(['pql_users', 'pqa_accounts']);
    for (const s of nextRuns) {
      const w = want[s.sync as keyof typeof want];
      expect({
        sync: s.sync,
        added: s.counts.added,
        changed: s.counts.changed,
        removed: s.counts.removed,
      }).toEqual({ sync: s.sync, ...w });
    }
  }, 180_000);
});
