/**
 * A run whose state cannot be written any more (the warehouse's disk fills up mid-run): its error must survive.
 * The run keeps it in the local fallback file (`.pqlsync/unrecorded-runs/` beside the config) and the next run
 * writes it into the runs row, instead of the row staying `running` and later reading "abandoned".
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { RunSummary } from '../../src/runner/run-sync.js';
import { runSyncs } from '../../src/runner/run-syncs.js';
import { StateStore } from '../../src/state/state-store.js';
import { createLogger, setLogger } from '../../src/util/logger.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import { MemoryDestination } from '../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const DISK_FULL = 'IO Error: Could not write file "wh.duckdb.wal": No space left on device (errno 28)';

const MODEL = `/*---
name: scores
key: user_id
---*/
select user_id, email, score from src.users
`;

const CONFIG = `warehouse: { type: duckdb, path: wh.duckdb }
destinations:
  crm: { type: file, path: out }
syncs:
  users:
    model: scores
    destination: crm
    object: Lead
    match: { field: Ext__c, column: user_id }
    fields: { Email: email, Score__c: score }
`;

describe('a run whose state writes fail (disk full)', () => {
  let p: TempProject;
  let wh: DuckdbAdapter;

  beforeEach(async () => {
    p = tempProject('pqlsync-rel-diskfull-');
    p.writeModel('scores', MODEL);
    p.writeConfig(CONFIG);
    wh = new DuckdbAdapter({ path: path.join(p.dir, 'wh.duckdb') });
    await wh.connect();
    await wh.query('create schema src');
    await wh.query(
      `create table src.users as select i as user_id, 'u' || i || '@example.com' as email, i % 100 as score from range(1, 301) t(i)`,
    );
  });

  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  const run = async (warehouse: WarehouseAdapter, dest: MemoryDestination): Promise<RunSummary> => {
    const [s] = await runSyncs({
      loaded: loadConfig(p.configPath),
      syncs: ['users'],
      warehouse,
      destination: () => Promise.resolve(dest),
    });
    if (!s) throw new Error('no summary');
    return s;
  };

  it('keeps the error locally; the next run writes it into the runs row and forgets the file', async () => {
    // Once the CRM has answered the first batch, every write to the warehouse fails as a full disk does.
    const dest = new MemoryDestination();
    let full = false;
    const write = dest.write.bind(dest);
    dest.write = async (batch) => {
      const outcomes = await write(batch);
      full = true;
      return outcomes;
    };
    const query = wh.query.bind(wh);
    const transaction = wh.transaction.bind(wh);
    const filling = Object.create(wh) as DuckdbAdapter;
    filling.query = (sql) => (full ? Promise.reject(new Error(DISK_FULL)) : query(sql));
    filling.transaction = (fn) => (full ? Promise.reject(new Error(DISK_FULL)) : transaction(fn));

    const failed = await run(filling, dest);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toBe(DISK_FULL);
    const file = path.join(p.dir, 'config', '.pqlsync', 'unrecorded-runs', 'pqlsync_state.users.jsonl');
    const kept = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(kept).toEqual([
      expect.objectContaining({
        runId: failed.runId,
        sync: 'users',
        stateSchema: 'pqlsync_state',
        error: DISK_FULL,
        counts: failed.counts,
      }),
    ]);
    // What a full disk leaves: the row still `running`, the lock still there (released here as its lease would).
    const store = new StateStore(wh, 'pqlsync_state');
    expect((await store.listRuns('users', 1))[0]?.status).toBe('running');
    await wh.query(`update pqlsync_state.locks set expires_at = timestamp '2000-01-01'`);

    const next = await run(wh, new MemoryDestination());
    expect(next.status).toBe('success');
    const runs = await wh.query(
      `select status, error, added from pqlsync_state.runs where run_id = '${failed.runId}'`,
    );
    expect(runs.rows).toEqual([
      {
        status: 'failed',
        error: `${DISK_FULL}\n  (recorded by the next run: the state tables could not be written when this run ended)`,
        added: 300,
      },
    ]);
    expect(existsSync(file)).toBe(false);
  });
});
