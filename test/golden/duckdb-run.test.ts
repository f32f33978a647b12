/**
 * Runs the compiled DuckDB output of the fixture models on a real in-memory DuckDB (through the DuckDB adapter),
 * so the golden SQL is known to parse, bind and compute what the model means; and the example models in
 * `models/` against the demo schema's (empty) tables.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/model/compile-model.js';
import { listModels, loadModel } from '../../src/model/model-file.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { EXPECTED_ACCOUNTS, fixtureStatements } from './fixture-data.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/models/', import.meta.url));
const MODELS = fileURLToPath(new URL('../../models/', import.meta.url));
const DEMO_SCHEMA = fileURLToPath(new URL('../../sql/demo/schema.sql', import.meta.url));
const db = new DuckdbAdapter({ path: ':memory:' });

beforeAll(async () => {
  await db.connect();
  for (const sql of fixtureStatements((n) => `current_timestamp - to_days(${n})`)) await db.query(sql);
});
afterAll(async () => {
  await db.close();
});

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
const byAccount = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  String(a.account_id).localeCompare(String(b.account_id));

describe('fixture models on DuckDB', () => {
  it('pql_users computes scores, tiers and row hashes from bound defaults', async () => {
    const compiled = compileModel(await loadModel(FIXTURES, 'pql_users', 'duckdb'), { dialect: 'duckdb' });
    const { rows } = await db.query(compiled);
    // DuckDB renders the double 6 as '6.0' in the row hash (Postgres says '6'): hashes are per engine.
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

  it('pql_users as of a past date scores the window before it (days_ago counts back from as_of)', async () => {
    const asOf = new Date(Date.now() - 35 * 86_400_000).toISOString().slice(0, 10);
    const model = await loadModel(FIXTURES, 'pql_users', 'duckdb');
    const { rows } = await db.query(compileModel(model, { dialect: 'duckdb', vars: { as_of: asOf } }));
    // Only u_warm's 9 events from 40 days ago fall in [as_of - 14 days, as_of).
    expect(rows.map((r) => [r.user_id, r.events, r.tier])).toEqual([['u_warm', 9, 'warm']]);
  });

  it('every fixture model runs on DuckDB with its defaults', async () => {
    const names = await listModels(FIXTURES);
    expect(names).toEqual(['pqa_accounts', 'pql_users']);
    for (const name of names) {
      const compiled = compileModel(await loadModel(FIXTURES, name, 'duckdb'), { dialect: 'duckdb' });
      await expect(db.query(compiled), name).resolves.toHaveProperty('rows');
    }
    const accounts = compileModel(await loadModel(FIXTURES, 'pqa_accounts', 'duckdb'), { dialect: 'duckdb' });
    expect((await db.query(accounts)).rows.sort(byAccount)).toEqual(EXPECTED_ACCOUNTS);
  });
});

describe('example models on DuckDB', () => {
  it('every model in models/ compiles and runs with its defaults against the demo schema (empty tables)', async () => {
    const demo = new DuckdbAdapter({ path: ':memory:' });
    await demo.connect();
    try {
      // The demo schema file is plain statements separated by `;` at line ends.
      const statements = readFileSync(DEMO_SCHEMA, 'utf8').split(/;\s*\n/);
      for (const sql of statements.map((s) => s.trim()).filter(Boolean)) await demo.query(sql);
      const names = await listModels(MODELS);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        const compiled = compileModel(await loadModel(MODELS, name, 'duckdb'), { dialect: 'duckdb' });
        await expect(demo.query(compiled), name).resolves.toMatchObject({ rows: [] });
      }
    } finally {
      await demo.close();
    }
  });
});
