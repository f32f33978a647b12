/**
 * The journal's fold runs under memory_limit, not stream_memory_limit: it is a bulk MERGE of the whole run's
 * outcomes, like the plan, and under a stream limit that commits every batch it ran out of memory (the bench's 1M-row
 * first sync under 32MB: "failed to pin block of size 256 KiB"). Here 5,000 rows of 2 KB under 16MB reproduce it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { runSync } from '../../../src/runner/run-sync.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const ROWS = 5000;

describe('DuckDB: the journal fold after the stream', () => {
  const opened: { p?: TempProject; wh?: DuckdbAdapter } = {};
  afterEach(async () => {
    await opened.wh?.close();
    opened.p?.cleanup();
  });

  it('gives a fold the stream limit but at least 64MB, plus 8 bytes per row it deletes, never above memory_limit', async () => {
    const p = (opened.p = tempProject());
    const limit = async (streamMemoryLimit: string, memoryLimit = '1GB') => {
      await opened.wh?.close();
      const wh = (opened.wh = new DuckdbAdapter({
        path: `${p.dir}/wh.duckdb`,
        memoryLimit,
        streamMemoryLimit,
      }));
      await wh.connect();
      const end = await wh.phase('fold', { stateRows: 1_000_000 });
      const v = String((await wh.query(`select current_setting('memory_limit') as v`)).rows[0]!.v);
      await end();
      return v;
    };
    expect(await limit('32MB')).toBe('68.6 MiB'); // 64 + 8 MB
    expect(await limit('96MB')).toBe('99.1 MiB'); // 96 + 8 MB
    expect(await limit('32MB', '70MB')).toBe('66.7 MiB'); // memory_limit, 70 MB
  });

  it('folds a first sync whose journal outgrows stream_memory_limit, under at least 64MB', async () => {
    const p = (opened.p = tempProject());
    const wh = (opened.wh = new DuckdbAdapter({
      path: `${p.dir}/wh.duckdb`,
      memoryLimit: '1GB',
      streamMemoryLimit: '16MB',
    }));
    await wh.connect();
    // About 2 KB of text a row: 10 MB of journal for the fold, in 100-row batches the stream commits under 16MB.
    await wh.query('create schema bench');
    await wh.query(`create table bench.scores as select i as user_id, 'u' || i || '@example.com' as email,
      repeat(md5(i::varchar), 64) as reasons from range(1, ${ROWS + 1}) t(i)`);
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, email, reasons from bench.scores\n`,
    );
    p.writeConfig(
      [
        'warehouse: { type: duckdb, path: wh.duckdb, memory_limit: 1GB, stream_memory_limit: 16MB }',
        'destinations: { crm: { type: file, path: out } }',
        'syncs:',
        '  users: { model: scores, destination: crm, object: Lead, match: { field: Ext__c }, fields: { Email: email, Reasons__c: reasons } }',
      ].join('\n'),
    );
    const dest = new MemoryDestination();
    dest.batchSize = 100;
    const limits: string[] = [];
    const observed = new FaultyWarehouse(wh, [
      {
        method: 'query',
        match: /^merge into \S+__snapshot"/,
        before: async () =>
          void limits.push(
            String((await wh.query(`select current_setting('memory_limit') as v`)).rows[0]!.v),
          ),
      },
    ]);
    const loaded = loadConfig(p.configPath);
    const s = await runSync({
      loaded,
      warehouse: observed,
      syncName: 'users',
      destination: async () => dest,
    });
    // Before: every row sent and acknowledged (applied 5000), then the fold failed: "Out of Memory Error: failed to
    // pin block of size 256.0 KiB (15.1 MiB/15.2 MiB used)" or "could not allocate block".
    expect({ status: s.status, applied: s.counts.applied, error: s.error?.message }).toEqual({
      status: 'success',
      applied: ROWS,
      error: undefined,
    });
    // 64MB (FOLD_MIN_BYTES), above the stream's 16MB, plus 8 bytes for each of the 5,000 journal rows it deletes.
    expect(limits).toEqual(['61.0 MiB']); // 64,040,000 bytes
    const { rows } = await wh.query(`select count(*) as n from pqlsync_state.users__snapshot`);
    expect(Number(rows[0]!.n)).toBe(ROWS);
    const journal = await wh.query(`select count(*) as n from pqlsync_state.users__journal`);
    expect(Number(journal.rows[0]!.n)).toBe(0);
  });
});
