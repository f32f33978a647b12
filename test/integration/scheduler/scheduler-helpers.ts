/**
 * Shared set-up for the scheduler tests: a temp project whose `users` and `accounts` syncs read a DuckDB table,
 * and a destination that can hold a write until the test releases it.
 */
import type { RecordOutcome, WriteBatch } from '../../../src/destination/destination.js';
import { loadConfig, type LoadedConfig } from '../../../src/config/load-config.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

export const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score,
  case when score >= 90 then 'hot' when score >= 40 then 'pql' else 'nurture' end as tier
from src.users
`;

/** Config with `users` on `usersSchedule`, and `accounts` depending on it; `extra` is appended verbatim. */
export function schedulerConfig(
  options: { usersSchedule?: string; accounts?: string; extra?: string } = {},
): string {
  return `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    fields: { Email: email, Score__c: score, Tier__c: tier }
    schedule: "${options.usersSchedule ?? '*/5 * * * *'}"
  accounts:
    model: scores
    destination: crm
    object: Account
    match: { field: Ext__c, column: user_id }
    fields: { Email: email }
    depends_on: [users]
${options.accounts ?? ''}
${options.extra ?? ''}`;
}

export interface SchedulerFixture {
  p: TempProject;
  wh: DuckdbAdapter;
  load(): LoadedConfig;
  cleanup(): Promise<void>;
}

/** A project with `rows` users (score = user_id * 7 % 100) in a DuckDB file, connected. */
export async function schedulerFixture(configText: string, rows = 300): Promise<SchedulerFixture> {
  const p = tempProject('pqlsync-sched-');
  p.writeModel('scores', MODEL);
  p.writeConfig(configText);
  const wh = new DuckdbAdapter({ path: `${p.dir}/wh.duckdb` });
  await wh.connect();
  await wh.query('create schema src');
  await wh.query(
    `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, (i * 7) % 100 as score
     from range(1, ${rows + 1}) t(i)`,
  );
  return {
    p,
    wh,
    load: () => loadConfig(p.configPath),
    cleanup: async () => {
      await wh.close();
      p.cleanup();
    },
  };
}

/** A MemoryDestination whose writes can be held at a chosen batch until `release()`. */
export class GatedDestination extends MemoryDestination {
  /** Writes from this many finished batches on are held. (Default: never) */
  holdFrom = Number.POSITIVE_INFINITY;
  active = 0;
  maxActive = 0;
  private released = false;
  /** Writes held so far. */
  heldCount = 0;
  private waiters: (() => void)[] = [];
  private heldListeners: { n: number; resolve: () => void }[] = [];

  override async write(batch: WriteBatch): Promise<RecordOutcome[]> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.batches >= this.holdFrom && !this.released) {
        this.heldCount++;
        for (const l of this.heldListeners.filter((x) => x.n <= this.heldCount)) l.resolve();
        this.heldListeners = this.heldListeners.filter((x) => x.n > this.heldCount);
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
      return await super.write(batch);
    } finally {
      this.active--;
    }
  }

  /** Resolves once `n` writes (in all) have been held. */
  held(n = 1): Promise<void> {
    if (this.heldCount >= n) return Promise.resolve();
    return new Promise((resolve) => this.heldListeners.push({ n, resolve }));
  }

  release(): void {
    this.released = true;
    for (const w of this.waiters.splice(0)) w();
  }
}
