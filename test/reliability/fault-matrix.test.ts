/**
 * The fault matrix: for each CRM and each fault, a first clean sync (run once per CRM and copied into each case:
 * the warehouse file and the sandbox's state), then a run that changes every row and adds 50 under the fault, then a
 * clean rerun. After every run no record is duplicated, every snapshot row is what the
 * CRM holds, and the runs row, snapshot and failures agree with the run's counts; after the clean rerun the CRM
 * equals the model output on every mapped field of every valid row and failures hold exactly the invalid rows.
 */
import { copyFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor, type RunSummary } from '../../src/runner/run-sync.js';
import type { FaultSpec } from '../../src/sandbox/sandbox-types.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import {
  admin,
  checkConverged,
  checkInvariants,
  CRMS,
  invalidRows,
  PROFILES,
  reliabilityProject,
  runInProcess,
  vendorRequests,
  withWarehouse,
  type Crm,
  type ReliabilityProject,
} from './crm-harness.js';

setLogger(createLogger({ level: 'silent' }));

const FIRST_ROWS = 200;
const ROWS = 250;

interface FaultCase {
  name: string;
  crm: Crm;
  /** Faults for `POST /_sandbox/faults`, and any other setup, before the faulted run. */
  arm(p: ReliabilityProject): Promise<void>;
  /** Undoes what the fault left behind (limits), before the clean rerun. (Default: remove the faults) */
  disarm?(p: ReliabilityProject): Promise<void>;
  /** The faulted run's status (the invalid rows alone make a run `partial`). */
  status: RunSummary['status'] | 'success-or-partial';
  /** The faulted run's full error message, for the faults that stop a run. */
  error?: string;
  /** More checks on the faulted run: its requests, its failures. */
  check?(p: ReliabilityProject, wh: DuckdbAdapter, run: RunSummary, since: number): Promise<void>;
}

const faults =
  (...specs: FaultSpec[]) =>
  async (p: ReliabilityProject) => {
    await admin(p.sandbox, 'POST', '/_sandbox/faults', specs);
  };

/** Failures the faulted run wrote for valid rows (the fault's victims), with their reasons. */
async function victims(p: ReliabilityProject, wh: DuckdbAdapter, run: RunSummary): Promise<string[]> {
  const invalid = new Set(invalidRows(p.profile, ROWS).map((i) => `u${i}`));
  const { rows } = await wh.query(
    `select key, reason from pqlsync_state.users__failures where run_id = '${run.runId}' order by key`,
  );
  return rows.filter((r) => !invalid.has(String(r.key))).map((r) => String(r.reason));
}

const SF_WRITE = PROFILES.salesforce.writeRoute;
const HS_WRITE = PROFILES.hubspot.writeRoute;

