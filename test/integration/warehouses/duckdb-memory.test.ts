import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { runSync } from '../../../src/runner/run-sync.js';
import { StateStore } from '../../../src/state/state-store.js';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { parseByteSize } from '../../../src/util/byte-size.js';
import { DuckdbAdapter, type DuckdbAdapterOptions } from '../../../src/warehouse/duckdb/duckdb-adapter.js';
import { FaultyWarehouse } from '../../helpers/faulty-warehouse.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

setLogger(createLogger({ level: 'silent' }));

const memoryLimit = async (wh: DuckdbAdapter) =>
  String((await wh.query(`select current_setting('memory_limit') as v`)).rows[0]!.v);

describe('DuckDB: memory limit while streaming', () => {
  let dir: string;
  let wh: DuckdbAdapter;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-duckdb-memory-'));
  });
  const open = async (options: Omit<DuckdbAdapterOptions, 'path'>) => {
    wh = new DuckdbAdapter({ path: path.join(dir, 'wh.duckdb'), ...options });
    await wh.connect();
  };
  afterEach(async () => {
    await wh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps one limit unless stream_memory_limit is set', async () => {
    await open({ memoryLimit: '512MB' });
    const end = await wh.phase('stream');
    expect(await memoryLimit(wh)).toBe('488.2 MiB');
    await end();
  });

  it('lowers memory_limit while only streams are marked, and restores it', async () => {
    await open({ memoryLimit: '512MB', streamMemoryLimit: '64MB' });
    const planLimit = await memoryLimit(wh);
    expect(planLimit).toBe('488.2 MiB');

    const endStream = await wh.phase('stream');
    expect(await memoryLimit(wh)).toBe('61.0 MiB');
    // A plan running alongside (another sync of the scheduler) gets the plan's limit back while it runs.
    const endPlan = await wh.phase('plan');
    expect(await memoryLimit(wh)).toBe(planLimit);
    await endPlan();
    expect(await memoryLimit(wh)).toBe('61.0 MiB');
    await endStream();
    await endStream(); // ending twice is harmless
    expect(await memoryLimit(wh)).toBe(planLimit);
  });

  it("restores DuckDB's own default when memory_limit is not configured, and the buffer pool with it", async () => {
    await open({ streamMemoryLimit: '64MB' });
    const before = parseByteSize(await memoryLimit(wh));
    const end = await wh.phase('stream');
    expect(await memoryLimit(wh)).toBe('61.0 MiB');
    await end();
    // As DuckDB reported it, to a tenth of its unit.
    expect(Math.abs(parseByteSize(await memoryLimit(wh)) - before)).toBeLessThan(0.11 * 1024 ** 3);
    // The buffer pool is back too: a 150 MB in-memory table stays in memory instead of spilling to disk (after
    // `reset memory_limit` DuckDB reports its default but its pool stays at the lower limit).
    await wh.query(
      `create table pqlsync_scratch.big as select i, repeat('x', 120) || i as v from range(1000000) t(i)`,
    );
    const spilled = await wh.query(`select sum(temporary_storage_bytes) as n from duckdb_memory()`);
    expect(Number(spilled.rows[0]!.n)).toBe(0);
  });

  it('gives each stream marked the stream limit, plus 8 bytes per snapshot row for its deletes', async () => {
    await open({ memoryLimit: '1GB', streamMemoryLimit: '64MB' });
    const endA = await wh.phase('stream', { stateRows: 1_000_000 });
    expect(await memoryLimit(wh)).toBe('68.6 MiB'); // 72,000,000 bytes
    const endB = await wh.phase('stream', { stateRows: 10_000_000 });
    expect(await memoryLimit(wh)).toBe('205.9 MiB'); // 2 x 64 + 8 + 80 MB
    await endA();
    expect(await memoryLimit(wh)).toBe('137.3 MiB');
    // A snapshot too large for the stream limit to be lower than memory_limit: memory_limit throughout.
    const endC = await wh.phase('stream', { stateRows: 200_000_000 });
    expect(await memoryLimit(wh)).toBe('953.6 MiB');
    await endC();
    await endB();
    expect(await memoryLimit(wh)).toBe('953.6 MiB');
  });

  it('never raises the limit: a stream limit above memory_limit changes nothing', async () => {
    await open({ memoryLimit: '64MB', streamMemoryLimit: '256MB' });
    const end = await wh.phase('stream');
    expect(await memoryLimit(wh)).toBe('61.0 MiB');
    await end();
  });

  it('streams under memory_limit when DuckDB cannot lower it', async () => {
    await open({ memoryLimit: '1GB', streamMemoryLimit: '16MB' });
    // DuckDB's real refusal: more than the new limit is pinned. An open transaction's 4,000 deletes spread over
    // 1,953 vectors (about 34 MB DuckDB cannot evict) also keep the checkpoint before lowering from running; a
    // 10M-row snapshot's deletes did the same in the bench.
    await wh.query('create table t as select i from range(4000000) t(i)');
    await wh.query('checkpoint');
    const warnings: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        warnings.push(chunk.toString());
        done();
      },
    });
    setLogger(createLogger({ level: 'warn', destination }));
    try {
      await wh.transaction(async (tx) => {
        await tx.query('delete from t where i % 1000 = 0');
        const end = await wh.phase('stream');
        expect(await memoryLimit(wh)).toBe('953.6 MiB');
        await end();
      });
    } finally {
      setLogger(createLogger({ level: 'silent' }));
    }
    expect(await memoryLimit(wh)).toBe('953.6 MiB');
    expect(warnings.join('\n')).toContain('Out of Memory Error: Failed to change memory limit');
  });

  it('names the way out of DuckDB running out of memory in a delete, and of what follows in that process', async () => {
    await open({ memoryLimit: '1GB' });
    await wh.query('create table t as select i from range(4000000) t(i)');
    await wh.query('checkpoint');
    await wh.query(`set memory_limit = '16MB'`);
    // 4,000 deletes spread over 1,953 vectors: about 34 MB DuckDB cannot evict.
    const deleteSome = () => wh.transaction((tx) => tx.query('delete from t where i % 1000 = 0'));
    await expect(deleteSome()).rejects.toMatchObject({
      message: expect.stringContaining('Out of Memory Error'),
      hint: expect.stringContaining('raise warehouse.memory_limit'),
    });
    await wh.query(`set memory_limit = '1GB'`);
    // DuckDB 1.5 then refuses those rows' deletion until the database is reopened.
    const again = await deleteSome().then(
      () => undefined,
      (err: unknown) => err,
    );
    if (again !== undefined) {
      expect(again).toMatchObject({
        message: expect.stringContaining('Conflict on tuple deletion'),
        hint: expect.stringContaining('clears when the database is reopened'),
      });
    }
  });

  it('checkpoints once a table has a full row group of appended rows', async () => {
    const file = path.join(dir, 'wh.duckdb');
    await open({});
    await wh.query('create table t (key varchar, v varchar)');
    const wal = () => (existsSync(`${file}.wal`) ? statSync(`${file}.wal`).size : 0);
    const batch = (start: number) =>
      Array.from({ length: 10_000 }, (_, i) => [String(start + i), `value ${start + i} `.repeat(8)]);
    // 12 commits of 10,000 rows: 120,000, short of a row group (122,880); all still in the WAL.
    for (let b = 0; b < 12; b++)
      await wh.transaction((tx) => tx.insertRows('t', ['key', 'v'], batch(b * 10_000)));
    expect(wal()).toBeGreaterThan(5_000_000);
    // The 13th fills a row group: checkpointed, the WAL emptied.
    await wh.transaction((tx) => tx.insertRows('t', ['key', 'v'], batch(120_000)));
    expect(wal()).toBeLessThan(100_000);
    const groups = await wh.query(
      `select row_group_id, max(count) as n from pragma_storage_info('t') group by 1 order by 1`,
    );
    expect(groups.rows.map((r) => Number(r.n))).toEqual([122_880, 7_120]);
  });

  it("stores the snapshot's distinct text with FSST, skipping DuckDB's dictionary analysis", async () => {
    await open({});
    const store = new StateStore(wh, 'pqlsync_state');
    await store.ensureStateTables();
    await store.ensureSyncTables('users');
    // Few distinct values: left to choose, DuckDB stores them as a dictionary (the plain table below shows it).
    const rows = Array.from({ length: 5_000 }, (_, i) => [
      `k${i % 3}`,
      `h${i % 3}`,
      `{"v":${i % 3}}`,
      'hot',
      null,
      '2026-11-25T00:00:00Z',
      'run',
    ]);
    const columns = ['key', 'row_hash', 'values_json', 'tier', 'destination_id', 'synced_at', 'run_id'];
    await wh.query(`create table plain as select * from pqlsync_state.users__snapshot limit 0`);
    await wh.insertRows('pqlsync_state.users__snapshot', columns, rows);
    await wh.insertRows('plain', columns, rows);
    await wh.query('checkpoint');
    const compression = async (table: string) =>
      Object.fromEntries(
        (
          await wh.query(
            `select column_name, min(compression) as c from pragma_storage_info('${table}') where segment_type = 'VARCHAR' group by 1`,
          )
        ).rows.map((r) => [String(r.column_name), String(r.c)]),
      );
    expect(await compression('pqlsync_state.users__snapshot')).toMatchObject({
      key: 'FSST',
      row_hash: 'FSST',
      values_json: 'FSST',
      tier: expect.not.stringMatching(/FSST/),
    });
    expect(await compression('plain')).toMatchObject({ key: 'Dictionary', values_json: 'Dictionary' });
  });

  it('parses DuckDB sizes', () => {
    expect(parseByteSize('32MB')).toBe(32_000_000);
    expect(parseByteSize('18.8 GiB')).toBeCloseTo(18.8 * 1024 ** 3);
    expect(parseByteSize('512 KiB')).toBe(524_288);
    expect(parseByteSize('100')).toBe(100);
    expect(parseByteSize('lots')).toBeNaN();
  });
});

