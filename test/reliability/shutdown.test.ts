/**
 * Stop signals against a CRM that stopped answering, with the real CLI in a child process:
 *
 * - `pqlsync run` gets SIGTERM while a batch waits for an answer that never comes: after the grace period
 *   (`scheduler.shutdown_grace_seconds`), or at once on a second signal, the run stops waiting, commits what the
 *   CRM acknowledged, marks its runs row, releases the lock and exits 1; the next run (in this process, through
 *   `runSyncs` as the CLI calls it) converges.
 * - `pqlsync schedule` that already stopped cleanly gets a second SIGTERM: it still exits 0.
 */
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, type RunSummary } from '../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { collect, startCli } from '../helpers/cli.js';
import { tempProject } from '../helpers/temp-project.js';
import {
  admin,
  checkConverged,
  checkInvariants,
  configText,
  invalidRows,
  reliabilityProject,
  runInProcess,
  vendorRequests,
  STATE,
  SYNC,
  type Crm,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

const ROWS = 250;
/** Write requests a run of ROWS changes sends: Salesforce collections of 200, HubSpot batches of 100. */
const WRITES: Record<Crm, number> = { salesforce: 2, hubspot: 3 };

/** Resolves once `check` is true, polling every 20 ms (bounded by the test's timeout). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

function stderrOf(child: ChildProcess): { text: string } {
  const out = { text: '' };
  child.stderr?.on('data', (d: Buffer) => (out.text += d.toString()));
  return out;
}

describe.each<[Crm, 'grace period' | 'second signal']>([
  ['salesforce', 'grace period'],
  ['salesforce', 'second signal'],
  ['hubspot', 'grace period'],
  ['hubspot', 'second signal'],
])('SIGTERM to `pqlsync run` while %s does not answer, ended by the %s', (crm, ending) => {
  it('commits what was acknowledged, marks the run, releases the lock, exits 1; the next run converges', async () => {
    const p = await reliabilityProject(crm, { rows: ROWS });
    try {
      const profile = { ...p.profile };
      // Only the grace period or a second signal can end the wait: the request timeout is far away.
      profile.destinationYaml += '\n    request_timeout_ms: 600000';
      const grace = ending === 'grace period' ? 1 : 600;
      p.project.writeConfig(`${configText(profile)}scheduler: { shutdown_grace_seconds: ${grace} }\n`);
      // The first write never gets an answer; the others are answered.
      await admin(p.sandbox, 'POST', '/_sandbox/faults', {
        route: p.profile.writeRoute,
        hang: true,
        times: 1,
      });

      const child = startCli(
        ['run', SYNC, '--config', p.project.configPath, '--json', '--vars', JSON.stringify({ rows: ROWS })],
        { env: p.env },
      );
      const stderr = stderrOf(child);
      const done = collect(child);
      const writePath = p.profile.writeRoute.split(' ')[1] ?? '?';
      await until(
        async () =>
          (await vendorRequests(p.sandbox)).filter((r) => r.path.includes(writePath)).length >= WRITES[crm],
      );
      child.kill('SIGTERM');
      if (ending === 'second signal') {
        await until(() => stderr.text.includes('stopping: no new batches'));
        child.kill('SIGTERM');
      }
      const r = await done;
      expect([r.code, r.signal], r.stderr).toEqual([1, null]);
      expect(r.stderr).toContain(
        ending === 'grace period'
          ? '"msg":"grace period over: no more waiting for the CRM"'
          : '"msg":"second stop signal: no more waiting for the CRM"',
      );
      const summary = JSON.parse(r.stdout) as RunSummary;
      const committed = summary.counts.applied + summary.counts.rejected;
      expect(summary.status).toBe('failed');
      expect(summary.error?.message).toBe(
        `sync ${SYNC}: stopped by shutdown after ${committed} of ${ROWS} records were written and committed; the rest is sent by the next run`,
      );
      // The answered batches were committed; the unanswered one was not.
      expect(committed).toBeGreaterThan(0);
      expect(committed).toBeLessThan(ROWS);

      const wh = new DuckdbAdapter({ path: p.dbPath });
      await wh.connect();
      try {
        await checkInvariants(p, wh, summary);
        expect((await wh.query(`select * from ${STATE}.locks`)).rows).toEqual([]);
        await admin(p.sandbox, 'DELETE', '/_sandbox/faults');
        // The next run, in process (what it must do is the runner's, whichever process runs it).
        const again = await runInProcess(p, wh, { rows: ROWS });
        expect(exitCodeFor([again]), JSON.stringify(again.error)).toBe(3);
        expect(again.counts.rejected).toBe(invalidRows(p.profile, ROWS).length);
        await checkInvariants(p, wh, again);
        await checkConverged(p, wh, ROWS, 0);
      } finally {
        await wh.close();
      }
    } finally {
      await p.close();
    }
  }, 150_000);
});

describe('a second SIGTERM to `pqlsync schedule` once it stopped cleanly', () => {
  it('still exits 0 (not ended by the signal)', async () => {
    const p = tempProject('pqlsync-rel-sched-');
    try {
      p.writeModel(
        'scores',
        `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`,
      );
      p.writeConfig(`warehouse: { type: duckdb, path: wh.duckdb }
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
    schedule: "* * * * * *"
`);
      const wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
      await wh.connect();
      await wh.query('create schema src');
      await wh.query(
        `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score from range(1, 2001) t(i)`,
      );
      await wh.close();

      const daemon = startCli(['--config', p.configPath, 'schedule'], { env: { PQLSYNC_LOG_LEVEL: 'info' } });
      const stderr = stderrOf(daemon);
      const done = collect(daemon);
      await until(() => stderr.text.includes('"msg":"planned"'));
      daemon.kill('SIGTERM');
      await until(() => stderr.text.includes('"msg":"stopped cleanly"'));
      // Still exiting (not yet reaped): the signal lands in the moment between the clean stop and the exit.
      if (daemon.exitCode === null) daemon.kill('SIGTERM');
      const r = await done;
      expect([r.code, r.signal], r.stderr).toEqual([0, null]);
    } finally {
      p.cleanup();
    }
  });
});
