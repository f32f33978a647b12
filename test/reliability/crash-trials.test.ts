/**
 * Crash trials: a real `pqlsync run` process (the CLI through tsx) is SIGKILLed at seeded points while it writes
 * to the in-process sandbox's Salesforce or HubSpot, then a real rerun follows. After every rerun: no duplicate
 * records and no duplicate routing tasks (one CRM task per task key, each matching the task_log), every snapshot
 * row is what the CRM holds, the killed run is marked abandoned and the rerun's runs row,
 * snapshot and failures agree with its summary, and the CRM equals the model output on every mapped field.
 *
 * A kill point is "after the k-th vendor request of the run has been answered, plus d ms" (k and d from a seeded
 * PRNG). Writes are slowed by 100 ms in the sandbox so that requests are in flight when the kill lands (a batch
 * the CRM applied but the run never committed is the case that must not duplicate or lose anything).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/runner/run-sync.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { collect, runCli, seeded, startCli } from '../helpers/cli.js';
import {
  admin,
  checkConverged,
  checkInvariants,
  checkTasks,
  invalidRows,
  reliabilityProject,
  routingYaml,
  vendorRequests,
  STATE,
  SYNC,
  type Crm,
  type ReliabilityProject,
} from './crm-harness.js';

const ROWS = 600;
/** Kills wanted per CRM; a trial whose run ended before its kill point does not count. */
const KILLS = 10;
const MAX_TRIALS = 20;

interface TrialLog {
  trial: number;
  k: number;
  d: number;
  killed: boolean;
  requestsBeforeKill: number;
  rerunApplied: number;
}

async function lastSeq(p: ReliabilityProject): Promise<number> {
  const log = (await admin(p.sandbox, 'GET', '/_sandbox/requests')) as Array<{ seq: number }>;
  return log.at(-1)?.seq ?? 0;
}

async function withWarehouse<T>(p: ReliabilityProject, fn: (wh: DuckdbAdapter) => Promise<T>): Promise<T> {
  const wh = new DuckdbAdapter({ path: p.dbPath });
  await wh.connect();
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

describe.each<[Crm, number]>([
  ['salesforce', 20261125],
  ['hubspot', 20261126],
])('crash trials: %s', (crm, seed) => {
  let p: ReliabilityProject;
  beforeAll(async () => {
    p = await reliabilityProject(crm, { rows: ROWS, extraSync: routingYaml(crm) });
  });
  afterAll(async () => {
    await p.close();
  });

  it(`converges after ${KILLS} SIGKILLs at seeded points (seed ${seed})`, async () => {
    const random = seeded(seed);
    const args = (bump: number) => [
      'run',
      SYNC,
      '--config',
      p.project.configPath,
      '--vars',
      JSON.stringify({ bump, rows: ROWS }),
      '--json',
    ];
    // A first full sync, so the trials update records as well as create the invalid rows' neighbours.
    const first = await runCli(args(0), { cwd: p.project.dir, env: p.env });
    expect(first.code, first.stderr).toBe(3);
    await admin(p.sandbox, 'POST', '/_sandbox/faults', { route: p.profile.writeRoute, latencyMs: 100 });

    const trials: TrialLog[] = [];
    let kills = 0;
    let abandoned = 0;
    let tasks = 0;
    for (let trial = 1; trial <= MAX_TRIALS && kills < KILLS; trial++) {
      // Every trial changes every row's score, so each run has ROWS changes to write.
      const k = Math.floor(random() * (crm === 'salesforce' ? 9 : 20));
      const d = Math.floor(random() * 60);
      const since = await lastSeq(p);
      const child = startCli(args(trial), { cwd: p.project.dir, env: p.env });
      const done = collect(child);
      let requestsBeforeKill = 0;
      for (let i = 0; i < 3000 && child.exitCode === null; i++) {
        const seen = (await vendorRequests(p.sandbox, since)).length;
        if (seen > k) {
          await new Promise((r) => setTimeout(r, d));
          requestsBeforeKill = (await vendorRequests(p.sandbox, since)).length;
          child.kill('SIGKILL');
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      const killed = await done;
      if (killed.signal !== 'SIGKILL') expect(killed.code, killed.stderr).toBe(3);
      else kills++;

      const rerun = await runCli(args(trial), { cwd: p.project.dir, env: p.env });
      expect(rerun.code, rerun.stderr).toBe(3);
      const summary = JSON.parse(rerun.stdout.trim()) as RunSummary;
      expect(summary.status).toBe('partial');
      expect(summary.counts.rejected).toBe(invalidRows(p.profile, ROWS).length);
      await withWarehouse(p, async (wh) => {
        await checkInvariants(p, wh, summary);
        await checkConverged(p, wh, ROWS, trial % 100);
        tasks = await checkTasks(p, wh);
        const { rows: locks } = await wh.query(`select * from ${STATE}.locks`);
        expect(locks).toEqual([]);
        const { rows: runs } = await wh.query(
          `select status, error from ${STATE}.runs order by started_at desc limit 2`,
        );
        const killedRun = runs[1];
        // A kill that lands after the run recorded its end (while it drops work tables or exits) leaves the
        // finished row; any earlier kill leaves `running`, which the rerun marks abandoned.
        if (killed.signal === 'SIGKILL' && killedRun?.status !== 'partial') {
          expect(killedRun).toEqual({ status: 'abandoned', error: 'abandoned: holder process is gone' });
          abandoned++;
        }
      });
      trials.push({
        trial,
        k,
        d,
        killed: killed.signal === 'SIGKILL',
        requestsBeforeKill,
        rerunApplied: summary.counts.applied,
      });
    }
    console.log(`crash trials ${crm}: ${JSON.stringify(trials)}`);
    expect(kills, JSON.stringify(trials)).toBe(KILLS);
    // Most kills landed mid-run (before the run recorded its end).
    expect(abandoned).toBeGreaterThanOrEqual(KILLS / 2);
    // Routing made tasks along the way (each tier entry once per record), none twice.
    expect(tasks).toBeGreaterThan(100);
    // The kills landed at different points: some reruns had most of the work left, some little.
    const applied = new Set(trials.filter((t) => t.killed).map((t) => t.rerunApplied));
    expect(applied.size).toBeGreaterThan(2);
  }, 150_000);
});
