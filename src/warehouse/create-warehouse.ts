/**
 * Builds the warehouse adapter from the config. The only place that knows every warehouse type.
 */
import path from 'node:path';
import {
  DEFAULT_MEMORY_LIMIT,
  redshiftIamTarget,
  urlUser,
  warehouseHost,
  type WarehouseConfig,
} from '../config/config-schema.js';
import { requireSection, type LoadedConfig } from '../config/load-config.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import type { PostgresSsl } from './postgres/postgres-adapter.js';
import type { RedshiftIamOptions } from './postgres/redshift-iam.js';
import type { WarehouseAdapter } from './warehouse-adapter.js';

/** The DuckDB adapter's option for the config's `stream_memory_limit` (`none`: no option, one limit throughout). */
export function duckdbStreamMemoryLimit(value: string): { streamMemoryLimit?: string } {
  return value.toLowerCase() === 'none' ? {} : { streamMemoryLimit: value };
}

/** The Postgres adapter's `ssl` for the config's: a CA path resolved against the project directory. */
export function postgresSsl(
  ssl: boolean | { ca_path?: string | undefined; reject_unauthorized?: boolean | undefined },
  projectDir: string,
): boolean | PostgresSsl {
  if (typeof ssl === 'boolean') return ssl;
  return {
    ...(ssl.ca_path ? { caPath: path.resolve(projectDir, ssl.ca_path) } : {}),
    ...(ssl.reject_unauthorized !== undefined ? { rejectUnauthorized: ssl.reject_unauthorized } : {}),
  };
}

/** The adapter's IAM options for a Redshift config with `iam` (the schema checked cluster, region and user). */
export function redshiftIam(
  wh: Extract<WarehouseConfig, { type: 'postgres' | 'redshift' }>,
): RedshiftIamOptions {
  const iam = wh.iam!;
  const { clusterId, workgroup, region } = redshiftIamTarget(iam, warehouseHost(wh));
  const dbUser = iam.db_user ?? wh.user ?? urlUser(wh.url);
  let dbName = wh.database;
  try {
    dbName ??= wh.url ? new URL(wh.url).pathname.replace(/^\//, '') || undefined : undefined;
  } catch {
    // an unparsable URL is reported by pg itself
  }
  if (workgroup) {
    return {
      workgroup,
      region: region!,
      ...(dbName ? { dbName } : {}),
      ...(iam.duration_seconds ? { durationSeconds: iam.duration_seconds } : {}),
    };
  }
  return {
    clusterId: clusterId!,
    region: region!,
    identity: iam.identity,
    ...(iam.identity === 'db_user' && dbUser ? { dbUser } : {}),
    ...(dbName ? { dbName } : {}),
    ...(iam.auto_create ? { autoCreate: true } : {}),
    ...(iam.duration_seconds ? { durationSeconds: iam.duration_seconds } : {}),
  };
}

export async function createWarehouse(loaded: LoadedConfig): Promise<WarehouseAdapter> {
  requireSection(loaded, 'warehouse');
  const wh = loaded.config.warehouse;
  switch (wh.type) {
    case 'duckdb': {
      // Like the other warehouses: DuckDB's native module loads only when a command opens the warehouse.
      const { DuckdbAdapter } = await import('./duckdb/duckdb-adapter.js');
      return new DuckdbAdapter({
        path: wh.path === ':memory:' ? wh.path : path.resolve(loaded.projectDir, wh.path),
        ...(wh.threads ? { threads: wh.threads } : {}),
        memoryLimit: wh.memory_limit ?? DEFAULT_MEMORY_LIMIT,
        ...duckdbStreamMemoryLimit(wh.stream_memory_limit),
      });
    }
    case 'postgres':
    case 'redshift': {
      // Vendor SDKs load only for the warehouse in use (snowflake-sdk alone pulls in the AWS SDK).
      const { PostgresAdapter } = await import('./postgres/postgres-adapter.js');
      return new PostgresAdapter({
        dialect: wh.type,
        ...(wh.url ? { url: wh.url } : {}),
        ...(wh.host ? { host: wh.host } : {}),
        ...(wh.port ? { port: wh.port } : {}),
        ...(wh.database ? { database: wh.database } : {}),
        ...(wh.user ? { user: wh.user } : {}),
        ...(wh.password ? { password: wh.password } : {}),
        ...(wh.ssl !== undefined ? { ssl: postgresSsl(wh.ssl, loaded.projectDir) } : {}),
        ...(wh.pool_max ? { poolMax: wh.pool_max } : {}),
        ...(wh.iam ? { iam: redshiftIam(wh) } : {}),
      });
    }
    case 'bigquery': {
      const { BigqueryAdapter } = await import('./bigquery/bigquery-adapter.js');
      // A ready access token (short-lived, or the local sandbox's) comes only from the environment.
      const token = process.env.PQLSYNC_BIGQUERY_ACCESS_TOKEN;
      return new BigqueryAdapter({
        projectId: wh.project,
        ...(wh.location ? { location: wh.location } : {}),
        ...(wh.key_file ? { keyFile: path.resolve(loaded.projectDir, wh.key_file) } : {}),
        ...(wh.api_endpoint ? { apiEndpoint: wh.api_endpoint } : {}),
        ...(token ? { accessToken: token } : {}),
        ...(wh.maximum_bytes_billed ? { maximumBytesBilled: wh.maximum_bytes_billed } : {}),
      });
    }
    case 'snowflake': {
      // The config schema requires schema and exactly one of password, a private key or an OAuth token.
      const { SnowflakeAdapter } = await import('./snowflake/snowflake-adapter.js');
      return new SnowflakeAdapter({
        account: wh.account,
        username: wh.username,
        database: wh.database,
        ...(wh.password ? { password: wh.password } : {}),
        ...(wh.private_key_path
          ? { privateKeyPath: path.resolve(loaded.projectDir, wh.private_key_path) }
          : {}),
        ...(wh.private_key ? { privateKey: wh.private_key } : {}),
        ...(wh.private_key_passphrase ? { privateKeyPassphrase: wh.private_key_passphrase } : {}),
        ...(wh.token ? { oauthToken: wh.token } : {}),
        ...(wh.warehouse ? { warehouse: wh.warehouse } : {}),
        ...(wh.schema ? { schema: wh.schema } : {}),
        ...(wh.role ? { role: wh.role } : {}),
        ...(wh.access_url ? { accessUrl: wh.access_url } : {}),
      });
    }
    default: {
      const unknown: { type?: unknown } = wh;
      throw new PqlsyncError(
        'CONFIG_INVALID',
        `warehouse type '${String(unknown.type)}' is not available in this build`,
        {
          location: { path: 'warehouse.type' },
        },
      );
    }
  }
}
