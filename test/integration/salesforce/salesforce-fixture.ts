/**
 * Shared setup for the Salesforce destination tests: an in-process sandbox (the real HTTP server), a temp
 * project with a DuckDB warehouse and a `leads` model over `src.users`, and runs through the real runner with
 * the real jsforce inside SalesforceDestination.
 */
import { loadConfig } from '../../../src/config/load-config.js';
import type { RetryPolicy } from '../../../src/destination/batch-writer.js';
import {
  SalesforceDestination,
  type SalesforceDestinationOptions,
} from '../../../src/destination/salesforce/salesforce-destination.js';
import type { RunSummary } from '../../../src/runner/run-sync.js';
import { runSyncs } from '../../../src/runner/run-syncs.js';
import {
  startSandbox,
  type RunningSandbox,
  type SandboxOptions,
} from '../../../src/sandbox/sandbox-server.js';
import { StateStore } from '../../../src/state/state-store.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import type { Row } from '../../../src/warehouse/warehouse-adapter.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';
import { admin as sandboxAdmin } from '../sandbox/salesforce-helpers.js';

export const LEADS_MODEL = `/*---
name: leads
description: test leads
key: user_id
---*/
select user_id, email, last_name, company, score, tier, is_pql, reasons, qualified_at from src.users
`;

/** Model columns → Lead fields, as a user maps them. */
export const LEAD_FIELDS = `
      Email: { column: email, skip_null: true }
      LastName: { column: last_name, skip_null: true }
      Company: { column: company, skip_null: true }
      PQL_Score__c: score
      PQL_Tier__c: tier
      Is_PQL__c: is_pql
      PQL_Reasons__c: reasons
      PQL_Qualified_At__c: qualified_at`;

export interface ConfigOptions {
  mode?: 'update' | 'upsert' | 'mirror';
  auth?: string;
  extra?: string;
  bulkThreshold?: number;
  /** More keys of the destination (indented YAML lines). */
  destinationExtra?: string;
}

export function configText(o: ConfigOptions = {}): string {
  return `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  sf:
    type: salesforce
    instance_url: '\${SF_URL}'
    auth: ${o.auth ?? `{ type: access_token, access_token: '\${SF_TOKEN}' }`}
    bulk_threshold: ${o.bulkThreshold ?? 2000}
    retry: { max_attempts: 4, initial_delay_ms: 1, max_delay_ms: 5 }
${o.destinationExtra ?? ''}
syncs:
  leads:
    model: leads
    destination: sf
    object: Lead
    match: { field: Product_User_Id__c, column: user_id }
    mode: ${o.mode ?? 'upsert'}
    max_removed_pct: 100
    on_remove: { Is_PQL__c: false }
    fields:${LEAD_FIELDS}
${o.extra ?? ''}`;
}

/** The value row i of `src.users` holds, as the Lead fields should show it. */
export function expectedLead(i: number): Record<string, unknown> {
  const score = (i * 7) % 100;
  return {
    Product_User_Id__c: `u${i}`,
    Email: `user${i}@example.com`,
    LastName: `Last${i}`,
    Company: `Company ${i % 50}`,
    PQL_Score__c: score,
    PQL_Tier__c: score >= 70 ? 'hot' : score >= 40 ? 'pql' : 'nurture',
    Is_PQL__c: score >= 40,
    PQL_Reasons__c: `score ${score}; ${i % 3} invites`,
    PQL_Qualified_At__c:
      score >= 40 ? `2026-10-${String((i % 28) + 1).padStart(2, '0')}T00:00:00.000+0000` : null,
  };
}

export interface SalesforceFixture {
  project: TempProject;
  sandbox: RunningSandbox;
  wh: DuckdbAdapter;
  env: NodeJS.ProcessEnv;
  /** Replaces `src.users` with rows 1..n. */
  seedUsers(n: number, from?: number): Promise<void>;
  writeConfig(o?: ConfigOptions): void;
  /** Runs the `leads` sync through the runner and the configured destination (or `destination`). */
  run(options?: { destination?: SalesforceDestination; retry?: Partial<RetryPolicy> }): Promise<RunSummary>;
  /** A SalesforceDestination on the project's config with a fake clock for Bulk polling. */
  destinationWithFakeClock(
    options?: Pick<SalesforceDestinationOptions, 'bulkUploadMaxBytes'>,
  ): SalesforceDestination;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  leads(): Promise<Array<Record<string, unknown>>>;
  /** Requests the sandbox logged after `since` (vendor calls only). */
  requests(since?: number): Promise<
    Array<{
      seq: number;
      method: string;
      path: string;
      status: number;
      records: number;
      headers: Record<string, string>;
    }>
  >;
  failures(): Promise<Row[]>;
  close(): Promise<void>;
}

