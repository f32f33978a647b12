import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookAlerts } from '../../../src/alerts/webhook-alerts.js';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import { runScheduleDaemon } from '../../../src/scheduler/schedule-daemon.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import {
  GatedDestination,
  schedulerConfig,
  schedulerFixture,
  type SchedulerFixture,
} from './scheduler-helpers.js';

setLogger(createLogger({ level: 'silent' }));

/** A local stand-in for a Slack incoming webhook: records each posted body; answers `status`. */
async function webhookServer(): Promise<{
  url: string;
  posts: { text: string }[];
  status: number;
  close(): Promise<void>;
}> {
  const state = { posts: [] as { text: string }[], status: 200 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      state.posts.push(JSON.parse(body) as { text: string });
      res
        .writeHead(state.status, { 'content-type': 'text/plain' })
        .end(state.status === 200 ? 'ok' : 'no_service');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/secretpart`,
    get posts() {
      return state.posts;
    },
    get status() {
      return state.status;
    },
    set status(v: number) {
      state.status = v;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('schedule daemon: signals, /healthz and /metrics', () => {
  let fx: SchedulerFixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  it('serves health and metrics, and a SIGTERM mid-run answers 503, finishes the batch and exits 0', async () => {
    fx = await schedulerFixture(schedulerConfig());
    const dest = new GatedDestination();
    const signals = new EventEmitter();
    let onReady: (info: { scheduler: Scheduler; healthUrl?: string }) => void = () => undefined;
    const isReady = new Promise<{ scheduler: Scheduler; healthUrl?: string }>((r) => (onReady = r));
    const done = runScheduleDaemon({
      loaded: fx.load(),
      healthPort: 0,
      signals,
      warehouse: fx.wh,
      destination: async () => dest,
      onReady: (info) => onReady(info),
    });
    const ready = await isReady;
    expect(ready.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const url = ready!.healthUrl!;
    expect(await ready!.scheduler.trigger('users', 'test')).toBe('success');
    await ready!.scheduler.idle();

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as {
      status: string;
      syncs: { sync: string; lastRun: { status: string } | null }[];
    };
    expect(body.status).toBe('ok');
    expect(body.syncs.map((s) => [s.sync, s.lastRun?.status])).toEqual([
      ['users', 'success'],
      ['accounts', 'success'],
    ]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('pqlsync_runs_total{sync="users",status="success"} 1');
    expect(metrics).toContain('pqlsync_runs_total{sync="users",status="failed"} 0');
    expect(metrics).toContain('pqlsync_records_total{sync="users",outcome="applied"} 300');
    expect(metrics).toContain('pqlsync_records_total{sync="accounts",outcome="rejected"} 0');
    expect(metrics).toContain('pqlsync_run_duration_seconds_count{sync="users"} 1');
    expect(metrics).toMatch(/pqlsync_last_success_timestamp_seconds\{sync="users"\} \d{10}/);
    expect((await fetch(`${url}/nope`)).status).toBe(404);

    // A new row so the next run has something to write, held mid-run.
    await fx.wh.query(`insert into src.users values (1001, 'new@example.com', 95)`);
    dest.holdFrom = dest.batches;
    const running = ready!.scheduler.trigger('users', 'test');
    await dest.held();
    signals.emit('SIGTERM');
    const stopping = await fetch(`${url}/healthz`);
    expect(stopping.status).toBe(503);
    expect(((await stopping.json()) as { status: string }).status).toBe('stopping');
    dest.release();
    expect(await done).toBe(0);
    expect(await running).toBe('success');
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('exits 1 when runs are still going after the grace period, and at once on a second signal', async () => {
    fx = await schedulerFixture(schedulerConfig({ extra: 'scheduler: { shutdown_grace_seconds: 1 }' }));
    const dest = new GatedDestination();
    dest.holdFrom = 0;
    const signals = new EventEmitter();
    let ready: (s: Scheduler) => void = () => {};
    const isReady = new Promise<Scheduler>((resolve) => (ready = resolve));
    const done = runScheduleDaemon({
      loaded: fx.load(),
      signals,
      warehouse: fx.wh,
      destination: async () => dest,
      onReady: (info) => ready(info.scheduler),
    });
    // The daemon loads its metrics module on start, so it is ready a few ticks later, not in this one.
    const scheduler = await isReady;
    const running = scheduler.trigger('users', 'test');
    await dest.held();
    signals.emit('SIGTERM');
    expect(await done).toBe(1);
    dest.release();
    await running;

    dest.holdFrom = dest.batches; // nothing left to write: the second daemon's run would not hold
    const signals2 = new EventEmitter();
    let ready2: () => void = () => {};
    const isReady2 = new Promise<void>((resolve) => (ready2 = resolve));
    const done2 = runScheduleDaemon({
      loaded: fx.load(),
      signals: signals2,
      warehouse: fx.wh,
      destination: async () => dest,
      onReady: () => ready2(),
    });
    await isReady2; // its signal handlers are installed once it is ready
    signals2.emit('SIGINT');
    expect(await done2).toBe(0);
  });
});

describe('alerts to a Slack-style webhook', () => {
  let fx: SchedulerFixture | undefined;
  let hook: Awaited<ReturnType<typeof webhookServer>> | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    await hook?.close();
    fx = undefined;
    hook = undefined;
    delete process.env.PQLSYNC_ALERT_WEBHOOK;
  });

  const alertsConfig = 'alerts:\n  webhook_url: ${PQLSYNC_ALERT_WEBHOOK}\n  rejected_pct: 1\n  max_listed: 2';

  const scheduler = (dest: GatedDestination) => {
    const loaded = fx!.load();
    return new Scheduler({
      loaded,
      warehouse: fx!.wh,
      destination: async () => dest,
      alerts: new WebhookAlerts(loaded.config.alerts!),
    });
  };

  it('posts new hot records once, rejected shares above the threshold, and failures', async () => {
    hook = await webhookServer();
    process.env.PQLSYNC_ALERT_WEBHOOK = hook.url;
    fx = await schedulerFixture(schedulerConfig({ extra: alertsConfig }), 30);
    const dest = new GatedDestination();
    // score = 7i % 100; hot means score >= 90: users 13 (91), 14 (98) and 28 (96).
    const hot = (await fx.wh.query(`select user_id from src.users where score >= 90 order by user_id`)).rows;
    expect(hot.map((r) => r.user_id)).toEqual([13, 14, 28]);
    dest.rejectKeys.set('28', 'INVALID_EMAIL_ADDRESS: bad email');
    const s = scheduler(dest);
    expect(await s.trigger('users', 'test')).toBe('partial');
    await s.idle();
    // Lines under a header come in plan order; sort them to compare.
    const texts = () =>
      hook!.posts.map((p) => {
        const [head, ...lines] = p.text.split('\n');
        return [head, ...lines.sort()].join('\n');
      });
    // The fixture's scores are uniform, so 60% of its rows are hot or pql: above the default max_flag_rate.
    expect(texts()).toEqual([
      ':warning: pqlsync sync *users* had 1 of 30 records rejected (3.3%, above alerts.rejected_pct 1); see `pqlsync runs users`',
      ':warning: pqlsync sync *users* flagged 18 of 30 rows (60.0%, above max_flag_rate 40.0%): check the model before reps work these',
      ':fire: 2 new hot records from sync *users*:\n• 13: Email=u13@example.com, Score__c=91, Tier__c=hot\n• 14: Email=u14@example.com, Score__c=98, Tier__c=hot',
      // The test destination rejects key 28 for every object, so accounts is partial too.
      ':warning: pqlsync sync *accounts* had 1 of 30 records rejected (3.3%, above alerts.rejected_pct 1); see `pqlsync runs accounts`',
      ':warning: pqlsync sync *accounts* flagged 18 of 30 rows (60.0%, above max_flag_rate 40.0%): check the model before reps work these',
      ':fire: 2 new hot records from sync *accounts*:\n• 13: Email=u13@example.com\n• 14: Email=u14@example.com',
    ]);
    // From here on only the other alerts are compared (the flag rate stays above the line).
    const flagRatePost = (p: { text: string }) => / flagged \d+ of \d+ rows /.test(p.text);

    hook.posts.length = 0;
    dest.rejectKeys.clear();
    await fx.wh.query(`update src.users set score = 99 where user_id in (1, 2, 13)`);
    expect(await s.trigger('users', 'test')).toBe('success');
    await s.idle();
    // 13 was hot already; 28 was rejected last time, so it is new in the snapshot now. Two are listed at most.
    const others = () => hook!.posts.filter((p) => !flagRatePost(p));
    expect(others().map((p) => p.text.split('\n')[0])).toEqual([
      ':fire: 3 new hot records from sync *users*:',
      // accounts maps only Email, so a score change is no change there: only the retried 28 is new.
      ':fire: 1 new hot record from sync *accounts*:',
    ]);
    expect(others()[0]?.text.split('\n').slice(1).sort()).toEqual([
      expect.stringMatching(/^• (1|2|28): Email=u\1@example\.com, Score__c=(99|96), Tier__c=hot$/),
      expect.stringMatching(/^• (1|2|28): Email=u\1@example\.com, Score__c=(99|96), Tier__c=hot$/),
      '…and 1 more',
    ]);

    hook.posts.length = 0;
    await fx.wh.query(`update src.users set score = 50 where user_id = 5`);
    dest.stopAfterBatches = {
      after: 0,
      error: new PqlsyncError('DESTINATION_AUTH_FAILED', 'INVALID_SESSION_ID: Session expired'),
    };
    expect(await s.trigger('users', 'test')).toBe('failed');
    await s.idle();
    expect(others().map((p) => p.text.replace(/run [0-9a-f-]{36}/, 'run <id>'))).toEqual([
      ':rotating_light: pqlsync sync *users* failed (run <id>): INVALID_SESSION_ID: Session expired',
    ]);
    await s.stop(5000);
  });

  it('a webhook that fails never fails or blocks the run, and its URL stays out of the logs', async () => {
    hook = await webhookServer();
    hook.status = 500;
    process.env.PQLSYNC_ALERT_WEBHOOK = hook.url;
    fx = await schedulerFixture(schedulerConfig({ extra: alertsConfig }), 30);
    const lines: string[] = [];
    setLogger(
      createLogger({
        level: 'warn',
        destination: { write: (l: string) => lines.push(l) } as unknown as NodeJS.WritableStream,
      }),
    );
    try {
      const s = scheduler(new GatedDestination());
      expect(await s.trigger('users', 'test')).toBe('success');
      await s.idle();
      await s.stop(5000);
    } finally {
      setLogger(createLogger({ level: 'silent' }));
    }
    // Per sync, the flag rate above max_flag_rate and the hot records: all four posts failed.
    expect(hook.posts).toHaveLength(4);
    const warnings = lines
      .map((l) => JSON.parse(l) as { msg: string; err: string })
      .filter((w) => !w.msg.includes(' flag rate '));
    expect(warnings.map((w) => [w.msg, w.err])).toEqual(
      Array(4).fill([
        'alert webhook post failed; the run is not affected',
        'HTTP 500 from the alert webhook: no_service',
      ]),
    );
    expect(lines.join('\n')).not.toContain('secretpart');
  });
});
