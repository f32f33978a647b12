/**
 * The warehouses the conformance suite runs against. Each entry starts what it needs once (a Postgres server,
 * a local BigQuery or Snowflake sandbox) and hands out a fresh, empty warehouse per test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckdbAdapter } from '../../src/warehouse/duckdb/duckdb-adapter.js';
import { BigqueryAdapter } from '../../src/warehouse/bigquery/bigquery-adapter.js';
import { BigquerySandbox } from '../../src/warehouse/bigquery/sandbox/bigquery-sandbox.js';
import { PostgresAdapter } from '../../src/warehouse/postgres/postgres-adapter.js';
import {
  SnowflakeSandbox,
  type SnowflakeSandboxOptions,
} from '../../src/warehouse/snowflake/sandbox/snowflake-sandbox.js';
import { SnowflakeAdapter } from '../../src/warehouse/snowflake/snowflake-adapter.js';
import { sqlDialect } from '../../src/warehouse/sql-dialect.js';
import type { Dialect, WarehouseAdapter } from '../../src/warehouse/warehouse-adapter.js';
import {
  debianPostgresMissing,
  startDebianPostgres,
  startTestPostgres,
  type TestPostgres,
} from '../helpers/postgres.js';

export interface WarehouseUnderTest {
  name: string;
  dialect: Dialect;
  /** Once per suite. */
  start(): Promise<void>;
  /** A connected adapter on a fresh, empty warehouse. */
  open(): Promise<WarehouseAdapter>;
  /** Once per suite, after every adapter was closed. */
  stop(): Promise<void>;
  /** SQL types beyond SqlDialect.types that the type round trip needs. */
  sqlTypes: { integer: string; numeric: string; date: string };
}

