/**
 * The Snowflake sandbox refuses what Snowflake refuses: an unqualified CREATE [TEMPORARY] TABLE in a session
 * without a current schema (a login naming no schema, or one that does not exist, and a user without
 * DEFAULT_NAMESPACE). See https://docs.snowflake.com/en/sql-reference/sql/use-schema. Driven by the real
 * snowflake-sdk through the adapter.
 */
import { afterEach, expect, it } from 'vitest';
import { PqlsyncError } from '../../../src/errors/pqlsync-error.js';
import {
  SnowflakeSandbox,
  type SnowflakeSandboxOptions,
} from '../../../src/warehouse/snowflake/sandbox/snowflake-sandbox.js';
import { SnowflakeAdapter } from '../../../src/warehouse/snowflake/snowflake-adapter.js';

const opened: { sandbox: SnowflakeSandbox; wh: SnowflakeAdapter }[] = [];
afterEach(async () => {
  for (const { sandbox, wh } of opened.splice(0)) {
    await wh.close();
    await sandbox.stop();
  }
});

async function session(account: SnowflakeSandboxOptions, schema?: string): Promise<SnowflakeAdapter> {
  const sandbox = new SnowflakeSandbox({ username: 'u', password: 'pw-1', ...account });
  const url = await sandbox.start();
  const wh = new SnowflakeAdapter({
    account: 'a',
    username: 'u',
    password: 'pw-1',
    database: 'SANDBOX',
    ...(schema ? { schema } : {}),
    accessUrl: url,
  });
  opened.push({ sandbox, wh });
  await wh.connect();
  return wh;
}

const refusal = (what: string) =>
  `Snowflake: Cannot perform ${what}. This session does not have a current schema. Call 'USE SCHEMA', or use a qualified name.`;

it('without a current schema, an unqualified temporary or plain table is refused; a qualified one is created', async () => {
  const wh = await session({});
  const err = (await wh
    .query('create or replace temporary table t1 as select 1 as x')
    .catch((e: unknown) => e)) as PqlsyncError;
  expect(err).toBeInstanceOf(PqlsyncError);
  expect(err.message).toBe(refusal('CREATE TEMPTABLE'));
  expect(err.details).toMatchObject({ code: '090106', sqlState: '22000' });
  await expect(wh.query('create table "T2" (x integer)')).rejects.toThrow(refusal('CREATE TABLE'));
  await wh.query('create or replace temporary table "PUBLIC"."T1" as select 1 as x');
  expect((await wh.query('select x from "PUBLIC"."T1"')).rows).toEqual([{ x: 1 }]);
});

it('a login naming a schema that does not exist leaves the session without one, as in Snowflake', async () => {
  const wh = await session({}, 'NO_SUCH_SCHEMA');
  await expect(wh.query('create temporary table t1 as select 1 as x')).rejects.toThrow(
    refusal('CREATE TEMPTABLE'),
  );
});

it("the login's schema, or the user's default namespace, is the current schema", async () => {
  const named = await session({}, 'PUBLIC');
  await named.query('create temporary table t1 as select 1 as x');
  const byDefault = await session({ defaultSchema: 'PUBLIC' });
  await byDefault.query('create temporary table t1 as select 1 as x');
  expect((await byDefault.query('select x from t1')).rows).toEqual([{ x: 1 }]);
});
