/**
 * What the CLI's output says, checked word for word where a reader was misled (issue 21, item 10): `--json`
 * errors carry the hint in its own field, not repeated inside `message`; removed rows of an upsert sync are
 * shown as not sent; a file destination shows no "api calls".
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { runCli } from '../helpers/cli.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`;
const config = (mode: string, model = 'scores') => `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  out: { type: file, path: out }
syncs:
  users:
    model: ${model}
    destination: out
    object: Lead
    mode: ${mode}
    match: { field: Ext__c }
    fields: { Email: email, Score__c: score }
`;

let p: TempProject;

async function seed(users: number): Promise<void> {
  const duck = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
  await duck.connect();
  try {
    await duck.query('create schema if not exists src');
    await duck.query(
      `create or replace table src.users as select 'u' || i as user_id, 'u' || i || '@acme.test' as email, i as score from range(${users}) t(i)`,
    );
  } finally {
    await duck.close();
  }
}

/** The table's cells of the sync's row, by column name. */
function tableRow(stdout: string): Record<string, string> {
  const lines = stdout.split('\n');
  const header = lines[0]!.split(/ {2,}/);
  const row = lines[2]!.split(/ {2,}/);
  return Object.fromEntries(header.map((h, i) => [h, row[i] ?? '']));
}

beforeAll(async () => {
  p = tempProject('pqlsync-wording-');
  p.writeModel('scores', MODEL);
  await seed(5);
});
afterAll(() => p.cleanup());

describe('CLI output wording', { timeout: 240_000 }, () => {
  it('an upsert sync shows rows that left the model as not sent; a file destination has no api calls column', async () => {
    p.writeConfig(config('upsert'));
    const first = await runCli(['run', 'users'], { cwd: p.dir });
    expect(first.code).toBe(0);
    expect(first.stdout.split('\n')[0]!.split(/ +/)).toEqual([
      'sync',
      'status',
      'added',
      'changed',
      'removed',
      'invalid',
      'applied',
      'rejected',
      'tasks',
      'time',
    ]);
    await seed(3);
    const second = await runCli(['run', 'users'], { cwd: p.dir });
    expect(second.code).toBe(0);
    const { time, ...cells } = tableRow(second.stdout);
    expect(time).toMatch(/^\d+\.\ds$/);
    expect(cells).toEqual({
      sync: 'users',
      status: 'success',
      added: '0',
      changed: '0',
      removed: '2 (not sent)',
      invalid: '0',
      applied: '0',
      rejected: '0',
      tasks: '0',
    });
  });

  it('a mirror sync sends its removed rows: the count stands alone', async () => {
    p.writeConfig(config('mirror'));
    await seed(5);
    expect((await runCli(['run', 'users', '--rematch'], { cwd: p.dir })).code).toBe(0);
    await seed(4);
    const r = await runCli(['run', 'users', '--allow-mass-removal'], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(tableRow(r.stdout)).toMatchObject({ removed: '1', applied: '1' });
  });

  it('--json: an error has its hint in the hint field only, for a command error and for a run summary', async () => {
    p.writeConfig(config('upsert'));
    const noSync = await runCli(['run', '--json'], { cwd: p.dir });
    expect(noSync.code).toBe(2);
    expect(JSON.parse(noSync.stdout)).toEqual({
      status: 'failed',
      error: {
        code: 'ARGS_INVALID',
        kind: 'config',
        message: 'name at least one sync, or pass --all',
        hint: 'syncs: users',
      },
    });

    p.writeConfig(config('upsert', 'scorez'));
    const unknown = await runCli(['run', 'users', '--json'], { cwd: p.dir });
    expect(unknown.code).toBe(2);
    const summary = JSON.parse(unknown.stdout) as { error: Record<string, unknown> };
    expect(summary.error).toEqual({
      code: 'MODEL_NOT_FOUND',
      kind: 'config',
      message: 'model "scorez" not found in models (for duckdb); available models: scores',
      hint: 'did you mean "scores"?',
    });
    // The table output still prints the hint under the message.
    const human = await runCli(['run', 'users'], { cwd: p.dir });
    expect(human.stderr).toContain(
      'users: model "scorez" not found in models (for duckdb); available models: scores\n  hint: did you mean "scores"?\n',
    );
  });
});
