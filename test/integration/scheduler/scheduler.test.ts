import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import type { RunSummary } from '../../../src/runner/run-sync.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { RunMetricStatus } from '../../../src/scheduler/scheduler-metrics.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import {
  GatedDestination,
  schedulerConfig,
  schedulerFixture,
  type SchedulerFixture,
} from './scheduler-helpers.js';

setLogger(createLogger({ level: 'silent' }));

describe('scheduler', () => {
  let fx: SchedulerFixture | undefined;
  let scheduler: Scheduler | undefined;

  afterEach(async () => {
    await scheduler?.stop(5000);
    scheduler = undefined;
    await fx?.cleanup();
    fx = undefined;
  });

  const make = (dest: GatedDestination, extra: { clock?: ManualClock } = {}) => {
    const runs: { summary: RunSummary; status: RunMetricStatus }[] = [];
    const s = new Scheduler({
      loaded: fx!.load(),
      warehouse: fx!.wh,
      destination: async () => dest,
      onRun: (summary, status) => runs.push({ summary, status }),
      ...extra,
    });
    return { s, runs };
  };

  it('runs a sync on its cron schedule in UTC, chains its dependent, and an unchanged rerun sends nothing', async () => {
    fx = await schedulerFixture(schedulerConfig());
    // The scheduler's clock only: the runs it starts keep real timers (retry backoff, rate limits, leases).
    const clock = new ManualClock(new Date('2025-03-03T10:01:00Z'));
    const dest = new GatedDestination();
    const { s, runs } = make(dest, { clock });
    scheduler = s;
    s.start();
    expect(s.states().map((st) => [st.sync, st.nextRun, st.after])).toEqual([
      ['users', '2025-03-03T10:05:00.000Z', []],
      ['accounts', null, ['users']],
    ]);
    await clock.advance(3 * 60_000);
    await s.idle();
    expect(runs).toHaveLength(0);
    await clock.advance(2 * 60_000);
    await s.idle();
    expect(runs.map((r) => [r.summary.sync, r.status, r.summary.counts.applied])).toEqual([
      ['users', 'success', 300],
      ['accounts', 'success', 300],
    ]);
    const calls = dest.calls;
    await clock.advance(5 * 60_000);
    await s.idle();
    expect(
      runs.slice(2).map((r) => [r.summary.sync, r.status, r.summary.counts.applied, r.summary.apiCalls]),
    ).toEqual([
      ['users', 'success', 0, 0],
      ['accounts', 'success', 0, 0],
    ]);
    expect(dest.calls).toBe(calls);
  });

  it('reads schedules in UTC unless the sync or scheduler.timezone names a zone', async () => {
    fx = await schedulerFixture(
      schedulerConfig({
        usersSchedule: '0 9 * * *',
        accounts: '    schedule: "0 9 * * *"\n    timezone: America/New_York',
      }),
    );
    const { s } = make(new GatedDestination(), { clock: new ManualClock(new Date('2025-01-15T00:00:00Z')) });
    scheduler = s;
    s.start();
    expect(s.states().map((st) => [st.sync, st.timezone, st.nextRun])).toEqual([
      ['users', 'UTC', '2025-01-15T09:00:00.000Z'],
      ['accounts', 'America/New_York', '2025-01-15T14:00:00.000Z'],
    ]);
  });

  it('rejects bad cron expressions and time zones together, naming the config path', async () => {
    fx = await schedulerFixture(
      schedulerConfig({
        usersSchedule: '61 * * * *',
        accounts: '    schedule: "0 9 * * *"\n    timezone: Mars/Olympus',
      }),
    );
    const err = (() => {
      try {
        make(new GatedDestination());
      } catch (e) {
        return e as PqlsyncError;
      }
      throw new Error('expected CONFIG_INVALID');
    })();
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      `2 problems in ${fx.p.configPath}:\n` +
        `  syncs.users.schedule: '61 * * * *' is not a cron expression (minute: 61 is a invalid expression for minute); e.g. "0 */4 * * *" for every 4 hours\n` +
        `  syncs.accounts.timezone: 'Mars/Olympus' is not an IANA time zone; e.g. UTC, Europe/Berlin, America/New_York`,
    );
  });

  it('skips a tick while the previous run of the same sync is still going', async () => {
    fx = await schedulerFixture(schedulerConfig());
    const dest = new GatedDestination();
    dest.holdFrom = 1;
    const { s, runs } = make(dest);
    scheduler = s;
    const first = s.trigger('users', 'test');
    await dest.held();
    const second = await s.trigger('users', 'test');
    expect(second).toBe('skipped');
    expect(runs.map((r) => [r.summary.sync, r.status, r.summary.error?.message])).toEqual([
      ['users', 'skipped', 'the previous run of this sync is still going in this scheduler'],
    ]);
    dest.release();
    expect(await first).toBe('success');
    await s.idle();
    const lead = dest.written.filter((w) => dest.records.get('Lead')?.has(w.key));
    expect(new Set(lead.map((w) => w.key)).size).toBe(300);
    expect(runs.filter((r) => r.summary.sync === 'users' && r.status === 'success')).toHaveLength(1);
  });

  it('max_concurrent_syncs bounds how many syncs write at once', async () => {
    const leads = `  leads:
    model: scores
    destination: crm
    object: Contact
    match: { field: Ext__c, column: user_id }
    fields: { Email: email }
    schedule: "*/5 * * * *"`;
    fx = await schedulerFixture(
      schedulerConfig({ extra: `${leads}\nscheduler: { max_concurrent_syncs: 2 }` }),
    );
    const two = new GatedDestination();
    two.holdFrom = 0;
    const both = two.held(2);
    const { s } = make(two);
    scheduler = s;
    const runs = [s.trigger('users', 'test'), s.trigger('leads', 'test')];
    await both;
    expect(two.active).toBe(2);
    two.release();
    expect(await Promise.all(runs)).toEqual(['success', 'success']);
    await s.stop(5000);

    fx.p.writeConfig(schedulerConfig({ extra: `${leads}\nscheduler: { max_concurrent_syncs: 1 }` }));
    await fx.wh.query('drop schema pqlsync_state cascade');
    const one = new GatedDestination();
    const single = make(one);
    scheduler = single.s;
    expect(await Promise.all([single.s.trigger('users', 'test'), single.s.trigger('leads', 'test')])).toEqual(
      ['success', 'success'],
    );
    expect(one.maxActive).toBe(1);
  });

  it('a stop mid-run lets the batch in flight commit and sends nothing after it; a restart sends the rest once', async () => {
    fx = await schedulerFixture(schedulerConfig());
    const dest = new GatedDestination();
    dest.batchSize = 50;
    dest.holdFrom = 2;
    const first = make(dest);
    scheduler = first.s;
    const running = first.s.trigger('users', 'test');
    await dest.held();
    const stopping = first.s.stop(10_000);
    dest.release();
    expect(await stopping).toEqual({ clean: true, stillRunning: [] });
    expect(await running).toBe('failed');
    const [aborted] = first.runs;
    expect(aborted?.summary.error?.message).toBe(
      'sync users: stopped by shutdown after 150 of 300 records were written and committed; the rest is sent by the next run',
    );
    expect(first.runs).toHaveLength(1); // accounts is not chained after a stopped run
    expect(dest.written).toHaveLength(150);
    const snap = await fx.wh.query('select count(*) as n from pqlsync_state.users__snapshot');
    expect(snap.rows[0]?.n).toBe(150);
    const store = new StateStore(fx.wh, 'pqlsync_state');
    const [row] = await store.listRuns('users', 1);
    expect([row?.status, row?.counts.applied, row?.error]).toEqual([
      'failed',
      150,
      'sync users: stopped by shutdown after 150 of 300 records were written and committed; the rest is sent by the next run',
    ]);

    const second = make(dest);
    scheduler = second.s;
    expect(await second.s.trigger('users', 'restart')).toBe('success');
    expect(second.runs[0]?.summary.counts).toMatchObject({ added: 150, applied: 150 });
    const keys = dest.written.map((w) => w.key);
    expect(keys).toHaveLength(300);
    expect(new Set(keys).size).toBe(300);
  });

  it('a failed run is logged and the scheduler keeps going; the dependent is not chained after a failure', async () => {
    fx = await schedulerFixture(schedulerConfig());
    const dest = new GatedDestination();
    dest.stopAfterBatches = {
      after: 0,
      error: new PqlsyncError('DESTINATION_AUTH_FAILED', 'INVALID_SESSION_ID: Session expired or invalid'),
    };
    const { s, runs } = make(dest);
    scheduler = s;
    expect(await s.trigger('users', 'test')).toBe('failed');
    await s.idle();
    expect(runs.map((r) => [r.summary.sync, r.status, r.summary.error?.code])).toEqual([
      ['users', 'failed', 'DESTINATION_AUTH_FAILED'],
    ]);
    dest.stopAfterBatches = undefined;
    expect(await s.trigger('users', 'test')).toBe('success');
    await s.idle();
    expect(runs.slice(1).map((r) => [r.summary.sync, r.status])).toEqual([
      ['users', 'success'],
      ['accounts', 'success'],
    ]);
  });

  it('skips a sync whose lock another process holds, naming it; takes over a lease that expired', async () => {
    fx = await schedulerFixture(schedulerConfig());
    const t0 = new Date('2025-03-03T10:00:00Z');
    const other = new StateStore(fx.wh, 'pqlsync_state', () => t0);
    await other.ensureStateTables();
    await other.acquireLock('users', 'run-other', 60);
    await other.startRun({ runId: 'run-other', sync: 'users', startedAt: t0, modelHash: null });

    const dest = new GatedDestination();
    const early = make(dest, { clock: new ManualClock(new Date(t0.getTime() + 30_000)) });
    scheduler = early.s;
    expect(await early.s.trigger('users', 'test')).toBe('skipped');
    expect(early.runs[0]?.summary.error?.message).toBe(
      `sync users: another run holds the lock: run run-other on ${hostname()} (pid ${process.pid}) since 2025-03-03T10:00:00.000Z\n` +
        '  hint: the lease expires at 2025-03-03T10:01:00.000Z unless renewed',
    );
    expect(dest.calls).toBe(0);

    const late = make(dest, { clock: new ManualClock(new Date(t0.getTime() + 61_000)) });
    scheduler = late.s;
    expect(await late.s.trigger('users', 'test')).toBe('success');
    const runs = await new StateStore(fx.wh, 'pqlsync_state').listRuns('users', 5);
    expect(runs.map((r) => [r.runId === 'run-other' ? 'run-other' : 'new', r.status, r.error])).toEqual([
      ['new', 'success', null],
      ['run-other', 'abandoned', 'abandoned: lease expired'],
    ]);
    expect(await new StateStore(fx.wh, 'pqlsync_state').lockHolder('users')).toBeUndefined();
  });
});
