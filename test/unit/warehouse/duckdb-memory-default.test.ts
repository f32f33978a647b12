/**
 * A DuckDB warehouse from a config without memory_limit runs under pqlsync's default (128MB), not DuckDB's own (80%
 * of RAM, which let a 1M-row plan take the whole process to 520 MB; issue 22); a configured limit is kept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { createWarehouse } from '../../../src/warehouse/create-warehouse.js';
import { tempProject, type TempProject } from '../../helpers/temp-project.js';

let project: TempProject | undefined;
afterEach(() => project?.cleanup());

async function memoryLimitOf(warehouseYaml: string): Promise<string> {
  project = tempProject('pqlsync-memory-');
  project.writeConfig(`warehouse: ${warehouseYaml}\ndestinations: {}\nsyncs: {}\n`);
  const wh = await createWarehouse(loadConfig(project.configPath));
  await wh.connect();
  try {
    const { rows } = await wh.query(`select current_setting('memory_limit') as v`);
    return String(rows[0]!.v);
  } finally {
    await wh.close();
  }
}

describe('DuckDB memory_limit from the config', () => {
  it('defaults to 128MB', async () => {
    expect(await memoryLimitOf('{ type: duckdb, path: wh.duckdb }')).toBe('122.0 MiB');
  });

  it('keeps the configured limit', async () => {
    expect(await memoryLimitOf('{ type: duckdb, path: wh.duckdb, memory_limit: 1GB }')).toBe('953.6 MiB');
  });
});
