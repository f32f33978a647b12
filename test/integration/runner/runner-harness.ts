/**
 * The smallest whole sync for the runner's mutation tests (docs/audits/mutation-runner.md): a temp project whose
 * model reads `src.users` (ten rows by default) in a real DuckDB file, `runSync` itself (not `runSyncs`) with the
 * in-memory destination, a clock the test moves, and the warehouse behind the fault-injecting wrapper, which also
 * records the warehouse phases a run marks. Each run takes well under a second, so a mutant of the runner is
 * checked in seconds.
 */
import { loadConfig } from '../../../src/config/load-config.js';
import { runSync, type RunSummary, type RunSyncOptions } from '../../../src/runner/run-sync.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import type { PhaseScope, WarehousePhase } from '../../../src/warehouse/warehouse-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

export const STATE = 'pqlsync_state';
export const T0 = new Date('2026-03-02T09:00:00.000Z');

export const MODEL = `/*---
name: scores
description: runner test scores
key: user_id
---*/
select user_id, email, score, case when score >= 70 then 'hot' else 'cold' end as tier from src.users
`;

/** A config with one sync `users` (fields Email and Score__c); `extra` is indented under the sync. */
export const runnerConfig = (opts: { mode?: string; extra?: string; top?: string } = {}) => `
warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  crm: { type: file, path: out }
${opts.top ?? ''}syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    mode: ${opts.mode ?? 'upsert'}
    fields:
      Email: email
      Score__c: score
${opts.extra ?? ''}`;

export interface RunnerHarness {
  project: TempProject;
  /** The real DuckDB adapter (the runs see it through `faulty`). */
  wh: DuckdbAdapter;
  faulty: FaultyWarehouse;
  dest: MemoryDestination;
  store: StateStore;
  /** The run clock: what `now()` answers; tests move it. */
  clock: { t: number };
  /** Every phase the runs marked, in order, with `end` when its mark was ended. */
  phases: string[];
  run(options?: Partial<RunSyncOptions>): Promise<RunSummary>;
  keys(table: 'snapshot' | 'failures' | 'journal'): Promise<string[]>;
  runsRows(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startRunnerHarness(
  opts: { rows?: number; config?: string } = {},
): Promise<RunnerHarness> {
  setLogger(createLogger({ level: 'silent' }));
  const project = tempProject('pqlsync-runner-');
  project.writeModel('scores', MODEL);
  project.writeConfig(opts.config ?? runnerConfig());
  const wh = new DuckdbAdapter({ path: `${project.dir}/wh.duckdb` });
  await wh.connect();
  await wh.query('create schema src');
  await wh.query(
    `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score
     from range(1, ${(opts.rows ?? 10) + 1}) t(i)`,
  );
  const phases: string[] = [];
  const faulty = new FaultyWarehouse(wh);
  // Recorded around the real adapter's phase (DuckDB's memory limit).
  Object.defineProperty(faulty, 'phase', {
    value: async (kind: WarehousePhase, scope?: PhaseScope) => {
      phases.push(scope?.stateRows !== undefined ? `${kind}(${scope.stateRows})` : kind);
      const end = await wh.phase(kind, scope);
      return async () => {
        phases.push(`end ${kind}`);
        await end();
      };
    },
  });
  const clock = { t: T0.getTime() };
  const dest = new MemoryDestination();
  const store = new StateStore(wh, STATE);
  return {
    project,
    wh,
    faulty,
    dest,
    store,
    clock,
    phases,
    run: (options = {}) =>
      runSync({
        loaded: loadConfig(project.configPath),
        warehouse: faulty,
        syncName: 'users',
        destination: async () => dest,
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
        now: () => new Date(clock.t),
        ...options,
      }),
    async keys(table) {
      if (!(await wh.tableExists(STATE, `users__${table}`))) return [];
      const { rows } = await wh.query(
        `select key from ${STATE}.users__${table} order by cast(key as integer)`,
      );
      return rows.map((r) => String(r.key));
    },
    async runsRows() {
      return (await wh.query(`select * from ${STATE}.runs order by started_at, run_id`)).rows;
    },
    async close() {
      await wh.close();
      project.cleanup();
    },
  };
}
