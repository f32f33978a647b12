/**
 * An append outside a transaction (a sync's journal, one per acknowledged batch) commits in a transaction of its
 * own: the appender's flush only fills the transaction and the COMMIT, which writes and syncs the WAL, runs as an
 * asynchronous statement, instead of inside the appender's synchronous flush, where it held the event loop (issue
 * 22). The order of the client's calls is recorded by spies that call through to the real client.
 */
import { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';

let dir: string;
let duck: DuckdbAdapter;
let calls: string[];

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-append-'));
  duck = new DuckdbAdapter({ path: path.join(dir, 'wh.duckdb') });
  await duck.connect();
  await duck.query('create table t (id integer, name varchar)');
  calls = [];
  const run = DuckDBConnection.prototype.run;
  vi.spyOn(DuckDBConnection.prototype, 'run').mockImplementation(function (
    this: DuckDBConnection,
    ...args: Parameters<typeof run>
  ) {
    const sql = String(args[0]);
    if (/^(BEGIN|COMMIT|ROLLBACK)/.test(sql)) calls.push(sql);
    return run.apply(this, args);
  });
  const flush = DuckDBAppender.prototype.flushSync;
  vi.spyOn(DuckDBAppender.prototype, 'flushSync').mockImplementation(function (this: DuckDBAppender) {
    calls.push('flush');
    flush.call(this);
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await duck.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('DuckDB append outside a transaction', () => {
  it('flushes inside a transaction of its own and commits it as a statement', async () => {
    await duck.insertRows(
      't',
      ['id', 'name'],
      [
        [1, 'a'],
        [2, 'b'],
      ],
    );
    expect(calls).toEqual(['BEGIN TRANSACTION', 'flush', 'COMMIT']);
    expect((await duck.query('select id, name from t order by id')).rows).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
  });

  it('inside a transaction, leaves the commit to the transaction', async () => {
    await duck.transaction((tx) => tx.insertRows('t', ['id'], [[1]]));
    expect(calls).toEqual(['BEGIN TRANSACTION', 'flush', 'COMMIT']);
  });

  it('rolls a failed append back: no row of it stays, and the connection takes the next statement', async () => {
    await expect(
      duck.insertRows(
        't',
        ['id', 'name'],
        [
          [1, 'a'],
          ['not a number', 'b'],
        ],
      ),
    ).rejects.toThrow(/^DuckDB: .*not a number/);
    expect(calls.at(-1)).toBe('ROLLBACK');
    await duck.insertRows('t', ['id', 'name'], [[3, 'c']]);
    expect((await duck.query('select id, name from t order by id')).rows).toEqual([{ id: 3, name: 'c' }]);
  });
});