const CASES: FaultCase[] = [
  // ---- Salesforce ------------------------------------------------------------------------------------
  {
    name: '429 storm',
    crm: 'salesforce',
    arm: faults({
      route: SF_WRITE,
      status: 429,
      body: [{ errorCode: 'ERROR_HTTP_429', message: 'slow down' }],
      times: 4,
    }),
    status: 'partial',
  },
  {
    name: '5xx',
    crm: 'salesforce',
    arm: faults(
      {
        route: SF_WRITE,
        status: 503,
        body: [{ errorCode: 'SERVER_UNAVAILABLE', message: 'try later' }],
        times: 2,
      },
      { route: SF_WRITE, status: 500, body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'oops' }], times: 1 },
    ),
    status: 'partial',
  },
  {
    name: 'connection resets',
    crm: 'salesforce',
    arm: faults({ route: SF_WRITE, resetConnection: true, times: 3 }),
    status: 'partial',
  },
  {
    name: 'latency spikes',
    crm: 'salesforce',
    arm: faults(
      { route: SF_WRITE, latencyMs: 300, times: 2 },
      { route: 'describe', latencyMs: 300, times: 1 },
    ),
    status: 'partial',
  },
  {
    name: '401 expiry and refresh',
    crm: 'salesforce',
    async arm(p) {
      // Every session expires (the first call gets 401 and a refresh), and a write gets a 401 mid-run.
      await admin(p.sandbox, 'POST', '/_sandbox/salesforce/oauth/expire', {});
      await faults({
        route: SF_WRITE,
        status: 401,
        body: [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }],
        times: 1,
      })(p);
    },
    status: 'partial',
    async check(p, _wh, _run, since) {
      const log = await vendorRequests(p.sandbox, since);
      expect(
        log.filter((r) => r.path === '/services/oauth2/token' && r.status === 200).length,
      ).toBeGreaterThanOrEqual(2);
      expect(log.filter((r) => r.status === 401).length).toBe(2);
    },
  },
  {
    name: 'per-record rejects',
    crm: 'salesforce',
    arm: faults({
      route: SF_WRITE,
      rejectRecord: { nth: 5, code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Score needs review' },
      times: 2,
    }),
    status: 'partial',
    async check(p, wh, run) {
      expect(await victims(p, wh, run)).toEqual([
        'FIELD_CUSTOM_VALIDATION_EXCEPTION: Score needs review',
        'FIELD_CUSTOM_VALIDATION_EXCEPTION: Score needs review',
      ]);
    },
  },
  {
    name: 'UNABLE_TO_LOCK_ROW (passing)',
    crm: 'salesforce',
    arm: faults({ route: SF_WRITE, rejectRecord: { nth: 3, code: 'UNABLE_TO_LOCK_ROW' }, times: 2 }),
    status: 'partial',
    async check(p, wh, run) {
      expect(await victims(p, wh, run)).toEqual([]);
    },
  },
  {
    name: 'UNABLE_TO_LOCK_ROW (stays locked)',
    crm: 'salesforce',
    arm: faults({
      route: SF_WRITE,
      rejectRecord: {
        nth: 1,
        code: 'UNABLE_TO_LOCK_ROW',
        message: 'unable to obtain exclusive access to this record',
      },
    }),
    status: 'partial',
    async check(p, wh, run) {
      const got = await victims(p, wh, run);
      expect(got.length).toBeGreaterThan(0);
      expect(new Set(got)).toEqual(
        new Set(['UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record']),
      );
    },
  },
  {
    name: 'whole-batch 400',
    crm: 'salesforce',
    arm: faults({
      route: SF_WRITE,
      status: 400,
      body: [{ errorCode: 'JSON_PARSER_ERROR', message: 'Unexpected character' }],
      times: 1,
    }),
    status: 'partial',
    async check(p, wh, run) {
      expect(await victims(p, wh, run)).toEqual([]);
    },
  },
  {
    name: 'daily limit stop',
    crm: 'salesforce',
    arm: async (p) => {
      await admin(p.sandbox, 'POST', '/_sandbox/salesforce/limits', { dailyApiLimit: 15000, used: 14998 });
    },
    disarm: async (p) => {
      await admin(p.sandbox, 'POST', '/_sandbox/salesforce/limits', { dailyApiLimit: 15000, used: 0 });
    },
    status: 'failed',
    error:
      "sync users: Salesforce's API request limit for the last 24 hours is used up (api-usage 15000/15000): REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.\n" +
      '  hint: records applied before the limit are committed; the next run sends the rest once the rolling 24-hour allocation recovers (Setup > System Overview shows API usage)',
  },
  // ---- HubSpot ---------------------------------------------------------------------------------------
  {
    name: '429 storm',
    crm: 'hubspot',
    arm: faults({
      route: HS_WRITE,
      status: 429,
      body: {
        status: 'error',
        message: 'You have reached your ten_secondly_rolling limit.',
        errorType: 'RATE_LIMIT',
        category: 'RATE_LIMITS',
        policyName: 'TEN_SECONDLY_ROLLING',
      },
      times: 4,
    }),
    status: 'partial',
  },
  {
    name: '5xx',
    crm: 'hubspot',
    arm: faults(
      {
        route: HS_WRITE,
        status: 502,
        body: { status: 'error', message: 'Bad Gateway', category: 'BAD_GATEWAY' },
        times: 2,
      },
      {
        route: HS_WRITE,
        status: 500,
        body: { status: 'error', message: 'internal', category: 'INTERNAL_ERROR' },
        times: 1,
      },
    ),
    status: 'partial',
  },
  {
    name: 'connection resets',
    crm: 'hubspot',
    arm: faults({ route: HS_WRITE, resetConnection: true, times: 3 }),
    status: 'partial',
  },
  {
    name: 'latency spikes',
    crm: 'hubspot',
    arm: faults(
      { route: HS_WRITE, latencyMs: 300, times: 2 },
      { route: 'GET /crm/v3/properties', latencyMs: 300, times: 1 },
    ),
    status: 'partial',
  },
  {
    name: '401 mid-run (private app tokens are not refreshed: the run stops)',
    crm: 'hubspot',
    arm: faults({
      route: HS_WRITE,
      status: 401,
      body: {
        status: 'error',
        message: 'The OAuth token used to make this call expired 2 minute(s) ago.',
        category: 'EXPIRED_AUTHENTICATION',
      },
      times: 1,
    }),
    status: 'failed',
    error:
      "sync users, destinations.crm.access_token: HubSpot refused the access token of destination 'crm' (POST /crm/v3/objects/contacts/batch/upsert answered 401 EXPIRED_AUTHENTICATION: The OAuth token used to make this call expired 2 minute(s) ago.)\n" +
      '  hint: set access_token to a private app token (pat-...) from HubSpot Settings > Integrations > Private Apps; a 401 is not retried',
  },
  {
    name: 'per-record rejects',
    crm: 'hubspot',
    arm: faults({
      route: HS_WRITE,
      rejectRecord: { nth: 5, code: 'CONTACT_EXISTS', message: 'Contact already exists' },
      times: 2,
    }),
    status: 'partial',
    async check(p, wh, run) {
      expect(await victims(p, wh, run)).toEqual([
        'CONTACT_EXISTS: Contact already exists',
        'CONTACT_EXISTS: Contact already exists',
      ]);
    },
  },
  {
    name: 'whole-batch 400',
    crm: 'hubspot',
    arm: faults({
      route: HS_WRITE,
      status: 400,
      body: { status: 'error', message: 'Invalid input JSON on line 1', category: 'VALIDATION_ERROR' },
      times: 1,
    }),
    status: 'partial',
    async check(p, wh, run) {
      expect(await victims(p, wh, run)).toEqual([]);
    },
  },
  {
    name: 'daily limit stop',
    crm: 'hubspot',
    arm: async (p) => {
      await admin(p.sandbox, 'POST', '/_sandbox/hubspot/limits', { daily: 1000, dailyUsed: 998 });
    },
    disarm: async (p) => {
      await admin(p.sandbox, 'POST', '/_sandbox/hubspot/limits', { daily: 250000, dailyUsed: 0 });
    },
    status: 'failed',
    error:
      "sync users: HubSpot's daily API limit is used up (1000 of 1000 requests used today); the run stopped after committing what was applied\n" +
      "  hint: the limit resets at midnight in the HubSpot account's time zone; the next run sends the rest",
  },
  // ---- both: a seeded storm of everything at once ------------------------------------------------------
  ...CRMS.map((crm): FaultCase => ({
    name: 'mixed storm (a 503, then seeded resets at 0.35 and record faults at 0.3 per request)',
    crm,
    // The sandbox rolls the probability of the first matching route fault only, so the 503 comes first, once.
    arm: faults(
      {
        route: PROFILES[crm].writeRoute,
        status: 503,
        body:
          crm === 'salesforce'
            ? [{ errorCode: 'SERVER_UNAVAILABLE', message: 'x' }]
            : { status: 'error', message: 'x', category: 'UNAVAILABLE' },
        times: 1,
      },
      { route: PROFILES[crm].writeRoute, resetConnection: true, probability: 0.35 },
      {
        route: PROFILES[crm].writeRoute,
        rejectRecord: { nth: 2, code: crm === 'salesforce' ? 'UNABLE_TO_LOCK_ROW' : 'CONTACT_EXISTS' },
        probability: 0.3,
      },
    ),
    status: 'success-or-partial',
    async check(p, _wh, _run, since) {
      const statuses = (await vendorRequests(p.sandbox, since)).map((r) => r.status);
      expect(statuses.filter((s) => s === 0 || s === 503).length).toBeGreaterThan(0);
    },
  })),
];

