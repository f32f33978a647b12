/**
 * The example configs in config/examples/ load as printed (with their env vars set) and build the warehouse
 * adapter they describe; the example models compile for that warehouse's dialect.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { compileModel } from '../../../src/model/compile-model.js';
import { loadModel } from '../../../src/model/model-file.js';
import { createWarehouse } from '../../../src/warehouse/create-warehouse.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const EXAMPLES = path.join(ROOT, 'config', 'examples');

const ENV = {
  PQLSYNC_PG_URL: 'postgres://pqlsync:pw-example-1@db.internal:5432/analytics',
  PQLSYNC_REDSHIFT_PASSWORD: 'pw-example-2',
  SNOWFLAKE_PRIVATE_KEY_PATH: '/secrets/rsa_key.p8',
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: 'pw-example-3',
};

const EXPECTED: Record<string, string> = {
  'bigquery.yml': 'bigquery',
  'duckdb.yml': 'duckdb',
  'postgres.yml': 'postgres',
  'redshift.yml': 'redshift',
  'snowflake.yml': 'snowflake',
};

describe('config/examples', () => {
  it('has one example per warehouse type', () => {
    expect(readdirSync(EXAMPLES).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))(
    '%s loads and builds a %s warehouse whose models compile',
    async (file, dialect) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'pqlsync-example-'));
      try {
        mkdirSync(path.join(dir, 'config'));
        copyFileSync(path.join(EXAMPLES, file), path.join(dir, 'config', 'pqlsync.yml'));
        const loaded = loadConfig(path.join(dir, 'config', 'pqlsync.yml'), { ...process.env, ...ENV });
        const wh = await createWarehouse({ ...loaded, modelsDir: path.join(ROOT, 'models') });
        expect(wh.dialect).toBe(dialect);
        expect(Object.keys(loaded.config.syncs).length).toBeGreaterThan(0);
        for (const [name, sync] of Object.entries(loaded.config.syncs)) {
          const model = await loadModel(path.join(ROOT, 'models'), sync.model, wh.dialect);
          const compiled = compileModel(model, { dialect: wh.dialect, configParams: sync.params });
          expect(compiled.dialect, name).toBe(dialect);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
