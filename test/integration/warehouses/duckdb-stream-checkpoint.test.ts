/**
 * Lowering DuckDB's memory_limit to stream_memory_limit checkpoints first only when DuckDB holds more than the lower
 * limit (issue 22): a small run's plan leaves nothing to evict, and its checkpoint was the costliest part of
 * starting to stream. The statements are recorded by a spy that calls through to the real client.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, setLogger } from '../../../src/util/logger.js';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';

setLogger(createLogger({ level: 'silent' }));

let dir: string;
let wh: DuckdbAdapter;
let checkpoints: number;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-stream-checkpoint-'));
  checkpoints = 0;
  const extract = DuckDBConnection.prototype.extractStatements;
  vi.spyOn(DuckDBConnection.prototype, 'extractStatements').mockImplementation(function (
    this: DuckDBConnection,
    sql: string,
  ) {
    if (/^\s*checkpoint\b/i.test(sql)) checkpoints++;
    return extract.call(this, sql);
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

const memoryLimit = async () =>
  String((await wh.query(`select current_setting('memory_limit') as v`)).rows[0]!.v);

describe('DuckDB: the checkpoint before streaming', () => {
  it('is skipped when DuckDB holds less than the stream limit, which is set all the same', async () => {
    wh = new DuckdbAdapter({
      path: path.join(dir, 'wh.duckdb'),
      memoryLimit: '512MB',
      streamMemoryLimit: '64MB',
    });
    await wh.connect();
    await wh.query('create table t as select i, md5(i::varchar) as h from range(10000) r(i)');
    await wh.query('create table pqlsync_scratch.plan as select * from t');
    const end = await wh.phase('stream');
    expect(await memoryLimit()).toBe('61.0 MiB');
    expect(checkpoints).toBe(0);
    await end();
    expect(await memoryLimit()).toBe('488.2 MiB');
  });

  it('runs when DuckDB holds more than the stream limit', async () => {
    wh = new DuckdbAdapter({
      path: path.join(dir, 'wh.duckdb'),
      memoryLimit: '1GB',
      streamMemoryLimit: '16MB',
    });
    await wh.connect();
    // An in-memory plan table of about 50 MB, held by DuckDB's buffer manager.
    await wh.query(
      `create table pqlsync_scratch.plan as select i, repeat(md5(i::varchar), 3) as v from range(500000) r(i)`,
    );
    const end = await wh.phase('stream');
    expect(checkpoints).toBe(1);
    await end();
  });
});