describe.each(CRMS)('fault matrix: %s', (crm) => {
  /**
   * The first clean sync, once per CRM (it is the same in every case: no fault is armed yet): its warehouse file
   * and the CRM's state after it (the sandbox's own export, as its `--state` file holds it) are copied into each
   * case's fresh project and sandbox.
   */
  let base: ReliabilityProject | undefined;
  let baseState = '';
  beforeAll(async () => {
    base = await reliabilityProject(crm, { rows: ROWS });
    const first = await withWarehouse(base, async (wh) => {
      const run = await runInProcess(base!, wh, { bump: 0, rows: FIRST_ROWS });
      await checkInvariants(base!, wh, run);
      await checkConverged(base!, wh, FIRST_ROWS, 0);
      return run;
    });
    expect(first.status).toBe('partial');
    baseState = JSON.stringify(base.sandbox.apis[crm].exportState());
  });
  afterAll(async () => {
    await base?.close();
  });

  let p: ReliabilityProject | undefined;
  let wh: DuckdbAdapter | undefined;
  afterEach(async () => {
    await wh?.close();
    await p?.close();
    wh = undefined;
    p = undefined;
  });

  it.each(CASES.filter((c) => c.crm === crm).map((c) => [c.name, c] as const))('%s', async (_name, fault) => {
    p = await reliabilityProject(crm, { rows: ROWS });
    copyFileSync(base!.dbPath, p.dbPath);
    p.sandbox.apis[crm].importState(JSON.parse(baseState));
    // The Salesforce sessions are the ones the first sync's sandbox issued (in the imported state).
    for (const name of ['SF_ACCESS_TOKEN', 'SF_REFRESH_TOKEN'])
      if (base!.env[name] !== undefined) p.env[name] = base!.env[name];
    wh = new DuckdbAdapter({ path: p.dbPath });
    await wh.connect();
    // The copies hold what the first sync left: the checks it passed hold here too.
    await checkConverged(p, wh, FIRST_ROWS, 0);

    const since = (await admin(p.sandbox, 'GET', '/_sandbox/requests')) as Array<{ seq: number }>;
    const mark = since.at(-1)?.seq ?? 0;
    await fault.arm(p);
    const faulted = await runInProcess(p, wh, { bump: 1, rows: ROWS });
    if (fault.status === 'success-or-partial') expect(['success', 'partial']).toContain(faulted.status);
    else expect(faulted.status, JSON.stringify(faulted.error)).toBe(fault.status);
    if (fault.error) expect(faulted.error?.message).toBe(fault.error);
    if (faulted.status === 'failed') expect(exitCodeFor([faulted])).toBe(1);
    await checkInvariants(p, wh, faulted);
    await fault.check?.(p, wh, faulted, mark);
    // Every counted fault fired (a fault that never matched would make this case prove nothing).
    const { faults: left } = (await admin(p.sandbox, 'GET', '/_sandbox/faults')) as {
      faults: Array<{ route: string; remaining: number | null }>;
    };
    expect(left.filter((f) => f.remaining !== null)).toEqual([]);

    if (fault.disarm) await fault.disarm(p);
    await admin(p.sandbox, 'DELETE', '/_sandbox/faults');
    const clean = await runInProcess(p, wh, { bump: 1, rows: ROWS });
    expect(clean.status).toBe('partial');
    expect(clean.counts.rejected).toBe(invalidRows(p.profile, ROWS).length);
    await checkInvariants(p, wh, clean);
    await checkConverged(p, wh, ROWS, 1);
  });
});

