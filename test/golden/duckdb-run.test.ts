/**
 * Runs the compiled DuckDB output of the fixture models on a real in-memory DuckDB (through the DuckDB adapter),
 * so the golden SQL is known to parse, bind and compute what the model means.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/model/compile-model.js';
import { listModels, loadModel } from '../../src/model/model-file.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';

const FIXTURES = 'test/golden/fixtures/models';
const db = new DuckdbAdapter({ path: ':memory:' });

/** Timestamps relative to now, as DuckDB literals, so the 14-day window is meaningful whatever the date. */
const daysAgo = (n: number): string => `current_timestamp - to_days(${n})`;

beforeAll(async () => {
  await db.connect();
  await db.query('create schema app');
  await db.query('create table app.events (user_id varchar, occurred_at timestamptz, source varchar)');
  await db.query(
    'create table app.users (user_id varchar, account_id varchar, is_internal boolean, signup_at timestamptz)',
  );
  await db.query('create table app.accounts (account_id varchar)');
  const events: string[] = [];
  const add = (user: string, n: number, age: number, source = 'web'): void => {
    for (let i = 0; i < n; i++) events.push(`('${user}', ${daysAgo(age)}, '${source}')`);
  };
  add('u_hot', 12, 2); // 12 recent web events: hot
  add('u_warm', 4, 3); // 4: warm (>= min_events 3)
  add('u_warm', 9, 40); // too old for the 14-day window
  add('u_cold', 1, 1); // cold: filtered out by the default tiers [hot, warm]
  add('u_app', 20, 1, 'app'); // another source
  add('u_internal', 15, 1); // internal user, excluded by default
  await db.query(`insert into app.events values ${events.join(', ')}`);
  await db.query(
    `insert into app.users values ('u_hot', 'a1', false, ${daysAgo(5)}), ('u_warm', 'a1', false, ${daysAgo(10)}),
     ('u_cold', 'a2', false, ${daysAgo(50)}), ('u_app', 'a2', false, ${daysAgo(1)}), ('u_internal', 'a1', true, ${daysAgo(2)})`,
  );
  await db.query(`insert into app.accounts values ('a1'), ('a2')`);
});
afterAll(async () => {
  await db.close();
});

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

describe('fixture models on DuckDB', () => {
  it('pql_users computes scores, tiers and row hashes from bound defaults', async () => {
    const compiled = compileModel(await loadModel(FIXTURES, 'pql_users', 'duckdb'), { dialect: 'duckdb' });
    const { rows } = await db.query(compiled);
    expect(rows).toEqual([
      { user_id: 'u_hot', events: 12, score: 6, tier: 'hot', note: ':not_a_param', row_hash: md5('6.0|hot') },
      {
        user_id: 'u_warm',
        events: 4,
        score: 2,
        tier: 'warm',
        note: ':not_a_param',
        row_hash: md5('2.0|warm'),
      },
    ]);
  });

  it('pql_users honours --vars for arrays, booleans, strings, enums and dates', async () => {
    const model = await loadModel(FIXTURES, 'pql_users', 'duckdb');
    const cold = compileModel(model, { dialect: 'duckdb', vars: { tiers: ['cold'], order_dir: 'asc' } });
    expect((await db.query(cold)).rows.map((r) => r.user_id)).toEqual(['u_cold']);
    const internal = compileModel(model, {
      dialect: 'duckdb',
      configParams: { include_internal: true, tiers: ['hot'] },
      vars: { source: 'web' },
    });
    expect((await db.query(internal)).rows.map((r) => r.user_id)).toEqual(['u_internal', 'u_hot']);
    const longAgo = compileModel(model, { dialect: 'duckdb', vars: { as_of: '2000-01-01' } });
    expect((await db.query(longAgo)).rows).toEqual([]);
  });

  it('every fixture model runs on DuckDB with its defaults', async () => {
    for (const name of await listModels(FIXTURES)) {
      const compiled = compileModel(await loadModel(FIXTURES, name, 'duckdb'), { dialect: 'duckdb' });
      await expect(db.query(compiled), name).resolves.toHaveProperty('rows');
    }
    const accounts = compileModel(await loadModel(FIXTURES, 'pqa_accounts', 'duckdb'), { dialect: 'duckdb' });
    const rows = (await db.query(accounts)).rows.sort((a, b) =>
      String(a.account_id).localeCompare(String(b.account_id)),
    );
    expect(rows).toEqual([
      { account_id: 'a1', active_users: 3, tier: 'hot' },
      { account_id: 'a2', active_users: 1, tier: 'warm' },
    ]);
  });
});
