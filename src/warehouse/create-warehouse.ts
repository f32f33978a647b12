/**
 * Builds the warehouse adapter from the config. The only place that knows every warehouse type.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/load-config.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { DuckdbAdapter } from './duckdb/duckdb-adapter.js';
import { BigqueryAdapter } from './bigquery/bigquery-adapter.js';
import { PostgresAdapter } from './postgres/postgres-adapter.js';
import type { WarehouseAdapter } from './warehouse-adapter.js';

export async function createWarehouse(loaded: LoadedConfig): Promise<WarehouseAdapter> {
  const wh = loaded.config.warehouse;
  switch (wh.type) {
    case 'duckdb':
      return new DuckdbAdapter({
        path: wh.path === ':memory:' ? wh.path : path.resolve(loaded.projectDir, wh.path),
        ...(wh.threads ? { threads: wh.threads } : {}),
        ...(wh.memory_limit ? { memoryLimit: wh.memory_limit } : {}),
      });
    case 'postgres':
    case 'redshift':
      return new PostgresAdapter({
        dialect: wh.type,
        ...(wh.url ? { url: wh.url } : {}),
        ...(wh.host ? { host: wh.host } : {}),
        ...(wh.port ? { port: wh.port } : {}),
        ...(wh.database ? { database: wh.database } : {}),
        ...(wh.user ? { user: wh.user } : {}),
        ...(wh.password ? { password: wh.password } : {}),
        ...(wh.ssl !== undefined ? { ssl: wh.ssl } : {}),
        ...(wh.pool_max ? { poolMax: wh.pool_max } : {}),
      });
    case 'bigquery': {
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
    default:
      throw new PqlsyncError('CONFIG_INVALID', `warehouse type '${wh.type}' is not available in this build`, {
        location: { path: 'warehouse.type' },
      });
  }
}
