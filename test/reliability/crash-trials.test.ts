/**
 * Crash trials: a real `pqlsync run` process (the CLI) is SIGKILLed at seeded points while it writes to the
 * in-process sandbox's Salesforce or HubSpot, then a rerun follows (in this process, through `runSyncs` as the CLI
 * calls it: the recovery is the runner's; the first sync too). After every rerun: no duplicate
 * records and no duplicate routing tasks (one CRM task per task key, each matching the task_log), every snapshot
 * row is what the CRM holds, the killed run is marked abandoned and the rerun's runs row,
 * snapshot and failures agree with its summary, and the CRM equals the model output on every mapped field.
 *
 * A kill point is "while the k-th record batch of the run is held by the sandbox", before the CRM saw it or
 * after the CRM applied it with its answer held back (k and the stage from a seeded PRNG; the sandbox's `hold`
 * fault). The test waits until the batch is held, SIGKILLs the run, then releases the batch (a `before` batch is
 * applied then, after its client died). Every kill lands mid-run, at a point chosen in advance: no clock involved.
 * A batch the CRM applied but the run never committed is the case that must not duplicate or lose anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/runner/run-sync.js';
import type { HoldStage } from '../../src/sandbox/request-holds.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { collect, seeded, startCli } from '../helpers/cli.js';
import { addFault, clearFaults, heldOrExited, releaseHeld } from '../helpers/sandbox-holds.js';
import {
  checkConverged,
  checkInvariants,
  checkTasks,
  invalidRows,
  reliabilityProject,
  routingYaml,
  runInProcess,
  STATE,
  SYNC,
  withWarehouse,
  type Crm,
  type ReliabilityProject,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

const ROWS = 600;
/**
 * Kills per CRM: each trial kills one run at a different point (batch, stage), so this is also the number of
 * trials. Each trial starts two CLI processes, the slow part on a busy machine.
 */
const KILLS = 4;
/** Record batches per run: every trial changes all ROWS rows (Salesforce collections of 200, HubSpot of 100). */
const BATCHES: Record<Crm, number> = { salesforce: ROWS / 200, hubspot: ROWS / 100 };

interface TrialLog {
  trial: number;
  batch: number;
  stage: HoldStage;
  rerunApplied: number;
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
    // The batches to hold, in a seeded order (each once before any repeats), alternately before and after the CRM.
    const random = seeded(seed);
    const order = Array.from({ length: BATCHES[crm] }, (_, i) => ({ batch: i + 1, r: random() }))
      .sort((a, b) => a.r - b.r)
      .map((x) => x.batch);
    const args = (bump: number) => [
      'run',
      SYNC,
      '--config',
      p.project.configPath,
      '--vars',
      JSON.stringify({ bump, rows: ROWS }),
      '--json',
    ];
    // A first full sync, so the trials update records as well as create the invalid rows' neighbours. In process:
    // it only sets the scene (the killed runs are the CLI's), and a process of its own would prove nothing more.
    const first = await withWarehouse(p, (wh) => runInProcess(p, wh, { bump: 0, rows: ROWS }));
    expect(exitCodeFor([first]), JSON.stringify(first.error)).toBe(3);

    const trials: TrialLog[] = [];
    let tasks = 0;
    for (let trial = 1; trial <= KILLS; trial++) {
      // Every trial changes every row's score, so each run writes all BATCHES record batches.
      const batch = order[(trial - 1) % order.length]!;
      const stage: HoldStage = trial % 2 === 1 ? 'after' : 'before';
      await addFault(p.sandbox, { route: p.profile.writeRoute, hold: stage, skip: batch - 1, times: 1 });
      const child = startCli(args(trial), { cwd: p.project.dir, env: p.env });
      const done = collect(child);
      const reached = await heldOrExited(p.sandbox, child);
      if (reached === 'held') child.kill('SIGKILL');
      const killed = await done;
      expect([reached, killed.signal], `trial ${trial}: ${killed.stderr}`).toEqual(['held', 'SIGKILL']);
      // The held batch goes on now: a `before` batch reaches the CRM after its client died.
      expect(await releaseHeld(p.sandbox)).toHaveLength(1);
      await clearFaults(p.sandbox);

      // The rerun in process, on the state the killed process left: what it must do (take over the dead holder's
      // lock, mark its run abandoned, send the held batch again) is the runner's, whichever process runs it.
      const summary = await withWarehouse(p, async (wh) => {
        const s = await runInProcess(p, wh, { bump: trial, rows: ROWS });
        expect(exitCodeFor([s]), JSON.stringify(s.error)).toBe(3);
        expect(s.status).toBe('partial');
        expect(s.counts.rejected).toBe(invalidRows(p.profile, ROWS).length);
        await checkInvariants(p, wh, s);
        await checkConverged(p, wh, ROWS, trial % 100);
        tasks = await checkTasks(p, wh);
        const { rows: locks } = await wh.query(`select * from ${STATE}.locks`);
        expect(locks).toEqual([]);
        const { rows: runs } = await wh.query(
          `select status, error from ${STATE}.runs order by started_at desc limit 2`,
        );
        // Every kill landed mid-run (a batch was held), so the killed run is left `running` and the rerun
        // marks it abandoned.
        expect(runs[1]).toEqual({ status: 'abandoned', error: 'abandoned: holder process is gone' });
        return s;
      });
      // The held batch was never committed by the killed run, so the rerun sends it again.
      expect(summary.counts.applied, `trial ${trial}`).toBeGreaterThan(0);
      trials.push({ trial, batch, stage, rerunApplied: summary.counts.applied });
    }
    console.log(`crash trials ${crm}: ${JSON.stringify(trials)}`);
    // Routing made tasks along the way (each tier entry once per record), none twice.
    expect(tasks).toBeGreaterThan(100);
  }, 600_000);
});
