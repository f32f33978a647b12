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
  // The adapter's own statements go through extractStatements; only the column lookup prepares on the connection.
  const prepare = DuckDBConnection.prototype.prepare;
  vi.spyOn(DuckDBConnection.prototype, 'prepare').mockImplementation(function (
    this: DuckDBConnection,
    ...args: Parameters<typeof prepare>
  ) {
    lookups++;
    return prepare.apply(this, args);
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

  it("reads the columns of the table it appends to, not those of another database's table of the same name", async () => {
    // The adapter's scratch database has a schema `main` too; a lookup by schema and table name over every
    // attached database (duckdb_columns()) mixed both tables' columns.
    await duck.query('create table pqlsync_scratch.main.t (other integer, columns varchar, here integer)');
    await duck.insertRows('t', ['id', 'name'], [[1, 'a']]);
    expect(await rowsOf('select id, name from t')).toEqual([{ id: 1, name: 'a' }]);
  });

  it('still refuses a column the table does not have, after looking again', async () => {
    await duck.insertRows('t', ['id'], [[1]]);
    await expect(duck.insertRows('t', ['id', 'nope'], [[2, 'x']])).rejects.toThrow(
      'DuckDB: t has no column nope',
    );
    expect(lookups).toBe(2);
  });
});
