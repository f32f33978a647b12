/**
 * A real `pqlsync run` process is SIGKILLed while it writes, at seeded random points, then rerun: the
 * destination ends equal to the model output, with nothing lost.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { collect, runCli, seeded, startCli } from '../helpers/cli.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const ROWS = 3000;
const MODEL = `/*---
name: scores
key: user_id
params:
  bump: { type: integer, default: 0 }
---*/
select user_id, email, (score + :bump) % 100 as score from src.users
`;
const CONFIG = `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  out: { type: file, path: out, batch_size: 20 }
syncs:
  users:
    model: scores
    destination: out
    object: Lead
    match: { field: Ext__c }
    fields: { Email: email, Score__c: score }
`;

/** Folds the JSONL change log: the last values written per match value. */
function destinationState(file: string): Map<string, Record<string, unknown>> {
  const state = new Map<string, Record<string, unknown>>();
  if (!existsSync(file)) return state;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as { match: { value: string }; values: Record<string, unknown> };
    state.set(rec.match.value, { ...(state.get(rec.match.value) ?? {}), ...rec.values });
  }
  return state;
}

function lineCount(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
}

async function modelOutput(p: TempProject, bump: number): Promise<Map<string, Record<string, unknown>>> {
  const wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
  await wh.connect();
  const { rows } = await wh.query(`select user_id, email, (score + ${bump}) % 100 as score from src.users`);
  await wh.close();
  return new Map(rows.map((r) => [String(r.user_id), { Email: r.email, Score__c: r.score }]));
}

describe('crash recovery: SIGKILL while writing, then rerun', () => {
  let p: TempProject;
  const outFile = () => path.join(p.dir, 'out', 'users.jsonl');

  beforeAll(async () => {
    p = tempProject('pqlsync-crash-');
    p.writeModel('scores', MODEL);
    p.writeConfig(CONFIG);
    const wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
    await wh.query('create schema src');
    await wh.query(
      `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score from range(1, ${ROWS + 1}) t(i)`,
    );
    await wh.close();
  });
  afterAll(() => p.cleanup());

  it('converges after kills at seeded random points', async () => {
    const random = seeded(20261125);
    const trials = 4;
    for (let trial = 1; trial <= trials; trial++) {
      // Each trial changes every row (a new bump), so every trial has ROWS changes to write.
      const vars = JSON.stringify({ bump: trial });
      const before = lineCount(outFile());
      const killAt = before + 1 + Math.floor(random() * (ROWS - 100));
      const child = startCli(['run', 'users', '--config', p.configPath, '--vars', vars], { cwd: p.dir });
      const done = collect(child);
      // Kill as soon as the log holds killAt lines: mid-write, between or inside batches.
      for (let i = 0; i < 4000 && child.exitCode === null; i++) {
        if (lineCount(outFile()) >= killAt) {
          child.kill('SIGKILL');
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      const killed = await done;
      if (killed.signal !== 'SIGKILL' && killed.code !== 0)
        throw new Error(`first run failed: ${killed.code} ${killed.stderr}`);
      // The kill point is always before the last change, so every trial really dies mid-write.
      expect(killed.signal).toBe('SIGKILL');
      const rerun = await runCli(['run', 'users', '--config', p.configPath, '--vars', vars, '--json'], {
        cwd: p.dir,
      });
      expect(rerun.stderr).toBe('');
      expect(rerun.code).toBe(0);
      const summary = JSON.parse(rerun.stdout.trim()) as { status: string; counts: { rejected: number } };
      expect(summary.status).toBe('success');
      const expected = await modelOutput(p, trial);
      const actual = destinationState(outFile());
      expect(expected.size).toBe(ROWS);
      expect(actual.size).toBe(expected.size);
      for (const [k, v] of expected) expect(actual.get(k), `record ${k}`).toEqual(v);
      // A third run has nothing left to do.
      const again = await runCli(['run', 'users', '--config', p.configPath, '--vars', vars, '--json'], {
        cwd: p.dir,
      });
      expect(JSON.parse(again.stdout.trim())).toMatchObject({
        status: 'success',
        counts: { added: 0, changed: 0, removed: 0 },
        apiCalls: 0,
      });
    }
  }, 240_000);
});
