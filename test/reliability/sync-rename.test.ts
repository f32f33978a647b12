/**
 * Issue 23, item 8: a sync renamed in the config. Before, the renamed sync's first run created a second task for
 * every routed record the same day (task keys and task_log were per sync name). Now the routing history follows
 * the CRM record, so a renamed sync started afresh creates no task; a rename alone is refused, since its state is
 * orphaned; and `pqlsync rename-sync OLD NEW` moves the whole state, so the renamed sync sends nothing either. Through the real CLI against the Salesforce sandbox, routing on (the first sync under the old name, which
 * only sets the scene, in this process through `runSyncs`, as the CLI calls it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { runCli } from '../helpers/cli.js';
import {
  checkTasks,
  reliabilityProject,
  routingYaml,
  runInProcess,
  withWarehouse,
  type ReliabilityProject,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

const ROWS = 80;

interface Summary {
  sync: string;
  status: string;
  counts: Record<string, number>;
}

describe('renaming a sync with routing (Salesforce)', () => {
  let p: ReliabilityProject | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  const open = async () => {
    p = await reliabilityProject('salesforce', { rows: ROWS, extraSync: routingYaml('salesforce') });
    return p;
  };
  const cli = (q: ReliabilityProject, ...args: string[]) =>
    runCli([...args, '--log-level', 'silent'], { cwd: q.project.dir, env: q.env });
  const runJson = async (q: ReliabilityProject, sync: string, ...flags: string[]): Promise<Summary> => {
    const res = await cli(q, 'run', sync, '--json', ...flags);
    expect(res.stderr).toBe('');
    return JSON.parse(res.stdout) as Summary;
  };
  const renameInConfig = (q: ReliabilityProject) => {
    const text = readFileSync(q.project.configPath, 'utf8');
    writeFileSync(q.project.configPath, text.replace('\n  users:\n', '\n  users_v2:\n'));
  };

  it('a rename alone is refused, and started afresh with --rematch it creates no second task', async () => {
    const q = await open();
    const first = await withWarehouse(q, (wh) => runInProcess(q, wh, {}));
    expect(first.status).toBe('partial');
    expect(first.counts.tasks).toBeGreaterThan(10);
    renameInConfig(q);
    const refused = await cli(q, 'run', 'users_v2');
    expect([refused.code, refused.stderr]).toEqual([
      2,
      `\n${path.join('config', 'pqlsync.yml')} (sync users_v2): sync users_v2 has no state yet, but sync users, which is no longer in the config, has ${first.counts.applied} synced records with the same destination, object and match; if users_v2 is users renamed, its first run would send them all again; refusing\n` +
        '  hint: if it was renamed, run `pqlsync rename-sync users users_v2` first; to start users_v2 afresh anyway, run with --rematch\n',
    ]);
    const renamed = await runJson(q, 'users_v2', '--rematch');
    // Its state is new, so every row is sent again (upserts by Product_User_Id__c: no second Lead) ...
    expect(renamed.counts.added).toBe(ROWS);
    // ... and every task transition is found in the record's history: no task is created twice.
    expect(renamed.counts.tasks).toBe(0);
    expect(await withWarehouse(q, (wh) => checkTasks(q, wh))).toBe(first.counts.tasks);
  }, 300_000);

  it('rename-sync moves the whole state: the renamed sync sends nothing and keeps its history', async () => {
    const q = await open();
    const first = await withWarehouse(q, (wh) => runInProcess(q, wh, {}));
    expect(first.status).toBe('partial');
    const before = await withWarehouse(q, async (wh) => ({
      snapshot: (await wh.query('select * from pqlsync_state.users__snapshot order by key')).rows,
      failures: (await wh.query('select * from pqlsync_state.users__failures order by key')).rows,
      cursors: (await wh.query('select name, cursor_pos from pqlsync_state.route_state')).rows,
    }));
    renameInConfig(q);
    const moved = await cli(q, 'rename-sync', 'users', 'users_v2');
    expect(moved.stderr).toBe('');
    expect(moved.stdout).toBe(
      `moved the state of sync users to users_v2: ${before.snapshot.length} synced records, ${before.failures.length} failures, 1 runs, ${first.counts.tasks} task_log rows, 1 round-robin cursors\n`,
    );
    expect(moved.code).toBe(0);
    await withWarehouse(q, async (wh) => {
      expect((await wh.query('select * from pqlsync_state.users_v2__snapshot order by key')).rows).toEqual(
        before.snapshot,
      );
      expect((await wh.query('select * from pqlsync_state.users_v2__failures order by key')).rows).toEqual(
        before.failures,
      );
      expect(await wh.tableExists('pqlsync_state', 'users__snapshot')).toBe(false);
      expect(await wh.tableExists('pqlsync_state', 'users__failures')).toBe(false);
      const bySync = await wh.query(
        `select 'runs' as t, sync, count(*) as n from pqlsync_state.runs group by sync
         union all select 'task_log', sync, count(*) from pqlsync_state.task_log group by sync
         union all select 'route_state', sync, count(*) from pqlsync_state.route_state group by sync
         union all select 'mappings', sync, count(*) from pqlsync_state.mappings group by sync
         union all select 'locks', sync, count(*) from pqlsync_state.locks group by sync order by 1`,
      );
      expect(bySync.rows.map((r) => `${String(r.t)} ${String(r.sync)} ${Number(r.n)}`)).toEqual([
        'mappings users_v2 1',
        'route_state users_v2 1',
        'runs users_v2 1',
        `task_log users_v2 ${first.counts.tasks}`,
      ]);
    });

    const next = await runJson(q, 'users_v2');
    // Only the rows the CRM refused before are sent again (from failures, still new to the CRM): no other row.
    const refused = before.failures.length;
    expect(refused).toBe(4);
    expect(next.counts).toMatchObject({ added: refused, changed: 0, retried: refused, applied: 0, tasks: 0 });
    const runs = await cli(q, 'runs', 'users_v2', '--json');
    expect(runs.stdout.trim().split('\n')).toHaveLength(2);

    // Refusals: exit 2 with what to do.
    const again = await cli(q, 'rename-sync', 'users', 'users_v2');
    expect([again.code, again.stdout, again.stderr]).toEqual([
      2,
      '',
      'pqlsync: there is no state for sync users in pqlsync_state (no users__snapshot), so there is nothing to rename\n' +
        '  hint: name the sync the state was written under: `pqlsync runs` lists the syncs that have run\n',
    ]);
    const back = await cli(q, 'rename-sync', 'users_v2', 'users');
    expect([back.code, back.stderr]).toEqual([
      2,
      `pqlsync: no sync named 'users' in ${q.project.configPath}\n` +
        '  hint: rename the sync in the config first, then move its state (syncs: users_v2)\n',
    ]);
    const still = await cli(q, 'rename-sync', 'users_v2', 'users_v2');
    expect([still.code, still.stderr]).toEqual([2, "pqlsync: the old and new names are both 'users_v2'\n"]);
    const bad = await cli(q, 'rename-sync', 'users; drop table x', 'users_v2');
    expect([bad.code, bad.stderr]).toEqual([
      2,
      "pqlsync: 'users; drop table x' cannot be a sync name\n" +
        '  hint: a sync name is a letter or _ then letters, digits and _\n',
    ]);
  }, 300_000);
});