export async function salesforceFixture(sandboxOptions: SandboxOptions = {}): Promise<SalesforceFixture> {
  const sandbox = await startSandbox({ seed: 7, ...sandboxOptions });
  const project = tempProject('pqlsync-sf-');
  project.writeModel('leads', LEADS_MODEL);
  const env: NodeJS.ProcessEnv = { ...process.env, SF_URL: sandbox.url, SF_TOKEN: sandbox.token };
  const wh = new DuckdbAdapter({ path: `${project.dir}/wh.duckdb` });
  await wh.connect();
  await wh.query('create schema src');
  let fakeNow = 1_000_000;

  const admin = (method: string, path: string, body?: unknown) => sandboxAdmin(sandbox, method, path, body);

  const fixture: SalesforceFixture = {
    project,
    sandbox,
    wh,
    env,
    async seedUsers(n, from = 1) {
      await wh.query('drop table if exists src.users');
      await wh.query(`create table src.users as
        select 'u' || i as user_id, 'user' || i || '@example.com' as email, 'Last' || i as last_name,
          'Company ' || (i % 50) as company, cast((i * 7) % 100 as integer) as score,
          case when (i * 7) % 100 >= 70 then 'hot' when (i * 7) % 100 >= 40 then 'pql' else 'nurture' end as tier,
          (i * 7) % 100 >= 40 as is_pql,
          'score ' || ((i * 7) % 100) || '; ' || (i % 3) || ' invites' as reasons,
          case when (i * 7) % 100 >= 40 then date '2026-10-01' + cast(i % 28 as integer) end as qualified_at
        from range(${from}, ${from + n}) t(i)`);
    },
    writeConfig(o) {
      project.writeConfig(configText(o));
    },
    async run(options = {}) {
      const loaded = loadConfig(project.configPath, env);
      const [summary] = await runSyncs({
        loaded,
        syncs: ['leads'],
        warehouse: wh,
        ...(options.destination
          ? { destination: async () => options.destination as SalesforceDestination }
          : {}),
        ...(options.retry ? { retry: options.retry } : {}),
      });
      if (!summary) throw new Error('no summary');
      return summary;
    },
    destinationWithFakeClock(options = {}) {
      const loaded = loadConfig(project.configPath, env);
      const config = loaded.config.destinations.sf;
      if (config?.type !== 'salesforce') throw new Error('no salesforce destination sf');
      return new SalesforceDestination({
        name: 'sf',
        config,
        projectDir: project.dir,
        env,
        now: () => fakeNow,
        sleep: async (ms) => {
          fakeNow += ms;
        },
        ...options,
      });
    },
    admin,
    async leads() {
      const res = await admin('GET', '/_sandbox/salesforce/Lead');
      return (res.body as { records: Array<Record<string, unknown>> }).records;
    },
    async requests(since = 0) {
      const res = await admin('GET', `/_sandbox/requests?since=${since}`);
      return (res.body as Awaited<ReturnType<SalesforceFixture['requests']>>).filter(
        (r) => !r.path.startsWith('/_sandbox'),
      );
    },
    async failures() {
      return new StateStore(wh, 'pqlsync_state').failures('leads');
    },
    async close() {
      await wh.close();
      await sandbox.close();
      project.cleanup();
    },
  };
  return fixture;
}

/** The Lead fields a test compares, picked from a sandbox record. */
export function leadFields(record: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(expectedLead(1));
  return Object.fromEntries(keys.map((k) => [k, record[k] ?? null]));
}

/** The last sequence number in the sandbox request log (to look at what a run sent). */
export async function lastSeq(f: SalesforceFixture): Promise<number> {
  const res = await f.admin('GET', '/_sandbox/requests');
  const all = res.body as Array<{ seq: number }>;
  return all.length > 0 ? (all[all.length - 1]?.seq ?? 0) : 0;
}
