/**
 * Shared setup for the pull tests: a project whose one sync writes Leads (Salesforce) or contacts (HubSpot) in a
 * sandbox with a clock the test moves, and helpers to pull and read the read-back tables.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { runDemo, type DemoResult } from '../../../src/cli/commands/demo.js';
import { loadConfig, type LoadedConfig } from '../../../src/config/load-config.js';
import { pullCrm, type PullResult } from '../../../src/pull/pull-crm.js';
import {
  startSandbox,
  type RunningSandbox,
  type SandboxOptions,
} from '../../../src/sandbox/sandbox-server.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import type { WarehouseAdapter } from '../../../src/warehouse/warehouse-adapter.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

export class TestClock {
  constructor(private t: number) {}
  now = (): Date => new Date(this.t);
  /** Moves on by whole seconds (Salesforce keeps modification times to the second). */
  tick(seconds = 1): void {
    this.t += seconds * 1000;
  }
}

export type Crm = 'salesforce' | 'hubspot';

const DESTINATIONS: Record<Crm, string> = {
  salesforce: `  crm:
    type: salesforce
    instance_url: \${PQLSYNC_SANDBOX_URL}
    auth:
      type: access_token
      access_token: \${PQLSYNC_SANDBOX_TOKEN}`,
  hubspot: `  crm:
    type: hubspot
    access_token: \${PQLSYNC_SANDBOX_TOKEN}
    base_url: \${PQLSYNC_SANDBOX_URL}`,
};

const SYNCS: Record<Crm, string> = {
  salesforce: `  users:
    model: users
    destination: crm
    object: Lead
    match: { field: Product_User_Id__c, column: user_id }
    fields: { LastName: last_name }`,
  hubspot: `  users:
    model: users
    destination: crm
    object: contacts
    match: { field: product_user_id, column: user_id }
    fields: { lastname: last_name }`,
};

/** A project with one sync `users` to the sandbox; `warehouse` is the YAML of the warehouse section. */
export function pullProject(
  crm: Crm,
  sandbox: RunningSandbox,
  warehouse: string,
): { project: TempProject; loaded: LoadedConfig } {
  const project = tempProject('pqlsync-pull-');
  project.writeConfig(
    `version: 1\n${warehouse}\nstate: { schema: pqlsync_state }\ndestinations:\n${DESTINATIONS[crm]}\nsyncs:\n${SYNCS[crm]}\n`,
  );
  project.writeModel('users', "select 1 as user_id, 'x' as last_name");
  const loaded = loadConfig(path.join(project.dir, 'config', 'pqlsync.yml'), {
    ...process.env,
    PQLSYNC_SANDBOX_URL: sandbox.url,
    PQLSYNC_SANDBOX_TOKEN: sandbox.token,
  });
  return { project, loaded };
}

/** Pulls every destination and returns the one result (the project has one destination). */
export async function pullOnce(
  loaded: LoadedConfig,
  warehouse: WarehouseAdapter,
  clock: TestClock,
): Promise<PullResult> {
  const [result] = await pullCrm({ loaded, warehouse, now: clock.now });
  if (!result) throw new Error('pull returned no result');
  if (result.status !== 'success') throw new Error(`pull failed: ${result.error?.message}`);
  return result;
}

/** Records read per object. */
export function readCounts(result: PullResult): Record<string, number> {
  return Object.fromEntries(result.objects.map((o) => [o.object, o.read]));
}

/** The sandbox's request log after `since` (GET /_sandbox/requests). */
export async function requestsSince(
  sandbox: RunningSandbox,
  since: number,
): Promise<Array<{ seq: number; method: string; path: string; query: string; status: number }>> {
  const res = await fetch(`${sandbox.url}/_sandbox/requests?since=${since}`, {
    headers: { Authorization: `Bearer ${sandbox.token}` },
  });
  return (await res.json()) as Array<{
    seq: number;
    method: string;
    path: string;
    query: string;
    status: number;
  }>;
}

export async function lastSeq(sandbox: RunningSandbox): Promise<number> {
  const all = await requestsSince(sandbox, 0);
  return all[all.length - 1]?.seq ?? 0;
}

export interface AdvancedDemo {
  sandbox: RunningSandbox;
  dir: string;
  result: DemoResult;
}

/**
 * Registers beforeAll/afterAll for a demo on a CRM sandbox run twice (`demo`, then `--advance-days 14`); the object
 * is filled in by beforeAll. `PQLSYNC_SANDBOX_TOKEN` is set for the demo and restored after.
 */
export function advancedDemo(crm: Crm, sandboxOptions: SandboxOptions, users = 1500): AdvancedDemo {
  const demo = {} as AdvancedDemo;
  const savedToken = process.env.PQLSYNC_SANDBOX_TOKEN;
  beforeAll(async () => {
    demo.sandbox = await startSandbox(sandboxOptions);
    process.env.PQLSYNC_SANDBOX_TOKEN = demo.sandbox.token;
    demo.dir = mkdtempSync(path.join(tmpdir(), `pqlsync-loop-${crm}-`));
    const options = { dir: demo.dir, users, seed: 42, crm, sandbox: demo.sandbox.url, run: true };
    await runDemo(options);
    demo.result = await runDemo({ ...options, advanceDays: 14 });
  }, 300_000);
  afterAll(async () => {
    if (savedToken === undefined) delete process.env.PQLSYNC_SANDBOX_TOKEN;
    else process.env.PQLSYNC_SANDBOX_TOKEN = savedToken;
    await demo.sandbox?.close();
    if (demo.dir) rmSync(demo.dir, { recursive: true, force: true });
  });
  return demo;
}

/** A sandbox on `clock`, a pull project for `crm` and its DuckDB warehouse, for one suite; closed after it. */
export function duckdbPullSuite(
  crm: Crm,
  clock: TestClock,
): { sandbox(): RunningSandbox; loaded(): LoadedConfig; wh(): WarehouseAdapter } {
  let sandbox: RunningSandbox | undefined;
  let project: TempProject | undefined;
  let loaded: LoadedConfig | undefined;
  let wh: DuckdbAdapter | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 3, now: clock.now });
    ({ project, loaded } = pullProject(crm, sandbox, 'warehouse: { type: duckdb, path: wh.duckdb }'));
    wh = new DuckdbAdapter({ path: path.join(project.dir, 'wh.duckdb') });
    await wh.connect();
  });
  afterAll(async () => {
    await wh?.close();
    await sandbox?.close();
    project?.cleanup();
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the pull suite has not started');
    return v;
  };
  return { sandbox: () => ready(sandbox), loaded: () => ready(loaded), wh: () => ready(wh) };
}
