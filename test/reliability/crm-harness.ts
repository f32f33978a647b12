/**
 * Shared setup for the reliability tests (fault matrix, crash trials, secrets): one model over a seeded
 * `src.users` table, synced to Salesforce Leads or HubSpot contacts in the in-process sandbox (real HTTP, the
 * real jsforce / @hubspot/api-client inside pqlsync's destinations), and the checks every run must pass:
 *
 * - no duplicates: one CRM record per match value;
 * - no silent loss: every snapshot row's values are what the CRM holds for that record;
 * - truthful state: the runs row equals the summary, the snapshot rows and failures a run wrote number exactly
 *   its `applied` and `rejected` counts, and no run is left `running`;
 * - convergence (after a clean run): the CRM equals the model output on every mapped field of every valid row,
 *   and failures hold exactly the invalid rows with their CRM's reasons.
 *
 * Invalid rows (the same in every run): invalid emails and a tier outside the picklist for both CRMs; a last
 * name longer than Salesforce's 80 characters (HubSpot takes it).
 */
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { Destination } from '../../src/destination/destination.js';
import {
  HubspotDestination,
  type HubspotDestinationConfig,
} from '../../src/destination/hubspot/hubspot-destination.js';
import type { RunSummary } from '../../src/runner/run-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { startSandbox, type RunningSandbox, type SandboxOptions } from '../../src/sandbox/sandbox-server.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

