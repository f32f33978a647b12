/**
 * The smallest whole sync for the runner's mutation tests (docs/audits/mutation-runner.md): a temp project whose
 * model reads `src.users` (ten rows by default) in a real DuckDB file, `runSync` itself (not `runSyncs`) with the
 * in-memory destination, a clock the test moves, the warehouse behind the fault-injecting wrapper, which also
 * records the warehouse phases a run marks, and the run's log lines captured (level, message and fields). Each run takes well under a second, so a mutant of the runner is
 * checked in seconds.
 */
import { Writable } from 'node:stream';
import { loadConfig } from '../../../src/config/load-config.js';
import type { SyncTarget, WriteBatch } from '../../../src/destination/destination.js';
import type {
  AccountRecord,
  CrmOwner,
  RoutedRecord,
  TaskOutcome,
  TaskSpec,
  TaskWriter,
} from '../../../src/routing/task-writer.js';
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
select user_id, email, score, case when score >= 70 then 'hot' when score is not null then 'cold' end as tier
from src.users
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
  /** Ending the phase mark with this number (1-based, over the harness's life) fails ('phase end failed'). */
  phaseEndFails: number | undefined;
  /** The log lines of the runs (info and above): level, msg and the fields, without time, pid and run id. */
  logs: Record<string, unknown>[];
  /** The same lines as written, with time, pid, sync and run id. */
  rawLogs: Record<string, unknown>[];
  run(options?: Partial<RunSyncOptions>): Promise<RunSummary>;
  /**
   * A run of ten rows in batches of five that loses its lock while the CRM answers the second batch (a run
   * `run-b` takes the expired lease, 120 s on): the first batch is journaled, never folded. The lock stays
   * `run-b`'s until its lease ends (the clock stands at T0 + 120 s).
   */
  runLosingLock(): Promise<{ summary: RunSummary; dest: MemoryDestination }>;
  keys(table: 'snapshot' | 'failures' | 'journal'): Promise<string[]>;
  runsRows(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function startRunnerHarness(
  opts: {
    rows?: number;
    config?: string;
    /** The warehouse streams its rows in chunks of at most this many (as a cursor or a result page does). */
    chunkRows?: number;
    /** A warehouse without phase marks (`phase` undefined, as Postgres, BigQuery and Snowflake have none). */
    phaseless?: boolean;
  } = {},
): Promise<RunnerHarness> {
  const logs: Record<string, unknown>[] = [];
  const rawLogs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const raw = JSON.parse(line) as Record<string, unknown>;
        const { time: _t, pid: _p, runId: _r, sync: _s, ...entry } = raw;
        rawLogs.push(raw);
        logs.push(entry);
      }
      done();
    },
  });
  setLogger(createLogger({ level: 'info', destination: sink }));
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
    value: opts.phaseless
      ? undefined
      : async (kind: WarehousePhase, scope?: PhaseScope) => {
          phases.push(scope?.stateRows !== undefined ? `${kind}(${scope.stateRows})` : kind);
          const end = await wh.phase(kind, scope);
          return async () => {
            phases.push(`end ${kind}`);
            await end();
            if (++phaseEnds === harness.phaseEndFails) throw new Error('phase end failed');
          };
        },
  });
  const chunkRows = opts.chunkRows;
  if (chunkRows !== undefined) {
    const stream = faulty.stream.bind(faulty);
    faulty.stream = async function* (sql, options) {
      for await (const rows of stream(sql, options))
        for (let i = 0; i < rows.length; i += chunkRows) yield rows.slice(i, i + chunkRows);
    };
  }
  const clock = { t: T0.getTime() };
  const dest = new MemoryDestination();
  const store = new StateStore(wh, STATE);
  let phaseEnds = 0;
  const harness: RunnerHarness = {
    phaseEndFails: undefined,
    project,
    wh,
    faulty,
    dest,
    store,
    clock,
    phases,
    logs,
    rawLogs,
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
    async runLosingLock() {
      const later = new StateStore(wh, STATE, () => new Date(clock.t));
      class TakenOver extends MemoryDestination {
        override async write(batch: WriteBatch) {
          if (this.batches === 1) {
            clock.t += 120_000;
            await later.acquireLock('users', 'run-b', 60);
          }
          return super.write(batch);
        }
      }
      const taken = new TakenOver();
      taken.batchSize = 5;
      return { summary: await harness.run({ destination: async () => taken }), dest: taken };
    },
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
  return harness;
}

/**
 * A CRM's tasks and owners held in memory (pqlsync's own TaskWriter interface; the CRM writers themselves are
 * tested through the sandbox): one active owner, every record found, `refuse` fails each task with that reason.
 * Every method call counts as one API call.
 */
export class MemoryTaskWriter implements TaskWriter {
  readonly tasks = new Map<string, TaskSpec>();
  refuse: string | undefined;
  calls = 0;
  readonly accountObject = 'Account';
  async listOwners(): Promise<CrmOwner[]> {
    this.calls++;
    return [{ id: 'o1', email: 'ann@example.com', name: 'Ann', active: true }];
  }
  async findRecords(_t: SyncTarget, values: readonly string[]) {
    this.calls++;
    return new Map<string, RoutedRecord>(
      values.map((v) => [v, { id: `rec-${v}`, ownerId: 'o1', object: 'Lead' }]),
    );
  }
  async findAccounts() {
    this.calls++;
    return new Map<string, AccountRecord>();
  }
  async setOwners() {
    this.calls++;
    return new Map<string, string>();
  }
  async updateRecords() {
    this.calls++;
    return new Map<string, string>();
  }
  async writeTasks(tasks: readonly TaskSpec[]): Promise<TaskOutcome[]> {
    this.calls++;
    return tasks.map((t) => {
      if (this.refuse) return { taskKey: t.taskKey, status: 'failed', reason: this.refuse };
      const existed = this.tasks.has(t.taskKey);
      this.tasks.set(t.taskKey, t);
      return { taskKey: t.taskKey, status: 'created', taskId: `task-${this.tasks.size}`, existed };
    });
  }
  apiCalls(): number {
    return this.calls;
  }
  async close(): Promise<void> {}
}