export function duckdbUnderTest(): WarehouseUnderTest {
  let dir = '';
  let n = 0;
  return {
    name: 'duckdb',
    dialect: 'duckdb',
    sqlTypes: { integer: 'integer', numeric: 'decimal(12,4)', date: 'date' },
    async start() {
      dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-conf-duckdb-'));
    },
    async open() {
      const wh = new DuckdbAdapter({ path: path.join(dir, `wh${++n}.duckdb`) });
      await wh.connect();
      return wh;
    },
    async stop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresUnderTest(
  name = 'postgres',
  startServer: () => Promise<TestPostgres> = startTestPostgres,
): WarehouseUnderTest {
  let server: TestPostgres | undefined;
  let n = 0;
  return {
    name,
    dialect: 'postgres',
    sqlTypes: { integer: 'integer', numeric: 'numeric(12,4)', date: 'date' },
    async start() {
      server = await startServer();
    },
    async open() {
      if (!server) throw new Error('postgres not started');
      const url = await server.createDatabase(`conformance_${process.pid}_${++n}`);
      const wh = new PostgresAdapter({ url });
      await wh.connect();
      return wh;
    },
    async stop() {
      await server?.stop();
    },
  };
}

/**
 * Redshift's SQL (dialect `redshift`: varchar(65535), nvl, getdate(), one bind per list element) and the adapter's
 * Redshift paths (DECLARE/FETCH cursor streaming, multi-row VALUES inserts), run for real on Postgres with two
 * shim functions for the Redshift-only names. Redshift's own limits (no MERGE extras, keys not enforced) are
 * checked by the golden SQL, not here.
 */
export function redshiftOnPostgresUnderTest(): WarehouseUnderTest {
  let server: TestPostgres | undefined;
  let n = 0;
  return {
    name: 'redshift (sql on postgres)',
    dialect: 'redshift',
    sqlTypes: { integer: 'integer', numeric: 'numeric(12,4)', date: 'date' },
    async start() {
      server = await startTestPostgres();
    },
    async open() {
      if (!server) throw new Error('postgres not started');
      const url = await server.createDatabase(`conformance_rs_${process.pid}_${++n}`);
      const wh = new PostgresAdapter({ url, dialect: 'redshift' });
      await wh.connect();
      await wh.query(`create function getdate() returns timestamptz language sql stable as 'select now()'`);
      await wh.query(
        `create function nvl(anycompatible, anycompatible) returns anycompatible language sql immutable as 'select coalesce($1, $2)'`,
      );
      return wh;
    },
    async stop() {
      await server?.stop();
    },
  };
}

/** BigQuery through the real client against a fresh local sandbox (DuckDB behind it) per test. */
export function bigqueryUnderTest(): WarehouseUnderTest {
  const sandboxes: BigquerySandbox[] = [];
  return {
    name: 'bigquery (sandbox)',
    dialect: 'bigquery',
    sqlTypes: { integer: 'INT64', numeric: 'NUMERIC', date: 'DATE' },
    async start() {},
    async open() {
      const sandbox = new BigquerySandbox({ token: 'conformance-token' });
      sandboxes.push(sandbox);
      const url = await sandbox.start();
      const wh = new BigqueryAdapter({
        projectId: 'conformance',
        apiEndpoint: url,
        accessToken: 'conformance-token',
      });
      await wh.connect();
      return wh;
    },
    async stop() {
      for (const s of sandboxes.splice(0)) await s.stop();
    },
  };
}

/**
 * Snowflake through the real driver against a fresh local sandbox (DuckDB behind it) per test; `account` sets the
 * sandbox's account-level options (e.g. `multiStatementCount`).
 */
export function snowflakeUnderTest(
  account: Pick<SnowflakeSandboxOptions, 'multiStatementCount'> = {},
  name = 'snowflake (sandbox)',
): WarehouseUnderTest {
  const sandboxes: SnowflakeSandbox[] = [];
  return {
    name,
    dialect: 'snowflake',
    sqlTypes: { integer: 'INTEGER', numeric: 'NUMBER(12,4)', date: 'DATE' },
    async start() {},
    async open() {
      const sandbox = new SnowflakeSandbox({
        username: 'conformance',
        password: 'conformance-password',
        ...account,
      });
      sandboxes.push(sandbox);
      const url = await sandbox.start();
      const wh = new SnowflakeAdapter({
        account: 'conformance',
        username: 'conformance',
        password: 'conformance-password',
        database: 'SANDBOX',
        schema: 'PUBLIC',
        accessUrl: url,
      });
      await wh.connect();
      return wh;
    },
    async stop() {
      for (const s of sandboxes.splice(0)) await s.stop();
    },
  };
}

/** Every warehouse the conformance suite runs against (`PQLSYNC_CONFORMANCE=duckdb,postgres` picks some). */
export function conformanceWarehouses(): WarehouseUnderTest[] {
  // The README promises Postgres 12 or later; the embedded server is 18, Debian's package (CI installs it) is 15.
  const pg15Missing = debianPostgresMissing();
  if (pg15Missing) console.warn(`conformance: skipping postgres 15 (debian): ${pg15Missing}`);
  const all = [
    duckdbUnderTest(),
    postgresUnderTest(),
    ...(pg15Missing ? [] : [postgresUnderTest('postgres 15 (debian)', startDebianPostgres)]),
    redshiftOnPostgresUnderTest(),
    bigqueryUnderTest(),
    snowflakeUnderTest(),
  ];
  const only = process.env.PQLSYNC_CONFORMANCE?.split(',').map((s) => s.trim());
  return only ? all.filter((w) => only.some((o) => w.name.startsWith(o))) : all;
}

/** Creates `src.users (user_id, email, score)` with portable types and loads `rows` into it. */
export async function seedUsers(wh: WarehouseAdapter, rows: unknown[][]): Promise<void> {
  const d = sqlDialect(wh.dialect);
  await wh.ensureSchema('src');
  await wh.query(
    `create table ${d.table('src', 'users')} (user_id ${d.types.bigint}, email ${d.types.text}, score ${d.types.bigint})`,
  );
  await wh.insertRows('src.users', ['user_id', 'email', 'score'], rows);
}
