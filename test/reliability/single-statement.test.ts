/**
 * Model SQL is exactly one statement (issue 23, item 10). A model that closes pqlsync's wrapper
 * (`select * from src.rows) m0 limit 0; delete from src.victim; select * from (select ...`) used to have its DELETE
 * run by `plan`, which is documented as writing nothing. Two walls now: the compiler refuses a `;` that more SQL
 * follows (exit 2, naming the model file and line), and every warehouse adapter runs SQL through a single-statement
 * API, so SQL with two statements fails before either runs, on every warehouse.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PqlsyncError } from '../../src/errors/pqlsync-error.js';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { sqlDialect } from '../../src/warehouse/sql-dialect.js';
import type { WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import {
  bigqueryUnderTest,
  duckdbUnderTest,
  postgresUnderTest,
  redshiftOnPostgresUnderTest,
  snowflakeUnderTest,
} from '../conformance/warehouses.js';
import { runCli } from '../helpers/cli.js';
import { tempProject } from '../helpers/temp-project.js';
import { BASE_CONFIG } from './bad-input-cases.js';

/** What each warehouse answers to two statements in one request (the adapter's message, in full). */
const REFUSALS: Record<string, string> = {
  duckdb: 'DuckDB: expected one SQL statement, found 2; nothing was run',
  postgres: 'Postgres: cannot insert multiple commands into a prepared statement',
  redshift: 'Redshift: cannot insert multiple commands into a prepared statement',
  bigquery:
    'BigQuery: expected one SQL statement, found more (a ";" at line 1:14 is followed by more SQL); nothing was run',
  snowflake: 'Snowflake: Actual statement count 2 did not match the desired statement count 1.',
};

const warehouses = [
  duckdbUnderTest(),
  postgresUnderTest(),
  redshiftOnPostgresUnderTest(),
  bigqueryUnderTest(),
  snowflakeUnderTest(
    { multiStatementCount: 0 },
    'snowflake (sandbox, an account that allows many statements: MULTI_STATEMENT_COUNT=0)',
  ),
];

describe.each(warehouses.map((w) => [w.name, w] as const))('%s runs one statement per call', (_, w) => {
  let wh: WarehouseAdapter;
  let victim: string;

  beforeAll(async () => {
    await w.start();
    wh = await w.open();
    const d = sqlDialect(wh.dialect);
    await wh.ensureSchema('src');
    victim = d.table('src', 'victim');
    await wh.query(`create table ${victim} (id ${d.types.bigint})`);
    await wh.insertRows('src.victim', ['id'], [[1], [2]]);
  }, 120_000);

  afterAll(async () => {
    await wh?.close();
    await w.stop();
  });

  const victimRows = async () => Number((await wh.query(`select count(*) as n from ${victim}`)).rows[0]?.n);

  it('query() refuses two statements and runs neither', async () => {
    const err = await wh.query(`select 1 as a; delete from ${victim}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PqlsyncError);
    expect((err as PqlsyncError).code).toBe('WAREHOUSE_QUERY_FAILED');
    expect((err as PqlsyncError).message).toBe(REFUSALS[w.dialect]);
    expect(await victimRows()).toBe(2);
  });

  it('stream() refuses two statements and runs neither', async () => {
    const read = async () => {
      for await (const chunk of wh.stream(`select 1 as a; delete from ${victim}`)) void chunk;
    };
    const err = await read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PqlsyncError);
    expect((err as PqlsyncError).message).toBe(REFUSALS[w.dialect]);
    expect(await victimRows()).toBe(2);
  });

  it('still runs one statement with a trailing ";"', async () => {
    expect((await wh.query(`select count(*) as n from ${victim};`)).rows).toEqual([{ n: 2 }]);
  });
});

const ONE_QUERY =
  'a ";" ends the statement here and more SQL follows; a model is exactly one query (a ";" may only end it)';

describe('a model that smuggles a statement past its wrapper', () => {
  const SMUGGLER = `/*---
name: scores
key: user_id
---*/
select * from src.rows) m0 limit 0; delete from src.victim; select * from (select user_id, score from src.rows
`;

  it('is refused by plan (exit 2, file and line named) and the victim table keeps its rows', async () => {
    const p = tempProject('pqlsync-smuggle-');
    try {
      p.writeConfig(BASE_CONFIG);
      p.writeModel('scores', SMUGGLER);
      const db = path.join(p.dir, 'wh.duckdb');
      const wh = new DuckdbAdapter({ path: db });
      await wh.connect();
      await wh.query('create schema src');
      await wh.query('create table src.rows as select i as user_id, i * 10 as score from range(1, 4) t(i)');
      await wh.query('create table src.victim as select i as id from range(1, 6) t(i)');
      await wh.close();

      const refusal = (prefix: string) =>
        `${prefix}2 problems in model scores:\n` +
        `  models/scores.sql:5:35: ${ONE_QUERY}\n` +
        `  models/scores.sql:5:59: ${ONE_QUERY}\n` +
        '  hint: fix the SQL at the lines shown\n';
      const calls: [string[], string][] = [
        [['plan', 'users'], refusal('\nusers: models/scores.sql: ')],
        [['run', 'users'], refusal('\nusers: models/scores.sql: ')],
        [['compile', 'scores'], refusal('pqlsync: models/scores.sql: ')],
      ];
      for (const [args, stderr] of calls) {
        const r = await runCli(args, { cwd: p.dir, env: { PQLSYNC_LOG_LEVEL: 'silent' } });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toBe(stderr);
      }

      const after = new DuckdbAdapter({ path: db });
      await after.connect();
      try {
        expect((await after.query('select count(*) as n from src.victim')).rows).toEqual([{ n: 5 }]);
      } finally {
        await after.close();
      }
    } finally {
      p.cleanup();
    }
  }, 120_000);
});
