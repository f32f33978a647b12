/**
 * The read-back tables and the loop report's SQL on DuckDB and Postgres: the same seeded task_log, snapshot and
 * read-back rows give the same report, with numbers worked out by hand (account tasks too); rows are replaced by
 * id, and watermarks read back as written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarSchema } from '../../src/config/config-schema.js';
import type { LoadedConfig } from '../../src/config/load-config.js';
import {
  ensureReadbackTables,
  readWatermarks,
  upsertReadback,
  type ReadbackRow,
} from '../../src/pull/readback-tables.js';
import { buildLoopReport } from '../../src/report/loop-report.js';
import { RouteStore } from '../../src/routing/route-store.js';
import { StateStore } from '../../src/state/state-store.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { duckdbUnderTest, postgresUnderTest, type WarehouseUnderTest } from './warehouses.js';

const SCHEMA = 'pqlsync_state';
const at = (hhmm: string) => new Date(`2026-03-02T${hhmm}:00Z`);
const loaded = {
  configPath: 'config/pqlsync.yml',
  config: { state: { schema: SCHEMA }, syncs: { users: { destination: 'crm' } } },
} as unknown as LoadedConfig;

const task = (id: string, key: string, closedAt: string | null, owner: string): ReadbackRow => ({
  destination: 'crm',
  task_id: id,
  task_key: key,
  status: closedAt ? 'Completed' : 'Not Started',
  is_closed: closedAt !== null,
  completed_at: closedAt ? at(closedAt) : null,
  owner_id: owner,
  person_id: null,
  outcome: null,
  due_date: '2026-03-02',
  created_at: at('10:00'),
  modified_at: at('20:00'),
});

const person = (id: string, opp: string | null): ReadbackRow => ({
  destination: 'crm',
  record_id: id,
  object: 'Lead',
  match_value: id.toLowerCase(),
  status: opp ? 'Closed - Converted' : 'Open - Not Contacted',
  is_converted: opp !== null,
  converted_at: opp ? at('11:00') : null,
  converted_opportunity_id: opp,
  account_id: null,
  owner_id: 'U1',
  modified_at: at('20:00'),
});

const opportunity = (id: string, amount: number, created: string, stage: string): ReadbackRow => ({
  destination: 'crm',
  opportunity_id: id,
  account_id: null,
  person_id: null,
  name: id,
  stage,
  amount,
  is_closed: stage.startsWith('Closed'),
  is_won: stage === 'Closed Won',
  created_at: at(created),
  close_date: '2026-03-31',
  owner_id: 'U1',
  modified_at: at('20:00'),
});

/** A state schema with the tables a report reads and a snapshot of `[key, destination id]` rows. */
async function seedState(
  wh: WarehouseAdapter,
  schema: string,
  snapshot: Array<[string, string]>,
): Promise<StateStore> {
  const state = new StateStore(wh, schema);
  await state.ensureStateTables();
  await state.ensureSyncTables('users');
  await new RouteStore(state).ensureTables();
  await ensureReadbackTables(state);
  await wh.insertRows(
    `${schema}.users__snapshot`,
    ['key', 'row_hash', 'values_json', 'tier', 'destination_id', 'synced_at', 'run_id'],
    snapshot.map(([key, id]) => [key, 'h', '{}', null, id, at('09:00'), 'r']),
  );
  return state;
}

