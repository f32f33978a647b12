/**
 * Test harness for the HubSpot destination: a temp project whose model scores `src.users` in DuckDB, the
 * in-process sandbox (real HTTP, movable clock) and `runSyncs` with the configured HubSpot destination.
 */
import { loadConfig } from '../../../src/config/load-config.js';
import type { RetryPolicy } from '../../../src/destination/batch-writer.js';
import type { Destination } from '../../../src/destination/destination.js';
import type { RunSummary } from '../../../src/runner/run-sync.js';
import { runSyncs } from '../../../src/runner/run-syncs.js';
import {
  startSandbox,
  type RunningSandbox,
  type SandboxOptions,
} from '../../../src/sandbox/sandbox-server.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

export const TOKEN = 'pat-na1-hubspot-destination-test';

export const MODEL = `/*---
name: pql_contacts
description: test PQL scores per user
key: user_id
---*/
select user_id, email, score as pql_score,
  case when score >= 70 then 'hot' when score >= 40 then 'pql' else 'nurture' end as pql_tier,
  score >= 40 as is_pql,
  case when score >= 40 then qualified_day end as qualified_at,
  last_seen,
  'score ' || score as reasons,
  owner_id
from src.users
`;

/** The HubSpot properties the model's row `i` must end up as (computed independently of the model). */
export function expectedContact(i: number): Record<string, string> {
  const score = (i * 7) % 100;
  const tier = score >= 70 ? 'hot' : score >= 40 ? 'pql' : 'nurture';
  return {
    product_user_id: String(i),
    email: `u${i}@example.com`,
    pql_score: String(score),
    pql_tier: tier,
    is_pql: String(score >= 40),
    pql_qualified_at: score >= 40 ? String(Date.UTC(2025, 0, 1 + (i % 28))) : '',
    pql_last_seen_at: String(Date.UTC(2025, 0, 1, 10, 0, 0) + i * 60_000),
    pql_reasons: `score ${score}`,
  };
}

export interface HarnessOptions {
  rows: number;
  mode?: 'update' | 'upsert' | 'mirror';
  /** Extra YAML lines under the destination. */
  destinationExtra?: string;
  /** Extra field mappings (YAML lines, 6 spaces indented). */
  fieldsExtra?: string;
  /** Extra contact property definitions (YAML lines, 8 spaces indented). */
  propertiesExtra?: string;
  /** The model text. (Default: MODEL) */
  model?: string;
  /** SQL run after `src.users` is created. */
  setupSql?: string[];
  createProperties?: boolean;
  rateLimitRequests?: number;
  /** `rate_limit.per_ms`. (Default: 10000) */
  rateLimitPerMs?: number;
  /** The sandbox keeps real time instead of the movable clock (for the rolling window against real pacing). */
  realClock?: boolean;
  token?: string;
  sandbox?: SandboxOptions['hubspot'];
}

export interface Harness {
  project: TempProject;
  wh: DuckdbAdapter;
  sandbox: RunningSandbox;
  /** The sandbox clock in ms; tests move it. */
  clock: { now: number };
  run(opts?: {
    retry?: Partial<RetryPolicy>;
    destination?: (name: string) => Promise<Destination>;
    createProperties?: boolean;
  }): Promise<RunSummary>;
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  /** Contacts in the sandbox, by product_user_id, with the given properties only. */
  contacts(props?: string[]): Promise<Map<string, Record<string, string>>>;
  /** Sandbox request log entries for `/crm/` since the last call to `mark()`. */
  requests(): Promise<Array<{ method: string; path: string; status: number; records: number }>>;
  mark(): Promise<void>;
  close(): Promise<void>;
}

const FIELDS = `      email: email
      pql_score: pql_score
      pql_tier: pql_tier
      is_pql: is_pql
      pql_qualified_at: qualified_at
      pql_last_seen_at: last_seen
      pql_reasons: reasons
`;

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const clock = { now: Date.parse('2025-02-03T09:00:00.000Z') };
  const sandbox = await startSandbox({
    token: TOKEN,
    seed: 7,
    now: () => new Date(options.realClock ? Date.now() : clock.now),
    hubspot: { tenSecondlyLimit: 10_000, ...options.sandbox },
  });
  const project = tempProject('pqlsync-hubspot-');
  project.writeModel('pql_contacts', options.model ?? MODEL);
  project.writeConfig(`
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  hubspot:
    type: hubspot
    access_token: ${options.token ?? TOKEN}
    base_url: ${sandbox.url}
    create_properties: ${options.createProperties ?? true}
    rate_limit: { requests: ${options.rateLimitRequests ?? 10_000}, per_ms: ${options.rateLimitPerMs ?? 10_000} }
    properties:
      contacts:
        pql_last_seen_at: { type: datetime, label: Last seen in product }
${options.propertiesExtra ?? ''}${options.destinationExtra ?? ''}
syncs:
  users:
    model: pql_contacts
    destination: hubspot
    object: contacts
    match: { field: product_user_id, column: user_id }
    mode: ${options.mode ?? 'upsert'}
    max_removed_pct: 100
    fields:
${FIELDS}${options.fieldsExtra ?? ''}`);
  const wh = new DuckdbAdapter({ path: `${project.dir}/wh.duckdb` });
  await wh.connect();
  await wh.query('create schema src');
  await wh.query(
    `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score,
       date '2025-01-01' + cast(i % 28 as integer) as qualified_day,
       timestamp '2025-01-01 10:00:00' + i * interval 1 minute as last_seen,
       cast(null as varchar) as owner_id
     from range(1, ${options.rows + 1}) t(i)`,
  );
  for (const sql of options.setupSql ?? []) await wh.query(sql);
  let since = 0;
  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return res.json() as Promise<unknown>;
  };
  type Logged = { seq: number; method: string; path: string; status: number; records: number };
  return {
    project,
    wh,
    sandbox,
    clock,
    admin,
    async run(opts = {}) {
      const loaded = loadConfig(project.configPath);
      const [summary] = await runSyncs({
        loaded,
        syncs: ['users'],
        warehouse: wh,
        retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5, ...opts.retry },
        ...(opts.destination ? { destination: opts.destination } : {}),
        ...(opts.createProperties ? { destinationOverrides: { createProperties: true } } : {}),
      });
      if (!summary) throw new Error('runSyncs returned no summary');
      return summary;
    },
    async contacts(props) {
      const body = (await admin('GET', '/_sandbox/hubspot/contacts')) as {
        results: Array<{ properties: Record<string, string> }>;
      };
      const out = new Map<string, Record<string, string>>();
      for (const r of body.results) {
        const picked: Record<string, string> = {};
        for (const [k, v] of Object.entries(r.properties)) if (!props || props.includes(k)) picked[k] = v;
        out.set(r.properties.product_user_id ?? `(none:${r.properties.hs_object_id})`, picked);
      }
      return out;
    },
    async mark() {
      const log = (await admin('GET', `/_sandbox/requests?since=${since}`)) as Logged[];
      since = log.at(-1)?.seq ?? since;
    },
    async requests() {
      const log = (await admin('GET', `/_sandbox/requests?since=${since}`)) as Logged[];
      since = log.at(-1)?.seq ?? since;
      return log
        .filter((e) => e.path.startsWith('/crm/'))
        .map(({ method, path, status, records }) => ({ method, path, status, records }));
    },
    async close() {
      await wh.close();
      await sandbox.close();
      project.cleanup();
    },
  };
}

export const CONTACT_PROPS = Object.keys(expectedContact(1));
