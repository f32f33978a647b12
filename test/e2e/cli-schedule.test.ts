/**
 * The real CLI in child processes: two `pqlsync run` invocations race for one sync (one runs, the other exits 4
 * naming the holder), and `pqlsync run` / `pqlsync schedule` get SIGTERM mid-run, and a restart converges with
 * every record sent exactly once.
 *
 * "Mid-run" is exact, not a guess about how long 6,000 rows take: the HubSpot sandbox holds record batches open
 * (the `hold` fault) and the test acts once one is held; after a SIGTERM it releases held batches until the
 * process exits (the batches in flight commit; nothing new is sent once the signal is handled).
 */
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/sandbox-server.js';
import { StateStore } from '../../src/state/state-store.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { collect, runCli, startCli } from '../helpers/cli.js';
import {
  addFault,
  clearFaults,
  heldOrExited,
  releaseHeld,
  releaseUntilExit,
} from '../helpers/sandbox-holds.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

const ROWS = 2000;
const UPSERT = 'POST /crm/v3/objects/contacts/batch/upsert';
const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`;
const config = (schedule: string) => `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  out:
    type: hubspot
    access_token: '\${HUBSPOT_TOKEN}'
    base_url: '\${HUBSPOT_URL}'
    create_properties: true
    rate_limit: { requests: 10000, per_ms: 10000 }
scheduler: { shutdown_grace_seconds: 30 }
syncs:
  users:
    model: scores
    destination: out
    object: contacts
    match: { field: product_user_id, column: user_id }
    fields: { email: email, pql_score: score }
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

let sandbox: RunningSandbox;
let env: NodeJS.ProcessEnv;

async function adminGet<T>(route: string): Promise<T> {
  const res = await fetch(`${sandbox.url}${route}`, {
    headers: { authorization: `Bearer ${sandbox.token}` },
  });
  return (await res.json()) as T;
}

/** The users the CRM holds a contact for (one entry per contact). */
async function keysInCrm(): Promise<string[]> {
  const body = await adminGet<{ results: Array<{ properties: Record<string, string | null> }> }>(
    '/_sandbox/hubspot/contacts',
  );
  return body.results.map((r) => String(r.properties.product_user_id));
}

/** Records HubSpot accepted in batch upserts since the last reset: each record sent exactly once adds up to ROWS. */
async function recordsSent(): Promise<number> {
  const log =
    await adminGet<Array<{ method: string; path: string; status: number; records: number }>>(
      '/_sandbox/requests',
    );
  return log
    .filter((r) => `${r.method} ${r.path}` === UPSERT && r.status === 200)
    .reduce((n, r) => n + r.records, 0);
}

describe('pqlsync run and schedule as processes', () => {
  let p: TempProject | undefined;
  /** CLI processes a test started: one still running after a failed test is killed, so it cannot reach the next. */
  const children: ChildProcess[] = [];
  const start = (args: string[]): ChildProcess => {
    const child = startCli(args, { env });
    children.push(child);
    return child;
  };
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 9, hubspot: { tenSecondlyLimit: 100_000 } });
    env = { HUBSPOT_TOKEN: sandbox.token, HUBSPOT_URL: sandbox.url, PQLSYNC_LOG_LEVEL: 'info' };
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  afterEach(async () => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    p?.cleanup();
    p = undefined;
    await fetch(`${sandbox.url}/_sandbox/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.token}` },
    });
  });

  it('two concurrent runs of one sync: one runs, the other exits 4 at once naming the holder', async () => {
    p = await project();
    // The first run is held at its first batch, so it is surely running when the second starts.
    await addFault(sandbox, { route: UPSERT, hold: 'before', times: 1 });
    const first = start(['--config', p.configPath, 'run', 'users']);
    const firstDone = collect(first);
    expect(await heldOrExited(sandbox, first)).toBe('held');
    const second = await runCli(['--config', p.configPath, 'run', 'users'], { env });
    expect(second.code).toBe(4);
    const dbFile = path.join(p.dir, 'wh.duckdb');
    expect(second.stderr).toMatch(
      new RegExp(
        `^pqlsync: the DuckDB file ${escape(dbFile)} is in use by another process, held by pid ${first.pid} on ${escape(hostname())}: ` +
          `\`pqlsync --config ${escape(p.configPath)} run users\`, running since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n` +
          `  hint: DuckDB allows one process per file: wait for that run to finish \\(cron and Airflow can treat exit 4 as "skip"\\)\\n$`,
      ),
    );
    expect(await releaseHeld(sandbox)).toHaveLength(1);
    const done = await firstDone;
    expect(done.code).toBe(0);
    expect(new Set(await keysInCrm()).size).toBe(ROWS);
  }, 300_000);

  it('SIGTERM to `pqlsync run` mid-run: the batch in flight commits, exit 1, and the next run sends the rest', async () => {
    p = await project();
    // Every batch after the second is held until released.
    await addFault(sandbox, { route: UPSERT, hold: 'before', skip: 2 });
    const run = start(['--config', p.configPath, 'run', 'users']);
    const runDone = collect(run);
    expect(await heldOrExited(sandbox, run)).toBe('held');
    run.kill('SIGTERM');
    await releaseUntilExit(sandbox, run);
    await clearFaults(sandbox);
    const stopped = await runDone;
    expect(stopped.code).toBe(1);
    const sent = await keysInCrm();
    expect(sent.length).toBeLessThan(ROWS);
    expect(stopped.stderr).toContain(
      `sync users: stopped by shutdown after ${sent.length} of ${ROWS} records were written and committed; the rest is sent by the next run`,
    );
    const rerun = await runCli(['--config', p.configPath, 'run', 'users'], { env });
    expect(rerun.code).toBe(0);
    const all = await keysInCrm();
    expect([all.length, new Set(all).size, await recordsSent()]).toEqual([ROWS, ROWS, ROWS]);
  }, 300_000);

  it('SIGTERM to `pqlsync schedule` mid-run: the batch in flight commits, exit 0; a restart sends the rest once', async () => {
    p = await project('* * * * * *');
    await addFault(sandbox, { route: UPSERT, hold: 'before', skip: 2 });
    const daemon = start(['--config', p.configPath, 'schedule']);
    const daemonDone = collect(daemon);
    expect(await heldOrExited(sandbox, daemon)).toBe('held');
    daemon.kill('SIGTERM');
    await releaseUntilExit(sandbox, daemon);
    await clearFaults(sandbox);
    const stopped = await daemonDone;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain('"msg":"stopped cleanly"');
    const sent = await keysInCrm();
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

    const rerun = await runCli(['--config', p.configPath, '--json', 'run', 'users'], { env });
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
    const all = await keysInCrm();
    expect(all).toHaveLength(ROWS);
    expect(new Set(all).size).toBe(ROWS);
    expect(await recordsSent()).toBe(ROWS);
  }, 300_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