describe.each<WarehouseUnderTest>([duckdbUnderTest(), postgresUnderTest()])(
  'read-back tables on $name',
  (w) => {
    let wh: WarehouseAdapter;

    beforeAll(async () => {
      await w.start();
      wh = await w.open();
      // k1, k2 hot (due in 1 h); k3, k4 pql (due in 4 h); k5..k8 never flagged.
      const state = await seedState(
        wh,
        SCHEMA,
        ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8'].map((k, i): [string, string] => [k, `L${i + 1}`]),
      );
      const log = (key: string, tier: string, due: string, owner: string) => [
        'users',
        key,
        tier,
        null,
        `pqlsync:Lead:${key}:${tier}:2026-03-02`,
        'created',
        tier === 'hot' ? 'fast' : 'slow',
        owner,
        at(due),
        '{}',
        `T-${key}`,
        null,
        'r',
        at('10:00'),
        at('10:00'),
        null,
      ];
      await wh.insertRows(
        `${SCHEMA}.task_log`,
        [
          'sync',
          'entity_key',
          'tier',
          'previous_tier',
          'task_key',
          'status',
          'rule',
          'owner_id',
          'due_at',
          'task_json',
          'task_id',
          'reason',
          'run_id',
          'logged_at',
          'updated_at',
          'record_key',
        ],
        [
          log('k1', 'hot', '11:00', 'U1'),
          log('k2', 'hot', '11:00', 'U1'),
          log('k3', 'pql', '14:00', 'U2'),
          log('k4', 'pql', '14:00', 'U2'),
        ],
      );
      const mark = (object: string) => ({ object, value: at('20:00'), records: 1, at: at('21:00') });
      const key = (k: string, tier: string) => `pqlsync:Lead:${k}:${tier}:2026-03-02`;
      await upsertReadback(
        state,
        'crm_tasks',
        'crm',
        [
          task('T-k1', key('k1', 'hot'), '10:30', 'U1'),
          task('T-k2', key('k2', 'hot'), '12:00', 'U1'),
          task('T-k3', key('k3', 'pql'), '13:00', 'U2'),
          task('T-k4', key('k4', 'pql'), null, 'U2'),
        ],
        mark('Task'),
      );
      // A later pull: T-k4 was completed; its row is replaced, not added.
      await upsertReadback(
        state,
        'crm_tasks',
        'crm',
        [task('T-k4', key('k4', 'pql'), '20:00', 'U2')],
        mark('Task'),
      );
      await upsertReadback(
        state,
        'crm_people',
        'crm',
        [
          person('L1', 'O1'),
          person('L2', null),
          person('L3', 'O2'),
          person('L4', null),
          person('L5', 'O3'),
          person('L6', null),
          person('L7', null),
          person('L8', null),
        ],
        mark('Lead'),
      );
      await upsertReadback(
        state,
        'crm_opportunities',
        'crm',
        [
          opportunity('O1', 1000, '12:00', 'Closed Won'),
          opportunity('O2', 500, '14:00', 'Qualification'),
          opportunity('O3', 200, '10:00', 'Closed Lost'),
        ],
        mark('Opportunity'),
      );
    });

    afterAll(async () => {
      await wh?.close();
      await w.stop();
    });

    it('adds the columns a read-back table of an earlier layout lacks', async () => {
      const state = new StateStore(wh, 'pqlsync_old');
      await wh.ensureSchema('pqlsync_old');
      await wh.query(
        `create table ${state.table('crm_tasks')} (destination ${state.d.types.text}, task_id ${state.d.types.text})`,
      );
      await ensureReadbackTables(state);
      const { columns } = await wh.query(`select * from ${state.table('crm_tasks')} where 1 = 0`);
      expect(columns).toContain('person_id');
      expect(columns).toContain('completed_at');
    });

    it('replaces rows by id and keeps one watermark per object', async () => {
      const state = new StateStore(wh, SCHEMA);
      const { rows } = await wh.query(
        `select task_id, is_closed from ${state.table('crm_tasks')} order by task_id`,
      );
      expect(rows.map((r) => [r.task_id, r.is_closed])).toEqual([
        ['T-k1', true],
        ['T-k2', true],
        ['T-k3', true],
        ['T-k4', true],
      ]);
      const marks = await readWatermarks(state, 'crm');
      expect([...marks.entries()].map(([o, d]) => [o, d?.toISOString()]).sort()).toEqual([
        ['Lead', '2026-03-02T20:00:00.000Z'],
        ['Opportunity', '2026-03-02T20:00:00.000Z'],
        ['Task', '2026-03-02T20:00:00.000Z'],
      ]);
    });

    it('reports the hand-worked SLA, completion times and conversion by tier, route and owner', async () => {
      const report = await buildLoopReport({
        loaded,
        warehouse: wh,
        sync: 'users',
        since: new Date('2026-03-01T00:00:00Z'),
        until: new Date('2026-03-31T00:00:00Z'),
      });
      const pick = (m: (typeof report.byTier)[number]) => [
        m.group,
        m.entities,
        m.tasksCreated,
        m.tasksDone,
        m.medianHoursToDone,
        m.p90HoursToDone,
        m.slaMetPct,
        m.opportunities,
        m.pqlToOppPct,
        m.won,
        m.oppToWonPct,
        m.pipelineAmount,
        m.wonAmount,
        m.oppLiftVsBase,
      ];
      // hot: done after 0.5 h (on time) and 2 h (late); pql: 3 h (on time) and 10 h (late).
      expect(report.byTier.map(pick)).toEqual([
        ['hot', 2, 2, 2, 1.3, 1.9, 50, 1, 50, 1, 100, 1000, 1000, 2],
        ['pql', 2, 2, 2, 6.5, 9.3, 50, 1, 50, 0, 0, 500, 0, 2],
      ]);
      expect(report.byRoute.map((m) => m.group)).toEqual(['fast', 'slow']);
      expect(report.byOwner.map((m) => [m.group, m.tasksDone])).toEqual([
        ['U1', 2],
        ['U2', 2],
      ]);
      // The base: k5..k8, one of which (L5) opened O3 in the period.
      expect(pick(report.base)).toEqual([
        'not flagged',
        4,
        0,
        0,
        null,
        null,
        null,
        1,
        25,
        0,
        0,
        200,
        0,
        null,
      ]);
      expect(report.population).toBe(8);
      expect(report.weekly).toEqual([
        { week: '2026-03-02', flagged: 4, population: 8, flagRatePct: 50, opportunities: 2, pqlToOppPct: 50 },
      ]);
      expect(report.pulledAt).toBe('2026-03-02T21:00:00.000Z');
    });

    /**
     * The account rule: an account task (account-aware routing: its entity is an account key, not in the user
     * sync's snapshot) about Leads carries the Account in WhatId and no WhoId, so its conversion is an opportunity
     * on the task's account (crm_tasks.account_id: Task.AccountId, HubSpot's company) created after the task and
     * before the period's end, even when the Account itself was never read back.
     */
    describe('account tasks', () => {
      const schema = 'pqlsync_accounts';
      const accountKey = (a: string) => `pqlsync:Account:${a}:hot:2026-03-02`;

      beforeAll(async () => {
        const state = await seedState(wh, schema, [['u1', 'L1']]);
        // acme gets an opportunity on its account after its task, beta one before it, gamma one after the period.
        const logged = ['acme', 'beta', 'gamma'].map((a) => ({
          sync: 'users',
          entity_key: a,
          tier: 'hot',
          task_key: accountKey(a),
          status: 'created',
          owner_id: 'U1',
          due_at: at('11:00'),
          task_json: '{}',
          run_id: 'r',
          logged_at: at('10:00'),
          updated_at: at('10:00'),
        }));
        const columns = Object.keys(logged[0]!);
        await wh.insertRows(
          `${schema}.task_log`,
          columns,
          logged.map((l) => Object.values(l)),
        );
        const mark = (object: string) => ({ object, value: at('20:00'), records: 1, at: at('21:00') });
        await upsertReadback(
          state,
          'crm_tasks',
          'crm',
          [
            ['acme', 'A1'],
            ['beta', 'A2'],
            ['gamma', 'A3'],
          ].map(([a, account]) => ({
            ...task(`T-${a}`, accountKey(a!), '10:30', 'U1'),
            // WhatId, and no WhoId beside it (a Lead's).
            person_id: account!,
            account_id: account!,
          })),
          mark('Task'),
        );
        // Only the user's Lead was read back: the Accounts are not in crm_people.
        await upsertReadback(state, 'crm_people', 'crm', [person('L1', null)], mark('Lead'));
        await upsertReadback(
          state,
          'crm_opportunities',
          'crm',
          [
            { ...opportunity('O1', 1000, '12:00', 'Qualification'), account_id: 'A1' },
            { ...opportunity('O2', 500, '09:30', 'Qualification'), account_id: 'A2' },
            { ...opportunity('O3', 200, '19:00', 'Qualification'), account_id: 'A3' },
          ],
          mark('Opportunity'),
        );
      });

      it('count an opportunity on the task account created after the task, within the period', async () => {
        const report = await buildLoopReport({
          loaded: { ...loaded, config: { ...loaded.config, state: { schema } } } as LoadedConfig,
          warehouse: wh,
          sync: 'users',
          since: new Date('2026-03-01T00:00:00Z'),
          until: at('18:00'),
        });
        expect(
          report.byTier.map((m) => [m.group, m.entities, m.opportunities, m.pqlToOppPct, m.pipelineAmount]),
        ).toEqual([['hot', 3, 1, 33.3, 1000]]);
        // The base is the snapshot's users without a task: u1, who reached no opportunity.
        expect([report.base.entities, report.base.opportunities]).toEqual([1, 0]);
        expect(report.weekly).toEqual([
          {
            week: '2026-03-02',
            flagged: 3,
            population: 1,
            flagRatePct: 300,
            opportunities: 1,
            pqlToOppPct: 33.3,
          },
        ]);
      });
    });

    /**
     * Times to completion in the routing calendar's working hours (New York, 09:00-17:00, across the 2026-03-08
     * daylight-saving change), and the weekly flag rate over each week's population (runs.tier_shares) while the
     * population doubles.
     */
    describe('business hours and weekly populations', () => {
      const schema = 'pqlsync_hours';
      const calendar = calendarSchema.parse({ time_zone: 'America/New_York' });
      const withCalendar = (cal: typeof calendar | undefined) =>
        ({
          ...loaded,
          config: {
            ...loaded.config,
            state: { schema },
            syncs: { users: { destination: 'crm', routing: cal ? { calendar: cal } : undefined } },
          },
        }) as unknown as LoadedConfig;
      const report = (cal: typeof calendar | undefined) =>
        buildLoopReport({
          loaded: withCalendar(cal),
          warehouse: wh,
          sync: 'users',
          since: new Date('2026-03-01T00:00:00Z'),
          until: new Date('2026-03-31T00:00:00Z'),
        });

      beforeAll(async () => {
        // Today's snapshot: 40 keys; the model scored 20 rows in the week of 2 March and 40 in the next.
        const state = await seedState(
          wh,
          schema,
          Array.from({ length: 40 }, (_, i): [string, string] => [`k${i + 1}`, `L${i + 1}`]),
        );
        await wh.insertRows(
          `${schema}.runs`,
          ['run_id', 'sync', 'status', 'started_at', 'tier_shares'],
          [
            ['r1', 'users', 'success', new Date('2026-03-02T08:00:00Z'), '{"hot":2,"pql":3,"nurture":15}'],
            ['r2', 'users', 'success', new Date('2026-03-09T08:00:00Z'), '{"hot":4,"pql":6,"nurture":30}'],
            ['r3', 'users', 'failed', new Date('2026-03-09T09:00:00Z'), null],
          ],
        );
        // [key, logged, completed]: Friday 16:00 EST → Monday 10:00 EDT is 2 working hours (65 clock hours);
        // Tuesday 09:00 → 13:00 EDT 4; Tuesday 16:00 → Wednesday 09:30 EDT 1.5 (17.5 clock hours).
        const tasks: Array<[string, string, string]> = [
          ['k1', '2026-03-06T21:00:00Z', '2026-03-09T14:00:00Z'],
          ['k2', '2026-03-06T21:00:00Z', '2026-03-09T14:00:00Z'],
          ['k3', '2026-03-10T13:00:00Z', '2026-03-10T17:00:00Z'],
          ['k4', '2026-03-10T20:00:00Z', '2026-03-11T13:30:00Z'],
        ];
        const taskKey = (k: string) => `pqlsync:Lead:${k}:hot:2026-03`;
        const logged = tasks.map(([k, loggedAt]) => ({
          sync: 'users',
          entity_key: k,
          tier: 'hot',
          task_key: taskKey(k),
          status: 'created',
          owner_id: 'U1',
          due_at: new Date('2026-03-20T00:00:00Z'),
          task_json: '{}',
          run_id: 'r',
          logged_at: new Date(loggedAt),
          updated_at: new Date(loggedAt),
        }));
        await wh.insertRows(
          `${schema}.task_log`,
          Object.keys(logged[0]!),
          logged.map((l) => Object.values(l)),
        );
        await upsertReadback(
          state,
          'crm_tasks',
          'crm',
          tasks.map(([k, , done]) => ({
            ...task(`T-${k}`, taskKey(k), null, 'U1'),
            is_closed: true,
            completed_at: new Date(done),
          })),
          { object: 'Task', value: at('20:00'), records: 4, at: at('21:00') },
        );
      });

      it('counts the time to completion in working hours of the calendar, in clock hours without one', async () => {
        const business = await report(calendar);
        expect(business.hours).toBe('business');
        // [1.5, 2, 2, 4]: median 2, p90 2 + 0.7 * (4 - 2)
        expect(
          business.byTier.map((m) => [m.group, m.tasksDone, m.medianHoursToDone, m.p90HoursToDone]),
        ).toEqual([['hot', 4, 2, 3.4]]);
        const clock = await report(undefined);
        expect(clock.hours).toBe('clock');
        // [4, 17.5, 65, 65]
        expect(clock.byTier.map((m) => [m.medianHoursToDone, m.p90HoursToDone])).toEqual([[41.3, 65]]);
      });

      it("divides each week's flagged keys by that week's population", async () => {
        expect(
          (await report(undefined)).weekly.map((w) => [w.week, w.flagged, w.population, w.flagRatePct]),
        ).toEqual([
          ['2026-03-02', 2, 20, 10],
          ['2026-03-09', 2, 40, 5],
        ]);
      });
    });
  },
);
