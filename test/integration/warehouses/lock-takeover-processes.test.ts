/**
 * Two `pqlsync run` processes racing to take over the same expired lock on a real Postgres (issue 18; the embedded
 * 18, and Debian's 15 where it is installed), with the interleaving forced by the database, not by timing: a
 * statement trigger on the state `runs` table makes a process (told apart by its Postgres application_name,
 * PGAPPNAME) wait on an advisory lock the test holds.
 *
 * - Process C stops at its takeover's first write (marking the stale holder abandoned), after it read the holder.
 * - Process B then takes the lock over all the way and stops at its run's start (holding the lock).
 * - C goes on: it must stand back (exit 4) and leave B's lock alone; only the stale holder's row is gone.
 * - B goes on and finishes its run (exit 0).
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { StateStore } from '../../../src/state/state-store.js';
import { PostgresAdapter } from '../../../src/warehouse/postgres/postgres-adapter.js';
import { collect, startCli } from '../../helpers/cli.js';
import {
  debianPostgresMissing,
  startDebianPostgres,
  startTestPostgres,
  type TestPostgres,
} from '../../helpers/postgres.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

const GATE_C = 18_001;
const GATE_B = 18_002;

/** Resolves once the process with this application_name waits on an advisory lock; rejects if it ended first. */
async function waitingAtGate(admin: pg.Client, app: string, ended: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows } = await admin.query(
      `select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock' and wait_event = 'advisory'`,
      [app],
    );
    if (rows.length > 0) return;
    const end = ended();
    if (end !== undefined) throw new Error(`${app} ended before reaching its gate: ${end}`);
    if (Date.now() > deadline) throw new Error(`${app} did not reach its gate`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The server lines the README promises (12+): the embedded 18, and Debian's 15 where it is installed. */
const missing15 = debianPostgresMissing();
if (missing15) console.warn(`lock-takeover-processes: skipping postgres 15 (debian): ${missing15}`);
const servers: [string, () => Promise<TestPostgres>][] = [
  ['postgres (embedded 18, or PQLSYNC_TEST_POSTGRES_URL)', () => startTestPostgres()],
  ...(missing15
    ? []
    : ([['postgres 15 (debian)', startDebianPostgres]] as [string, () => Promise<TestPostgres>][])),
];

describe.each(servers)('two pqlsync processes taking over one expired lock: %s', (_name, start) => {
  let server: TestPostgres;
  let url: string;
  let p: TempProject;

  beforeAll(async () => {
    server = await start();
    url = await server.createDatabase(`lock_procs_${process.pid}`);
    p = tempProject();
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email from src.users\n`,
    );
    p.writeConfig(`
warehouse: { type: postgres, url: '\${PG_URL}' }
destinations:
  crm: { type: file, path: out }
scheduler: { lock_lease_seconds: 600 }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    fields: { Email: email }
`);
  }, 120_000);
  afterAll(async () => {
    p.cleanup();
    await server.stop();
  });

  it('the one that read it before the other took it exits 4; the other keeps its lock and finishes', async () => {
    const wh = new PostgresAdapter({ url });
    await wh.connect();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await wh.query('create schema src');
      await wh.query('create table src.users (user_id bigint, email text)');
      await wh.query(
        `insert into src.users values (1, 'a@example.com'), (2, 'b@example.com'), (3, 'c@example.com')`,
      );
      // A run on another host whose lease ran out long ago: its lock and its runs row are stale.
      const store = new StateStore(wh, 'pqlsync_state', () => new Date('2026-01-05T10:00:00.000Z'));
      await store.ensureStateTables();
      await store.acquireLock('users', 'run-a', 60);
      await store.startRun({
        runId: 'run-a',
        sync: 'users',
        startedAt: new Date('2026-01-05T10:00:00.000Z'),
        modelHash: 'h',
      });
      await wh.query(`update pqlsync_state.locks set host = 'gone-host', pid = 1 where run_id = 'run-a'`);

      await admin.query(`
        create function pqlsync_state.race_gate() returns trigger language plpgsql as $$
        begin
          if current_setting('application_name') = tg_argv[0] then
            perform pg_advisory_xact_lock(tg_argv[1]::bigint);
          end if;
          return null;
        end $$`);
      await admin.query(
        `create trigger gate_c before update on pqlsync_state.runs for each statement execute function pqlsync_state.race_gate('racer-c', '${GATE_C}')`,
      );
      await admin.query(
        `create trigger gate_b before insert on pqlsync_state.runs for each statement execute function pqlsync_state.race_gate('racer-b', '${GATE_B}')`,
      );
      await admin.query(`select pg_advisory_lock(${GATE_C}), pg_advisory_lock(${GATE_B})`);

      const start = (app: string) => {
        const child = startCli(['run', 'users', '--config', p.configPath, '--json'], {
          env: { PG_URL: url, PGAPPNAME: app },
        });
        let end: string | undefined;
        const done = collect(child).then((r) => {
          end = `exit ${r.code}: ${r.stderr}`;
          return r;
        });
        return { pid: child.pid!, done, ended: () => end };
      };

      // C reads the expired holder (run-a) and stops before its first write.
      const c = start('racer-c');
      await waitingAtGate(admin, 'racer-c', c.ended);
      // B takes the expired lock over, commits, and stops at its run's start, holding the lock.
      const b = start('racer-b');
      await waitingAtGate(admin, 'racer-b', b.ended);
      const lockRows = async () =>
        (await admin.query('select run_id, host, pid::int as pid from pqlsync_state.locks order by run_id'))
          .rows as {
          run_id: string;
          host: string;
          pid: number;
        }[];
      const held = await lockRows();
      expect(held.map((r) => [r.host, r.pid])).toEqual([[hostname(), b.pid]]);
      const runB = held[0]!.run_id;

      // C goes on: it stands back, exit 4, and B's lock is the only row left.
      await admin.query(`select pg_advisory_unlock(${GATE_C})`);
      const rc = await c.done;
      expect(rc.code).toBe(4);
      const since = (
        (await admin.query(`select acquired_at from pqlsync_state.locks`)).rows[0] as { acquired_at: Date }
      ).acquired_at.toISOString();
      expect(JSON.parse(rc.stdout)).toMatchObject({
        sync: 'users',
        status: 'failed',
        error: {
          code: 'STATE_LOCK_HELD',
          message: `sync users: another run holds the lock: run ${runB} on ${hostname()} (pid ${b.pid}) since ${since}`,
        },
      });
      expect(await lockRows()).toEqual(held);
      const runs = await admin.query(`select run_id, status from pqlsync_state.runs order by started_at`);
      expect(runs.rows).toEqual([{ run_id: 'run-a', status: 'abandoned' }]);

      // B goes on and finishes its run.
      await admin.query(`select pg_advisory_unlock(${GATE_B})`);
      const rb = await b.done;
      expect([rb.code, rb.stderr]).toEqual([0, '']);
      expect(JSON.parse(rb.stdout)).toMatchObject({
        sync: 'users',
        runId: runB,
        status: 'success',
        counts: { added: 3, applied: 3 },
      });
      expect(await lockRows()).toEqual([]);
    } finally {
      await admin.end();
      await wh.close();
    }
  }, 240_000);
});
