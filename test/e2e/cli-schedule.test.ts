/**
 * The real CLI in child processes: two `pqlsync run` invocations race for one sync (one runs, the other exits 4
 * naming the holder), and `pqlsync schedule` gets SIGTERM mid-run, exits 0, and a restart converges with every
 * record sent exactly once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore } from '../../src/state/state-store.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { collect, runCli, startCli } from '../helpers/cli.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const ROWS = 6000;
const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`;
const config = (schedule: string) => `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  out: { type: file, path: out, batch_size: 20 }
scheduler: { shutdown_grace_seconds: 30 }
syncs:
  users:
    model: scores
    destination: out
    object: Lead
    match: { field: Ext__c }
    fields: { Email: email, Score__c: score }
    schedule: "${schedule}"
`;

async function project(schedule = '0 0 1 1 *'): Promise<TempProject> {
  const p = tempProject('pqlsync-e2e-sched-');
  p.writeModel('scores', MODEL);
  p.writeConfig(config(schedule));
  const wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
  await wh.connect();
  await wh.query('create schema src');
  await wh.query(
    `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score from range(1, ${ROWS + 1}) t(i)`,
  );
  await wh.close();
  return p;
}

/** Resolves when the child's stderr has a line matching `pattern` (bounded by the test timeout). */
function waitForLog(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => pattern.test(l));
      if (line) {
        child.stderr?.off('data', onData);
        resolve(line);
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`process exited (${code}) before logging ${pattern}: ${buf}`)),
    );
  });
}

function keysWritten(p: TempProject): string[] {
  const file = path.join(p.dir, 'out', 'users.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { key: string }).key);
}

describe('pqlsync run and schedule as processes', () => {
  let p: TempProject | undefined;
  afterEach(() => {
    p?.cleanup();
    p = undefined;
  });

  it('two concurrent runs of one sync: one runs, the other exits 4 at once naming the holder', async () => {
    p = await project();
    const first = startCli(['--config', p.configPath, 'run', 'users'], {
      env: { PQLSYNC_LOG_LEVEL: 'info' },
    });
    const firstDone = collect(first);
    await waitForLog(first, /"msg":"planned"/);
    const second = await runCli(['--config', p.configPath, 'run', 'users']);
    expect(second.code).toBe(4);
    const dbFile = path.join(p.dir, 'wh.duckdb');
    expect(second.stderr).toMatch(
      new RegExp(
        `^pqlsync: the DuckDB file ${escape(dbFile)} is in use by another process, held by pid ${first.pid} on ${escape(hostname())}: ` +
          `\`pqlsync --config ${escape(p.configPath)} run users\`, running since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n` +
          `  hint: DuckDB allows one process per file: wait for that run to finish \\(cron and Airflow can treat exit 4 as "skip"\\)\\n$`,
      ),
    );
    const done = await firstDone;
    expect(done.code).toBe(0);
    expect(new Set(keysWritten(p)).size).toBe(ROWS);
  });

  it('SIGTERM to `pqlsync run` mid-run: the batch in flight commits, exit 1, and the next run sends the rest', async () => {
    p = await project();
    const run = startCli(['--config', p.configPath, 'run', 'users'], { env: { PQLSYNC_LOG_LEVEL: 'info' } });
    const runDone = collect(run);
    await waitForLog(run, /"msg":"planned"/);
    run.kill('SIGTERM');
    const stopped = await runDone;
    expect(stopped.code).toBe(1);
    const sent = keysWritten(p);
    expect(stopped.stderr).toContain(
      `sync users: stopped by shutdown after ${sent.length} of ${ROWS} records were written and committed; the rest is sent by the next run`,
    );
    const rerun = await runCli(['--config', p.configPath, 'run', 'users']);
    expect(rerun.code).toBe(0);
    const all = keysWritten(p);
    expect([all.length, new Set(all).size]).toEqual([ROWS, ROWS]);
  });

  it('SIGTERM to `pqlsync schedule` mid-run: the batch in flight commits, exit 0; a restart sends the rest once', async () => {
    p = await project('* * * * * *');
    const daemon = startCli(['--config', p.configPath, 'schedule'], { env: { PQLSYNC_LOG_LEVEL: 'info' } });
    const daemonDone = collect(daemon);
    await waitForLog(daemon, /"msg":"planned"/);
    daemon.kill('SIGTERM');
    const stopped = await daemonDone;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain('"msg":"stopped cleanly"');
    const sent = keysWritten(p);
    expect(sent.length).toBeLessThan(ROWS);

    const wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
    try {
      const [run] = await new StateStore(wh, 'pqlsync_state').listRuns('users', 1);
      expect([run?.status, run?.error]).toEqual([
        'failed',
        `sync users: stopped by shutdown after ${sent.length} of ${ROWS} records were written and committed; the rest is sent by the next run`,
      ]);
      const snap = await wh.query('select count(*) as n from pqlsync_state.users__snapshot');
      expect(snap.rows[0]?.n).toBe(sent.length);
    } finally {
      await wh.close();
    }

    const rerun = await runCli(['--config', p.configPath, '--json', 'run', 'users']);
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.stdout) as {
      status: string;
      counts: { added: number; applied: number };
    };
    expect([summary.status, summary.counts.added, summary.counts.applied]).toEqual([
      'success',
      ROWS - sent.length,
      ROWS - sent.length,
    ]);
    const all = keysWritten(p);
    expect(all).toHaveLength(ROWS);
    expect(new Set(all).size).toBe(ROWS);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
