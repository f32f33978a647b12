/**
 * Harness for the routing tests: the in-process sandbox (Salesforce and HubSpot on one port, real HTTP), a temp
 * project whose model reads `src.users` in DuckDB, and `runSync` with the configured destination and task writer
 * (the real jsforce and @hubspot/api-client), an injected run clock, and an optional crash right after the CRM
 * created the tasks (before task_log and the snapshot are committed).
 */
import { loadConfig } from '../../../src/config/load-config.js';
import { createDestination } from '../../../src/destination/create-destination.js';
import { createTaskWriter } from '../../../src/destination/create-task-writer.js';
import type { TaskWriter } from '../../../src/routing/task-writer.js';
import { RouteStore, type TaskLogEntry } from '../../../src/routing/route-store.js';
import { runSync, type RunSummary } from '../../../src/runner/run-sync.js';
import { startSandbox, type RunningSandbox } from '../../../src/sandbox/sandbox-server.js';
import { StateStore } from '../../../src/state/state-store.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

for (const name of ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY']) delete process.env[name];

export const MODEL = `/*---
name: users
description: routing test users
key: user_id
---*/
select user_id, email, last_name, company, score, employees, plan, dashboards_created, signup_date, account_id
from src.users
`;

export interface UserRow {
  id: string;
  score: number | null;
  employees: number;
  plan: string;
  dashboards: number;
  account?: string;
}

export interface RoutingHarness {
  project: TempProject;
  wh: DuckdbAdapter;
  sandbox: RunningSandbox;
  /** Replaces `src.users`. */
  seed(rows: UserRow[]): Promise<void>;
  /** Sets one user's score. */
  setScore(id: string, score: number | null): Promise<void>;
  run(options?: {
    now?: Date;
    dryRun?: boolean;
    crashAfterTasks?: boolean;
    vars?: Record<string, unknown>;
  }): Promise<RunSummary>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  taskLog(): Promise<TaskLogEntry[]>;
  cursors(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/** The first run's clock: a Monday morning in UTC. */
export const T0 = new Date('2025-01-06T09:00:00.000Z');

export async function startRoutingHarness(
  config: (sandboxUrl: string, token: string) => string,
): Promise<RoutingHarness> {
  const token = 'routing-test-sandbox-token';
  const sandbox = await startSandbox({ token, seed: 11, now: () => T0 });
  const project = tempProject('pqlsync-routing-');
  project.writeModel('users', MODEL);
  project.writeConfig(config(sandbox.url, token));
  const wh = new DuckdbAdapter({ path: `${project.dir}/wh.duckdb` });
  await wh.connect();
  await wh.query('create schema src');
  const state = () => new StateStore(wh, 'pqlsync_state');
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sandbox.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
  return {
    project,
    wh,
    sandbox,
    admin,
    async seed(rows) {
      await wh.query('drop table if exists src.users');
      await wh.query(
        `create table src.users (user_id varchar, email varchar, last_name varchar, company varchar, score integer,
           employees integer, plan varchar, dashboards_created integer, signup_date date, account_id varchar)`,
      );
      for (const r of rows) {
        await wh.query({
          dialect: 'duckdb',
          sql: `insert into src.users values ($id, $id || '@acme.io', 'Last ' || $id, 'Acme ' || $id, $score,
                  $employees, $plan, $dashboards, date '2024-11-04', $account)`,
          params: [
            { name: 'id', type: 'string', value: r.id },
            { name: 'score', type: 'integer', value: r.score },
            { name: 'employees', type: 'integer', value: r.employees },
            { name: 'plan', type: 'string', value: r.plan },
            { name: 'dashboards', type: 'integer', value: r.dashboards },
            { name: 'account', type: 'string', value: r.account ?? null },
          ],
        });
      }
    },
    async setScore(id, score) {
      await wh.query({
        dialect: 'duckdb',
        sql: 'update src.users set score = $score where user_id = $id',
        params: [
          { name: 'score', type: 'integer', value: score },
          { name: 'id', type: 'string', value: id },
        ],
      });
    },
    async run(options = {}) {
      const loaded = loadConfig(project.configPath);
      const made: Array<{ close(): Promise<void> }> = [];
      try {
        return await runSync({
          loaded,
          warehouse: wh,
          syncName: 'users',
          dryRun: options.dryRun ?? false,
          ...(options.vars ? { vars: options.vars } : {}),
          now: () => options.now ?? T0,
          retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
          destination: async (name) => {
            const d = await createDestination(name, loaded);
            made.push(d);
            return d;
          },
          taskWriter: async (name) => {
            const writer = await createTaskWriter(name, loaded);
            return writer && options.crashAfterTasks ? crashingAfterCreate(writer) : writer;
          },
        });
      } finally {
        for (const d of made) await d.close();
      }
    },
    async taskLog() {
      return new RouteStore(state()).entries('users');
    },
    async cursors() {
      return new RouteStore(state()).cursors('users');
    },
    async close() {
      await wh.close();
      await sandbox.close();
      project.cleanup();
    },
  };
}

/** The real writer, except that the process "dies" right after the CRM created the tasks. */
function crashingAfterCreate(writer: TaskWriter): TaskWriter {
  return {
    listOwners: () => writer.listOwners(),
    findRecords: (t, v) => writer.findRecords(t, v),
    findAccounts: (f, v) => writer.findAccounts(f, v),
    accountObject: writer.accountObject,
    setOwners: (t, c) => writer.setOwners(t, c),
    updateRecords: (t, c) => writer.updateRecords(t, c),
    async writeTasks(tasks) {
      await writer.writeTasks(tasks);
      throw new Error('simulated crash after the CRM created the tasks');
    },
    apiCalls: () => writer.apiCalls(),
    close: () => writer.close(),
  };
}