describe('DuckDB: a run streams under the stream memory limit', () => {
  let p: TempProject;
  let wh: DuckdbAdapter;

  beforeEach(async () => {
    p = tempProject();
    p.writeModel(
      'scores',
      `/*---\nname: scores\nkey: user_id\n---*/\nselect user_id, 'u' || user_id || '@example.com' as email from range(1, 501) t(user_id)\n`,
    );
    p.writeConfig(
      [
        'warehouse: { type: duckdb, path: wh.duckdb, memory_limit: 1GB, stream_memory_limit: 48MB }',
        'destinations: { crm: { type: file, path: out } }',
        'syncs:',
        '  users: { model: scores, destination: crm, object: Lead, match: { field: Ext__c }, fields: { Email: email } }',
      ].join('\n'),
    );
    wh = new DuckdbAdapter({
      path: `${p.dir}/wh.duckdb`,
      memoryLimit: '1GB',
      streamMemoryLimit: '48MB',
    });
    await wh.connect();
  });
  afterEach(async () => {
    await wh.close();
    p.cleanup();
  });

  it('writes under stream_memory_limit and ends the run under memory_limit', async () => {
    const dest = new MemoryDestination();
    const seen: string[] = [];
    const write = dest.write.bind(dest);
    dest.write = async (batch) => {
      seen.push(await memoryLimit(wh));
      return write(batch);
    };
    const loaded = loadConfig(p.configPath);
    const s = await runSync({ loaded, warehouse: wh, syncName: 'users', destination: async () => dest });
    expect(s.status).toBe('success');
    expect(s.counts.applied).toBe(500);
    expect(new Set(seen)).toEqual(new Set(['45.7 MiB']));
    expect(await memoryLimit(wh)).toBe('953.6 MiB');
  });

  it('prunes resolved failures under memory_limit, after the stream, and only when there are failures', async () => {
    // At 10M rows, pruning under the stream limit ran out of memory: it joins the whole plan and snapshot.
    const dest = new MemoryDestination();
    dest.rejectKeys.set('7', 'REQUIRED_FIELD_MISSING');
    const prunes: string[] = [];
    const observed = new FaultyWarehouse(wh, [
      {
        method: 'query',
        match: /^delete from \S+__failures" where key in \(\s*select f\.key/,
        before: async () => void prunes.push(await memoryLimit(wh)),
      },
    ]);
    const loaded = loadConfig(p.configPath);
    const run = () =>
      runSync({ loaded, warehouse: observed, syncName: 'users', destination: async () => dest });
    expect((await run()).status).toBe('partial');
    expect(prunes).toEqual(['953.6 MiB']);
    expect((await run()).status).toBe('partial'); // retried, refused again
    expect(prunes).toEqual(['953.6 MiB', '953.6 MiB']);
    // Accepted: its commit takes it out of failures, so there is nothing left to prune and the joins are skipped.
    dest.rejectKeys.clear();
    expect((await run()).counts.applied).toBe(1);
    expect(await new StateStore(wh, 'pqlsync_state').failures('users')).toEqual([]);
    expect(prunes).toHaveLength(2);
  });
});
