/**
 * The DuckDB adapter looks a table's columns up once, not before every append (issue 22), and looks again after its
 * own DDL or a rolled-back transaction, so an append never uses a table's old shape. The lookups are counted with a
 * spy that calls through to the real client.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DuckdbAdapter } from '../../../src/warehouse/duckdb/duckdb-adapter.js';

let duck: DuckdbAdapter;
let lookups: number;

beforeEach(async () => {
  lookups = 0;
  const run = DuckDBConnection.prototype.runAndReadAll;
  vi.spyOn(DuckDBConnection.prototype, 'runAndReadAll').mockImplementation(function (
    this: DuckDBConnection,
    ...args: Parameters<typeof run>
  ) {
    if (String(args[0]).includes('duckdb_columns()')) lookups++;
    return run.apply(this, args);
  });
  duck = new DuckdbAdapter({ path: ':memory:' });
  await duck.connect();
  await duck.query('create table t (id integer, name varchar)');
});

afterEach(async () => {
  await duck.close();
  vi.restoreAllMocks();
});

const rowsOf = async (sql: string) => (await duck.query(sql)).rows;

describe('DuckDB column lookup per table', () => {
  it('looks the columns up once for many appends, in and out of transactions', async () => {
    await duck.insertRows('t', ['id', 'name'], [[1, 'a']]);
    await duck.insertRows('t', ['name', 'id'], [['b', 2]]);
    await duck.transaction((tx) => tx.insertRows('t', ['id'], [[3]]));
    expect(lookups).toBe(1);
    expect(await rowsOf('select id, name from t order by id')).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: null },
    ]);
  });

  it('looks again after the adapter drops and recreates the table with its columns in another order', async () => {
    await duck.insertRows('t', ['id', 'name'], [[1, 'a']]);
    await duck.query('drop table t');
    await duck.query('create table t (name varchar, id integer)');
    await duck.insertRows('t', ['id', 'name'], [[2, 'b']]);
    expect(lookups).toBe(2);
    expect(await rowsOf('select id, name from t')).toEqual([{ id: 2, name: 'b' }]);
  });

  it('sees a column added by the adapter, even in a statement after a comment', async () => {
    await duck.insertRows('t', ['id'], [[1]]);
    await duck.query('-- a new column\nalter table t add column score integer');
    await duck.insertRows('t', ['id', 'score'], [[2, 5]]);
    expect(await rowsOf('select id, score from t order by id')).toEqual([
      { id: 1, score: null },
      { id: 2, score: 5 },
    ]);
  });

  it('forgets a table created in a transaction that rolled back', async () => {
    await expect(
      duck.transaction(async (tx) => {
        await tx.query('create table u (id integer)');
        await tx.insertRows('u', ['id'], [[1]]);
        throw new Error('give up');
      }),
    ).rejects.toThrow('give up');
    await expect(duck.insertRows('u', ['id'], [[1]])).rejects.toThrow('DuckDB: no table u');
  });

  it('still refuses a column the table does not have, after looking again', async () => {
    await duck.insertRows('t', ['id'], [[1]]);
    await expect(duck.insertRows('t', ['id', 'nope'], [[2, 'x']])).rejects.toThrow(
      'DuckDB: t has no column nope',
    );
    expect(lookups).toBe(2);
  });
});
