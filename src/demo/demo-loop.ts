/**
 * The closed loop at the end of a CRM demo: with `--advance-days`, reps work their tasks in the sandbox
 * (simulate-reps.ts); then pqlsync reads the CRM back (`pull`) and writes the loop report of pql_users to
 * `<dir>/reports/loop-pql_users.html`.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/load-config.js';
import { pullCrm, type PullResult } from '../pull/pull-crm.js';
import { buildLoopReport, type LoopReport } from '../report/loop-report.js';
import { writeLoopHtml } from '../report/render-loop-report.js';
import { StateStore, toDate } from '../state/state-store.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import type { WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import { hubspotReps } from './hubspot-reps.js';
import { salesforceReps } from './salesforce-reps.js';
import { simulateReps, type LoggedTask, type RepSandbox, type SimulationResult } from './simulate-reps.js';

/** The sync the demo reports on. */
export const DEMO_LOOP_SYNC = 'pql_users';
const DAY = 86_400_000;
/** The demo's report period: the last 90 days, and a week ahead, where simulated reps may have worked. */
const PERIOD = { backDays: 90, aheadDays: 7 };

export interface DemoLoopResult {
  simulation?: SimulationResult;
  pulls: PullResult[];
  report: LoopReport;
  reportPath: string;
}

export interface DemoLoopOptions {
  loaded: LoadedConfig;
  dir: string;
  crm: 'salesforce' | 'hubspot';
  sandbox: { url: string; token: string };
  seed: number;
  /** Simulate reps before the pull. */
  simulate: boolean;
  /** (Default: the system clock) */
  now?: () => Date;
}

export async function runDemoLoop(options: DemoLoopOptions): Promise<DemoLoopResult> {
  const { loaded } = options;
  const now = options.now ?? (() => new Date());
  const wh = await createWarehouse(loaded);
  await wh.connect();
  try {
    let simulation: SimulationResult | undefined;
    if (options.simulate) {
      const tiers = loaded.config.syncs[DEMO_LOOP_SYNC]?.routing?.task_tiers ?? [];
      simulation = await simulateReps(repSandbox(options), {
        seed: options.seed,
        logged: await loggedTasks(wh, loaded.config.state.schema),
        tiers,
        now: now(),
      });
    }
    const pulls = await pullCrm({ loaded, warehouse: wh, now });
    const report = await buildLoopReport({
      loaded,
      warehouse: wh,
      sync: DEMO_LOOP_SYNC,
      since: new Date(now().getTime() - PERIOD.backDays * DAY),
      until: new Date(now().getTime() + PERIOD.aheadDays * DAY),
    });
    const reportPath = writeLoopHtml(
      report,
      path.join(options.dir, 'reports', `loop-${DEMO_LOOP_SYNC}.html`),
    );
    return { ...(simulation ? { simulation } : {}), pulls, report, reportPath };
  } finally {
    await wh.close();
  }
}

function repSandbox(options: DemoLoopOptions): RepSandbox {
  const { url, token } = options.sandbox;
  return options.crm === 'hubspot' ? hubspotReps(url, token) : salesforceReps(url, token);
}

/** task_log's created tasks of the demo sync: tier, logged and due times by task key. */
async function loggedTasks(wh: WarehouseAdapter, schema: string): Promise<Map<string, LoggedTask>> {
  const state = new StateStore(wh, schema);
  if (!(await wh.tableExists(schema, 'task_log'))) return new Map();
  const { rows } = await wh.query(
    `select task_key, tier, logged_at, due_at from ${state.table('task_log')} where status = 'created' and due_at is not null`,
  );
  return new Map(
    rows.map((r) => [
      String(r.task_key),
      { tier: String(r.tier), loggedAt: toDate(r.logged_at), dueAt: toDate(r.due_at) },
    ]),
  );
}