// jsforce reads the proxy variables when it loads and ignores NO_PROXY.
for (const name of ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY']) delete process.env[name];

export const CRMS = ['salesforce', 'hubspot'] as const;
export type Crm = (typeof CRMS)[number];

export const SYNC = 'users';
export const STATE = 'pqlsync_state';

/** Rows whose email no CRM accepts. */
export const BAD_EMAIL_ROWS = [7, 57, 107, 157, 207];
/** Rows whose tier is not an option of the tier picklist / enumeration. */
export const BAD_TIER_ROWS = [13, 113];
/** Rows whose last name (90 characters) is longer than Salesforce's LastName (80). */
export const LONG_NAME_ROWS = [21];
const LONG_NAME = (i: number): string => `Long${i}-${'x'.repeat(90)}`.slice(0, 90);

export const MODEL = `/*---
name: pql_users
description: reliability test scores
key: user_id
params:
  bump: { type: integer, default: 0 }
  rows: { type: integer, default: 1000000 }
---*/
select user_id, email, last_name, company,
  (score + :bump) % 100 as score,
  coalesce(tier_override, case when (score + :bump) % 100 >= 70 then 'hot'
    when (score + :bump) % 100 >= 40 then 'pql' else 'nurture' end) as tier,
  (score + :bump) % 100 >= 40 as is_pql,
  'score ' || ((score + :bump) % 100) || '; ' || (n % 3) || ' invites' as reasons
from src.users
where n <= :rows
`;

/** The seeded table the model reads: rows 1..n. */
export function seedSql(n: number): string[] {
  return [
    'create schema if not exists src',
    'drop table if exists src.users',
    `create table src.users as
      select i as n, 'u' || i as user_id,
        case when i in (${BAD_EMAIL_ROWS.join(', ')}) then 'not-an-email-' || i else 'user' || i || '@example.com' end as email,
        case when i in (${LONG_NAME_ROWS.join(', ')}) then ${sqlString(LONG_NAME(LONG_NAME_ROWS[0] ?? 0))} else 'Last' || i end as last_name,
        'Company ' || (i % 40) as company,
        cast((i * 7) % 100 as integer) as score,
        case when i in (${BAD_TIER_ROWS.join(', ')}) then 'lukewarm' end as tier_override
      from range(1, ${n + 1}) t(i)`,
  ];
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The model's output for row i, in model terms. */
export function modelRow(
  i: number,
  bump: number,
): {
  email: string;
  lastName: string;
  company: string;
  score: number;
  tier: string;
  isPql: boolean;
  reasons: string;
} {
  const score = (((i * 7) % 100) + bump) % 100;
  return {
    email: BAD_EMAIL_ROWS.includes(i) ? `not-an-email-${i}` : `user${i}@example.com`,
    lastName: LONG_NAME_ROWS.includes(i) ? LONG_NAME(i) : `Last${i}`,
    company: `Company ${i % 40}`,
    score,
    tier: BAD_TIER_ROWS.includes(i) ? 'lukewarm' : score >= 70 ? 'hot' : score >= 40 ? 'pql' : 'nurture',
    isPql: score >= 40,
    reasons: `score ${score}; ${i % 3} invites`,
  };
}

/** What one CRM calls things, how it stores values, and why it refuses the invalid rows. */
export interface CrmProfile {
  crm: Crm;
  /** The destination block (YAML, under `destinations:`), with secrets as `${VAR}`. */
  destinationYaml: string;
  object: string;
  matchField: string;
  fieldsYaml: string;
  /** The record as the sandbox's admin route shows it, for valid row i. */
  expected(i: number, bump: number): Record<string, unknown>;
  /** The failure reason and code for invalid row i; undefined when this CRM accepts the row. */
  rejection(i: number): { reason: string; code: string } | undefined;
  /** The path of the batch write route, for faults. */
  writeRoute: string;
  /** Reads every synced record from the sandbox: match value → mapped fields (and all match values seen). */
  records(
    sandbox: RunningSandbox,
  ): Promise<{ byMatch: Map<string, Record<string, unknown>>; matchValues: string[] }>;
}

const RETRY_YAML = '    retry: { max_attempts: 6, initial_delay_ms: 1, max_delay_ms: 4 }';

export const SALESFORCE: CrmProfile = {
  crm: 'salesforce',
  destinationYaml: `  crm:
    type: salesforce
    instance_url: '\${SF_URL}'
    auth:
      type: refresh_token
      client_id: pqlsync-reliability
      client_secret: '\${SF_CLIENT_SECRET}'
      refresh_token: '\${SF_REFRESH_TOKEN}'
      access_token: '\${SF_ACCESS_TOKEN}'
      login_url: '\${SF_URL}'
${RETRY_YAML}`,
  object: 'Lead',
  matchField: 'Product_User_Id__c',
  fieldsYaml: `      Email: email
      LastName: last_name
      Company: company
      PQL_Score__c: score
      PQL_Tier__c: tier
      Is_PQL__c: is_pql
      PQL_Reasons__c: reasons`,
  expected(i, bump) {
    const r = modelRow(i, bump);
    return {
      Product_User_Id__c: `u${i}`,
      Email: r.email,
      LastName: r.lastName,
      Company: r.company,
      PQL_Score__c: r.score,
      PQL_Tier__c: r.tier,
      Is_PQL__c: r.isPql,
      PQL_Reasons__c: r.reasons,
    };
  },
  // Refused before sending, from the describe (a field-level reason, no API call).
  rejection(i) {
    if (BAD_EMAIL_ROWS.includes(i))
      return { reason: `Email: "not-an-email-${i}" is not a valid email address`, code: 'INVALID_VALUE' };
    if (BAD_TIER_ROWS.includes(i))
      return {
        reason:
          'PQL_Tier__c: "lukewarm" is not a value of the restricted picklist (values: hot, pql, nurture)',
        code: 'INVALID_VALUE',
      };
    if (LONG_NAME_ROWS.includes(i))
      return {
        reason: `LastName: ${LONG_NAME(i).length} characters, more than the 80 a Text(80) field holds`,
        code: 'INVALID_VALUE',
      };
    return undefined;
  },
  writeRoute: 'PATCH /composite/sobjects/Lead',
  async records(sandbox) {
    const body = (await admin(sandbox, 'GET', '/_sandbox/salesforce/Lead')) as {
      records: Array<Record<string, unknown>>;
    };
    const keys = Object.keys(SALESFORCE.expected(1, 0));
    const byMatch = new Map<string, Record<string, unknown>>();
    const matchValues: string[] = [];
    for (const rec of body.records) {
      const match = String(rec.Product_User_Id__c ?? `(no external id: ${String(rec.Id)})`);
      matchValues.push(match);
      byMatch.set(match, Object.fromEntries(keys.map((k) => [k, rec[k] ?? null])));
    }
    return { byMatch, matchValues };
  },
};

export const HUBSPOT: CrmProfile = {
  crm: 'hubspot',
  destinationYaml: `  crm:
    type: hubspot
    access_token: '\${HUBSPOT_TOKEN}'
    base_url: '\${HUBSPOT_URL}'
    create_properties: true
    rate_limit: { requests: 10000, per_ms: 10000 }
${RETRY_YAML}`,
  object: 'contacts',
  matchField: 'product_user_id',
  fieldsYaml: `      email: email
      lastname: last_name
      company: company
      pql_score: score
      pql_tier: tier
      is_pql: is_pql
      pql_reasons: reasons`,
  expected(i, bump) {
    const r = modelRow(i, bump);
    return {
      product_user_id: `u${i}`,
      email: r.email,
      lastname: r.lastName,
      company: r.company,
      pql_score: String(r.score),
      pql_tier: r.tier,
      is_pql: String(r.isPql),
      pql_reasons: r.reasons,
    };
  },
  rejection(i) {
    if (BAD_EMAIL_ROWS.includes(i))
      return {
        reason: `email: "not-an-email-${i}" is not a valid email address (HubSpot refuses it as INVALID_EMAIL)`,
        code: 'INVALID_VALUE',
      };
    if (BAD_TIER_ROWS.includes(i))
      return {
        reason: 'pql_tier: "lukewarm" is not an option of pql_tier (options: hot, pql, nurture)',
        code: 'INVALID_VALUE',
      };
    return undefined;
  },
  writeRoute: 'POST /crm/v3/objects/contacts/batch/upsert',
  async records(sandbox) {
    const body = (await admin(sandbox, 'GET', '/_sandbox/hubspot/contacts')) as {
      results: Array<{ id: string; properties: Record<string, string | null> }>;
    };
    const keys = Object.keys(HUBSPOT.expected(1, 0));
    const byMatch = new Map<string, Record<string, unknown>>();
    const matchValues: string[] = [];
    for (const rec of body.results) {
      const match = rec.properties.product_user_id ?? `(no product_user_id: ${rec.id})`;
      matchValues.push(match);
      byMatch.set(match, Object.fromEntries(keys.map((k) => [k, rec.properties[k] ?? null])));
    }
    return { byMatch, matchValues };
  },
};

export const PROFILES: Record<Crm, CrmProfile> = { salesforce: SALESFORCE, hubspot: HUBSPOT };

/** Calls a sandbox admin route with its token; returns the parsed JSON body (throws on a non-2xx answer). */
export async function admin(
  sandbox: RunningSandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox admin ${method} ${path} answered ${res.status}: ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  status: number;
  records: number;
}

/** The sandbox's request log after `since` (vendor requests only). */
export async function vendorRequests(sandbox: RunningSandbox, since = 0): Promise<LoggedRequest[]> {
  const log = (await admin(sandbox, 'GET', `/_sandbox/requests?since=${since}`)) as LoggedRequest[];
  return log.filter((r) => !r.path.startsWith('/_sandbox'));
}

export function configText(profile: CrmProfile, extraSync = ''): string {
  return `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
${profile.destinationYaml}
syncs:
  ${SYNC}:
    model: pql_users
    destination: crm
    object: ${profile.object}
    match: { field: ${profile.matchField}, column: user_id }
    mode: upsert
    # the harness's scores are spread evenly, so 60% of rows are hot or pql: not what these tests look at
    max_flag_rate: 0.7
    fields:
${profile.fieldsYaml}
${extraSync}`;
}

export interface ReliabilityProject {
  profile: CrmProfile;
  project: TempProject;
  sandbox: RunningSandbox;
  /** Env for the config's `${VAR}`s (and for CLI children). */
  env: NodeJS.ProcessEnv;
  dbPath: string;
  close(): Promise<void>;
}

/** A sandbox, a temp project for one CRM, and `src.users` with `rows` rows in its DuckDB file. */
export async function reliabilityProject(
  crm: Crm,
  options: { rows: number; sandbox?: SandboxOptions; extraSync?: string },
): Promise<ReliabilityProject> {
  const profile = PROFILES[crm];
  const sandbox = await startSandbox({
    seed: 11,
    ...options.sandbox,
    hubspot: { tenSecondlyLimit: 100_000, ...options.sandbox?.hubspot },
  });
  const project = tempProject(`pqlsync-rel-${crm}-`);
  project.writeModel('pql_users', MODEL);
  project.writeConfig(configText(profile, options.extraSync));
  const env: NodeJS.ProcessEnv = { ...process.env, SF_URL: sandbox.url, HUBSPOT_URL: sandbox.url };
  if (crm === 'salesforce') {
    const tokens = (await admin(sandbox, 'POST', '/_sandbox/salesforce/oauth/tokens', {})) as Record<
      string,
      string
    >;
    env.SF_ACCESS_TOKEN = tokens.access_token;
    env.SF_REFRESH_TOKEN = tokens.refresh_token;
    env.SF_CLIENT_SECRET = 'sf-client-secret-d41d8cd98f00b204e980';
  } else {
    env.HUBSPOT_TOKEN = sandbox.token;
  }
  const dbPath = `${project.dir}/wh.duckdb`;
  const wh = new DuckdbAdapter({ path: dbPath });
  await wh.connect();
  for (const sql of seedSql(options.rows)) await wh.query(sql);
  await wh.close();
  return {
    profile,
    project,
    sandbox,
    env,
    dbPath,
    async close() {
      await sandbox.close();
      project.cleanup();
    },
  };
}

/** Opens the project's DuckDB file for `fn` and closes it after (a CLI child cannot open it while it is open). */
export async function withWarehouse<T>(
  p: Pick<ReliabilityProject, 'dbPath'>,
  fn: (wh: DuckdbAdapter) => Promise<T>,
): Promise<T> {
  const wh = new DuckdbAdapter({ path: p.dbPath });
  await wh.connect();
  try {
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/**
 * Runs the sync in process through `runSyncs` with the configured destination. HubSpot's rate-limit pauses are
 * waited out through an injected sleep that returns at once (and is recorded), so a 429 storm costs no time.
 */
export async function runInProcess(
  p: ReliabilityProject,
  wh: WarehouseAdapter,
  vars: Record<string, unknown>,
  pauses: number[] = [],
): Promise<RunSummary> {
  const loaded = loadConfig(p.project.configPath, p.env);
  let made: Destination | undefined;
  const hubspotConfig = loaded.config.destinations.crm;
  const destination =
    p.profile.crm === 'hubspot' && hubspotConfig?.type === 'hubspot'
      ? () => {
          made ??= new HubspotDestination({
            name: 'crm',
            config: hubspotConfig as HubspotDestinationConfig,
            sleep: (ms) => {
              pauses.push(ms);
              return Promise.resolve();
            },
          });
          return Promise.resolve(made);
        }
      : undefined;
  try {
    const [summary] = await runSyncs({
      loaded,
      syncs: [SYNC],
      warehouse: wh,
      vars,
      ...(destination ? { destination } : {}),
    });
    if (!summary) throw new Error('runSyncs returned no summary');
    return summary;
  } finally {
    await made?.close();
  }
}

/** Row numbers 1..rows that this CRM accepts. */
export function validRows(profile: CrmProfile, rows: number): number[] {
  return Array.from({ length: rows }, (_, k) => k + 1).filter((i) => !profile.rejection(i));
}

export function invalidRows(profile: CrmProfile, rows: number): number[] {
  return Array.from({ length: rows }, (_, k) => k + 1).filter((i) => profile.rejection(i) !== undefined);
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup].sort();
}

/**
 * The checks that hold after every run, faulted, killed or clean: no duplicate records, every snapshot row is
 * what the CRM holds, no run left `running`, and (given the run's summary) the runs row, snapshot and failures
 * it wrote agree with its counts. Returns the snapshot keys.
 */
export async function checkInvariants(
  p: ReliabilityProject,
  wh: WarehouseAdapter,
  summary?: RunSummary,
): Promise<{ snapshotKeys: Set<string> }> {
  const { byMatch, matchValues } = await p.profile.records(p.sandbox);
  expect(duplicates(matchValues), 'duplicate CRM records by match value').toEqual([]);
  if (p.profile.crm === 'hubspot') {
    const emails = [...byMatch.values()].map((r) => text(r.email));
    expect(duplicates(emails), 'duplicate HubSpot contacts by email').toEqual([]);
  }

  const snapshot = (await wh.query(`select key, values_json, run_id from ${STATE}.${SYNC}__snapshot`)).rows;
  // What the loop below walks: the run's own rows are in it (so an emptied snapshot cannot pass vacuously).
  if (summary) {
    const wrote = snapshot.filter((r) => r.run_id === summary.runId).length;
    expect(wrote, 'snapshot rows written by the run = its applied count').toBe(summary.counts.applied);
  }
  for (const row of snapshot) {
    const key = String(row.key);
    const synced = JSON.parse(String(row.values_json)) as Record<string, unknown>;
    const record = byMatch.get(key);
    expect(record, `snapshot key ${key} has no CRM record (marked synced, never sent)`).toBeDefined();
    const fromSnapshot: Record<string, string> = {};
    const inCrm: Record<string, string> = {};
    for (const [field, value] of Object.entries(synced)) {
      if (field.startsWith('__')) continue;
      fromSnapshot[field] = text(value);
      inCrm[field] = text(record?.[field]);
    }
    expect(inCrm, `CRM record ${key} differs from its snapshot`).toEqual(fromSnapshot);
  }

  const running = (await wh.query(`select run_id from ${STATE}.runs where status = 'running'`)).rows;
  expect(running, 'runs left running').toEqual([]);

  if (summary) {
    const { rows } = await wh.query(
      `select status, added, changed, removed, invalid, retried, applied, rejected, tasks, api_calls, error
       from ${STATE}.runs where run_id = '${summary.runId}'`,
    );
    expect(rows).toHaveLength(1);
    const c = summary.counts;
    expect(rows[0]).toEqual({
      status: summary.status,
      added: c.added,
      changed: c.changed,
      removed: c.removed,
      invalid: c.invalid,
      retried: c.retried,
      applied: c.applied,
      rejected: c.rejected,
      tasks: c.tasks,
      api_calls: summary.apiCalls,
      error: summary.error?.message ?? null,
    });
    const failed = (
      await wh.query(`select count(*) as n from ${STATE}.${SYNC}__failures where run_id = '${summary.runId}'`)
    ).rows[0]?.n;
    expect(Number(failed), 'failures written by the run = its rejected count').toBe(c.rejected);
  }
  return { snapshotKeys: new Set(snapshot.map((r) => String(r.key))) };
}

/**
 * After a clean run over `rows` rows at `bump`: the CRM holds exactly the valid rows, each equal to the model
 * output on every mapped field; failures hold exactly the invalid rows, with the CRM's reasons.
 */
export async function checkConverged(
  p: ReliabilityProject,
  wh: WarehouseAdapter,
  rows: number,
  bump: number,
): Promise<void> {
  const { byMatch } = await p.profile.records(p.sandbox);
  const valid = validRows(p.profile, rows);
  const want = new Map(valid.map((i) => [`u${i}`, p.profile.expected(i, bump)]));
  expect(want.size).toBeGreaterThan(0);
  expect([...byMatch.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [key, expected] of want) expect(byMatch.get(key), `record ${key}`).toEqual(expected);
  const failures = (
    await wh.query(`select key, reason, code from ${STATE}.${SYNC}__failures order by key`)
  ).rows.map((r) => ({ key: String(r.key), reason: String(r.reason), code: String(r.code) }));
  const expectedFailures = invalidRows(p.profile, rows)
    .map((i) => ({ key: `u${i}`, ...(p.profile.rejection(i) as { reason: string; code: string }) }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  expect(failures).toEqual(expectedFailures);
}

/** Routing for the sync: score bands, tasks on entering hot or pql, owners taken in turn. */
export function routingYaml(crm: Crm): string {
  const pool =
    crm === 'salesforce'
      ? '[ava.patel@example.com, ben.okafor@example.com]'
      : '[ada.lovelace@example.com, grace.hopper@example.com]';
  return `    routing:
      score_column: score
      task_tiers: [hot, pql]
      rules:
        - name: everyone
          assign: { strategy: round_robin, pool: ${pool} }
`;
}

/**
 * Tasks: one CRM task per task key (no duplicates, none without a key), every task the task_log calls `created`
 * is in the CRM, and every CRM task is in the task_log. Returns the number of tasks in the CRM.
 */
export async function checkTasks(p: ReliabilityProject, wh: WarehouseAdapter): Promise<number> {
  const keys =
    p.profile.crm === 'salesforce'
      ? (
          (await admin(p.sandbox, 'GET', '/_sandbox/salesforce/Task')) as {
            records: Array<Record<string, unknown>>;
          }
        ).records.map((t) => text(t.PQLSync_Key__c))
      : (
          (await admin(p.sandbox, 'GET', '/_sandbox/hubspot/tasks')) as {
            results: Array<{ properties: Record<string, string | null> }>;
          }
        ).results.map((t) => text(t.properties.pqlsync_task_key));
  expect(
    keys.filter((k) => k === ''),
    'CRM tasks without a key',
  ).toEqual([]);
  expect(duplicates(keys), 'duplicate tasks by key').toEqual([]);
  const log = (await wh.query(`select task_key, status from ${STATE}.task_log`)).rows;
  const created = log.filter((r) => r.status === 'created').map((r) => String(r.task_key));
  const inCrm = new Set(keys);
  expect(
    created.filter((k) => !inCrm.has(k)),
    'task_log created, not in the CRM',
  ).toEqual([]);
  const logged = new Set(log.map((r) => String(r.task_key)));
  expect(
    keys.filter((k) => !logged.has(k)),
    'CRM tasks the task_log does not know',
  ).toEqual([]);
  return keys.length;
}