describe('the matrix checks can fail', () => {
  it('catch a record marked synced that the CRM does not hold, a duplicate, and counts that lie', async () => {
    const p = await reliabilityProject('salesforce', { rows: 20 });
    const wh = new DuckdbAdapter({ path: p.dbPath });
    await wh.connect();
    try {
      const run = await runInProcess(p, wh, { bump: 0, rows: 20 });
      await checkInvariants(p, wh, run);
      // A snapshot row for a record that was never sent.
      await wh.query(
        `insert into pqlsync_state.users__snapshot select 'u999', row_hash, replace(values_json, 'u1"', 'u999"'), tier, null, synced_at, run_id from pqlsync_state.users__snapshot where key = 'u1'`,
      );
      await expect(checkInvariants(p, wh)).rejects.toThrow(
        'snapshot key u999 has no CRM record (marked synced, never sent)',
      );
      await wh.query(`delete from pqlsync_state.users__snapshot where key = 'u999'`);
      // The runs row claims one more applied record than the snapshot holds.
      await wh.query(`update pqlsync_state.runs set applied = applied + 1 where run_id = '${run.runId}'`);
      await expect(checkInvariants(p, wh, run)).rejects.toThrow();
      await wh.query(`update pqlsync_state.runs set applied = applied - 1 where run_id = '${run.runId}'`);
      await checkInvariants(p, wh, run);
      // A second Lead with the same external id.
      await admin(p.sandbox, 'POST', '/_sandbox/salesforce/Lead', {
        records: [{ LastName: 'Dup', Company: 'Dup', Product_User_Id__c: 'u2' }],
      });
      await expect(checkInvariants(p, wh)).rejects.toThrow('duplicate CRM records by match value');
    } finally {
      await wh.close();
      await p.close();
    }
  });
});
